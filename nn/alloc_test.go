package nn_test

import (
	"fmt"
	"testing"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/spec"
)

// TestForwardAllocatesNothing checks that an evaluation-mode Forward through all exits
// allocates nothing once the network has seen the batch size, on one and on two threads,
// for a batch of two chunks (issue 11: no per-call allocation on the inference hot path).
func TestForwardAllocatesNothing(t *testing.T) {
	s, err := spec.Preset("msdnet-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(g, nn.InitPyTorch, 1)
	if err != nil {
		t.Fatal(err)
	}
	net.SetTrain(false)
	x := randomInput(net, 13, 1) // two chunks
	defer kernels.SetThreads(kernels.Threads())
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprint(threads, "threads"), func(t *testing.T) {
			kernels.SetThreads(threads)
			net.Forward(x, 0)
			// Over 100 calls, so that a free list growing once when two workers happen to
			// hold more scratch at the same time than before does not count; an allocation
			// in every call still gives 1 or more.
			if n := testing.AllocsPerRun(100, func() { net.Forward(x, 0) }); n != 0 {
				t.Errorf("Forward allocated %v times per call, want 0", n)
			}
		})
	}
}

// TestEarlyExitAllocatesNothing checks that real early exit allocates nothing once it has
// seen a batch at least as large, on one and two threads, for a batch of two chunks whose
// samples leave at several exits.
func TestEarlyExitAllocatesNothing(t *testing.T) {
	s, err := spec.Preset("msdnet-cifar10-small")
	if err != nil {
		t.Fatal(err)
	}
	g, err := builder.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(g, nn.InitPyTorch, 1)
	if err != nil {
		t.Fatal(err)
	}
	net.SetTrain(false)
	x := randomInput(net, 13, 1)
	rule := thresholdRule(medianThresholds(net, x))
	ee := nn.NewEarlyExit(net)
	dst := ee.Run(x, rule, nil)
	defer kernels.SetThreads(kernels.Threads())
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprint(threads, "threads"), func(t *testing.T) {
			kernels.SetThreads(threads)
			dst = ee.Run(x, rule, dst)
			if n := testing.AllocsPerRun(100, func() { dst = ee.Run(x, rule, dst) }); n != 0 {
				t.Errorf("EarlyExit.Run allocated %v times per call, want 0", n)
			}
		})
	}
}
