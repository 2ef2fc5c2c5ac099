/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the udriver's files share; ferry-device itself sees only
 * udriver.h.
 *
 * One file a concern. A device fault's walk: fault.c decides what moves
 * (block, prefetch, advice), migrate.c moves it, using the primitives of
 * view.c, the caches and regions of vram.c and whole.c and the host agent
 * through agent.c.
 *
 *   udriver.c  setup and teardown, udrv_ioctl(), udrv_busy()
 *   view.c     primitives: userfaultfd on the two views (map, wake,
 *              write-protect, register), fallocate/pwrite on the two memfds
 *   copy.c     the copy engine: a migration's bytes, with streaming stores
 *   vram.c     the vram page cache: stale pages kept for the next trip, and
 *              the pool of memory populated before the application needs it
 *   whole.c    whole regions, device and host side
 *   agent.c    the host agent's mailbox, the driver's end
 *   migrate.c  moving pages: residency accounting, eviction, the moves to
 *              either side, discard, read duplication
 *   remote.c   accessed-by remote mapping and the SIGSEGV guard of its remap
 *   thrash.c   thrashing: regions pinned on the host, mapped in place, let go
 *   queue.c    explicit migrations: the request queue and its worker
 *   advice.c   attributes (SET_ATTR, GET_ATTR)
 *   fault.c    the fault thread and in-thread device faults (SIGBUS)
 *   sigchain.c keeping SIGBUS and SIGSEGV from other libraries
 *
 * Unless a comment says otherwise, a function that reads or changes page
 * state is called with u->lock held, and asserts so in debug builds
 * (udrv_assert_locked); none that holds it touches either view with a load
 * or store (only with system calls).
 */
#ifndef FERRY_UDRIVER_INTERNAL_H
#define FERRY_UDRIVER_INTERNAL_H

#include <assert.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "udriver/copy.h"
#include "udriver/udriver.h"

#define PG FERRY_PAGE_SIZE

/* userfaultfd modes of both views: missing, minor, write-protect (duplicated pages) */
#define VIEW_MODES                                                                                 \
	(UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP)

/*
 * ---- locks ----
 * u->lock and u->qlock go through these: in a debug build they record the
 * holder, and udrv_assert_locked() / udrv_assert_qlocked() check that the
 * calling thread holds the lock. With NDEBUG they are the bare pthread calls.
 */

static inline void udrv_mutex_init(struct udrv_mutex *l)
{
	pthread_mutex_init(&l->m, NULL);
#ifndef NDEBUG
	l->held = false;
#endif
}

static inline void udrv_mutex_destroy(struct udrv_mutex *l)
{
	pthread_mutex_destroy(&l->m);
}

#ifndef NDEBUG
static inline bool udrv_mutex_held(const struct udrv_mutex *l)
{
	return __atomic_load_n(&l->held, __ATOMIC_RELAXED) &&
	       pthread_equal(__atomic_load_n(&l->owner, __ATOMIC_RELAXED), pthread_self());
}

static inline void udrv_mutex_taken(struct udrv_mutex *l)
{
	__atomic_store_n(&l->owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&l->held, true, __ATOMIC_RELAXED);
}

static inline void udrv_mutex_leaving(struct udrv_mutex *l)
{
	assert(udrv_mutex_held(l));
	__atomic_store_n(&l->held, false, __ATOMIC_RELAXED);
}
#endif

static inline void udrv_mutex_lock(struct udrv_mutex *l)
{
	pthread_mutex_lock(&l->m);
#ifndef NDEBUG
	udrv_mutex_taken(l);
#endif
}

static inline void udrv_mutex_unlock(struct udrv_mutex *l)
{
#ifndef NDEBUG
	udrv_mutex_leaving(l);
#endif
	pthread_mutex_unlock(&l->m);
}

static inline void udrv_cond_wait(pthread_cond_t *c, struct udrv_mutex *l)
{
#ifndef NDEBUG
	udrv_mutex_leaving(l);
#endif
	pthread_cond_wait(c, &l->m);
#ifndef NDEBUG
	udrv_mutex_taken(l);
#endif
}

