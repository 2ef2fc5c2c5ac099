// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Moving pages between system memory and device memory.
 *
 * Host -> device: migrate_vma_setup() on the host's VMA, a device page per
 * collected page (contents copied into its backing page, or cleared),
 * migrate_vma_pages(), migrate_vma_finalize(), in batches of at most one
 * 2 MiB region. Device -> host: the same with MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
 * from an explicit request or from dev_pagemap_ops.migrate_to_ram on a host
 * touch. Eviction under capacity pressure: migrate_device_range() on the
 * device pages of the least recently used region, which needs no VMA.
 *
 * Every migration of a VA space runs under vas->migrate_lock; the residency
 * bookkeeping (vas->dmap, region counts, the LRU) is under vas->state_lock.
 * Policy (block size, prefetcher, LRU order) is the runtime's policy.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ferry_drv.h"
#include "ferry_compat.h"

/*
 * Thrashing (runtime/policy): counted here; the response (pinning a region
 * on the host and mapping it remotely) is the user backend's so far.
 */
static const struct ferry_thrash_config ferry_thrash_count_only = {
	.window_ns = FERRY_THRASHING_WINDOW_NS,
	.pin_ns = FERRY_THRASHING_PIN_NS,
	.threshold = 0,
};

/**
 * ferry_page_attr() - advice bits of one page (FERRY_PA_*)
 * @vas: the VA space
 * @addr: an address inside the window
 *
 * Context: any; the per-region arrays are never freed while @vas lives.
 * Return: the bits, 0 when no advice was given.
 */
u8 ferry_page_attr(struct ferry_vaspace *vas, unsigned long addr)
{
	u8 *a = xa_load(&vas->attrs, ferry_region_index(vas, addr));

	return a ? READ_ONCE(a[((addr - vas->base) % FERRY_REGION_SIZE) >> PAGE_SHIFT]) : 0;
}

/**
 * ferry_region_bits() - which pages of a region are on the device, for the
 * prefetcher
 * @vas: the VA space
 * @rstart: the region's first address
 * @bits: out: one bit a page, FERRY_REGION_PAGES bits
 *
 * Context: vas->migrate_lock held (the caller decides what to migrate);
 * takes vas->state_lock.
 */
static void ferry_region_bits(struct ferry_vaspace *vas, unsigned long rstart, u64 *bits)
{
	unsigned long idx, first = rstart >> PAGE_SHIFT;
	void *e;

	lockdep_assert_held(&vas->migrate_lock);
	memset(bits, 0, FERRY_REGION_PAGES / 8);
	ferry_dmem_reap(); /* no page freed since counts as resident */
	spin_lock(&vas->state_lock);
	xa_for_each_range(&vas->dmap, idx, e, first, first + FERRY_REGION_PAGES - 1)
		__set_bit(idx - first, (unsigned long *)bits);
	spin_unlock(&vas->state_lock);
}

/**
 * ferry_stream_enters() - does a fault at @addr enter its region as a
 * sequential stream (ferry_policy_stream)?
 * @vas: the VA space
 * @addr: the touched address
 * @to_device: the faulting side is the device (else the host, whose pages
 *	are those not on the device)
 *
 * Context: vas->migrate_lock held (the caller decides what to migrate);
 * takes vas->state_lock.
 * Return: true when the whole region should move.
 */
static bool ferry_stream_enters(struct ferry_vaspace *vas, unsigned long addr, bool to_device)
{
	unsigned long rstart = ALIGN_DOWN(addr, FERRY_REGION_SIZE);
	u32 prev;

	lockdep_assert_held(&vas->migrate_lock);
	/* the policy wants a fault in the region's first block: reap and lock only then */
	if (rstart < vas->base + FERRY_REGION_SIZE ||
	    ((addr - rstart) >> PAGE_SHIFT) >= vas->block_pages)
		return false;
	ferry_dmem_reap(); /* no page freed since counts as resident */
	spin_lock(&vas->state_lock);
	prev = vas->region_pages[ferry_region_index(vas, rstart - FERRY_REGION_SIZE)];
	spin_unlock(&vas->state_lock);
	if (!to_device)
		prev = FERRY_REGION_PAGES - prev;
	return ferry_policy_stream(prev, (addr - rstart) >> PAGE_SHIFT, vas->block_pages);
}

/**
 * ferry_untrack_locked() - forget where @dp is, the inverse of
 * ferry_track_locked()
 * @vas: the VA space whose dmap tracks @dp
 * @dp: a device page tracked at @dp->addr
 *
 * Context: vas->state_lock and the dmap xarray's lock held.
 */
