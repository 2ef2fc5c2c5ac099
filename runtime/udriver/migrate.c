/* SPDX-License-Identifier: MIT */
/*
 * migrate.c - the udriver moves pages: the transitions of the residency
 * state machine (docs/residency.md), the device-resident accounting per
 * region with its LRU, and eviction when the device is full.
 *
 * Host -> device: the host agent zaps the host view (agent.c), the driver
 * copies sysmem -> vram, marks the pages device-resident and maps the device
 * view; without the agent: write-protect, copy, mark, punch sysmem, lift the
 * protection. Device -> host: zap the device view, copy vram -> sysmem, mark,
 * map the host view. The state byte changes only once the destination holds a
 * full copy. Everything here is called with u->lock held.
 */
#include "common/clock.h"
#include "udriver/internal.h"

#include <string.h>
#include <sys/mman.h>

/*
 * @page's region gains @delta device-resident pages (device or duplicated; a
 * loss when negative): its count, the VA space's counters and peak, and its
 * place in the eviction LRU (touched when pages arrive, out when it has none).
 */
static void device_resident_add(struct udrv *u, uint64_t page, int64_t delta)
{
	uint32_t r = (uint32_t)(page / FERRY_REGION_PAGES);
	struct ferry_counters *c = &u->meta->counters;

	udrv_assert_locked(u);
	assert(delta >= 0 ? u->region_dev_pages[r] + (uint64_t)delta <= FERRY_REGION_PAGES
			  : u->region_dev_pages[r] >= (uint64_t)-delta);
	assert(delta >= 0 || c->device_resident_pages >= (uint64_t)-delta);
	u->region_dev_pages[r] = (uint32_t)((int64_t)u->region_dev_pages[r] + delta);
	c->device_resident_pages = (uint64_t)((int64_t)c->device_resident_pages + delta);
	if (c->device_resident_pages > c->device_peak_pages)
		c->device_peak_pages = c->device_resident_pages;
	if (u->region_dev_pages[r] == 0) {
		ferry_lru_remove(&u->evict_lru, r);
	} else if (delta > 0) {
		ferry_lru_touch(&u->evict_lru, r);
		ferry_thrash_arrived(&u->region_thrash[r], ferry_clock_ns());
	}
}

uint32_t udrv_evict_victim(const struct udrv *u, uint32_t pinned)
{
	uint32_t victim = FERRY_LRU_NONE;

	for (uint32_t r = u->evict_lru.head; r != FERRY_LRU_NONE; r = u->evict_lru.node[r].next) {
		if (r == pinned)
			continue;
		if (u->attr_preferred_loc[(uint64_t)r * FERRY_REGION_PAGES] == FERRY_LOC_DEVICE) {
			if (victim == FERRY_LRU_NONE)
				victim = r; /* fallback */
			continue;
		}
		return r;
	}
	return victim;
}

/*
 * Make room for @need more device pages, evicting least recently used regions
 * other than @pinned to system memory. Regions whose pages prefer the device
 * go last.
 */
static void ensure_capacity(struct udrv *u, uint64_t need, uint32_t pinned)
{
	struct ferry_counters *c = &u->meta->counters;

	udrv_assert_locked(u);
	while (c->device_resident_pages + need > u->capacity_pages) {
		uint32_t victim = udrv_evict_victim(u, pinned);

		if (victim == FERRY_LRU_NONE)
			return; /* cannot happen with capacity >= 2 regions */
		uint64_t first = (uint64_t)victim * FERRY_REGION_PAGES;
		uint64_t before = c->pages_to_host;
		uint64_t t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;
		uint8_t cause = u->trace_cause;

		u->trace_cause = FERRY_TR_CAUSE_EVICTION;
		udrv_to_host(u, first, FERRY_REGION_PAGES, false, false);
		u->trace_cause = cause;
		c->evictions++;
		c->pages_evicted += c->pages_to_host - before;
		ferry_thrash_evicted(&u->region_thrash[victim], ferry_clock_ns());
		if (FERRY_TRACE_ON())
			ferry_trace_event(FERRY_TR_EVICTION, "evict region", t0,
					  ferry_clock_ns() - t0, addr_of(u, first),
					  c->pages_to_host - before, 0, 0);
	}
}

/*
 * The host's copy of [p, p + len) goes (the device's is current): the host
 * agent zaps the host view and sysmem keeps its pages, stale, for the way
 * back; without the agent (or below agent_min_pages) sysmem is punched under
 * write protection, so a host write in between waits instead of being lost.
 */
