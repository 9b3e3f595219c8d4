// Package refimport reads the checkpoints of the reference repositories —
// kalviny/MSDNet-PyTorch and yangle15/RANet-pytorch, as their main.py saves them — into
// msdx networks.
//
// A checkpoint is a torch.save file (package torchsave) holding a dict with "state_dict"
// (the model wrapped in torch.nn.DataParallel, so every key starts with "module."),
// "epoch", "arch", "best_prec1" and sometimes "optimizer"; a bare state_dict, with or
// without the prefix, is read too. Every tensor of the state_dict is mapped to the msdx
// parameter or batch-norm buffer of the same weights, by the reference's module tree for
// the spec (ModuleMap) and with its shape checked. A tensor left over or one missing is an
// error naming it; batch-norm num_batches_tracked counters, which msdx does not keep (its
// running averages use a fixed momentum, as the references do), are accepted and
// ignored, and so is the optimizer state; Result says what was ignored.
package refimport

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/msdx/msdx/builder"
	"github.com/msdx/msdx/nn"
	"github.com/msdx/msdx/spec"
	"github.com/msdx/msdx/tensorfile"
	"github.com/msdx/msdx/torchsave"
)

// Checkpoint is a reference checkpoint as read from its file.
type Checkpoint struct {
	// Name is the file name.
	Name string
	// Arch, Epoch and BestPrec1 are the dict's "arch", "epoch" and "best_prec1", when it
	// has them (HasMeta).
	Arch      string
	Epoch     int64
	BestPrec1 float64
	HasMeta   bool
	// Optimizer says whether the file holds an optimizer state (which is not imported).
	Optimizer bool
	// Keys are the state_dict's keys as written, in file order; Tensors maps each to its
	// tensor.
	Keys    []string
	Tensors map[string]*torchsave.Tensor
	// Other lists the top-level entries that are neither the state_dict nor one of the
	// above, which are not imported.
	Other []string
}

// DataParallelPrefix starts every key of a model saved through torch.nn.DataParallel.
const DataParallelPrefix = "module."

// Read reads the checkpoint file name.
func Read(name string) (*Checkpoint, error) {
	v, err := torchsave.ReadFile(name)
	if err != nil {
		return nil, err
	}
	top, ok := v.(*torchsave.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: holds a %s, want a dict (a checkpoint or a state_dict)", name, torchsave.Describe(v))
	}
	ck := &Checkpoint{Name: name, Tensors: map[string]*torchsave.Tensor{}}
	sd := top
	if v, ok := top.Get("state_dict"); ok {
		if sd, ok = v.(*torchsave.Dict); !ok {
			return nil, fmt.Errorf("%s: state_dict is a %s, want a dict", name, torchsave.Describe(v))
		}
		for _, it := range top.Items {
			k, _ := it.Key.(string)
			switch k {
			case "state_dict":
			case "arch":
				ck.Arch, _ = it.Value.(string)
			case "epoch":
				ck.Epoch, _ = it.Value.(int64)
			case "best_prec1":
				switch p := it.Value.(type) {
				case float64:
					ck.BestPrec1 = p
				case int64:
					ck.BestPrec1 = float64(p)
				case *torchsave.Tensor: // a 0-d tensor, when saved from a metric tensor
					if p.Numel() == 1 && p.DType == "float32" {
						ck.BestPrec1 = float64(p.F32[0])
					}
				}
			case "optimizer":
				ck.Optimizer = true
			default:
				ck.Other = append(ck.Other, fmt.Sprint(it.Key))
			}
		}
		_, hasArch := top.Get("arch")
		ck.HasMeta = hasArch
	}
	for _, it := range sd.Items {
		k, ok := it.Key.(string)
		if !ok {
			return nil, fmt.Errorf("%s: state_dict key %v is not a string", name, it.Key)
		}
		t, ok := it.Value.(*torchsave.Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: state_dict entry %q is a %s, not a tensor", name, k, torchsave.Describe(it.Value))
		}
		ck.Keys = append(ck.Keys, k)
		ck.Tensors[k] = t
	}
	if len(ck.Keys) == 0 {
		return nil, fmt.Errorf("%s: the state_dict is empty", name)
	}
	return ck, nil
}