void ferry_untrack_locked(struct ferry_vaspace *vas, struct ferry_dpage *dp)
{
	unsigned long r = ferry_region_index(vas, dp->addr);

	lockdep_assert_held(&vas->state_lock);
	lockdep_assert_held(&vas->dmap.xa_lock);
	__xa_erase(&vas->dmap, dp->addr >> PAGE_SHIFT);
	dp->tracked = false;
	/* a tracked page counts in its region since ferry_track_locked() */
	if (WARN_ON_ONCE(!vas->region_pages[r]))
		return;
	if (!--vas->region_pages[r])
		ferry_lru_remove(&vas->lru, r);
}

/**
 * ferry_track_locked() - track @dp at @addr in dmap and its region
 * @vas: the VA space that owns @dp
 * @dp: an untracked device page
 * @addr: the host address that maps it, inside the window
 *
 * Nothing changes when dmap cannot store it (no memory): the page is found
 * again where the host maps it (ferry_track()).
 *
 * Context: vas->state_lock held (a spinlock: dmap's nodes are GFP_ATOMIC).
 */
static void ferry_track_locked(struct ferry_vaspace *vas, struct ferry_dpage *dp,
			       unsigned long addr)
{
	unsigned long r = ferry_region_index(vas, addr);
	u64 now = ktime_get_ns();

	lockdep_assert_held(&vas->state_lock);
	if (xa_err(xa_store(&vas->dmap, addr >> PAGE_SHIFT, dp, GFP_ATOMIC))) {
		pr_debug("vas%llu: %#lx: device page not tracked (no memory)\n", vas->id, addr);
		return;
	}
	dp->addr = addr;
	dp->tracked = true;
	if (!vas->region_pages[r]++ &&
	    ferry_thrash_return(&vas->region_thrash[r], &ferry_thrash_count_only, now) !=
		    FERRY_THRASH_NONE)
		ferry_count(vas, FERRY_CTR(thrashing), 1);
	ferry_lru_touch(&vas->lru, r);
}

/**
 * ferry_record() - count a new device page into its VA space's residency
 * @vas: the VA space
 * @dp: a device page that a migration to the device has just filled
 *
 * Context: vas->migrate_lock held (the migration that allocated @dp); takes
 * vas->state_lock.
 */
static void ferry_record(struct ferry_vaspace *vas, struct ferry_dpage *dp)
{
	lockdep_assert_held(&vas->migrate_lock);
	spin_lock(&vas->state_lock);
	dp->counted = true;
	if (++vas->resident_pages > vas->peak_pages)
		vas->peak_pages = vas->resident_pages;
	ferry_track_locked(vas, dp, dp->addr);
	spin_unlock(&vas->state_lock);
}

/**
 * ferry_track() - a device page of @vas found at @addr in the host's page
 * table: track it there if it was untracked (moved by mremap)
 * @vas: the VA space
 * @dp: the device page
 * @addr: where the host maps it, inside the window
 *
 * Context: any; takes vas->state_lock.
 */
void ferry_track(struct ferry_vaspace *vas, struct ferry_dpage *dp, unsigned long addr)
{
	if (READ_ONCE(dp->tracked))
		return; /* the usual case, known without the lock */
	spin_lock(&vas->state_lock);
	if (dp->vas == vas && dp->counted && !dp->tracked &&
	    !xa_load(&vas->dmap, addr >> PAGE_SHIFT))
		ferry_track_locked(vas, dp, addr);
	spin_unlock(&vas->state_lock);
}

/**
 * ferry_untrack_range() - the host unmaps [start, end): forget where its
 * device pages were (munmap frees them; mremap moves them elsewhere)
 * @vas: the VA space
 * @start: first address inside the window
 * @end: end address
 *
 * Context: any (MMU notifier, even non-blockable); takes vas->state_lock.
 */
void ferry_untrack_range(struct ferry_vaspace *vas, unsigned long start, unsigned long end)
{
	struct ferry_dpage *dp;
	unsigned long idx;

	spin_lock(&vas->state_lock);
	xa_lock(&vas->dmap);
	xa_for_each_range(&vas->dmap, idx, dp, start >> PAGE_SHIFT, (end >> PAGE_SHIFT) - 1)
		ferry_untrack_locked(vas, dp);
	xa_unlock(&vas->dmap);
	spin_unlock(&vas->state_lock);
}

