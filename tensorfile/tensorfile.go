// Package tensorfile reads and writes named tensors in the safetensors layout, so that msdx
// parameter and checkpoint files can be read without msdx.
//
// # Format
//
// A file is, in order:
//
//  1. an unsigned 64-bit little-endian integer N, the length of the header;
//  2. N bytes of UTF-8 JSON, the header, padded at the end with spaces (msdx pads so that
//     the data starts at a multiple of 8 bytes);
//  3. the data buffer: every tensor's elements, row-major, little-endian, back to back.
//
// The header is one JSON object. Each key other than "__metadata__" is a tensor name whose
// value is
//
//	{"dtype": "F32", "shape": [64, 3, 3, 3], "data_offsets": [BEGIN, END]}
//
// where BEGIN and END are byte offsets into the data buffer (not the file), END exclusive.
// The optional "__metadata__" key maps to an object of string values. msdx writes the keys
// sorted and lays the data out in the same order. msdx writes and reads the dtypes "F32"
// (float32) and "I64" (int64, for counters); other safetensors dtypes are rejected.
//
// This is the layout of https://github.com/huggingface/safetensors, so a file can be loaded
// with safetensors.torch.load_file, or with a few lines of any language: read 8 bytes, read
// the JSON header, then slice the rest.
//
// Decode checks everything a well-formed file must satisfy: the header length is within
// bounds, the header is valid UTF-8 JSON without duplicate keys, every dtype is known,
// every shape's element count matches its byte range, and the ranges lie inside the buffer,
// do not overlap and leave no holes.
package tensorfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/msdx/msdx/internal/atomicfile"
)

// DType is the element type of a tensor, spelled as in the safetensors header.
type DType string

const (
	// Float32 is IEEE 754 binary32, the type of all msdx parameters.
	Float32 DType = "F32"
	// Int64 is a signed 64-bit integer, for counters such as step numbers.
	Int64 DType = "I64"
)

// size returns the number of bytes of one element, or 0 for an unsupported dtype.
func (d DType) size() int {
	switch d {
	case Float32:
		return 4
	case Int64:
		return 8
	}
	return 0
}

// otherDTypes are the safetensors dtypes this package recognises but does not read, so that
// an error can say "unsupported" rather than "unknown".
var otherDTypes = []string{"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
	"BF16", "I32", "U32", "F64", "U64"}

// MaxHeaderSize is the largest header Decode accepts, as in the reference implementation.
const MaxHeaderSize = 100 << 20

// metadataKey is the reserved header key holding the free-form string metadata.
const metadataKey = "__metadata__"

// Tensor is one named tensor. Exactly one of F32 and I64 holds the elements, chosen by
// DType; its length is the product of Shape (1 for an empty Shape, a scalar).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	F32   []float32
	I64   []int64
}

// NewFloat32 returns a float32 tensor that shares data. It panics if len(data) does not
// match shape.
func NewFloat32(name string, shape []int, data []float32) Tensor {
	if n, ok := numElements(shape); !ok || n != len(data) {
		panic(fmt.Sprintf("tensorfile: tensor %q: shape %v does not hold %d elements", name, shape, len(data)))
	}
	return Tensor{Name: name, DType: Float32, Shape: slices.Clone(shape), F32: data}
}

// NewInt64 returns an int64 tensor that shares data. It panics if len(data) does not match
// shape.
func NewInt64(name string, shape []int, data []int64) Tensor {
	if n, ok := numElements(shape); !ok || n != len(data) {
		panic(fmt.Sprintf("tensorfile: tensor %q: shape %v does not hold %d elements", name, shape, len(data)))
	}
	return Tensor{Name: name, DType: Int64, Shape: slices.Clone(shape), I64: data}
}

// Len returns the number of elements held in the tensor's data slice.
func (t *Tensor) Len() int {
	if t.DType == Int64 {
		return len(t.I64)
	}
	return len(t.F32)
}

// File is the content of one tensor file.
type File struct {
	// Metadata is free-form string data stored under "__metadata__"; may be nil.
	Metadata map[string]string
	// Tensors are the tensors. Decode returns them sorted by name; Encode accepts any order.
	Tensors []Tensor
}

// Lookup returns the tensor called name, or nil if there is none.
func (f *File) Lookup(name string) *Tensor {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i]
		}
	}
	return nil
}

