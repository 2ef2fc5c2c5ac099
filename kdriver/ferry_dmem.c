// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Device memory of the software device.
 *
 * Device memory is memremap_pages(MEMORY_DEVICE_PRIVATE) in chunks of
 * FERRY_CHUNK_SIZE, added on demand up to the device_memory_mb module
 * parameter. Each device page has one driver-allocated backing page, its
 * contents, allocated the first time the device page is used and kept while
 * the device page goes back and forth through the free list: migrations
 * recycle pages instead of allocating them.
 *
 * The device pages are shared by all VA spaces; each VA space has its own
 * capacity (CREATE_VASPACE) and its own LRU, kept by ferry_migrate.c.
 *
 * Locks: ferry_dmem.grow (mutex) serialises adding a chunk; ferry_dmem.lock
 * (spinlock, innermost) guards the free list. page_free is called with a host
 * PTE lock held, once a page: it only pushes the page on a lock-free list.
 * ferry_dmem_reap() does the bookkeeping of what was pushed in batches (one
 * hold of a VA space's state_lock for its pages, one of ferry_dmem.lock for
 * all): the migrations call it when their pages are freed, everything that
 * reads residency or allocates calls it first, and a delayed work item
 * catches the rest (munmap, process exit).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/llist.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "ferry_drv.h"
#include "ferry_compat.h"

#define FERRY_CHUNK_SIZE (64UL << 20)
#define FERRY_CHUNK_PAGES (FERRY_CHUNK_SIZE >> PAGE_SHIFT)
#define FERRY_MAX_CHUNKS 256 /* 16 GiB */

struct ferry_chunk {
	struct dev_pagemap pgmap;
	struct resource *res;
	struct ferry_dpage *dpages;
};

static struct {
	struct device *dev;
	struct mutex grow; /* serialises adding a chunk */
	spinlock_t lock;   /* guards free_list and free_pages */
	struct list_head free_list;
	struct ferry_chunk *chunks[FERRY_MAX_CHUNKS];
	unsigned int nchunks;
	unsigned int max_chunks;
	u64 free_pages;
	struct llist_head freed;	/* pages page_free gave back, not reaped yet */
	struct delayed_work reap_work;	/* reaps what no caller reaped */
} ferry_dmem;

static void ferry_page_free(struct page *page);

static const struct dev_pagemap_ops ferry_dmem_ops = {
	.page_free = ferry_page_free,
	.migrate_to_ram = ferry_migrate_to_ram,
};

/**
 * ferry_dmem_owner() - the owner cookie of Ferry's device-private pages
 *
 * Context: any.
 * Return: the value passed as pgmap_owner to migrate_vma_setup() and as
 * dev_private_owner to hmm_range_fault().
 */
void *ferry_dmem_owner(void)
{
	return &ferry_dmem;
}

/**
 * ferry_dmem_available() - whether this kernel has device-private memory
 *
 * Context: any.
 * Return: true when CONFIG_DEVICE_PRIVATE is set.
 */
bool ferry_dmem_available(void)
{
	return FERRY_HAVE_DEVICE_PRIVATE;
}

/**
 * ferry_dpage_of() - the device page behind a device-private struct page
 * @page: a page of one of Ferry's chunks
 *
 * Context: any.
 * Return: its struct ferry_dpage, or NULL for a page that is not Ferry's.
 */
struct ferry_dpage *ferry_dpage_of(struct page *page)
{
	if (!is_device_private_page(page) || page->pgmap->owner != ferry_dmem_owner())
		return NULL;
	return page->zone_device_data;
}

/**
 * ferry_dmem_grow() - add one chunk of device memory
 *
 * Context: process context, may sleep; takes ferry_dmem.grow.
 * Return: 0, -ENOSPC when the capacity is reached, or a negative errno.
 */