/**
 * ferry_evict_region() - move every device page of one region to the host
 * @vas: the VA space
 * @r: region index
 *
 * Context: process context, vas->migrate_lock held.
 * Return: pages evicted.
 */
static unsigned long ferry_evict_region(struct ferry_vaspace *vas, unsigned long r)
{
	unsigned long *src = vas->ev_src, *dst = vas->ev_dst;
	unsigned long first = (vas->base >> PAGE_SHIFT) + r * FERRY_REGION_PAGES;
	unsigned long idx, n = 0, i, moved = 0, nomem = 0;
	struct ferry_dpage *dp;

	lockdep_assert_held(&vas->migrate_lock);
	spin_lock(&vas->state_lock);
	xa_for_each_range(&vas->dmap, idx, dp, first, first + FERRY_REGION_PAGES - 1)
		src[n++] = page_to_pfn(dp->page);
	ferry_lru_remove(&vas->lru, r); /* back on touch; never picked twice */
	spin_unlock(&vas->state_lock);

	for (i = 0; i < n; i++)
		migrate_device_range(&src[i], src[i], 1);
	for (i = 0; i < n; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]), *npage;

		dst[i] = 0;
		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dp = ferry_dpage_of(spage);
		/* a PFN of one of our chunks is always one of our pages */
		if (WARN_ON_ONCE(!dp))
			continue;
		if (dp->vas != vas || ferry_region_index(vas, dp->addr) != r)
			continue; /* freed and reused meanwhile: not ours to move */
		npage = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
		if (!npage) {
			nomem++;
			continue;
		}
		lock_page(npage);
		copy_highpage(npage, dp->backing);
		dst[i] = migrate_pfn(page_to_pfn(npage)) | (src[i] & MIGRATE_PFN_WRITE);
	}
	if (nomem)
		pr_debug("vas%llu: region %lu: no system page for %lu of %lu device pages\n",
			 vas->id, r, nomem, n);
	migrate_device_pages(src, dst, n);
	for (i = 0; i < n; i++)
		if (dst[i] && (src[i] & MIGRATE_PFN_MIGRATE))
			moved++;
	migrate_device_finalize(src, dst, n);
	ferry_dmem_reap(); /* the pages that moved leave the region */

	spin_lock(&vas->state_lock);
	ferry_thrash_evicted(&vas->region_thrash[r], ktime_get_ns());
	if (vas->region_pages[r]) /* pages that could not move stay evictable */
		ferry_lru_touch(&vas->lru, r);
	spin_unlock(&vas->state_lock);
	ferry_count(vas, FERRY_CTR(evictions), 1);
	ferry_count(vas, FERRY_CTR(pages_evicted), moved);
	ferry_count(vas, FERRY_CTR(pages_to_host), moved);
	ferry_count(vas, FERRY_CTR(bytes_to_host), moved << PAGE_SHIFT);
	return moved;
}

/**
 * ferry_evict_one() - evict the least recently used region other than @pinned
 * @vas: the VA space
 * @pinned: the region index the caller migrates into
 *
 * Context: process context, vas->migrate_lock held.
 * Return: 0, or -ENOMEM when there is nothing to evict.
 */
static int ferry_evict_one(struct ferry_vaspace *vas, unsigned long pinned)
{
	u32 victim;

	lockdep_assert_held(&vas->migrate_lock);
	spin_lock(&vas->state_lock);
	victim = ferry_lru_victim(&vas->lru, pinned);
	spin_unlock(&vas->state_lock);
	if (victim == FERRY_LRU_NONE)
		return -ENOMEM;
	ferry_evict_region(vas, victim);
	return 0;
}

/**
 * ferry_alloc_evicting() - a device page within the VA space's capacity and
 * the device memory's, evicting least recently used regions other than @pinned
 * @vas: the VA space
 * @addr: the host address the page is for
 * @pinned: the region index of @addr, never evicted here
 * @inflight: pages the caller allocated and has not recorded yet
 *
 * Context: process context, vas->migrate_lock held (the capacity check
 * counts @inflight, which only the lock holder has).
 * Return: the page, or NULL when nothing more can be evicted.
 */
static struct ferry_dpage *ferry_alloc_evicting(struct ferry_vaspace *vas, unsigned long addr,
						unsigned long pinned, unsigned long inflight)
{
	struct ferry_dpage *dp;
	int tries;

	lockdep_assert_held(&vas->migrate_lock);
	for (tries = 0; tries < 8; tries++) {
		if (READ_ONCE(vas->resident_pages) + inflight >= vas->capacity_pages) {
			if (ferry_evict_one(vas, pinned))
				return NULL;
			continue;
		}
		dp = ferry_dmem_alloc(vas, addr);
		if (dp)
			return dp;
		if (ferry_evict_one(vas, pinned)) /* the device memory itself is full */
			return NULL;
	}
	return NULL;
}

