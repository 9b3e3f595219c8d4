package evaluate_test

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/dyneval"
	"github.com/msdx/msdx/evaluate"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/spec"
)

// tinySets shrinks msdnet-cifar10-anytime to a network of four exits that runs in
// milliseconds.
var tinySets = []string{"channels=8", "growth=4", "blocks.count=4", "blocks.base=1", "blocks.step=1", "head.channels=16"}

func buildTiny() (*nn.Network, error) {
	s, err := spec.Resolve("msdnet-cifar10-anytime", tinySets)
	if err != nil {
		return nil, err
	}
	g, err := builder.Build(s)
	if err != nil {
		return nil, err
	}
	return nn.New(g, nn.InitPyTorch, 1)
}

func tinyNet(t testing.TB) *nn.Network {
	t.Helper()
	net, err := buildTiny()
	if err != nil {
		t.Fatal(err)
	}
	return net
}

var synthetic = sync.OnceValue(func() *data.Dataset {
	return data.Synthetic(data.SyntheticConfig{Seed: 1, Train: 320, Test: 150})
})

func loader(t testing.TB, s *data.Split, batch int) *data.Loader {
	t.Helper()
	l, err := data.NewLoader(s, nil, 10, data.LoaderConfig{BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// trainBriefly takes a few plain SGD steps on the synthetic training images, enough to
// spread the exits' confidences.
func trainBriefly(net *nn.Network) error {
	l, err := data.NewLoader(&synthetic().Train, nil, 10, data.LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 1})
	if err != nil {
		return err
	}
	net.SetTrain(true)
	for e, b := 0, 0; e < 3; b++ {
		if b == l.Batches() {
			e, b = e+1, 0
			continue
		}
		batch := l.Batch(e, b)
		labels := make([]int, batch.N)
		for i, y := range batch.Labels {
			labels[i] = int(y)
		}
		var d []*kernels.Tensor
		for _, lg := range net.Forward(&kernels.Tensor{C: batch.C, N: batch.N, H: batch.H, W: batch.W, Data: batch.Data}, 0) {
			g := kernels.NewTensor(lg.C, lg.N, 1, 1)
			kernels.SoftmaxCrossEntropy(g.Data, lg.Data, lg.C, lg.N, labels, nil, 0)
			d = append(d, g)
		}
		net.ZeroGrad()
		net.Backward(d)
		for _, p := range net.Params() {
			for i := range p.Data {
				p.Data[i] -= 0.1 * p.Grad[i]
			}
		}
	}
	net.SetTrain(false)
	return nil
}

// trainedNet is a tiny network trained briefly, shared by the tests, which only read it.
var trainedNet = sync.OnceValue(func() *nn.Network {
	net, err := buildTiny()
	if err == nil {
		err = trainBriefly(net)
	}
	if err != nil {
		panic(err)
	}
	return net
})

// directAnytime evaluates every exit on its own: a forward pass through that exit only,
// then a rank of the label among the logits (higher logits first, ties by class index).
func directAnytime(net *nn.Network, s *data.Split) (top1, top5 []int) {
	top1 = make([]int, net.NumExits())
	top5 = make([]int, net.NumExits())
	for i := range s.Len() {
		x := kernels.NewTensor(s.C, 1, s.H, s.W)
		img := s.Image(i)
		for j := range x.Data {
			x.Data[j] = float32(img[j]) / 255
		}
		label := int(s.Labels[i])
		for k := range net.NumExits() {
			logits := net.Forward(x, k+1)[k].Data
			rank := 0
			for c, v := range logits {
				if v > logits[label] || v == logits[label] && c < label {
					rank++
				}
			}
			if rank == 0 {
				top1[k]++
			}
			if rank < 5 {
				top5[k]++
			}
		}
	}
	return top1, top5
}

func TestAnytimeMatchesDirectEvaluation(t *testing.T) {
	for _, trained := range []bool{false, true} {
		name := map[bool]string{false: "fresh", true: "trained"}[trained]
		t.Run(name, func(t *testing.T) {
			net := tinyNet(t)
			if trained {
				net = trainedNet()
			}
			test := &synthetic().Test
			out, err := evaluate.Outputs(net, loader(t, test, 32), nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := dyneval.Anytime(out, evaluate.CostModels(net.Graph()))
			if err != nil {
				t.Fatal(err)
			}
			top1, top5 := directAnytime(net, test)
			var gotTop1, gotTop5 []int
			for _, e := range res.Exits {
				gotTop1 = append(gotTop1, e.Correct1)
				gotTop5 = append(gotTop5, e.Correct5)
			}
			if diff := gocmp.Diff(top1, gotTop1); diff != "" {
				t.Errorf("top-1 counts (-direct +pipeline):\n%s", diff)
			}
			if diff := gocmp.Diff(top5, gotTop5); diff != "" {
				t.Errorf("top-5 counts (-direct +pipeline):\n%s", diff)
			}
			// Guard against a trivial comparison: some exit of the trained network must predict
			// more than one class.
			varied := false
			for _, pred := range out.Prediction {
				varied = varied || slices.Min(pred) != slices.Max(pred)
			}
			if trained && !varied {
				t.Errorf("every exit predicts one class for every image, so the test is weak")
			}
		})
	}
}

// TestOutputsIndependentOfBatch checks that the stored outputs do not depend on how the
// split is cut into batches: real early exit relies on it, since it shrinks batches.
func TestOutputsIndependentOfBatch(t *testing.T) {
	net := trainedNet()
	test := &synthetic().Test
	a, err := evaluate.Outputs(net, loader(t, test, 64), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := evaluate.Outputs(net, loader(t, test, 7), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(a, b); diff != "" {
		t.Errorf("outputs with batches of 64 and 7 differ (-64 +7):\n%s", diff)
	}
}

func TestCostModels(t *testing.T) {
	g := tinyNet(t).Graph()
	ref := evaluate.ReferenceMACs(g)
	cone := evaluate.ConeMACs(g)
	// Independent recomputation of the cone cost: the nodes some exit up to k needs.
	for k := range g.Exits {
		mask := graph.ExitSet(1)<<(k+1) - 1
		var want int64
		for _, nd := range g.Nodes {
			if nd.Needed&mask != 0 {
				want += nd.Cost.MACs
			}
		}
		if cone[k] != want {
			t.Errorf("exit %d: cone cost %d, want %d", k+1, cone[k], want)
		}
		if cone[k] > ref[k] {
			t.Errorf("exit %d: cone cost %d above the reference cost %d", k+1, cone[k], ref[k])
		}
		if k > 0 && (cone[k] <= cone[k-1] || ref[k] <= ref[k-1]) {
			t.Errorf("exit %d: costs do not increase: cone %v, reference %v", k+1, cone, ref)
		}
	}
	models := evaluate.CostModels(g)
	if models[0].Name != evaluate.CostReference || models[1].Name != evaluate.CostCone {
		t.Errorf("cost model names %q, %q", models[0].Name, models[1].Name)
	}
}

func TestCrossCheckAllSettings(t *testing.T) {
	net := trainedNet()
	ds := synthetic()
	val := loader(t, &ds.Train, 64)
	test := loader(t, &ds.Test, 32)
	checks := make([]int, dyneval.NumBudgetSettings)
	for i := range checks {
		checks[i] = i + 1
	}
	// Progress ends every pass with its total, in order.
	var ends []string
	progress := func(step string, done, total int) {
		if done == total {
			ends = append(ends, fmt.Sprintf("%s %d", step, done))
		}
		if done > total {
			t.Errorf("progress %s %d of %d", step, done, total)
		}
	}
	rep, err := evaluate.Evaluate(net, val, test, checks, progress)
	if err != nil {
		t.Fatal(err)
	}
	wantEnds := []string{fmt.Sprintf("validation split %d", val.Len()), fmt.Sprintf("test split %d", test.Len())}
	for _, p := range checks {
		wantEnds = append(wantEnds, fmt.Sprintf("real early exit, p=%d %d", p, test.Len()))
	}
	if diff := gocmp.Diff(wantEnds, ends); diff != "" {
		t.Errorf("ends of the passes (-want +got):\n%s", diff)
	}
	exitsUsed := map[int]bool{}
	for _, c := range rep.Checks {
		if !c.OK() {
			t.Errorf("p=%d: real early exit differs from the simulation: %d mismatches, %s; real %+v, simulated %+v",
				c.P, c.Mismatches, c.FirstMismatch, c.Real, c.Simulated)
		}
		if diff := gocmp.Diff(rep.Budgeted.Settings[c.P-1].Test, c.Simulated); diff != "" {
			t.Errorf("p=%d: simulated outcome differs from the budgeted result (-budgeted +check):\n%s", c.P, diff)
		}
		if got, want := c.ExecutedMACs, c.Real.ExpectedCost[evaluate.CostCone]; math.Abs(got-want) > 1e-9*want {
			t.Errorf("p=%d: executed %v MACs per sample, the cone cost model says %v", c.P, got, want)
		}
		if c.PredictedSaving < 0 || c.PredictedSaving >= 1 {
			t.Errorf("p=%d: predicted saving %v outside [0, 1)", c.P, c.PredictedSaving)
		}
		for k, n := range c.Real.ExitCounts {
			if n > 0 {
				exitsUsed[k] = true
			}
		}
	}
	if len(exitsUsed) < 3 {
		t.Errorf("the settings use only exits %v; the cross-check barely exercises early exit", exitsUsed)
	}
	// The budgeted curve spans cheap to expensive: the first setting costs less than the last.
	first, last := rep.Budgeted.Settings[0].Test, rep.Budgeted.Settings[len(rep.Budgeted.Settings)-1].Test
	if cmp.Compare(first.ExpectedCost[evaluate.CostReference], last.ExpectedCost[evaluate.CostReference]) >= 0 {
		t.Errorf("expected cost of p=1 %v not below p=39 %v", first.ExpectedCost, last.ExpectedCost)
	}
}

func TestEvaluateRejects(t *testing.T) {
	net := tinyNet(t)
	ds := synthetic()
	shuffled, err := data.NewLoader(&ds.Test, nil, 10, data.LoaderConfig{BatchSize: 8, Shuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evaluate.Outputs(net, shuffled, nil); err == nil {
		t.Error("Outputs accepted a shuffling loader")
	}
	if _, err := evaluate.Evaluate(net, loader(t, &ds.Test, 8), loader(t, &ds.Test, 8), []int{40}, nil); err == nil {
		t.Error("Evaluate accepted budget setting 40")
	}
}
