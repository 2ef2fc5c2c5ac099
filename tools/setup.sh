#!/bin/bash
# Install the Debian packages Ferry needs, if any is missing (Debian 12, root).
set -euo pipefail

PKGS=(build-essential cmake pkg-config libcmocka-dev libdrm-dev
      ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
      python3-pyopencl python3-numpy python3-matplotlib)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	echo "ferry setup: installing ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# Whole regions of the user backend (docs/performance.md): shmem must give
# 2 MiB pages to mappings that ask for them (MADV_HUGEPAGE). Debian's kernels
# default to "never"; "advise" changes nothing for anyone who does not ask.
# Without it (or with FERRY_HUGE=0) udriver maps every region page by page.
THP=/sys/kernel/mm/transparent_hugepage/shmem_enabled
if [ -w "$THP" ] && grep -q '\[never\]' "$THP"; then
	echo "ferry setup: shmem 2 MiB pages on request (echo advise > $THP)"
	echo advise >"$THP" || echo "ferry setup: could not set $THP; whole regions stay off" >&2
fi
