#!/bin/sh
# DKMS check (root): installs the dkms package if missing, creates
# /usr/src/ferry-<ver> (tools/dkms-source.sh), then dkms add / build against the
# newest installed linux-headers-*-amd64, checks ferry.ko was produced, and
# removes everything again. Exit 77 (skipped) without root, apt or headers.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root"
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/kdriver/dkms.conf")
pver=$(sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
[ -n "$ver" ] && [ "$ver" = "$pver" ] ||
	fail "kdriver/dkms.conf PACKAGE_VERSION '$ver' != project version '$pver'"
kver=$(ls /usr/src | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -1)
[ -n "$kver" ] || skip "no linux-headers-*-amd64 in /usr/src"
[ -d "/lib/modules/$kver/build" ] || skip "/lib/modules/$kver/build missing"
if ! command -v dkms >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 || skip "dkms missing and no apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dkms \
		>/tmp/ferry-dkms-apt.log 2>&1 || { cat /tmp/ferry-dkms-apt.log; skip "cannot install dkms"; }
	rm -f /tmp/ferry-dkms-apt.log
fi

src=/usr/src/ferry-$ver
[ -e "$src" ] && fail "$src already exists (remove it: dkms remove -m ferry -v $ver --all; rm -rf $src)"
dkms status -m ferry 2>/dev/null | grep -q . && fail "ferry is already registered with dkms"
cleanup() {
	dkms remove -m ferry -v "$ver" --all >/dev/null 2>&1
	rm -rf "$src" "/var/lib/dkms/ferry"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$top/tools/dkms-source.sh" "$src" || fail "dkms-source.sh"
dkms add -m ferry -v "$ver" || fail "dkms add"
if ! dkms build -m ferry -v "$ver" -k "$kver"; then
	cat "/var/lib/dkms/ferry/$ver/build/make.log" 2>/dev/null
	fail "dkms build"
fi
ko=$(find "/var/lib/dkms/ferry/$ver/$kver" -name 'ferry.ko*' | head -1)
[ -n "$ko" ] || fail "no ferry.ko under /var/lib/dkms/ferry/$ver/$kver"
modinfo "$ko" | grep -q "^vermagic: *$kver " || fail "$ko: vermagic is not $kver"
echo "built $ko"
echo PASS
