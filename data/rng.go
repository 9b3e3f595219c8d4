package data

import "math/rand/v2"

// Tags that separate the random streams derived from one seed.
const (
	tagValidation uint64 = 0x76616c6964 // "valid"
	tagPermute    uint64 = 0x7065726d   // "perm"
	tagAugment    uint64 = 0x61756720   // "aug "
	tagSynthetic  uint64 = 0x73796e74   // "synt"
)

// splitmix64 is a bijective 64-bit mixer (Steele, Lea and Flood 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mix hashes seed and the words into one 64-bit value. Each random stream of this package is seeded
// from mix of the run's seed and the stream's coordinates (tag, epoch, batch, image), so its values
// never depend on how much of another stream was consumed.
func mix(seed uint64, words ...uint64) uint64 {
	h := splitmix64(seed)
	for _, w := range words {
		h = splitmix64(h ^ w)
	}
	return h
}

// newRand returns a PCG generator seeded from seed and the words.
func newRand(seed uint64, words ...uint64) *rand.Rand {
	a := mix(seed, words...)
	return rand.New(rand.NewPCG(a, splitmix64(a^0x5851f42d4c957f2d)))
}
