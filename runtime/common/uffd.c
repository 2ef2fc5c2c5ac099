/* SPDX-License-Identifier: MIT */
#include "common/uffd.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include "ferry/ferry_uapi.h"

int ferry_uffd_continue(int uffd, uint64_t addr, uint64_t len, uint64_t mode)
{
	while (len) {
		struct uffdio_continue c = {
			.range = {.start = addr, .len = len},
			.mode = mode,
		};
		int r = ioctl(uffd, UFFDIO_CONTINUE, &c);
		uint64_t done = c.mapped > 0 ? (uint64_t)c.mapped : 0;

		if (r == 0 && done == len)
			return 0;
		if (r && errno == EAGAIN) {
			addr += done;
			len -= done;
			continue;
		}
		if (r && (errno == ESRCH || errno == ENOENT))
			return 0; /* the other process is gone */
		if (r && errno != EEXIST && errno != EFAULT)
			return -errno;
		/* skip the page that could not be mapped */
		done += FERRY_PAGE_SIZE;
		if (done >= len)
			return 0;
		addr += done;
		len -= done;
	}
	return 0;
}