#define udrv_lock(u) udrv_mutex_lock(&(u)->lock)
#define udrv_unlock(u) udrv_mutex_unlock(&(u)->lock)
#define udrv_assert_locked(u) assert(udrv_mutex_held(&(u)->lock))
#define udrv_qlock(u) udrv_mutex_lock(&(u)->qlock)
#define udrv_qunlock(u) udrv_mutex_unlock(&(u)->qlock)
#define udrv_qwait(u, cond) udrv_cond_wait(cond, &(u)->qlock)
#define udrv_assert_qlocked(u) assert(udrv_mutex_held(&(u)->qlock))

/* ---- small helpers (inline: the hot paths call them per run) ---- */

static inline uint64_t addr_of(const struct udrv *u, uint64_t page)
{
	return u->base + page * PG;
}

/* Length of the run of pages from @page with the same state, capped at @end. */
static inline uint64_t run_len(const struct udrv *u, uint64_t page, uint64_t end)
{
	uint8_t s = u->state[page];
	uint64_t p = page + 1;

	while (p < end && u->state[p] == s)
		p++;
	return p - page;
}

/* Every page of [first, first + n) is in @state. */
static inline bool pages_all(const struct udrv *u, uint64_t first, uint64_t n, uint8_t state)
{
	return run_len(u, first, first + n) == n && u->state[first] == state;
}

/* Device-resident for capacity: a device copy (duplicated pages have one too). */
static inline bool on_device(uint8_t s)
{
	return s == FERRY_RES_DEVICE || s == FERRY_RES_DUPLICATED;
}

/* ---- view.c: primitives on the views and the memfds ---- */

/* Report what failed with errno and end ferry-device (the host recovers). */
_Noreturn void udrv_die_errno(const char *what);
void memfd_punch(int fd, uint64_t page, uint64_t n);
void memfd_allocate(int fd, uint64_t page, uint64_t n);
void memfd_copy_into(int dst_fd, const uint8_t *src_alias, uint64_t page, uint64_t n);
/* UFFDIO_CONTINUE: map what the memfd holds of the range (read-only: _wp) */
void udrv_map_range(int uffd, uint64_t addr, uint64_t len);
void udrv_map_range_wp(int uffd, uint64_t addr, uint64_t len);
void udrv_wake(int uffd, uint64_t addr, uint64_t len);
void udrv_host_wp(struct udrv *u, uint64_t page, uint64_t n, bool on);
void udrv_device_wp_off(struct udrv *u, uint64_t page, uint64_t n);
void view_register(int uffd, uint64_t addr, uint64_t len, bool host);
bool view_unregister(int uffd, uint64_t addr, uint64_t len, bool host);
void view_map_runs(struct udrv *u, int uffd, uint8_t state, uint64_t first, uint64_t n);

static inline void map_device_runs(struct udrv *u, uint64_t first, uint64_t n)
{
	view_map_runs(u, u->dev_uffd, FERRY_RES_DEVICE, first, n);
}

static inline void map_host_runs(struct udrv *u, uint64_t first, uint64_t n)
{
	view_map_runs(u, u->host_uffd, FERRY_RES_HOST, first, n);
}

/* ---- vram.c: the vram page cache ---- */

void vram_stale_add(struct udrv *u, uint64_t page, int64_t delta);
void vram_punch(struct udrv *u, uint64_t page, uint64_t n);
void vram_reserve(struct udrv *u, uint64_t need);
uint64_t vram_not_held(const struct udrv *u, uint64_t p, uint64_t len);
void vram_take(struct udrv *u, uint64_t p, uint64_t len);
bool vram_prepare(struct udrv *u, uint64_t first, uint64_t n, bool whole);
/* the pool of populated memory and its thread (without u->lock; stop is idempotent) */
void vram_pool_start(struct udrv *u);
void vram_pool_stop(struct udrv *u);

/* ---- whole.c: whole regions ---- */

bool dev_make_whole(struct udrv *u, uint32_t r);
void dev_claim(struct udrv *u, uint64_t first, uint64_t n);
bool sys_populate(struct udrv *u, uint64_t page);
bool host_make_whole(struct udrv *u, uint32_t r);
void host_claim(struct udrv *u, uint64_t first, uint64_t n, bool keep_mapped);

/* ---- agent.c: the host agent's mailbox ---- */

uint32_t zap_post(struct udrv *u, uint64_t page, uint64_t n, uint32_t op);
bool zap_wait(struct udrv *u, uint32_t req);
bool host_zap(struct udrv *u, uint64_t page, uint64_t n);

