package data

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR10Classes are the CIFAR-10 class names in label order.
var CIFAR10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// CIFAR100Classes are the CIFAR-100 fine class names in label order.
var CIFAR100Classes = []string{
	"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
	"bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
	"chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
	"dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
	"lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
	"mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
	"plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
	"rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
	"squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
	"train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
}

const cifarImage = 3 * 32 * 32

// cifarDir returns dir, or its subfolder sub if the files are there (as the official archives
// unpack).
func cifarDir(dir, sub, probe string) string {
	if _, err := os.Stat(filepath.Join(dir, probe)); err != nil {
		if _, err := os.Stat(filepath.Join(dir, sub, probe)); err == nil {
			return filepath.Join(dir, sub)
		}
	}
	return dir
}

// pickleDir returns the folder of torchvision's CIFAR pickles (dir or dir/sub, probed by the
// file probe), or "" when dir or dir/binSub holds the binary version (probed by binProbe),
// which is read first as before, or neither.
func pickleDir(dir, sub, probe, binSub, binProbe string) string {
	if exists(filepath.Join(dir, binProbe)) || exists(filepath.Join(dir, binSub, binProbe)) {
		return ""
	}
	if d := cifarDir(dir, sub, probe); exists(filepath.Join(d, probe)) {
		return d
	}
	return ""
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

func openCIFAR10(dir string) (*Dataset, error) {
	if py := pickleDir(dir, "cifar-10-batches-py", "test_batch", "cifar-10-batches-bin", "test_batch.bin"); py != "" {
		return openCIFARPickles(py, "batches.meta", "label_names", "labels", CIFAR10Classes,
			[]string{"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"}, "test_batch")
	}
	dir = cifarDir(dir, "cifar-10-batches-bin", "test_batch.bin")
	d := &Dataset{Classes: CIFAR10Classes}
	if names, err := readClassNames(filepath.Join(dir, "batches.meta.txt"), 10); err != nil {
		return nil, err
	} else if names != nil {
		d.Classes = names
	}
	d.Train = Split{C: 3, H: 32, W: 32}
	for i := 1; i <= 5; i++ {
		p, err := findFile(dir, "data_batch_"+string(rune('0'+i))+".bin")
		if err != nil {
			return nil, err
		}
		if err := readCIFARFile(p, 0, 10, &d.Train); err != nil {
			return nil, err
		}
	}
	d.Test = Split{C: 3, H: 32, W: 32}
	p, err := findFile(dir, "test_batch.bin")
	if err != nil {
		return nil, err
	}
	if err := readCIFARFile(p, 0, 10, &d.Test); err != nil {
		return nil, err
	}
	return d, nil
}

func openCIFAR100(dir string) (*Dataset, error) {
	if py := pickleDir(dir, "cifar-100-python", "test", "cifar-100-binary", "test.bin"); py != "" {
		return openCIFARPickles(py, "meta", "fine_label_names", "fine_labels", CIFAR100Classes, []string{"train"}, "test")
	}
	dir = cifarDir(dir, "cifar-100-binary", "test.bin")
	d := &Dataset{Classes: CIFAR100Classes}
	if names, err := readClassNames(filepath.Join(dir, "fine_label_names.txt"), 100); err != nil {
		return nil, err
	} else if names != nil {
		d.Classes = names
	}
	for _, part := range []struct {
		name  string
		split *Split
	}{{"train.bin", &d.Train}, {"test.bin", &d.Test}} {
		p, err := findFile(dir, part.name)
		if err != nil {
			return nil, err
		}
		*part.split = Split{C: 3, H: 32, W: 32}
		if err := readCIFARFile(p, 1, 100, part.split); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// readCIFARFile appends the records of a CIFAR binary file to s. Each record is labelBytes+1
// label bytes (CIFAR-100 has a coarse label, with values below 20, before the fine one) then 3072
// pixels; the last label byte is the class, which must be below classes.
func readCIFARFile(path string, coarse, classes int, s *Split) error {
	buf, err := os.ReadFile(path)
	if err != nil {
		return &FormatError{Path: path, Record: -1, Msg: "cannot read", Err: err}
	}
	rec := coarse + 1 + cifarImage
	if len(buf) == 0 {
		return formatErr(path, -1, nil, "empty file")
	}
	if len(buf)%rec != 0 {
		return formatErr(path, len(buf)/rec, nil, "truncated: file has %d bytes, not a multiple of the %d-byte record", len(buf), rec)
	}
	n := len(buf) / rec
	s.Pixels = growBytes(s.Pixels, n*cifarImage)
	for i := range n {
		r := buf[i*rec : (i+1)*rec]
		if coarse == 1 && r[0] >= 20 {
			return formatErr(path, i, nil, "coarse label %d out of range [0, 20)", r[0])
		}
		label := r[coarse]
		if int(label) >= classes {
			return formatErr(path, i, nil, "label %d out of range [0, %d)", label, classes)
		}
		s.Labels = append(s.Labels, int32(label))
		s.Pixels = append(s.Pixels, r[coarse+1:]...)
	}
	return nil
}

func growBytes(b []uint8, n int) []uint8 {
	if cap(b)-len(b) < n {
		nb := make([]uint8, len(b), len(b)+n)
		copy(nb, b)
		return nb
	}
	return b
}

// readClassNames reads a class-name file (one name a line, blank lines ignored) if it exists; it
// returns nil, nil when there is none.
func readClassNames(path string, want int) ([]string, error) {
	buf, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, &FormatError{Path: path, Record: -1, Msg: "cannot read", Err: err}
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(buf))
	for sc.Scan() {
		if n := strings.TrimSpace(sc.Text()); n != "" {
			names = append(names, n)
		}
	}
	if len(names) != want {
		return nil, formatErr(path, -1, nil, "has %d class names, want %d", len(names), want)
	}
	return names, nil
}

// openCIFARPickles reads torchvision's CIFAR folder dir: the class names from the meta file's
// namesKey (when the file exists), the training batches and the test batch, whose images are
// the numpy uint8 array "data" (N×3072, planar RGB as in the binary version) and whose labels
// are the list labelKey.
func openCIFARPickles(dir, meta, namesKey, labelKey string, classes []string, trainBatches []string, testBatch string) (*Dataset, error) {
	d := &Dataset{Classes: classes}
	if p := filepath.Join(dir, meta); exists(p) {
		v, err := readPickle(p)
		if err != nil {
			return nil, err
		}
		names, ok := v.m[namesKey].(*pyList)
		if !ok {
			return nil, formatErr(p, -1, nil, "no %q list of class names", namesKey)
		}
		if len(names.items) != len(classes) {
			return nil, formatErr(p, -1, nil, "has %d class names, want %d", len(names.items), len(classes))
		}
		d.Classes = make([]string, len(classes))
		for i, n := range names.items {
			s, ok := pyString(n)
			if !ok {
				return nil, formatErr(p, -1, nil, "class name %d is not a string", i)
			}
			d.Classes[i] = s
		}
	}
	d.Train = Split{C: 3, H: 32, W: 32}
	d.Test = Split{C: 3, H: 32, W: 32}
	for _, b := range trainBatches {
		if err := readCIFARPickle(filepath.Join(dir, b), labelKey, len(classes), &d.Train); err != nil {
			return nil, err
		}
	}
	if err := readCIFARPickle(filepath.Join(dir, testBatch), labelKey, len(classes), &d.Test); err != nil {
		return nil, err
	}
	return d, nil
}

func readPickle(path string) (*pyDict, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, &FormatError{Path: path, Record: -1, Msg: "missing file"}
		}
		return nil, &FormatError{Path: path, Record: -1, Msg: "cannot read", Err: err}
	}
	v, err := unpickle(buf)
	if err != nil {
		return nil, formatErr(path, -1, err, "not a CIFAR pickle")
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, formatErr(path, -1, nil, "not a CIFAR pickle: holds a %T, not a dict", v)
	}
	return d, nil
}

