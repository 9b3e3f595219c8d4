package graph

import (
	"fmt"
	"sort"
)

// Kind names an op type.
type Kind string

// Op kinds. Every kind is registered with its shape rule, parameter count and cost rules
// (see Register), so a graph can only hold ops that the cost model can price.
const (
	Conv            Kind = "conv2d"           // 2-D cross-correlation, any kernel, stride, padding, groups
	BatchNorm       Kind = "batchnorm"        // per-channel batch norm with affine weight and bias
	ReLU            Kind = "relu"             // max(x, 0)
	GELU            Kind = "gelu"             // x·Φ(x), the exact erf form
	MaxPool         Kind = "maxpool"          // max over k×k windows
	AvgPool         Kind = "avgpool"          // mean over k×k windows (padding counted)
	AdaptiveAvgPool Kind = "adaptive_avgpool" // mean over the whole map, to 1×1
	Linear          Kind = "linear"           // fully connected over the flattened input
	Concat          Kind = "concat"           // channel concatenation of equal-size maps
	Add             Kind = "add"              // element-wise sum of two equal shapes
	Resize          Kind = "resize_bilinear"  // bilinear resize, align_corners as Op.AlignCorners says
)

// Op is an op kind with its attributes. Attributes a kind does not use are zero.
type Op struct {
	Kind Kind `json:"kind"`
	// Out is the number of output channels (Conv) or features (Linear).
	Out int `json:"out,omitempty"`
	// Kernel, Stride and Pad describe square windows (Conv, MaxPool, AvgPool).
	Kernel int `json:"kernel,omitempty"`
	Stride int `json:"stride,omitempty"`
	Pad    int `json:"pad,omitempty"`
	// Groups is the conv group count; Groups == input channels is a depthwise conv.
	Groups int `json:"groups,omitempty"`
	// Bias says whether a Conv or Linear has a bias vector.
	Bias bool `json:"bias,omitempty"`
	// H and W are the output size of a Resize.
	H int `json:"h,omitempty"`
	W int `json:"w,omitempty"`
	// AlignCorners selects PyTorch's align_corners=True for a Resize (RANet's
	// interpolation), where the corner pixels of input and output align; false is
	// align_corners=False. It changes no cost.
	AlignCorners bool `json:"align_corners,omitempty"`
}

// Cost is the cost of one node for a batch of one, in each convention msdx reports.
type Cost struct {
	// MACs follows the reference op counters of MSDNet and RANet (architectures.md §1): a
	// multiply-add is one op; ReLU/GELU count one per element; pooling k² per output;
	// adaptive pooling one per input element; linear in·out+out; conv bias, batch norm,
	// concatenation, addition and bilinear resizing count nothing.
	MACs int64 `json:"macs"`
	// FVCore follows fvcore's defaults as used by gphi_MSDNet's get_flops_params: conv
	// MACs, linear in·out without bias, batch norm 2 per element, adaptive pooling one per
	// input element, bilinear resize 4 per output element; activations, fixed-window
	// pooling, addition and concatenation count nothing. Like fvcore's traced count, it is
	// zero for a node that no exit depends on.
	FVCore int64 `json:"fvcore"`
	// FLOPs counts floating-point operations of inference: 2 per multiply-add of conv and
	// linear plus one per bias add; batch norm 2 per element (scale, shift); activations
	// and additions 1 per element; pooling 1 per window element (fixed windows) or per input
	// element (adaptive); bilinear resize 7 per output element (4 multiplies, 3 adds), none
	// when the size does not change.
	FLOPs int64 `json:"flops"`
	// Acts is the number of output elements: the activation memory the op allocates in a
	// framework that materialises every output (×4 bytes for float32, ×batch).
	Acts int64 `json:"acts"`
}

// Plus returns the element-wise sum of two costs.
func (c Cost) Plus(d Cost) Cost {
	return Cost{MACs: c.MACs + d.MACs, FVCore: c.FVCore + d.FVCore, FLOPs: c.FLOPs + d.FLOPs, Acts: c.Acts + d.Acts}
}

// KindDef is how one op kind shapes, counts and costs itself.
type KindDef struct {
	// Infer checks the attributes against the input shapes and returns the output shape.
	Infer func(op Op, in []Shape) (Shape, error)
	// Params returns the number of trainable parameters.
	Params func(op Op, in []Shape) int64
	// Cost returns the cost for a batch of one; Acts is filled in by the graph.
	Cost func(op Op, in []Shape, out Shape) Cost
}

