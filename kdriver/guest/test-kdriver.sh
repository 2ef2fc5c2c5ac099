#!/bin/bash
# Build ferry.ko against the guest kernel and its guest-side test programs in a
# build directory outside the repository (the guest sees the host's root, but
# not the host's /tmp), then run the guest tests. Exit status: the tests'.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
kdir=$("$here/build-kernel.sh")
build=${FERRY_KD_BUILD:-/var/cache/ferry-guest/kdriver-build}
dpkg-query -W -f='${Status}' libdrm-dev 2>/dev/null | grep -q "install ok installed" ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdrm-dev >&2
# Warning-free against Debian 12's own kernel headers (6.1) too.
dpkg-query -W -f='${Status}' linux-headers-amd64 2>/dev/null | grep -q "install ok installed" ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-headers-amd64 >&2
hdr=$(ls -d /usr/src/linux-headers-*-amd64 | sort -V | tail -1)
rm -rf "$build-6.1" && mkdir -p "$build-6.1"
cp "$src"/Kbuild "$src"/*.c "$src"/*.h "$build-6.1"/
make -s -C "$hdr" M="$build-6.1" EXTRA_CFLAGS="-I$src/../include -Werror" modules >&2
echo "built against $(basename "$hdr")" >&2

rm -rf "$build" && mkdir -p "$build"
cp "$src"/Kbuild "$src"/*.c "$src"/*.h "$build"/
make -s -C "$kdir/src" M="$build" EXTRA_CFLAGS="-I$src/../include -Werror" modules >&2
cc -std=c11 -Wall -Wextra -Werror -I"$src/../include" $(pkg-config --cflags libdrm) \
	"$src/tests/kd_version.c" -o "$build/kd_version" $(pkg-config --libs libdrm)
cat > "$build/run.sh" <<RUN
#!/bin/sh
export FERRY_KD=$build
sh $src/tests/guest_version.sh
RUN
"$here/run-guest.sh" "$build/run.sh" 240