static void host_copy_drop(struct udrv *u, uint64_t p, uint64_t len)
{
	if (len >= u->agent_min_pages && host_zap(u, p, len)) {
		memset(u->sys_kept_stale + p, 1, len);
	} else {
		udrv_host_wp(u, p, len, true);
		memfd_punch(u->sys_fd, p, len);
		udrv_host_wp(u, p, len, false);
	}
}

/* Migrations that use the host agent go in pieces of this many pages. */
#define ZAP_PIPE_PAGES 64

/*
 * Host-resident pages [p, p + len) to the device with the host agent's zap
 * instead of a punch, pipelined: while this thread copies (and maps) one
 * piece, the agent zaps the next one in the host process, on the other CPU.
 * The host's PTEs of a piece are gone before it is copied, so a host touch
 * faults and waits for us; sysmem keeps its (now stale) pages for the way
 * back. Returns how many pages moved: all of them, or a prefix when the
 * agent is missing or stopped (the caller moves the rest another way).
 * @vram_ready: vram holds pages for the whole range (recycled, or just
 * populated), so the copy needs no allocation.
 */
static uint64_t to_device_zapped(struct udrv *u, uint64_t p, uint64_t len, bool map,
				 bool vram_ready)
{
	uint64_t done = 0, n = len < ZAP_PIPE_PAGES ? len : ZAP_PIPE_PAGES;
	bool region = u->whole_regions && len == FERRY_REGION_PAGES && p % FERRY_REGION_PAGES == 0;

	if (len < u->agent_min_pages || !host_zap(u, p, n))
		return 0;
	while (done < len) {
		uint64_t q = p + done, next = len - done - n;
		uint32_t req = 0;

		if (next > ZAP_PIPE_PAGES)
			next = ZAP_PIPE_PAGES;
		/*
		 * The last zap of a whole region covers all of it (the rest is
		 * gone already): the kernel then frees the region's page table,
		 * which lets a 2 MiB entry map it when it comes back.
		 */
		if (next && region && done + n + next == len)
			req = zap_post(u, p, len, FERRY_AGENT_ZAP);
		else if (next)
			req = zap_post(u, q + n, next, FERRY_AGENT_ZAP);
		if (vram_ready || vram_not_held(u, q, n) == 0) /* recycled pages */
			udrv_copy(u->vram_alias + q * PG, u->sys_alias + q * PG, n * PG);
		else
			memfd_copy_into(u->vram_fd, u->sys_alias, q, n);
		vram_take(u, q, n);
		memset(u->sys_kept_stale + q, 1, n);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memset(u->state + q, FERRY_RES_DEVICE, n);
		if (map)
			udrv_map_range(u->dev_uffd, addr_of(u, q), n * PG);
		done += n;
		n = next;
		if (next && !zap_wait(u, req))
			break;
	}
	return done;
}

