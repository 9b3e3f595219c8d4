package dyneval

import (
	"math/rand/v2"
	"testing"
)

// benchSplit returns a split of CIFAR-100 test size: 10 exits, n samples, 100 classes.
func benchSplit(r *rand.Rand, n int) (*Split, [][][]float32, []int) {
	const numExits, classes = 10, 100
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(classes)
	}
	probs := make([][][]float32, numExits)
	for k := range probs {
		probs[k] = make([][]float32, n)
		for i := range probs[k] {
			row := make([]float32, classes)
			var sum float32
			for c := range row {
				row[c] = r.Float32()
				sum += row[c]
			}
			for c := range row {
				row[c] /= sum
			}
			probs[k][i] = row
		}
	}
	s, err := SplitFromProbabilities(probs, labels)
	if err != nil {
		panic(err)
	}
	return s, probs, labels
}

func BenchmarkSplitFromProbabilities(b *testing.B) {
	_, probs, labels := benchSplit(rand.New(rand.NewPCG(1, 1)), 10000)
	for b.Loop() {
		if _, err := SplitFromProbabilities(probs, labels); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBudgeted(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	val, _, _ := benchSplit(r, 5000)
	test, _, _ := benchSplit(r, 10000)
	costs := []CostModel{{"cumulative", increasingCosts(r, 10)}, {"cone", increasingCosts(r, 10)}}
	for b.Loop() {
		if _, err := Budgeted(val, test, costs); err != nil {
			b.Fatal(err)
		}
	}
}
