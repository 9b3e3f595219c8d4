package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/msdx/msdx/spec"
)

func main() {
	data, _ := os.ReadFile(os.Args[1])
	for i, c := range strings.Split(string(data), "\n=====\n") {
		doc, sets, _ := strings.Cut(c, "\n-----\n")
		var ss []string
		if sets != "" {
			ss = strings.Split(strings.TrimSpace(sets), "\n")
		}
		_, err := spec.Parse("t.toml", []byte(doc), ss)
		fmt.Printf("== case %d\n%v\n", i, err)
	}
}
