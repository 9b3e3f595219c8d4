// Package ci tests the CI scripts of this directory that CI itself runs, and the floors of
// msdx's packages: that none imports a package on a floor above its own (TestImportLayers).
package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeAptGet is an apt-get that records its arguments, talks as apt and dpkg do on both
// streams, and fails an install when FAKE_APT_FAIL is set.
const fakeAptGet = `#!/bin/sh
echo "$*" >> "$FAKE_APT_ARGS"
echo "Selecting previously unselected package chromium."
echo "debconf: delaying package configuration, since apt-utils is not installed" >&2
if [ "$1" = install ] && [ -n "${FAKE_APT_FAIL:-}" ]; then
  echo "E: Unable to locate package $5" >&2
  exit 100
fi
exit 0
`

// runAptInstall runs apt-install.sh with the fake apt-get first on PATH.
func runAptInstall(t *testing.T, fail bool, pkgs ...string) (args, stdout, stderr, log string, err error) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "apt-get"), []byte(fakeAptGet), 0o755); err != nil {
		t.Fatal(err)
	}
	argsFile, logFile := filepath.Join(dir, "args"), filepath.Join(dir, "apt.log")
	cmd := exec.Command("bash", append([]string{"apt-install.sh"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_APT_ARGS="+argsFile, "MSDX_CI_APT_LOG="+logFile)
	if fail {
		cmd.Env = append(cmd.Env, "FAKE_APT_FAIL=1")
	}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	a, _ := os.ReadFile(argsFile)
	l, _ := os.ReadFile(logFile)
	return string(a), out.String(), errOut.String(), string(l), err
}

// TestAptInstall: packages are installed without recommends, and apt's and dpkg's output
// goes to the log, not into the test log.
func TestAptInstall(t *testing.T) {
	args, stdout, stderr, log, err := runAptInstall(t, false, "chromium")
	if err != nil {
		t.Fatalf("apt-install.sh: %v; stderr %q", err, stderr)
	}
	if want := "update -qq\ninstall -y -qq --no-install-recommends chromium\n"; args != want {
		t.Errorf("apt-get called with %q, want %q", args, want)
	}
	if stdout != "" || stderr != "" {
		t.Errorf("apt's output reached the test log: stdout %q, stderr %q", stdout, stderr)
	}
	if !strings.Contains(log, "Selecting previously unselected package") || !strings.Contains(log, "debconf: delaying") {
		t.Errorf("the apt log lacks apt's output: %q", log)
	}
}

// TestAptInstallFails: a failed install exits non-zero and shows the end of the log.
func TestAptInstallFails(t *testing.T) {
	_, stdout, stderr, _, err := runAptInstall(t, true, "no-such-package")
	if err == nil {
		t.Fatal("apt-install.sh succeeded when apt-get failed")
	}
	if stdout != "" || !strings.Contains(stderr, "apt-get install no-such-package failed") || !strings.Contains(stderr, "E: Unable to locate package") {
		t.Errorf("stdout %q, stderr %q; want the failure and the log's end on stderr", stdout, stderr)
	}
}
