/* SPDX-License-Identifier: MIT */
/*
 * thrash.c - the udriver's response to thrashing (the detection is the
 * shared policy's, runtime/policy): a region that keeps coming back to the
 * device soon after its eviction is pinned on the host, and the device view
 * maps its host pages in place (remote.c's mapping, as accessed-by advice
 * does by hand) instead of migrating them. Nothing is evicted for it, so the
 * regions still on the device stay there: against a sweep larger than the
 * device, a stable resident subset instead of LRU evicting exactly what the
 * next sweep needs first. When the pin runs out the mapping ends and the
 * device faults the region again; if it still thrashes, its next return
 * pins it again.
 */
#include "common/clock.h"
#include "udriver/internal.h"

#include <string.h>

static void thrash_trace(struct udrv *u, uint32_t r, uint64_t t0, uint64_t pages, bool release)
{
	if (FERRY_TRACE_ON())
		ferry_trace_event(FERRY_TR_THRASHING, release ? "release region" : "pin region", t0,
				  ferry_clock_ns() - t0,
				  addr_of(u, (uint64_t)r * FERRY_REGION_PAGES), pages, release, 0);
}

/* A region was pinned; @was_held: it still counted as pinned (a pin that ran out, not let go). */
static void thrash_count_pin(struct udrv *u, bool was_held)
{
	struct ferry_counters *c = &u->meta->counters;

	c->thrashing_pins++;
	if (!was_held)
		u->thrash_pinned++;
	c->thrashing_pinned = u->thrash_pinned;
}

bool udrv_thrash_return(struct udrv *u, uint32_t r)
{
	struct ferry_counters *c = &u->meta->counters;
	struct ferry_thrash *t = &u->region_thrash[r];
	uint64_t now = ferry_clock_ns();
	bool was_pinned = ferry_thrash_pinned(t, now), was_held = t->pinned_until_ns != 0;
	enum ferry_thrash_verdict v = ferry_thrash_return(t, &u->thrash_cfg, now);

	udrv_assert_locked(u);
	if (v == FERRY_THRASH_NONE || was_pinned)
		return v == FERRY_THRASH_PIN;
	c->thrashing++;
	if (v == FERRY_THRASH_PIN)
		thrash_count_pin(u, was_held);
	return v == FERRY_THRASH_PIN;
}

/*
 * Map every run of host (or untouched) pages of [first, end) that the device
 * view does not map in place yet: one system call a run, so that the rest of
 * a pinned region does not fault block by block. Returns the pages mapped.
 */
static uint64_t host_runs_remote(struct udrv *u, uint64_t first, uint64_t end)
{
	uint64_t mapped = 0;

	for (uint64_t p = first; p < end;) {
		uint64_t q = p;

		while (q < end && !u->remote_mapped[q] &&
		       (u->state[q] == FERRY_RES_HOST || u->state[q] == FERRY_RES_UNTOUCHED))
			q++;
		if (q == p) {
			p++;
			continue;
		}
		if (udrv_remote_map(u, p, q - p))
			mapped += q - p;
		p = q;
	}
	return mapped;
}

/*
 * The device has no room for the @need pages a fault in region @r would move
 * and making room would evict a region that only just arrived: pin @r
 * instead (ferry_thrash_full()).
 */
static bool thrash_full(struct udrv *u, uint32_t r, uint64_t need, uint64_t now)
{
	struct ferry_counters *c = &u->meta->counters;
	bool held = u->region_thrash[r].pinned_until_ns != 0;
	uint32_t victim;

	if (c->device_resident_pages + need <= u->capacity_pages)
		return false;
	victim = udrv_evict_victim(u, r);
	if (victim == FERRY_LRU_NONE ||
	    ferry_thrash_full(&u->region_thrash[r], &u->region_thrash[victim], &u->thrash_cfg,
			      now) != FERRY_THRASH_PIN)
		return false;
	thrash_count_pin(u, held);
	return true;
}