/**
 * ferry_to_device() - host -> device for [start, end) of @vma, at most one
 * region
 * @vas: the VA space
 * @vma: the host VMA that holds the range
 * @start: first address
 * @end: end address
 * @discard: the contents need not move (cleared instead)
 *
 * Context: process context, the host mmap_lock held for read,
 * vas->migrate_lock held.
 * Return: pages now on the device from this call, or a negative errno.
 */
static long ferry_to_device(struct ferry_vaspace *vas, struct vm_area_struct *vma,
			    unsigned long start, unsigned long end, bool discard)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long *src = vas->src, *dst = vas->dst;
	unsigned long pinned = ferry_region_index(vas, start);
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = src,
		.dst = dst,
		.pgmap_owner = ferry_dmem_owner(),
		.flags = MIGRATE_VMA_SELECT_SYSTEM,
	};
	unsigned long i, inflight = 0, present = 0, copied = 0, zeroed = 0, idx;
	long ret = 0;
	void *e;

	mmap_assert_locked(vma->vm_mm);
	lockdep_assert_held(&vas->migrate_lock);
	ferry_dmem_reap(); /* no page freed since counts as present */
	spin_lock(&vas->state_lock);
	xa_for_each_range(&vas->dmap, idx, e, start >> PAGE_SHIFT, (end >> PAGE_SHIFT) - 1) {
		present++;
		if (discard) /* contents undefined: no stale bytes either */
			clear_highpage(((struct ferry_dpage *)e)->backing);
	}
	spin_unlock(&vas->state_lock);
	if (present == npages)
		return 0; /* already there: no host PTE to touch */

	ret = migrate_vma_setup(&args);
	if (ret) {
		pr_debug("vas%llu: [%#lx, %#lx) to the device: migrate_vma_setup: %ld\n", vas->id,
			 start, end, ret);
		return ret;
	}
	for (i = 0; i < npages; i++) {
		unsigned long addr = start + (i << PAGE_SHIFT);
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct ferry_dpage *dp;

		dst[i] = 0;
		if (!(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dp = ferry_alloc_evicting(vas, addr, pinned, inflight);
		if (!dp) {
			ret = -ENOMEM;
			continue;
		}
		inflight++;
		if (spage && !discard)
			copy_highpage(dp->backing, spage);
		else
			clear_highpage(dp->backing);
		dst[i] = migrate_pfn(page_to_pfn(dp->page));
		if ((src[i] & MIGRATE_PFN_WRITE) || (!spage && (vma->vm_flags & VM_WRITE)))
			dst[i] |= MIGRATE_PFN_WRITE;
	}
	migrate_vma_pages(&args);
	for (i = 0; i < npages; i++) {
		if (!dst[i] || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		ferry_record(vas, migrate_pfn_to_page(dst[i])->zone_device_data);
		if (migrate_pfn_to_page(src[i]) && !discard)
			copied++;
		else
			zeroed++;
	}
	migrate_vma_finalize(&args);
	if (ret)
		pr_debug("vas%llu: [%#lx, %#lx) to the device: %lu of %lu pages, then no device page (capacity %llu)\n",
			 vas->id, start, end, copied + zeroed, npages, vas->capacity_pages);
	ferry_count(vas, FERRY_CTR(pages_to_device), copied);
	ferry_count(vas, FERRY_CTR(bytes_to_device), copied << PAGE_SHIFT);
	ferry_count(vas, FERRY_CTR(zero_fill_device), zeroed);
	if (copied + zeroed)
		return copied + zeroed;
	return ret;
}

/**
 * ferry_to_host() - device -> host for [start, end) of @vma, at most one
 * region
 * @vas: the VA space
 * @vma: the VMA that maps the range: the host's, or a forked child's
 * @start: first address
 * @end: end address
 * @fault_page: the device page of a host fault (migrate_to_ram), or NULL
 *
 * Context: process context, the mmap_lock of @vma's mm held (a fault taken
 * under the VMA lock is retried with the mmap_lock before migrate_to_ram),
 * vas->migrate_lock held.
 * Return: pages moved, or a negative errno.
 */
static long ferry_to_host(struct ferry_vaspace *vas, struct vm_area_struct *vma,
			  unsigned long start, unsigned long end, struct page *fault_page)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long *src = vas->src, *dst = vas->dst;
	struct page **newpages = vas->newpages;
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = src,
		.dst = dst,
		.pgmap_owner = ferry_dmem_owner(),
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = fault_page,
	};
	unsigned long i, moved = 0, nbulk, used = 0;
	long ret;

	mmap_assert_locked(vma->vm_mm);
	lockdep_assert_held(&vas->migrate_lock);
	ret = migrate_vma_setup(&args);
	if (ret) {
		pr_debug("vas%llu: [%#lx, %#lx) to the host: migrate_vma_setup: %ld\n", vas->id,
			 start, end, ret);
		return ret;
	}
	if (!args.cpages) {
		migrate_vma_finalize(&args);
		return 0;
	}
	/* The host PTEs are migration entries now: stop the device, then copy. */
	if (vma->vm_mm == vas->mm)
		ferry_mirror_forget(vas, start, end);
	/*
	 * The system pages, in one bulk allocation (one hold of the allocator's
	 * per-CPU lists instead of one a page; the task's memory policy, not
	 * the VMA's); what it leaves out is allocated page by page below.
	 */
	memset(newpages, 0, args.cpages * sizeof(*newpages));
	nbulk = alloc_pages_bulk_array(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, args.cpages, newpages);
	for (i = 0; i < npages; i++) {
		unsigned long addr = start + (i << PAGE_SHIFT);
		struct page *spage = migrate_pfn_to_page(src[i]), *npage;
		struct ferry_dpage *dp;

		dst[i] = 0;
		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dp = ferry_dpage_of(spage);
		/* migrate_vma_setup() selects only device pages of our pgmap_owner */
		if (WARN_ON_ONCE(!dp))
			continue;
		npage = used < nbulk ? newpages[used++] :
			alloc_page_vma(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, vma, addr);
		if (!npage) {
			ret = -ENOMEM;
			continue;
		}
		lock_page(npage);
		copy_highpage(npage, dp->backing);
		dst[i] = migrate_pfn(page_to_pfn(npage)) | (src[i] & MIGRATE_PFN_WRITE);
	}
	while (used < nbulk) /* more than the pages that could move */
		__free_page(newpages[used++]);
	migrate_vma_pages(&args);
	for (i = 0; i < npages; i++)
		if (dst[i] && (src[i] & MIGRATE_PFN_MIGRATE))
			moved++;
	migrate_vma_finalize(&args);
	if (ret)
		pr_debug("vas%llu: [%#lx, %#lx) to the host: %lu pages, then no system page\n",
			 vas->id, start, end, moved);
	ferry_dmem_reap(); /* the pages freed just now, in one batch */
	ferry_count(vas, FERRY_CTR(pages_to_host), moved);
	ferry_count(vas, FERRY_CTR(bytes_to_host), moved << PAGE_SHIFT);
	return moved ? (long)moved : ret;
}

