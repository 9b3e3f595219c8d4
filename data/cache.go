package data

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/msdx/msdx/internal/atomicfile"
)

// The cache file of a decoded image folder: cacheMagic, a little-endian uint32 length, a JSON
// cacheHeader, then the training pixels, the training labels as little-endian int32, the test
// pixels and the test labels.
const cacheMagic = "MSDXIMG1"

type cacheHeader struct {
	Key         string   `json:"key"`
	Classes     []string `json:"classes"`
	C           int      `json:"c"`
	H           int      `json:"h"`
	W           int      `json:"w"`
	Train       int      `json:"train"`
	Test        int      `json:"test"`
	Fingerprint string   `json:"fingerprint"`
}

func writeCache(name, key string, d *Dataset) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	head, err := json.Marshal(cacheHeader{Key: key, Classes: d.Classes, C: d.Train.C, H: d.Train.H, W: d.Train.W,
		Train: d.Train.Len(), Test: d.Test.Len(), Fingerprint: d.Fingerprint})
	if err != nil {
		return err
	}
	return atomicfile.Write(name, 0o644, func(w io.Writer) error {
		io.WriteString(w, cacheMagic)
		binary.Write(w, binary.LittleEndian, uint32(len(head)))
		w.Write(head)
		for _, s := range []*Split{&d.Train, &d.Test} {
			if _, err := w.Write(s.Pixels); err != nil {
				return err
			}
			if err := binary.Write(w, binary.LittleEndian, s.Labels); err != nil {
				return err
			}
		}
		return nil
	})
}

// readCache loads a cache file and checks that it belongs to key and that its content still has
// the recorded fingerprint, so a damaged cache is never used.
func readCache(name, key string) (*Dataset, error) {
	buf, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(buf) < len(cacheMagic)+4 || string(buf[:len(cacheMagic)]) != cacheMagic {
		return nil, errors.New("not a cache file")
	}
	buf = buf[len(cacheMagic):]
	n := int(binary.LittleEndian.Uint32(buf))
	buf = buf[4:]
	if n > len(buf) {
		return nil, errors.New("truncated cache header")
	}
	var h cacheHeader
	if err := json.NewDecoder(bytes.NewReader(buf[:n])).Decode(&h); err != nil {
		return nil, err
	}
	buf = buf[n:]
	if h.Key != key {
		return nil, errors.New("cache key mismatch")
	}
	if h.C <= 0 || h.H <= 0 || h.W <= 0 || h.Train < 0 || h.Test < 0 {
		return nil, errors.New("bad cache shape")
	}
	d := &Dataset{Classes: h.Classes}
	for _, part := range []struct {
		n int
		s *Split
	}{{h.Train, &d.Train}, {h.Test, &d.Test}} {
		size := part.n * h.C * h.H * h.W
		if len(buf) < size+4*part.n {
			return nil, errors.New("truncated cache")
		}
		*part.s = Split{C: h.C, H: h.H, W: h.W, Pixels: buf[:size:size], Labels: make([]int32, part.n)}
		buf = buf[size:]
		for i := range part.s.Labels {
			part.s.Labels[i] = int32(binary.LittleEndian.Uint32(buf[4*i:]))
			if part.s.Labels[i] < 0 || int(part.s.Labels[i]) >= len(h.Classes) {
				return nil, errors.New("bad cached label")
			}
		}
		buf = buf[4*part.n:]
	}
	if len(buf) != 0 {
		return nil, errors.New("trailing bytes in cache")
	}
	d.Fingerprint = Fingerprint(d.Classes, &d.Train, &d.Test)
	if d.Fingerprint != h.Fingerprint {
		return nil, fmt.Errorf("cache content does not match its fingerprint")
	}
	return d, nil
}
