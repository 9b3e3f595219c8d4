package data

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkSynthetic measures generating the default synthetic dataset (6,000 images).
func BenchmarkSynthetic(b *testing.B) {
	for b.Loop() {
		Synthetic(DefaultSyntheticConfig)
	}
	b.ReportMetric(float64(b.N*(DefaultSyntheticConfig.Train+DefaultSyntheticConfig.Test))/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkStream measures batch production through a Stream: normalisation, random crop with
// padding 4, flip and (for "mix") mixup or cutmix, batch 64, CNHW float32.
func BenchmarkStream(b *testing.B) {
	d := Synthetic(SyntheticConfig{Seed: 1, Train: 5000, Test: 1})
	stats := ComputeStats(&d.Train, nil)
	for _, mix := range []bool{false, true} {
		for _, workers := range []int{1, 2} {
			aug := Augment{CropPadding: 4, Flip: true}
			if mix {
				aug.MixupAlpha, aug.CutmixAlpha, aug.CutmixProb = 0.8, 1, 0.5
			}
			b.Run(fmt.Sprintf("mix=%v/workers=%d", mix, workers), func(b *testing.B) {
				l := newTestLoader(b, &d.Train, 10, LoaderConfig{BatchSize: 64, Shuffle: true, Augment: aug, Stats: &stats, Workers: workers})
				images := 0
				epoch := 0
				for b.Loop() {
					s := l.Stream(epoch, 0)
					for bt, ok := s.Next(); ok; bt, ok = s.Next() {
						images += bt.N
						s.Release(bt)
					}
					s.Close()
					epoch++
				}
				b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}

// BenchmarkOpenCIFAR10JPEG measures opening the CIFAR-10 JPEG archive of the shared data folder
// when the decoded cache is warm (hashing the archive's files and reading the cache) and cold
// (decoding every image).
func BenchmarkOpenCIFAR10JPEG(b *testing.B) {
	archive := filepath.Join(sharedDir(b), "data", "cifar10-jpeg.tar.gz")
	cache := b.TempDir()
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := Open("imagefolder:"+archive, OpenOptions{NoCache: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	if _, err := Open("imagefolder:"+archive, OpenOptions{CacheDir: cache}); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := Open("imagefolder:"+archive, OpenOptions{CacheDir: cache}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