void udrv_to_device(struct udrv *u, uint64_t first, uint64_t n, bool map, uint64_t *moved)
{
	struct ferry_counters *c = &u->meta->counters;
	uint64_t end = first + n, need = 0, done = 0;
	uint32_t region = (uint32_t)(first / FERRY_REGION_PAGES);
	uint64_t t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;
	/* a whole region goes to the kernel's 2 MiB mapping: no page-by-page map */
	bool whole = u->whole_regions && first % FERRY_REGION_PAGES == 0 &&
		     n == FERRY_REGION_PAGES && !u->dev_whole[region];
	bool map_now = map && !whole, vram_ready = false;

	udrv_assert_locked(u);
	assert_one_region(first, n);
	udrv_remote_unmap(u, first, n); /* migrating ends remote access */
	host_claim(u, first, n, false);

	for (uint64_t p = first; p < end; p++)
		need += !on_device(u->state[p]);
	if (need) {
		ensure_capacity(u, need, region);
		vram_reserve(u, vram_not_held(u, first, n));
		/* a return the fault path has not seen (an explicit migration) */
		if (u->region_dev_pages[region] == 0)
			udrv_thrash_return(u, region);
		vram_ready = vram_prepare(u, first, n, whole);
	}
	for (uint64_t p = first; p < end;) {
		uint64_t len = run_len(u, p, end), zapped;
		bool mapped = false;

		switch (u->state[p]) {
		case FERRY_RES_UNTOUCHED:
			memfd_allocate(u->vram_fd, p, len);
			vram_take(u, p, len);
			memset(u->state + p, FERRY_RES_DEVICE, len);
			c->zero_fill_device += len;
			break;
		case FERRY_RES_DUPLICATED:
			/* the device copy is current: take the host's away, allow writes */
			host_copy_drop(u, p, len);
			memset(u->state + p, FERRY_RES_DEVICE, len);
			udrv_device_wp_off(u, p, len);
			p += len; /* already counted as device-resident */
			continue;
		case FERRY_RES_HOST:
			zapped = to_device_zapped(u, p, len, map_now, vram_ready);
			if (zapped < len) {
				uint64_t q = p + zapped, m = len - zapped;

				udrv_host_wp(u, q, m, true);
				if (vram_ready)
					udrv_copy(u->vram_alias + q * PG, u->sys_alias + q * PG,
						  m * PG);
				else
					memfd_copy_into(u->vram_fd, u->sys_alias, q, m);
				vram_take(u, q, m);
				__atomic_thread_fence(__ATOMIC_RELEASE);
				memset(u->state + q, FERRY_RES_DEVICE, m);
				memfd_punch(u->sys_fd, q, m);
				udrv_host_wp(u, q, m, false);
				if (map_now)
					udrv_map_range(u->dev_uffd, addr_of(u, q), m * PG);
			}
			mapped = true;
			c->pages_to_device += len;
			c->bytes_to_device += len * PG;
			break;
		default: /* already on the device */
			assert(u->state[p] == FERRY_RES_DEVICE);
			p += len;
			continue;
		}
		device_resident_add(u, p, (int64_t)len);
		done += len;
		if (map_now && !mapped)
			udrv_map_range(u->dev_uffd, addr_of(u, p), len * PG);
		p += len;
	}
	if (whole && !dev_make_whole(u, region) && map)
		map_device_runs(u, first, n);
	if (moved)
		*moved = done;
	if (FERRY_TRACE_ON() && done)
		ferry_trace_event(FERRY_TR_MIGRATION, "to device", t0, ferry_clock_ns() - t0,
				  addr_of(u, first), done, u->trace_cause, 0);
}

/*
 * Host-resident pages enter the host view now (@map), or on the host's first
 * touch or the next migration to the host (an eviction leaves them out: the
 * host may never touch them). Either way one request maps a whole range.
 */
static void host_view(struct udrv *u, uint64_t p, uint64_t len, bool map)
{
	if (map)
		udrv_map_range(u->host_uffd, addr_of(u, p), len * PG);
	memset(u->host_unmapped + p, !map, len);
}

static void map_host_unmapped(struct udrv *u, uint64_t first, uint64_t n)
{
	for (uint64_t p = first, end = first + n; p < end;) {
		uint64_t q = p;

		while (q < end && u->host_unmapped[q] == u->host_unmapped[p])
			q++;
		if (u->host_unmapped[p])
			host_view(u, p, q - p, true);
		p = q;
	}
}

/*
 * Device-resident pages [p, p + len) to the host, mapped into the host view,
 * pipelined: while this thread copies one piece, the host agent maps the
 * previous one into its view (UFFDIO_CONTINUE is as costly as the copy).
 * Small runs, or no agent, map here instead. The device view is already
 * zapped.
 */
static void to_host_copy_map(struct udrv *u, uint64_t p, uint64_t len, bool map, bool sys_ready)
{
	bool agent = map && len >= 2 * ZAP_PIPE_PAGES &&
		     __atomic_load_n(&u->meta->host_agent, __ATOMIC_ACQUIRE);
	uint64_t prev = 0, prev_n = 0;
	uint32_t req = 0;

	for (uint64_t done = 0; done < len;) {
		uint64_t q = p + done,
			 n = len - done < ZAP_PIPE_PAGES ? len - done : ZAP_PIPE_PAGES;

		if (!agent)
			n = len;
		if (sys_ready || memchr(u->sys_kept_stale + q, 0, n) == NULL) /* recycled pages */
			udrv_copy(u->sys_alias + q * PG, u->vram_alias + q * PG, n * PG);
		else
			memfd_copy_into(u->sys_fd, u->vram_alias, q, n);
		memset(u->sys_kept_stale + q, 0, n);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memset(u->state + q, FERRY_RES_HOST, n);
		done += n;
		if (!agent)
			break;
		if (prev_n && !zap_wait(u, req))
			udrv_map_range(u->host_uffd, addr_of(u, prev), prev_n * PG);
		req = zap_post(u, q, n, FERRY_AGENT_MAP);
		prev = q;
		prev_n = n;
	}
	if (prev_n && !zap_wait(u, req))
		udrv_map_range(u->host_uffd, addr_of(u, prev), prev_n * PG);
	if (!agent && map)
		udrv_map_range(u->host_uffd, addr_of(u, p), len * PG);
	memset(u->host_unmapped + p, !map, len);
}