static int ferry_dmem_grow(void)
{
	struct ferry_chunk *chunk;
	unsigned long pfn, i;
	void *addr;
	int ret;

	mutex_lock(&ferry_dmem.grow);
	if (ferry_dmem.free_pages) { /* another thread grew it meanwhile */
		ret = 0;
		goto out_unlock;
	}
	if (ferry_dmem.nchunks >= ferry_dmem.max_chunks) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	ret = -ENOMEM;
	chunk = kzalloc(sizeof(*chunk), GFP_KERNEL);
	if (!chunk)
		goto out_unlock;
	chunk->dpages = kvcalloc(FERRY_CHUNK_PAGES, sizeof(*chunk->dpages), GFP_KERNEL);
	if (!chunk->dpages)
		goto err_chunk;
	chunk->res = request_free_mem_region(&iomem_resource, FERRY_CHUNK_SIZE, "ferry");
	if (IS_ERR(chunk->res)) {
		ret = PTR_ERR(chunk->res);
		pr_debug("chunk %u: no physical address range: %d\n", ferry_dmem.nchunks, ret);
		goto err_dpages;
	}
	chunk->pgmap.type = MEMORY_DEVICE_PRIVATE;
	chunk->pgmap.range.start = chunk->res->start;
	chunk->pgmap.range.end = chunk->res->end;
	chunk->pgmap.nr_range = 1;
	chunk->pgmap.ops = &ferry_dmem_ops;
	chunk->pgmap.owner = ferry_dmem_owner();
	addr = memremap_pages(&chunk->pgmap, numa_node_id());
	if (IS_ERR(addr)) {
		ret = PTR_ERR(addr);
		pr_debug("chunk %u: memremap_pages: %d\n", ferry_dmem.nchunks, ret);
		goto err_region;
	}

	pfn = chunk->pgmap.range.start >> PAGE_SHIFT;
	spin_lock(&ferry_dmem.lock);
	for (i = 0; i < FERRY_CHUNK_PAGES; i++) {
		struct ferry_dpage *dp = &chunk->dpages[i];

		dp->page = pfn_to_page(pfn + i);
		dp->page->zone_device_data = dp;
		list_add_tail(&dp->free, &ferry_dmem.free_list);
	}
	ferry_dmem.free_pages += FERRY_CHUNK_PAGES;
	ferry_dmem.chunks[ferry_dmem.nchunks++] = chunk;
	spin_unlock(&ferry_dmem.lock);
	mutex_unlock(&ferry_dmem.grow);
	return 0;

err_region:
	release_mem_region(chunk->res->start, resource_size(chunk->res));
err_dpages:
	kvfree(chunk->dpages);
err_chunk:
	kfree(chunk);
out_unlock:
	mutex_unlock(&ferry_dmem.grow);
	return ret;
}

/**
 * ferry_dmem_alloc() - take a free device page for @vas
 * @vas: the VA space that will own it (a reference is taken)
 * @addr: the host address whose contents it will hold
 *
 * The page comes back locked with one reference (zone_device_page_init()),
 * ready to be a migration destination, and with a backing page.
 *
 * Context: process context, vas->migrate_lock held (a migration of @vas);
 * may sleep (grows the device memory, allocates a backing page the first
 * time a device page is used).
 * Return: the device page, or NULL when the device memory is full (the caller
 * evicts and retries) or a backing page cannot be allocated.
 */
struct ferry_dpage *ferry_dmem_alloc(struct ferry_vaspace *vas, unsigned long addr)
{
	struct ferry_dpage *dp;

