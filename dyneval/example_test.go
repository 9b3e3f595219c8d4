package dyneval_test

import (
	"fmt"
	"os"

	"github.com/msdx/msdx/dyneval"
)

func Example() {
	// Softmax outputs of a two-exit network on four validation samples of three classes,
	// probs[exit][sample][class], and the samples' labels.
	probs := [][][]float32{
		{{0.9, 0.05, 0.05}, {0.5, 0.3, 0.2}, {0.2, 0.7, 0.1}, {0.4, 0.35, 0.25}},
		{{0.95, 0.03, 0.02}, {0.1, 0.8, 0.1}, {0.05, 0.9, 0.05}, {0.1, 0.1, 0.8}},
	}
	labels := []int{0, 1, 1, 2}
	val, err := dyneval.SplitFromProbabilities(probs, labels)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Half the samples should leave at exit 1.
	thresholds := dyneval.FitThresholds(val, []float64{0.5, 0.5})
	fmt.Println("thresholds:", thresholds)
	fmt.Println("exit of a sample with confidences 0.75, 0.6:", thresholds.ExitOf([]float32{0.75, 0.6})+1)

	costs := []dyneval.CostModel{{Name: "macs", Costs: []float64{4e6, 10e6}}}
	outcome, err := dyneval.Apply(val, thresholds, costs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("exit counts %v, top-1 %.0f%%, expected %s MACs\n",
		outcome.ExitCounts, outcome.Top1, dyneval.FormatCost(outcome.ExpectedCost["macs"]))

	anytime, err := dyneval.Anytime(val, costs)
	if err != nil {
		fmt.Println(err)
		return
	}
	anytime.WriteTable(os.Stdout)
	// Output:
	// thresholds: [0.7 -1e+08]
	// exit of a sample with confidences 0.75, 0.6: 1
	// exit counts [2 2], top-1 100%, expected 7.00M MACs
	// exit  top1 %  top5 %  cost macs
	//    1   50.00  100.00      4.00M
	//    2  100.00  100.00     10.00M
}
