// Package torchsave reads the files torch.save writes: since PyTorch 1.6 a zip archive
// holding a pickle, ARCHIVE/data.pkl, and one file per tensor storage, ARCHIVE/data/KEY;
// before (and with _use_new_zipfile_serialization=False) the legacy format, a sequence of
// pickles followed by the storages' bytes. It reads what checkpoints of models hold — dicts (ordered or not),
// lists, tuples, strings, integers, floats, booleans, None and tensors — and nothing else:
// the pickle is interpreted, never executed, and any class other than the few torch.save
// writes for these (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter and the typed storages) is an error naming it.
//
// The state an OrderedDict's BUILD sets (a state_dict's _metadata: module versions) is
// read and dropped. Legacy storage views and files written on big-endian machines are
// refused; so is the tar format of PyTorch before 0.4.
package torchsave

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
)

// Tensor is a tensor read from a file, contiguous and row-major.
type Tensor struct {
	// DType is the storage's element type: "float32", "float64" or "int64" (the integer
	// and boolean storages, widened exactly).
	DType string
	Shape []int
	// F32, F64 or I64 holds the elements, as DType says.
	F32 []float32
	F64 []float64
	I64 []int64
}

// Numel returns the number of elements of t.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Dict is a pickled dict or OrderedDict, in insertion order.
type Dict struct {
	Items []Item
}

// Item is one key and value of a Dict.
type Item struct {
	Key   any
	Value any
}

// Get returns the value stored under the string key k.
func (d *Dict) Get(k string) (any, bool) {
	for _, it := range d.Items {
		if s, ok := it.Key.(string); ok && s == k {
			return it.Value, true
		}
	}
	return nil, false
}

func (d *Dict) set(k, v any) {
	for i, it := range d.Items {
		if it.Key == k {
			d.Items[i].Value = v
			return
		}
	}
	d.Items = append(d.Items, Item{k, v})
}

// List is a pickled list.
type List struct {
	Items []any
}

// Tuple is a pickled tuple.
type Tuple []any

