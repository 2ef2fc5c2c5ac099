#!/bin/sh
# Install check: installs the build tree into a temporary prefix, then builds a
# tiny consumer twice (find_package(Ferry), pkg-config ferry) against the
# installed headers and runs it: it must find the "Ferry" OpenCL platform
# through the installed ferry.icd / libferry / ferry-device.
# Usage: tools/test-install.sh <build-dir>
set -eu
build=${1:?usage: test-install.sh <build-dir>}
tmp=$(mktemp -d /tmp/ferry-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }

for f in lib/libferry.so.0 libexec/ferry-device bin/ferry-smi include/ferry/ferry_uapi.h \
	include/ferry/ferry_stats.h \
	include/CL/cl_ext_ferry.h etc/OpenCL/vendors/ferry.icd lib/pkgconfig/ferry.pc \
	lib/cmake/Ferry/FerryConfig.cmake lib/cmake/Ferry/FerryConfigVersion.cmake; do
	[ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
icd=$(cat "$prefix/etc/OpenCL/vendors/ferry.icd")
[ "$icd" = "$prefix/lib/libferry.so.0" ] || { echo "FAIL: ferry.icd names '$icd'"; exit 1; }

mkdir -p "$tmp/src"
cat >"$tmp/src/main.c" <<'EOC'
#define CL_TARGET_OPENCL_VERSION 300
#include <stdio.h>
#include <string.h>
#include <CL/cl_ext_ferry.h>
#include <ferry/ferry_uapi.h>
#include <ferry/ferry_stats.h>

int main(void)
{
	cl_platform_id p[16];
	cl_uint n = 0, i;
	char name[256];

	if (clGetPlatformIDs(16, p, &n) != CL_SUCCESS || n == 0) {
		fprintf(stderr, "no OpenCL platform\n");
		return 1;
	}
	for (i = 0; i < n && i < 16; i++) {
		if (clGetPlatformInfo(p[i], CL_PLATFORM_NAME, sizeof(name), name, NULL) != CL_SUCCESS)
			continue;
		printf("platform %u: %s\n", i, name);
		if (strcmp(name, "Ferry") == 0) {
			cl_device_id d;
			size_t page = 0;
			if (clGetDeviceIDs(p[i], CL_DEVICE_TYPE_ALL, 1, &d, NULL) != CL_SUCCESS ||
			    clGetDeviceInfo(d, CL_DEVICE_SVM_PAGE_SIZE_FERRY, sizeof(page), &page,
					    NULL) != CL_SUCCESS || page == 0) {
				fprintf(stderr, "Ferry device query failed\n");
				return 1;
			}
			printf("Ferry device: SVM page size %zu\n", page);
			return 0;
		}
	}
	fprintf(stderr, "no platform named Ferry\n");
	return 1;
}
EOC
cat >"$tmp/src/CMakeLists.txt" <<'EOC'
cmake_minimum_required(VERSION 3.20)
project(ferry_consumer C)
find_package(Ferry 0.1 REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE Ferry::OpenCL)
EOC

run() {
	echo "== $1"
	OCL_ICD_VENDORS=$prefix/etc/OpenCL/vendors/ferry.icd \
		FERRY_DEVICE_PATH=$prefix/libexec/ferry-device "$1"
}

# 1. CMake package.
cmake -S "$tmp/src" -B "$tmp/b-cmake" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cmake.log" 2>&1 &&
	cmake --build "$tmp/b-cmake" >>"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
run "$tmp/b-cmake/consumer"

# 2. pkg-config.
flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs ferry)
echo "pkg-config --cflags --libs ferry: $flags"
case "$flags" in *"-I$prefix/lib/pkgconfig/../../include"*|*"-I$prefix/include"*) ;;
*) echo "FAIL: ferry.pc Cflags do not name the installed include dir"; exit 1 ;; esac
# shellcheck disable=SC2086
cc -Wall -Werror -o "$tmp/consumer-pc" "$tmp/src/main.c" $flags
run "$tmp/consumer-pc"

# The consumers reached the installed libferry (not the build tree's).
echo "PASS"
