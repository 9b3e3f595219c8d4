// Package refargs turns the command line of a reference repository's main.py — kalviny's
// MSDNet-PyTorch (--arch msdnet) or yangle15's RANet-pytorch (--arch RANet) — into the msdx
// spec of the network that command builds, so that a user can paste what they ran.
//
// The line is read as that repository's argparse parser reads it (architectures.md §3):
// its own option names, long options abbreviated to any unique prefix, "--opt value" or
// "--opt=value", the last occurrence winning, and its argparse defaults filling in every
// option not given. Options that do not change the network (--epochs, --lr, --save, -j,
// --use-valid, ...) are accepted and listed as ignored; unknown options and bad values are
// errors, as argparse makes them. Where the reference does something a reader might not
// expect, the result says so in Notes: MSDNet without --stepmode builds the lin_grow
// schedule, and --bottleneck, parsed with type=bool, is true for any non-empty value.
package refargs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/data"
	"github.com/msdx/msdx/spec"
)

// Reference architectures, as --arch names them.
const (
	ArchMSDNet = "msdnet"
	ArchRANet  = "RANet"
)

// Datasets, as --data names them.
const (
	DataCIFAR10  = "cifar10"
	DataCIFAR100 = "cifar100"
	DataImageNet = "ImageNet"
)

// Command is a reference command line, parsed and translated.
type Command struct {
	// Arch is ArchMSDNet or ArchRANet, and Data the --data value.
	Arch string
	Data string
	// Args is the command line as given.
	Args []string
	// Values holds every architecture option of the repository's parser after defaults,
	// keyed by its first long name ("--nBlocks"), as the strings argparse would have read.
	Values map[string]string
	// Ignored lists the options given that do not change the network, as written.
	Ignored []string
	// Notes say where the reference builds something other than a reader might expect.
	Notes []string
	// Spec is the network, resolved and validated; its name is NAME-DATA-args unless
	// Parse was given one.
	Spec *spec.Spec
}

// Repository names the repository whose parser and model code a command line is for.
func (c *Command) Repository() string {
	if c.Arch == ArchRANet {
		return "yangle15/RANet-pytorch"
	}
	return "kalviny/MSDNet-PyTorch"
}

// option is one argparse option of a reference parser.
type option struct {
	names   []string // long and short spellings, the first long one naming it
	flag    bool     // store_true: takes no value
	def     string   // default ("" and hasDef false: None)
	hasDef  bool
	kind    byte // 'i' int, 'f' float, 's' string, 'b' Python bool(str)
	choices []string
	arch    bool // changes the network
}

func opt(kind byte, def string, names ...string) option {
	return option{names: names, def: def, hasDef: true, kind: kind}
}

func (o option) archOpt() option                  { o.arch = true; return o }
func (o option) oneOf(choices ...string) option   { o.choices = choices; return o }
func (o option) noDefault() option                { o.hasDef = false; o.def = ""; return o }
func flag(names ...string) option                 { return option{names: names, flag: true, kind: 's'} }
func (o option) String() string                   { return o.names[0] }
func (c *Command) value(name string) string       { return c.Values[name] }
func (c *Command) intValue(name string) (v int)   { v, _ = strconv.Atoi(c.Values[name]); return v }
func (c *Command) floatValue(name string) float64 { v, _ := parseFloat(c.Values[name]); return v }

// Options shared by both parsers (their exp, data and optimization groups differ only in
// defaults that do not touch the network).
func commonOptions() []option {
	return []option{
		opt('s', "", "--save"),
		flag("--resume"),
		opt('s', "", "--evaluate-from"),
		opt('i', "10", "--print-freq", "-p"),
		opt('i', "0", "--seed"),
		opt('s', "", "--gpu"),
		opt('s', DataCIFAR10, "--data").oneOf(DataCIFAR10, DataCIFAR100, DataImageNet).archOpt(),
		opt('s', "data", "--data-root"),
		flag("--use-valid"),
		opt('i', "4", "--workers", "-j"),
		opt('f', "0.5", "--reduction").archOpt(),
		opt('i', "300", "--epochs"),
		opt('i', "0", "--start-epoch"),
		opt('i', "64", "--batch-size", "-b"),
		opt('s', "sgd", "--optimizer").oneOf("sgd", "rmsprop", "adam"),
		opt('f', "0.1", "--lr", "--learning-rate"),
		opt('s', "multistep", "--lr-type").oneOf("cosine", "multistep"),
		opt('f', "0.1", "--decay-rate"),
		opt('f', "0.9", "--momentum"),
		opt('f', "1e-4", "--weight-decay", "--wd"),
	}
}