// ReadFile reads the file name written by torch.save and returns its top-level object:
// *Dict, *List, Tuple, string, int64, float64, bool, nil or *Tensor.
func ReadFile(name string) (any, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	v, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// legacyMagic starts a file in torch.save's legacy format: the pickled magic number
// 0x1950a86a20f9469cfc6c.
var legacyMagic = []byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")

// Decode is ReadFile for a file's content already in memory.
func Decode(data []byte) (any, error) {
	if bytes.HasPrefix(data, legacyMagic) {
		return decodeLegacy(data[len(legacyMagic):])
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, errors.New("neither a torch.save zip archive (PyTorch 1.6 and later) nor a file in its legacy format")
	}
	return decode(zr)
}

func decode(zr *zip.Reader) (any, error) {
	var pkl *zip.File
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("two pickles, %s and %s: not a torch.save archive", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, errors.New("no ARCHIVE/data.pkl: not a torch.save archive")
	}
	data, err := readZip(pkl)
	if err != nil {
		return nil, err
	}
	u := &unpickler{r: bytes.NewReader(data), memo: map[uint32]any{}, storages: map[string]*storage{},
		files: files, prefix: path.Dir(pkl.Name)}
	v, err := u.run()
	if err != nil {
		return nil, err
	}
	if err := u.fill(); err != nil {
		return nil, err
	}
	return v, nil
}

// legacyProtocol is the protocol version torch.save's legacy format writes.
const legacyProtocol = 1001

// decodeLegacy reads the rest of a legacy-format file after its magic number: pickles
// of the protocol version, the system's type sizes and the object, the list of storage
// keys, then each storage in that order as an int64 element count and its bytes.
func decodeLegacy(data []byte) (any, error) {
	r := bytes.NewReader(data)
	u := &unpickler{r: r, storages: map[string]*storage{}}
	next := func(what string) (any, error) {
		u.memo, u.stack, u.marks = map[uint32]any{}, nil, nil
		v, err := u.run()
		if err != nil {
			return nil, fmt.Errorf("legacy format, %s: %w", what, err)
		}
		return v, nil
	}
	if v, err := next("protocol version"); err != nil {
		return nil, err
	} else if v != int64(legacyProtocol) {
		return nil, fmt.Errorf("legacy format protocol %v, want %d", v, legacyProtocol)
	}
	sys, err := next("system information")
	if err != nil {
		return nil, err
	}
	if d, ok := sys.(*Dict); !ok {
		return nil, errors.New("legacy format: the system information is not a dict")
	} else if le, _ := d.Get("little_endian"); le != true {
		return nil, errors.New("legacy format: written on a big-endian machine, which this reader does not read")
	}
	obj, err := next("object")
	if err != nil {
		return nil, err
	}
	keys, err := next("storage keys")
	if err != nil {
		return nil, err
	}
	list, ok := keys.(*List)
	if !ok {
		return nil, fmt.Errorf("legacy format: the storage keys are a %s, not a list", Describe(keys))
	}
	for _, k := range list.Items {
		key, _ := k.(string)
		st, ok := u.storages[key]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage %v is written but no tensor uses it", k)
		}
		var numel int64
		if err := binary.Read(r, binary.LittleEndian, &numel); err != nil {
			return nil, fmt.Errorf("legacy format: storage %s: truncated", key)
		}
		if numel != int64(st.numel) {
			return nil, fmt.Errorf("legacy format: storage %s holds %d elements, the object said %d", key, numel, st.numel)
		}
		size := storageTypes[typeName(st.dtype)].size
		if int64(r.Len()) < numel*int64(size) {
			return nil, fmt.Errorf("legacy format: storage %s: truncated", key)
		}
		b := make([]byte, numel*int64(size))
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		st.set(b)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("legacy format: %d bytes after the last storage", r.Len())
	}
	if err := u.fill(); err != nil {
		return nil, err
	}
	return obj, nil
}

