package flops_test

import (
	"fmt"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/spec"
)

// Example costs the paper's model per exit under the reference semantics and under the
// dependency cone that a real early exit pays. Under the dense fusion every layer of
// block 1 feeds the coarsest scale, so exit 1 needs everything before it; later exits skip
// the earlier heads.
func Example() {
	s, err := spec.Preset("addad-cifar10")
	if err != nil {
		panic(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		panic(err)
	}
	for _, e := range flops.Exits(g)[:3] {
		fmt.Printf("exit %d: %d MACs, %d params; cone %d MACs\n", e.Exit, e.MACs, e.Params, e.Cone.MACs)
	}
	// Output:
	// exit 1: 4640010 MACs, 293130 params; cone 4640010 MACs
	// exit 2: 7203604 MACs, 594012 params; cone 6397962 MACs
	// exit 3: 10246430 MACs, 956814 params; cone 8413962 MACs
}
