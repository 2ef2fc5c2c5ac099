#!/bin/bash
# Ferry's main job: set up what is missing, build, run the demo (user backend),
# the migration benchmark and the OpenCL benchmark (Ferry against PoCL).
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
