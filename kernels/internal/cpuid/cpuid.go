// Package cpuid reports the SIMD features of the running x86-64 CPU that
// the msdx kernels dispatch on: AVX2 with FMA, and AVX-512F. A feature is
// reported only when both the CPU implements it and the operating system
// saves the corresponding register state (checked with XGETBV).
package cpuid

// HasAVX2FMA reports whether AVX2 and FMA3 instructions are usable.
var HasAVX2FMA bool

// HasAVX512F reports whether AVX-512 Foundation instructions, with the
// vector-length extension (AVX512VL, which every AVX-512 CPU but Xeon Phi
// has) are usable.
var HasAVX512F bool