func readZip(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// global is a class or function a GLOBAL opcode named.
type global struct{ module, name string }

func (g global) String() string { return g.module + "." + g.name }

// storage is one tensor storage of the archive, read when a tensor first uses it.
type storage struct {
	key, dtype string
	numel      int
	f32        []float32
	f64        []float64
	i64        []int64
	loaded     bool
}

// MaxElements bounds the elements of one storage and of one tensor, so that a malformed
// file cannot ask for more memory than any checkpoint of these networks needs (2^31
// float32 elements are 8 GiB).
const MaxElements = 1 << 31

// mark is the pickle machine's MARK on the stack.
type mark struct{}

// The storage types torch.save names, and the element type msdx reads each as.
var storageTypes = map[string]struct {
	dtype string
	size  int
}{
	"FloatStorage":  {"float32", 4},
	"DoubleStorage": {"float64", 8},
	"LongStorage":   {"int64", 8},
	"IntStorage":    {"int32", 4},
	"ShortStorage":  {"int16", 2},
	"CharStorage":   {"int8", 1},
	"ByteStorage":   {"uint8", 1},
	"BoolStorage":   {"bool", 1},
}

// pendingTensor is a tensor whose elements are gathered from its storage once every
// storage is known (in the legacy format the storages follow the object).
type pendingTensor struct {
	t       *Tensor
	s       *storage
	offset  int64
	strides []int64
	last    int64 // the largest storage index the view reads; -1 when it is empty
}

type unpickler struct {
	pending  []pendingTensor
	r        *bytes.Reader
	stack    []any
	marks    []int
	memo     map[uint32]any
	storages map[string]*storage
	files    map[string]*zip.File
	prefix   string
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1] {
		return nil, errors.New("pickle: stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, errors.New("pickle: stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the items above the last MARK and removes them and the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("pickle: no MARK")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > u.r.Len() {
		return nil, errors.New("pickle: truncated")
	}
	b := make([]byte, n)
	_, err := io.ReadFull(u.r, b)
	return b, err
}

func (u *unpickler) readUint(n int) (uint64, error) {
	b, err := u.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (u *unpickler) readLine() (string, error) {
	var sb strings.Builder
	for {
		c, err := u.r.ReadByte()
		if err != nil {
			return "", errors.New("pickle: truncated")
		}
		if c == '\n' {
			return sb.String(), nil
		}
		sb.WriteByte(c)
	}
}

func (u *unpickler) run() (any, error) {
	for {
		op, err := u.r.ReadByte()
		if err != nil {
			return nil, errors.New("pickle: truncated: no STOP")
		}
		if err := u.step(op); err != nil {
			if err == errStop {
				v, err := u.pop()
				if err != nil {
					return nil, err
				}
				if len(u.stack) != 0 || len(u.marks) != 0 {
					return nil, errors.New("pickle: items left on the stack at STOP")
				}
				return v, nil
			}
			return nil, fmt.Errorf("pickle opcode %q at byte %d: %w", op, int(u.r.Size())-u.r.Len()-1, err)
		}
	}
}

var errStop = errors.New("stop")

func (u *unpickler) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		p, err := u.readUint(1)
		if err != nil {
			return err
		}
		if p > 5 {
			return fmt.Errorf("pickle protocol %d", p)
		}
	case 0x95: // FRAME: a length hint only
		if _, err := u.read(8); err != nil {
			return err
		}
	case '.': // STOP
		return errStop
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
	case '}': // EMPTY_DICT
		u.push(&Dict{})
	case ']': // EMPTY_LIST
		u.push(&List{})
	case ')': // EMPTY_TUPLE
		u.push(Tuple{})
	case 'N': // NONE
		u.push(nil)
	case 0x88: // NEWTRUE
		u.push(true)
	case 0x89: // NEWFALSE
		u.push(false)
	case 'K', 'M', 'J': // BININT1, BININT2, BININT
		n := map[byte]int{'K': 1, 'M': 2, 'J': 4}[op]
		v, err := u.readUint(n)
		if err != nil {
			return err
		}
		if op == 'J' {
			u.push(int64(int32(uint32(v))))
		} else {
			u.push(int64(v))
		}
	case 0x8a: // LONG1
		n, err := u.readUint(1)
		if err != nil {
			return err
		}
		if n > 8 {
			return fmt.Errorf("integer of %d bytes", n)
		}
		b, err := u.read(int(n))
		if err != nil {
			return err
		}
		var v int64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | int64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 {
			v -= 1 << (8 * n)
		}
		u.push(v)
	case 'G': // BINFLOAT, big-endian
		b, err := u.read(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C': // strings and bytes
		n := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8, 'T': 4, 'U': 1, 'B': 4, 'C': 1}[op]
		l, err := u.readUint(n)
		if err != nil {
			return err
		}
		if l > uint64(u.r.Len()) {
			return errors.New("pickle: truncated")
		}
		b, err := u.read(int(l))
		if err != nil {
			return err
		}
		if op == 'B' || op == 'C' {
			u.push(b)
		} else {
			u.push(string(b))
		}
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(Tuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op-0x85) + 1
		t := make(Tuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := u.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		u.push(t)
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&List{Items: items})
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := &Dict{}
		if err := setItems(d, items); err != nil {
			return err
		}
		u.push(d)
	case 'a': // APPEND
		v, err := u.pop()
		if err != nil {
			return err
		}
		return u.appendTo([]any{v})
	case 'e': // APPENDS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.appendTo(items)
	case 's': // SETITEM
		v, err := u.pop()
		if err != nil {
			return err
		}
		k, err := u.pop()
		if err != nil {
			return err
		}
		return u.setItems([]any{k, v})
	case 'u': // SETITEMS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.setItems(items)
	case 'q', 'r': // BINPUT, LONG_BINPUT
		k, err := u.readUint(map[byte]int{'q': 1, 'r': 4}[op])
		if err != nil {
			return err
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[uint32(k)] = v
	case 0x94: // MEMOIZE
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[uint32(len(u.memo))] = v
	case 'h', 'j': // BINGET, LONG_BINGET
		k, err := u.readUint(map[byte]int{'h': 1, 'j': 4}[op])
		if err != nil {
			return err
		}
		v, ok := u.memo[uint32(k)]
		if !ok {
			return fmt.Errorf("memo %d not set", k)
		}
		u.push(v)
	case 'c': // GLOBAL
		mod, err := u.readLine()
		if err != nil {
			return err
		}
		name, err := u.readLine()
		if err != nil {
			return err
		}
		return u.pushGlobal(global{mod, name})
	case 0x93: // STACK_GLOBAL
		name, err := u.pop()
		if err != nil {
			return err
		}
		mod, err := u.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return errors.New("STACK_GLOBAL of non-strings")
		}
		return u.pushGlobal(global{ms, ns})
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return err
		}
		st, err := u.persistent(pid)
		if err != nil {
			return err
		}
		u.push(st)
	case 'R': // REDUCE
		args, err := u.pop()
		if err != nil {
			return err
		}
		fn, err := u.pop()
		if err != nil {
			return err
		}
		v, err := u.reduce(fn, args)
		if err != nil {
			return err
		}
		u.push(v)
	case 'b': // BUILD
		state, err := u.pop()
		if err != nil {
			return err
		}
		obj, err := u.top()
		if err != nil {
			return err
		}
		// An OrderedDict's state is its attributes: a state_dict's _metadata (module
		// versions), which a checkpoint reader does not need.
		if _, ok := obj.(*Dict); !ok {
			return fmt.Errorf("BUILD on %T", obj)
		}
		_ = state
	case '0': // POP
		_, err := u.pop()
		return err
	default:
		return errors.New("unsupported pickle opcode")
	}
	return nil
}

