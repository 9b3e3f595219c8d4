package tensorfile_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/msdx/msdx/tensorfile"
)

func Example() {
	dir, err := os.MkdirTemp("", "tensorfile")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "params.safetensors")

	f := &tensorfile.File{
		Metadata: map[string]string{"arch": "msdnet"},
		Tensors: []tensorfile.Tensor{
			tensorfile.NewFloat32("stem.conv.weight", []int{2, 1, 1, 1}, []float32{0.5, -1}),
			tensorfile.NewInt64("optim.steps", []int{}, []int64{782}),
		},
	}
	if err := tensorfile.WriteFile(name, f); err != nil {
		log.Fatal(err)
	}
	back, err := tensorfile.ReadFile(name)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range back.Tensors {
		fmt.Println(t.Name, t.DType, t.Shape, t.F32, t.I64)
	}
	fmt.Println(back.Metadata["arch"])
	// Output:
	// optim.steps I64 [] [] [782]
	// stem.conv.weight F32 [2 1 1 1] [0.5 -1] []
	// msdnet
}
