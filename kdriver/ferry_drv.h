/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The objects of ferry.ko and what its files share:
 *
 * ferry_drv.c     the module, the DRM device, the file of an opener, a VA
 *                 space's life, debugfs
 * ferry_ioctl.c   the 'F' ioctls and their argument checks
 * ferry_dmem.c    device memory: MEMORY_DEVICE_PRIVATE chunks, backing pages
 * ferry_migrate.c host <-> device migration, migrate_to_ram, eviction
 * ferry_mirror.c  the device view: its fault handler and its invalidation
 * ferry_policy.c  the runtime's plain-C policy (block size, prefetcher, LRU)
 *
 * Lock order (outermost first):
 *   ferry_file.lock              CREATE_VASPACE and REGISTER_WINDOW of a file
 *     host mm mmap_lock (write, mmu_interval_notifier_insert())
 *   vas->fault_mutex             the device-fault resolver (no mmap_lock held)
 *     vas->fault_pending_lock (spinlock)
 *   host mm mmap_lock (read)
 *     vas->migrate_lock          one migration of a VA space at a time
 *       page locks taken by migrate_vma_setup()/migrate_device_range()
 *         ferry_dmem.grow        adding a chunk of device memory
 *         vas->lock              the device-view table and its invalidation
 *           the table's xarray lock, or the device-view PTE lock
 *   device mm mmap_lock (read, the device-view fault)
 *     vas->lock
 *   vas->state_lock (spinlock)
 *     the dmap xarray's lock
 *   vas->fence_wait.lock (spinlock)
 *   ferry_dmem.lock (spinlock, innermost)
 *   The spinlocks are never held together with anything that sleeps.
 * The device-view fault never holds the device's mmap_lock while it takes the
 * host's: it drops it and returns VM_FAULT_RETRY after the host-side work.
 * Nothing allocates memory that may enter reclaim while holding vas->lock,
 * because reclaim calls the MMU notifier, which takes vas->lock.
 */
#ifndef FERRY_DRV_H
#define FERRY_DRV_H

#include <linux/kref.h>
#include <linux/llist.h>
#include <linux/memremap.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>

#include "ferry/ferry_uapi.h"
#include "policy/policy.h"

/* Each VA space's device view has its own mmap offsets: 1 TiB apart. */
#define FERRY_VIEW_SHIFT 40
#define FERRY_MAX_WINDOW BIT_ULL(FERRY_VIEW_SHIFT)
#define FERRY_MAX_VASPACES BIT_ULL(62 - FERRY_VIEW_SHIFT)

#define FERRY_NR_COUNTERS (sizeof(struct ferry_counters) / sizeof(__u64))
#define FERRY_CTR(field) (offsetof(struct ferry_counters, field) / sizeof(__u64))

/* Module parameters (ferry_drv.c). */
extern unsigned int ferry_device_memory_mb;
extern unsigned int ferry_block_kb;
extern bool ferry_prefetch;

/* One device page: a MEMORY_DEVICE_PRIVATE page and its backing page. */
struct ferry_dpage {
	struct page *page;	   /* the device-private page */
	struct page *backing;	   /* its contents ("VRAM") */
	struct ferry_vaspace *vas; /* owner while allocated, holds a reference */
	unsigned long addr;	   /* host address it was migrated from */
	struct list_head free;	   /* on ferry_dmem.free_list */
	struct llist_node freed;   /* on ferry_dmem.freed, until reaped */
	/*
	 * Under vas->state_lock: @counted while it holds one of the VA
	 * space's device pages (resident_pages); @tracked while vas->dmap
	 * and the region counts know it at @addr. munmap and mremap untrack
	 * pages (an mremapped page lives on elsewhere); ferry_mirror_fill()
	 * tracks them again where it finds them.
	 */
	bool counted, tracked;
};

/* A device fault waiting for its host-side work (ferry_mirror.c). */
struct ferry_fault {
	struct list_head node; /* on vas->fault_pending until taken into a batch */
	unsigned long addr;
	bool write;
	bool done; /* resolved: @err is its result */
	int err;
};

/*
 * The VA space of one opener: the host process's mm, its window, the device
 * pages it holds and the device view's table.
 */
struct ferry_vaspace {
	struct kref ref;
	u64 id;
	struct mm_struct *mm; /* host mm, mmgrab()ed */
	struct ferry_drm_device *fdev;
	u64 capacity_pages;

	/* The window; set once by REGISTER_WINDOW. */
	unsigned long base, size;
	bool registered;
	struct mmu_interval_notifier notifier;
	pgoff_t pgoff; /* mmap offset of the device view, in pages */

	struct mutex migrate_lock; /* one migration of this VA space at a time */
	unsigned long *src, *dst;	/* migrate_vma arrays, one region */
	struct page **newpages;		/* system pages allocated in bulk for them */
	unsigned long *ev_src, *ev_dst; /* eviction arrays, one region */

	/*
	 * The device-view table: page index (address >> PAGE_SHIFT) -> PFN to
	 * map for a device touch, tagged writable (1) or read-only (0). Filled
	 * by ferry_mirror_fill() under the interval notifier's sequence,
	 * emptied by invalidation.
	 */
	struct mutex lock;
	struct xarray pt;
	void **ins_buf; /* one region's entries, for the fault handler (under @lock) */
	unsigned long fault_err_addr; /* last failed device fault */
	int fault_err;

	/*
	 * Device faults waiting for their host-side work (struct ferry_fault,
	 * on the faulting threads' stacks), resolved in batches by whichever
	 * of them holds fault_mutex.
	 */
	struct mutex fault_mutex;	 /* held by the thread resolving a batch */
	spinlock_t fault_pending_lock;	 /* guards fault_pending */
	struct list_head fault_pending;

