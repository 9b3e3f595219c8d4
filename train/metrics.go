package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/msdx/msdx/internal/atomicfile"
	"github.com/msdx/msdx/internal/jsonfile"
)

// ExitMetrics are one exit's loss and accuracies over a set of images.
type ExitMetrics struct {
	// Loss is the mean cross-entropy (with label smoothing and mixing, during training).
	Loss float64 `json:"loss"`
	// Top1 and Top5 are the fractions of images whose label is the exit's first, or among
	// its first five, predictions (under mixing, the label of the dominant image).
	Top1 float64 `json:"top1"`
	Top5 float64 `json:"top5"`
}

// EpochMetrics is one line of metrics.jsonl.
type EpochMetrics struct {
	// Epoch is the 1-based epoch number.
	Epoch int `json:"epoch"`
	// LR is the learning rate of the epoch's last iteration.
	LR float64 `json:"lr"`
	// Train and Val hold one entry per exit; Val is empty without a validation split.
	Train []ExitMetrics `json:"train"`
	Val   []ExitMetrics `json:"val,omitempty"`
	// ImagesPerSec is the training throughput and WallSeconds the epoch's duration,
	// validation included, summed over the sessions of a resumed epoch.
	ImagesPerSec float64 `json:"images_per_sec"`
	WallSeconds  float64 `json:"wall_seconds"`
}

// TestResult is the content of test.json: per-exit metrics on the test split.
type TestResult struct {
	// Images is the number of test images.
	Images int `json:"images"`
	// Final holds the metrics of the final weights, and Best those of the best
	// checkpoint (from BestEpoch); Best is empty without a validation split.
	Final     []ExitMetrics `json:"final"`
	Best      []ExitMetrics `json:"best,omitempty"`
	BestEpoch int           `json:"best_epoch,omitempty"`
}

// sums accumulates per-exit metrics over batches. Its fields are saved in checkpoints
// so that a resumed epoch reports what the uninterrupted one would have.
type sums struct {
	Loss     []float64 `json:"loss"` // Σ batch-mean loss · batch size
	Correct1 []int64   `json:"correct1"`
	Correct5 []int64   `json:"correct5"`
	Images   int64     `json:"images"`
}

func newSums(exits int) sums {
	return sums{Loss: make([]float64, exits), Correct1: make([]int64, exits), Correct5: make([]int64, exits)}
}

// add records exit k's mean loss and the hits of its logits ([classes][batch]).
func (s *sums) add(k int, loss float64, logits []float32, classes int, labels []int32) {
	n := len(labels)
	s.Loss[k] += loss * float64(n)
	c1, c5 := topk(logits, classes, labels)
	s.Correct1[k] += c1
	s.Correct5[k] += c5
}

func (s *sums) metrics() []ExitMetrics {
	m := make([]ExitMetrics, len(s.Loss))
	if s.Images == 0 {
		return m
	}
	n := float64(s.Images)
	for k := range m {
		m[k] = ExitMetrics{Loss: s.Loss[k] / n, Top1: float64(s.Correct1[k]) / n, Top5: float64(s.Correct5[k]) / n}
	}
	return m
}

// topk counts the samples whose label is the top prediction and among the top five
// (all of them when there are five classes or fewer). Ties rank by class index.
func topk(logits []float32, classes int, labels []int32) (top1, top5 int64) {
	n := len(labels)
	for i := 0; i < n; i++ {
		y := int(labels[i])
		v := logits[y*n+i]
		rank := 0
		for c := 0; c < classes; c++ {
			u := logits[c*n+i]
			if u > v || (u == v && c < y) {
				rank++
			}
		}
		if rank == 0 {
			top1++
		}
		if rank < 5 {
			top5++
		}
	}
	return top1, top5
}

// finite reports whether every exit's metrics are numbers; JSON cannot hold NaN.
func finite(ms []ExitMetrics) bool {
	for _, m := range ms {
		if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
			return false
		}
	}
	return true
}

func readMetrics(name string) ([]EpochMetrics, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []EpochMetrics
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m EpochMetrics
		if err := jsonfile.Decode(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// appendMetrics appends m as one line and syncs the file, so that a line, once
// written, survives a crash.
func appendMetrics(name string, m EpochMetrics) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keepMetrics atomically rewrites the metrics file with the lines of epochs up to
// epochs only, dropping lines written after the checkpoint a run resumes from.
func keepMetrics(name string, epochs int) error {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var kept bytes.Buffer
	dropped := false
	for line, rest := 1, b; len(rest) > 0; line++ {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var m struct{ Epoch int }
		if err := json.Unmarshal(l, &m); err != nil {
			if len(rest) == 0 && !bytes.HasSuffix(b, []byte("\n")) {
				// A last line cut short by a crash: its epoch is redone.
				dropped = true
				continue
			}
			return fmt.Errorf("%s:%d: %v", name, line, err)
		}
		if m.Epoch > epochs {
			dropped = true
			continue
		}
		kept.Write(l)
		kept.WriteByte('\n')
	}
	if !dropped {
		return nil
	}
	return atomicfile.WriteFile(name, kept.Bytes(), 0o644)
}
