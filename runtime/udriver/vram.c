/* SPDX-License-Identifier: MIT */
/*
 * vram.c - the udriver's vram page cache. A page of the vram memfd is kept
 * after its data moved back to the host (stale), so that the next migration
 * to the device copies into it instead of allocating. The pages held, live
 * and stale (counters.device_cached_pages), never exceed the capacity; stale
 * pages are punched by LRU region (u->stale_lru) when room is needed. Where
 * shmem has 2 MiB pages, an empty region is populated whole before a move
 * into it (vram_prepare), so that the device maps it with one entry.
 *
 * The pool (FERRY_VRAM_PREPOPULATE): memory populated in the background from
 * the start, up to the capacity, and freed a slot at a time right before
 * vram allocates, so that a first trip to the device copies into recycled
 * memory instead of memory the VM must back first (docs/performance.md).
 */
#include "common/settings.h"
#include "udriver/internal.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
	if (u->pool_running) /* the capacity may have room for the pool again */
		pthread_cond_signal(&u->pool_cond);
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

/* ---- the pool: memory populated before the application needs it ---- */

enum pool_slot {
	POOL_EMPTY,
	POOL_FILLING,	/* being populated by the pool's thread, counted */
	POOL_HELD,	/* populated, counted */
	POOL_CANCELLED, /* being populated, no longer counted: freed when populated */
};

static void pool_punch(struct udrv *u, uint32_t s)
{
	memfd_punch(u->pool_fd, (uint64_t)s * FERRY_REGION_PAGES, FERRY_REGION_PAGES);
}

/*
 * Give a slot's memory back to the kernel (uncounted, loose), right before
 * vram allocates: the kernel hands the pages just freed out again, recycled
 * instead of new to the process. A slot still being populated is given up
 * too (its thread frees it). Returns false when the pool holds nothing.
 */
static bool pool_release(struct udrv *u)
{
	uint32_t filling = UINT32_MAX;

	udrv_assert_locked(u);
	if (u->pool_fd < 0)
		return false;
	for (uint32_t s = u->pool_slots; s-- > 0;) {
		if (u->pool_state[s] == POOL_HELD) {
			pool_punch(u, s);
			u->pool_state[s] = POOL_EMPTY;
			u->pool_held--;
			u->pool_loose += FERRY_REGION_PAGES;
			u->meta->counters.device_cached_pages -= FERRY_REGION_PAGES;
			return true;
		}
		if (u->pool_state[s] == POOL_FILLING && filling == UINT32_MAX)
			filling = s;
	}
	if (filling == UINT32_MAX)
		return false;
	u->pool_state[filling] = POOL_CANCELLED;
	u->pool_loose += FERRY_REGION_PAGES;
	u->meta->counters.device_cached_pages -= FERRY_REGION_PAGES;
	return true;
}

/* vram holds @n more pages: counted, taken from what the pool let loose first */
static void vram_count_new(struct udrv *u, uint64_t n)
{
	u->meta->counters.device_cached_pages += n;
	u->pool_loose -= n < u->pool_loose ? n : u->pool_loose;
}

/*
 * The pool's thread: while the capacity has room for another 2 MiB beside
 * what vram holds, populate a slot (outside u->lock: ~4 ms for new memory);
 * then wait until vram gives memory back (vram_punch). It runs at idle
 * priority: start-up and the application do not wait for it.
 */
