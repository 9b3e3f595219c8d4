package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
)

// A reader of the Python pickles torchvision's CIFAR folders hold (cifar-10-batches-py,
// cifar-100-python): protocol 2 files written by Python 2, dicts of byte strings, lists of
// ints and numpy uint8 arrays. It runs the pickle machine for the opcodes such files use
// (and those Python 3 writes for the same objects, protocols 2 to 5), and builds only
// numpy arrays, numpy dtypes and byte strings from _codecs.encode: any other class or
// callable is an error, so a pickle never runs code. A reader of this fixed format is a
// few hundred lines; no well-kept Go pickle library reads numpy arrays.

type pyTuple []any

type pyList struct{ items []any }

type pyDict struct {
	keys []string // insertion order
	m    map[string]any
}

type pyGlobal struct{ module, name string }

type ndarray struct {
	shape []int
	dtype string
	data  []byte
}

type pyDtype struct{ str string }

type pyMark struct{}

// unpickle decodes one pickle.
func unpickle(b []byte) (any, error) {
	var stack []any
	memo := map[int]any{}
	pos := 0
	need := func(n int) ([]byte, error) {
		if n < 0 || pos+n > len(b) {
			return nil, errors.New("truncated pickle")
		}
		s := b[pos : pos+n]
		pos += n
		return s, nil
	}
	pop := func() (any, error) {
		if len(stack) == 0 {
			return nil, errors.New("pickle stack underflow")
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	popMark := func() ([]any, error) {
		for i := len(stack) - 1; i >= 0; i-- {
			if _, ok := stack[i].(pyMark); ok {
				items := slices.Clone(stack[i+1:])
				stack = stack[:i]
				return items, nil
			}
		}
		return nil, errors.New("pickle mark not found")
	}
	top := func() (any, error) {
		if len(stack) == 0 {
			return nil, errors.New("pickle stack underflow")
		}
		return stack[len(stack)-1], nil
	}
	readLine := func() (string, error) {
		i := strings.IndexByte(string(b[pos:min(len(b), pos+256)]), '\n')
		if i < 0 {
			return "", errors.New("truncated pickle")
		}
		s := string(b[pos : pos+i])
		pos += i + 1
		return s, nil
	}
	for {
		if pos >= len(b) {
			return nil, errors.New("truncated pickle: no STOP")
		}
		op := b[pos]
		pos++
		var err error
		switch op {
		case 0x80: // PROTO
			_, err = need(1)
		case 0x95: // FRAME
			_, err = need(8)
		case '.': // STOP
			v, err := pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case '(': // MARK
			stack = append(stack, pyMark{})
		case '}': // EMPTY_DICT
			stack = append(stack, &pyDict{m: map[string]any{}})
		case ']': // EMPTY_LIST
			stack = append(stack, &pyList{})
		case ')': // EMPTY_TUPLE
			stack = append(stack, pyTuple{})
		case 'N':
			stack = append(stack, nil)
		case 0x88:
			stack = append(stack, true)
		case 0x89:
			stack = append(stack, false)
		case 'K', 'M', 'J': // BININT1, BININT2, BININT
			n := map[byte]int{'K': 1, 'M': 2, 'J': 4}[op]
			var s []byte
			if s, err = need(n); err == nil {
				switch n {
				case 1:
					stack = append(stack, int64(s[0]))
				case 2:
					stack = append(stack, int64(binary.LittleEndian.Uint16(s)))
				default:
					stack = append(stack, int64(int32(binary.LittleEndian.Uint32(s))))
				}
			}
		case 0x8a: // LONG1
			var s []byte
			if s, err = need(1); err == nil {
				if s, err = need(int(s[0])); err == nil {
					// Little-endian two's complement.
					be := slices.Clone(s)
					slices.Reverse(be)
					v := new(big.Int).SetBytes(be)
					if len(be) > 0 && be[0]&0x80 != 0 {
						v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(be))))
					}
					if !v.IsInt64() {
						return nil, errors.New("pickle integer out of range")
					}
					stack = append(stack, v.Int64())
				}
			}
		case 'G': // BINFLOAT
			var s []byte
			if s, err = need(8); err == nil {
				stack = append(stack, math.Float64frombits(binary.BigEndian.Uint64(s)))
			}
		case 'U', 'T', 'C', 'B', 0x8e, 'X', 0x8c, 0x8d: // byte and unicode strings
			var n int
			switch op {
			case 'U', 'C', 0x8c:
				var s []byte
				if s, err = need(1); err == nil {
					n = int(s[0])
				}
			case 'T', 'B', 'X':
				var s []byte
				if s, err = need(4); err == nil {
					n = int(int32(binary.LittleEndian.Uint32(s)))
				}
			default:
				var s []byte
				if s, err = need(8); err == nil {
					u := binary.LittleEndian.Uint64(s)
					if u > uint64(len(b)) {
						return nil, errors.New("truncated pickle")
					}
					n = int(u)
				}
			}
			if err == nil {
				var s []byte
				if s, err = need(n); err == nil {
					if op == 'X' || op == 0x8c || op == 0x8d {
						stack = append(stack, string(s))
					} else {
						stack = append(stack, s)
					}
				}
			}
		case 'q', 'r': // BINPUT, LONG_BINPUT
			n := 1
			if op == 'r' {
				n = 4
			}
			var s []byte
			if s, err = need(n); err == nil {
				var v any
				if v, err = top(); err == nil {
					memo[idx(s)] = v
				}
			}
		case 0x94: // MEMOIZE
			var v any
			if v, err = top(); err == nil {
				memo[len(memo)] = v
			}
		case 'h', 'j': // BINGET, LONG_BINGET
			n := 1
			if op == 'j' {
				n = 4
			}
			var s []byte
			if s, err = need(n); err == nil {
				v, ok := memo[idx(s)]
				if !ok {
					return nil, errors.New("pickle memo key not found")
				}
				stack = append(stack, v)
			}
		case 'c': // GLOBAL
			var mod, name string
			if mod, err = readLine(); err == nil {
				if name, err = readLine(); err == nil {
					stack = append(stack, pyGlobal{mod, name})
				}
			}
		case 0x93: // STACK_GLOBAL
			var name, mod any
			if name, err = pop(); err == nil {
				if mod, err = pop(); err == nil {
					ms, ok1 := mod.(string)
					ns, ok2 := name.(string)
					if !ok1 || !ok2 {
						return nil, errors.New("pickle STACK_GLOBAL of non-strings")
					}
					stack = append(stack, pyGlobal{ms, ns})
				}
			}
		case 't': // TUPLE
			var items []any
			if items, err = popMark(); err == nil {
				stack = append(stack, pyTuple(items))
			}
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			if len(stack) < n {
				return nil, errors.New("pickle stack underflow")
			}
			t := pyTuple(slices.Clone(stack[len(stack)-n:]))
			stack = append(stack[:len(stack)-n], t)
		case 'l': // LIST
			var items []any
			if items, err = popMark(); err == nil {
				stack = append(stack, &pyList{items})
			}
		case 'a', 'e': // APPEND, APPENDS
			var items []any
			if op == 'a' {
				var v any
				if v, err = pop(); err == nil {
					items = []any{v}
				}
			} else {
				items, err = popMark()
			}
			if err == nil {
				var t any
				if t, err = top(); err == nil {
					l, ok := t.(*pyList)
					if !ok {
						return nil, errors.New("pickle APPEND to a non-list")
					}
					l.items = append(l.items, items...)
				}
			}
		case 'd', 's', 'u': // DICT, SETITEM, SETITEMS
			var items []any
			switch op {
			case 's':
				if len(stack) < 2 {
					return nil, errors.New("pickle stack underflow")
				}
				items = slices.Clone(stack[len(stack)-2:])
				stack = stack[:len(stack)-2]
			default:
				items, err = popMark()
			}
			if err != nil {
				break
			}
			if op == 'd' {
				stack = append(stack, &pyDict{m: map[string]any{}})
			}
			var t any
			if t, err = top(); err != nil {
				break
			}
			d, ok := t.(*pyDict)
			if !ok || len(items)%2 != 0 {
				return nil, errors.New("pickle SETITEMS to a non-dict")
			}
			for i := 0; i < len(items); i += 2 {
				var k string
				switch kv := items[i].(type) {
				case string:
					k = kv
				case []byte:
					k = string(kv)
				default:
					return nil, fmt.Errorf("pickle dict key of type %T", items[i])
				}
				if _, dup := d.m[k]; !dup {
					d.keys = append(d.keys, k)
				}
				d.m[k] = items[i+1]
			}
		case 'R': // REDUCE
			var args, fn any
			if args, err = pop(); err == nil {
				if fn, err = pop(); err == nil {
					var v any
					if v, err = reduce(fn, args); err == nil {
						stack = append(stack, v)
					}
				}
			}
		case 'b': // BUILD
			var state, obj any
			if state, err = pop(); err == nil {
				if obj, err = top(); err == nil {
					err = build(obj, state)
				}
			}
		default:
			return nil, fmt.Errorf("unsupported pickle opcode 0x%02x at byte %d", op, pos-1)
		}
		if err != nil {
			return nil, err
		}
	}
}