// numElements returns the product of shape and whether it is valid (no negative dimension
// and no overflow of int, with a margin so byte counts cannot overflow either).
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > (math.MaxInt64/8)/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// headerEntry is the JSON form of one tensor in the header.
type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Encode writes f to w in the safetensors layout. It returns an error if a tensor has an
// empty or reserved name, a duplicate name, an unsupported dtype or data that does not match
// its shape.
func Encode(w io.Writer, f *File) error {
	tensors := slices.Clone(f.Tensors)
	slices.SortFunc(tensors, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	header := make(map[string]any, len(tensors)+1)
	if len(f.Metadata) > 0 {
		header[metadataKey] = f.Metadata
	}
	var offset int64
	for i, t := range tensors {
		if err := checkTensor(&t); err != nil {
			return err
		}
		if i > 0 && tensors[i-1].Name == t.Name {
			return fmt.Errorf("tensorfile: duplicate tensor name %q", t.Name)
		}
		size := int64(t.Len()) * int64(t.DType.size())
		header[t.Name] = headerEntry{DType: t.DType, Shape: nonNil(t.Shape), DataOffsets: [2]int64{offset, offset + size}}
		offset += size
	}
	js, err := json.Marshal(header) // json.Marshal sorts map keys.
	if err != nil {
		return fmt.Errorf("tensorfile: %w", err)
	}
	// Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
	if pad := (8 - len(js)%8) % 8; pad > 0 {
		js = append(js, bytes.Repeat([]byte{' '}, pad)...)
	}
	buf := make([]byte, 8, 8+len(js))
	binary.LittleEndian.PutUint64(buf, uint64(len(js)))
	buf = append(buf, js...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	chunk := make([]byte, 0, 1<<16)
	for _, t := range tensors {
		switch t.DType {
		case Float32:
			for _, v := range t.F32 {
				if len(chunk)+4 > cap(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return err
					}
					chunk = chunk[:0]
				}
				chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
			}
		case Int64:
			for _, v := range t.I64 {
				if len(chunk)+8 > cap(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return err
					}
					chunk = chunk[:0]
				}
				chunk = binary.LittleEndian.AppendUint64(chunk, uint64(v))
			}
		}
	}
	_, err = w.Write(chunk)
	return err
}

func nonNil(shape []int) []int {
	if shape == nil {
		return []int{}
	}
	return shape
}

// checkTensor reports whether t can be written.
func checkTensor(t *Tensor) error {
	if t.Name == "" {
		return errors.New("tensorfile: tensor with empty name")
	}
	if t.Name == metadataKey {
		return fmt.Errorf("tensorfile: tensor name %q is reserved", t.Name)
	}
	if !utf8.ValidString(t.Name) {
		return fmt.Errorf("tensorfile: tensor name %q is not valid UTF-8", t.Name)
	}
	n, ok := numElements(t.Shape)
	if !ok {
		return fmt.Errorf("tensorfile: tensor %q: invalid shape %v", t.Name, t.Shape)
	}
	switch t.DType {
	case Float32:
		if len(t.F32) != n || t.I64 != nil {
			return fmt.Errorf("tensorfile: tensor %q: shape %v needs %d float32 elements, have %d (and %d int64)", t.Name, t.Shape, n, len(t.F32), len(t.I64))
		}
	case Int64:
		if len(t.I64) != n || t.F32 != nil {
			return fmt.Errorf("tensorfile: tensor %q: shape %v needs %d int64 elements, have %d (and %d float32)", t.Name, t.Shape, n, len(t.I64), len(t.F32))
		}
	default:
		return fmt.Errorf("tensorfile: tensor %q: unsupported dtype %q", t.Name, t.DType)
	}
	return nil
}

// WriteFile atomically writes f to the file name.
func WriteFile(name string, f *File) error {
	for i := range f.Tensors {
		if err := checkTensor(&f.Tensors[i]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := atomicfile.Write(name, 0o644, func(w io.Writer) error { return Encode(w, f) }); err != nil {
		return fmt.Errorf("tensorfile: writing %s: %w", name, err)
	}
	return nil
}

// ReadFile reads and validates the tensor file name. Errors name the file.
func ReadFile(name string) (*File, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("tensorfile: %w", err)
	}
	return Decode(name, data)
}

// Decode parses and validates a tensor file held in data. The name is used in errors only.
// The returned tensors are sorted by name and do not share memory with data.
func Decode(name string, data []byte) (*File, error) {
	f, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("tensorfile: %s: %w", name, err)
	}
	return f, nil
}

