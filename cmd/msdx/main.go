// Command msdx explores multi-exit image classifiers with an exact cost model.
package main

import (
	"os"

	"github.com/msdx/msdx/cmd/msdx/cli"
)

func main() {
	os.Exit(cli.Main(cli.System(), os.Args[1:]))
}
