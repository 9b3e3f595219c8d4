package tensorfile

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleFile() *File {
	return &File{
		Metadata: map[string]string{"format": "msdx", "arch": "msdnet"},
		Tensors: []Tensor{
			NewFloat32("z.weight", []int{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}),
			NewInt64("step", nil, []int64{-7}),
			NewFloat32("a.bias", []int{0}, []float32{}),
			NewFloat32("m.scale", []int{1, 1}, []float32{math.SmallestNonzeroFloat32}),
		},
	}
}

func encode(t *testing.T, f *File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	f := sampleFile()
	name := filepath.Join(t.TempDir(), "params.safetensors")
	if err := WriteFile(name, f); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Metadata: f.Metadata, Tensors: []Tensor{f.Tensors[2], f.Tensors[3], f.Tensors[1], f.Tensors[0]}}
	want.Tensors[2].Shape = []int{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got.Lookup("step") == nil || got.Lookup("step").I64[0] != -7 || got.Lookup("nope") != nil {
		t.Errorf("Lookup gave wrong results")
	}
}

// TestLayout checks the bytes against the safetensors specification by hand, the way an
// independent reader would see them.
func TestLayout(t *testing.T) {
	data := encode(t, &File{Tensors: []Tensor{
		NewFloat32("w", []int{2}, []float32{1, -2}),
		NewInt64("n", []int{1}, []int64{3}),
	}})
	n := binary.LittleEndian.Uint64(data)
	if (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+n)
	}
	header := strings.TrimRight(string(data[8:8+n]), " ")
	wantHeader := `{"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`
	if header != wantHeader {
		t.Errorf("header\n got %s\nwant %s", header, wantHeader)
	}
	wantData := []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}
	if diff := cmp.Diff(wantData, data[8+n:]); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

func TestEncodeDeterministic(t *testing.T) {
	a := encode(t, sampleFile())
	f := sampleFile()
	f.Tensors[0], f.Tensors[3] = f.Tensors[3], f.Tensors[0]
	if b := encode(t, f); !bytes.Equal(a, b) {
		t.Error("encoding depends on the order of Tensors")
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"empty name", []Tensor{{DType: Float32, F32: []float32{1}}}, "empty name"},
		{"reserved", []Tensor{{Name: "__metadata__", DType: Float32, F32: []float32{1}}}, "reserved"},
		{"duplicate", []Tensor{NewInt64("a", nil, []int64{1}), NewInt64("a", nil, []int64{2})}, "duplicate"},
		{"mismatch", []Tensor{{Name: "a", DType: Float32, Shape: []int{3}, F32: []float32{1}}}, "needs 3 float32"},
		{"dtype", []Tensor{{Name: "a", DType: "F16", Shape: []int{}, F32: []float32{1}}}, "unsupported dtype"},
		{"negative", []Tensor{{Name: "a", DType: Int64, Shape: []int{-1}}}, "invalid shape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "x.safetensors")
			err := WriteFile(name, &File{Tensors: tc.tensors})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) {
				t.Errorf("WriteFile error = %v, want one naming %s and containing %q", err, name, tc.want)
			}
			if _, statErr := os.Stat(name); statErr == nil {
				t.Error("WriteFile left a file behind after an error")
			}
		})
	}
}

func TestNewPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewFloat32 with mismatched shape did not panic")
		}
	}()
	NewFloat32("a", []int{2, 2}, make([]float32, 3))
}

// build assembles a file from a raw header and data buffer.
func build(header string, buffer []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, buffer...)
}

func TestDecodeErrors(t *testing.T) {
	four := []byte{0, 0, 128, 63}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "too short"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds the limit"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), "exceeds the 0 bytes"},
		{"not object", build(`[1]`, nil), "does not start with '{'"},
		{"bad utf8", build("{\"\xff\":1}", nil), "UTF-8"},
		{"bad json", build(`{"a":}`, nil), "header JSON"},
		{"trailing", build(`{} x`, nil), "after the JSON object"},
		{"duplicate", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, four), "duplicate key"},
		{"unknown dtype", build(`{"a":{"dtype":"X","shape":[1],"data_offsets":[0,4]}}`, four), `unknown dtype "X"`},
		{"unsupported dtype", build(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, four), "not supported"},
		{"missing field", build(`{"a":{"dtype":"F32","shape":[1]}}`, four), `lacks "data_offsets"`},
		{"wrong case field", build(`{"a":{"DTYPE":"F32","shape":[1],"data_offsets":[0,4]}}`, four), "unknown field"},
		{"three offsets", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, four), "want 2"},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, four), "invalid shape"},
		{"overflow dims", build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, four), "invalid shape"},
		{"fractional dim", build(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, four), `"shape"`},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, four), "needs 8 bytes"},
		{"out of range", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, four), "outside"},
		{"reversed", build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, four), "outside"},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, four), "overlap"},
		{"hole", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, append(four, four...)), "belong to no tensor"},
		{"leftover", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, append(four, 1)), "at the end"},
		{"metadata not strings", build(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"entry not object", build(`{"a":3}`, nil), "not an object"},
		{"empty name", build(`{"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, nil), "empty name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("bad.safetensors", tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.safetensors") {
				t.Errorf("Decode error = %v, want one naming bad.safetensors and containing %q", err, tc.want)
			}
		})
	}
}

// TestDecodeForeign reads a file laid out differently from what Encode produces (unsorted
// keys, no padding, data out of key order, whitespace), as another writer may produce.
func TestDecodeForeign(t *testing.T) {
	header := `{ "b" : {"shape":[], "dtype":"I64", "data_offsets":[4,12]}, "__metadata__":{"k":"v"},
	"a":{"data_offsets":[0,4],"dtype":"F32","shape":[1]}}`
	data := append([]byte{0, 0, 0, 0x40}, binary.LittleEndian.AppendUint64(nil, 42)...)
	got, err := Decode("foreign", build(header, data))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Metadata: map[string]string{"k": "v"}, Tensors: []Tensor{
		NewFloat32("a", []int{1}, []float32{2}),
		NewInt64("b", []int{}, []int64{42}),
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
}

func TestReadFileMissing(t *testing.T) {
	name := filepath.Join(t.TempDir(), "absent.safetensors")
	if _, err := ReadFile(name); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("ReadFile error = %v, want one naming %s", err, name)
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	if err := Encode(&buf, sampleFile()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, []byte{1, 2, 3, 4}))
	f.Add(build(`{}`, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode("fuzz", data)
		if err != nil {
			return
		}
		// Whatever Decode accepts must survive a round trip unchanged.
		var out bytes.Buffer
		if err := Encode(&out, file); err != nil {
			t.Fatalf("Encode of a decoded file: %v", err)
		}
		again, err := Decode("again", out.Bytes())
		if err != nil {
			t.Fatalf("Decode of re-encoded file: %v", err)
		}
		if diff := cmp.Diff(file, again, cmp.Comparer(func(a, b float32) bool {
			return math.Float32bits(a) == math.Float32bits(b)
		})); diff != "" {
			t.Fatalf("round trip changed the file (-first +second):\n%s", diff)
		}
	})
}
