/* SPDX-License-Identifier: MIT */
/*
 * udriver.h - the user-space driver (user backend), inside ferry-device.
 *
 * Mechanism (docs/design.md, "The user backend"): two sparse memfds back the
 * window, sysmem (mapped by the host view) and vram (mapped by the device
 * view, capacity enforced by accounting). Both views are registered with
 * userfaultfd; the host's userfaultfd was passed to this process, so one fault
 * thread resolves the faults of both address spaces. The driver reaches the
 * data through alias mappings of both memfds that are not registered, so it
 * never faults on its own copies.
 *
 * Host -> device: the host agent (a thread of libferry) zaps the host view
 * with MADV_DONTNEED, the driver copies sysmem -> vram, marks the pages
 * device-resident and maps the device view (UFFDIO_CONTINUE); the sysmem
 * pages stay allocated for the way back. In pieces of 256 KiB: the agent
 * zaps the next piece while the driver copies and maps this one. Without the agent (or below
 * agent_min_pages): write-protect the host range, copy, mark, punch the
 * sysmem hole (which zaps the host's PTEs), lift the protection.
 * Device -> host: zap the device view (MADV_DONTNEED on our own mapping), copy
 * vram -> sysmem, mark host-resident, map the host view (from 512 KiB on, the
 * host agent maps each piece into its own view while the next is copied). The vram pages stay
 * allocated (stale) for the next trip, within the device capacity.
 * The state byte changes only once the destination holds a full copy, so a
 * device process killed at any point leaves every page's data in the memfd
 * its state names (the host recovers from there).
 *
 * Locking: udrv.lock protects the page states, the LRU and the counters; it
 * is taken by the fault thread (once per batch), by a device thread that
 * resolves its own fault, and by the migration worker (once per 2 MiB
 * chunk). Nothing that holds it touches either view.
 *
 * This header is what ferry-device uses; the driver's files share
 * internal.h, which lists them by concern.
 */
#ifndef FERRY_UDRIVER_H
#define FERRY_UDRIVER_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"
#include "transport/proto.h"
#include "common/trace.h"

struct udrv_mreq; /* an explicit migration (queue.c) */

/*
 * A mutex that knows its holder in debug builds (NDEBUG unset), so that a
 * function that must be called with it held can assert so
 * (udrv_assert_locked, internal.h). Release builds keep the bare mutex.
 */
struct udrv_mutex {
	pthread_mutex_t m;
#ifndef NDEBUG
	pthread_t owner;
	bool held;
#endif
};

/* ferry-device holds one; its fields belong to runtime/udriver/. */
struct udrv {
	bool up; /* udrv_init succeeded, udrv_fini has not run */
	uint64_t base, size, npages;
	uint32_t nregions;
	int sys_fd, vram_fd, host_uffd, dev_uffd;
	uint8_t *sys_alias, *vram_alias;
	struct ferry_meta *meta;
	uint8_t *state;

	struct udrv_mutex lock; /* page states, LRUs, counters, whole regions: see above */
	uint32_t block_pages;
	int prefetch;
	uint64_t capacity_pages;
	/*
	 * Device residency by 2 MiB region (device and duplicated pages), and
	 * the regions that have some in least recently used order: eviction
	 * takes its victims from the head of evict_lru.
	 */
	struct ferry_lru evict_lru;
	struct ferry_lru_node *evict_lru_nodes;
	uint32_t *region_dev_pages;
	/*
	 * Thrashing (runtime/policy, fault.c): each region's history; a pinned
	 * region stays on the host and the device maps it in place. Pinned now,
	 * and when to look for pins that ran out next.
	 */
	struct ferry_thrash *region_thrash;
	struct ferry_thrash_config thrash_cfg;
	uint32_t thrash_pinned;
	uint64_t thrash_next_release_ns;
	/*
	 * vram page cache (vram.c): a page of the vram memfd is kept after its
	 * data moved back to the host (stale), so that the next migration to
	 * the device copies into it instead of allocating. The pages held, live
	 * and stale (counters.device_cached_pages), never exceed the capacity;
	 * stale pages are punched by LRU region when room is needed. The host
	 * side keeps the sysmem pages of device-resident data the same way
	 * (sys_kept_stale), when the host agent zapped the host view instead of
	 * a punch.
	 */
	uint8_t *vram_held;	      /* per page: the vram memfd holds a page (live or stale) */
	uint8_t *sys_kept_stale;      /* per page, not host-resident: sysmem still holds a page */
	uint32_t *region_stale_pages; /* per region: vram pages held, not device-resident */
	struct ferry_lru stale_lru;   /* regions with stale vram pages */
	struct ferry_lru_node *stale_lru_nodes;
	/*
	 * per page, host-resident: not in the host view yet (evicted, or
	 * brought home without mapping); the next move to the host maps it,
	 * or the host's touch faults it in
	 */
	uint8_t *host_unmapped;
	uint64_t agent_min_pages; /* zap through the host agent from this size on */
	/*
	 * Whole regions (whole.c; FERRY_HUGE, on where shmem has 2 MiB pages):
	 * a region whose pages are all device-resident leaves the device view's
	 * userfaultfd registration (dev_whole), so the kernel maps it on the
	 * device's next touch, with one 2 MiB entry where vram holds a 2 MiB
	 * page. Anything that changes the region's device view first takes it
	 * back (dev_claim). The same on the host side (host_whole): a region
	 * whose pages are all host-resident leaves the host view's registration
	 * (the host agent zaps and unregisters it), so host touches map sysmem
	 * directly, 2 MiB at a time where sysmem has 2 MiB pages (populated
	 * whole when empty). host_claim takes it back.
	 */
	bool whole_regions;  /* enabled */
	uint8_t *dev_whole;  /* per region: out of the device view's userfaultfd */
	uint8_t *host_whole; /* per region: out of the host view's userfaultfd */
	/* per region: vram was populated whole (a 2 MiB page) and not punched since */
	uint8_t *vram_huge_page;