void udrv_to_host(struct udrv *u, uint64_t first, uint64_t n, bool map, bool zero_fill)
{
	struct ferry_counters *c = &u->meta->counters;
	uint64_t end = first + n, before = c->pages_to_host;
	uint64_t t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;
	uint32_t region = (uint32_t)(first / FERRY_REGION_PAGES);
	/* a whole region goes to the host's own 2 MiB mapping: no page-by-page map */
	bool whole = u->whole_regions && first % FERRY_REGION_PAGES == 0 &&
		     n == FERRY_REGION_PAGES && !u->host_whole[region];
	bool map_now = map && !whole, sys_ready = false;

	udrv_assert_locked(u);
	assert_one_region(first, n);
	dev_claim(u, first, n);
	if (whole && memchr(u->state + first, FERRY_RES_DEVICE, n))
		sys_ready = sys_populate(u, first);
	for (uint64_t p = first; p < end;) {
		uint64_t len = run_len(u, p, end);

		switch (u->state[p]) {
		case FERRY_RES_UNTOUCHED:
			if (zero_fill) {
				sys_populate(u, p);
				memfd_allocate(u->sys_fd, p, len);
				memset(u->state + p, FERRY_RES_HOST, len);
				c->zero_fill_host += len;
				host_view(u, p, len, map_now);
			}
			break;
		case FERRY_RES_HOST:
			/* evicted pages, not mapped yet: map them with the rest */
			if (map_now)
				map_host_unmapped(u, p, len);
			break;
		case FERRY_RES_DEVICE:
			assert(vram_not_held(u, p, len) == 0); /* its data is in vram */
			if (madvise((void *)addr_of(u, p), len * PG, MADV_DONTNEED))
				udrv_die_errno("madvise(DONTNEED)");
			to_host_copy_map(u, p, len, map_now, sys_ready);
			/* the vram pages stay, stale, for the next trip */
			vram_stale_add(u, p, (int64_t)len);
			c->pages_to_host += len;
			c->bytes_to_host += len * PG;
			device_resident_add(u, p, -(int64_t)len);
			break;
		case FERRY_RES_DUPLICATED:
			/* the host copy is current: drop the device's, allow host writes */
			if (madvise((void *)addr_of(u, p), len * PG, MADV_DONTNEED))
				udrv_die_errno("madvise(DONTNEED)");
			memset(u->state + p, FERRY_RES_HOST, len);
			vram_stale_add(u, p, (int64_t)len);
			device_resident_add(u, p, -(int64_t)len);
			udrv_host_wp(u, p, len, false);
			/* the host view kept its copy mapped, unless it had been evicted before */
			if (map_now)
				map_host_unmapped(u, p, len);
			break;
		default:
			assert(!"a page state outside enum ferry_residency");
			break;
		}
		p += len;
	}
	if (whole && !host_make_whole(u, region) && map)
		map_host_unmapped(u, first, n);
	if (FERRY_TRACE_ON() && c->pages_to_host != before)
		ferry_trace_event(FERRY_TR_MIGRATION, "to host", t0, ferry_clock_ns() - t0,
				  addr_of(u, first), c->pages_to_host - before, u->trace_cause, 0);
}

/*
 * GCC 12 at -O3 (CMAKE_BUILD_TYPE=Release) cannot bound run_len() and warns
 * that the state memset below may exceed any object: a false positive.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
void udrv_discard_to_device(struct udrv *u, uint64_t first, uint64_t n)
{
	uint64_t end = first + n, need = 0;

	udrv_assert_locked(u);
	assert_one_region(first, n);
	udrv_remote_unmap(u, first, n);
	host_claim(u, first, n, false);
	for (uint64_t p = first; p < end; p++)
		need += !on_device(u->state[p]);
	if (need) {
		ensure_capacity(u, need, (uint32_t)(first / FERRY_REGION_PAGES));
		vram_reserve(u, vram_not_held(u, first, n));
	}
	for (uint64_t p = first; p < end;) {
		uint64_t len = run_len(u, p, end);
		uint8_t s = u->state[p];

		if (s == FERRY_RES_HOST || s == FERRY_RES_DUPLICATED)
			host_copy_drop(u, p, len); /* the host's copy goes */
		if (s == FERRY_RES_DUPLICATED)
			udrv_device_wp_off(u, p, len);
		/* zero-filled device pages, in recycled memory where there is some */
		if (vram_not_held(u, p, len) == 0) {
			memset(u->vram_alias + p * PG, 0, len * PG);
		} else {
			vram_punch(u, p, len);
			memfd_allocate(u->vram_fd, p, len);
		}
		if (!on_device(s)) {
			vram_take(u, p, len);
			device_resident_add(u, p, (int64_t)len);
		}
		memset(u->state + p, FERRY_RES_DEVICE, len);
		if (!on_device(s))
			udrv_map_range(u->dev_uffd, addr_of(u, p), len * PG);
		p += len;
	}
	if (first % FERRY_REGION_PAGES == 0 && n == FERRY_REGION_PAGES)
		dev_make_whole(u, (uint32_t)(first / FERRY_REGION_PAGES));
}
#pragma GCC diagnostic pop

