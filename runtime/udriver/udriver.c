/* SPDX-License-Identifier: MIT */
/*
 * udriver.c - the user-space driver's mechanism: moving pages between the
 * sysmem and vram memfds, mapping them into the views, eviction, explicit
 * migrations and the driver-interface operations that reach the device.
 */
#include "common/uffd.h"
#include "common/settings.h"
#include "common/clock.h"
#include "common/futex.h"
#include "udriver/udriver.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/falloc.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PG FERRY_PAGE_SIZE

void udrv_busy(struct udrv *u, int delta)
{
	/*
	 * Device work is running: the fault thread polls, and so does the host
	 * agent (zap requests come from device faults then).
	 */
	__atomic_add_fetch(&u->busy, delta, __ATOMIC_RELAXED);
	__atomic_add_fetch(&u->meta->zap_hot, (uint32_t)delta, __ATOMIC_RELEASE);
}


static void die_errno(const char *what)
{
	fprintf(stderr, "ferry-device: %s: %s\n", what, strerror(errno));
	_exit(3);
}

static uint64_t addr_of(const struct udrv *u, uint64_t page)
{
	return u->base + page * PG;
}

static void punch(int fd, uint64_t page, uint64_t n)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(page * PG),
		      (off_t)(n * PG)))
		die_errno("fallocate(PUNCH_HOLE)");
}

static void allocate(int fd, uint64_t page, uint64_t n)
{
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)(page * PG), (off_t)(n * PG)))
		die_errno("fallocate");
}

/*
 * Copy pages into a memfd with pwrite(): the kernel allocates the destination
 * pages and fills them in one pass (no zeroing, no page faults on the
 * destination), about twice as fast as populating a mapping and copying.
 */
static void copy_into(int dst_fd, const uint8_t *src_alias, uint64_t page, uint64_t n)
{
	uint64_t off = page * PG, len = n * PG;

	while (len) {
		ssize_t w = pwrite(dst_fd, src_alias + off, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die_errno("pwrite");
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
		die_errno(host ? "UFFDIO_WRITEPROTECT" : "UFFDIO_WRITEPROTECT(device)");
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
		die_errno("UFFDIO_CONTINUE");
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
		die_errno("UFFDIO_WAKE");
}

/* Length of the run of pages from @page with the same state, capped at @end. */
static uint64_t run_len(const struct udrv *u, uint64_t page, uint64_t end)
{
	uint8_t s = u->state[page];
	uint64_t p = page + 1;

	while (p < end && u->state[p] == s)
		p++;
	return p - page;
}

static void region_add(struct udrv *u, uint64_t page, int64_t delta)
{
	uint32_t r = (uint32_t)(page / FERRY_REGION_PAGES);
	struct ferry_counters *c = &u->meta->counters;

	u->region_dev_pages[r] = (uint32_t)((int64_t)u->region_dev_pages[r] + delta);
	c->device_resident_pages = (uint64_t)((int64_t)c->device_resident_pages + delta);
	if (c->device_resident_pages > c->device_peak_pages)
		c->device_peak_pages = c->device_resident_pages;
	if (u->region_dev_pages[r] == 0)
		ferry_lru_remove(&u->lru, r);
	else if (delta > 0)
		ferry_lru_touch(&u->lru, r);
}

/*
 * Make room for @need more device pages, evicting least recently used regions
 * other than @pinned to system memory. Regions whose pages prefer the device
 * go last.
 */
static void ensure_capacity(struct udrv *u, uint64_t need, uint32_t pinned)
{
	struct ferry_counters *c = &u->meta->counters;

	while (c->device_resident_pages + need > u->capacity_pages) {
		uint32_t victim = FERRY_LRU_NONE;

		for (uint32_t r = u->lru.head; r != FERRY_LRU_NONE; r = u->lru.node[r].next) {
			if (r == pinned)
				continue;
			if (u->attr_pref[(uint64_t)r * FERRY_REGION_PAGES] == FERRY_LOC_DEVICE) {
				if (victim == FERRY_LRU_NONE)
					victim = r; /* fallback */
				continue;
			}
			victim = r;
			break;
		}
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
		u->region_evicted_ns[victim] = ferry_clock_ns();
		if (FERRY_TRACE_ON())
			ferry_trace_event(FERRY_TR_EVICTION, "evict region", t0,
					  ferry_clock_ns() - t0, addr_of(u, first),
					  c->pages_to_host - before, 0, 0);
	}
}

/* Device-resident for capacity: a device copy (duplicated pages have one too). */
static bool on_device(uint8_t s)
{
	return s == FERRY_RES_DEVICE || s == FERRY_RES_DUPLICATED;
}

/* ---- whole regions: the device view through the kernel's own 2 MiB mapping ---- */

#define VIEW_MODES                                                                                 \
	(UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP)

/*
 * Register [addr, addr + len) of a view with its userfaultfd. The host may be
 * gone (@host: ESRCH is ignored); anything else is fatal.
 */
static void view_register(int uffd, uint64_t addr, uint64_t len, bool host)
{
	struct uffdio_register reg = {.range = {.start = addr, .len = len}, .mode = VIEW_MODES};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) && !(host && errno == ESRCH))
		die_errno(host ? "UFFDIO_REGISTER(host view)" : "UFFDIO_REGISTER(device view)");
}

/* Map the pages of [first, first + n) in @state into the view of @uffd. */
static void map_runs(struct udrv *u, int uffd, uint8_t state, uint64_t first, uint64_t n)
{
	for (uint64_t p = first, end = first + n; p < end;) {
		uint64_t len = run_len(u, p, end);

		if (u->state[p] == state)
			udrv_map_range(uffd, addr_of(u, p), len * PG);
		p += len;
	}
}