static void *pool_main(void *arg)
{
	struct udrv *u = arg;
	struct ferry_counters *c = &u->meta->counters;
	struct sched_param sp = {.sched_priority = 0};

	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	udrv_lock(u);
	while (!u->pool_stop) {
		uint32_t s = 0;
		bool ok;

		while (s < u->pool_slots && u->pool_state[s] != POOL_EMPTY)
			s++;
		if (s == u->pool_slots ||
		    c->device_cached_pages + u->pool_loose + FERRY_REGION_PAGES >
			    u->capacity_pages) {
			udrv_cond_wait(&u->pool_cond, &u->lock);
			continue;
		}
		u->pool_state[s] = POOL_FILLING;
		c->device_cached_pages += FERRY_REGION_PAGES;
		udrv_unlock(u);
		ok = !madvise(u->pool_alias + (uint64_t)s * FERRY_REGION_SIZE, FERRY_REGION_SIZE,
			      MADV_POPULATE_WRITE);
		udrv_lock(u);
		if (ok && u->pool_state[s] == POOL_FILLING) {
			u->pool_state[s] = POOL_HELD;
			u->pool_held++;
			continue;
		}
		if (u->pool_state[s] == POOL_FILLING) /* failed: uncount it */
			c->device_cached_pages -= FERRY_REGION_PAGES;
		u->pool_state[s] = POOL_EMPTY;
		pool_punch(u, s);
		if (!ok)
			break; /* no memory for it: the pool stays as it is */
	}
	udrv_unlock(u);
	return NULL;
}

/*
 * Start the pool (FERRY_VRAM_PREPOPULATE, on by default): its memfd, with
 * 2 MiB pages where shmem has them, and its thread. Without them there is
 * no pool, and vram allocates as before.
 */
void vram_pool_start(struct udrv *u)
{
	uint64_t len;

	u->pool_fd = -1;
	u->pool_slots = (uint32_t)(u->capacity_pages / FERRY_REGION_PAGES);
	if (!ferry_vram_prepopulate_enabled() || u->pool_slots == 0)
		return;
	len = (uint64_t)u->pool_slots * FERRY_REGION_SIZE;
	u->pool_state = calloc(u->pool_slots, 1);
	u->pool_fd = memfd_create("ferry-vram-pool", MFD_CLOEXEC);
	if (!u->pool_state || u->pool_fd < 0 || ftruncate(u->pool_fd, (off_t)len))
		goto fail;
	u->pool_alias =
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, u->pool_fd, 0);
	if (u->pool_alias == MAP_FAILED) {
		u->pool_alias = NULL;
		goto fail;
	}
	madvise(u->pool_alias, len, MADV_HUGEPAGE); /* freed whole, allocated whole by vram */
	pthread_cond_init(&u->pool_cond, NULL);
	if (pthread_create(&u->pool_thread, NULL, pool_main, u)) {
		pthread_cond_destroy(&u->pool_cond);
		goto fail;
	}
	u->pool_running = true;
	return;

fail:
	if (u->pool_alias)
		munmap(u->pool_alias, len);
	if (u->pool_fd >= 0)
		close(u->pool_fd);
	free(u->pool_state);
	u->pool_alias = NULL;
	u->pool_state = NULL;
	u->pool_fd = -1;
}

/* Stop the pool's thread and free what it holds (the counters keep nothing of it). */
void vram_pool_stop(struct udrv *u)
{
	if (u->pool_fd < 0)
		return;
	if (u->pool_running) {
		udrv_lock(u);
		u->pool_stop = true;
		pthread_cond_signal(&u->pool_cond);
		udrv_unlock(u);
		pthread_join(u->pool_thread, NULL);
		pthread_cond_destroy(&u->pool_cond);
		u->pool_running = false;
	}
	udrv_lock(u);
	while (pool_release(u))
		;
	u->pool_loose = 0;
	udrv_unlock(u);
	munmap(u->pool_alias, (uint64_t)u->pool_slots * FERRY_REGION_SIZE);
	close(u->pool_fd);
	free(u->pool_state);
	u->pool_alias = NULL;
	u->pool_state = NULL;
	u->pool_fd = -1;
}

/*
 * Make room in the vram memfd for @need new pages: the pool's memory goes
 * first, whether or not the capacity needs the room (freed now, it is what
 * the kernel allocates next), then stale pages.
 */
void vram_reserve(struct udrv *u, uint64_t need)
{
	udrv_assert_locked(u);
	while (u->pool_loose < need && pool_release(u))
		;
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
			vram_count_new(u, 1);
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
	vram_count_new(u, stale);
	if (stale)
		vram_stale_add(u, rfirst, (int64_t)stale);
	return true;
}
