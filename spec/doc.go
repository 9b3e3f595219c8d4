// Package spec is msdx's language for multi-exit image classifiers: a TOML schema that
// describes an MSDNet, a RANet or the fusion/stem model of Addad et al. (2023), the built-in
// presets that reproduce the reference configurations, command-line overrides, and a
// canonical form with a content hash.
//
// # Files
//
// A spec is a TOML document whose keys are the toml tags of Spec, e.g.
//
//	extends = "msdnet-cifar10-anytime"
//	name = "wider"
//	channels = 32
//
//	[blocks]
//	count = 6
//
// Load, Parse and Resolve return a fully resolved Spec: every field holds a value. Unknown
// keys, values of the wrong type, values out of range and inconsistent combinations are all
// reported at once, as an ErrorList whose entries name the file, line and field
// ("spec.toml:12: blocks.step_mode: "odd" is not one of "even", "lin_grow""). A syntax error
// stops the parse, so it is reported alone.
//
// # Sources and their order
//
// Values come, lowest first, from: the defaults for the spec's fusion rule; the preset named
// by extends (which may itself extend another preset), taking only the keys the preset file
// writes, and not its name and description; the spec file; and the --set overrides, in order. An override is "path=value" with
// a dotted path ("blocks.count=8", "scales.gr_factor=1-2-4", "input=3x64x64"); its value is
// read as the field's type: integers, numbers, true/false, strings (bare or quoted), integer
// lists as "1-2-4", "1,2,4" or "[1,2,4]", the input shape as "3x32x32" or "[3,32,32]". An
// empty value ("fusion.prune=") removes the key, so that the default applies again. Lists
// of integers may also be written in files as strings in the reference repos' style:
// gr_factor = "1-2-4".
//
// # Defaults
//
// Every field but name has a default: keys that no source writes take the reference
// repositories' argparse defaults, listed below per fusion rule. The name has none of its
// own: a spec must write name, or extend a preset (then the name, when left out, is the
// file's base name). A file that writes neither, such as an empty one, is an error
// ("FILE: name: a spec needs a name (or extends = "PRESET")"), so that a mistyped or empty
// file is not silently taken for the reference MSDNet. An empty name is an error too.
//
// For the "msdnet" and "dense" rules (kalviny MSDNet-PyTorch): input [3, 32, 32], classes 10,
// activation "relu", channels 32, growth 6, reduction 0.5, bottleneck true, scales.gr_factor
// and scales.bn_factor [1, 2, 4], blocks.count 1, blocks.base 4, blocks.step 1,
// blocks.step_mode "even" (the repo has no default; every script passes one), fusion.prune
// "max", stem.kind "msdnet-cifar", head.kind "msdnet-cifar" with head.channels 128.
//
// For the "ranet" rule (yangle15 RANet-pytorch): as above, but channels 16,
// scales.gr_factor and scales.bn_factor [4, 2, 1, 1] and scales.resolution [1, 2, 3, 3]
// (train_cifar.sh's values, so that a bare ranet spec is the R1 configuration; RANet's
// argparse defaults are 4-2-1 and 1-2-3, which "msdx spec from-args" uses), blocks.count 2,
// blocks.block_step 2, blocks.step 4 (RANet's argparse default, and train_cifar.sh's),
// blocks.step_mode "even", fusion.compress_factor 0.25; no blocks.base and no fusion.prune.
//
// Further defaults depend on other fields: name, in a spec that extends a preset, is the
// file's base name without extension (a preset's name for a preset); stem.stride is 1 for
// the stems whose layers use it (the addad stems; use 2 on ImageNet); head.channels is 128
// for the heads whose layers use it ("msdnet-cifar" and "addad") and absent for the others
// (the ImageNet heads work at their input width). A stem.stride or head.channels that a
// lower source (a preset) wrote for a part that a higher source replaced, and that the new
// part does not use, is dropped.
//
// # Validation
//
// Besides types and ranges (see the Max constants), a spec must be consistent: gr_factor and
// bn_factor have one entry per scale; scales.resolution is given exactly with the ranet rule,
// with one entry per flow, starting at 1 and rising by 0 or 1; step_mode is "even" or
// "lin_grow" for msdnet and dense, "even" or "lg" for ranet; fusion.prune ("max" or "min")
// and blocks.base belong to msdnet and dense, blocks.block_step and fusion.compress_factor
// (strictly between 0 and 1) to ranet; stem.stride belongs to the addad stems (1 or 2), which
// the ranet rule does not use; head.channels belongs to the heads that have their own width.
// With msdnet and dense wiring growth*gr_factor[s] must be even on every scale but the first,
// as the reference code breaks otherwise (architectures.md §2.1).
//
// reduction is any finite number >= 0, as the references accept it. It scales the running
// channel count c at every transition (MSDNet's scale-drop layers, or L/3 and 2L/3 with
// prune "min"; RANet's blocks b = floor(i·n/s)) to floor(reduction·c): 0.5, the default,
// halves it; 1 keeps the width, with the transitions' 1x1 convs still there (and counted);
// more than 1 widens the network. 0 removes the transitions. Because the count depends on
// the layer schedule, the builder rejects a reduction that leaves a transition no channels
// (e.g. "reduction: 0.01 gives floor(0.01*34) = 0 channels at the transition after layer 3
// (block 2)") or more than 2^20 channels on a scale (builder.MaxTransitionWidth).
//
// Checks that need the built network's shapes, such as the MSDNet CIFAR head's need for an
// 8x8 coarsest map, are left to the builder, which reports them with Spec.Errorf so that they
// too name the file, line and field.
//
// # Declared parts: stems, heads and fusion wirings
//
// A stem, a head and an MSDNet-family fusion wiring are data, not Go code. stem.kind,
// head.kind and fusion.rule name a shipped part (the files in spec/parts/: the stems
// "msdnet-cifar", "msdnet-imagenet", "addad-code", "addad-separable"; the heads
// "msdnet-cifar", "msdnet-imagenet", "addad", "addad-imagenet"; the wirings "msdnet" and
// "dense"), or, written as a path (with a "/" or ending in ".toml"), a part file relative
// to the spec file's directory (the working directory for --set). A spec may also declare
// the part itself: [[stem.layers]], [[head.layers]] or [[fusion.units]] tables (with
// fusion.drop_finer), instead of the kind or rule. fusion.rule = "ranet" stays RANet's rule,
// registered in Go: its flows of different depths, pairing layer k of a block with layer k
// of the lower flow's block, would distort the per-scale, per-layer language of wirings.
//
// A part file is a TOML document with part = "stem", "head" or "fusion", an optional
// description, and the part's layers or units:
//
//	part = "stem"
//	description = "3x3 conv, then a depthwise-separable 3x3 with a residual"
//
//	[[layers]]
//	name = "conv1"
//	op = "conv"
//	out = "width"
//	kernel = 3
//
//	[[layers]]
//	name = "dw"
//	op = "conv"
//	depthwise = true
//	kernel = 3
//
//	[[layers]]
//	name = "pw"
//	op = "conv"
//	out = "width"
//	kernel = 1
//
//	[[layers]]
//	name = "residual"
//	op = "add"
//	from = "conv1"
//
// Layers come from the layer registry (LayerOps): conv (out, kernel, stride 1, padding
// kernel//2, groups 1 or depthwise = true, bias false, norm "bn" or "none", act), bn (batch
// norm and activation), maxpool and avgpool (kernel, stride = kernel, padding 0),
// adaptive_avgpool, linear (out = classes, bias true, in: the features it is built for,
// checked), add (from: an earlier layer's name, added to the previous layer's output) and se
// (squeeze-excitation with a hidden width). act is the spec's activation unless "relu",
// "gelu" or "none". A layer's nodes are named PART/NAME/... (stem/conv1/conv, exit3/linear),
// which are also its parameter names. Widths and sizes are integers or expressions (Expr)
// of "width" (the finest scale's channels for a stem, which it must end with; the input
// channels for a head), "in" (the layer's input channels), "channels", "growth",
// "classes", "stem.stride" and "head.channels", with + - * / // and parentheses; each is
// checked to be whole and at least 1 (padding at least 0). A head ends with the linear
// layer that gives the exit's logits. stem.stride and head.channels apply to the parts whose
// layers read them (default 1 and 128).
//
// A wiring (fusion part) lists the units that make each kept scale's g·gr[s] new channels,
// concatenated in order: from "self", "finer" (s-1, stride 2), "finer2" (s-2, stride 4) or
// "coarser" (s+1, run at its resolution and bilinearly upsampled); state "input" (as the
// source entered the layer) or "output" (as this layer updated it); weight (its share of the
// new channels among the units that can run on the scale, which must split them into whole
// shares); window (read only the last N layers' features of the source); bottleneck
// ("source" or "target" scale's bn_factor, or "none"); kernel; name. drop_finer says
// whether the first kept scale of a scale-drop layer reads the dropped scale (MSDNet) or not
// (the fusion of Addad et al.). Transitions follow fusion.prune and reduction as before.
// fusion.se = true puts the SE block of the code of Addad et al. on every unit's input
// (hidden width fusion.se_hidden, default "new//2"; Wiring, Unit). blocks.attention = true
// replaces the last block by that code's attention block (Blocks.Attention), with
// blocks.attention_width (default 96) as its running channel count.
//
// Problems with a declaration (an unknown op or argument, a reference to a layer that does
// not exist or comes later, a width that is not whole or below 1, a kernel larger than its
// input, unequal shapes at an add, shares that are not whole) are reported with the file,
// line and field that caused them, the part file's when the part comes from one: the spec's
// own checks at load time, the ones that need shapes when the builder builds it, before
// anything trains.
//
// # Canonical form and hash
//
// Canonical writes a resolved spec as TOML with a fixed key order, every value explicit and no
// extends. Shipped parts stay named (so the canonical form and hash of every spec that only
// names shipped parts are what they were before parts became data); parts from part files
// or declared in the spec are written inline (stem.layers, head.layers, fusion.units), so
// the hash follows their content, not their file names. Hash is the SHA-256 of the canonical form without name and description, so it
// identifies the architecture: reformatting a file, reordering its keys, writing a default
// explicitly, using extends or renaming the spec leave it unchanged; changing any
// architectural field changes it.
//
// # Presets
//
// The presets (Presets, Preset, and the files in the repository's examples/) reproduce the
// rows of architectures.md §4; each one's description names the row and says whether it
// follows the reference code or the paper's prose.
package spec
