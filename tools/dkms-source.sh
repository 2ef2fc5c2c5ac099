#!/bin/sh
# Creates the DKMS source tree of ferry.ko at <dest> (normally
# /usr/src/ferry-<version>, the version of kdriver/dkms.conf):
#   <dest>/{Kbuild,Makefile,dkms.conf,*.c,*.h}   from kdriver/
#   <dest>/include/ferry/ferry_uapi.h
#   <dest>/runtime/policy/policy.{c,h}
# Usage: tools/dkms-source.sh <dest>
set -eu
dest=${1:?usage: dkms-source.sh <dest>}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dest/include/ferry" "$dest/runtime/policy"
cp "$top"/kdriver/Kbuild "$top"/kdriver/Makefile "$top"/kdriver/dkms.conf \
	"$top"/kdriver/*.c "$top"/kdriver/*.h "$dest/"
cp "$top/include/ferry/ferry_uapi.h" "$dest/include/ferry/"
cp "$top/runtime/policy/policy.c" "$top/runtime/policy/policy.h" "$dest/runtime/policy/"
