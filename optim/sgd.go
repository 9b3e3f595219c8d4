// Package optim holds the optimizer and learning-rate schedules used to train msdx models.
//
// SGD reproduces torch.optim.SGD (dampening 0, maximize false) operation by operation: each
// PyTorch tensor operation is one float32 operation here, rounded the same way. PyTorch's
// CPU kernels evaluate "a.add(b, alpha=s)" as a fused multiply-add a + s·b with one
// rounding (the vectorised path, which handles all but tail elements, and on x86 builds
// with FMA the tail too), and so does SGD, through kernels.SGDUpdate. The scalars
// (learning rate, momentum, weight decay) are rounded to float32 first, as PyTorch does
// for float tensors.
//
// The schedules are pure functions of (epoch, iteration within the epoch, iterations per
// epoch), so a resumed run recomputes the same learning rate without saved state.
package optim

import (
	"fmt"
	"math"
	"slices"

	"github.com/msdx/msdx/internal/par"
	"github.com/msdx/msdx/kernels"
)

// Param is one parameter tensor and its gradient, both flattened. Value and Grad must have
// the same length; SGD reads Grad and updates Value in place.
type Param struct {
	// Name identifies the parameter in exported state; names must be unique.
	Name  string
	Value []float32
	Grad  []float32
	// Decay applies the optimizer's weight decay to this parameter. Recipes following
	// MSDNet decay every parameter; others exempt biases and normalisation scales.
	Decay bool
}

// SGDConfig holds the hyper-parameters of SGD other than the learning rate, which is passed
// to each Step so that a schedule can drive it.
type SGDConfig struct {
	// Momentum is the momentum factor, in [0, 1). Zero disables the momentum buffers.
	Momentum float64
	// Nesterov uses Nesterov momentum; it requires Momentum > 0.
	Nesterov bool
	// WeightDecay is the L2 penalty added to the gradient of parameters with Decay set.
	WeightDecay float64
}

// SGD is stochastic gradient descent with momentum, matching torch.optim.SGD:
//
//	g   = grad + weight_decay·p            (only for parameters with Decay)
//	buf = g                                 (first step)
//	buf = momentum·buf + g                  (later steps)
//	g   = g + momentum·buf  if nesterov,  else  g = buf
//	p   = p − lr·g
type SGD struct {
	params      []Param
	momentum    float32
	weightDecay float32
	nesterov    bool
	buffers     [][]float32 // nil when momentum is zero
	steps       int64
	pieces      []piece
	update      sgdUpdate // the running Step's task, kept here so that Step allocates nothing
}

// NewSGD returns an optimizer over params. It panics if the configuration is invalid, if a
// Value and Grad differ in length or if two parameters share a name: these are programming
// errors (recipes validate user input before it reaches here).
func NewSGD(params []Param, cfg SGDConfig) *SGD {
	if !(cfg.Momentum >= 0 && cfg.Momentum < 1) {
		panic(fmt.Sprintf("optim: momentum %v outside [0, 1)", cfg.Momentum))
	}
	if !(cfg.WeightDecay >= 0) || math.IsInf(cfg.WeightDecay, 1) {
		panic(fmt.Sprintf("optim: invalid weight decay %v", cfg.WeightDecay))
	}
	if cfg.Nesterov && cfg.Momentum == 0 {
		panic("optim: nesterov momentum requires momentum > 0")
	}
	seen := make(map[string]bool, len(params))
	for _, p := range params {
		if len(p.Value) != len(p.Grad) {
			panic(fmt.Sprintf("optim: parameter %q has %d values but %d gradients", p.Name, len(p.Value), len(p.Grad)))
		}
		if seen[p.Name] {
			panic(fmt.Sprintf("optim: duplicate parameter name %q", p.Name))
		}
		seen[p.Name] = true
	}
	o := &SGD{
		params:      slices.Clone(params),
		momentum:    float32(cfg.Momentum),
		weightDecay: float32(cfg.WeightDecay),
		nesterov:    cfg.Nesterov,
		pieces:      cutPieces(params),
	}
	if cfg.Momentum != 0 {
		o.buffers = make([][]float32, len(params))
		for i, p := range params {
			o.buffers[i] = make([]float32, len(p.Value))
		}
	}
	return o
}

// Steps returns the number of steps taken, including those before an imported state.
func (o *SGD) Steps() int64 { return o.steps }

