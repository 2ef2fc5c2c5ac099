/* SPDX-License-Identifier: MIT */
/*
 * view.c - the udriver's primitives on the two views and the two memfds:
 * userfaultfd (map with UFFDIO_CONTINUE, wake, write-protect, register,
 * unregister) and fallocate/pwrite on sysmem and vram. Everything that
 * fails here in a way the driver cannot recover from ends ferry-device
 * (udrv_die_errno): the host then recovers its data from the memfds.
 */
#include "common/uffd.h"
#include "udriver/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void udrv_die_errno(const char *what)
{
	fprintf(stderr, "ferry-device: %s: %s\n", what, strerror(errno));
	_exit(3);
}

void memfd_punch(int fd, uint64_t page, uint64_t n)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(page * PG),
		      (off_t)(n * PG)))
		udrv_die_errno("fallocate(PUNCH_HOLE)");
}

void memfd_allocate(int fd, uint64_t page, uint64_t n)
{
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)(page * PG), (off_t)(n * PG)))
		udrv_die_errno("fallocate");
}

/*
 * Copy pages into a memfd with pwrite(): the kernel allocates the destination
 * pages and fills them in one pass (no zeroing, no page faults on the
 * destination), about twice as fast as populating a mapping and copying.
 */
void memfd_copy_into(int dst_fd, const uint8_t *src_alias, uint64_t page, uint64_t n)
{
	uint64_t off = page * PG, len = n * PG;

	while (len) {
		ssize_t w = pwrite(dst_fd, src_alias + off, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			udrv_die_errno("pwrite");
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
}

/*
 * Write-protect (or release) a range of a view. The host may be gone
 * (@host: ESRCH and ENOENT are ignored); anything else unexpected is fatal.
 */
static void writeprotect(int uffd, uint64_t addr, uint64_t len, bool on, bool host)
{
	struct uffdio_writeprotect wp = {
		.range = {.start = addr, .len = len},
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	while (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
		if (errno == EAGAIN || errno == EINTR)
			continue;
		if (host && (errno == ESRCH || errno == ENOENT))
			return;
		udrv_die_errno(host ? "UFFDIO_WRITEPROTECT" : "UFFDIO_WRITEPROTECT(device)");
	}
}

void udrv_host_wp(struct udrv *u, uint64_t page, uint64_t n, bool on)
{
	writeprotect(u->host_uffd, addr_of(u, page), n * PG, on, true);
}

/* Lift the device view's write protection (a duplicated page becomes the device's). */
void udrv_device_wp_off(struct udrv *u, uint64_t page, uint64_t n)
{
	writeprotect(u->dev_uffd, addr_of(u, page), n * PG, false, false);
}

#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1) /* Linux 6.4 */
#endif

/*
 * Map page-cache pages of [page, page + n) into a view (@mode may add
 * UFFDIO_CONTINUE_MODE_WP: read-only). Pages already mapped (EEXIST) and
 * pages with nothing in the page cache (EFAULT: not resident on this side)
 * are skipped.
 */
static void map_range_mode(int uffd, uint64_t addr, uint64_t len, uint64_t mode)
{
	int err = ferry_uffd_continue(uffd, addr, len, UFFDIO_CONTINUE_MODE_DONTWAKE | mode);

	if (err) {
		errno = -err;
		udrv_die_errno("UFFDIO_CONTINUE");
	}
}

void udrv_map_range(int uffd, uint64_t addr, uint64_t len)
{
	map_range_mode(uffd, addr, len, 0);
}

void udrv_map_range_wp(int uffd, uint64_t addr, uint64_t len)
{
	map_range_mode(uffd, addr, len, UFFDIO_CONTINUE_MODE_WP);
}

void udrv_wake(int uffd, uint64_t addr, uint64_t len)
{
	struct uffdio_range r = {.start = addr, .len = len};

	if (ioctl(uffd, UFFDIO_WAKE, &r) && errno != ESRCH && errno != ENOENT)
		udrv_die_errno("UFFDIO_WAKE");
}

/*
 * Register [addr, addr + len) of a view with its userfaultfd. The host may be
 * gone (@host: ESRCH is ignored); anything else is fatal.
 */
void view_register(int uffd, uint64_t addr, uint64_t len, bool host)
{
	struct uffdio_register reg = {.range = {.start = addr, .len = len}, .mode = VIEW_MODES};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) && !(host && errno == ESRCH))
		udrv_die_errno(host ? "UFFDIO_REGISTER(host view)"
				    : "UFFDIO_REGISTER(device view)");
}

/*
 * Unregister [addr, addr + len) of a view: the kernel maps it on the next
 * touch like any shmem mapping, and the threads waiting for its faults wake.
 * Returns false when the host is gone (@host: ESRCH); anything else is fatal.
 */
bool view_unregister(int uffd, uint64_t addr, uint64_t len, bool host)
{
	struct uffdio_range rng = {.start = addr, .len = len};

	if (!ioctl(uffd, UFFDIO_UNREGISTER, &rng))
		return true;
	if (!(host && errno == ESRCH))
		udrv_die_errno(host ? "UFFDIO_UNREGISTER(host view)"
				    : "UFFDIO_UNREGISTER(device view)");
	return false;
}

/* Map the pages of [first, first + n) in @state into the view of @uffd (u->lock held). */
void view_map_runs(struct udrv *u, int uffd, uint8_t state, uint64_t first, uint64_t n)
{
	udrv_assert_locked(u);
	for (uint64_t p = first, end = first + n; p < end;) {
		uint64_t len = run_len(u, p, end);

		if (u->state[p] == state)
			udrv_map_range(uffd, addr_of(u, p), len * PG);
		p += len;
	}
}