// archOf is the --arch of the reference repository whose model code builds s, or an
// error saying why no reference builds it.
func archOf(s *spec.Spec) (string, error) {
	var arch string
	switch s.Fusion.Rule {
	case spec.RuleMSDNet:
		arch = "msdnet"
	case spec.RuleRANet:
		arch = "RANet"
		if !s.Bottleneck {
			return "", errors.New("spec has bottleneck = false, which RANet-pytorch never builds (its units always have the 1x1 bottleneck)")
		}
	default:
		return "", fmt.Errorf("spec has fusion.rule %q: only the msdnet and ranet rules have reference checkpoints", s.Fusion.Rule)
	}
	stems := map[string]string{spec.StemMSDNetCIFAR: spec.HeadMSDNetCIFAR, spec.StemMSDNetImageNet: spec.HeadMSDNetImageNet}
	head, ok := stems[s.Stem.Kind]
	if !ok || s.Head.Kind != head || s.Activation != spec.ActReLU || s.Head.Kind == spec.HeadMSDNetCIFAR && s.Head.Channels != 128 {
		return "", fmt.Errorf("spec has stem %q, head %q (%d channels) and activation %q: the reference code builds only the msdnet-cifar stem and head (128 channels) or the msdnet-imagenet ones, with ReLU",
			s.Stem.Kind, s.Head.Kind, s.Head.Channels, s.Activation)
	}
	return arch, nil
}

// ModuleMap returns, for the network s describes, the module path of every weighted
// module of the reference model (without the DataParallel prefix, e.g.
// "blocks.0.1.layers.0.conv_normal.net.0") mapped to the name of the msdx graph node that
// holds the same weights ("layer1/scale0/normal/bottleneck/conv"). A module's tensors are
// named as its node's parameters and buffers: PATH.weight is NODE.weight, and so on.
func ModuleMap(s *spec.Spec) (map[string]string, error) {
	if _, err := archOf(s); err != nil {
		return nil, err
	}
	m := moduleMap{}
	if s.Fusion.Rule == spec.RuleRANet {
		m.ranet(s)
	} else {
		m.msdnet(s)
	}
	return m, nil
}

type moduleMap map[string]string

func (m moduleMap) add(ref, node string) {
	if _, dup := m[ref]; dup {
		panic("refimport: module " + ref + " mapped twice")
	}
	m[ref] = node
}

// convBasic maps a ConvBasic (conv, BN, ReLU in .net) to msdx's ConvBasic named node.
func (m moduleMap) convBasic(ref, node string) {
	m.add(ref+".net.0", node+"/conv")
	m.add(ref+".net.1", node+"/bn")
}

// unit maps a ConvBN (optional 1x1 bottleneck, then 3x3, each with BN and ReLU, in .net).
func (m moduleMap) unit(ref, node string, bottleneck bool) {
	if bottleneck {
		m.add(ref+".net.0", node+"/bottleneck/conv")
		m.add(ref+".net.1", node+"/bottleneck/bn")
		m.add(ref+".net.3", node+"/conv3x3/conv")
		m.add(ref+".net.4", node+"/conv3x3/bn")
		return
	}
	m.add(ref+".net.0", node+"/conv3x3/conv")
	m.add(ref+".net.1", node+"/conv3x3/bn")
}

// stem maps the first conv of the full-resolution input: a ConvBasic on CIFAR, a bare
// Sequential (7x7 conv with bias, BN, ReLU, max-pool) on ImageNet.
func (m moduleMap) stem(s *spec.Spec, ref string) {
	if s.Stem.Kind == spec.StemMSDNetImageNet {
		m.add(ref+".0", "stem/conv")
		m.add(ref+".1", "stem/bn")
		return
	}
	m.convBasic(ref, "stem")
}

// head maps ClassifierModule number i (0-based) to msdx's exit i+1.
func (m moduleMap) head(i int) {
	ref, node := fmt.Sprintf("classifier.%d", i), fmt.Sprintf("exit%d", i+1)
	m.convBasic(ref+".m.0", node+"/conv1")
	m.convBasic(ref+".m.1", node+"/conv2")
	m.add(ref+".linear", node+"/linear")
}

