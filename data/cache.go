package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// The cache file of a decoded image folder, written once and then memory-mapped:
//
//	cacheMagic
//	evaluation images: C×H×W uint8 each, training then test then validation images
//	stored images (resized folders only): C×h×w uint8 each, in the same order
//	labels: int32 little-endian, one per image
//	sizes (resized folders only): h and w of each stored image, int32 little-endian
//	header: JSON cacheHeader
//	the header's length as a little-endian uint64, then cacheMagic again
//
// The pixels stay on disk: a dataset opened from the cache reads them through the page cache,
// so a folder larger than memory costs only its working set.
const cacheMagic = "MSDXIMG2"

type cacheHeader struct {
	Key         string   `json:"key"`
	Fingerprint string   `json:"fingerprint"`
	Classes     []string `json:"classes"`
	C           int      `json:"c"`
	H           int      `json:"h"`
	W           int      `json:"w"`
	// Counts are the images of the training, test and validation splits.
	Counts  [3]int `json:"counts"`
	Resized bool   `json:"resized"`
	// Offsets of the regions in the file.
	EvalOffset   int64 `json:"eval_offset"`
	StoredOffset int64 `json:"stored_offset"`
	LabelsOffset int64 `json:"labels_offset"`
	SizesOffset  int64 `json:"sizes_offset"`
	// SHA-256 of the evaluation and stored regions, checked when the cache is opened.
	EvalSHA256   string `json:"eval_sha256"`
	StoredSHA256 string `json:"stored_sha256"`
	// What the decoding found, for Preprocessing.
	Colour  map[string]int `json:"colour"`
	Skipped []BadImage     `json:"skipped,omitempty"`
}

// openCache maps a cache file and checks that it belongs to key, that its regions lie in
// the file and, when verify, that its pixels have the recorded checksums, so a damaged cache
// is never used (a file build has just written and synced needs no second reading).
func openCache(name, key string, verify bool) (*Dataset, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	trailer := int64(8 + len(cacheMagic))
	if size < int64(len(cacheMagic))+trailer {
		return nil, errors.New("not a cache file")
	}
	buf, err := mapFile(f, size)
	if err != nil {
		return nil, err
	}
	if string(buf[:len(cacheMagic)]) != cacheMagic || string(buf[size-int64(len(cacheMagic)):]) != cacheMagic {
		return nil, errors.New("not a cache file")
	}
	n := int64(binary.LittleEndian.Uint64(buf[size-trailer:]))
	if n <= 0 || n > size-trailer-int64(len(cacheMagic)) {
		return nil, errors.New("bad cache header length")
	}
	headEnd := size - trailer
	var h cacheHeader
	if err := json.Unmarshal(buf[headEnd-n:headEnd], &h); err != nil {
		return nil, err
	}
	if h.Key != key {
		return nil, errors.New("cache key mismatch")
	}
	total := h.Counts[0] + h.Counts[1] + h.Counts[2]
	if h.C <= 0 || h.H <= 0 || h.W <= 0 || h.Counts[0] < 0 || h.Counts[1] < 0 || h.Counts[2] < 0 {
		return nil, errors.New("bad cache shape")
	}
	img := int64(h.C * h.H * h.W)
	inFile := func(off, length int64) bool {
		return off >= int64(len(cacheMagic)) && length >= 0 && off+length <= headEnd-n
	}
	if !inFile(h.EvalOffset, img*int64(total)) || !inFile(h.LabelsOffset, 4*int64(total)) {
		return nil, errors.New("cache regions out of the file")
	}
	labels := make([]int32, total)
	for i := range labels {
		labels[i] = int32(binary.LittleEndian.Uint32(buf[h.LabelsOffset+4*int64(i):]))
		if labels[i] < 0 || int(labels[i]) >= len(h.Classes) {
			return nil, errors.New("bad cached label")
		}
	}
	eval := buf[h.EvalOffset : h.EvalOffset+img*int64(total)]
	var stored []byte
	var heights, widths []int32
	var offsets []int64
	if h.Resized {
		if !inFile(h.SizesOffset, 8*int64(total)) {
			return nil, errors.New("cache regions out of the file")
		}
		heights, widths, offsets = make([]int32, total), make([]int32, total), make([]int64, total+1)
		for i := range total {
			heights[i] = int32(binary.LittleEndian.Uint32(buf[h.SizesOffset+8*int64(i):]))
			widths[i] = int32(binary.LittleEndian.Uint32(buf[h.SizesOffset+8*int64(i)+4:]))
			if heights[i] < int32(h.H) || widths[i] < int32(h.W) {
				return nil, errors.New("bad cached image size")
			}
			offsets[i+1] = offsets[i] + int64(h.C)*int64(heights[i])*int64(widths[i])
		}
		if !inFile(h.StoredOffset, offsets[total]) {
			return nil, errors.New("cache regions out of the file")
		}
		stored = buf[h.StoredOffset : h.StoredOffset+offsets[total]]
	}
	if verify {
		var evalSum, storedSum string
		var wg sync.WaitGroup
		wg.Go(func() { evalSum = hexSum(eval) })
		wg.Go(func() { storedSum = hexSum(stored) })
		wg.Wait()
		if evalSum != h.EvalSHA256 || storedSum != h.StoredSHA256 {
			return nil, errors.New("cache content does not match its checksums")
		}
	}
	d := &Dataset{Classes: h.Classes, Fingerprint: h.Fingerprint, Preprocessing: &Preprocessing{Colour: h.Colour, Skipped: h.Skipped}}
	start := 0
	for s, split := range []*Split{&d.Train, &d.Test, &d.Val} {
		k := h.Counts[s]
		*split = Split{C: h.C, H: h.H, W: h.W, Pixels: eval[int64(start)*img : int64(start+k)*img : int64(start+k)*img], Labels: labels[start : start+k : start+k]}
		if h.Resized {
			base := offsets[start]
			r := &Ragged{C: h.C, Heights: heights[start : start+k], Widths: widths[start : start+k], Offsets: make([]int64, k)}
			for i := range k {
				r.Offsets[i] = offsets[start+i] - base
			}
			r.Pixels = stored[base:offsets[start+k]]
			split.Full = r
		}
		start += k
	}
	return d, nil
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// writeCacheTrailer writes the header and the trailer at off.
func writeCacheTrailer(f *os.File, off int64, h *cacheHeader) error {
	head, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(head)))
	buf := append(append(head, n[:]...), cacheMagic...)
	if _, err := f.WriteAt(buf, off); err != nil {
		return fmt.Errorf("writing the cache: %w", err)
	}
	return nil
}