// readCIFARPickle appends the images and labels of one CIFAR pickle batch to s.
func readCIFARPickle(path, labelKey string, classes int, s *Split) error {
	d, err := readPickle(path)
	if err != nil {
		return err
	}
	arr, ok := d.m["data"].(*ndarray)
	if !ok {
		return formatErr(path, -1, nil, "no numpy array \"data\"")
	}
	if arr.dtype != "u1" && arr.dtype != "|u1" || len(arr.shape) != 2 || arr.shape[1] != cifarImage || len(arr.data) != arr.shape[0]*cifarImage {
		return formatErr(path, -1, nil, "\"data\" is a %s array of shape %v with %d bytes, want uint8 N×%d", arr.dtype, arr.shape, len(arr.data), cifarImage)
	}
	labels, ok := d.m[labelKey].(*pyList)
	if !ok {
		return formatErr(path, -1, nil, "no list %q", labelKey)
	}
	n := arr.shape[0]
	if len(labels.items) != n {
		return formatErr(path, -1, nil, "%d labels for %d images", len(labels.items), n)
	}
	if coarse, ok := d.m["coarse_labels"].(*pyList); ok {
		for i, v := range coarse.items {
			if l, ok := v.(int64); !ok || l < 0 || l >= 20 {
				return formatErr(path, i, nil, "coarse label %v out of range [0, 20)", v)
			}
		}
	}
	for i, v := range labels.items {
		l, ok := v.(int64)
		if !ok || l < 0 || l >= int64(classes) {
			return formatErr(path, i, nil, "label %v out of range [0, %d)", v, classes)
		}
		s.Labels = append(s.Labels, int32(l))
	}
	s.Pixels = append(growBytes(s.Pixels, len(arr.data)), arr.data...)
	return nil
}