	/*
	 * The vram pool (vram.c; FERRY_VRAM_PREPOPULATE): memory populated by
	 * a background thread from the start, up to the capacity, in slots of
	 * 2 MiB of a memfd of its own, so that a device's memory exists before
	 * the application moves data there. Pages the kernel gives a process
	 * for the first time cost ~4 ms per 2 MiB here (the VM backs guest
	 * memory lazily, and takes freed memory back within seconds), recycled
	 * ones ~0.1 ms: vram_reserve() frees a slot right before vram
	 * allocates, and the kernel hands its pages out again. The pool's
	 * slots count in counters.device_cached_pages, so held memory stays
	 * within the capacity. Fields under u->lock.
	 */
	int pool_fd;		  /* -1: no pool */
	uint8_t *pool_alias;	  /* the pool memfd, mapped */
	uint32_t pool_slots;	  /* 2 MiB slots: the capacity's whole regions */
	uint8_t *pool_state;	  /* per slot: enum in vram.c */
	uint32_t pool_held;	  /* slots populated and held */
	uint64_t pool_loose;	  /* pages freed by the pool for vram, not allocated yet */
	bool pool_running;	  /* its thread was started */
	bool pool_stop;		  /* its thread is to end */
	pthread_cond_t pool_cond; /* room appeared, or pool_stop */
	pthread_t pool_thread;

	uint8_t *attr_preferred_loc; /* per page: enum ferry_location */
	uint8_t *attr_accessed_by;   /* per page: mask of 1 << enum ferry_location */
	uint8_t *attr_read_mostly;   /* per page: 0 or 1 */
	/* per page: the device view maps the sysmem page in place (accessed-by, remote.c) */
	uint8_t *remote_mapped;

	/* Explicit migrations, done in order by the worker. */
	struct udrv_mutex qlock;
	pthread_cond_t qcond, qdone;
	struct udrv_mreq *qhead, *qtail;
	uint64_t next_fence;
	bool stopping;
	pthread_t worker;

	/* Faults. busy > 0 while device work runs: the fault thread then polls. */
	int busy;
	pthread_t fault_thread;
	int stop_efd;
	uint32_t spin_us;
	bool inline_faults; /* device faults are resolved in the faulting thread (fault.c) */
	/*
	 * host readahead (fault.c): the window in regions, and the region whose
	 * fault would continue the stream
	 */
	uint32_t readahead_regions, readahead_next;
	/* FERRY_TRACE: why the mechanism is moving pages now (enum ferry_trace_cause; u->lock) */
	uint8_t trace_cause;
};

/* What the driver runs on: ferry-device's INIT. The descriptors and meta stay the caller's. */
struct udrv_config {
	uint64_t base, size;	 /* the managed window (below the coherent region) */
	uint64_t device_memory;	 /* device capacity, bytes */
	uint64_t block_size;	 /* migration block, bytes */
	int prefetch;		 /* the density prefetcher on (1) or off (0) */
	int sys_fd, vram_fd;	 /* the sysmem and vram memfds */
	int host_uffd;		 /* the host view's userfaultfd */
	struct ferry_meta *meta; /* the shared metadata */
};

/*
 * Map the device view at cfg->base, register it and start the driver's
 * threads. Returns 0 or -errno (-EEXIST: the address is taken in this
 * process); on failure everything it acquired is released again and *u is
 * zeroed.
 */
int udrv_init(struct udrv *u, const struct udrv_config *cfg);
/*
 * Stop the driver's threads and release what udrv_init acquired (unless
 * device work still runs: then only the threads stop). Idempotent, and
 * nothing to do on a zeroed struct or one whose udrv_init failed.
 */
void udrv_fini(struct udrv *u);

/* FERRY_IOCTL_* that reach the device: version, migrate, set/get attributes. */
int udrv_ioctl(struct udrv *u, uint64_t cmd, struct ferry_msg *m);

/* Device work starts (+1) or ends (-1). */
void udrv_busy(struct udrv *u, int delta);
/*
 * sigchain.c: install @handler for @sig, once per process, and keep it there:
 * a handler another library sets for @sig later is only recorded, and
 * udrv_signal_forward() passes it a signal that is not the driver's.
 */
int udrv_signal_own(int sig, void (*handler)(int, siginfo_t *, void *));
void udrv_signal_forward(int sig, siginfo_t *si, void *uctx);

#endif /* FERRY_UDRIVER_H */
