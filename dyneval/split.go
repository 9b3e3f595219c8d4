// Package dyneval evaluates a multi-exit classifier from the softmax outputs of its exits:
// anytime prediction (the accuracy of every exit, paired with its cost) and budgeted batch
// classification (confidence thresholds fitted on a validation split and applied to a test
// split), exactly as the reference adaptive_inference.py does it (architectures.md §6).
//
// The package only consumes outputs; it never runs a network. A Split holds, for every exit
// and sample, the max-softmax confidence, the predicted class and whether the label is in the
// top 1 and top 5. Thresholds.ExitOf is the exit rule (first exit whose confidence reaches its
// threshold) shared by the simulation here and by a real early-exit executor.
//
// Exits are numbered from 0 in the Go API and from 1 in the written results (JSON, CSV,
// table), as in the paper.
package dyneval

import (
	"fmt"
	"math"
)

// Split holds the per-exit outputs of a network on one data split (validation or test).
// All slices indexed by exit have the same number of exits, and every per-exit slice has one
// entry per sample.
type Split struct {
	// Labels holds the true class of every sample.
	Labels []int
	// Confidence[k][i] is the largest softmax probability of exit k on sample i.
	Confidence [][]float32
	// Prediction[k][i] is the argmax of exit k on sample i; the lowest class index wins ties.
	Prediction [][]int32
	// InTop5[k][i] reports whether Labels[i] is among the five classes ranked highest by exit
	// k, ranking ties by class index as Prediction does.
	InTop5 [][]bool
}

// NewSplit returns a Split for numExits exits and len(labels) samples whose outputs are yet
// to be filled in with Record. It keeps labels. NewSplit panics if numExits < 1.
func NewSplit(numExits int, labels []int) *Split {
	if numExits < 1 {
		panic(fmt.Sprintf("dyneval: NewSplit with %d exits", numExits))
	}
	n := len(labels)
	s := &Split{
		Labels:     labels,
		Confidence: make([][]float32, numExits),
		Prediction: make([][]int32, numExits),
		InTop5:     make([][]bool, numExits),
	}
	for k := range numExits {
		s.Confidence[k] = make([]float32, n)
		s.Prediction[k] = make([]int32, n)
		s.InTop5[k] = make([]bool, n)
	}
	return s
}

// NumExits returns the number of exits of s.
func (s *Split) NumExits() int { return len(s.Confidence) }

// NumSamples returns the number of samples of s.
func (s *Split) NumSamples() int { return len(s.Labels) }

// Record stores the softmax output probs of exit on sample. It returns an error if probs
// holds a value that is not finite, or if the sample's label is not a class of probs. Record
// panics if exit or sample is out of range.
func (s *Split) Record(exit, sample int, probs []float32) error {
	label := s.Labels[sample]
	if label < 0 || label >= len(probs) {
		return fmt.Errorf("dyneval: sample %d: label %d outside the %d classes of exit %d", sample, label, len(probs), exit+1)
	}
	best := 0
	for c, p := range probs {
		if math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
			return fmt.Errorf("dyneval: sample %d, exit %d: probability of class %d is %v", sample, exit+1, c, p)
		}
		if p > probs[best] {
			best = c
		}
	}
	// The rank of the label: classes with a higher probability, or an equal one and a lower
	// index, come first. Rank 0 is exactly "argmax == label".
	pl := probs[label]
	rank := 0
	for c, p := range probs {
		if p > pl || (p == pl && c < label) {
			rank++
		}
	}
	s.Confidence[exit][sample] = probs[best]
	s.Prediction[exit][sample] = int32(best)
	s.InTop5[exit][sample] = rank < 5
	return nil
}

// SplitFromProbabilities builds a Split from probs[k][i], the softmax output of exit k on
// sample i, and the labels of the samples.
func SplitFromProbabilities(probs [][][]float32, labels []int) (*Split, error) {
	if len(probs) == 0 {
		return nil, fmt.Errorf("dyneval: no exits")
	}
	s := NewSplit(len(probs), labels)
	for k, exit := range probs {
		if len(exit) != len(labels) {
			return nil, fmt.Errorf("dyneval: exit %d has %d samples, want %d", k+1, len(exit), len(labels))
		}
		for i, row := range exit {
			if err := s.Record(k, i, row); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Validate reports whether s is well formed: at least one exit, per-exit slices of one
// entry per sample, and finite confidences.
func (s *Split) Validate() error {
	if s == nil || len(s.Confidence) == 0 {
		return fmt.Errorf("dyneval: split has no exits")
	}
	k, n := len(s.Confidence), len(s.Labels)
	if len(s.Prediction) != k || len(s.InTop5) != k {
		return fmt.Errorf("dyneval: split has %d confidence, %d prediction and %d top-5 exits", k, len(s.Prediction), len(s.InTop5))
	}
	for e := range k {
		if len(s.Confidence[e]) != n || len(s.Prediction[e]) != n || len(s.InTop5[e]) != n {
			return fmt.Errorf("dyneval: exit %d does not have one output per sample (%d)", e+1, n)
		}
		for i, c := range s.Confidence[e] {
			if math.IsNaN(float64(c)) || math.IsInf(float64(c), 0) {
				return fmt.Errorf("dyneval: exit %d, sample %d: confidence %v", e+1, i, c)
			}
		}
	}
	return nil
}

// correct reports whether exit k's prediction on sample i is the label.
func (s *Split) correct(k, i int) bool { return int(s.Prediction[k][i]) == s.Labels[i] }