/**
 * ferry_migrate_block_to_device() - a device touch: bring its block (and,
 * with the prefetcher, more of its region) to the device
 * @vas: the VA space
 * @mm: the host mm (mmap_lock held for read)
 * @addr: the touched address
 * @prefetch: apply the density prefetcher
 * @rstart_out: out: the first address of the range made resident
 * @rend_out: out: its end
 *
 * Context: process context, host mmap_lock held for read; takes
 * vas->migrate_lock.
 * Return: 0 or a negative errno.
 */
int ferry_migrate_block_to_device(struct ferry_vaspace *vas, struct mm_struct *mm,
				  unsigned long addr, bool prefetch, unsigned long *rstart_out,
				  unsigned long *rend_out)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	unsigned long rstart = ALIGN_DOWN(addr, FERRY_REGION_SIZE);
	u32 first, count, block = vas->block_pages;
	unsigned long start, end;
	long moved;

	mmap_assert_locked(mm);
	if (!vma) {
		pr_debug("vas%llu: device touch at %#lx: no host mapping\n", vas->id, addr);
		return -EFAULT;
	}
	first = ((addr - rstart) >> PAGE_SHIFT) & ~(block - 1);
	count = block;
	mutex_lock(&vas->migrate_lock);
	if (prefetch && vas->prefetch && ferry_stream_enters(vas, addr, true)) {
		first = 0;
		count = FERRY_REGION_PAGES;
	} else if (prefetch && vas->prefetch) {
		u64 bits[FERRY_REGION_PAGES / 64];

		ferry_region_bits(vas, rstart, bits);
		ferry_policy_prefetch(bits, (addr - rstart) >> PAGE_SHIFT, block,
				      FERRY_PREFETCH_THRESHOLD, &first, &count);
	}
	start = max(rstart + ((unsigned long)first << PAGE_SHIFT), vma->vm_start);
	end = min(rstart + ((unsigned long)(first + count) << PAGE_SHIFT), vma->vm_end);
	moved = ferry_to_device(vas, vma, start, end, false);
	mutex_unlock(&vas->migrate_lock);
	*rstart_out = start;
	*rend_out = end;
	if (moved > block)
		ferry_count(vas, FERRY_CTR(pages_prefetched), moved - block);
	return moved < 0 ? moved : 0;
}