/*
 * ---- migrate.c: moving pages ----
 * Page indices, one range per call, inside one 2 MiB region: the per-region
 * accounting (device_resident_add, vram_stale_add) and the pinned region of
 * eviction are the first page's. Faults, readahead and the migration worker
 * all move at most a region at a time.
 */
#define assert_one_region(first, n)                                                                \
	assert((n) == 0 || (first) / FERRY_REGION_PAGES == ((first) + (n)-1) / FERRY_REGION_PAGES)

/*
 * The region eviction would take next to make room for region @pinned: the
 * least recently used one, those whose pages prefer the device last; or
 * FERRY_LRU_NONE.
 */
uint32_t udrv_evict_victim(const struct udrv *u, uint32_t pinned);
void udrv_to_device(struct udrv *u, uint64_t first, uint64_t n, bool map, uint64_t *moved);
void udrv_to_host(struct udrv *u, uint64_t first, uint64_t n, bool map, bool zero_fill);
void udrv_discard(struct udrv *u, uint64_t first, uint64_t n);
/* Discard with target device: zero-filled device pages, recycling what exists. */
void udrv_discard_to_device(struct udrv *u, uint64_t first, uint64_t n);
/*
 * Read duplication (read-mostly advice): host pages of the range get a
 * read-only device copy; the host keeps its copy, write-protected. A write on
 * either side collapses the page to that side.
 */
void udrv_duplicate(struct udrv *u, uint64_t first, uint64_t n);

/* ---- remote.c: accessed-by (device) remote mapping ---- */

/*
 * The device view maps the host's pages of the range in place (remote
 * access, no migration); udrv_remote_unmap restores the managed device view.
 * Both need the range's pages host-resident.
 */
bool udrv_remote_map(struct udrv *u, uint64_t first, uint64_t n);
void udrv_remote_unmap(struct udrv *u, uint64_t first, uint64_t n);
/*
 * The SIGSEGV handler is installed once per process (udrv_signal_own); the
 * window it guards is set by install (an INIT retried at another address
 * installs again) and forgotten by remove.
 */
int udrv_remap_guard_install(uint64_t base, uint64_t size);
void udrv_remap_guard_remove(void);

/* ---- thrash.c: the response to thrashing (runtime/policy detects it) ---- */

/*
 * Region @r's data come back to the device (it has no device-resident pages):
 * count a thrashing event when it is one. Returns true when the region is
 * pinned on the host (now, or still).
 */
bool udrv_thrash_return(struct udrv *u, uint32_t r);
/*
 * A device fault at @page that would move @need pages: when its region is
 * pinned for thrashing, or the device is full and making room would evict a
 * region that only just arrived, map the host's pages in place (the region,
 * or its host runs when some of it is on the device) and return true with
 * the range in @first, @n; false: migrate as usual.
 */
bool udrv_thrash_fault(struct udrv *u, uint64_t page, uint64_t need, uint64_t *first, uint64_t *n);
/* Let go of the regions whose pin ran out (looks at most every pin/8, 1 ms at least). */
void udrv_thrash_release(struct udrv *u);
/* Region @r was discarded whole: its history goes (and its pin). */
void udrv_thrash_forget(struct udrv *u, uint32_t r);

/* ---- queue.c: explicit migrations ---- */

int udrv_migrate_ioctl(struct udrv *u, struct ferry_migrate *a);
/* qlock, the conditions and the worker thread; stop finishes the queue first */
int udrv_queue_start(struct udrv *u);
void udrv_queue_stop(struct udrv *u);

/* ---- advice.c: attributes ---- */

int udrv_attrs_ioctl(struct udrv *u, struct ferry_msg *m, bool set);

/* ---- fault.c: faults ---- */

/* the fault thread; stop returns false when it could not be told to (it still runs) */
int udrv_fault_thread_start(struct udrv *u);
bool udrv_fault_thread_stop(struct udrv *u);
/* resolve device faults in the faulting thread from now on (SIGBUS), or no more */
int udrv_inline_faults_install(struct udrv *u);
void udrv_inline_faults_remove(struct udrv *u);

#endif /* FERRY_UDRIVER_INTERNAL_H */
