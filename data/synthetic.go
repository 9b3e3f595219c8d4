package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
)

// SyntheticConfig sizes the built-in synthetic dataset. Its reference form is
// "synthetic", "synthetic:SEED" or "synthetic:seed=S,train=N,test=M" (any subset, any order).
type SyntheticConfig struct {
	Seed  uint64 `json:"seed" toml:"seed"`
	Train int    `json:"train" toml:"train"`
	Test  int    `json:"test" toml:"test"`
}

// DefaultSyntheticConfig is the synthetic dataset "synthetic" names: seed 1, 5,000 training and
// 1,000 test images.
var DefaultSyntheticConfig = SyntheticConfig{Seed: 1, Train: 5000, Test: 1000}

// String returns the canonical reference of c, which [Open] reads back.
func (c SyntheticConfig) String() string {
	return fmt.Sprintf("synthetic:seed=%d,train=%d,test=%d", c.Seed, c.Train, c.Test)
}

// ParseSyntheticConfig parses the part after "synthetic:" of a reference; fields not given keep
// their [DefaultSyntheticConfig] values.
func ParseSyntheticConfig(args string) (SyntheticConfig, error) {
	c := DefaultSyntheticConfig
	if args == "" {
		return c, nil
	}
	if seed, err := strconv.ParseUint(args, 10, 64); err == nil {
		c.Seed = seed
		return c, nil
	}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return c, fmt.Errorf("data: synthetic:%s: %q is not KEY=VALUE", args, kv)
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("data: synthetic:%s: %s: %v", args, k, err)
		}
		switch k {
		case "seed":
			c.Seed = n
		case "train", "test":
			if n < 1 || n > 1_000_000 {
				return c, fmt.Errorf("data: synthetic:%s: %s=%d out of range [1, 1000000]", args, k, n)
			}
			if k == "train" {
				c.Train = int(n)
			} else {
				c.Test = int(n)
			}
		default:
			return c, fmt.Errorf("data: synthetic:%s: unknown key %q (want seed, train or test)", args, k)
		}
	}
	return c, nil
}

// SyntheticClasses are the class names of the synthetic dataset: the shape each image shows.
var SyntheticClasses = []string{"disk", "square", "triangle", "ring", "plus", "cross", "hbar", "vbar", "diamond", "frame"}

