package recipe_test

import (
	"fmt"

	"github.com/msdx/msdx/recipe"
)

func ExampleResolve() {
	r, err := recipe.Resolve("msdnet", []string{"epochs=4", "optimizer.lr=0.05"})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := r.LRSchedule()
	for epoch := range r.Epochs {
		fmt.Printf("epoch %d: lr %.4g\n", epoch, s.LR(epoch, 0, 782))
	}

	_, err = recipe.Resolve("msdnet", []string{"optimizer.momentum=1.5", "epochs=x"})
	fmt.Println(err)
	// Output:
	// epoch 0: lr 0.05
	// epoch 1: lr 0.05
	// epoch 2: lr 0.005
	// epoch 3: lr 0.0005
	// --set:1: optimizer.momentum: must be in [0, 1), not 1.5 (--set optimizer.momentum=1.5)
	// --set:2: epochs: want an integer, got "x" (--set epochs=x)
}
