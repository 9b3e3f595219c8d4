package report

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// DetectMachine describes the computer it runs on: host name, CPU model (from
// /proc/cpuinfo where there is one), logical cores, OS and architecture.
func DetectMachine() Machine {
	host, _ := os.Hostname()
	return Machine{Hostname: host, CPU: cpuModel("/proc/cpuinfo"), Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH}
}

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