// msdnetOptions is kalviny/MSDNet-PyTorch's args.py (HEAD f654595).
func msdnetOptions() []option {
	return append(commonOptions(),
		opt('s', "", "--evalmode").oneOf("anytime", "dynamic"),
		opt('s', ArchMSDNet, "--arch", "-a").oneOf(ArchMSDNet),
		opt('i', "1", "--nBlocks").archOpt(),
		opt('i', "32", "--nChannels").archOpt(),
		opt('i', "4", "--base").archOpt(),
		opt('s', "", "--stepmode").oneOf(spec.StepEven, spec.StepLinGrow).noDefault().archOpt(),
		opt('i', "1", "--step").archOpt(),
		opt('i', "6", "--growthRate").archOpt(),
		opt('s', "1-2-4", "--grFactor").archOpt(),
		opt('s', "max", "--prune").oneOf(spec.PruneMin, spec.PruneMax).archOpt(),
		opt('s', "1-2-4", "--bnFactor").archOpt(),
		opt('b', "True", "--bottleneck").archOpt(),
	)
}

// ranetOptions is yangle15/RANet-pytorch's args.py (HEAD be0f25a).
func ranetOptions() []option {
	return append(commonOptions(),
		opt('s', "", "--evalmode").oneOf("anytime", "dynamic", "both"),
		opt('s', ArchRANet, "--arch"),
		opt('i', "2", "--nBlocks").archOpt(),
		opt('i', "16", "--nChannels").archOpt(),
		opt('i', "6", "--growthRate").archOpt(),
		opt('s', "4-2-1", "--grFactor").archOpt(),
		opt('s', "4-2-1", "--bnFactor").archOpt(),
		opt('i', "2", "--block-step").archOpt(),
		opt('s', "1-2-3", "--scale-list").archOpt(),
		opt('f', "0.25", "--compress-factor").archOpt(),
		opt('i', "4", "--step").archOpt(),
		opt('s', spec.StepEven, "--stepmode").oneOf(spec.StepEven, spec.StepLG).archOpt(),
		flag("--bnAfter"), // parsed, never read by the model
	)
}

// findArch returns the --arch value of args, read before the parser is known.
func findArch(args []string) (string, error) {
	arch, found := "", false
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		isArch := a == "-a" || (len(name) >= 4 && strings.HasPrefix("--arch", name))
		switch {
		case strings.HasPrefix(a, "-a") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			arch, found = a[2:], true
		case isArch && hasVal && strings.HasPrefix(a, "--"):
			arch, found = val, true
		case isArch && !hasVal:
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s: expected one argument", a)
			}
			arch, found = args[i+1], true
			i++
		}
	}
	if !found {
		return "", errors.New("no --arch: give --arch msdnet (kalviny/MSDNet-PyTorch) or --arch RANet (yangle15/RANet-pytorch), which says whose arguments these are")
	}
	return arch, nil
}

// Parse reads a reference command line (the arguments after main.py) and translates it.
// name names the spec; empty gives "ARCH-DATA-args".
func Parse(args []string, name string) (*Command, error) {
	arch, err := findArch(args)
	if err != nil {
		return nil, err
	}
	var opts []option
	switch arch {
	case ArchMSDNet:
		opts = msdnetOptions()
	case ArchRANet:
		opts = ranetOptions()
	default:
		return nil, fmt.Errorf("--arch %q: msdx reads the command lines of --arch msdnet (kalviny/MSDNet-PyTorch) and --arch RANet (yangle15/RANet-pytorch)", arch)
	}
	c := &Command{Arch: arch, Args: slices.Clone(args), Values: map[string]string{}}
	given, err := parseArgs(opts, args, c)
	if err != nil {
		return nil, fmt.Errorf("%s arguments: %w", c.Repository(), err)
	}
	for _, o := range opts {
		if !o.arch {
			continue
		}
		if v, ok := given[o.String()]; ok {
			c.Values[o.String()] = v
		} else if o.hasDef {
			c.Values[o.String()] = o.def
		}
	}
	c.Data = c.value("--data")
	s, err := c.translate(given)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = fmt.Sprintf("%s-%s-args", strings.ToLower(arch), strings.ToLower(c.Data))
	}
	s.Name = name
	s.Description = fmt.Sprintf("From the %s command line %q; its argparse defaults fill the rest.", c.Repository(), strings.Join(args, " "))
	if err := s.Validate(); err != nil {
		return nil, c.optionErrors(err)
	}
	// Building rejects what cannot run, as the reference's forward pass fails on it
	// (architectures.md §2.1: the CIFAR head needs an 8x8 coarsest map).
	if _, err := builder.Build(s); err != nil {
		return nil, fmt.Errorf("the network of these arguments cannot run: %w", c.optionErrors(err))
	}
	c.Spec = s
	return c, nil
}

