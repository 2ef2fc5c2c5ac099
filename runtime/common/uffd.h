/* SPDX-License-Identifier: MIT */
/* uffd.h - userfaultfd helpers shared by the host session and the udriver. */
#ifndef FERRY_UFFD_H
#define FERRY_UFFD_H

#include <stdint.h>

/*
 * UFFDIO_CONTINUE over [addr, addr + len) of a view registered with @uffd
 * (@mode: UFFDIO_CONTINUE_MODE_* flags), page-cache pages only: pages already
 * mapped (EEXIST) and pages with nothing in the page cache (EFAULT) are
 * skipped, and a process that is gone (ESRCH, ENOENT) ends it quietly.
 * Returns 0 or the -errno of any other failure.
 */
int ferry_uffd_continue(int uffd, uint64_t addr, uint64_t len, uint64_t mode);

#endif
