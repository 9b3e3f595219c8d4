package optim_test

import (
	"fmt"

	"github.com/msdx/msdx/optim"
)

func ExampleSGD() {
	w := optim.Param{Name: "w", Value: []float32{1}, Grad: []float32{0}, Decay: true}
	opt := optim.NewSGD([]optim.Param{w}, optim.SGDConfig{Momentum: 0.5, WeightDecay: 0.25})
	sched := optim.WarmupCosine{Base: 0.5, Epochs: 3, WarmupEpochs: 1}
	const itersPerEpoch = 2
	for epoch := range 3 {
		for iter := range itersPerEpoch {
			w.Grad[0] = 2 * w.Value[0] // minimise w²
			lr := sched.LR(epoch, iter, itersPerEpoch)
			opt.Step(lr)
			fmt.Printf("epoch %d iter %d: lr %.3f w %.4f\n", epoch, iter, lr, w.Value[0])
		}
	}
	// Output:
	// epoch 0 iter 0: lr 0.000 w 1.0000
	// epoch 0 iter 1: lr 0.500 w -0.6875
	// epoch 1 iter 0: lr 0.500 w -0.7578
	// epoch 1 iter 1: lr 0.427 w -0.0601
	// epoch 2 iter 0: lr 0.250 w 0.1780
	// epoch 2 iter 1: lr 0.073 w 0.1836
}