	lockdep_assert_held(&vas->migrate_lock);
	for (;;) {
		spin_lock(&ferry_dmem.lock);
		dp = list_first_entry_or_null(&ferry_dmem.free_list, struct ferry_dpage, free);
		if (dp) {
			list_del_init(&dp->free);
			ferry_dmem.free_pages--;
		}
		spin_unlock(&ferry_dmem.lock);
		if (dp)
			break;
		if (!llist_empty(&ferry_dmem.freed)) {
			ferry_dmem_reap(); /* freed pages first */
			continue;
		}
		if (ferry_dmem_grow())
			return NULL;
	}
	/* ferry_dmem_reap() clears the owner before the page is free again */
	WARN_ON_ONCE(dp->vas);
	if (!dp->backing) {
		dp->backing = alloc_page(GFP_HIGHUSER | __GFP_NOWARN);
		if (!dp->backing) {
			pr_debug("vas%llu: no backing page for a device page\n", vas->id);
			spin_lock(&ferry_dmem.lock);
			list_add(&dp->free, &ferry_dmem.free_list);
			ferry_dmem.free_pages++;
			spin_unlock(&ferry_dmem.lock);
			return NULL;
		}
	}
	kref_get(&vas->ref);
	dp->vas = vas;
	dp->addr = addr;
	zone_device_page_init(dp->page);
	return dp;
}

/**
 * ferry_page_free() - dev_pagemap_ops.page_free: a device page's last
 * reference is gone
 * @page: the device-private page
 *
 * The page goes on ferry_dmem.freed; ferry_dmem_reap() takes it out of its
 * VA space's residency and puts it back on the free list, with others.
 *
 * Context: any, possibly under a host PTE lock.
 */
static void ferry_page_free(struct page *page)
{
	struct ferry_dpage *dp = page->zone_device_data;

	/* ferry_dmem_alloc() set the owner; only ferry_dmem_reap() clears it */
	WARN_ON_ONCE(!dp->vas);
	if (llist_add(&dp->freed, &ferry_dmem.freed))
		queue_delayed_work(system_wq, &ferry_dmem.reap_work, 1);
}

/**
 * ferry_untrack_freed() - one freed page leaves its VA space's residency
 * @vas: the VA space that owned @dp
 * @dp: a device page page_free gave back
 *
 * Context: vas->state_lock and the dmap xarray's lock held.
 */
static void ferry_untrack_freed(struct ferry_vaspace *vas, struct ferry_dpage *dp)
{
	unsigned long idx = dp->addr >> PAGE_SHIFT;

	lockdep_assert_held(&vas->state_lock);
	lockdep_assert_held(&vas->dmap.xa_lock);
	if (dp->tracked && xa_load(&vas->dmap, idx) == dp)
		ferry_untrack_locked(vas, dp);
	/* a counted page is one of resident_pages since ferry_record() */
	if (dp->counted && !WARN_ON_ONCE(!vas->resident_pages))
		vas->resident_pages--;
	dp->counted = false;
	dp->tracked = false;
	dp->vas = NULL;
}

/**
 * ferry_vaspace_put_many() - drop @n references to @vas, taken by its device
 * pages
 * @vas: the VA space
 * @n: how many
 *
 * Context: any, vas->state_lock not held (the last reference frees @vas).
 */
static void ferry_vaspace_put_many(struct ferry_vaspace *vas, unsigned long n)
{
	lockdep_assert_not_held(&vas->state_lock);
	while (n--)
		ferry_vaspace_put(vas);
}

/**
 * ferry_dmem_reap() - the bookkeeping of freed device pages, in a batch
 *
 * Every page page_free pushed leaves its VA space's residency (one hold of
 * that VA space's state_lock for a run of its pages) and goes back on the
 * free list (one hold of ferry_dmem.lock); the references the pages held on
 * their VA spaces are dropped last.
 *
 * Context: any; takes vas->state_lock and ferry_dmem.lock, not together.
 */