func (u *unpickler) pushGlobal(g global) error {
	switch {
	case g == global{"collections", "OrderedDict"},
		g == global{"torch._utils", "_rebuild_tensor_v2"},
		g == global{"torch._utils", "_rebuild_parameter"}:
	case g.module == "torch" && storageTypes[g.name].dtype != "":
	default:
		return fmt.Errorf("unsupported class %s: this reader only reads dicts, lists, numbers, strings and tensors", g)
	}
	u.push(g)
	return nil
}

func (u *unpickler) appendTo(items []any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	l, ok := v.(*List)
	if !ok {
		return fmt.Errorf("APPEND to %T", v)
	}
	l.Items = append(l.Items, items...)
	return nil
}

func (u *unpickler) setItems(items []any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	d, ok := v.(*Dict)
	if !ok {
		return fmt.Errorf("SETITEM on %T", v)
	}
	return setItems(d, items)
}

func setItems(d *Dict, items []any) error {
	if len(items)%2 != 0 {
		return errors.New("odd number of dict items")
	}
	for i := 0; i < len(items); i += 2 {
		switch items[i].(type) {
		case string, int64, bool, nil, float64:
		default:
			return fmt.Errorf("dict key of type %T", items[i])
		}
		d.set(items[i], items[i+1])
	}
	return nil
}

