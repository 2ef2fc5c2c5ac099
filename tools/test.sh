#!/bin/bash
# The whole test suite: set up what is missing, build twice (sanitizers on,
# then the release configuration), run every CTest label. Output ends with
# ctest's summary of the full run.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1
jobs=$(nproc)
status=0

# 0. The guest kernel for the kdriver label, in its own step with its own
#    limit: built once and cached under /var/cache/ferry-guest (20-25 minutes
#    on a quiet 2-core machine, over 35 under load), so that kdriver_guest's
#    own timeout covers only the module's build and the guest run.
echo "== guest kernel (kdriver/guest/build-kernel.sh, cached)"
if ! timeout "${FERRY_KERNEL_BUILD_TIMEOUT:-3600}" bash kdriver/guest/build-kernel.sh >/dev/null; then
	echo "guest kernel build failed or timed out: kdriver_guest will fail" >&2
	status=1
fi

# 0b. The Khronos CTS's quick suites for the cts label, likewise: unpacked from
#     ../shared/opencl-cts and built once under /var/cache/ferry-cts (63 s from
#     nothing on a 2-core machine), so that cts_quick's timeout covers only
#     their runs against Ferry (about 2.5 minutes). docs/conformance.md.
echo "== CTS quick suites (tools/cts.sh --build-only, cached)"
timeout "${FERRY_CTS_BUILD_TIMEOUT:-2400}" bash tools/cts.sh --build-only >/dev/null
case $? in
0) ;;
77) echo "no CTS snapshot: cts_quick will be skipped" >&2 ;;
*) echo "CTS build failed or timed out: cts_quick will fail" >&2; status=1 ;;
esac

# 1. AddressSanitizer + UBSan build: unit, driver and api tests (not clinfo:
#    and PyOpenCL: an uninstrumented program cannot load the instrumented libferry).
#    The labels are anchored: a bare "driver" would also select kdriver, the
#    guest run of ferry.ko, which the release stage runs once.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=ON -DFERRY_WERROR=ON -DBUILD_TESTING=ON >/dev/null || exit 1
cmake --build build-asan -j"$jobs" >/dev/null || { cmake --build build-asan; exit 1; }
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ctest --no-tests=error --output-on-failure -L '^(unit|driver|api)$' -E 'clinfo|pyopencl') || status=1

# 2. Release build: everything, including the stress label and kdriver (ferry.ko
#    in a QEMU guest); the demo and a quick benchmark run as smoke tests
#    (registered in CTest).
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_WERROR=ON -DBUILD_TESTING=ON >/dev/null || exit 1
cmake --build build-test -j"$jobs" >/dev/null || { cmake --build build-test; exit 1; }
(cd build-test && ctest --no-tests=error --output-on-failure) || status=1
exit $status
