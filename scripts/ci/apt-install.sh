#!/usr/bin/env bash
# apt-install.sh PKG...: installs Debian packages for CI without their recommends
# (chromium's would pull in a desktop), keeping apt's and dpkg's output out of the test
# log: it goes to $MSDX_CI_APT_LOG (default ${TMPDIR:-/tmp}/msdx-ci-apt.log), whose end is
# printed on stderr when the install fails. Exits 1 without apt-get or when it fails.
set -uo pipefail
log=${MSDX_CI_APT_LOG:-${TMPDIR:-/tmp}/msdx-ci-apt.log}
command -v apt-get >/dev/null || exit 1
if {
	apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
} >>"$log" 2>&1; then
	exit 0
fi
echo "apt-install.sh: apt-get install $* failed; the end of $log:" >&2
tail -n 5 "$log" >&2
exit 1
