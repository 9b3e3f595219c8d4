//go:build !amd64 || purego

package gemm

// simdPaths returns no assembly paths on this architecture or build.
func simdPaths() []*path { return nil }