// persistent resolves a storage reference ('storage', TYPE, KEY, LOCATION, NUMEL), to
// which the legacy format adds a view (None: storage views are not read).
func (u *unpickler) persistent(pid any) (*storage, error) {
	t, ok := pid.(Tuple)
	if !ok || len(t) != 5 && (len(t) != 6 || t[5] != nil) || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id %v: want ('storage', type, key, location, numel)", Describe(pid))
	}
	g, ok1 := t[1].(global)
	key, ok2 := t[2].(string)
	numel, ok3 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || numel < 0 || numel > MaxElements {
		return nil, fmt.Errorf("persistent id %v: want ('storage', type, key, location, numel)", pid)
	}
	st, ok := storageTypes[g.name]
	if !ok || g.module != "torch" {
		return nil, fmt.Errorf("storage type %s", g)
	}
	if s, ok := u.storages[key]; ok {
		if s.dtype != st.dtype {
			return nil, fmt.Errorf("storage %s used as %s and %s", key, s.dtype, st.dtype)
		}
		if int(numel) > s.numel {
			s.numel = int(numel)
		}
		return s, nil
	}
	s := &storage{key: key, dtype: st.dtype, numel: int(numel)}
	u.storages[key] = s
	return s, nil
}

// load reads a storage's file.
func (u *unpickler) load(s *storage) error {
	if s.loaded {
		return nil
	}
	name := u.prefix + "/data/" + s.key
	f, ok := u.files[name]
	if u.files == nil {
		return fmt.Errorf("storage %s is used but never written", s.key)
	}
	if !ok {
		return fmt.Errorf("storage %s: no file %s", s.key, name)
	}
	size := storageTypes[typeName(s.dtype)].size
	if f.UncompressedSize64 != uint64(s.numel*size) {
		return fmt.Errorf("storage %s: %s holds %d bytes, want %d elements of %d bytes", s.key, name, f.UncompressedSize64, s.numel, size)
	}
	b, err := readZip(f)
	if err != nil {
		return err
	}
	if len(b) != s.numel*size {
		return fmt.Errorf("storage %s: %s holds %d bytes, want %d", s.key, name, len(b), s.numel*size)
	}
	s.set(b)
	return nil
}

