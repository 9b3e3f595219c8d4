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
// file's base name without extension (a preset's name for a preset); stem.stride is 1 for the addad stems (use 2 on ImageNet);
// head.channels is 128 for the "msdnet-cifar" and "addad" heads and absent for the ImageNet
// heads, which work at their input width.
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
// # Canonical form and hash
//
// Canonical writes a resolved spec as TOML with a fixed key order, every value explicit and no
// extends. Hash is the SHA-256 of the canonical form without name and description, so it
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