// inShape reports whether the point (u, v), in units of the shape's radius around its
// centre, lies inside shape k.
func inShape(k int, u, v float32) bool {
	au, av := abs32(u), abs32(v)
	switch k {
	case 0: // disk
		return u*u+v*v <= 1
	case 1: // square
		return au <= 0.8 && av <= 0.8
	case 2: // triangle, apex up
		return v >= -0.9 && v <= 0.8 && au <= (v+0.9)*0.55
	case 3: // ring
		r := u*u + v*v
		return r <= 1 && r >= 0.3
	case 4: // plus
		return (au <= 0.25 && av <= 1) || (av <= 0.25 && au <= 1)
	case 5: // diagonal cross
		return (abs32(u-v) <= 0.35 || abs32(u+v) <= 0.35) && au <= 0.85 && av <= 0.85
	case 6: // horizontal bar
		return av <= 0.3 && au <= 1
	case 7: // vertical bar
		return au <= 0.3 && av <= 1
	case 8: // diamond
		return au+av <= 1
	case 9: // hollow square
		m := max(au, av)
		return m <= 0.85 && m >= 0.5
	}
	panic("data: unknown synthetic shape")
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// Synthetic generates the synthetic dataset: 32×32 RGB images in 10 classes, a pure function of
// c. Image i of a split has label i mod 10 and is drawn from its own random stream, seeded by
// (seed, split, i), so the dataset does not depend on the number of goroutines.
//
// Each image shows one of ten shapes (its class): disk, square, triangle, ring, plus,
// diagonal cross, horizontal bar, vertical bar, diamond, hollow square. Each image first draws a
// difficulty d = u² with u uniform in [0, 1] (easy images are the more common), which sets how
// large, how strong and how noisy its evidence is, and is then drawn as:
//
//  1. Background: a random colour plus a linear gradient of random direction and strength.
//  2. Clutter: 0 to 3 small blobs (radius 1.5 to 3 pixels) of random colours at random places,
//     more of them for harder images.
//  3. The shape, of radius 12 − 6·d pixels (±1), centred at a random position that keeps it
//     inside the image, antialiased, in a random colour whose difference from the background
//     has a length of (60 + 120·(1−d)) grey levels (±20 %).
//  4. Gaussian pixel noise with standard deviation 4 + 24·d grey levels.
//
// Colour carries no information, and the shape moves around the image, so a linear model on
// pixels does poorly. Easy images (small d: large, strong, clean shapes) are solved by shallow
// exits; the hard tail (small, faint shapes in noise and clutter, where a blob can mimic a
// small disk) is where deeper exits keep improving, which is what dynamic evaluation exploits.
func Synthetic(c SyntheticConfig) *Dataset {
	if c.Train < 0 || c.Test < 0 {
		panic(fmt.Sprintf("data: synthetic sizes %d/%d", c.Train, c.Test))
	}
	d := &Dataset{Ref: c.String(), Classes: SyntheticClasses}
	for s, part := range []struct {
		n     int
		split *Split
	}{{c.Train, &d.Train}, {c.Test, &d.Test}} {
		*part.split = Split{C: 3, H: 32, W: 32, Pixels: make([]uint8, part.n*3*32*32), Labels: make([]int32, part.n)}
		parallelFor(part.n, runtime.GOMAXPROCS(0), func(i int) {
			label := i % len(SyntheticClasses)
			part.split.Labels[i] = int32(label)
			drawSynthetic(newRand(c.Seed, tagSynthetic, uint64(s), uint64(i)), label, part.split.Image(i))
		})
	}
	d.Fingerprint = Fingerprint(d.Classes, &d.Train, &d.Test)
	return d
}

func drawSynthetic(r *rand.Rand, label int, dst []uint8) {
	const size, plane = 32, 32 * 32
	var img [3 * plane]float32
	difficulty := r.Float32()
	difficulty *= difficulty // more easy images than hard ones

	// 1. Background.
	var base [3]float32
	for c := range base {
		base[c] = 40 + 176*r.Float32()
	}
	angle := 2 * math.Pi * r.Float64()
	strength := 40 * r.Float32()
	gx, gy := float32(math.Cos(angle))*strength/size, float32(math.Sin(angle))*strength/size
	for c := range 3 {
		for y := range size {
			for x := range size {
				img[c*plane+y*size+x] = base[c] + gx*float32(x-16) + gy*float32(y-16)
			}
		}
	}
	// colour returns a random colour at distance contrast from the background colour.
	colour := func(contrast float32) [3]float32 {
		var d [3]float32
		var norm float32
		for c := range d {
			d[c] = float32(r.NormFloat64())
			norm += d[c] * d[c]
		}
		norm = float32(math.Sqrt(float64(norm))) + 1e-6
		var out [3]float32
		for c := range out {
			out[c] = base[c] + d[c]/norm*contrast
		}
		return out
	}
	// paint blends col into the pixels where inside holds, with 2×2 supersampling.
	paint := func(cx, cy, radius float32, col [3]float32, inside func(u, v float32) bool) {
		x0, x1 := max(0, int(cx-radius-1)), min(size-1, int(cx+radius+1))
		y0, y1 := max(0, int(cy-radius-1)), min(size-1, int(cy+radius+1))
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				var cover float32
				for _, o := range [4][2]float32{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}} {
					if inside((float32(x)+o[0]-cx)/radius, (float32(y)+o[1]-cy)/radius) {
						cover += 0.25
					}
				}
				if cover == 0 {
					continue
				}
				for c := range 3 {
					i := c*plane + y*size + x
					img[i] += cover * (col[c] - img[i])
				}
			}
		}
	}

	// 2. Clutter.
	for range r.IntN(1 + int(3*difficulty+0.5)) {
		radius := 1.5 + 1.5*r.Float32()
		paint(32*r.Float32(), 32*r.Float32(), radius, colour(40+100*r.Float32()), func(u, v float32) bool { return u*u+v*v <= 1 })
	}

	// 3. The shape.
	radius := 11 - 6*difficulty + 2*r.Float32()
	margin := radius * 0.9
	cx := margin + (size-2*margin)*r.Float32()
	cy := margin + (size-2*margin)*r.Float32()
	contrast := (60 + 120*(1-difficulty)) * (0.8 + 0.4*r.Float32())
	paint(cx, cy, radius, colour(contrast), func(u, v float32) bool { return inShape(label, u, v) })

	// 4. Noise, then quantise.
	sigma := 4 + 24*difficulty
	for i, v := range img {
		v += sigma * float32(r.NormFloat64())
		dst[i] = uint8(min(255, max(0, v+0.5)))
	}
}