// parseArgs reads args as argparse does with opts, returning the values given by first long
// name, and records the options that do not change the network in c.Ignored.
func parseArgs(opts []option, args []string, c *Command) (map[string]string, error) {
	byName := map[string]*option{}
	var longs []string
	for i := range opts {
		for _, n := range opts[i].names {
			byName[n] = &opts[i]
			if strings.HasPrefix(n, "--") {
				longs = append(longs, n)
			}
		}
	}
	given := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			return nil, fmt.Errorf("unrecognized argument %q: the reference parsers take no positional arguments", a)
		}
		var o *option
		val, hasVal := "", false
		if strings.HasPrefix(a, "--") {
			name, v, ok := strings.Cut(a, "=")
			val, hasVal = v, ok
			if o = byName[name]; o == nil {
				var matches []string
				for _, l := range longs {
					if strings.HasPrefix(l, name) {
						matches = append(matches, l)
					}
				}
				switch len(matches) {
				case 0:
					return nil, fmt.Errorf("unrecognized argument %s", name)
				case 1:
					o = byName[matches[0]]
				default:
					return nil, fmt.Errorf("ambiguous option %s could match %s", name, strings.Join(matches, ", "))
				}
			}
		} else {
			if o = byName[a[:2]]; o == nil {
				return nil, fmt.Errorf("unrecognized argument %s", a)
			}
			if len(a) > 2 {
				val, hasVal = strings.TrimPrefix(a[2:], "="), true
			}
		}
		written := a
		if o.flag {
			if hasVal {
				return nil, fmt.Errorf("%s: ignored explicit argument %q (it is a flag)", o, val)
			}
			given[o.String()] = "True"
		} else {
			if !hasVal {
				if i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") && !isNumber(args[i+1]) {
					return nil, fmt.Errorf("%s: expected one argument", o)
				}
				i++
				val = args[i]
				written += " " + val
			}
			if err := checkValue(o, val); err != nil {
				return nil, err
			}
			given[o.String()] = val
		}
		if !o.arch && o.String() != "--arch" {
			c.Ignored = append(c.Ignored, written)
		}
	}
	return given, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func checkValue(o *option, v string) error {
	switch o.kind {
	case 'i':
		if _, err := strconv.Atoi(strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("%s: invalid int value: %q", o, v)
		}
	case 'f':
		if _, err := parseFloat(v); err != nil {
			return fmt.Errorf("%s: invalid float value: %q", o, v)
		}
	}
	if o.choices != nil && !slices.Contains(o.choices, v) {
		return fmt.Errorf("%s: invalid choice: %q (choose from %s)", o, v, strings.Join(o.choices, ", "))
	}
	return nil
}

func parseFloat(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid float value: %q", v)
	}
	return f, nil
}

// intList parses a reference factor list, "1-2-4", as args.py does (int of each part).
func (c *Command) intList(name string) ([]int, error) {
	v := c.value(name)
	var out []int
	for _, p := range strings.Split(v, "-") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("%s %q: want integers joined by '-', such as 1-2-4", name, v)
		}
		out = append(out, n)
	}
	return out, nil
}

