// Package sysinfo describes the msdx build and the machine it runs on, for the records
// that results keep: run.json, reports and "msdx version".
package sysinfo

import (
	"bufio"
	"os"
	"runtime/debug"
	"strings"
)

// Build is what the Go toolchain recorded about the msdx binary (runtime/debug.ReadBuildInfo).
type Build struct {
	// Commit is the VCS revision the binary was built from; "" when the build recorded
	// none ("go run", "go test", a build outside a repository or with -buildvcs=false).
	Commit string
	// Modified says that the work tree had uncommitted changes.
	Modified bool
	// ModuleVersion is the main module's version when built with "go install module@version";
	// "" otherwise.
	ModuleVersion string
}

// ReadBuild returns the running binary's Build.
func ReadBuild() Build {
	var b Build
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.ModuleVersion = v
	}
	return b
}

// CPUModel returns the model name of the first processor in /proc/cpuinfo, or "" where
// there is no such file.
func CPUModel() string { return cpuModel("/proc/cpuinfo") }

// cpuModel returns the first "model name" of a /proc/cpuinfo file, or "".
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