/**
 * ferry_migrate_to_ram() - dev_pagemap_ops.migrate_to_ram: a host touch of a
 * device page brings its block back
 * @vmf: the host fault
 *
 * Context: the page fault of the host or of a forked child: the faulting
 * mm's mmap_lock held (do_swap_page() retries a fault taken under the VMA
 * lock with it), a reference to the device page held by the caller, which
 * does not lock it (migrate_vma_setup() does, as the fault page); takes
 * vas->migrate_lock.
 * Return: 0, VM_FAULT_OOM or VM_FAULT_SIGBUS.
 */
vm_fault_t ferry_migrate_to_ram(struct vm_fault *vmf)
{
	struct ferry_dpage *dp = vmf->page->zone_device_data;
	struct ferry_vaspace *vas = dp->vas;
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & PAGE_MASK;
	unsigned long bsize, start, end;
	u64 t0 = ktime_get_ns();
	bool own;
	long ret;

	mmap_assert_locked(vma->vm_mm);
	/* a page mapped by the host is allocated: its owner is set until page_free */
	if (WARN_ON_ONCE(!vas))
		return VM_FAULT_SIGBUS;
	bsize = (unsigned long)vas->block_pages << PAGE_SHIFT;
	own = vma->vm_mm == vas->mm && addr >= vas->base && addr < vas->base + vas->size;
	start = max(ALIGN_DOWN(addr, bsize), vma->vm_start);
	end = min(ALIGN_DOWN(addr, bsize) + bsize, vma->vm_end);
	mutex_lock(&vas->migrate_lock);
	if (own && vas->prefetch) {
		unsigned long rstart = ALIGN_DOWN(addr, FERRY_REGION_SIZE);
		u64 bits[FERRY_REGION_PAGES / 64];
		u32 first = 0, count = FERRY_REGION_PAGES, k;

		/* the host side's resident pages: those not on the device */
		if (!ferry_stream_enters(vas, addr, false)) {
			ferry_region_bits(vas, rstart, bits);
			for (k = 0; k < FERRY_REGION_PAGES / 64; k++)
				bits[k] = ~bits[k];
			ferry_policy_prefetch(bits, (addr - rstart) >> PAGE_SHIFT,
					      vas->block_pages, FERRY_PREFETCH_THRESHOLD, &first,
					      &count);
		}
		start = max(rstart + ((unsigned long)first << PAGE_SHIFT), vma->vm_start);
		end = min(rstart + ((unsigned long)(first + count) << PAGE_SHIFT), vma->vm_end);
	}
	ret = ferry_to_host(vas, vma, start, end, vmf->page);
	mutex_unlock(&vas->migrate_lock);
	if (own) {
		ferry_count(vas, FERRY_CTR(faults_host), 1);
		ferry_count(vas, FERRY_CTR(fault_batches), 1);
		ferry_count(vas, FERRY_CTR(fault_ns), ktime_get_ns() - t0);
		if (ret > (long)vas->block_pages)
			ferry_count(vas, FERRY_CTR(pages_prefetched), ret - vas->block_pages);
	}
	if (ret < 0)
		pr_debug("vas%llu: host fault at %#lx (pid %d): %ld\n", vas->id, addr,
			 task_pid_nr(current), ret);
	if (ret == -ENOMEM)
		return VM_FAULT_OOM;
	return ret < 0 ? VM_FAULT_SIGBUS : 0;
}

/**
 * ferry_check_vmas() - every VMA of [start, end) must be anonymous private
 * memory that may move
 * @mm: the host mm
 * @start: first address
 * @end: end address
 *
 * Context: the host mmap_lock held.
 * Return: 0, -EFAULT (a hole), -EOPNOTSUPP (file-backed, shared, VM_IO,
 * VM_PFNMAP or VM_MIXEDMAP) or -EBUSY (mlock()ed).
 */