void udrv_duplicate(struct udrv *u, uint64_t first, uint64_t n)
{
	struct ferry_counters *c = &u->meta->counters;
	uint64_t end = first + n, need = 0, before = c->pages_to_device;
	uint64_t t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;
	bool vram_ready;

	udrv_assert_locked(u);
	assert_one_region(first, n);
	for (uint64_t p = first; p < end; p++)
		need += u->state[p] == FERRY_RES_HOST && u->attr_read_mostly[p];
	if (!need)
		return;
	udrv_remote_unmap(u, first, n);
	host_claim(u, first, n, true);
	ensure_capacity(u, need, (uint32_t)(first / FERRY_REGION_PAGES));
	vram_reserve(u, vram_not_held(u, first, n));
	/* recycled (or pooled) memory for the copies, as a move to the device has */
	vram_ready = vram_prepare(u, first, n, false);
	for (uint64_t p = first; p < end;) {
		uint64_t len = run_len(u, p, end), q = p;

		if (u->state[p] != FERRY_RES_HOST) {
			p += len;
			continue;
		}
		while (q < p + len && u->attr_read_mostly[q]) /* read-mostly pages only */
			q++;
		if (q == p) {
			p++;
			continue;
		}
		len = q - p;
		/* write-protect first: a host write during the copy waits, then collapses */
		udrv_host_wp(u, p, len, true);
		if (vram_ready || vram_not_held(u, p, len) == 0)
			udrv_copy(u->vram_alias + p * PG, u->sys_alias + p * PG, len * PG);
		else
			memfd_copy_into(u->vram_fd, u->sys_alias, p, len);
		vram_take(u, p, len);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memset(u->state + p, FERRY_RES_DUPLICATED, len);
		device_resident_add(u, p, (int64_t)len);
		c->pages_to_device += len;
		c->bytes_to_device += len * PG;
		/* read-only device mapping: a device write faults and collapses */
		udrv_map_range_wp(u->dev_uffd, addr_of(u, p), len * PG);
		p += len;
	}
	if (FERRY_TRACE_ON())
		ferry_trace_event(FERRY_TR_MIGRATION, "duplicate to device", t0,
				  ferry_clock_ns() - t0, addr_of(u, first),
				  c->pages_to_device - before, FERRY_TR_CAUSE_ADVICE, 0);
}

void udrv_discard(struct udrv *u, uint64_t first, uint64_t n)
{
	uint64_t end = first + n, dev = 0, held = 0;

	udrv_assert_locked(u);
	assert_one_region(first, n);
	udrv_remote_unmap(u, first, n);
	dev_claim(u, first, n);
	host_claim(u, first, n, false);

	for (uint64_t p = first; p < end; p++) {
		dev += on_device(u->state[p]);
		held += u->vram_held[p];
	}
	/* Drop every copy: device pages, stale vram pages, (stale) sysmem pages. */
	if (dev)
		for (uint64_t p = first; p < end;) {
			uint64_t len = run_len(u, p, end);

			if (on_device(u->state[p]))
				device_resident_add(u, p, -(int64_t)len);
			p += len;
		}
	if (held) {
		uint64_t stale = held;

		for (uint64_t p = first; p < end; p++)
			stale -= u->vram_held[p] && on_device(u->state[p]);
		if (stale)
			vram_stale_add(u, first, -(int64_t)stale);
		assert(u->meta->counters.device_cached_pages >= held);
		u->meta->counters.device_cached_pages -= held;
		memset(u->vram_held + first, 0, n);
	}
	memset(u->state + first, FERRY_RES_UNTOUCHED, n);
	memset(u->sys_kept_stale + first, 0, n);
	if (n == FERRY_REGION_PAGES)
		udrv_thrash_forget(u, (uint32_t)(first / FERRY_REGION_PAGES));
	if (dev || held)
		vram_punch(u, first, n);
	memfd_punch(u->sys_fd, first, n);
}
