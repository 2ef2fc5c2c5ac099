#!/bin/sh
# Guest smoke test: the kernel's own HMM test driver loads and creates its devices.
uname -r
insmod "$MODDIR/kernel/lib/test_hmm.ko" || exit 1
ls /dev/hmm_dmirror0 /dev/hmm_dmirror1
