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

// The synthetic textures; a class is an unordered pair of distinct ones, which gives 10 classes.
var syntheticTextures = []string{"hstripes", "vstripes", "diagonal", "antidiagonal", "checker"}

// syntheticPairs[k] are the two textures of class k.
var syntheticPairs = func() [][2]int {
	var p [][2]int
	for a := range syntheticTextures {
		for b := a + 1; b < len(syntheticTextures); b++ {
			p = append(p, [2]int{a, b})
		}
	}
	return p
}()

// SyntheticClasses are the class names of the synthetic dataset, "TEXTURE+TEXTURE".
var SyntheticClasses = func() []string {
	var names []string
	for _, p := range syntheticPairs {
		names = append(names, syntheticTextures[p[0]]+"+"+syntheticTextures[p[1]])
	}
	return names
}()

// Synthetic generates the synthetic dataset: 32×32 RGB images in 10 classes, a pure function of
// c. Image i of a split has label i mod 10 and is drawn from its own random stream, seeded by
// (seed, split, i), so the dataset does not depend on the number of goroutines.
//
// The class is the unordered pair of the two textures (of five: horizontal, vertical, diagonal and
// anti-diagonal stripes, checkerboard) carried by two patches in the image. Each image is drawn as:
//
//  1. Background: a colour plus a linear gradient of random direction and strength. With
//     probability 0.7 the colour is one of two "hint" colours of the class, each shared with one
//     other class, otherwise uniform at random: guessing the class from the colour alone is right
//     about 38 % of the time, a coarse cue that early, shallow exits learn first.
//  2. Two patches, square or round, of side 6 to 12 pixels at random non-overlapping positions
//     (so the texture evidence moves around the image), each a two-tone texture of period 4 or 6
//     pixels with random phase, in a random colour at a random contrast of 30 to 100 grey levels.
//  3. With probability 0.5 a distractor: a plain (untextured) patch of random colour.
//  4. Gaussian pixel noise with a per-image standard deviation between 4 and 32 grey levels.
//
// A linear model on pixels sees little more than the colour hint, because textures appear at
// random places, phases and colours. Recognising the class needs texture detectors that survive
// noise and low contrast, pooled over the whole image and combined across two locations, which
// deeper networks with larger receptive fields do better; small, faint, noisy patches make a
// tail of hard images on which later exits keep improving.
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

// syntheticHints are the background hint colours; class k uses hints k and k+1 (mod 10).
var syntheticHints = [10][3]float32{
	{200, 70, 70}, {200, 140, 60}, {190, 190, 70}, {110, 190, 70}, {60, 170, 120},
	{60, 170, 190}, {70, 110, 200}, {120, 80, 200}, {180, 80, 180}, {130, 130, 130},
}

type patch struct{ x, y, size int }

func (p patch) overlaps(q patch) bool {
	return p.x < q.x+q.size+1 && q.x < p.x+p.size+1 && p.y < q.y+q.size+1 && q.y < p.y+p.size+1
}

func drawSynthetic(r *rand.Rand, label int, dst []uint8) {
	const size, plane = 32, 32 * 32
	var img [3 * plane]float32

	// 1. Background.
	var base [3]float32
	if r.Float64() < 0.7 {
		base = syntheticHints[(label+r.IntN(2))%10]
	} else {
		for c := range base {
			base[c] = 40 + 176*r.Float32()
		}
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

	// 2 and 3. Patches at non-overlapping positions.
	pair := syntheticPairs[label]
	textures := []int{pair[0], pair[1]}
	if r.IntN(2) == 0 {
		textures[0], textures[1] = textures[1], textures[0]
	}
	if r.Float64() < 0.5 {
		textures = append(textures, -1) // distractor
	}
	var placed []patch
	for _, tex := range textures {
		var p patch
		for try := 0; ; try++ {
			p.size = 6 + r.IntN(7)
			p.x, p.y = r.IntN(size-p.size+1), r.IntN(size-p.size+1)
			ok := true
			for _, q := range placed {
				ok = ok && !p.overlaps(q)
			}
			if ok || try == 50 {
				break
			}
		}
		placed = append(placed, p)
		drawPatch(r, tex, p, &img)
	}

	// 4. Noise, then quantise.
	sigma := 4 + 28*r.Float32()
	for i, v := range img {
		v += sigma * float32(r.NormFloat64())
		dst[i] = uint8(min(255, max(0, v+0.5)))
	}
}

func drawPatch(r *rand.Rand, tex int, p patch, img *[3 * 32 * 32]float32) {
	const size, plane = 32, 32 * 32
	round := r.IntN(2) == 0
	period := 4 + 2*r.IntN(2)
	phase := r.IntN(period)
	contrast := 30 + 70*r.Float32()
	// A random colour direction of unit length, scaled by the contrast.
	var dir [3]float32
	var norm float32
	for c := range dir {
		dir[c] = float32(r.NormFloat64())
		norm += dir[c] * dir[c]
	}
	norm = float32(math.Sqrt(float64(norm))) + 1e-6
	sign := float32(1)
	if r.IntN(2) == 0 {
		sign = -1
	}
	half := float32(p.size-1) / 2
	for y := range p.size {
		for x := range p.size {
			if round {
				dx, dy := float32(x)-half, float32(y)-half
				if dx*dx+dy*dy > (half+0.5)*(half+0.5) {
					continue
				}
			}
			var on bool
			switch tex {
			case -1:
				on = true
			case 0:
				on = (y+phase)%period < period/2
			case 1:
				on = (x+phase)%period < period/2
			case 2:
				on = (x+y+phase)%period < period/2
			case 3:
				on = (x-y+phase+4*size)%period < period/2
			case 4:
				on = ((x+phase)%period < period/2) != ((y+phase)%period < period/2)
			}
			amp := -contrast / 2
			if on {
				amp = contrast / 2
			}
			if tex == -1 {
				amp = contrast
			}
			for c := range 3 {
				i := c*plane + (p.y+y)*size + p.x + x
				img[i] += sign * amp * dir[c] / norm * 1.7
			}
		}
	}
}
