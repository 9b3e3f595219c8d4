package nn

import (
	"fmt"
	"strconv"

	"github.com/msdx/msdx/tensorfile"
)

// FormatVersion is the version of msdx parameter files, stored in their metadata.
const FormatVersion = "1"

// Weights returns the network's parameters and buffers as a tensor file, named as in
// Param.Name and Buffer.Name, with meta added to the file's metadata. The tensors share the
// network's memory.
func (net *Network) Weights(meta map[string]string) *tensorfile.File {
	f := &tensorfile.File{Metadata: map[string]string{
		"format":         "msdx-params",
		"format_version": FormatVersion,
		"graph":          net.g.Name,
		"params":         strconv.FormatInt(net.g.Params(), 10),
	}}
	for k, v := range meta {
		f.Metadata[k] = v
	}
	for _, p := range net.params {
		f.Tensors = append(f.Tensors, tensorfile.NewFloat32(p.Name, p.Shape, p.Data))
	}
	for _, b := range net.buffers {
		f.Tensors = append(f.Tensors, tensorfile.NewFloat32(b.Name, b.Shape, b.Data))
	}
	return f
}

// Save writes the parameters and batch-norm statistics to name atomically, in the
// safetensors layout (see package tensorfile), with meta in the file's metadata.
func (net *Network) Save(name string, meta map[string]string) error {
	return tensorfile.WriteFile(name, net.Weights(meta))
}

// SetWeights copies parameters and buffers from f, which must hold exactly the network's
// tensors with their shapes.
func (net *Network) SetWeights(f *tensorfile.File, source string) error {
	want := len(net.params) + len(net.buffers)
	if len(f.Tensors) != want {
		return fmt.Errorf("%s: holds %d tensors, the network has %d", source, len(f.Tensors), want)
	}
	set := func(name string, shape []int, dst []float32) error {
		t := f.Lookup(name)
		if t == nil {
			return fmt.Errorf("%s: no tensor %q", source, name)
		}
		if t.DType != tensorfile.Float32 || len(t.F32) != len(dst) || fmt.Sprint(t.Shape) != fmt.Sprint(shape) {
			return fmt.Errorf("%s: tensor %q is %s %v, want F32 %v", source, name, t.DType, t.Shape, shape)
		}
		copy(dst, t.F32)
		return nil
	}
	for _, p := range net.params {
		if err := set(p.Name, p.Shape, p.Data); err != nil {
			return err
		}
	}
	for _, b := range net.buffers {
		if err := set(b.Name, b.Shape, b.Data); err != nil {
			return err
		}
	}
	return nil
}

// Load reads parameters and buffers written by Save.
func (net *Network) Load(name string) error {
	f, err := tensorfile.ReadFile(name)
	if err != nil {
		return err
	}
	return net.SetWeights(f, name)
}
