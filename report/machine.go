package report

import (
	"os"
	"runtime"

	"github.com/msdx/msdx/internal/sysinfo"
)

// DetectMachine describes the computer it runs on: host name, CPU model (from
// /proc/cpuinfo where there is one), logical cores, OS and architecture.
func DetectMachine() Machine {
	host, _ := os.Hostname()
	return Machine{Hostname: host, CPU: sysinfo.CPUModel(), Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH}
}