// set decodes the storage's little-endian bytes b, numel elements of its type.
func (s *storage) set(b []byte) {
	le := binary.LittleEndian
	switch s.dtype {
	case "float32":
		s.f32 = make([]float32, s.numel)
		for i := range s.f32 {
			s.f32[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case "float64":
		s.f64 = make([]float64, s.numel)
		for i := range s.f64 {
			s.f64[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
	default:
		s.i64 = make([]int64, s.numel)
		for i := range s.i64 {
			switch s.dtype {
			case "int64":
				s.i64[i] = int64(le.Uint64(b[8*i:]))
			case "int32":
				s.i64[i] = int64(int32(le.Uint32(b[4*i:])))
			case "int16":
				s.i64[i] = int64(int16(le.Uint16(b[2*i:])))
			case "int8":
				s.i64[i] = int64(int8(b[i]))
			case "uint8", "bool":
				s.i64[i] = int64(b[i])
			}
		}
	}
	s.loaded = true
}

func typeName(dtype string) string {
	for name, st := range storageTypes {
		if st.dtype == dtype {
			return name
		}
	}
	panic("torchsave: unknown dtype " + dtype)
}

func (u *unpickler) reduce(fn, args any) (any, error) {
	g, ok := fn.(global)
	a, ok2 := args.(Tuple)
	if !ok || !ok2 {
		return nil, fmt.Errorf("REDUCE of %T with %T", fn, args)
	}
	switch g {
	case global{"collections", "OrderedDict"}:
		if len(a) != 0 {
			return nil, errors.New("OrderedDict with arguments")
		}
		return &Dict{}, nil
	case global{"torch._utils", "_rebuild_parameter"}:
		// (data, requires_grad, backward_hooks)
		if len(a) != 3 {
			return nil, fmt.Errorf("_rebuild_parameter with %d arguments", len(a))
		}
		t, ok := a[0].(*Tensor)
		if !ok {
			return nil, fmt.Errorf("_rebuild_parameter of %T", a[0])
		}
		return t, nil
	case global{"torch._utils", "_rebuild_tensor_v2"}:
		// (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
		if len(a) < 6 {
			return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(a))
		}
		s, ok := a[0].(*storage)
		offset, ok2 := a[1].(int64)
		size, ok3 := a[2].(Tuple)
		stride, ok4 := a[3].(Tuple)
		if !ok || !ok2 || !ok3 || !ok4 || len(size) != len(stride) {
			return nil, errors.New("_rebuild_tensor_v2: malformed arguments")
		}
		return u.tensor(s, offset, size, stride)
	}
	return nil, fmt.Errorf("cannot call %s", g)
}

// tensor returns the (possibly strided) view of s the arguments describe, as a contiguous
// tensor whose elements fill gathers once the storages are read.
func (u *unpickler) tensor(s *storage, offset int64, size, stride Tuple) (*Tensor, error) {
	t := &Tensor{Shape: make([]int, len(size)), DType: s.dtype}
	if s.dtype != "float32" && s.dtype != "float64" {
		t.DType = "int64"
	}
	strides := make([]int64, len(size))
	last := offset // the largest element index the view reads
	n := 1
	for i := range size {
		d, ok1 := size[i].(int64)
		st, ok2 := stride[i].(int64)
		if !ok1 || !ok2 || d < 0 || st < 0 {
			return nil, fmt.Errorf("tensor size %v, stride %v", size, stride)
		}
		if d > MaxElements || st > MaxElements || d != 0 && n > MaxElements/int(d) {
			return nil, fmt.Errorf("tensor size %v, stride %v: more than %d elements", size, stride, MaxElements)
		}
		t.Shape[i], strides[i] = int(d), st
		n *= int(d)
		if d > 0 {
			last += (d - 1) * st
		}
	}
	if offset < 0 {
		return nil, fmt.Errorf("tensor at offset %d", offset)
	}
	if n == 0 {
		last = -1
	}
	u.pending = append(u.pending, pendingTensor{t: t, s: s, offset: offset, strides: strides, last: last})
	return t, nil
}

// fill gathers the elements of every tensor from its storage, reading the storages of a
// zip archive as they are first needed.
func (u *unpickler) fill() error {
	for _, p := range u.pending {
		s, t := p.s, p.t
		if err := u.load(s); err != nil {
			return err
		}
		if p.last >= int64(s.numel) {
			return fmt.Errorf("tensor of size %v, stride %v at offset %d reads past storage %s of %d elements", t.Shape, p.strides, p.offset, s.key, s.numel)
		}
		n := t.Numel()
		idx := make([]int, len(t.Shape))
		at := func() int64 { // storage index of the element at idx
			q := p.offset
			for i, v := range idx {
				q += int64(v) * p.strides[i]
			}
			return q
		}
		next := func() {
			for i := len(idx) - 1; i >= 0; i-- {
				idx[i]++
				if idx[i] < t.Shape[i] {
					return
				}
				idx[i] = 0
			}
		}
		switch t.DType {
		case "float32":
			t.F32 = make([]float32, n)
			for i := range n {
				t.F32[i] = s.f32[at()]
				next()
			}
		case "float64":
			t.F64 = make([]float64, n)
			for i := range n {
				t.F64[i] = s.f64[at()]
				next()
			}
		default:
			t.I64 = make([]int64, n)
			for i := range n {
				t.I64[i] = s.i64[at()]
				next()
			}
		}
	}
	u.pending = nil
	return nil
}

// Describe names a value's type for error messages: "tensor float32 [8 3 3 3]", "dict",
// "int 3".
func Describe(v any) string {
	switch x := v.(type) {
	case *Tensor:
		return fmt.Sprintf("tensor %s %v", x.DType, x.Shape)
	case *Dict:
		return fmt.Sprintf("dict of %d items", len(x.Items))
	case *List:
		return fmt.Sprintf("list of %d items", len(x.Items))
	case Tuple:
		return fmt.Sprintf("tuple of %d items", len(x))
	case string:
		return strconv.Quote(x)
	case nil:
		return "None"
	}
	return fmt.Sprintf("%T %v", v, v)
}
