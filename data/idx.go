package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// MNISTClasses are the MNIST class names (the digits) in label order.
var MNISTClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// FashionMNISTClasses are the Fashion-MNIST class names in label order.
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

func openIDX(dir string, classes []string) (*Dataset, error) {
	d := &Dataset{Classes: classes}
	for _, part := range []struct {
		prefix string
		split  *Split
	}{{"train", &d.Train}, {"t10k", &d.Test}} {
		imgPath, err := findFile(dir, part.prefix+"-images-idx3-ubyte", part.prefix+"-images-idx3-ubyte.gz", part.prefix+"-images.idx3-ubyte")
		if err != nil {
			return nil, err
		}
		lblPath, err := findFile(dir, part.prefix+"-labels-idx1-ubyte", part.prefix+"-labels-idx1-ubyte.gz", part.prefix+"-labels.idx1-ubyte")
		if err != nil {
			return nil, err
		}
		images, dims, err := readIDX(imgPath, 3)
		if err != nil {
			return nil, err
		}
		labels, ldims, err := readIDX(lblPath, 1)
		if err != nil {
			return nil, err
		}
		if ldims[0] != dims[0] {
			return nil, formatErr(lblPath, -1, nil, "has %d labels but %s has %d images", ldims[0], filepath.Base(imgPath), dims[0])
		}
		s := Split{C: 1, H: dims[1], W: dims[2], Pixels: images, Labels: make([]int32, len(labels))}
		for i, l := range labels {
			if int(l) >= len(classes) {
				return nil, formatErr(lblPath, i, nil, "label %d out of range [0, %d)", l, len(classes))
			}
			s.Labels[i] = int32(l)
		}
		*part.split = s
	}
	if d.Train.H != d.Test.H || d.Train.W != d.Test.W {
		return nil, formatErr(dir, -1, nil, "training images are %dx%d but test images %dx%d", d.Train.H, d.Train.W, d.Test.H, d.Test.W)
	}
	return d, nil
}

// readIDX reads an IDX file of unsigned bytes with the given number of dimensions, gunzipping it
// if it starts with the gzip magic. It returns the data and the dimensions.
func readIDX(path string, ndim int) ([]uint8, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &FormatError{Path: path, Record: -1, Msg: "cannot open", Err: err}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, &FormatError{Path: path, Record: -1, Msg: "bad gzip stream", Err: err}
		}
		defer zr.Close()
		r = zr
	}
	head := make([]byte, 4+4*ndim)
	if _, err := io.ReadFull(r, head[:4]); err != nil {
		return nil, nil, &FormatError{Path: path, Record: -1, Msg: "truncated IDX header", Err: err}
	}
	if head[0] != 0 || head[1] != 0 || head[2] != 0x08 || int(head[3]) != ndim {
		return nil, nil, formatErr(path, -1, nil, "bad IDX magic % x: want 00 00 08 %02x (unsigned bytes, %d dimensions)", head[:4], ndim, ndim)
	}
	if _, err := io.ReadFull(r, head[4:]); err != nil {
		return nil, nil, &FormatError{Path: path, Record: -1, Msg: "truncated IDX header", Err: err}
	}
	dims := make([]int, ndim)
	total := 1
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(head[4+4*i:]))
		if dims[i] == 0 || dims[i] > 1<<24 {
			return nil, nil, formatErr(path, -1, nil, "bad IDX dimension %d: %d", i, dims[i])
		}
		total *= dims[i]
		if total > 1<<34 {
			return nil, nil, formatErr(path, -1, nil, "IDX dimensions %v too large", dims)
		}
	}
	buf := make([]uint8, total)
	if n, err := io.ReadFull(r, buf); err != nil {
		rec := n
		if ndim > 1 {
			rec = n / (total / dims[0])
		}
		return nil, nil, &FormatError{Path: path, Record: rec, Msg: "truncated IDX data", Err: err}
	}
	// Anything after the data is a sign of wrong dimensions.
	var one [1]byte
	if n, err := r.Read(one[:]); n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
		if err != nil {
			return nil, nil, &FormatError{Path: path, Record: -1, Msg: "reading", Err: err}
		}
		return nil, nil, formatErr(path, -1, nil, "data continues after the %v elements the header declares", dims)
	}
	return buf, dims, nil
}