void ferry_dmem_reap(void)
{
	struct llist_node *list = llist_del_all(&ferry_dmem.freed);
	struct ferry_vaspace *vas = NULL, *dvas;
	struct ferry_dpage *dp, *next;
	unsigned long n = 0, held = 0;
	LIST_HEAD(local);

	if (!list)
		return;
	/* next is read before a page goes anywhere: it may be freed again later */
	llist_for_each_entry_safe(dp, next, list, freed) {
		dvas = dp->vas;
		if (dvas != vas) {
			if (vas) {
				xa_unlock(&vas->dmap);
				spin_unlock(&vas->state_lock);
				ferry_vaspace_put_many(vas, held);
			}
			vas = dvas;
			held = 0;
			if (vas) {
				spin_lock(&vas->state_lock);
				xa_lock(&vas->dmap);
			}
		}
		if (vas) {
			ferry_untrack_freed(vas, dp);
			held++;
		}
		list_add(&dp->free, &local);
		n++;
	}
	if (vas) {
		xa_unlock(&vas->dmap);
		spin_unlock(&vas->state_lock);
	}
	spin_lock(&ferry_dmem.lock);
	list_splice(&local, &ferry_dmem.free_list);
	ferry_dmem.free_pages += n;
	spin_unlock(&ferry_dmem.lock);
	if (vas)
		ferry_vaspace_put_many(vas, held);
}

/**
 * ferry_dmem_reap_work() - reap what no caller reaped (munmap, process exit)
 * @work: ferry_dmem.reap_work
 *
 * Context: process context (system_wq).
 */
static void ferry_dmem_reap_work(struct work_struct *work)
{
	ferry_dmem_reap();
}

/**
 * ferry_dmem_reap_flush() - no freed page is left unreaped, nor the work
 * that would reap it
 *
 * Context: process context, may sleep.
 */
void ferry_dmem_reap_flush(void)
{
	cancel_delayed_work_sync(&ferry_dmem.reap_work);
	ferry_dmem_reap();
}

/**
 * ferry_dmem_stats() - device memory in pages
 * @total_pages: out: pages in the chunks added so far
 * @free_pages: out: of which free
 *
 * Context: any.
 */
void ferry_dmem_stats(u64 *total_pages, u64 *free_pages)
{
	ferry_dmem_reap();
	spin_lock(&ferry_dmem.lock);
	*total_pages = (u64)ferry_dmem.nchunks * FERRY_CHUNK_PAGES;
	*free_pages = ferry_dmem.free_pages;
	spin_unlock(&ferry_dmem.lock);
}

/**
 * ferry_dmem_init() - prepare the device memory (chunks come on demand)
 * @fdev: the device
 *
 * Context: module load.
 * Return: 0.
 */
int ferry_dmem_init(struct ferry_drm_device *fdev)
{
	ferry_dmem.dev = fdev->drm.dev;
	mutex_init(&ferry_dmem.grow);
	spin_lock_init(&ferry_dmem.lock);
	INIT_LIST_HEAD(&ferry_dmem.free_list);
	init_llist_head(&ferry_dmem.freed);
	INIT_DELAYED_WORK(&ferry_dmem.reap_work, ferry_dmem_reap_work);
	ferry_dmem.max_chunks = min_t(unsigned int, FERRY_MAX_CHUNKS,
				      DIV_ROUND_UP((unsigned long)ferry_device_memory_mb << 20,
						   FERRY_CHUNK_SIZE));
	return 0;
}

/**
 * ferry_dmem_fini() - release every chunk
 *
 * Called after every VA space is gone: no device page is in use any more.
 *
 * Context: module unload.
 */
void ferry_dmem_fini(void)
{
	unsigned int c;
	unsigned long i;

	for (c = 0; c < ferry_dmem.nchunks; c++) {
		struct ferry_chunk *chunk = ferry_dmem.chunks[c];

		memunmap_pages(&chunk->pgmap);
		release_mem_region(chunk->pgmap.range.start, range_len(&chunk->pgmap.range));
		for (i = 0; i < FERRY_CHUNK_PAGES; i++)
			if (chunk->dpages[i].backing)
				__free_page(chunk->dpages[i].backing);
		kvfree(chunk->dpages);
		kfree(chunk);
	}
	ferry_dmem.nchunks = 0;
}
