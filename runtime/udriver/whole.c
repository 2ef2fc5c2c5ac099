/* SPDX-License-Identifier: MIT */
/*
 * whole.c - the udriver's whole regions (FERRY_HUGE, on where shmem has
 * 2 MiB pages). A 2 MiB region resident entirely on one side leaves that
 * view's userfaultfd registration, so the kernel maps it like any shmem
 * mapping: one 2 MiB entry where the memfd holds a 2 MiB page. Before
 * anything changes such a region's view or residency it is taken back
 * (dev_claim, host_claim). Residency stays per page: a whole region is a
 * property of a view, not a state.
 */
#include "udriver/internal.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- the device side ---- */

/*
 * A region whose every page is device-resident (not duplicated, not mapped
 * remotely) leaves the device view's userfaultfd: its view is zapped, which
 * also frees an empty page table where the kernel reclaims them, then
 * unregistered. The device's next touch is an ordinary shmem fault that
 * maps vram's 2 MiB page with one entry (or, where vram holds 4 KiB pages,
 * by fault-around). Faults of the region still queued for the fault thread
 * find it resident; the unregistration woke their threads. Returns whether
 * the region is whole now.
 */
bool dev_make_whole(struct udrv *u, uint32_t r)
{
	uint64_t first = (uint64_t)r * FERRY_REGION_PAGES;

	udrv_assert_locked(u);
	if (!u->whole_regions || u->dev_whole[r] || u->region_dev_pages[r] != FERRY_REGION_PAGES ||
	    first + FERRY_REGION_PAGES > u->npages)
		return u->whole_regions && u->dev_whole[r];
	for (uint64_t p = first; p < first + FERRY_REGION_PAGES; p++)
		if (u->state[p] != FERRY_RES_DEVICE || u->remote_mapped[p])
			return false;
	if (madvise((void *)addr_of(u, first), FERRY_REGION_SIZE, MADV_DONTNEED))
		udrv_die_errno("madvise(DONTNEED)");
	/* counted first: the unregistration wakes device threads, which may finish their work */
	u->dev_whole[r] = 1;
	u->meta->counters.whole_regions++;
	view_unregister(u->dev_uffd, addr_of(u, first), FERRY_REGION_SIZE, false);
	/* map it now (one entry where vram has a 2 MiB page), not in the device's first touch */
	madvise((void *)addr_of(u, first), FERRY_REGION_SIZE, MADV_POPULATE_WRITE);
	return true;
}

/*
 * Take the whole regions that [first, first + n) touches back into the
 * device view's registration before their view or residency changes: the
 * kernel's mapping is zapped, and the device-resident pages outside
 * [first, first + n) are mapped again page by page (the caller changes the
 * rest).
 */
void dev_claim(struct udrv *u, uint64_t first, uint64_t n)
{
	uint64_t end = first + n;

	udrv_assert_locked(u);
	if (!u->whole_regions)
		return;
	for (uint64_t r = first / FERRY_REGION_PAGES; r * FERRY_REGION_PAGES < end; r++) {
		uint64_t rfirst = r * FERRY_REGION_PAGES, rend = rfirst + FERRY_REGION_PAGES;

		if (!u->dev_whole[r])
			continue;
		/* nothing changed it while whole: every page on the device, none remote */
		assert(pages_all(u, rfirst, FERRY_REGION_PAGES, FERRY_RES_DEVICE) &&
		       !memchr(u->remote_mapped + rfirst, 1, FERRY_REGION_PAGES));
		view_register(u->dev_uffd, addr_of(u, rfirst), FERRY_REGION_SIZE, false);
		if (madvise((void *)addr_of(u, rfirst), FERRY_REGION_SIZE, MADV_DONTNEED))
			udrv_die_errno("madvise(DONTNEED)");
		u->dev_whole[r] = 0;
		if (first > rfirst)
			map_device_runs(u, rfirst, first - rfirst);
		if (end < rend)
			map_device_runs(u, end, rend - end);
	}
}