func decode(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes after the length field", n, len(data)-8)
	}
	header := data[8 : 8+n]
	buffer := data[8+n:]
	if !utf8.Valid(header) {
		return nil, errors.New("header is not valid UTF-8")
	}
	if len(header) == 0 || header[0] != '{' {
		return nil, errors.New("header does not start with '{'")
	}
	entries, metadata, err := parseHeader(header)
	if err != nil {
		return nil, err
	}

	f := &File{Metadata: metadata, Tensors: make([]Tensor, 0, len(entries))}
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(entries))
	for _, e := range entries {
		h := e.entry
		size := h.DType.size()
		if size == 0 {
			if slices.Contains(otherDTypes, string(h.DType)) {
				return nil, fmt.Errorf("tensor %q: dtype %q is not supported (only F32 and I64)", e.name, h.DType)
			}
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", e.name, h.DType)
		}
		count, ok := numElements(h.Shape)
		if !ok {
			return nil, fmt.Errorf("tensor %q: invalid shape %v", e.name, h.Shape)
		}
		begin, end := h.DataOffsets[0], h.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(buffer)) {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] outside the %d-byte data buffer", e.name, begin, end, len(buffer))
		}
		if want := int64(count) * int64(size); end-begin != want {
			return nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] give %d", e.name, h.Shape, h.DType, want, begin, end, end-begin)
		}
		spans = append(spans, span{e.name, begin, end})
		raw := buffer[begin:end]
		t := Tensor{Name: e.name, DType: h.DType, Shape: nonNil(h.Shape)}
		switch h.DType {
		case Float32:
			t.F32 = make([]float32, count)
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case Int64:
			t.I64 = make([]int64, count)
			for i := range t.I64 {
				t.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
		f.Tensors = append(f.Tensors, t)
	}

	// The ranges must tile the buffer exactly: no overlap, no hole, nothing left over.
	slices.SortFunc(spans, func(a, b span) int {
		if a.begin != b.begin {
			return compare(a.begin, b.begin)
		}
		return compare(a.end, b.end)
	})
	var at int64
	for i, s := range spans {
		if s.begin < at {
			return nil, fmt.Errorf("tensors %q and %q overlap in the data buffer", spans[i-1].name, s.name)
		}
		if s.begin > at {
			return nil, fmt.Errorf("data buffer bytes [%d, %d) before tensor %q belong to no tensor", at, s.begin, s.name)
		}
		at = s.end
	}
	if at != int64(len(buffer)) {
		return nil, fmt.Errorf("data buffer bytes [%d, %d) at the end belong to no tensor", at, len(buffer))
	}
	slices.SortFunc(f.Tensors, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	return f, nil
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type namedEntry struct {
	name  string
	entry headerEntry
}

// parseHeader decodes the header object key by key, so that duplicate keys are caught
// (encoding/json would silently keep the last one).
func parseHeader(header []byte) ([]namedEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("header is not a JSON object: %v", err)
	}
	seen := make(map[string]bool)
	var entries []namedEntry
	var metadata map[string]string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("header JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("header JSON: unexpected %v", tok)
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("header has duplicate key %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("header JSON at key %q: %w", key, err)
		}
		if key == metadataKey {
			if metadata, err = parseMetadata(raw); err != nil {
				return nil, nil, err
			}
			continue
		}
		if key == "" {
			return nil, nil, errors.New("header has a tensor with an empty name")
		}
		e, err := parseEntry(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		entries = append(entries, namedEntry{key, e})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, fmt.Errorf("header JSON object not closed: %v", err)
	}
	// Only the padding may follow the object.
	rest, _ := io.ReadAll(dec.Buffered())
	if len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return nil, nil, errors.New("header has data after the JSON object")
	}
	return entries, metadata, nil
}

func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var m map[string]string
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s must be an object of strings: %w", metadataKey, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%s must be an object of strings", metadataKey)
	}
	if len(m) == 0 {
		return nil, nil // Encode omits empty metadata; keep Decode∘Encode the identity.
	}
	return m, nil
}

func parseEntry(raw json.RawMessage) (headerEntry, error) {
	var e headerEntry
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' {
		return e, errors.New("header entry is not an object")
	}
	// Decode field by field: encoding/json matches struct fields case-insensitively and
	// would let a missing field pass as zero.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return e, fmt.Errorf("header entry: %w", err)
	}
	for k := range fields {
		if k != "dtype" && k != "shape" && k != "data_offsets" {
			return e, fmt.Errorf("header entry has unknown field %q", k)
		}
	}
	var offsets []int64
	for _, f := range []struct {
		key string
		dst any
	}{{"dtype", &e.DType}, {"shape", &e.Shape}, {"data_offsets", &offsets}} {
		v, ok := fields[f.key]
		if !ok {
			return e, fmt.Errorf("header entry lacks %q", f.key)
		}
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return e, fmt.Errorf("header entry has null %q", f.key)
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return e, fmt.Errorf("header entry %q: %w", f.key, err)
		}
	}
	if len(offsets) != 2 {
		return e, fmt.Errorf(`"data_offsets" has %d numbers, want 2`, len(offsets))
	}
	e.DataOffsets = [2]int64{offsets[0], offsets[1]}
	return e, nil
}
