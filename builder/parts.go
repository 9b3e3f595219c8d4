package builder

import (
	"fmt"

	"github.com/msdx/msdx/graph"
	"github.com/msdx/msdx/spec"
)

func init() {
	RegisterStem(spec.StemMSDNetCIFAR, func(a *Arch, image, channels int) int {
		return a.ConvBasic("stem", image, channels, 3, 1)
	})
	RegisterStem(spec.StemMSDNetImageNet, func(a *Arch, image, channels int) int {
		conv := a.B.Add("stem/conv", graph.Op{Kind: graph.Conv, Out: channels, Kernel: 7, Stride: 2, Pad: 3, Groups: 1, Bias: true}, image)
		x := a.BNAct("stem", conv)
		return a.B.Add("stem/maxpool", graph.Op{Kind: graph.MaxPool, Kernel: 3, Stride: 2, Pad: 1}, x)
	})
	// The author's code (architectures.md §2.3): plain depthwise convs, the 1×1 conv3 acting
	// as conv2's pointwise partner, and a residual from conv1 with no activation after it.
	RegisterStem(spec.StemAddadCode, func(a *Arch, image, channels int) int {
		c1 := a.ConvBasic("stem/conv1", image, channels, 3, stemStride(a))
		c2 := a.Depthwise("stem/conv2", c1, 3, 1)
		c3 := a.ConvBasic("stem/conv3", c2, channels, 1, 1)
		sum := a.B.Add("stem/residual", graph.Op{Kind: graph.Add}, c3, c1)
		return a.Depthwise("stem/conv4", sum, 3, 2)
	})
	// The paper's prose: conv2 and conv4 are depthwise-separable (depthwise then pointwise,
	// each with batch norm and activation).
	RegisterStem(spec.StemAddadSeparable, func(a *Arch, image, channels int) int {
		c1 := a.ConvBasic("stem/conv1", image, channels, 3, stemStride(a))
		c2 := a.ConvBasic("stem/conv2/pointwise", a.Depthwise("stem/conv2/depthwise", c1, 3, 1), channels, 1, 1)
		c3 := a.ConvBasic("stem/conv3", c2, channels, 1, 1)
		sum := a.B.Add("stem/residual", graph.Op{Kind: graph.Add}, c3, c1)
		return a.ConvBasic("stem/conv4/pointwise", a.Depthwise("stem/conv4/depthwise", sum, 3, 2), channels, 1, 1)
	})

	RegisterHead(spec.HeadMSDNetCIFAR,
		func(a *Arch, in int) int { return msdnetHead(a, in, a.Spec.Head.Channels) },
		func(a *Arch, in graph.Shape) error { return checkPooledHead(a, in, a.Spec.Head.Channels) })
	RegisterHead(spec.HeadMSDNetImageNet,
		func(a *Arch, in int) int { return msdnetHead(a, in, a.B.Shape(in).C) },
		func(a *Arch, in graph.Shape) error { return checkPooledHead(a, in, in.C) })
	RegisterHead(spec.HeadAddad, func(a *Arch, in int) int {
		x := a.ConvBasic(headName(a, "conv1"), in, a.Spec.Head.Channels, 3, 2)
		x = a.ConvBasic(headName(a, "conv2"), x, a.Spec.Head.Channels, 1, 1)
		return adaptiveLinear(a, x)
	}, func(*Arch, graph.Shape) error { return nil })
	RegisterHead(spec.HeadAddadImageNet, func(a *Arch, in int) int {
		c := a.B.Shape(in).C
		x := a.ConvBasic(headName(a, "conv1"), in, c, 1, 1)
		x = a.ConvBasic(headName(a, "conv2"), x, c, 1, 1)
		return adaptiveLinear(a, x)
	}, func(*Arch, graph.Shape) error { return nil })
}

func stemStride(a *Arch) int {
	if a.Spec.Stem.Stride > 0 {
		return a.Spec.Stem.Stride
	}
	return 1
}

func headName(a *Arch, part string) string { return fmt.Sprintf("exit%d/%s", a.segment, part) }

// msdnetHead is MSDNet's classifier: two 3×3 stride-2 ConvBasic, a 2×2 average pool and a
// linear layer that expects exactly hidden features.
func msdnetHead(a *Arch, in, hidden int) int {
	x := a.ConvBasic(headName(a, "conv1"), in, hidden, 3, 2)
	x = a.ConvBasic(headName(a, "conv2"), x, hidden, 3, 2)
	x = a.B.Add(headName(a, "avgpool"), graph.Op{Kind: graph.AvgPool, Kernel: 2, Stride: 2}, x)
	return a.B.Add(headName(a, "linear"), graph.Op{Kind: graph.Linear, Out: a.Spec.Classes, Bias: true}, x)
}

// checkPooledHead rejects maps on which MSDNet's head does not end at 1×1: its linear layer
// is sized for hidden features, so PyTorch fails on anything else (architectures.md §2.1,
// rows E8 and E18).
func checkPooledHead(a *Arch, in graph.Shape, hidden int) error {
	down := func(n int) int { return (n-1)/2 + 1 } // 3×3 conv, stride 2, padding 1
	h, w := down(down(in.H)), down(down(in.W))
	// The coarsest map follows from the input size, the stem and the number of scales; the
	// scale list is what users change, so the error points there.
	why := fmt.Sprintf("%d scales on a %dx%d input make the coarsest map %dx%d, but head.kind %q needs it to pool to 1x1 (an 8x8 map on 32x32 inputs, as the reference's 3-scale CIFAR networks have)",
		len(a.Spec.Scales.GrFactor), a.Spec.Input[1], a.Spec.Input[2], in.H, in.W, a.Spec.Head.Kind)
	switch {
	case h < 2 || w < 2:
		return a.Spec.Errorf("scales.gr_factor", "%s: its two stride-2 convs leave %dx%d, too small for its 2x2 average pool; use head.kind = \"addad\" (adaptive pooling) or change the scales", why, h, w)
	case h/2 != 1 || w/2 != 1:
		return a.Spec.Errorf("scales.gr_factor", "%s: it would pool to %dx%d and give %d features to a linear layer built for %d; use head.kind = \"addad\" (adaptive pooling) or change the scales", why, h/2, w/2, hidden*(h/2)*(w/2), hidden)
	}
	return nil
}

func adaptiveLinear(a *Arch, in int) int {
	x := a.B.Add(headName(a, "avgpool"), graph.Op{Kind: graph.AdaptiveAvgPool}, in)
	return a.B.Add(headName(a, "linear"), graph.Op{Kind: graph.Linear, Out: a.Spec.Classes, Bias: true}, x)
}
