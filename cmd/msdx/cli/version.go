package cli

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/msdx/msdx/internal/sysinfo"
	"github.com/msdx/msdx/kernels"
)

// Version is msdx's version, set at release time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "devel"

// VersionInfo is what "msdx version --json" prints.
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	// Kernels names the GEMM path in use: avx512, avx2 or generic (MSDX_KERNELS forces a
	// lower one).
	Kernels string `json:"kernels"`
}

func versionInfo() VersionInfo {
	b := sysinfo.ReadBuild()
	v := VersionInfo{Version: Version, Commit: b.Commit, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Kernels: kernels.Path()}
	if v.Version == "devel" && b.ModuleVersion != "" {
		v.Version = b.ModuleVersion
	}
	return v
}

func newCmdVersion(ios *IOStreams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print msdx's version and build",
		Example: `  msdx version
  msdx version --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := versionInfo()
			if asJSON {
				enc := json.NewEncoder(ios.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			commit := v.Commit
			if commit == "" {
				commit = "unknown"
			}
			_, err := fmt.Fprintf(ios.Out, "msdx %s (commit %s, %s, %s/%s, kernels %s)\n", v.Version, commit, v.Go, v.OS, v.Arch, v.Kernels)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
