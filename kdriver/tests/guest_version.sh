#!/bin/sh
# Guest: load ferry.ko, run kd_version, unload. $FERRY_KD is the build directory.
insmod "$FERRY_KD/ferry.ko" || exit 1
"$FERRY_KD/kd_version" || { rmmod ferry; exit 1; }
rmmod ferry