static void map_device_runs(struct udrv *u, uint64_t first, uint64_t n)
{
	map_runs(u, u->dev_uffd, FERRY_RES_DEVICE, first, n);
}

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
static bool dev_whole(struct udrv *u, uint32_t r)
{
	uint64_t first = (uint64_t)r * FERRY_REGION_PAGES;

	if (!u->huge || u->dhuge[r] || u->region_dev_pages[r] != FERRY_REGION_PAGES ||
	    first + FERRY_REGION_PAGES > u->npages)
		return u->huge && u->dhuge[r];
	for (uint64_t p = first; p < first + FERRY_REGION_PAGES; p++)
		if (u->state[p] != FERRY_RES_DEVICE || u->remote[p])
			return false;
	if (madvise((void *)addr_of(u, first), FERRY_REGION_SIZE, MADV_DONTNEED))
		die_errno("madvise(DONTNEED)");
	/* counted first: the unregistration wakes device threads, which may finish their work */
	u->dhuge[r] = 1;
	u->meta->counters.whole_regions++;
	struct uffdio_range rng = {.start = addr_of(u, first), .len = FERRY_REGION_SIZE};

	if (ioctl(u->dev_uffd, UFFDIO_UNREGISTER, &rng))
		die_errno("UFFDIO_UNREGISTER(device view)");
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
static void dev_claim(struct udrv *u, uint64_t first, uint64_t n)
{
	uint64_t end = first + n;

	if (!u->huge)
		return;
	for (uint64_t r = first / FERRY_REGION_PAGES; r * FERRY_REGION_PAGES < end; r++) {
		uint64_t rfirst = r * FERRY_REGION_PAGES, rend = rfirst + FERRY_REGION_PAGES;

		if (!u->dhuge[r])
			continue;
		view_register(u->dev_uffd, addr_of(u, rfirst), FERRY_REGION_SIZE, false);
		if (madvise((void *)addr_of(u, rfirst), FERRY_REGION_SIZE, MADV_DONTNEED))
			die_errno("madvise(DONTNEED)");
		u->dhuge[r] = 0;
		if (first > rfirst)
			map_device_runs(u, rfirst, first - rfirst);
		if (end < rend)
			map_device_runs(u, end, rend - end);
	}
}

/* ---- the vram page cache ---- */

static void stale_add(struct udrv *u, uint64_t page, int64_t delta)
{
	uint32_t r = (uint32_t)(page / FERRY_REGION_PAGES);

	u->region_stale_pages[r] = (uint32_t)((int64_t)u->region_stale_pages[r] + delta);
	if (u->region_stale_pages[r] == 0)
		ferry_lru_remove(&u->stale_lru, r);
	else if (delta > 0)
		ferry_lru_touch(&u->stale_lru, r);
}

/* Punch vram pages; a region punched in part has no 2 MiB page any more. */
static void vram_punch(struct udrv *u, uint64_t page, uint64_t n)
{
	punch(u->vram_fd, page, n);
	for (uint64_t r = page / FERRY_REGION_PAGES; r * FERRY_REGION_PAGES < page + n; r++)
		u->vhuge[r] = 0;
}

/* Free the stale vram pages of region @r. */
static void stale_drop_region(struct udrv *u, uint32_t r)
{
	uint64_t first = (uint64_t)r * FERRY_REGION_PAGES, end = first + FERRY_REGION_PAGES;

	for (uint64_t p = first; p < end;) {
		uint64_t q = p;

		while (q < end && u->vcached[q] && !on_device(u->state[q]))
			q++;
		if (q > p) {
			vram_punch(u, p, q - p);
			memset(u->vcached + p, 0, q - p);
			u->meta->counters.device_cached_pages -= q - p;
			stale_add(u, p, -(int64_t)(q - p));
			p = q;
		} else {
			p++;
		}
	}
}

/* Make room in the vram memfd for @need new pages, dropping stale ones. */
static void vram_reserve(struct udrv *u, uint64_t need)
{
	while (u->meta->counters.device_cached_pages + need > u->capacity_pages) {
		uint32_t r = ferry_lru_victim(&u->stale_lru, FERRY_LRU_NONE);

		if (r == FERRY_LRU_NONE)
			return;
		stale_drop_region(u, r);
	}
}

/* Pages of [p, p + len) that the vram memfd does not hold yet. */
static uint64_t vram_uncached(const struct udrv *u, uint64_t p, uint64_t len)
{
	uint64_t c = 0;

	for (uint64_t i = p; i < p + len; i++)
		c += !u->vcached[i];
	return c;
}

/* [p, p + len) becomes device-resident: account its vram pages. */
static void vram_take(struct udrv *u, uint64_t p, uint64_t len)
{
	uint64_t stale = 0;

	for (uint64_t i = p; i < p + len; i++) {
		if (u->vcached[i])
			stale++;
		else
			u->meta->counters.device_cached_pages++;
		u->vcached[i] = 1;
	}
	if (stale)
		stale_add(u, p, -(int64_t)stale);
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
static bool vram_prepare(struct udrv *u, uint64_t first, uint64_t n, bool whole)
{
	uint32_t r = (uint32_t)(first / FERRY_REGION_PAGES);
	uint64_t rfirst = (uint64_t)r * FERRY_REGION_PAGES, stale = 0;
	struct ferry_counters *c = &u->meta->counters;

	if (!u->huge || u->vhuge[r] || rfirst + FERRY_REGION_PAGES > u->npages)
		return vram_uncached(u, first, n) == 0;
	if (!whole && !u->prefetch)
		return false;
	if (whole && u->region_dev_pages[r] == 0 && u->region_stale_pages[r])
		stale_drop_region(u, r);
	if (vram_uncached(u, rfirst, FERRY_REGION_PAGES) != FERRY_REGION_PAGES)
		return false;
	vram_reserve(u, FERRY_REGION_PAGES);
	if (c->device_cached_pages + FERRY_REGION_PAGES > u->capacity_pages ||
	    madvise(u->vram_alias + rfirst * PG, FERRY_REGION_SIZE, MADV_POPULATE_WRITE))
		return false;
	u->vhuge[r] = 1;
	for (uint64_t p = rfirst; p < rfirst + FERRY_REGION_PAGES; p++) {
		if (p >= first && p < first + n)
			continue; /* the move's own: vram_take() */
		u->vcached[p] = 1;
		stale++;
	}
	c->device_cached_pages += stale;
	if (stale)
		stale_add(u, rfirst, (int64_t)stale);
	return true;
}

/* ---- the host agent: zapping the host view without freeing sysmem ---- */

static void futex_wake(uint32_t *w)
{
	ferry_futex_wake(w);
}

/*
 * Ask the host process to MADV_DONTNEED its view of the range (zap_post)
 * and wait for it (zap_wait). One request at a time: the mailbox has one
 * slot. zap_wait returns false when the zap did not happen (no agent, or it
 * stopped): the caller then write-protects and punches instead.
 */
static uint32_t zap_post(struct udrv *u, uint64_t page, uint64_t n, uint32_t op)
{
	struct ferry_meta *m = u->meta;
	uint32_t req;

	m->zap_op = op;
	m->zap_start = addr_of(u, page);
	m->zap_len = n * PG;
	req = __atomic_add_fetch(&m->zap_req, 1, __ATOMIC_SEQ_CST);
	/* a host thread polls the mailbox: the agent thread sleeps, let it */
	if (!__atomic_load_n(&m->host_waiters, __ATOMIC_SEQ_CST))
		futex_wake(&m->zap_req);
	return req;
}

static bool zap_wait(struct udrv *u, uint32_t req)
{
	struct ferry_meta *m = u->meta;
	uint64_t t0 = ferry_clock_ns();

	for (;;) {
		uint32_t ack = __atomic_load_n(&m->zap_ack, __ATOMIC_ACQUIRE);

		if (ack == req)
			break;
		if (!__atomic_load_n(&m->host_agent, __ATOMIC_ACQUIRE))
			return false; /* the agent stopped: punch */
		if (ferry_clock_ns() - t0 < 2000 * 1000) {
			sched_yield(); /* spin, but let a runnable thread on this CPU go first */
			continue;
		}
		ferry_futex_wait(&m->zap_ack, ack, 10 * 1000 * 1000);
	}
	return m->zap_status == 0;
}

static bool host_zap(struct udrv *u, uint64_t page, uint64_t n)
{
	if (!__atomic_load_n(&u->meta->host_agent, __ATOMIC_ACQUIRE))
		return false;
	return zap_wait(u, zap_post(u, page, n, FERRY_AGENT_ZAP));
}

/* ---- whole regions on the host side ---- */

static void map_host_runs(struct udrv *u, uint64_t first, uint64_t n)
{
	map_runs(u, u->host_uffd, FERRY_RES_HOST, first, n);
}

/*
 * Populate an empty sysmem region in one go (one 2 MiB page where shmem has
 * them, zeroed): pages that are not host-resident keep a zeroed stale page,
 * like the pages the host agent's zaps keep. Returns whether the region was
 * populated now.
 */
static bool sys_populate(struct udrv *u, uint64_t page)
{
	uint64_t first = page & ~(uint64_t)(FERRY_REGION_PAGES - 1);
	off_t off = (off_t)(first * PG), next;

	if (!u->huge || first + FERRY_REGION_PAGES > u->npages)
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
static bool host_whole(struct udrv *u, uint32_t r)
{
	uint64_t first = (uint64_t)r * FERRY_REGION_PAGES;
	struct uffdio_range rng = {.start = addr_of(u, first), .len = FERRY_REGION_SIZE};

	if (!u->huge || u->hwhole[r] || first + FERRY_REGION_PAGES > u->npages)
		return u->huge && u->hwhole[r];
	for (uint64_t p = first; p < first + FERRY_REGION_PAGES; p++)
		if (u->state[p] != FERRY_RES_HOST)
			return false;
	/* counted first: the unregistration wakes host threads */
	u->hwhole[r] = 1;
	u->meta->counters.whole_regions++;
	if (ioctl(u->host_uffd, UFFDIO_UNREGISTER, &rng)) {
		if (errno != ESRCH)
			die_errno("UFFDIO_UNREGISTER(host view)");
		return true; /* the host is gone */
	}
	memset(u->hunmapped + first, 0, FERRY_REGION_PAGES);
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
static void host_claim(struct udrv *u, uint64_t first, uint64_t n, bool keep_mapped)
{
	uint64_t end = first + n;

	if (!u->huge)
		return;
	for (uint64_t r = first / FERRY_REGION_PAGES; r * FERRY_REGION_PAGES < end; r++) {
		uint64_t rfirst = r * FERRY_REGION_PAGES, rend = rfirst + FERRY_REGION_PAGES;

		if (!u->hwhole[r])
			continue;
		view_register(u->host_uffd, addr_of(u, rfirst), FERRY_REGION_SIZE, true);
		u->hwhole[r] = 0;
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
	bool region = u->huge && len == FERRY_REGION_PAGES && p % FERRY_REGION_PAGES == 0;

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
		if (vram_ready || vram_uncached(u, q, n) == 0) /* recycled pages */
			memcpy(u->vram_alias + q * PG, u->sys_alias + q * PG, n * PG);
		else
			copy_into(u->vram_fd, u->sys_alias, q, n);
		vram_take(u, q, n);
		memset(u->skept + q, 1, n);
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

/* ---- moving pages ---- */

void udrv_to_device(struct udrv *u, uint64_t first, uint64_t n, bool map, uint64_t *moved)
{
	struct ferry_counters *c = &u->meta->counters;
	uint64_t end = first + n, need = 0, done = 0;
	uint32_t region = (uint32_t)(first / FERRY_REGION_PAGES);
	uint64_t t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;
	/* a whole region goes to the kernel's 2 MiB mapping: no page-by-page map */
	bool whole = u->huge && first % FERRY_REGION_PAGES == 0 && n == FERRY_REGION_PAGES &&
		     !u->dhuge[region];
	bool map_now = map && !whole, vram_ready = false;

	udrv_remote_unmap(u, first, n); /* migrating ends remote access */
	host_claim(u, first, n, false);

	for (uint64_t p = first; p < end; p++)
		need += !on_device(u->state[p]);
	if (need) {
		ensure_capacity(u, need, region);
		vram_reserve(u, vram_uncached(u, first, n));
		if (u->region_dev_pages[region] == 0 &&
		    ferry_policy_thrashing(ferry_clock_ns(), u->region_evicted_ns[region],
					   FERRY_THRASHING_WINDOW_NS))
			c->thrashing++;
		vram_ready = vram_prepare(u, first, n, whole);
	}
	for (uint64_t p = first; p < end;) {
		uint64_t len = run_len(u, p, end), zapped;
		bool mapped = false;

		switch (u->state[p]) {
		case FERRY_RES_UNTOUCHED:
			allocate(u->vram_fd, p, len);
			vram_take(u, p, len);
			memset(u->state + p, FERRY_RES_DEVICE, len);
			c->zero_fill_device += len;
			break;
		case FERRY_RES_DUPLICATED:
			/* the device copy is current: take the host's away, allow writes */
			if (len >= u->agent_min_pages && host_zap(u, p, len)) {
				memset(u->skept + p, 1, len);
			} else {
				udrv_host_wp(u, p, len, true);
				punch(u->sys_fd, p, len);
				udrv_host_wp(u, p, len, false);
			}
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
					memcpy(u->vram_alias + q * PG, u->sys_alias + q * PG,
					       m * PG);
				else
					copy_into(u->vram_fd, u->sys_alias, q, m);
				vram_take(u, q, m);
				__atomic_thread_fence(__ATOMIC_RELEASE);
				memset(u->state + q, FERRY_RES_DEVICE, m);
				punch(u->sys_fd, q, m);
				udrv_host_wp(u, q, m, false);
				if (map_now)
					udrv_map_range(u->dev_uffd, addr_of(u, q), m * PG);
			}
			mapped = true;
			c->pages_to_device += len;
			c->bytes_to_device += len * PG;
			break;
		default:
			p += len;
			continue;
		}
		region_add(u, p, (int64_t)len);
		done += len;
		if (map_now && !mapped)
			udrv_map_range(u->dev_uffd, addr_of(u, p), len * PG);
		p += len;
	}
	if (whole && !dev_whole(u, region) && map)
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
	memset(u->hunmapped + p, !map, len);
}

static void map_evicted(struct udrv *u, uint64_t first, uint64_t n)
{
	for (uint64_t p = first, end = first + n; p < end;) {
		uint64_t q = p;

		while (q < end && u->hunmapped[q] == u->hunmapped[p])
			q++;
		if (u->hunmapped[p])
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
		if (sys_ready || memchr(u->skept + q, 0, n) == NULL) /* recycled pages */
			memcpy(u->sys_alias + q * PG, u->vram_alias + q * PG, n * PG);
		else
			copy_into(u->sys_fd, u->vram_alias, q, n);
		memset(u->skept + q, 0, n);
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
	memset(u->hunmapped + p, !map, len);
}

void udrv_to_host(struct udrv *u, uint64_t first, uint64_t n, bool map, bool zero_fill)
{
	struct ferry_counters *c = &u->meta->counters;
	uint64_t end = first + n, before = c->pages_to_host;
	uint64_t t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;
	uint32_t region = (uint32_t)(first / FERRY_REGION_PAGES);
	/* a whole region goes to the host's own 2 MiB mapping: no page-by-page map */
	bool whole = u->huge && first % FERRY_REGION_PAGES == 0 && n == FERRY_REGION_PAGES &&
		     !u->hwhole[region];
	bool map_now = map && !whole, sys_ready = false;

	dev_claim(u, first, n);
	if (whole && memchr(u->state + first, FERRY_RES_DEVICE, n))
		sys_ready = sys_populate(u, first);
	for (uint64_t p = first; p < end;) {
		uint64_t len = run_len(u, p, end);

		switch (u->state[p]) {
		case FERRY_RES_UNTOUCHED:
			if (zero_fill) {
				sys_populate(u, p);
				allocate(u->sys_fd, p, len);
				memset(u->state + p, FERRY_RES_HOST, len);
				c->zero_fill_host += len;
				host_view(u, p, len, map_now);
			}
			break;
		case FERRY_RES_HOST:
			/* evicted pages, not mapped yet: map them with the rest */
			if (map_now)
				map_evicted(u, p, len);
			break;
		case FERRY_RES_DEVICE:
			if (madvise((void *)addr_of(u, p), len * PG, MADV_DONTNEED))
				die_errno("madvise(DONTNEED)");
			to_host_copy_map(u, p, len, map_now, sys_ready);
			/* the vram pages stay, stale, for the next trip */
			stale_add(u, p, (int64_t)len);
			c->pages_to_host += len;
			c->bytes_to_host += len * PG;
			region_add(u, p, -(int64_t)len);
			break;
		case FERRY_RES_DUPLICATED:
			/* the host copy is current: drop the device's, allow host writes */
			if (madvise((void *)addr_of(u, p), len * PG, MADV_DONTNEED))
				die_errno("madvise(DONTNEED)");
			memset(u->state + p, FERRY_RES_HOST, len);
			stale_add(u, p, (int64_t)len);
			region_add(u, p, -(int64_t)len);
			udrv_host_wp(u, p, len, false);
			/* the host view kept its copy mapped, unless it had been evicted before */
			if (map_now)
				map_evicted(u, p, len);
			break;
		default:
			break;
		}
		p += len;
	}
	if (whole && !host_whole(u, region) && map)
		map_evicted(u, first, n);
	if (FERRY_TRACE_ON() && c->pages_to_host != before)
		ferry_trace_event(FERRY_TR_MIGRATION, "to host", t0, ferry_clock_ns() - t0,
				  addr_of(u, first), c->pages_to_host - before, u->trace_cause, 0);
}

bool udrv_remote_map(struct udrv *u, uint64_t first, uint64_t n)
{
	void *at = (void *)addr_of(u, first);

	for (uint64_t p = first; p < first + n; p++)
		if (u->state[p] != FERRY_RES_HOST && u->state[p] != FERRY_RES_UNTOUCHED)
			return false; /* data on the device: migrate instead */
	for (uint64_t p = first; p < first + n;) {
		uint64_t len = run_len(u, p, first + n);

		if (u->state[p] == FERRY_RES_UNTOUCHED) {
			allocate(u->sys_fd, p, len);
			memset(u->state + p, FERRY_RES_HOST, len);
			u->meta->counters.zero_fill_host += len;
		}
		p += len;
	}
	/* the device view of the range becomes the host's pages (not registered: no faults) */
	if (mmap(at, n * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, u->sys_fd,
		 (off_t)(first * PG)) == MAP_FAILED)
		die_errno("mmap(remote)");
	memset(u->remote + first, 1, n);
	return true;
}

/*
 * Ending remote access replaces the device view of a range with a fresh vram
 * mapping, and userfaultfd can only register a mapping once it exists: a
 * device thread touching it in between would reach vram behind the driver's
 * back (a write there is lost when the host's data is copied in). So the new
 * mapping starts PROT_NONE, is registered, then opened with mprotect(), which
 * keeps the registration. A device touch in between takes SIGSEGV; this
 * handler makes it wait until the remap is over and retry, and the retry
 * faults through userfaultfd like any other touch. Every other SIGSEGV goes
 * to the handler the process would have without us (sigchain.c).
 */
static struct {
	uint64_t base, size;
	uint64_t gen; /* odd while a remap is in progress */
} remap_guard;
static __thread uint64_t guard_addr, guard_gen;

static void remap_guard_segv(int sig, siginfo_t *si, void *uctx)
{
	uint64_t a = (uint64_t)(uintptr_t)si->si_addr;
	uint64_t g = __atomic_load_n(&remap_guard.gen, __ATOMIC_ACQUIRE);

	if (si->si_code == SEGV_ACCERR && a - remap_guard.base < remap_guard.size) {
		if (g & 1) {
			while (__atomic_load_n(&remap_guard.gen, __ATOMIC_ACQUIRE) == g)
				sched_yield();
			return;
		}
		if (a != guard_addr || g != guard_gen) {
			/* the remap may have ended before we looked: one more try */
			guard_addr = a;
			guard_gen = g;
			return;
		}
	}
	udrv_signal_forward(sig, si, uctx);
}

/* Once per process (udrv_signal_own): an INIT retried at another address calls udrv_init again. */
static int remap_guard_install(uint64_t base, uint64_t size)
{
	remap_guard.base = base;
	remap_guard.size = size;
	return udrv_signal_own(SIGSEGV, remap_guard_segv);
}

void udrv_remote_unmap(struct udrv *u, uint64_t first, uint64_t n)
{
	if (!memchr(u->remote + first, 1, n))
		return;
	for (uint64_t p = first; p < first + n;) {
		uint64_t q = p;

		while (q < first + n && u->remote[q])
			q++;
		if (q == p) {
			p++;
			continue;
		}
		__atomic_add_fetch(&remap_guard.gen, 1, __ATOMIC_ACQ_REL);
		if (mmap((void *)addr_of(u, p), (q - p) * PG, PROT_NONE,
			 MAP_SHARED | MAP_FIXED | MAP_NORESERVE, u->vram_fd,
			 (off_t)(p * PG)) == MAP_FAILED)
			die_errno("mmap(device view)");
		if (u->huge)
			madvise((void *)addr_of(u, p), (q - p) * PG, MADV_HUGEPAGE);
		view_register(u->dev_uffd, addr_of(u, p), (q - p) * PG, false);
		if (mprotect((void *)addr_of(u, p), (q - p) * PG, PROT_READ | PROT_WRITE))
			die_errno("mprotect(device view)");
		__atomic_add_fetch(&remap_guard.gen, 1, __ATOMIC_RELEASE);
		memset(u->remote + p, 0, q - p);
		p = q;
	}
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

	udrv_remote_unmap(u, first, n);
	host_claim(u, first, n, false);
	for (uint64_t p = first; p < end; p++)
		need += !on_device(u->state[p]);
	if (need) {
		ensure_capacity(u, need, (uint32_t)(first / FERRY_REGION_PAGES));
		vram_reserve(u, vram_uncached(u, first, n));
	}
	for (uint64_t p = first; p < end;) {
		uint64_t len = run_len(u, p, end);
		uint8_t s = u->state[p];

		if (s == FERRY_RES_HOST || s == FERRY_RES_DUPLICATED) {
			/* the host's copy goes; its pages are kept for later when the agent zaps */
			if (len >= u->agent_min_pages && host_zap(u, p, len)) {
				memset(u->skept + p, 1, len);
			} else {
				udrv_host_wp(u, p, len, true);
				punch(u->sys_fd, p, len);
				udrv_host_wp(u, p, len, false);
			}
		}
		if (s == FERRY_RES_DUPLICATED)
			udrv_device_wp_off(u, p, len);
		/* zero-filled device pages, in recycled memory where there is some */
		if (vram_uncached(u, p, len) == 0) {
			memset(u->vram_alias + p * PG, 0, len * PG);
		} else {
			vram_punch(u, p, len);
			allocate(u->vram_fd, p, len);
		}
		if (!on_device(s)) {
			vram_take(u, p, len);
			region_add(u, p, (int64_t)len);
		}
		memset(u->state + p, FERRY_RES_DEVICE, len);
		if (!on_device(s))
			udrv_map_range(u->dev_uffd, addr_of(u, p), len * PG);
		p += len;
	}
	if (first % FERRY_REGION_PAGES == 0 && n == FERRY_REGION_PAGES)
		dev_whole(u, (uint32_t)(first / FERRY_REGION_PAGES));
}
#pragma GCC diagnostic pop

void udrv_duplicate(struct udrv *u, uint64_t first, uint64_t n)
{
	struct ferry_counters *c = &u->meta->counters;
	uint64_t end = first + n, need = 0, before = c->pages_to_device;
	uint64_t t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;

	for (uint64_t p = first; p < end; p++)
		need += u->state[p] == FERRY_RES_HOST && u->attr_rm[p];
	if (!need)
		return;
	udrv_remote_unmap(u, first, n);
	host_claim(u, first, n, true);
	ensure_capacity(u, need, (uint32_t)(first / FERRY_REGION_PAGES));
	vram_reserve(u, vram_uncached(u, first, n));
	for (uint64_t p = first; p < end;) {
		uint64_t len = run_len(u, p, end), q = p;

		if (u->state[p] != FERRY_RES_HOST) {
			p += len;
			continue;
		}
		while (q < p + len && u->attr_rm[q]) /* read-mostly pages only */
			q++;
		if (q == p) {
			p++;
			continue;
		}
		len = q - p;
		/* write-protect first: a host write during the copy waits, then collapses */
		udrv_host_wp(u, p, len, true);
		if (vram_uncached(u, p, len) == 0)
			memcpy(u->vram_alias + p * PG, u->sys_alias + p * PG, len * PG);
		else
			copy_into(u->vram_fd, u->sys_alias, p, len);
		vram_take(u, p, len);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memset(u->state + p, FERRY_RES_DUPLICATED, len);
		region_add(u, p, (int64_t)len);
		c->pages_to_device += len;
		c->bytes_to_device += len * PG;
		/* read-only device mapping: a device write faults and collapses */
		map_range_mode(u->dev_uffd, addr_of(u, p), len * PG, UFFDIO_CONTINUE_MODE_WP);
		p += len;
	}
	if (FERRY_TRACE_ON())
		ferry_trace_event(FERRY_TR_MIGRATION, "duplicate to device", t0,
				  ferry_clock_ns() - t0, addr_of(u, first),
				  c->pages_to_device - before, FERRY_TR_CAUSE_ADVICE, 0);
}

void udrv_discard(struct udrv *u, uint64_t first, uint64_t n)
{
	uint64_t end = first + n, dev = 0, cached = 0;

	udrv_remote_unmap(u, first, n);
	dev_claim(u, first, n);
	host_claim(u, first, n, false);

	for (uint64_t p = first; p < end; p++) {
		dev += on_device(u->state[p]);
		cached += u->vcached[p];
	}
	/* Drop every copy: device pages, stale vram pages, (stale) sysmem pages. */
	if (dev)
		for (uint64_t p = first; p < end;) {
			uint64_t len = run_len(u, p, end);

			if (on_device(u->state[p]))
				region_add(u, p, -(int64_t)len);
			p += len;
		}
	if (cached) {
		uint64_t stale = cached;

		for (uint64_t p = first; p < end; p++)
			stale -= u->vcached[p] && on_device(u->state[p]);
		if (stale)
			stale_add(u, first, -(int64_t)stale);
		u->meta->counters.device_cached_pages -= cached;
		memset(u->vcached + first, 0, n);
	}
	memset(u->state + first, FERRY_RES_UNTOUCHED, n);
	memset(u->skept + first, 0, n);
	if (dev || cached)
		vram_punch(u, first, n);
	punch(u->sys_fd, first, n);
}

/* ---- explicit migrations: a queue served in order by one worker ---- */

static int do_migrate(struct udrv *u, const struct udrv_mreq *q)
{
	uint64_t end = q->first + q->npages;
	uint64_t t0 = ferry_clock_ns();
	static const char *const names[2][2] = {{"migrate to host", "migrate to device"},
						{"discard to host", "discard to device"}};

	/* A multi-region move to the device zaps the host view many times: keep the agent awake. */
	if (q->target == FERRY_LOC_DEVICE && q->npages > FERRY_REGION_PAGES)
		__atomic_add_fetch(&u->meta->zap_hot, 1, __ATOMIC_RELEASE);

	for (uint64_t p = q->first; p < end;) {
		/* one 2 MiB region at a time, so faults interleave */
		uint64_t rend = (p / FERRY_REGION_PAGES + 1) * FERRY_REGION_PAGES;
		uint64_t n = (rend < end ? rend : end) - p;

		pthread_mutex_lock(&u->lock);
		u->trace_cause = FERRY_TR_CAUSE_REQUEST;
		if ((q->flags & FERRY_MIGRATE_DISCARD) && q->target == FERRY_LOC_DEVICE)
			udrv_discard_to_device(u, p, n);
		else if (q->flags & FERRY_MIGRATE_DISCARD)
			udrv_discard(u, p, n);
		else if (q->target == FERRY_LOC_DEVICE)
			udrv_to_device(u, p, n, true, NULL);
		else
			udrv_to_host(u, p, n, true, false);
		pthread_mutex_unlock(&u->lock);
		p += n;
	}
	if (q->target == FERRY_LOC_DEVICE && q->npages > FERRY_REGION_PAGES)
		__atomic_sub_fetch(&u->meta->zap_hot, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&u->meta->counters.migrate_ns, ferry_clock_ns() - t0, __ATOMIC_RELAXED);
	if (FERRY_TRACE_ON())
		ferry_trace_event(
			FERRY_TR_PREFETCH,
			names[!!(q->flags & FERRY_MIGRATE_DISCARD)][q->target == FERRY_LOC_DEVICE],
			t0, ferry_clock_ns() - t0, addr_of(u, q->first), q->npages * PG,
			q->target == FERRY_LOC_DEVICE, q->flags);
	return 0;
}

static void fence_complete(struct udrv *u, uint64_t fence, int status)
{
	struct ferry_meta *m = u->meta;

	m->fence_status[fence % FERRY_FENCE_RING] = status;
	__atomic_store_n(&m->fence_done, fence, __ATOMIC_RELEASE);
	__atomic_fetch_add(&m->fence_futex, 1, __ATOMIC_RELEASE);
	ferry_futex_wake(&m->fence_futex);
}

static void *worker_main(void *arg)
{
	struct udrv *u = arg;

	ferry_trace_thread_name("migration worker");

	pthread_mutex_lock(&u->qlock);
	for (;;) {
		struct udrv_mreq *q;

		while (!u->qhead && !u->stopping)
			pthread_cond_wait(&u->qcond, &u->qlock);
		if (!u->qhead)
			break;
		q = u->qhead;
		pthread_mutex_unlock(&u->qlock);
		int st = do_migrate(u, q);
		pthread_mutex_lock(&u->qlock);
		u->qhead = q->next;
		if (!u->qhead)
			u->qtail = NULL;
		fence_complete(u, q->fence, st);
		pthread_cond_broadcast(&u->qdone);
		free(q);
	}
	pthread_mutex_unlock(&u->qlock);
	return NULL;
}

static int migrate_ioctl(struct udrv *u, struct ferry_migrate *a)
{
	struct udrv_mreq *q;
	int r;

	if (a->reserved || (a->flags & ~FERRY_MIGRATE_FLAGS))
		return -EINVAL;
	if (a->target != FERRY_LOC_HOST && a->target != FERRY_LOC_DEVICE)
		return -EINVAL;
	r = ferry_check_range(u->base, u->size, a->start, a->size);
	if (r)
		return r;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->first = (a->start - u->base) / PG;
	q->npages = a->size / PG;
	q->target = a->target;
	q->flags = a->flags;
	pthread_mutex_lock(&u->qlock);
	q->fence = ++u->next_fence;
	a->fence = q->fence;
	if (!(a->flags & FERRY_MIGRATE_ASYNC) && !u->qhead) {
		/*
		 * Synchronous with nothing queued: done here, in the request
		 * loop's thread, without waking the worker and waiting for it
		 * (two wake-ups). Only this thread queues requests, so none can
		 * overtake it meanwhile.
		 */
		pthread_mutex_unlock(&u->qlock);
		r = do_migrate(u, q);
		pthread_mutex_lock(&u->qlock);
		fence_complete(u, q->fence, r);
		pthread_cond_broadcast(&u->qdone);
		pthread_mutex_unlock(&u->qlock);
		free(q);
		return r;
	}
	if (u->qtail)
		u->qtail->next = q;
	else
		u->qhead = q;
	u->qtail = q;
	pthread_cond_signal(&u->qcond);
	if (!(a->flags & FERRY_MIGRATE_ASYNC)) {
		uint64_t f = a->fence;

		while (__atomic_load_n(&u->meta->fence_done, __ATOMIC_ACQUIRE) < f)
			pthread_cond_wait(&u->qdone, &u->qlock);
		r = u->meta->fence_status[f % FERRY_FENCE_RING];
	}
	pthread_mutex_unlock(&u->qlock);
	return r;
}

/* ---- attributes ---- */

static int attr_check(const struct ferry_attr *a)
{
	if (a->reserved)
		return -EINVAL;
	switch (a->type) {
	case FERRY_ATTR_PREFERRED_LOC:
		return a->value <= FERRY_LOC_DEVICE ? 0 : -EINVAL;
	case FERRY_ATTR_ACCESSED_BY:
		return a->value & ~(uint64_t)((1u << FERRY_LOC_HOST) | (1u << FERRY_LOC_DEVICE))
			       ? -EINVAL
			       : 0;
	case FERRY_ATTR_READ_MOSTLY:
	case FERRY_ATTR_PREFETCH:
		return a->value <= 1 ? 0 : -EINVAL;
	case FERRY_ATTR_BLOCK_SIZE:
		return ferry_policy_block_size_valid(a->value) ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static uint8_t *attr_array(struct udrv *u, uint32_t type)
{
	switch (type) {
	case FERRY_ATTR_PREFERRED_LOC:
		return u->attr_pref;
	case FERRY_ATTR_ACCESSED_BY:
		return u->attr_access;
	case FERRY_ATTR_READ_MOSTLY:
		return u->attr_rm;
	default:
		return NULL;
	}
}

static int attrs_ioctl(struct udrv *u, struct ferry_msg *m, bool set)
{
	struct ferry_attrs *h = &m->u.attrs.hdr;
	uint64_t first, n;
	int r;

	if (h->reserved || h->nattrs == 0 || h->nattrs > FERRY_MAX_ATTRS)
		return -EINVAL;
	r = ferry_check_range(u->base, u->size, h->start, h->size);
	if (r)
		return r;
	for (uint32_t i = 0; i < h->nattrs; i++) {
		struct ferry_attr a = m->u.attrs.attr[i];

		if (!set) /* only type and reserved matter for GET */
			r = a.reserved || a.type < FERRY_ATTR_PREFERRED_LOC ||
					    a.type > FERRY_ATTR_PREFETCH
				    ? -EINVAL
				    : 0;
		else
			r = attr_check(&a);
		if (r)
			return r;
	}
	first = (h->start - u->base) / PG;
	n = h->size / PG;
	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < h->nattrs; i++) {
		struct ferry_attr *a = &m->u.attrs.attr[i];
		uint8_t *arr = attr_array(u, a->type);

		if (set) {
			if (a->type == FERRY_ATTR_ACCESSED_BY &&
			    !(a->value & (1u << FERRY_LOC_DEVICE)))
				udrv_remote_unmap(u, first, n);
			if (arr)
				memset(arr + first, (int)a->value, n);
			else if (a->type == FERRY_ATTR_BLOCK_SIZE)
				u->block_pages = (uint32_t)(a->value / PG);
			else
				u->prefetch = (int)a->value;
			continue;
		}
		if (a->type == FERRY_ATTR_BLOCK_SIZE) {
			a->value = (uint64_t)u->block_pages * PG;
		} else if (a->type == FERRY_ATTR_PREFETCH) {
			a->value = (uint64_t)u->prefetch;
		} else {
			a->value = arr[first];
			for (uint64_t p = first + 1; p < first + n; p++)
				if (arr[p] != arr[first]) {
					a->value = FERRY_ATTR_MIXED;
					break;
				}
		}
	}
	pthread_mutex_unlock(&u->lock);
	return 0;
}

int udrv_ioctl(struct udrv *u, uint64_t cmd, struct ferry_msg *m)
{
	switch (cmd) {
	case FERRY_IOCTL_VERSION:
		if (m->u.version.reserved || m->u.version.reserved2)
			return -EINVAL;
		m->u.version.major = FERRY_UAPI_VERSION_MAJOR;
		m->u.version.minor = FERRY_UAPI_VERSION_MINOR;
		m->u.version.backend = FERRY_BACKEND_USER;
		m->u.version.features = FERRY_FEATURE_PREFETCHER | FERRY_FEATURE_EVICTION |
					FERRY_FEATURE_ASYNC_MIGRATE | FERRY_FEATURE_READ_MOSTLY;
		return 0;
	case FERRY_IOCTL_MIGRATE:
		return migrate_ioctl(u, &m->u.migrate);
	case FERRY_IOCTL_SET_ATTR:
		return attrs_ioctl(u, m, true);
	case FERRY_IOCTL_GET_ATTR:
		return attrs_ioctl(u, m, false);
	case FERRY_IOCTL_CREATE_VASPACE:
	case FERRY_IOCTL_REGISTER_WINDOW:
	case FERRY_IOCTL_MAP_DEVICE_VIEW:
		return -EBUSY; /* done once, by ferry_open */
	default:
		return -ENOTTY;
	}
}

/* ---- setup ---- */

static void *map_sparse(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int udrv_init(struct udrv *u, uint64_t base, uint64_t size, uint64_t device_memory,
	      uint64_t block_size, int prefetch, int sys_fd, int vram_fd, int host_uffd,
	      struct ferry_meta *meta)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |
			    UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	struct uffdio_register reg;
	void *view;
	int err;

	memset(u, 0, sizeof(*u));
	u->base = base;
	u->size = size;
	u->npages = size / PG;
	u->nregions = (uint32_t)(size / FERRY_REGION_SIZE);
	u->sys_fd = sys_fd;
	u->vram_fd = vram_fd;
	u->host_uffd = host_uffd;
	u->meta = meta;
	u->state = meta->state;
	u->block_pages = (uint32_t)(block_size / PG);
	u->prefetch = prefetch;
	u->capacity_pages = device_memory / PG;
	u->spin_us = 50;
	u->agent_min_pages = 1; /* the agent polls while device work runs: always worth it */
	if (getenv("FERRY_AGENT_MIN"))
		u->agent_min_pages = strtoull(getenv("FERRY_AGENT_MIN"), NULL, 0) / PG;
	if (getenv("FERRY_FAULT_SPIN_US"))
		u->spin_us = (uint32_t)strtoul(getenv("FERRY_FAULT_SPIN_US"), NULL, 0);
	u->huge = ferry_whole_regions_enabled();
	meta->counters.device_capacity_pages = u->capacity_pages;

	err = remap_guard_install(base, size);
	if (err)
		return err;
	/* The device view: vram at the window's address, never anywhere else. */
	view = mmap((void *)base, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, vram_fd, 0);
	if (view == MAP_FAILED)
		return -errno;
	if (view != (void *)base) {
		munmap(view, size);
		return -EEXIST;
	}
	u->sys_alias =
		mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, sys_fd, 0);
	u->vram_alias =
		mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vram_fd, 0);
	if (u->sys_alias == MAP_FAILED || u->vram_alias == MAP_FAILED)
		return -ENOMEM;
	if (u->huge) /* 2 MiB pages, mapped whole into the views */
		if (madvise(view, size, MADV_HUGEPAGE) ||
		    madvise(u->vram_alias, size, MADV_HUGEPAGE) ||
		    madvise(u->sys_alias, size, MADV_HUGEPAGE))
			u->huge = false;

	u->dev_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->dev_uffd < 0)
		return -errno;
#if defined(__x86_64__) /* the handler reads the x86 page-fault error code */
	u->inline_faults = !getenv("FERRY_FAULT_INLINE") || atoi(getenv("FERRY_FAULT_INLINE"));
#endif
	if (u->inline_faults)
		api.features |= UFFD_FEATURE_SIGBUS;
	if (ioctl(u->dev_uffd, UFFDIO_API, &api))
		return -errno;
	if (u->inline_faults) {
		err = udrv_inline_faults_install(u);
		if (err)
			return err;
	}
	/* write-protect mode: read-only duplicated pages */
	reg = (struct uffdio_register){.range = {.start = base, .len = size}, .mode = VIEW_MODES};
	if (ioctl(u->dev_uffd, UFFDIO_REGISTER, &reg))
		return -errno;

	u->lru_nodes = calloc(u->nregions, sizeof(*u->lru_nodes));
	u->region_dev_pages = calloc(u->nregions, sizeof(uint32_t));
	u->region_evicted_ns = calloc(u->nregions, sizeof(uint64_t));
	u->dhuge = calloc(u->nregions, 1);
	u->hwhole = calloc(u->nregions, 1);
	u->vhuge = calloc(u->nregions, 1);
	u->vcached = map_sparse(u->npages);
	u->remote = map_sparse(u->npages);
	u->skept = map_sparse(u->npages);
	u->hunmapped = map_sparse(u->npages);
	u->region_stale_pages = calloc(u->nregions, sizeof(uint32_t));
	u->stale_nodes = calloc(u->nregions, sizeof(*u->stale_nodes));
	if (!u->vcached || !u->remote || !u->skept || !u->hunmapped || !u->region_stale_pages ||
	    !u->stale_nodes)
		return -ENOMEM;
	ferry_lru_init(&u->stale_lru, u->stale_nodes, u->nregions);
	u->attr_pref = map_sparse(u->npages);
	u->attr_access = map_sparse(u->npages);
	u->attr_rm = map_sparse(u->npages);
	if (!u->lru_nodes || !u->region_dev_pages || !u->region_evicted_ns || !u->dhuge ||
	    !u->hwhole || !u->vhuge || !u->attr_pref || !u->attr_access || !u->attr_rm)
		return -ENOMEM;
	ferry_lru_init(&u->lru, u->lru_nodes, u->nregions);

	pthread_mutex_init(&u->lock, NULL);
	pthread_mutex_init(&u->qlock, NULL);
	pthread_cond_init(&u->qcond, NULL);
	pthread_cond_init(&u->qdone, NULL);
	u->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (u->stop_efd < 0)
		return -errno;
	err = pthread_create(&u->worker, NULL, worker_main, u);
	if (err)
		return -err;
	err = pthread_create(&u->fault_thread, NULL, udrv_fault_main, u);
	if (err)
		return -err;
	return 0;
}

void udrv_fini(struct udrv *u)
{
	uint64_t one = 1;

	pthread_mutex_lock(&u->qlock);
	u->stopping = true;
	pthread_cond_broadcast(&u->qcond);
	pthread_mutex_unlock(&u->qlock);
	pthread_join(u->worker, NULL);
	if (write(u->stop_efd, &one, sizeof(one)) != sizeof(one))
		return;
	pthread_join(u->fault_thread, NULL);
}