// msdnet maps kalviny's MSDNet: blocks[b] is a Sequential of (for b = 0) the
// MSDNFirstLayer, then each MSDNLayer followed by its transition, if any; layer j of an
// MSDNLayer works on scale offset+j.
func (m moduleMap) msdnet(s *spec.Spec) {
	nScales := len(s.Scales.GrFactor)
	steps := builder.BlockLayers(s)
	total := 0
	for _, n := range steps {
		total += n
	}
	m.stem(s, "blocks.0.0.layers.0")
	for sc := 1; sc < nScales; sc++ {
		m.convBasic(fmt.Sprintf("blocks.0.0.layers.%d", sc), fmt.Sprintf("first/scale%d", sc))
	}
	n := 0
	for b, layers := range steps {
		idx := 0
		if b == 0 {
			idx = 1
		}
		for range layers {
			n++
			in, out := scaleSpan(s.Fusion.Prune, nScales, n, total)
			offset := nScales - out
			ref := fmt.Sprintf("blocks.%d.%d", b, idx)
			idx++
			for j := range out {
				sc := offset + j
				node := fmt.Sprintf("layer%d/scale%d", n, sc)
				lref := fmt.Sprintf("%s.layers.%d", ref, j)
				if j > 0 || in > out {
					m.unit(lref+".conv_down", node+"/down", s.Bottleneck)
				}
				m.unit(lref+".conv_normal", node+"/normal", s.Bottleneck)
			}
			transition := s.Reduction > 0 &&
				(s.Fusion.Prune == spec.PruneMax && in > out ||
					s.Fusion.Prune == spec.PruneMin && (n == total/3 || n == 2*total/3))
			if transition {
				tref := fmt.Sprintf("blocks.%d.%d", b, idx)
				idx++
				for j := range out {
					m.convBasic(fmt.Sprintf("%s.m.%d", tref, j), fmt.Sprintf("layer%d/transition/scale%d", n, offset+j))
				}
			}
		}
		m.head(b)
	}
}

// scaleSpan is how many scales MSDNet layer n of total reads and writes
// (models/msdnet.py's inScales and outScales).
func scaleSpan(prune string, scales, n, total int) (in, out int) {
	if prune == spec.PruneMin {
		return min(scales, total-n+2), min(scales, total-n+1)
	}
	interval := (total + scales - 1) / scales
	return scales - max(0, n-2)/interval, scales - (n-1)/interval
}

// ranet maps yangle15's RANet: FirstLayer.layers[i] feeds flow nFlows-1-i;
// scale_flows[f][b] is block b+1 of flow f, plain (conv_normal units) or fusing the lower
// flow (conv_normal and conv_up units, then conv_last), with an optional transition; the
// classifiers follow the plain blocks in flow order.
func (m moduleMap) ranet(s *spec.Spec) {
	nFlows := len(s.Scales.GrFactor)
	m.stem(s, "FirstLayer.layers.0")
	for i := 1; i < nFlows; i++ {
		m.convBasic(fmt.Sprintf("FirstLayer.layers.%d", i), fmt.Sprintf("first/flow%d", nFlows-1-i))
	}
	blocksOf := func(f int) int { return s.Blocks.Count + f*s.Blocks.BlockStep }
	exit := 0
	for f := range nFlows {
		fused := 0
		if f > 0 {
			fused = blocksOf(f - 1)
		}
		for b := 1; b <= blocksOf(f); b++ {
			layers := s.Blocks.Step
			if s.Blocks.StepMode == spec.StepLG {
				layers = s.Blocks.Step * b
			}
			ref, node := fmt.Sprintf("scale_flows.%d.%d", f, b-1), fmt.Sprintf("flow%d/block%d", f, b)
			for l := range layers {
				lref, lnode := fmt.Sprintf("%s.layers.%d", ref, l), fmt.Sprintf("%s/layer%d", node, l+1)
				m.unit(lref+".conv_normal", lnode+"/normal", true)
				if b <= fused {
					m.unit(lref+".conv_up", lnode+"/up", true)
				}
			}
			if b <= fused {
				m.convBasic(ref+".conv_last", node+"/fuse")
			}
			if ranetTransition(b, blocksOf(f), s.Scales.Resolution[f]) && s.Reduction > 0 {
				m.convBasic(ref+".trans", node+"/transition")
			}
			if b > fused {
				m.head(exit)
				exit++
			}
		}
	}
}

// ranetTransition is RANet's _trans_flag: block b of n at resolution scale ends in a
// transition when b = floor(i·n/scale) for some i in 1..scale-1.
func ranetTransition(b, n, scale int) bool {
	for i := 1; i < scale; i++ {
		if b == i*n/scale {
			return true
		}
	}
	return false
}

// Tensor suffixes of the weighted modules: parameters and batch-norm buffers.
var suffixes = []string{"weight", "bias", "running_mean", "running_var"}

// ignoredSuffix names the batch-norm counter msdx does not keep.
const ignoredSuffix = "num_batches_tracked"

// Result says what Weights imported and what it ignored.
type Result struct {
	// Tensors counts the tensors imported: every parameter and buffer of the network.
	Tensors int
	// Ignored lists what the checkpoint holds that was not imported, in words.
	Ignored []string
}