// Step updates every parameter from its gradient with learning rate lr. Large parameters
// are cut into fixed pieces that run on up to kernels.Threads goroutines; every element is
// updated on its own, so the result does not depend on the thread count.
func (o *SGD) Step(lr float64) {
	o.update = sgdUpdate{o: o, negLR: float32(-lr)}
	par.Do(min(kernels.Threads(), len(o.pieces)), len(o.pieces), &o.update)
	o.update = sgdUpdate{}
	o.steps++
}

// pieceLen is the most elements of one piece of an SGD step: a few hundred kilobytes of
// values, gradients and buffers, enough to make handing a piece to a goroutine cheap.
const pieceLen = 1 << 15

// piece is the range [lo, hi) of parameter param's elements.
type piece struct{ param, lo, hi int }

// cutPieces cuts params into pieces of at most pieceLen elements.
func cutPieces(params []Param) []piece {
	var ps []piece
	for i, p := range params {
		for lo := 0; lo < len(p.Value); lo += pieceLen {
			ps = append(ps, piece{i, lo, min(lo+pieceLen, len(p.Value))})
		}
	}
	return ps
}

// sgdUpdate is the task of one Step: part i updates piece i.
type sgdUpdate struct {
	o     *SGD
	negLR float32
}

// Run updates piece i.
func (u *sgdUpdate) Run(_, i int) {
	o := u.o
	pc := o.pieces[i]
	p := o.params[pc.param]
	s := kernels.SGDStep{Step: u.negLR, Momentum: o.momentum, First: o.steps == 0, Nesterov: o.nesterov}
	if p.Decay {
		s.WeightDecay = o.weightDecay
	}
	var buf []float32
	if o.buffers != nil {
		buf = o.buffers[pc.param][pc.lo:pc.hi]
	}
	kernels.SGDUpdate(p.Value[pc.lo:pc.hi], p.Grad[pc.lo:pc.hi], buf, s)
}

// SGDState is the part of an SGD optimizer that a checkpoint must keep for a resumed run to
// continue bit for bit.
type SGDState struct {
	// Steps is the number of steps taken.
	Steps int64
	// Names are the parameter names, in the optimizer's order.
	Names []string
	// Momentum holds one buffer per parameter, in the order of Names; nil when the
	// optimizer has no momentum.
	Momentum [][]float32
}

// State returns a deep copy of the optimizer state.
func (o *SGD) State() SGDState {
	s := SGDState{Steps: o.steps, Names: make([]string, len(o.params))}
	for i, p := range o.params {
		s.Names[i] = p.Name
	}
	if o.buffers != nil {
		s.Momentum = make([][]float32, len(o.buffers))
		for i, b := range o.buffers {
			s.Momentum[i] = slices.Clone(b)
		}
	}
	return s
}

// SetState replaces the optimizer state with a copy of s, typically read from a checkpoint.
// It returns an error, leaving the optimizer unchanged, if s does not fit the optimizer's
// parameters: different names or order, buffer lengths, or momentum buffers present
// exactly when the optimizer has none.
func (o *SGD) SetState(s SGDState) error {
	if s.Steps < 0 {
		return fmt.Errorf("optim: state has negative step count %d", s.Steps)
	}
	if len(s.Names) != len(o.params) {
		return fmt.Errorf("optim: state has %d parameters, optimizer has %d", len(s.Names), len(o.params))
	}
	for i, p := range o.params {
		if s.Names[i] != p.Name {
			return fmt.Errorf("optim: state parameter %d is %q, optimizer has %q", i, s.Names[i], p.Name)
		}
	}
	if (o.buffers == nil) != (s.Momentum == nil) {
		return fmt.Errorf("optim: state has momentum buffers: %t, optimizer uses momentum: %t", s.Momentum != nil, o.buffers != nil)
	}
	if o.buffers != nil {
		if len(s.Momentum) != len(o.params) {
			return fmt.Errorf("optim: state has %d momentum buffers, optimizer has %d parameters", len(s.Momentum), len(o.params))
		}
		for i, p := range o.params {
			if len(s.Momentum[i]) != len(p.Value) {
				return fmt.Errorf("optim: momentum buffer of %q has %d elements, parameter has %d", p.Name, len(s.Momentum[i]), len(p.Value))
			}
		}
		for i := range o.buffers {
			copy(o.buffers[i], s.Momentum[i])
		}
	}
	o.steps = s.Steps
	return nil
}
