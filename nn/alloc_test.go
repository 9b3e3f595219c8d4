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
// allocates nothing once the network has seen the batch size, on one and on two threads
// (issue 11: no per-call allocation on the inference hot path).
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
	x := randomInput(net, 8, 1)
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