// Weights returns ck's weights as an msdx parameter file for the network s describes:
// every tensor of the state_dict mapped (ModuleMap) to the parameter or buffer of the
// same name in net (built from s), with its shape checked. Tensors left over or missing
// are an error naming them (up to maxNamed of each).
func Weights(ck *Checkpoint, s *spec.Spec, net *nn.Network) (*tensorfile.File, *Result, error) {
	arch, err := archOf(s)
	if err != nil {
		return nil, nil, err
	}
	if ck.Arch != "" && ck.Arch != arch {
		return nil, nil, fmt.Errorf("%s: arch %q, but the spec is a %s network (fusion.rule %q): give the spec of the command line that trained it", ck.Name, ck.Arch, arch, s.Fusion.Rule)
	}
	modules, err := ModuleMap(s)
	if err != nil {
		return nil, nil, err
	}
	// Either every key has DataParallel's prefix or none.
	prefixed := 0
	for _, k := range ck.Keys {
		if strings.HasPrefix(k, DataParallelPrefix) {
			prefixed++
		}
	}
	prefix := ""
	switch prefixed {
	case len(ck.Keys):
		prefix = DataParallelPrefix
	case 0:
	default:
		return nil, nil, fmt.Errorf("%s: %d of the %d state_dict keys start with %q: want all (a DataParallel model) or none", ck.Name, prefixed, len(ck.Keys), DataParallelPrefix)
	}
	want := map[string][]int{} // msdx tensor name → shape
	var order []string
	for _, t := range net.Weights(nil).Tensors {
		want[t.Name] = t.Shape
		order = append(order, t.Name)
	}
	res := &Result{}
	out := &tensorfile.File{Metadata: map[string]string{}}
	got := map[string]string{} // msdx name → checkpoint key
	var leftovers, bad []string
	counters := 0
	for _, key := range ck.Keys {
		k := strings.TrimPrefix(key, prefix)
		i := strings.LastIndexByte(k, '.')
		module, suffix := k[:max(i, 0)], k[i+1:]
		node, ok := modules[module]
		if !ok || i < 0 {
			leftovers = append(leftovers, key)
			continue
		}
		if suffix == ignoredSuffix && strings.HasSuffix(node, "/bn") {
			counters++
			continue
		}
		if !slices.Contains(suffixes, suffix) {
			leftovers = append(leftovers, key)
			continue
		}
		name := node + "." + suffix
		shape, ok := want[name]
		if !ok {
			leftovers = append(leftovers, key)
			continue
		}
		t := ck.Tensors[key]
		got[name] = key // found, if misshapen: not missing as well
		if t.DType != "float32" || !slices.Equal(t.Shape, shape) {
			bad = append(bad, fmt.Sprintf("%s is %s %v, msdx's %s is float32 %v", key, t.DType, t.Shape, name, shape))
			continue
		}
		out.Tensors = append(out.Tensors, tensorfile.NewFloat32(name, shape, t.F32))
	}
	var missing []string
	for _, name := range order {
		if _, ok := got[name]; !ok {
			missing = append(missing, fmt.Sprintf("%s (msdx %s)", refName(modules, prefix, name), name))
		}
	}
	var problems []string
	if len(bad) > 0 {
		problems = append(problems, fmt.Sprintf("%d tensors have the wrong shape or type: %s", len(bad), named(bad)))
	}
	if len(leftovers) > 0 {
		problems = append(problems, fmt.Sprintf("%d tensors are not part of this network: %s", len(leftovers), named(leftovers)))
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d tensors of the network are missing: %s", len(missing), named(missing)))
	}
	if problems != nil {
		return nil, nil, fmt.Errorf("%s does not hold the weights of spec %s (%s): %s", ck.Name, s.Name, arch, strings.Join(problems, "; "))
	}
	sort.Slice(out.Tensors, func(i, j int) bool { return out.Tensors[i].Name < out.Tensors[j].Name })
	res.Tensors = len(out.Tensors)
	if counters > 0 {
		res.Ignored = append(res.Ignored, fmt.Sprintf("%d batch-norm num_batches_tracked counters (msdx's running averages do not use them)", counters))
	}
	if ck.Optimizer {
		res.Ignored = append(res.Ignored, "the optimizer state (an imported run is evaluated, not resumed)")
	}
	for _, o := range ck.Other {
		res.Ignored = append(res.Ignored, fmt.Sprintf("the entry %q", o))
	}
	return out, res, nil
}

// maxNamed is how many names an error lists before it counts the rest.
const maxNamed = 8

func named(list []string) string {
	if len(list) <= maxNamed {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:maxNamed], ", ") + fmt.Sprintf(" and %d more", len(list)-maxNamed)
}

// refName returns the checkpoint key that would hold msdx's tensor name.
func refName(modules map[string]string, prefix, name string) string {
	i := strings.LastIndexByte(name, '.')
	for ref, node := range modules {
		if node == name[:i] {
			return prefix + ref + name[i:]
		}
	}
	return "(no reference module)"
}