var kinds = map[Kind]KindDef{}

// Register adds an op kind. It panics if the kind is registered twice or a rule is missing:
// a kind that cannot be costed must not exist.
func Register(k Kind, d KindDef) {
	if d.Infer == nil || d.Params == nil || d.Cost == nil {
		panic(fmt.Sprintf("graph: op kind %q registered without all of Infer, Params and Cost", k))
	}
	if _, dup := kinds[k]; dup {
		panic(fmt.Sprintf("graph: op kind %q registered twice", k))
	}
	kinds[k] = d
}

// Kinds returns every registered op kind, sorted.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(kinds))
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

// Def returns the registered rules of kind k, panicking for an unknown kind.
func Def(k Kind) KindDef {
	d, ok := kinds[k]
	if !ok {
		panic(fmt.Sprintf("graph: unknown op kind %q", k))
	}
	return d
}

// windowOut is the output size of a k-window with stride s and padding p over n, or an
// error when the window does not fit (PyTorch's floor rule).
func windowOut(n, k, s, p int) (int, error) {
	if s < 1 || k < 1 || p < 0 {
		return 0, fmt.Errorf("invalid window (kernel %d, stride %d, padding %d)", k, s, p)
	}
	if n+2*p < k {
		return 0, fmt.Errorf("a %dx%d window does not fit a %dx%d map with padding %d", k, k, n, n, p)
	}
	return (n+2*p-k)/s + 1, nil
}

func one(in []Shape, k Kind) (Shape, error) {
	if len(in) != 1 {
		return Shape{}, fmt.Errorf("%s takes 1 input, got %d", k, len(in))
	}
	return in[0], nil
}

func noParams(Op, []Shape) int64 { return 0 }

