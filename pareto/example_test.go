package pareto_test

import (
	"fmt"

	"github.com/msdx/msdx/pareto"
)

// Example finds the front of four (MACs, error) points and the area it dominates up to a
// reference point.
func Example() {
	points := [][]float64{{10, 0.30}, {20, 0.20}, {30, 0.25}, {40, 0.10}}
	fmt.Println(pareto.Front(points))
	fmt.Printf("%.2f\n", pareto.Hypervolume(points, []float64{50, 0.5}))
	// Output:
	// [0 1 3]
	// 12.00
}
