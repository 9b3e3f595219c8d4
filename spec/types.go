package spec

// Spec is one multi-exit architecture, fully resolved: every field holds a value (defaults are
// filled in by Load), so two Specs that describe the same network compare equal.
//
// The TOML keys are the snake_case names in the toml tags. Field paths in errors and in
// --set overrides use the same keys joined by dots, e.g. "scales.gr_factor" or "head.channels".
type Spec struct {
	// Name is a short identifier, shown in reports. Free text, never interpreted.
	Name string `toml:"name" json:"name"`
	// Description is free text.
	Description string `toml:"description,omitempty" json:"description,omitempty"`
	// Extends names a preset this spec starts from; keys given here override the preset's.
	// It is empty in a resolved Spec.
	Extends string `toml:"extends,omitempty" json:"extends,omitempty"`

	// Input is the input image shape (channels, height, width), e.g. [3, 32, 32].
	Input [3]int `toml:"input" json:"input"`
	// Classes is the number of output classes of every exit.
	Classes int `toml:"classes" json:"classes"`
	// Activation is the nonlinearity after every batch norm: "relu" or "gelu".
	Activation string `toml:"activation" json:"activation"`

	// Channels is the base channel count C0 (MSDNet/RANet nChannels).
	Channels int `toml:"channels" json:"channels"`
	// Growth is the growth rate g (new channels per layer at width factor 1).
	Growth int `toml:"growth" json:"growth"`
	// Reduction is the transition compression factor: a transition maps c channels to
	// floor(reduction·c). 0 disables transitions; any other finite value >= 0 keeps them,
	// so 1 gives same-width 1x1 convs and more than 1 widens, as in the references.
	Reduction float64 `toml:"reduction" json:"reduction"`
	// Bottleneck puts a 1x1 bottleneck conv before each 3x3 conv of a layer.
	Bottleneck bool `toml:"bottleneck" json:"bottleneck"`

	// Scales is the [scales] table: the parallel resolutions and their widths.
	Scales Scales `toml:"scales" json:"scales"`
	// Blocks is the [blocks] table: how layers group into blocks, one exit per block.
	Blocks Blocks `toml:"blocks" json:"blocks"`
	// Fusion is the [fusion] table: how features move between scales.
	Fusion Fusion `toml:"fusion" json:"fusion"`
	// Stem is the [stem] table: the first layer's treatment of the image.
	Stem Stem `toml:"stem" json:"stem"`
	// Head is the [head] table: the classifier at every exit.
	Head Head `toml:"head" json:"head"`

	// Origin records where each field's value came from (file and line), so that later
	// stages can report a problem against the line that caused it; see Spec.Errorf.
	// It is nil for a Spec built in code, and never part of the canonical form or hash.
	Origin *Origin `toml:"-" json:"-"`
}

// Scales describes the parallel resolutions (MSDNet scales, RANet flows).
type Scales struct {
	// GrFactor is the width multiplier of each scale (MSDNet grFactor), finest first for
	// MSDNet; for RANet one entry per flow in flow order.
	GrFactor []int `toml:"gr_factor" json:"gr_factor"`
	// BnFactor is the bottleneck width multiplier of each scale (MSDNet bnFactor).
	BnFactor []int `toml:"bn_factor" json:"bn_factor"`
	// Resolution is RANet's scale_list: one entry per flow, 1 = lowest resolution, equal
	// numbers mean equal resolution. Only used by the "ranet" fusion rule.
	Resolution []int `toml:"resolution,omitempty" json:"resolution,omitempty"`
}

// Blocks describes how the layers are grouped into blocks, each ending in an exit.
type Blocks struct {
	// Count is the number of blocks (MSDNet nBlocks = number of exits; RANet nBlocks of
	// flow 0).
	Count int `toml:"count" json:"count"`
	// Base is the number of layers in block 1 (MSDNet only).
	Base int `toml:"base" json:"base"`
	// Step is the layer step between blocks (see StepMode).
	Step int `toml:"step" json:"step"`
	// StepMode is "even" (every later block has Step layers), "lin_grow" (MSDNet: block i+1
	// has Step*i+1 layers) or "lg" (RANet: block j has Step*j layers).
	StepMode string `toml:"step_mode" json:"step_mode"`
	// BlockStep is RANet's block_step: extra blocks in each further flow.
	BlockStep int `toml:"block_step,omitempty" json:"block_step,omitempty"`
	// Attention replaces the last block by the attention block of the code of Addad et al.
	// (architectures.md §2.3): on the first scale that remains, a 3×3 conv with batch norm
	// and activation to AttentionWidth·gr of the coarsest scale, a 7×7 depthwise positional
	// conv with bias added to it, then blocks.step FastViT attention blocks (batch norm,
	// multi-head self-attention with AttentionHeadDim features per head, layer scale 1e-5,
	// residual; a 7×7 depthwise conv with batch norm, a 1×1 conv to twice the width with
	// GELU and a 1×1 conv back, layer scale, residual). The last exit reads it.
	Attention bool `toml:"attention,omitempty" json:"attention,omitempty"`
	// AttentionWidth is the running channel count c of the attention block (96 in the
	// author's code, the default).
	AttentionWidth int `toml:"attention_width,omitempty" json:"attention_width,omitempty"`
}

// AttentionHeadDim is the features per head of the attention block's self-attention, as
// in the code of Addad et al.
const AttentionHeadDim = 6

