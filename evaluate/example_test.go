package evaluate_test

import (
	"fmt"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/spec"
)

// The two cost models of a network: a sample that leaves at exit k costs the reference
// cumulative count, or only the nodes exits 1..k depend on when early exit skips the rest.
func ExampleCostModels() {
	s, err := spec.Preset("msdnet-cifar10-small")
	if err != nil {
		panic(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		panic(err)
	}
	for _, m := range evaluate.CostModels(g) {
		fmt.Printf("%-9s", m.Name)
		for _, c := range m.Costs {
			fmt.Printf(" %10.0f", c)
		}
		fmt.Println()
	}
	// Output:
	// reference    9350410   14196500   18294302   21413672
	// cone         7897354   12511508   17412638   21413672
}
