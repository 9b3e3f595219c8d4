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
	Sigmoid         Kind = "sigmoid"          // 1/(1+exp(-x))
	ChannelScale    Kind = "channel_scale"    // x·s with s one value per channel (C×1×1), as SE blocks rescale
	MHSA            Kind = "mhsa"             // multi-head self-attention over the H·W positions (FastViT's)
	LayerScale      Kind = "layer_scale"      // x·γ with one learnt γ per channel
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
	// Functional marks an activation applied as a function call (F.gelu, torch.sigmoid)
	// rather than a module: the reference op counters hook modules only, so its MACs are
	// zero (architectures.md §1: the SE block's GELU and sigmoid are not counted).
	Functional bool `json:"functional,omitempty"`
	// HeadDim is the features per head of an MHSA.
	HeadDim int `json:"head_dim,omitempty"`
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
	// Sample is one valid application of the kind (attributes and input shapes): the
	// tests of the executor (package nn) and of the PyTorch export run every registered
	// kind on it, which proves that each kind has its forward, backward and export rules
	// beside the shape, parameter and cost rules here.
	Sample func() (Op, []Shape)
}

var kinds = map[Kind]KindDef{}

// Register adds an op kind. It panics if the kind is registered twice or a rule is missing:
// a kind that cannot be costed must not exist.
func Register(k Kind, d KindDef) {
	if d.Infer == nil || d.Params == nil || d.Cost == nil || d.Sample == nil {
		panic(fmt.Sprintf("graph: op kind %q registered without all of Infer, Params, Cost and Sample", k))
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
		Sample: func() (Op, []Shape) {
			return Op{Kind: Conv, Out: 6, Kernel: 3, Stride: 2, Pad: 1, Groups: 2, Bias: true}, []Shape{{4, 7, 7}}
		},
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
		Sample: func() (Op, []Shape) { return Op{Kind: BatchNorm}, []Shape{{3, 5, 5}} },
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
				if op.Functional {
					return Cost{FLOPs: out.Numel()}
				}
				return Cost{MACs: out.Numel(), FLOPs: out.Numel()}
			},
			Sample: func() (Op, []Shape) { return Op{Kind: k}, []Shape{{3, 4, 4}} },
		}
	}
	Register(ReLU, activation(ReLU))
	Register(GELU, activation(GELU))
	// The sigmoid only appears as a function call (torch.sigmoid), which the reference
	// counters never see: it has no MACs whether or not it is marked Functional.
	Register(Sigmoid, KindDef{
		Infer:  func(op Op, in []Shape) (Shape, error) { return one(in, Sigmoid) },
		Params: noParams,
		Cost: func(op Op, in []Shape, out Shape) Cost {
			return Cost{FLOPs: 4 * out.Numel()} // negate, exp, add, divide
		},
		Sample: func() (Op, []Shape) { return Op{Kind: Sigmoid, Functional: true}, []Shape{{3, 4, 4}} },
	})
	// Self-attention over T = H·W positions of C features: queries, keys and values by a
	// bias-free C→3C linear map, scores and their weighted sum (T²·C multiply-adds each),
	// and a C→C projection with bias. The reference hook counters cannot count it (their
	// linear rule needs a bias and takes every linear layer for an exit, architectures.md
	// §1), so MACs follow fvcore: every multiply-add of the linear maps and the two matrix
	// products, none for the softmax or the bias.
	Register(MHSA, KindDef{
		Infer: func(op Op, in []Shape) (Shape, error) {
			x, err := one(in, MHSA)
			if err != nil {
				return Shape{}, err
			}
			if op.HeadDim < 1 || x.C%op.HeadDim != 0 {
				return Shape{}, fmt.Errorf("mhsa: %d channels do not split into heads of %d", x.C, op.HeadDim)
			}
			return x, nil
		},
		Params: func(op Op, in []Shape) int64 {
			c := int64(in[0].C)
			return 3*c*c + c*c + c
		},
		Cost: func(op Op, in []Shape, out Shape) Cost {
			c, t := int64(in[0].C), int64(in[0].H*in[0].W)
			macs := 4*t*c*c + 2*t*t*c
			heads := c / int64(op.HeadDim)
			return Cost{MACs: macs, FVCore: macs, FLOPs: 2*macs + t*c + 3*heads*t*t}
		},
		Sample: func() (Op, []Shape) { return Op{Kind: MHSA, HeadDim: 2}, []Shape{{4, 3, 3}} },
	})
	// A per-channel product: a module in FastViT's code, but an elementwise multiply, which
	// the reference counters' rules do not cover; it counts as FLOPs only.
	Register(LayerScale, KindDef{
		Infer:  func(op Op, in []Shape) (Shape, error) { return one(in, LayerScale) },
		Params: func(op Op, in []Shape) int64 { return int64(in[0].C) },
		Cost:   func(op Op, in []Shape, out Shape) Cost { return Cost{FLOPs: out.Numel()} },
		Sample: func() (Op, []Shape) { return Op{Kind: LayerScale}, []Shape{{3, 4, 4}} },
	})
	Register(ChannelScale, KindDef{
		Infer: func(op Op, in []Shape) (Shape, error) {
			if len(in) != 2 {
				return Shape{}, fmt.Errorf("channel_scale takes 2 inputs (a map and its per-channel scales), got %d", len(in))
			}
			if in[1] != (Shape{in[0].C, 1, 1}) {
				return Shape{}, fmt.Errorf("channel_scale of a %s map by %s scales; want %dx1x1", in[0], in[1], in[0].C)
			}
			return in[0], nil
		},
		Params: noParams,
		// A product, which the reference counters do not see (a function call).
		Cost:   func(op Op, in []Shape, out Shape) Cost { return Cost{FLOPs: out.Numel()} },
		Sample: func() (Op, []Shape) { return Op{Kind: ChannelScale}, []Shape{{3, 4, 4}, {3, 1, 1}} },
	})
	pool := func(k Kind) KindDef {
		return KindDef{
			Sample: func() (Op, []Shape) { return Op{Kind: k, Kernel: 3, Stride: 2, Pad: 1}, []Shape{{2, 7, 7}} },
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
		Sample: func() (Op, []Shape) { return Op{Kind: AdaptiveAvgPool}, []Shape{{3, 5, 5}} },
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
		Sample: func() (Op, []Shape) { return Op{Kind: Linear, Out: 4, Bias: true}, []Shape{{3, 2, 2}} },
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
		Sample: func() (Op, []Shape) { return Op{Kind: Concat}, []Shape{{2, 4, 4}, {3, 4, 4}} },
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
		Sample: func() (Op, []Shape) { return Op{Kind: Add}, []Shape{{3, 4, 4}, {3, 4, 4}} },
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
		Sample: func() (Op, []Shape) { return Op{Kind: Resize, H: 7, W: 7}, []Shape{{2, 4, 4}} },
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
