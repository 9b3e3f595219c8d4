package nn_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/msdx/msdx/export"
	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/kernels"
	"github.com/msdx/msdx/nn"
)

// TestEveryKindRunsAndExports proves that every op kind registered in package graph (with
// its shape, parameter and cost rules) also has a forward pass, a backward pass and a
// PyTorch form: each kind's sample application is compiled, run forward and backward, and
// exported. Numerical agreement with PyTorch is the golden tests' business.
func TestEveryKindRunsAndExports(t *testing.T) {
	for _, k := range graph.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			op, shapes := graph.Def(k).Sample()
			h, w := 1, 1
			for _, s := range shapes {
				h, w = max(h, s.H), max(w, s.W)
			}
			b := graph.NewBuilder(string(k), graph.Shape{C: 3, H: h, W: w})
			inputs := make([]int, len(shapes))
			for i, s := range shapes {
				name := fmt.Sprintf("in%d", i)
				switch {
				case s.H == 1 && s.W == 1 && h > 1:
					conv := b.Add(name+"/conv", graph.Op{Kind: graph.Conv, Out: s.C, Kernel: 1, Stride: 1, Groups: 1}, graph.Input)
					inputs[i] = b.Add(name+"/pool", graph.Op{Kind: graph.AdaptiveAvgPool}, conv)
				default:
					inputs[i] = b.Add(name+"/conv", graph.Op{Kind: graph.Conv, Out: s.C, Kernel: h - s.H + 1, Stride: 1, Groups: 1}, graph.Input)
				}
			}
			x := b.Add("op", op, inputs...)
			b.BeginHead()
			b.EndHead(b.Add("linear", graph.Op{Kind: graph.Linear, Out: 2, Bias: true}, x))
			g, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			var py bytes.Buffer
			if err := export.PyTorch(&py, g, export.Info{SpecName: string(k)}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(py.String(), fmt.Sprintf("t%d = ", x)) {
				t.Errorf("export has no statement for the %s node:\n%s", k, py.String())
			}
			net, err := nn.New(g, nn.InitPyTorch, 1)
			if err != nil {
				t.Fatal(err)
			}
			net.SetTrain(true)
			in := kernels.NewTensor(3, 2, h, w)
			for i := range in.Data {
				in.Data[i] = float32(math.Sin(float64(i)))
			}
			logits := net.Forward(in, 0)
			d := kernels.NewTensor(logits[0].C, logits[0].N, 1, 1)
			for i := range d.Data {
				d.Data[i] = 1
			}
			net.Backward([]*kernels.Tensor{d})
			var gradSum float64
			for _, p := range net.Params() {
				if strings.HasPrefix(p.Name, "in0/conv") {
					for _, v := range p.Grad {
						gradSum += math.Abs(float64(v))
					}
				}
			}
			if gradSum == 0 || math.IsNaN(gradSum) {
				t.Errorf("the gradient does not flow back through %s (sum %v)", k, gradSum)
			}
		})
	}
}