// translate builds the spec the reference model code builds from the parsed values.
func (c *Command) translate(given map[string]string) (*spec.Spec, error) {
	s := &spec.Spec{
		Activation: spec.ActReLU,
		Channels:   c.intValue("--nChannels"),
		Growth:     c.intValue("--growthRate"),
		Reduction:  c.floatValue("--reduction"),
		Bottleneck: true,
		Stem:       spec.Stem{Kind: spec.StemMSDNetCIFAR},
		Head:       spec.Head{Kind: spec.HeadMSDNetCIFAR, Channels: 128},
	}
	switch c.Data {
	case DataCIFAR10:
		s.Input, s.Classes = [3]int{3, 32, 32}, 10
	case DataCIFAR100:
		s.Input, s.Classes = [3]int{3, 32, 32}, 100
	case DataImageNet:
		s.Input, s.Classes = [3]int{3, 224, 224}, 1000
		s.Stem.Kind = spec.StemMSDNetImageNet
		s.Head = spec.Head{Kind: spec.HeadMSDNetImageNet}
	}
	var err error
	if s.Scales.GrFactor, err = c.intList("--grFactor"); err != nil {
		return nil, err
	}
	if s.Scales.BnFactor, err = c.intList("--bnFactor"); err != nil {
		return nil, err
	}
	s.Blocks = spec.Blocks{Count: c.intValue("--nBlocks"), Step: c.intValue("--step"), StepMode: c.value("--stepmode")}
	if c.Arch == ArchMSDNet {
		s.Blocks.Base = c.intValue("--base")
		s.Fusion = spec.Fusion{Rule: spec.RuleMSDNet, Prune: c.value("--prune")}
		if s.Blocks.StepMode == "" {
			// models/msdnet.py tests stepmode == 'even' and builds step*i+1 layers otherwise.
			s.Blocks.StepMode = spec.StepLinGrow
			c.Notes = append(c.Notes, "no --stepmode: the reference builds the lin_grow schedule (block i+1 has step*i+1 layers), as models/msdnet.py does when stepmode is not 'even'")
		}
		if b, ok := given["--bottleneck"]; ok {
			// args.py parses --bottleneck with type=bool: bool("False") is True.
			s.Bottleneck = b != ""
			if b != "" && b != "True" {
				c.Notes = append(c.Notes, fmt.Sprintf("--bottleneck %s: args.py parses it with type=bool, so any non-empty value, %q included, means True", b, b))
			}
		}
	} else {
		s.Blocks.BlockStep = c.intValue("--block-step")
		s.Fusion = spec.Fusion{Rule: spec.RuleRANet, CompressFactor: c.floatValue("--compress-factor")}
		if s.Scales.Resolution, err = c.intList("--scale-list"); err != nil {
			return nil, err
		}
		if len(s.Scales.Resolution) != len(s.Scales.GrFactor) {
			return nil, fmt.Errorf("--scale-list %s has %d entries and --grFactor %s %d: RANet builds one flow per entry of each",
				c.value("--scale-list"), len(s.Scales.Resolution), c.value("--grFactor"), len(s.Scales.GrFactor))
		}
	}
	return s, nil
}

// specOptions names the option behind each spec field, for errors.
var specOptions = map[string]string{
	"channels":               "--nChannels",
	"growth":                 "--growthRate",
	"reduction":              "--reduction",
	"bottleneck":             "--bottleneck",
	"scales.gr_factor":       "--grFactor",
	"scales.bn_factor":       "--bnFactor",
	"scales.resolution":      "--scale-list",
	"blocks.count":           "--nBlocks",
	"blocks.base":            "--base",
	"blocks.step":            "--step",
	"blocks.step_mode":       "--stepmode",
	"blocks.block_step":      "--block-step",
	"fusion.prune":           "--prune",
	"fusion.compress_factor": "--compress-factor",
	"input":                  "--data",
	"classes":                "--data",
}

// optionErrors rewrites spec errors in terms of the options that set the fields.
func (c *Command) optionErrors(err error) error {
	var list spec.ErrorList
	var one *spec.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = spec.ErrorList{one}
	default:
		return err
	}
	var msgs []string
	for _, e := range list {
		o, ok := specOptions[e.Field]
		if !ok {
			msgs = append(msgs, fmt.Sprintf("%s: %s", e.Field, e.Msg))
			continue
		}
		v := c.Values[o]
		if v == "" {
			v = "(not given)"
		}
		msgs = append(msgs, fmt.Sprintf("%s %s: %s", o, v, e.Msg))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// TOML returns the spec as a file the spec package loads: a comment with the command line,
// the ignored options and the notes, then the canonical form.
func (c *Command) TOML() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by msdx spec from-args from the %s command line\n#   %s\n", c.Repository(), strings.Join(c.Args, " "))
	b.WriteString("# The repository's argparse defaults fill every option not given.\n")
	if len(c.Ignored) > 0 {
		fmt.Fprintf(&b, "# Ignored (they do not change the network): %s\n", strings.Join(c.Ignored, " "))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "# Note: %s\n", n)
	}
	b.Write(c.Spec.Canonical())
	return []byte(b.String())
}

// Normalization returns the per-channel mean and standard deviation the reference
// repositories' dataloader.py normalises the images of dataset (a --data value) with, or
// false for another name.
func Normalization(dataset string) (data.Stats, bool) {
	switch dataset {
	case DataCIFAR10:
		return data.Stats{Mean: []float64{0.4914, 0.4824, 0.4467}, Std: []float64{0.2471, 0.2435, 0.2616}}, true
	case DataCIFAR100:
		return data.Stats{Mean: []float64{0.5071, 0.4867, 0.4408}, Std: []float64{0.2675, 0.2565, 0.2761}}, true
	case DataImageNet:
		return data.Stats{Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}, true
	}
	return data.Stats{}, false
}