static int ferry_check_vmas(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	unsigned long addr = start;

	mmap_assert_locked(mm);
	while (addr < end) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);

		if (!vma) {
			pr_debug("[%#lx, %#lx): nothing mapped at %#lx\n", start, end, addr);
			return -EFAULT;
		}
		if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP | VM_SHARED) ||
		    !vma_is_anonymous(vma)) {
			pr_debug("[%#lx, %#lx): %#lx is not anonymous private memory (flags %#lx)\n",
				 start, end, addr, (unsigned long)vma->vm_flags);
			return -EOPNOTSUPP;
		}
		if (vma->vm_flags & VM_LOCKED) {
			pr_debug("[%#lx, %#lx): %#lx is mlocked\n", start, end, addr);
			return -EBUSY;
		}
		addr = vma->vm_end;
	}
	return 0;
}

/**
 * ferry_migrate_range() - FERRY_IOCTL_MIGRATE, synchronously
 * @vas: the VA space (window registered)
 * @start: first address, checked by the caller
 * @end: end address
 * @target: FERRY_LOC_HOST or FERRY_LOC_DEVICE
 * @flags: FERRY_MIGRATE_DISCARD or 0
 *
 * Pages that cannot move (pinned, under migration elsewhere) stay where they
 * are, as with cudaMemPrefetchAsync.
 *
 * Context: process context, may sleep; takes the host mmap_lock for read and
 * vas->migrate_lock per batch.
 * Return: 0; -EFAULT when part of the range is not mapped in the host;
 * -EOPNOTSUPP for mappings that cannot migrate (file-backed, shared,
 * VM_PFNMAP/VM_IO); -EBUSY for mlock()ed memory; -ENOMEM when the device
 * is full and nothing can be evicted; -ESRCH when the host process is gone.
 */
int ferry_migrate_range(struct ferry_vaspace *vas, unsigned long start, unsigned long end,
			u32 target, u32 flags)
{
	bool discard = flags & FERRY_MIGRATE_DISCARD;
	struct mm_struct *mm = vas->mm;
	u64 t0 = ktime_get_ns();
	unsigned long addr;
	int ret;

	if (!mmget_not_zero(mm)) {
		pr_debug("vas%llu: MIGRATE: the host process is gone\n", vas->id);
		return -ESRCH;
	}
	mmap_read_lock(mm);
	ret = ferry_check_vmas(mm, start, end);
	for (addr = start; !ret && addr < end;) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		unsigned long next = min3(end, vma->vm_end, ALIGN_DOWN(addr, FERRY_REGION_SIZE) +
							   FERRY_REGION_SIZE);
		long r;

		if (target == FERRY_LOC_HOST && discard) {
			ferry_zap_host(vma, addr, next - addr);
			addr = next;
			continue;
		}
		mutex_lock(&vas->migrate_lock);
		if (target == FERRY_LOC_DEVICE)
			r = ferry_to_device(vas, vma, addr, next, discard);
		else
			r = ferry_to_host(vas, vma, addr, next, NULL);
		mutex_unlock(&vas->migrate_lock);
		/*
		 * A prefetch maps what it moved in the device view's table, as
		 * a GPU driver updates the GPU's page table: the device's
		 * first touches then cost no host-side work.
		 */
		if (target == FERRY_LOC_DEVICE && r >= 0)
			ferry_mirror_fill(vas, mm, addr, next, 0, false);
		if (r < 0 && r != -EBUSY)
			ret = r;
		addr = next;
	}
	mmap_read_unlock(mm);
	mmput(mm);
	if (ret)
		pr_debug("vas%llu: MIGRATE [%#lx, %#lx) to the %s: %d\n", vas->id, start, end,
			 target == FERRY_LOC_HOST ? "host" : "device", ret);
	ferry_count(vas, FERRY_CTR(migrate_ns), ktime_get_ns() - t0);
	return ret;
}

/**
 * ferry_evict_all() - move every device page of @vas back to system memory
 * @vas: the VA space being torn down
 *
 * Context: process context, may sleep; takes vas->migrate_lock.
 */
