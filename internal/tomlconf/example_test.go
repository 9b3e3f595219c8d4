package tomlconf_test

import (
	"fmt"

	"github.com/msdx/msdx/internal/tomlconf"
)

// A loader locates a problem at the key that caused it, suggesting the known key nearest to
// a misspelt one.
func ExampleDoc_Errorf() {
	doc, err := tomlconf.Decode("mine.toml", []byte("epochs = 3\n\n[optimizer]\nmomentun = 0.9\n"))
	if err != nil {
		panic(err)
	}
	known := []string{"epochs", "optimizer.lr", "optimizer.momentum"}
	fmt.Println(doc.Errorf("optimizer.momentun", "unknown key%s", tomlconf.Suggest("optimizer.momentun", known)))
	// Output:
	// mine.toml:4: optimizer.momentun: unknown key (did you mean "optimizer.momentum"?)
}

// Writer writes the canonical form that spec and recipe files are hashed by.
func ExampleWriter() {
	var w tomlconf.Writer
	w.Key("name", tomlconf.String("tiny"))
	w.Key("blocks.count", "4")
	w.Key("blocks.reduction", tomlconf.Float(0.5))
	fmt.Print(string(w.Bytes()))
	// Output:
	// name = "tiny"
	//
	// [blocks]
	// count = 4
	// reduction = 0.5
}
