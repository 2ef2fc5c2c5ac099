// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The runtime's policy (runtime/policy/policy.c), plain C
 * with no OS calls, compiled into the module as it is: block sizes, the
 * density prefetcher, the region LRU and the thrashing test are the same
 * code in both backends, unit-tested in user space.
 */
#include "policy/policy.c"