void ferry_evict_all(struct ferry_vaspace *vas)
{
	mutex_lock(&vas->migrate_lock);
	for (;;) {
		u32 victim;

		spin_lock(&vas->state_lock);
		victim = ferry_lru_victim(&vas->lru, FERRY_LRU_NONE);
		spin_unlock(&vas->state_lock);
		if (victim == FERRY_LRU_NONE)
			break;
		if (!ferry_evict_region(vas, victim)) {
			pr_debug("vas%llu: region %u: no page could be evicted\n", vas->id, victim);
			spin_lock(&vas->state_lock);
			ferry_lru_remove(&vas->lru, victim);
			spin_unlock(&vas->state_lock);
		}
	}
	mutex_unlock(&vas->migrate_lock);
}

/**
 * ferry_residency_snapshot() - where the pages of a range are (FERRY_IOCTL_RESIDENCY)
 * @vas: the VA space
 * @start: first address, checked by the caller
 * @end: end address
 * @out: user buffer of one byte a page, or NULL
 * @count: out: pages per enum ferry_residency
 *
 * A snapshot of the host's page table with hmm_range_fault() (no faulting):
 * a Ferry device page is on the device, a present system page is on the
 * host (duplicated when the device maps it read-only under read-mostly), no
 * page is untouched.
 *
 * Context: process context, may sleep; takes the host mmap_lock for read
 * per region, copies to user space without it.
 * Return: 0, -EFAULT, -ENOMEM or -ESRCH.
 */
int ferry_residency_snapshot(struct ferry_vaspace *vas, unsigned long start, unsigned long end,
			     u8 __user *out, u64 count[4])
{
	unsigned long *pfns = kvmalloc_array(FERRY_REGION_PAGES, sizeof(*pfns), GFP_KERNEL);
	u8 *res = kmalloc(FERRY_REGION_PAGES, GFP_KERNEL);
	struct mm_struct *mm = vas->mm;
	unsigned long addr;
	int ret = 0;

	if (!pfns || !res) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (!mmget_not_zero(mm)) {
		pr_debug("vas%llu: RESIDENCY: the host process is gone\n", vas->id);
		ret = -ESRCH;
		goto out_free;
	}
	ferry_dmem_reap();
	for (addr = start; addr < end;) {
		unsigned long next = min(end, ALIGN_DOWN(addr, FERRY_REGION_SIZE) +
						      FERRY_REGION_SIZE);
		unsigned long n = (next - addr) >> PAGE_SHIFT, i, a;

		memset(res, FERRY_RES_UNTOUCHED, n);
		mmap_read_lock(mm);
		for (a = addr; a < next;) {
			struct vm_area_struct *vma = find_vma_intersection(mm, a, next);
			struct hmm_range range = {
				.notifier = &vas->notifier,
				.hmm_pfns = pfns,
				.dev_private_owner = ferry_dmem_owner(),
			};
			int r;

			if (!vma)
				break;
			range.start = max(a, vma->vm_start);
			range.end = min(next, vma->vm_end);
			do {
				range.notifier_seq = mmu_interval_read_begin(&vas->notifier);
				r = hmm_range_fault(&range);
			} while (r == -EBUSY);
			if (r) /* reported as untouched */
				pr_debug("vas%llu: RESIDENCY [%#lx, %#lx): hmm_range_fault: %d\n",
					 vas->id, range.start, range.end, r);
			for (i = 0; !r && i < (range.end - range.start) >> PAGE_SHIFT; i++) {
				unsigned long pa = range.start + (i << PAGE_SHIFT);
				u8 *slot = &res[(pa - addr) >> PAGE_SHIFT];
				struct page *page;
				void *e;

				if (!(pfns[i] & HMM_PFN_VALID))
					continue;
				page = hmm_pfn_to_page(pfns[i]);
				if (ferry_dpage_of(page)) {
					ferry_track(vas, ferry_dpage_of(page), pa);
					*slot = FERRY_RES_DEVICE;
					continue;
				}
				*slot = FERRY_RES_HOST;
				if (!(ferry_page_attr(vas, pa) & FERRY_PA_READ_MOSTLY))
					continue;
				e = xa_load(&vas->pt, pa >> PAGE_SHIFT);
				if (e && !(xa_to_value(e) & 1))
					*slot = FERRY_RES_DUPLICATED;
			}
			a = range.end;
		}
		mmap_read_unlock(mm);
		for (i = 0; i < n; i++)
			count[res[i]]++;
		if (out && copy_to_user(out + ((addr - start) >> PAGE_SHIFT), res, n)) {
			ret = -EFAULT;
			break;
		}
		addr = next;
	}
	mmput(mm);
out_free:
	kfree(res);
	kvfree(pfns);
	return ret;
}
