// Package evaluate runs a trained multi-exit network over data splits and evaluates it
// dynamically: it collects every exit's softmax outputs into a dyneval.Split, prices the
// exits under two cost models, runs the anytime and budgeted-batch evaluations of package
// dyneval (architectures.md §6), and cross-checks the simulated budgeted result against real
// early exit (nn.EarlyExit), timing both.
//
// Costs are multiply-accumulates per sample (graph.Cost.MACs) under two models:
//
//   - CostReference: the cumulative count of the reference op counters, everything
//     executed up to exit k's classifier in reference order, earlier heads included
//     (flops.Execution). It is what the papers' budgeted curves charge.
//   - CostCone: the nodes that exits 1..k depend on, the union of their dependency cones:
//     exactly what nn.EarlyExit executes for a sample that leaves at exit k (it evaluates
//     every exit up to k, each time computing only what is not computed yet).
//
// Package evaluate owns a run's evaluation directory (Dir: RUN/eval/ and
// RUN/eval/WEIGHTS-SPLIT/): EvaluateRun evaluates a run directory and writes it with Save,
// and Load is its only reader, used by "msdx predict", the ablation, the search and the
// report. Like every JSON reader of msdx, Load rejects unknown fields.
package evaluate

import (
	"fmt"
	"slices"
	"time"

	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/dyneval"
	"github.com/msdx/msdx/flops"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
)

// Cost model names, as they appear in results.
const (
	CostReference = "reference"
	CostCone      = "cone"
)

// ReferenceMACs returns the cumulative MACs per sample of every exit in the reference
// semantics (flops.Execution).
func ReferenceMACs(g *graph.Graph) []int64 {
	var costs []int64
	for _, e := range flops.Exits(g) {
		costs = append(costs, e.MACs)
	}
	return costs
}

// ConeMACs returns, for every exit k, the MACs per sample of the nodes exits 1..k depend on:
// what real early exit pays for a sample that leaves at exit k. The last entry is the cost
// of running every exit.
func ConeMACs(g *graph.Graph) []int64 {
	costs := make([]int64, len(g.Exits))
	for _, nd := range g.Nodes {
		if nd.Needed == 0 {
			continue
		}
		for k := nd.Needed.First() - 1; k < len(costs); k++ {
			costs[k] += nd.Cost.MACs
		}
	}
	return costs
}

// CostModels returns the two cost models of g, CostReference and CostCone, in MACs.
func CostModels(g *graph.Graph) []dyneval.CostModel {
	return []dyneval.CostModel{
		{Name: CostReference, Costs: dyneval.CostsFromInt64(ReferenceMACs(g))},
		{Name: CostCone, Costs: dyneval.CostsFromInt64(ConeMACs(g))},
	}
}

// tensorOf presents a batch as the network's input tensor, sharing its data.
func tensorOf(b *data.Batch) *kernels.Tensor {
	return &kernels.Tensor{C: b.C, N: b.N, H: b.H, W: b.W, Data: b.Data}
}

// Outputs runs net in evaluation mode over every batch of loader, in order, and returns the
// outputs of all its exits: sample i of the result is the i-th image the loader yields in
// epoch 0. The loader must neither shuffle nor drop images. progress, when not nil, is
// called after every batch with the number of images done.
func Outputs(net *nn.Network, loader *data.Loader, progress func(images int)) (*dyneval.Split, error) {
	if err := checkLoader(loader); err != nil {
		return nil, err
	}
	net.SetTrain(false)
	labels := make([]int, loader.Len())
	s := dyneval.NewSplit(net.NumExits(), labels)
	var probs []float32
	off := 0
	for b := range loader.Batches() {
		batch := loader.Batch(0, b)
		for j, l := range batch.Labels {
			labels[off+j] = int(l)
		}
		for k, l := range net.Forward(tensorOf(batch), 0) {
			probs = slices.Grow(probs[:0], l.Len())[:l.Len()]
			kernels.Softmax(probs, l.Data, l.C, l.N)
			row := make([]float32, l.C)
			for j := range l.N {
				for c := range l.C {
					row[c] = probs[c*l.N+j]
				}
				if err := s.Record(k, off+j, row); err != nil {
					return nil, err
				}
			}
		}
		off += batch.N
		if progress != nil {
			progress(off)
		}
	}
	return s, nil
}

func checkLoader(loader *data.Loader) error {
	cfg := loader.Config()
	if cfg.Shuffle || cfg.DropLast {
		return fmt.Errorf("evaluate: the loader must keep every image in order (shuffle %v, drop_last %v)", cfg.Shuffle, cfg.DropLast)
	}
	if loader.Len() == 0 {
		return fmt.Errorf("evaluate: the split has no images")
	}
	return nil
}

