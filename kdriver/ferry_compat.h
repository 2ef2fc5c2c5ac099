/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Every kernel-version difference ferry.ko depends on, in one place (it
 * builds against Debian 12's 6.1 and the 6.12 guest kernel). Features are
 * tested, not version numbers.
 */
#ifndef FERRY_COMPAT_H
#define FERRY_COMPAT_H

#include <linux/fs.h>

/* 6.12: DRM refuses to open a file whose fops lack FOP_UNSIGNED_OFFSET. */
#ifdef FOP_UNSIGNED_OFFSET
#define FERRY_FOP_FLAGS .fop_flags = FOP_UNSIGNED_OFFSET,
#else
#define FERRY_FOP_FLAGS
#endif

#endif /* FERRY_COMPAT_H */
