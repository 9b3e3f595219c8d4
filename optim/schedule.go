package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate for iteration iter (0-based) of epoch (0-based), when an
// epoch has itersPerEpoch iterations. Implementations are pure functions of their arguments.
type Schedule interface {
	LR(epoch, iter, itersPerEpoch int) float64
}

// Constant is a fixed learning rate.
type Constant struct {
	Base float64
}

// LR returns c.Base.
func (c Constant) LR(epoch, iter, itersPerEpoch int) float64 { return c.Base }

// MultiStep multiplies the base rate by Gamma at each milestone, once per epoch. With
// Milestones {0.5, 0.75} and Gamma 0.1 it is the MSDNet/RANet CIFAR schedule: Base until
// epoch 0.5·Epochs, then Base·0.1, from epoch 0.75·Epochs Base·0.1². As in kalviny's
// adjust_learning_rate, epoch e (0-based) has passed milestone f when e >= f·Epochs, and the
// rate is Base·Gamma^k computed as Base times math.Pow(Gamma, k).
type MultiStep struct {
	Base   float64
	Epochs int
	// Milestones are fractions of Epochs, in increasing order.
	Milestones []float64
	Gamma      float64
}

// LR returns the rate of epoch; iter and itersPerEpoch are ignored.
func (s MultiStep) LR(epoch, iter, itersPerEpoch int) float64 {
	k := 0
	for _, f := range s.Milestones {
		if float64(epoch) >= f*float64(s.Epochs) {
			k++
		}
	}
	if k == 0 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64(k))
}

// WarmupCosine is a per-iteration linear warm-up followed by cosine decay, the schedule of
// Addad et al. (20 warm-up epochs, then cosine down to a minimum rate). It follows the
// cosine_scheduler of the ConvNeXt/BEiT code bases (which gphi_MSDNet derives from): with
// W = WarmupEpochs·itersPerEpoch warm-up iterations and T = Epochs·itersPerEpoch in all,
// iteration t = epoch·itersPerEpoch + iter has rate
//
//	Base·t/(W−1)                                   for t < W (numpy linspace from 0 to Base)
//	Min + (Base−Min)·(1 + cos(π·(t−W)/(T−W)))/2    for t ≥ W
//
// so warm-up starts at 0 and reaches Base on its last iteration, and the decay starts at
// Base and approaches Min. A single warm-up iteration (W = 1) has rate 0, as linspace gives.
// Iterations past the end (t ≥ T) keep the last rate.
type WarmupCosine struct {
	Base, Min    float64
	Epochs       int
	WarmupEpochs int
}

// LR returns the rate of iteration iter of epoch.
func (s WarmupCosine) LR(epoch, iter, itersPerEpoch int) float64 {
	if itersPerEpoch <= 0 || s.Epochs <= 0 || s.WarmupEpochs < 0 || s.WarmupEpochs >= s.Epochs {
		panic(fmt.Sprintf("optim: WarmupCosine %+v with %d iterations per epoch", s, itersPerEpoch))
	}
	w := s.WarmupEpochs * itersPerEpoch
	total := s.Epochs * itersPerEpoch
	t := min(epoch*itersPerEpoch+iter, total-1)
	if t < w {
		switch {
		case w == 1:
			return 0
		case t == w-1:
			return s.Base // linspace sets its last element to stop exactly
		}
		// numpy.linspace computes i·step + start with step = (stop−start)/(num−1).
		return float64(t) * (s.Base / float64(w-1))
	}
	return s.Min + 0.5*(s.Base-s.Min)*(1+math.Cos(math.Pi*float64(t-w)/float64(total-w)))
}