// Report is a complete dynamic evaluation: anytime results on the test split, budgeted
// results with thresholds fitted on the validation split, and the cross-checks against
// real early exit.
type Report struct {
	Anytime  *dyneval.AnytimeResult  `json:"anytime"`
	Budgeted *dyneval.BudgetedResult `json:"budgeted"`
	Checks   []*Check                `json:"checks,omitempty"`
}

// Progress is told, after every batch of a pass over a split, what the pass does (such
// as "test split"), how many images it has done and how many it does in all.
type Progress func(step string, done, total int)

// Evaluate runs net over the validation and test loaders, evaluates it under the cost
// models of CostModels, and cross-checks the budget settings listed in check (numbers p,
// 1..dyneval.NumBudgetSettings) with real early exit on the test loader. progress, when
// not nil, is told how the passes go.
func Evaluate(net *nn.Network, val, test *data.Loader, check []int, progress Progress) (*Report, error) {
	for _, p := range check {
		if p < 1 || p > dyneval.NumBudgetSettings {
			return nil, fmt.Errorf("evaluate: budget setting %d outside 1..%d", p, dyneval.NumBudgetSettings)
		}
	}
	costs := CostModels(net.Graph())
	step := func(name string, total int) func(int) {
		if progress == nil {
			return nil
		}
		return func(done int) { progress(name, done, total) }
	}
	valOut, err := Outputs(net, val, step("validation split", val.Len()))
	if err != nil {
		return nil, fmt.Errorf("validation split: %w", err)
	}
	testOut, err := Outputs(net, test, step("test split", test.Len()))
	if err != nil {
		return nil, fmt.Errorf("test split: %w", err)
	}
	r := &Report{}
	if r.Anytime, err = dyneval.Anytime(testOut, costs); err != nil {
		return nil, err
	}
	if r.Budgeted, err = dyneval.Budgeted(valOut, testOut, costs); err != nil {
		return nil, err
	}
	for _, p := range check {
		c, err := CrossCheck(net, test, testOut, r.Budgeted.Settings[p-1], step(fmt.Sprintf("real early exit, p=%d", p), test.Len()))
		if err != nil {
			return nil, err
		}
		r.Checks = append(r.Checks, c)
	}
	return r, nil
}

// Check compares real early exit with the simulated budgeted result of one setting on the
// same split, and times it against running every exit.
type Check struct {
	// P is the budget setting; Thresholds are its thresholds.
	P          int                `json:"p"`
	Thresholds dyneval.Thresholds `json:"thresholds"`
	// Simulated is the setting's outcome computed from the stored outputs; Real is the
	// outcome of real early exit, priced with the same cost models.
	Simulated dyneval.Outcome `json:"simulated"`
	Real      dyneval.Outcome `json:"real"`
	// Mismatches counts the samples whose exit or prediction differ between the two;
	// FirstMismatch describes the first of them.
	Mismatches    int    `json:"mismatches"`
	FirstMismatch string `json:"first_mismatch,omitempty"`
	// ExecutedMACs is the MACs real early exit executed, averaged over the samples. It
	// equals Real.ExpectedCost[CostCone] when the cost model is exact.
	ExecutedMACs float64 `json:"executed_macs_per_sample"`
	// FullMACs is the cost of running every exit (the last exit's cone cost).
	FullMACs float64 `json:"full_macs_per_sample"`
	// PredictedSaving is 1 − Simulated.ExpectedCost[CostCone]/FullMACs: the fraction of the
	// work of running every exit that early exit should save.
	PredictedSaving float64 `json:"predicted_saving"`
	// EarlyExitSeconds and FullSeconds are the wall-clock times of the network (softmax
	// included, data loading excluded) with early exit and with every exit run, both by
	// nn.EarlyExit on the same batches; MeasuredSaving is 1 − EarlyExitSeconds/FullSeconds.
	EarlyExitSeconds float64 `json:"early_exit_seconds"`
	FullSeconds      float64 `json:"full_seconds"`
	MeasuredSaving   float64 `json:"measured_saving"`
	// EarlyExitCPUSeconds and FullCPUSeconds are the process's CPU time (all threads)
	// over the same calls, which other processes on a busy machine disturb less than
	// wall-clock time; zero where the CPU time is not measured (outside Unix).
	EarlyExitCPUSeconds float64 `json:"early_exit_cpu_seconds"`
	FullCPUSeconds      float64 `json:"full_cpu_seconds"`
}