bool udrv_thrash_fault(struct udrv *u, uint64_t page, uint64_t need, uint64_t *first, uint64_t *n)
{
	uint32_t r = (uint32_t)(page / FERRY_REGION_PAGES);
	uint64_t rfirst = (uint64_t)r * FERRY_REGION_PAGES;
	uint64_t t0 = ferry_clock_ns();

	udrv_assert_locked(u);
	if (u->state[page] != FERRY_RES_HOST && u->state[page] != FERRY_RES_UNTOUCHED)
		return false;
	/* a return (the region has nothing on the device), or a region pinned before */
	if ((u->region_dev_pages[r] == 0 || ferry_thrash_pinned(&u->region_thrash[r], t0)) &&
	    udrv_thrash_return(u, r)) {
		/* pinned */
	} else if (!thrash_full(u, r, need, t0)) {
		return false;
	}
	/* the whole region in place when none of it is on the device, else its host runs */
	if (u->region_dev_pages[r] == 0 && rfirst + FERRY_REGION_PAGES <= u->npages &&
	    udrv_remote_map(u, rfirst, FERRY_REGION_PAGES)) {
		*first = rfirst;
		*n = FERRY_REGION_PAGES;
	} else {
		uint64_t end = rfirst + FERRY_REGION_PAGES < u->npages ? rfirst + FERRY_REGION_PAGES
								       : u->npages;
		uint64_t mapped = host_runs_remote(u, rfirst, end);

		if (!u->remote_mapped[page])
			return false; /* cannot happen: the page is the host's */
		*first = rfirst;
		*n = end - rfirst;
		thrash_trace(u, r, t0, mapped, false);
		return true;
	}
	thrash_trace(u, r, t0, *n, false);
	return true;
}

/* End the in-place mapping of region @r's pages, but not where accessed-by advice asked for it. */
static uint64_t thrash_unmap(struct udrv *u, uint32_t r)
{
	uint64_t first = (uint64_t)r * FERRY_REGION_PAGES, end = first + FERRY_REGION_PAGES;
	uint64_t unmapped = 0;

	if (end > u->npages)
		end = u->npages;
	for (uint64_t p = first; p < end;) {
		uint64_t q = p;

		while (q < end && u->remote_mapped[q] &&
		       !(u->attr_accessed_by[q] & (1u << FERRY_LOC_DEVICE)))
			q++;
		if (q == p) {
			p++;
			continue;
		}
		udrv_remote_unmap(u, p, q - p);
		unmapped += q - p;
		p = q;
	}
	return unmapped;
}

void udrv_thrash_release(struct udrv *u)
{
	struct ferry_counters *c = &u->meta->counters;
	uint64_t now = ferry_clock_ns(), check = u->thrash_cfg.pin_ns / 8;

	udrv_assert_locked(u);
	if (!u->thrash_pinned || now < u->thrash_next_release_ns)
		return;
	u->thrash_next_release_ns = now + (check > 1000000 ? check : 1000000);
	for (uint32_t r = 0; r < u->nregions && u->thrash_pinned; r++) {
		struct ferry_thrash *t = &u->region_thrash[r];

		if (!t->pinned_until_ns || !ferry_thrash_release(t, &u->thrash_cfg, now))
			continue;
		u->thrash_pinned--;
		thrash_trace(u, r, now, thrash_unmap(u, r), true);
	}
	c->thrashing_pinned = u->thrash_pinned;
}

void udrv_thrash_forget(struct udrv *u, uint32_t r)
{
	udrv_assert_locked(u);
	if (u->region_thrash[r].pinned_until_ns) {
		assert(u->thrash_pinned > 0);
		u->thrash_pinned--;
		u->meta->counters.thrashing_pinned = u->thrash_pinned;
	}
	memset(&u->region_thrash[r], 0, sizeof(u->region_thrash[r]));
}
