/* SPDX-License-Identifier: MIT */
/*
 * vram.c - the udriver's vram page cache. A page of the vram memfd is kept
 * after its data moved back to the host (stale), so that the next migration
 * to the device copies into it instead of allocating. The pages held, live
 * and stale (counters.device_cached_pages), never exceed the capacity; stale
 * pages are punched by LRU region (u->stale_lru) when room is needed. Where
 * shmem has 2 MiB pages, an empty region is populated whole before a move
 * into it (vram_prepare), so that the device maps it with one entry.
 */
#include "udriver/internal.h"

#include <string.h>
#include <sys/mman.h>

void vram_stale_add(struct udrv *u, uint64_t page, int64_t delta)
{
	uint32_t r = (uint32_t)(page / FERRY_REGION_PAGES);

	udrv_assert_locked(u);
	assert(delta >= 0 ? u->region_stale_pages[r] + (uint64_t)delta <= FERRY_REGION_PAGES
			  : u->region_stale_pages[r] >= (uint64_t)-delta);
	u->region_stale_pages[r] = (uint32_t)((int64_t)u->region_stale_pages[r] + delta);
	if (u->region_stale_pages[r] == 0)
		ferry_lru_remove(&u->stale_lru, r);
	else if (delta > 0)
		ferry_lru_touch(&u->stale_lru, r);
}

/* Punch vram pages; a region punched in part has no 2 MiB page any more. */
void vram_punch(struct udrv *u, uint64_t page, uint64_t n)
{
	udrv_assert_locked(u);
	memfd_punch(u->vram_fd, page, n);
	for (uint64_t r = page / FERRY_REGION_PAGES; r * FERRY_REGION_PAGES < page + n; r++)
		u->vram_huge_page[r] = 0;
}

/* Free the stale vram pages of region @r. */
static void stale_drop_region(struct udrv *u, uint32_t r)
{
	uint64_t first = (uint64_t)r * FERRY_REGION_PAGES, end = first + FERRY_REGION_PAGES;

	for (uint64_t p = first; p < end;) {
		uint64_t q = p;

		while (q < end && u->vram_held[q] && !on_device(u->state[q]))
			q++;
		if (q > p) {
			vram_punch(u, p, q - p);
			memset(u->vram_held + p, 0, q - p);
			assert(u->meta->counters.device_cached_pages >= q - p);
			u->meta->counters.device_cached_pages -= q - p;
			vram_stale_add(u, p, -(int64_t)(q - p));
			p = q;
		} else {
			p++;
		}
	}
}

/* Make room in the vram memfd for @need new pages, dropping stale ones. */
void vram_reserve(struct udrv *u, uint64_t need)
{
	udrv_assert_locked(u);
	while (u->meta->counters.device_cached_pages + need > u->capacity_pages) {
		uint32_t r = ferry_lru_victim(&u->stale_lru, FERRY_LRU_NONE);

		if (r == FERRY_LRU_NONE)
			return;
		stale_drop_region(u, r);
	}
}

/* Pages of [p, p + len) that the vram memfd does not hold yet. */
uint64_t vram_not_held(const struct udrv *u, uint64_t p, uint64_t len)
{
	uint64_t c = 0;

	for (uint64_t i = p; i < p + len; i++)
		c += !u->vram_held[i];
	return c;
}

/* [p, p + len) becomes device-resident: account its vram pages. */
void vram_take(struct udrv *u, uint64_t p, uint64_t len)
{
	uint64_t stale = 0;

	udrv_assert_locked(u);
	for (uint64_t i = p; i < p + len; i++) {
		if (u->vram_held[i])
			stale++;
		else
			u->meta->counters.device_cached_pages++;
		u->vram_held[i] = 1;
	}
	if (stale)
		vram_stale_add(u, p, -(int64_t)stale);
}

/*
 * Give a move's vram region a 2 MiB page where it can have one, so that the
 * device maps it whole: a whole region's move, or with the prefetcher any
 * move into a region whose vram is empty, populates the region in one go
 * (zeroed); a whole region's move into a region whose vram holds only stale
 * 4 KiB pages drops them first (once: populated, it keeps its 2 MiB page).
 * Pages populated beyond [first, first + n) are held as stale cache, within
 * the capacity. Returns whether vram holds every page of the range now.
 */
bool vram_prepare(struct udrv *u, uint64_t first, uint64_t n, bool whole)
{
	uint32_t r = (uint32_t)(first / FERRY_REGION_PAGES);
	uint64_t rfirst = (uint64_t)r * FERRY_REGION_PAGES, stale = 0;
	struct ferry_counters *c = &u->meta->counters;

	udrv_assert_locked(u);
	if (!u->whole_regions || u->vram_huge_page[r] || rfirst + FERRY_REGION_PAGES > u->npages)
		return vram_not_held(u, first, n) == 0;
	if (!whole && !u->prefetch)
		return false;
	if (whole && u->region_dev_pages[r] == 0 && u->region_stale_pages[r])
		stale_drop_region(u, r);
	if (vram_not_held(u, rfirst, FERRY_REGION_PAGES) != FERRY_REGION_PAGES)
		return false;
	vram_reserve(u, FERRY_REGION_PAGES);
	if (c->device_cached_pages + FERRY_REGION_PAGES > u->capacity_pages ||
	    madvise(u->vram_alias + rfirst * PG, FERRY_REGION_SIZE, MADV_POPULATE_WRITE))
		return false;
	u->vram_huge_page[r] = 1;
	for (uint64_t p = rfirst; p < rfirst + FERRY_REGION_PAGES; p++) {
		if (p >= first && p < first + n)
			continue; /* the move's own: vram_take() */
		u->vram_held[p] = 1;
		stale++;
	}
	c->device_cached_pages += stale;
	if (stale)
		vram_stale_add(u, rfirst, (int64_t)stale);
	return true;
}