// OK reports whether real early exit reproduced the simulation exactly.
func (c *Check) OK() bool {
	return c.Mismatches == 0 && c.Real.Correct == c.Simulated.Correct &&
		slices.Equal(c.Real.ExitCounts, c.Simulated.ExitCounts)
}

// CrossCheck runs real early exit over loader with setting's thresholds and compares every
// sample's exit and prediction with what the simulation on out, the stored outputs of the
// same loader (see Outputs), gives. It times early exit against running every exit on the
// same batches. progress, when not nil, is called after every batch with the number of
// images done.
func CrossCheck(net *nn.Network, loader *data.Loader, out *dyneval.Split, setting dyneval.BudgetSetting, progress func(images int)) (*Check, error) {
	if err := checkLoader(loader); err != nil {
		return nil, err
	}
	if out.NumSamples() != loader.Len() || out.NumExits() != net.NumExits() {
		return nil, fmt.Errorf("evaluate: outputs of %d samples and %d exits for a split of %d and a network of %d",
			out.NumSamples(), out.NumExits(), loader.Len(), net.NumExits())
	}
	costs := CostModels(net.Graph())
	t := setting.Thresholds
	sim, err := dyneval.Apply(out, t, costs)
	if err != nil {
		return nil, err
	}
	c := &Check{P: setting.P, Thresholds: t, Simulated: sim}
	simExits := dyneval.ExitsTaken(out, t)

	net.SetTrain(false)
	ee := nn.NewEarlyExit(net)
	counts := make([]int, net.NumExits())
	var decisions []nn.Decision
	// Running every exit is timed with the same executor and a rule that accepts nowhere
	// but at the last exit, so that the two differ only by early exit (Forward, which
	// reallocates its tensors whenever the batch size changes, would pay extra).
	all := nn.NewEarlyExit(net)
	never := func(int, float32) bool { return false }
	var allDecisions []nn.Decision
	var early, full, earlyCPU, fullCPU time.Duration
	// Warm both up on the first batch, so that neither pays for allocating its tensors
	// in the timed loop.
	first := tensorOf(loader.Batch(0, 0))
	allDecisions = all.Run(first, never, allDecisions)
	decisions = ee.Run(first, t.Accepts, decisions)
	ee.ResetMACs()
	off := 0
	for b := range loader.Batches() {
		batch := loader.Batch(0, b)
		x := tensorOf(batch)

		runAll := func() {
			start, cpu := time.Now(), cpuTime()
			allDecisions = all.Run(x, never, allDecisions)
			full += time.Since(start)
			fullCPU += cpuTime() - cpu
		}
		runEarly := func() {
			start, cpu := time.Now(), cpuTime()
			decisions = ee.Run(x, t.Accepts, decisions)
			early += time.Since(start)
			earlyCPU += cpuTime() - cpu
		}
		// Alternate which goes first, so that neither always finds the batch in cache.
		if b%2 == 0 {
			runAll()
			runEarly()
		} else {
			runEarly()
			runAll()
		}

		for j, d := range decisions {
			i := off + j
			counts[d.Exit]++
			if d.Class == int(batch.Labels[j]) {
				c.Real.Correct++
			}
			want, wantClass := simExits[i], int(out.Prediction[simExits[i]][i])
			if d.Exit != want || d.Class != wantClass {
				if c.Mismatches == 0 {
					c.FirstMismatch = fmt.Sprintf("sample %d: real early exit took exit %d and predicted class %d (confidence %v), the simulation exit %d and class %d (confidence %v)",
						i, d.Exit+1, d.Class, d.Confidence, want+1, wantClass, out.Confidence[want][i])
				}
				c.Mismatches++
			}
		}
		off += batch.N
		if progress != nil {
			progress(off)
		}
	}
	n := loader.Len()
	c.Real.N = n
	c.Real.ExitCounts = counts
	c.Real.Top1 = 100 * float64(c.Real.Correct) / float64(n)
	c.Real.ExpectedCost = map[string]float64{}
	for _, m := range costs {
		c.Real.ExpectedCost[m.Name] = dyneval.ExpectedCost(counts, m.Costs)
	}
	c.ExecutedMACs = float64(ee.MACs()) / float64(n)
	cone := ConeMACs(net.Graph())
	c.FullMACs = float64(cone[len(cone)-1])
	c.PredictedSaving = 1 - sim.ExpectedCost[CostCone]/c.FullMACs
	c.EarlyExitSeconds, c.FullSeconds = early.Seconds(), full.Seconds()
	c.EarlyExitCPUSeconds, c.FullCPUSeconds = earlyCPU.Seconds(), fullCPU.Seconds()
	if full > 0 {
		c.MeasuredSaving = 1 - c.EarlyExitSeconds/c.FullSeconds
	}
	return c, nil
}
