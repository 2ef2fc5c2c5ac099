#!/bin/bash
# Build ferry.ko against the guest kernel (and, warning-free, against Debian
# 12's 6.1 headers), the guest-side test programs (tests/kd_*: CMocka suites)
# and the kernel's own hmm-tests, in a build directory outside the repository
# (the guest sees the host's root, but not the host's /tmp); then boot the
# guest and run tests/guest_run.sh there. Exit status: the guest run's.
#   FERRY_KD_BUILD          build directory (default /var/cache/ferry-guest/kdriver-build)
#   FERRY_KD_GUEST_TIMEOUT  seconds for the whole guest run (default 2400)
#   FERRY_KD_MODULE_CFLAGS  more flags for the guest's ferry.ko, e.g. -DDEBUG (the
#                           guest kernel has no dynamic debug: this puts every
#                           pr_debug() of a failure path into the guest's log)
#   other FERRY_KD_* and FERRY_HMM_* variables are passed to the guest
#   (see tests/guest_run.sh and tests/kd_common.h)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kdir=$("$here/build-kernel.sh")
build=${FERRY_KD_BUILD:-/var/cache/ferry-guest/kdriver-build}
# The guest sees the host's root but has its own /tmp, where a clone may
# live: everything it runs comes from a copy of the sources under the cache.
top=${FERRY_KD_SRC:-/var/cache/ferry-guest/src}
case "$top" in /tmp/*)
	echo "FERRY_KD_SRC must not be under /tmp: the guest has its own /tmp" >&2
	exit 2 ;;
esac
repo=$(cd "$here/../.." && pwd)
if [ "$repo" != "$top" ]; then
	rm -rf "$top" && mkdir -p "$top"
	(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		xargs -0 cp --parents -t "$top")
fi
src=$top/kdriver
case "$build" in /tmp/*)
	echo "FERRY_KD_BUILD must not be under /tmp: the guest has its own /tmp" >&2
	exit 2 ;;
esac
for p in libdrm-dev libcmocka-dev pkg-config linux-headers-amd64; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >&2
done
# Warning-free against Debian 12's own kernel headers (6.1) too.
hdr=$(ls -d /usr/src/linux-headers-*-amd64 | sort -V | tail -1)
rm -rf "$build-6.1" && mkdir -p "$build-6.1"
cp "$src"/Kbuild "$src"/*.c "$src"/*.h "$build-6.1"/
make -s -C "$hdr" M="$build-6.1" FERRY_TOP="$top" EXTRA_CFLAGS="-Werror" modules >&2
echo "built against $(basename "$hdr")" >&2

rm -rf "$build" && mkdir -p "$build"
cp "$src"/Kbuild "$src"/*.c "$src"/*.h "$build"/
make -s -C "$kdir/src" M="$build" FERRY_TOP="$top" \
	EXTRA_CFLAGS="-Werror ${FERRY_KD_MODULE_CFLAGS:-}" modules >&2
# The guest-side suites, and the kernel's reference built against the guest's headers.
make -s -C "$src/tests" O="$build" >&2
cc -O2 -w -isystem "$kdir/headers/include" -I"$kdir/src" -I"$kdir/src/tools/testing/selftests" \
	"$kdir/src/tools/testing/selftests/mm/hmm-tests.c" -o "$build/hmm-tests" -lpthread
# The runtime's tests, to run with FERRY_BACKEND=kernel in the guest.
rt=${FERRY_KD_RT_BUILD:-/var/cache/ferry-guest/rt-build}
grep -qs "^CMAKE_HOME_DIRECTORY:INTERNAL=$top\$" "$rt/CMakeCache.txt" || rm -rf "$rt"
cmake -S "$top" -B "$rt" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON >/dev/null
cmake --build "$rt" -j"$(nproc)" >/dev/null || { cmake --build "$rt"; exit 1; }
{
	echo "#!/bin/sh"
	echo "export FERRY_KD=$build FERRY_RT_BUILD=$rt"
	env | grep -E '^FERRY_(KD|HMM)_' | grep -vE '^FERRY_KD_(BUILD|GUEST_TIMEOUT|MODULE_CFLAGS)=' |
		sed -e "s/'/'\\\\''/g" -e "s/=\(.*\)/='\1'/" -e 's/^/export /' || true
	echo "sh $src/tests/guest_run.sh"
} > "$build/run.sh"
"$here/run-guest.sh" "$build/run.sh" "${FERRY_KD_GUEST_TIMEOUT:-2400}"
