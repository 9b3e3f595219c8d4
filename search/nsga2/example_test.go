package nsga2_test

import (
	"fmt"
	"math"

	"github.com/msdx/msdx/pareto"
	"github.com/msdx/msdx/search/nsga2"
)

// Example minimises Schaffer's problem, x² and (x-2)², with x = 4u - 2 for u in [0, 1].
// Its Pareto front is x in [0, 2]; 19 of the 20 final points lie on it.
func Example() {
	pop := nsga2.Minimize(nsga2.Config{Vars: 1, Pop: 20, Seed: 1}, 30, func(u []float64) ([]float64, float64) {
		x := 4*u[0] - 2
		return []float64{x * x, (x - 2) * (x - 2)}, 0
	})
	inFront := 0
	var points [][]float64
	for _, ind := range pop {
		x := 4*ind.X[0] - 2
		if x >= -1e-3 && x <= 2+1e-3 {
			inFront++
		}
		points = append(points, ind.F)
	}
	fmt.Println(inFront, "of", len(pop), "on the front")
	fmt.Println(math.Round(pareto.Hypervolume(points, []float64{4, 4})*10) / 10)
	// Output:
	// 19 of 20 on the front
	// 12.9
}