func idx(s []byte) int {
	if len(s) == 1 {
		return int(s[0])
	}
	return int(binary.LittleEndian.Uint32(s))
}

// reduce calls the few callables CIFAR pickles use.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(pyGlobal)
	a, ok2 := args.(pyTuple)
	if !ok || !ok2 {
		return nil, errors.New("pickle REDUCE of a non-global")
	}
	switch g {
	case pyGlobal{"numpy.core.multiarray", "_reconstruct"}, pyGlobal{"numpy._core.multiarray", "_reconstruct"}:
		if len(a) < 1 || a[0] != (pyGlobal{"numpy", "ndarray"}) {
			return nil, errors.New("pickle: numpy _reconstruct of a non-ndarray")
		}
		return &ndarray{}, nil
	case pyGlobal{"numpy", "dtype"}:
		if len(a) < 1 {
			return nil, errors.New("pickle: bad numpy dtype")
		}
		s, ok := pyString(a[0])
		if !ok {
			return nil, errors.New("pickle: bad numpy dtype")
		}
		return &pyDtype{s}, nil
	case pyGlobal{"_codecs", "encode"}:
		// Python 3's protocol-2 form of bytes: _codecs.encode(str, "latin1").
		if len(a) != 2 {
			return nil, errors.New("pickle: bad _codecs.encode")
		}
		s, ok := pyString(a[0])
		if !ok {
			return nil, errors.New("pickle: bad _codecs.encode")
		}
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, errors.New("pickle: _codecs.encode of a non-latin1 string")
			}
			out = append(out, byte(r))
		}
		return out, nil
	}
	return nil, fmt.Errorf("pickle calls %s.%s, which a CIFAR file does not", g.module, g.name)
}