	/* Device residency: guarded by state_lock. */
	spinlock_t state_lock;
	struct xarray dmap;	/* page index -> struct ferry_dpage * */
	u16 *region_pages;	/* device pages per 2 MiB region */
	struct ferry_thrash *region_thrash; /* thrashing history per region */
	struct ferry_lru lru;	/* regions with device pages */
	struct ferry_lru_node *lru_nodes;
	u64 resident_pages, peak_pages;

	/* Range attributes: region index -> u8[FERRY_REGION_PAGES] (lazy). */
	struct xarray attrs;
	u32 block_pages;
	bool prefetch;

	/* Asynchronous migrations: run in order on @wq; fences count up. */
	struct workqueue_struct *wq;
	u64 fence_issued, fence_done; /* under fence_wait.lock */
	wait_queue_head_t fence_wait;
	struct {
		u64 fence;
		int status;
	} fence_err[16]; /* the latest failures, by fence % 16 */

	struct work_struct free_work; /* the last put frees in process context */

	atomic64_t ctr[FERRY_NR_COUNTERS];
	struct dentry *debugfs;
};

/* Per-page attribute bits stored in vas->attrs. */
#define FERRY_PA_PREF_HOST BIT(0)
#define FERRY_PA_PREF_DEVICE BIT(1)
#define FERRY_PA_ACCESSED_BY_DEVICE BIT(2)
#define FERRY_PA_ACCESSED_BY_HOST BIT(3)
#define FERRY_PA_READ_MOSTLY BIT(4)

/* The DRM device of the software device (one, made at module load). */
struct ferry_drm_device {
	struct drm_device drm;
	struct platform_device *pdev;
	struct dentry *debugfs;
	atomic64_t next_id;
};

/* The file of one opener. */
struct ferry_file {
	struct ferry_vaspace *vas; /* NULL until CREATE_VASPACE */
	struct mutex lock;	   /* serialises CREATE_VASPACE */
};

/**
 * ferry_count() - add to one of a VA space's counters
 * @vas: the VA space
 * @ctr: FERRY_CTR(field of struct ferry_counters)
 * @n: how much
 *
 * Context: any.
 */
static inline void ferry_count(struct ferry_vaspace *vas, unsigned int ctr, u64 n)
{
	atomic64_add(n, &vas->ctr[ctr]);
}

/**
 * ferry_region_index() - the 2 MiB region of an address of the window
 * @vas: the VA space
 * @addr: an address inside its window
 *
 * Context: any.
 * Return: the region's index, from 0 at the window's base.
 */
static inline unsigned long ferry_region_index(struct ferry_vaspace *vas, unsigned long addr)
{
	return (addr - vas->base) / FERRY_REGION_SIZE;
}

/* ferry_drv.c */
struct ferry_vaspace *ferry_vaspace_create(struct ferry_drm_device *fdev, u64 device_memory);
void ferry_vaspace_destroy(struct ferry_vaspace *vas);
void ferry_vaspace_put(struct ferry_vaspace *vas);

/* ferry_ioctl.c */
long ferry_unlocked_ioctl(struct file *filp, unsigned int cmd, unsigned long arg);
struct ferry_vaspace *ferry_window_of(struct file *filp);
void ferry_read_counters(struct ferry_vaspace *vas, struct ferry_counters *c);

/* ferry_dmem.c */
int ferry_dmem_init(struct ferry_drm_device *fdev);
void ferry_dmem_fini(void);
bool ferry_dmem_available(void);
void *ferry_dmem_owner(void);
struct ferry_dpage *ferry_dmem_alloc(struct ferry_vaspace *vas, unsigned long addr);
struct ferry_dpage *ferry_dpage_of(struct page *page);
void ferry_dmem_reap(void);
void ferry_dmem_reap_flush(void);
void ferry_dmem_stats(u64 *total_pages, u64 *free_pages);

/* ferry_migrate.c */
int ferry_migrate_range(struct ferry_vaspace *vas, unsigned long start, unsigned long end,
			u32 target, u32 flags);
int ferry_migrate_block_to_device(struct ferry_vaspace *vas, struct mm_struct *mm,
				  unsigned long addr, bool prefetch, unsigned long *rstart_out,
				  unsigned long *rend_out);
void ferry_evict_all(struct ferry_vaspace *vas);
void ferry_untrack_range(struct ferry_vaspace *vas, unsigned long start, unsigned long end);
void ferry_untrack_locked(struct ferry_vaspace *vas, struct ferry_dpage *dp);
void ferry_track(struct ferry_vaspace *vas, struct ferry_dpage *dp, unsigned long addr);
int ferry_residency_snapshot(struct ferry_vaspace *vas, unsigned long start, unsigned long end,
			     u8 __user *out, u64 count[4]);
vm_fault_t ferry_migrate_to_ram(struct vm_fault *vmf);
u8 ferry_page_attr(struct ferry_vaspace *vas, unsigned long addr);

/* ferry_mirror.c */
extern const struct mmu_interval_notifier_ops ferry_mirror_ops;
int ferry_mirror_init(void);
void ferry_mirror_fini(void);
void ferry_defer(struct work_struct *work);
int ferry_mirror_mmap(struct ferry_vaspace *vas, struct vm_area_struct *vma);
void ferry_mirror_zap(struct ferry_vaspace *vas, unsigned long start, unsigned long end);
int ferry_mirror_fill(struct ferry_vaspace *vas, struct mm_struct *mm, unsigned long start,
		      unsigned long end, unsigned long fault_addr, bool write);
void ferry_mirror_forget(struct ferry_vaspace *vas, unsigned long start, unsigned long end);

#endif /* FERRY_DRV_H */
