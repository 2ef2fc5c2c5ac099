#!/bin/bash
# Ferry's main job: set up what is missing, build, run the demo (user backend),
# the migration benchmark, the OpenCL benchmark (Ferry against PoCL) and the short
# GPU-compute suite (its JSON and plot in build/: bench-suite.json, bench-suite.png).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
./build/samples/ferry-demo "${FERRY_DEMO_MIB:-256}"
echo
./build/bench/ferry-bench-migrate "$@"
echo
FERRY_BENCH_ICD=$PWD/build/ferry.icd ./build/bench/ferry-bench-opencl "$@"
echo
FERRY_BENCH_ICD=$PWD/build/ferry.icd ./build/bench/ferry-bench-suite --quick \
	--json "$PWD/build/bench-suite.json"
/usr/bin/python3 tools/plot-bench.py build/bench-suite.json build/bench-suite.png
