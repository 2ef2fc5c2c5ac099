#!/bin/sh
# Every build type builds warning-free: the test command builds Debug (with
# sanitizers) and RelWithDebInfo; this builds the other two, Release (tests,
# samples and benchmarks included) and MinSizeRel (the libraries and
# programs), with -Werror, in a temporary directory. A plain user build has
# no -Werror (FERRY_WERROR is off by default), so a warning here is found by
# CI before a newer compiler turns it into a user's failed build.
# Usage: tools/test-build-types.sh [source-dir]
set -eu
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d /tmp/ferry-build-types.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
jobs=$(nproc)
for cfg in "Release ON" "MinSizeRel OFF"; do
	set -- $cfg
	echo "== $1 (BUILD_TESTING=$2)"
	cmake -S "$src" -B "$tmp/$1" -DCMAKE_BUILD_TYPE="$1" -DFERRY_WERROR=ON \
		-DBUILD_TESTING="$2" >"$tmp/$1.log" 2>&1 || { cat "$tmp/$1.log"; exit 1; }
	cmake --build "$tmp/$1" -j"$jobs" >"$tmp/$1.log" 2>&1 ||
		{ grep -E 'error|warning' "$tmp/$1.log" | head -40; exit 1; }
	echo "$1: built"
done