/* ---- the host side ---- */

/*
 * Populate an empty sysmem region in one go (one 2 MiB page where shmem has
 * them, zeroed): pages that are not host-resident keep a zeroed stale page,
 * like the pages the host agent's zaps keep. Returns whether the region was
 * populated now.
 */
bool sys_populate(struct udrv *u, uint64_t page)
{
	uint64_t first = page & ~(uint64_t)(FERRY_REGION_PAGES - 1);
	off_t off = (off_t)(first * PG), next;

	udrv_assert_locked(u);
	if (!u->whole_regions || first + FERRY_REGION_PAGES > u->npages)
		return false;
	next = lseek(u->sys_fd, off, SEEK_DATA);
	if (next >= 0 && next < off + (off_t)FERRY_REGION_SIZE)
		return false; /* it holds pages already */
	return !madvise(u->sys_alias + first * PG, FERRY_REGION_SIZE, MADV_POPULATE_WRITE);
}

/*
 * A region whose every page is host-resident leaves the host view's
 * userfaultfd (unregistered from here, through the host's descriptor), and
 * the host's touches map sysmem themselves: with one 2 MiB entry where
 * sysmem has a 2 MiB page and the host view no page table left there (the
 * whole-region zap on the way to the device lets the kernel free it).
 * Returns whether the region is whole now.
 */
bool host_make_whole(struct udrv *u, uint32_t r)
{
	uint64_t first = (uint64_t)r * FERRY_REGION_PAGES;

	udrv_assert_locked(u);
	if (!u->whole_regions || u->host_whole[r] || first + FERRY_REGION_PAGES > u->npages)
		return u->whole_regions && u->host_whole[r];
	for (uint64_t p = first; p < first + FERRY_REGION_PAGES; p++)
		if (u->state[p] != FERRY_RES_HOST)
			return false;
	/* counted first: the unregistration wakes host threads */
	u->host_whole[r] = 1;
	u->meta->counters.whole_regions++;
	if (!view_unregister(u->host_uffd, addr_of(u, first), FERRY_REGION_SIZE, true))
		return true; /* the host is gone */
	memset(u->host_unmapped + first, 0, FERRY_REGION_PAGES);
	return true;
}

/*
 * Take the whole host regions that [first, first + n) touches back into the
 * host view's registration before the host view or residency of their
 * pages changes. Where the caller leaves some of a region's host-resident
 * pages mapped (@keep_mapped: all of them, as write-protection does; else
 * those outside the range), the agent zaps the kernel's mapping and they are
 * mapped again page by page.
 */
void host_claim(struct udrv *u, uint64_t first, uint64_t n, bool keep_mapped)
{
	uint64_t end = first + n;

	udrv_assert_locked(u);
	if (!u->whole_regions)
		return;
	for (uint64_t r = first / FERRY_REGION_PAGES; r * FERRY_REGION_PAGES < end; r++) {
		uint64_t rfirst = r * FERRY_REGION_PAGES, rend = rfirst + FERRY_REGION_PAGES;

		if (!u->host_whole[r])
			continue;
		/* nothing changed it while whole: every page on the host */
		assert(pages_all(u, rfirst, FERRY_REGION_PAGES, FERRY_RES_HOST));
		view_register(u->host_uffd, addr_of(u, rfirst), FERRY_REGION_SIZE, true);
		u->host_whole[r] = 0;
		if (!keep_mapped && first <= rfirst && end >= rend)
			continue; /* the caller unmaps all of it */
		if (!host_zap(u, rfirst, FERRY_REGION_PAGES))
			continue;
		if (keep_mapped) {
			map_host_runs(u, rfirst, FERRY_REGION_PAGES);
			continue;
		}
		if (first > rfirst)
			map_host_runs(u, rfirst, first - rfirst);
		if (end < rend)
			map_host_runs(u, end, rend - end);
	}
}
