#!/bin/bash
# Run ferry-bench-kernel (bench/bench_kernel.c) where it has something to
# compare: in the QEMU guest of kdriver/guest/ (6.12, CONFIG_DEVICE_PRIVATE,
# KASAN, lockdep), with ferry.ko and the kernel's lib/test_hmm.ko loaded.
# Builds the module against the guest kernel and the benchmark (with the
# ferry-device it starts) outside the repository, since the guest sees the
# host's root read-only but not the host's /tmp; writes the guest script,
# boots the guest with kdriver/guest/run-guest.sh and prints the results.
#   usage: bench/guest-bench-kernel.sh [ferry-bench-kernel options...]
#          (default: --size 32 --reps 3 --pages 200)
#   FERRY_BENCH_GUEST_DIR      build directory (default /var/cache/ferry-guest/bench)
#   FERRY_BENCH_GUEST_TIMEOUT  seconds for the whole guest run (default 3600)
#   FERRY_BENCH_KO_REV         build ferry.ko from this git revision (e.g. HEAD)
#                              instead of the working tree, to compare versions
# Exit status: run-guest.sh's (the benchmark's, 1 on a kernel splat, 2 when
# the guest did not finish). The guest's dmesg is kept (path on stderr).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
dir=${FERRY_BENCH_GUEST_DIR:-/var/cache/ferry-guest/bench}
case "$dir" in /tmp/*)
	echo "FERRY_BENCH_GUEST_DIR must not be under /tmp: the guest has its own /tmp" >&2
	exit 2 ;;
esac
kdir=$("$top/kdriver/guest/build-kernel.sh")
ko=$dir/ko
build=$dir/build
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--size 32 --reps 3 --pages 200)

# ferry.ko against the guest kernel.
ksrc=$top
if [ -n "${FERRY_BENCH_KO_REV:-}" ]; then
	ksrc=$dir/ko-src
	rm -rf "$ksrc" && mkdir -p "$ksrc"
	git -C "$top" archive "$FERRY_BENCH_KO_REV" kdriver include runtime/policy |
		tar -x -C "$ksrc"
	echo "ferry.ko from $(git -C "$top" rev-parse --short "$FERRY_BENCH_KO_REV")" >&2
fi
rm -rf "$ko" && mkdir -p "$ko"
cp "$ksrc"/kdriver/Kbuild "$ksrc"/kdriver/*.c "$ksrc"/kdriver/*.h "$ko"/
make -s -C "$kdir/src" M="$ko" FERRY_TOP="$ksrc" modules >&2
# The benchmark and ferry-device (the runtime finds it by its build path).
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" --target ferry-bench-kernel ferry-device -j "$(nproc)" >&2

{
	echo "#!/bin/sh"
	echo "echo \"guest kernel \$(uname -r), \$(nproc) CPUs\""
	echo "insmod $ko/ferry.ko || echo 'insmod ferry.ko failed'"
	echo "insmod \$MODDIR/kernel/lib/test_hmm.ko || echo 'insmod test_hmm.ko failed'"
	printf '%s/bench/ferry-bench-kernel' "$build"
	printf ' %q' "${args[@]}"
	echo
	echo "st=\$?"
	echo "rmmod test_hmm || { echo 'rmmod test_hmm failed'; st=1; }"
	echo "rmmod ferry || { echo 'rmmod ferry failed'; st=1; }"
	echo "exit \$st"
} > "$dir/run.sh"
"$top/kdriver/guest/run-guest.sh" "$dir/run.sh" "${FERRY_BENCH_GUEST_TIMEOUT:-3600}"
