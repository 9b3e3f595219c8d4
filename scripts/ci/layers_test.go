package ci

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// floors are msdx's packages from the ground up: a package may import packages of its own
// floor or below, never above. A new package must be given its floor here.
var floors = [][]string{
	// Helpers that any package may import.
	{"internal/atomicfile", "internal/dirlock", "internal/freelist", "internal/golden", "internal/jsonfile", "internal/par",
		"internal/sysinfo", "internal/tableprinter", "internal/tomlconf", "kernels/internal/cpuid", "kernels/internal/gemm"},
	// The core's concepts, each standing alone or on another of this floor.
	{"graph", "kernels", "optim", "pareto", "curve", "dyneval", "torchsave", "tensorfile", "data", "spec", "recipe"},
	// Networks: built, costed, run, exported.
	{"builder", "flops", "nn", "export"},
	// Using one network: training, scaling it to a cost, reading the reference repositories,
	// measuring its speed.
	{"train", "costmatch", "refargs", "refimport", "bench"},
	// A trained run's evaluation; a study's files.
	{"evaluate", "study"},
	// Studies: executors, the trial worker, ablations and searches.
	{"runner", "trial", "ablation", "search", "search/nsga2"},
	// Reports over studies and runs.
	{"report"},
	// The command line, and the tests of CI's scripts.
	{"cmd/msdx", "cmd/msdx/cli", "scripts/ci"},
}

// TestImportLayers checks that no package imports one on a higher floor, so that the house
// reads from the ground up, and that every package has its floor.
func TestImportLayers(t *testing.T) {
	const module = "github.com/msdx/msdx"
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	floorOf := map[string]int{}
	for i, names := range floors {
		for _, name := range names {
			floorOf[name] = i
		}
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here (or only ones for other platforms' builds)
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		floor, ok := floorOf[rel]
		if !ok {
			t.Errorf("package %s has no floor in floors", rel)
			return nil
		}
		for _, imp := range pkg.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			if depFloor, known := floorOf[dep]; !known {
				t.Errorf("%s imports %s, which has no floor in floors", rel, dep)
			} else if depFloor > floor {
				t.Errorf("%s (floor %d) imports %s, a floor above it (%d)", rel, floor, dep, depFloor)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range floorOf {
		if !seen[name] {
			if _, err := os.Stat(filepath.Join(root, name)); err != nil {
				t.Errorf("floors lists %s, which is not a package", name)
			}
		}
	}
	if len(seen) < 30 {
		t.Errorf("found only %d packages under %s: %v", len(seen), root, slices.Sorted(func(yield func(string) bool) {
			for k := range seen {
				if !yield(k) {
					return
				}
			}
		}))
	}
}