// Fusion says how features move between scales: a declared wiring (a shipped one by name,
// a part file, or units written here) or RANet's registered rule.
type Fusion struct {
	// Rule names a shipped wiring ("msdnet", "dense"), RANet's rule ("ranet") or, in a
	// file or --set, a fusion part file (a path); it is empty when Units are written
	// here. A part file is read when the spec is resolved: the resolved spec holds its
	// wiring in DropFiner and Units.
	Rule string `toml:"rule,omitempty" json:"rule,omitempty"`
	// Prune is the MSDNet scale-pruning schedule: "max" or "min".
	Prune string `toml:"prune,omitempty" json:"prune,omitempty"`
	// CompressFactor is RANet's compress_factor: the share of new channels that comes from
	// the lower-resolution flow.
	CompressFactor float64 `toml:"compress_factor,omitempty" json:"compress_factor,omitempty"`
	// DropFiner and Units are a wiring declared in the spec (see Wiring).
	DropFiner bool   `toml:"drop_finer,omitempty" json:"drop_finer,omitempty"`
	Units     []Unit `toml:"units,omitempty" json:"units,omitempty"`
	// SE puts a squeeze-excitation block on the input of every unit of a declared wiring,
	// as the code of Addad et al. can (architectures.md §2.3).
	SE bool `toml:"se,omitempty" json:"se,omitempty"`
	// SEHidden is the SE blocks' hidden width, an Expr of "new" (the scale's new channels
	// g·gr[s]), "out" (the unit's channels) and "in" (the unit's input channels); the
	// author's code uses "new//2", the default.
	SEHidden Expr `toml:"se_hidden,omitempty" json:"se_hidden,omitempty"`
}

// Stem is the first layer's treatment of the raw image on the finest scale: a list of
// layers that turns the image into the finest scale's features.
type Stem struct {
	// Kind names a shipped stem ("msdnet-cifar", "msdnet-imagenet", "addad-code",
	// "addad-separable"; see ShippedParts) or, in a file or --set, a stem part file (a
	// path); it is empty when Layers are written here. A part file is read when the spec
	// is resolved: the resolved spec holds its layers.
	Kind string `toml:"kind,omitempty" json:"kind,omitempty"`
	// Stride is the value of "stem.stride" in the stem's layers (the addad stems' first
	// conv: 1 on CIFAR, 2 on ImageNet); only stems that use it take it.
	Stride int `toml:"stride,omitempty" json:"stride,omitempty"`
	// Layers declare the stem here; its widths may use "width" (the finest scale's
	// channels, which the stem must end with), "in", "channels", "growth", "classes" and
	// "stem.stride".
	Layers []Layer `toml:"layers,omitempty" json:"layers,omitempty"`
}

// Head is the classifier attached at every exit, on the coarsest remaining scale: a list of
// layers ending in the linear layer that gives the exit's logits.
type Head struct {
	// Kind names a shipped head ("msdnet-cifar", "msdnet-imagenet", "addad",
	// "addad-imagenet") or a head part file, as Stem.Kind does.
	Kind string `toml:"kind,omitempty" json:"kind,omitempty"`
	// Channels is the value of "head.channels" in the head's layers (128 in the
	// references); only heads that use it take it.
	Channels int `toml:"channels,omitempty" json:"channels,omitempty"`
	// Layers declare the head here; its widths may use "width" (the head's input
	// channels), "in", "channels", "growth", "classes" and "head.channels".
	Layers []Layer `toml:"layers,omitempty" json:"layers,omitempty"`
}

// Fusion rules.
const (
	// RuleMSDNet is MSDNet's wiring: a down unit reads the finer scale's input of this layer
	// (the shipped wiring spec/parts/fusion/msdnet.toml).
	RuleMSDNet = "msdnet"
	// RuleDense is the fusion of Addad et al.: a down unit reads the finer scale's updated
	// output of the same layer, and the first kept scale is normal-only even at a drop layer
	// (spec/parts/fusion/dense.toml).
	RuleDense = "dense"
	// RuleRANet is RANet's resolution-adaptive wiring: flows from low to high resolution,
	// each fusing the lower-resolution flow's features by bilinear upsampling. It stays a
	// rule registered in Go (package builder): its flows of different depths, pairing
	// layer k of a block with layer k of the lower flow's block, do not fit the per-scale,
	// per-layer units of a Wiring.
	RuleRANet = "ranet"
)

// Stem kinds.
const (
	StemMSDNetCIFAR    = "msdnet-cifar"    // 3x3 conv, BN, act
	StemMSDNetImageNet = "msdnet-imagenet" // 7x7 s2 conv with bias, BN, act, 3x3 s2 max-pool
	StemAddadCode      = "addad-code"      // the author's code: 3x3, 3x3 dw, 1x1 (+conv1), 3x3 dw s2
	StemAddadSeparable = "addad-separable" // the paper's prose: depthwise-separable convs
)

// Head kinds.
const (
	HeadMSDNetCIFAR    = "msdnet-cifar"    // 3x3 s2 conv, 3x3 s2 conv, avg-pool 2, linear
	HeadMSDNetImageNet = "msdnet-imagenet" // as msdnet-cifar at the input width
	HeadAddad          = "addad"           // 3x3 s2 conv, 1x1 conv, adaptive avg-pool, linear
	HeadAddadImageNet  = "addad-imagenet"  // two 1x1 convs at the input width, adaptive pool, linear
)
