package data_test

import (
	"fmt"
	"log"

	"github.com/msdx/msdx/data"
)

// Example opens the synthetic dataset, holds out a validation set, and reads the first
// augmented training batch of an epoch from a background stream.
func Example() {
	d, err := data.Open("synthetic:seed=1,train=1000,test=200", data.OpenOptions{})
	if err != nil {
		log.Fatal(err)
	}
	train, valid := data.SplitValidation(d.Train.Len(), data.DefaultValidationSize(d.Train.Len()), 1)
	stats := data.ComputeStats(&d.Train, train)
	loader, err := data.NewLoader(&d.Train, train, d.NumClasses(), data.LoaderConfig{
		BatchSize: 64, Shuffle: true, Seed: 1, Stats: &stats,
		Augment: data.Augment{CropPadding: 4, Flip: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	stream := loader.Stream(0, 0)
	defer stream.Close()
	batch, _ := stream.Next()
	fmt.Println(len(d.Classes), "classes;", len(train), "training and", len(valid), "validation images")
	fmt.Println(loader.Batches(), "batches per epoch; the first is", batch.C, "x", batch.N, "x", batch.H, "x", batch.W, "(CNHW)")
	// Output:
	// 10 classes; 900 training and 100 validation images
	// 15 batches per epoch; the first is 3 x 64 x 32 x 32 (CNHW)
}
