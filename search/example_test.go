package search_test

import (
	"fmt"

	"github.com/msdx/msdx/pareto"
	"github.com/msdx/msdx/search"
)

// Example costs every candidate of a small space and prints the front of last-exit MACs
// against parameters, with the candidates the constraint rules out.
func Example() {
	sp, err := search.ParseSpace("space.toml", []byte(`
base = "msdnet-cifar10-small"

[[param]]
path = "growth"
values = [4, 8]

[[param]]
path = "blocks.count"
int = [2, 4]

[[constraint]]
exit = "last"
max_macs = 20e6
`))
	if err != nil {
		panic(err)
	}
	ev := &search.Evaluator{Space: sp}
	cands := sp.Grid(100)
	costs := ev.EvaluateAll(cands)
	objs, _ := search.ParseObjectives("last_macs,max:exits")
	var points [][]float64
	var index []int
	for i, c := range costs {
		if !c.Feasible() {
			fmt.Println("infeasible:", sp.Overrides(cands[i]), c.Reason())
			continue
		}
		points = append(points, search.CostObjectives(c, objs))
		index = append(index, i)
	}
	for _, j := range pareto.Front(points) {
		c := costs[index[j]]
		fmt.Printf("front: %v: %d exits, last %d MACs\n", sp.Overrides(cands[index[j]]), len(c.Exits), c.Exits[len(c.Exits)-1].MACs)
	}
	// Output:
	// infeasible: [growth=8 blocks.count=3] exit 3 MACs 2.439e+07 > 2e+07
	// infeasible: [growth=8 blocks.count=4] exit 4 MACs 2.88e+07 > 2e+07
	// front: [growth=4 blocks.count=2]: 2 exits, last 8450580 MACs
	// front: [growth=4 blocks.count=3]: 3 exits, last 13403422 MACs
	// front: [growth=4 blocks.count=4]: 4 exits, last 15582504 MACs
}