func init() {
	Register(Conv, KindDef{
		Infer: func(op Op, in []Shape) (Shape, error) {
			x, err := one(in, Conv)
			if err != nil {
				return Shape{}, err
			}
			if op.Groups < 1 || op.Out < 1 || x.C%op.Groups != 0 || op.Out%op.Groups != 0 {
				return Shape{}, fmt.Errorf("conv with %d groups cannot map %d to %d channels", op.Groups, x.C, op.Out)
			}
			h, err := windowOut(x.H, op.Kernel, op.Stride, op.Pad)
			if err != nil {
				return Shape{}, err
			}
			w, err := windowOut(x.W, op.Kernel, op.Stride, op.Pad)
			if err != nil {
				return Shape{}, err
			}
			return Shape{op.Out, h, w}, nil
		},
		Params: func(op Op, in []Shape) int64 {
			p := int64(in[0].C/op.Groups) * int64(op.Out) * int64(op.Kernel*op.Kernel)
			if op.Bias {
				p += int64(op.Out)
			}
			return p
		},
		Cost: func(op Op, in []Shape, out Shape) Cost {
			macs := int64(in[0].C/op.Groups) * int64(op.Kernel*op.Kernel) * out.Numel()
			flops := 2 * macs
			if op.Bias {
				flops += out.Numel()
			}
			return Cost{MACs: macs, FVCore: macs, FLOPs: flops}
		},
	})
	Register(BatchNorm, KindDef{
		Infer:  func(op Op, in []Shape) (Shape, error) { return one(in, BatchNorm) },
		Params: func(op Op, in []Shape) int64 { return 2 * int64(in[0].C) },
		Cost: func(op Op, in []Shape, out Shape) Cost {
			return Cost{FVCore: 2 * out.Numel(), FLOPs: 2 * out.Numel()}
		},
	})
	activation := func(k Kind) KindDef {
		return KindDef{
			Infer:  func(op Op, in []Shape) (Shape, error) { return one(in, k) },
			Params: noParams,
			Cost: func(op Op, in []Shape, out Shape) Cost {
				return Cost{MACs: out.Numel(), FLOPs: out.Numel()}
			},
		}
	}
	Register(ReLU, activation(ReLU))
	Register(GELU, activation(GELU))
	pool := func(k Kind) KindDef {
		return KindDef{
			Infer: func(op Op, in []Shape) (Shape, error) {
				x, err := one(in, k)
				if err != nil {
					return Shape{}, err
				}
				if op.Pad*2 > op.Kernel {
					return Shape{}, fmt.Errorf("%s padding %d exceeds half the kernel %d", k, op.Pad, op.Kernel)
				}
				h, err := windowOut(x.H, op.Kernel, op.Stride, op.Pad)
				if err != nil {
					return Shape{}, err
				}
				w, err := windowOut(x.W, op.Kernel, op.Stride, op.Pad)
				if err != nil {
					return Shape{}, err
				}
				return Shape{x.C, h, w}, nil
			},
			Params: noParams,
			Cost: func(op Op, in []Shape, out Shape) Cost {
				ops := out.Numel() * int64(op.Kernel*op.Kernel)
				c := Cost{MACs: ops, FLOPs: ops}
				return c
			},
		}
	}
	Register(MaxPool, pool(MaxPool))
	Register(AvgPool, pool(AvgPool))
	Register(AdaptiveAvgPool, KindDef{
		Infer: func(op Op, in []Shape) (Shape, error) {
			x, err := one(in, AdaptiveAvgPool)
			if err != nil {
				return Shape{}, err
			}
			return Shape{x.C, 1, 1}, nil
		},
		Params: noParams,
		Cost: func(op Op, in []Shape, out Shape) Cost {
			n := in[0].Numel()
			return Cost{MACs: n, FVCore: n, FLOPs: n}
		},
	})
	Register(Linear, KindDef{
		Infer: func(op Op, in []Shape) (Shape, error) {
			if _, err := one(in, Linear); err != nil {
				return Shape{}, err
			}
			if op.Out < 1 {
				return Shape{}, fmt.Errorf("linear layer needs at least one output")
			}
			return Shape{op.Out, 1, 1}, nil
		},
		Params: func(op Op, in []Shape) int64 {
			p := in[0].Numel() * int64(op.Out)
			if op.Bias {
				p += int64(op.Out)
			}
			return p
		},
		Cost: func(op Op, in []Shape, out Shape) Cost {
			mul := in[0].Numel() * int64(op.Out)
			// The reference counter adds the bias size unconditionally (it crashes on a
			// linear layer without bias); here the term follows the layer.
			var bias int64
			if op.Bias {
				bias = int64(op.Out)
			}
			return Cost{MACs: mul + bias, FVCore: mul, FLOPs: 2*mul + bias}
		},
	})
	Register(Concat, KindDef{
		Infer: func(op Op, in []Shape) (Shape, error) {
			if len(in) < 2 {
				return Shape{}, fmt.Errorf("concat takes at least 2 inputs, got %d", len(in))
			}
			out := Shape{0, in[0].H, in[0].W}
			for _, s := range in {
				if s.H != out.H || s.W != out.W {
					return Shape{}, fmt.Errorf("concat of maps of different sizes %s and %s", in[0], s)
				}
				out.C += s.C
			}
			return out, nil
		},
		Params: noParams,
		Cost:   func(op Op, in []Shape, out Shape) Cost { return Cost{} },
	})
	Register(Add, KindDef{
		Infer: func(op Op, in []Shape) (Shape, error) {
			if len(in) != 2 {
				return Shape{}, fmt.Errorf("add takes 2 inputs, got %d", len(in))
			}
			if in[0] != in[1] {
				return Shape{}, fmt.Errorf("add of different shapes %s and %s", in[0], in[1])
			}
			return in[0], nil
		},
		Params: noParams,
		Cost:   func(op Op, in []Shape, out Shape) Cost { return Cost{FLOPs: out.Numel()} },
	})
	Register(Resize, KindDef{
		Infer: func(op Op, in []Shape) (Shape, error) {
			x, err := one(in, Resize)
			if err != nil {
				return Shape{}, err
			}
			if op.H < 1 || op.W < 1 {
				return Shape{}, fmt.Errorf("resize to %dx%d", op.H, op.W)
			}
			return Shape{x.C, op.H, op.W}, nil
		},
		Params: noParams,
		Cost: func(op Op, in []Shape, out Shape) Cost {
			c := Cost{FVCore: 4 * out.Numel()} // fvcore counts same-size resizes too
			if in[0] != out {
				c.FLOPs = 7 * out.Numel()
			}
			return c
		},
	})
}