func pyString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}

// build sets the state of a numpy array (version, shape, dtype, is_fortran, data) or dtype.
func build(obj, state any) error {
	switch o := obj.(type) {
	case *pyDtype:
		st, ok := state.(pyTuple)
		if !ok || len(st) < 2 {
			return errors.New("pickle: bad numpy dtype state")
		}
		if order, _ := pyString(st[1]); order != "|" && order != "<" && order != "=" {
			return fmt.Errorf("pickle: numpy dtype with byte order %q", order)
		}
		return nil
	case *ndarray:
		st, ok := state.(pyTuple)
		if !ok || len(st) != 5 {
			return errors.New("pickle: bad numpy array state")
		}
		shape, ok := st[1].(pyTuple)
		if !ok {
			return errors.New("pickle: bad numpy array shape")
		}
		for _, d := range shape {
			n, ok := d.(int64)
			if !ok || n < 0 {
				return errors.New("pickle: bad numpy array shape")
			}
			o.shape = append(o.shape, int(n))
		}
		dt, ok := st[2].(*pyDtype)
		if !ok {
			return errors.New("pickle: bad numpy array dtype")
		}
		o.dtype = dt.str
		if fortran, _ := st[3].(bool); fortran {
			return errors.New("pickle: Fortran-ordered numpy array")
		}
		if f, ok := st[3].(int64); ok && f != 0 {
			return errors.New("pickle: Fortran-ordered numpy array")
		}
		data, ok := st[4].([]byte)
		if !ok {
			return errors.New("pickle: numpy array data is not a byte string")
		}
		o.data = data
		return nil
	}
	return fmt.Errorf("pickle BUILD of %T", obj)
}
