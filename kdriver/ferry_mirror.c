// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The device view.
 *
 * ferry-device mmaps the render node at the window's address: that VMA is
 * the device's page table. Its PTEs point at backing pages of device pages
 * (data on the device) or, under accessed-by / preferred-host / read-mostly
 * advice, at the host's own system pages ("remote" mappings).
 *
 * What may be mapped is kept in vas->pt (page index -> PFN, writable,
 * remote), filled by ferry_mirror_fill() with hmm_range_fault() under the
 * interval notifier's sequence, as Documentation/mm/hmm.rst describes. The
 * invariant: a device-view PTE exists only while its vas->pt entry does, and
 * an entry is erased only together with a zap of its page. Insertion happens
 * under vas->lock and only from an entry present in vas->pt.
 *
 * Invalidation: the interval notifier erases the entries of the range and
 * zaps the device view before returning (when an erased entry was marked
 * PT_MAPPED: the fault handler marks what it inserts). Zapping a user
 * mapping enters the device mm's own invalidate_range_start(), which must
 * not nest inside the host's (lockdep tracks one map for all of them), so
 * the zap runs on ferry_zap_wq and the notifier waits for it. Our own
 * migrations to the device leave device pages' entries alone (only remote
 * ones can be hit); our migrations to the host call ferry_mirror_forget()
 * themselves, after the pages are locked and before they are copied.
 *
 * The device-view fault: with an entry, insert it (and every other entry of
 * its 2 MiB region) under vas->lock. Without one, drop the device's
 * mmap_lock, do the host-side work (migrate the block to the device, fill the
 * entries) under the host's mmap_lock, and return VM_FAULT_RETRY: the two
 * mmap_locks are never held together.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sort.h>
#include <linux/workqueue.h>

#include <drm/drm_file.h>

#include "ferry_drv.h"
#include "ferry_compat.h"

#define PT_WRITE 1UL
#define PT_REMOTE 2UL
#define PT_SHIFT 2
/*
 * Marks an entry the fault handler inserted into the device view: a PTE may
 * exist. Entries never inserted have no PTE, so erasing them needs no zap.
 */
#define PT_MAPPED XA_MARK_0

static struct workqueue_struct *ferry_zap_wq;

/**
 * pt_entry() - a device-view table entry
 * @pfn: the PFN to map
 * @write: the device may write it
 * @remote: a system page mapped in place (not a device page's backing)
 *
 * Context: any.
 * Return: the xarray value entry.
 */
static inline void *pt_entry(unsigned long pfn, bool write, bool remote)
{
	return xa_mk_value((pfn << PT_SHIFT) | (write ? PT_WRITE : 0) | (remote ? PT_REMOTE : 0));
}

/**
 * pt_pfn() - the PFN of a table entry
 * @e: an entry of vas->pt
 *
 * Context: any.
 * Return: the PFN.
 */
static inline unsigned long pt_pfn(void *e)
{
	return xa_to_value(e) >> PT_SHIFT;
}

/**
 * pt_write() - may the device write through a table entry?
 * @e: an entry of vas->pt
 *
 * Context: any.
 * Return: true when writable.
 */
static inline bool pt_write(void *e)
{
	return xa_to_value(e) & PT_WRITE;
}

/**
 * pt_remote() - is a table entry a system page mapped in place?
 * @e: an entry of vas->pt
 *
 * Context: any.
 * Return: true when remote.
 */
static inline bool pt_remote(void *e)
{
	return xa_to_value(e) & PT_REMOTE;
}

/**
 * ferry_mirror_zap() - remove the device view's PTEs of a range
 * @vas: the VA space
 * @start: first address (page aligned, inside the window)
 * @end: end address
 *
 * Context: process context, may sleep; not inside an MMU notifier callback
 * and without vas->lock.
 */
void ferry_mirror_zap(struct ferry_vaspace *vas, unsigned long start, unsigned long end)
{
	loff_t off = ((loff_t)vas->pgoff << PAGE_SHIFT) + (start - vas->base);

	lockdep_assert_not_held(&vas->lock);
	unmap_mapping_range(vas->fdev->drm.anon_inode->i_mapping, off, end - start, 1);
}

struct ferry_zap_req {
	struct work_struct work;
	struct completion done;
	struct ferry_vaspace *vas;
	unsigned long start, end;
};

/**
 * ferry_zap_work() - the zap of a ferry_mirror_zap_sync() request
 * @work: the request's work
 *
 * Context: process context (ferry_zap_wq), outside the MMU notifier that
 * waits for it.
 */
static void ferry_zap_work(struct work_struct *work)
{
	struct ferry_zap_req *req = container_of(work, struct ferry_zap_req, work);

	ferry_mirror_zap(req->vas, req->start, req->end);
	complete(&req->done);
}

/**
 * ferry_mirror_zap_sync() - ferry_mirror_zap() from an MMU notifier callback
 * @vas: the VA space
 * @start: first address
 * @end: end address
 *
 * Context: a blockable MMU notifier callback, may sleep, without vas->lock;
 * waits for ferry_zap_wq (WQ_MEM_RECLAIM) to zap.
 */
static void ferry_mirror_zap_sync(struct ferry_vaspace *vas, unsigned long start,
				  unsigned long end)
{
	struct ferry_zap_req req = { .vas = vas, .start = start, .end = end };

	lockdep_assert_not_held(&vas->lock);
	INIT_WORK_ONSTACK(&req.work, ferry_zap_work);
	init_completion(&req.done);
	queue_work(ferry_zap_wq, &req.work);
	wait_for_completion(&req.done);
	destroy_work_on_stack(&req.work);
}

/**
 * ferry_mirror_erase() - erase the device view's table entries of a range
 * @vas: the VA space
 * @start: first address
 * @end: end address
 * @remote_only: erase only remote entries (system pages mapped in place)
 *
 * Context: vas->lock held; takes the table's xarray lock.
 * Return: whether the device view may map any of them (one was marked
 * PT_MAPPED): only then is there a PTE to zap.
 */
static bool ferry_mirror_erase(struct ferry_vaspace *vas, unsigned long start, unsigned long end,
			       bool remote_only)
{
	XA_STATE(xas, &vas->pt, start >> PAGE_SHIFT);
	bool mapped = false;
	void *e;

	lockdep_assert_held(&vas->lock);
	/* one hold of the xarray's lock for the range, not one a page */
	xas_lock(&xas);
	xas_for_each(&xas, e, (end >> PAGE_SHIFT) - 1) {
		if (remote_only && !pt_remote(e))
			continue;
		if (xas_get_mark(&xas, PT_MAPPED))
			mapped = true;
		xas_store(&xas, NULL);
	}
	xas_unlock(&xas);
	return mapped;
}

/**
 * ferry_mirror_forget() - the device stops mapping a range (migration back)
 * @vas: the VA space
 * @start: first address
 * @end: end address
 *
 * Context: process context, may sleep; vas->migrate_lock held (a migration
 * back to the host, called after the pages are unmapped from the host
 * (migration entries) and before their contents are copied; or new advice);
 * takes vas->lock.
 */
void ferry_mirror_forget(struct ferry_vaspace *vas, unsigned long start, unsigned long end)
{
	bool any;

	lockdep_assert_held(&vas->migrate_lock);
	mutex_lock(&vas->lock);
	any = ferry_mirror_erase(vas, start, end, false);
	mutex_unlock(&vas->lock);
	if (any)
		ferry_mirror_zap(vas, start, end);
}

/**
 * ferry_mirror_invalidate() - the host's mappings of a range change
 * @mni: the window's interval notifier
 * @range: what changes
 * @cur_seq: the new sequence
 *
 * Context: MMU notifier (invalidate_range_start); sleeps only when the range
 * is blockable.
 * Return: false when the range is not blockable and the device view maps
 * part of it.
 */
static bool ferry_mirror_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct ferry_vaspace *vas = container_of(mni, struct ferry_vaspace, notifier);
	bool own = range->event == MMU_NOTIFY_MIGRATE && range->owner == ferry_dmem_owner();
	unsigned long start = max(range->start, vas->base);
	unsigned long end = min(range->end, vas->base + vas->size);
	bool blockable = mmu_notifier_range_blockable(range);
	bool any;

	if (blockable)
		mutex_lock(&vas->lock);
	else if (!mutex_trylock(&vas->lock))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	if (range->event == MMU_NOTIFY_UNMAP)
		ferry_untrack_range(vas, start, end);
	if (!blockable) {
		void *e;
		unsigned long idx;

		xa_for_each_range(&vas->pt, idx, e, start >> PAGE_SHIFT, (end >> PAGE_SHIFT) - 1) {
			mutex_unlock(&vas->lock);
			pr_debug("vas%llu: non-blockable invalidation of [%#lx, %#lx) refused: mapped\n",
				 vas->id, start, end);
			return false;
		}
		mutex_unlock(&vas->lock);
		return true;
	}
	any = ferry_mirror_erase(vas, start, end, own);
	mutex_unlock(&vas->lock);
	if (any)
		ferry_mirror_zap_sync(vas, start, end);
	return true;
}

const struct mmu_interval_notifier_ops ferry_mirror_ops = {
	.invalidate = ferry_mirror_invalidate,
};

/**
 * ferry_mirror_fill() - record what the device may map for a range
 * @vas: the VA space
 * @mm: the host mm (mmap_lock held for read)
 * @start: first address of the range, inside one host VMA
 * @end: end address (at most FERRY_REGION_SIZE after @start)
 * @fault_addr: the page the device touched (faulted in on the host if
 *	needed, and mapped remotely if it is not on the device), or 0
 * @write: the touch writes
 *
 * Other pages of the range get an entry when they are on the device, or
 * when they are system pages of a range advised to be mapped remotely.
 *
 * Context: process context, may sleep; host mmap_lock held for read, not
 * vas->migrate_lock (a host fault in hmm_range_fault() may migrate).
 * Return: 0, -EAGAIN when the device writes a device page that the host
 * maps read-only (copy-on-write shared since a fork), or a negative errno
 * from hmm_range_fault().
 */
int ferry_mirror_fill(struct ferry_vaspace *vas, struct mm_struct *mm, unsigned long start,
		      unsigned long end, unsigned long fault_addr, bool write)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long *pfns = kvmalloc_array(npages, sizeof(*pfns), GFP_KERNEL);
	struct hmm_range range = {
		.notifier = &vas->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
		.dev_private_owner = ferry_dmem_owner(),
	};
	unsigned long timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	XA_STATE(xas, &vas->pt, 0);
	bool any = false;
	unsigned long i;
	int ret;

	mmap_assert_locked(mm);
	lockdep_assert_not_held(&vas->migrate_lock);
	if (!pfns)
		return -ENOMEM;
again:
	memset(pfns, 0, npages * sizeof(*pfns));
	if (fault_addr)
		pfns[(fault_addr - start) >> PAGE_SHIFT] =
			HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	range.notifier_seq = mmu_interval_read_begin(&vas->notifier);
	ret = hmm_range_fault(&range);
	if (ret == -EBUSY && time_before(jiffies, timeout))
		goto again;
	if (ret) {
		pr_debug("vas%llu: device view of [%#lx, %#lx): hmm_range_fault: %d\n", vas->id,
			 start, end, ret);
		goto out;
	}

	mutex_lock(&vas->lock);
	if (mmu_interval_read_retry(&vas->notifier, range.notifier_seq)) {
		mutex_unlock(&vas->lock);
		goto again;
	}
	for (i = 0; i < npages; i++) {
		unsigned long addr = start + (i << PAGE_SHIFT);
		unsigned long hp = pfns[i];
		struct page *page;
		struct ferry_dpage *dp;
		bool remote, wr;
		u8 attr;

		pfns[i] = 0; /* from here on: the entry to store, 0 for none */
		if (!(hp & HMM_PFN_VALID))
			continue;
		page = hmm_pfn_to_page(hp);
		wr = hp & HMM_PFN_WRITE;
		dp = ferry_dpage_of(page);
		if (dp && addr == fault_addr && write && !wr) {
			ret = -EAGAIN; /* shared since a fork: the host must copy first */
			continue;
		}
		if (dp) {
			ferry_track(vas, dp, addr);
			page = dp->backing;
			remote = false;
		} else if (is_device_private_page(page)) {
			continue; /* someone else's device memory */
		} else {
			attr = ferry_page_attr(vas, addr);
			if (addr != fault_addr &&
			    !(attr & (FERRY_PA_ACCESSED_BY_DEVICE | FERRY_PA_PREF_HOST |
				      FERRY_PA_READ_MOSTLY)))
				continue;
			/* read-mostly: a device write collapses to one copy */
			if (attr & FERRY_PA_READ_MOSTLY && !(addr == fault_addr && write))
				wr = false;
			remote = true;
		}
		pfns[i] = (unsigned long)pt_entry(page_to_pfn(page), wr, remote);
		any = true;
	}
	/*
	 * The entries, in one hold of the xarray's lock (not one a page, nor
	 * with state_lock inside it). Nodes are allocated GFP_NOWAIT there: an
	 * entry that misses costs a later fault, nothing else.
	 */
	if (any) {
		xas_lock(&xas);
		for (i = 0; i < npages; i++) {
			if (!pfns[i])
				continue;
			xas_set(&xas, (start >> PAGE_SHIFT) + i);
			xas_store(&xas, (void *)pfns[i]);
		}
		xas_unlock(&xas);
	}
	mutex_unlock(&vas->lock);

out:
	kvfree(pfns);
	return ret;
}

/**
 * ferry_resolve_one() - the host-side work of one device fault
 * @vas: the VA space
 * @mm: the host mm
 * @addr: the touched page
 * @write: the touch writes
 *
 * Migrate the block (unless advice says to map the system page) and fill
 * the entries of the faulting block.
 *
 * Context: process context, the host mmap_lock held for read,
 * vas->fault_mutex held.
 * Return: 0 or a negative errno (the device gets SIGBUS, or VM_FAULT_OOM
 * for -ENOMEM).
 */
static int ferry_resolve_one(struct ferry_vaspace *vas, struct mm_struct *mm, unsigned long addr,
			     bool write)
{
	unsigned long bsize = (unsigned long)vas->block_pages << PAGE_SHIFT;
	unsigned long start, end;
	struct vm_area_struct *vma;
	int ret, tries = 0;
	bool remote;
	u8 attr;

	mmap_assert_locked(mm);
	lockdep_assert_held(&vas->fault_mutex);
	vma = vma_lookup(mm, addr);
	if (!vma || !vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED)) {
		pr_debug("vas%llu: device touch at %#lx: no anonymous private host memory\n",
			 vas->id, addr);
		return -EFAULT;
	}
again:
	attr = ferry_page_attr(vas, addr);
	remote = (attr & (FERRY_PA_ACCESSED_BY_DEVICE | FERRY_PA_PREF_HOST)) ||
		 (!write && (attr & FERRY_PA_READ_MOSTLY));
	start = max(ALIGN_DOWN(addr, bsize), vma->vm_start);
	end = min(ALIGN_DOWN(addr, bsize) + bsize, vma->vm_end);
	/*
	 * The whole range the prefetcher moved gets its entries: the next
	 * touches in it cost a device-view fault, no host-side work.
	 */
	if (!remote && !(vma->vm_flags & VM_LOCKED))
		ferry_migrate_block_to_device(vas, mm, addr, true, &start, &end);
	/* on failure (capacity, pinned pages) the page is mapped remotely */
	ret = ferry_mirror_fill(vas, mm, start, end, addr, write);
	if (ret == -EAGAIN && tries++ < 4) {
		/*
		 * A write to a copy-on-write shared device page (since a
		 * fork): host write faults on the block bring it back
		 * (migrate_to_ram) and copy it (the second fault), then the
		 * block moves to the device again, writable.
		 */
		unsigned long a;
		int i;

		for (a = start; a < end; a += PAGE_SIZE) {
			for (i = 0; i < 2; i++) {
				if (handle_mm_fault(vma, a, FAULT_FLAG_WRITE | FAULT_FLAG_REMOTE,
						    NULL) & VM_FAULT_ERROR) {
					pr_debug("vas%llu: host write fault at %#lx failed\n",
						 vas->id, a);
					return -EFAULT;
				}
			}
		}
		goto again;
	}
	return ret;
}

/**
 * ferry_fault_cmp() - sort() order of pending faults: by address
 * @a: a struct ferry_fault pointer
 * @b: another
 *
 * Context: any.
 * Return: <0, 0 or >0.
 */
static int ferry_fault_cmp(const void *a, const void *b)
{
	const struct ferry_fault *x = *(const struct ferry_fault * const *)a;
	const struct ferry_fault *y = *(const struct ferry_fault * const *)b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* At most this many pending faults are resolved in one batch. */
#define FERRY_FAULT_BATCH 64

/**
 * ferry_resolve_batch() - resolve the device faults pending on @vas
 * @vas: the VA space
 *
 * Up to FERRY_FAULT_BATCH of them, in address order, with one hold of the
 * host's mmap_lock; a fault in a block an earlier one of the batch made
 * resident only fills its entries. Each gets its result and is marked done.
 *
 * Context: process context, vas->fault_mutex held, no mmap_lock held; takes
 * the host mmap_lock for read.
 * Return: the number of faults resolved.
 */
static unsigned int ferry_resolve_batch(struct ferry_vaspace *vas)
{
	struct ferry_fault *batch[FERRY_FAULT_BATCH];
	unsigned long bsize = (unsigned long)vas->block_pages << PAGE_SHIFT;
	unsigned long prev_block = 0;
	struct mm_struct *mm = vas->mm;
	unsigned int n = 0, i;
	int prev_err = 0;

	lockdep_assert_held(&vas->fault_mutex);
	spin_lock(&vas->fault_pending_lock);
	while (n < FERRY_FAULT_BATCH && !list_empty(&vas->fault_pending)) {
		batch[n] = list_first_entry(&vas->fault_pending, struct ferry_fault, node);
		list_del_init(&batch[n]->node);
		n++;
	}
	spin_unlock(&vas->fault_pending_lock);
	if (!n)
		return 0;
	sort(batch, n, sizeof(batch[0]), ferry_fault_cmp, NULL);
	if (!mmget_not_zero(mm)) {
		pr_debug("vas%llu: %u device faults: the host process is gone\n", vas->id, n);
		for (i = 0; i < n; i++)
			batch[i]->err = -EFAULT;
		goto done;
	}
	mmap_read_lock(mm);
	for (i = 0; i < n; i++) {
		unsigned long block = ALIGN_DOWN(batch[i]->addr, bsize);

		/* a read after a fault of the same block: that one covered it */
		if (i && block == prev_block && !batch[i]->write) {
			batch[i]->err = prev_err;
			continue;
		}
		prev_err = ferry_resolve_one(vas, mm, batch[i]->addr, batch[i]->write);
		batch[i]->err = prev_err;
		prev_block = block;
	}
	mmap_read_unlock(mm);
	mmput(mm);
done:
	for (i = 0; i < n; i++)
		WRITE_ONCE(batch[i]->done, true);
	return n;
}

/**
 * ferry_device_fault() - the host-side work of a device fault, batched
 * @vas: the VA space (a reference held by the caller)
 * @addr: the touched page
 * @write: the touch writes
 *
 * The fault joins the VA space's pending list, and whichever faulting
 * thread holds fault_mutex resolves all of them together
 * (ferry_resolve_batch()); the others find theirs done when they get the
 * mutex, as the user-space driver's fault thread drains every pending fault
 * into one batch.
 *
 * Context: process context, no mmap_lock held; takes vas->fault_mutex.
 * Return: 0 or a negative errno.
 */
static int ferry_device_fault(struct ferry_vaspace *vas, unsigned long addr, bool write)
{
	struct ferry_fault f = { .addr = addr, .write = write };
	unsigned int n;
	u64 t0;

	spin_lock(&vas->fault_pending_lock);
	list_add_tail(&f.node, &vas->fault_pending);
	spin_unlock(&vas->fault_pending_lock);
	mutex_lock(&vas->fault_mutex);
	while (!READ_ONCE(f.done)) {
		t0 = ktime_get_ns();
		n = ferry_resolve_batch(vas);
		ferry_count(vas, FERRY_CTR(faults_device), n);
		ferry_count(vas, FERRY_CTR(fault_batches), 1);
		ferry_count(vas, FERRY_CTR(fault_ns), ktime_get_ns() - t0);
	}
	mutex_unlock(&vas->fault_mutex);
	return f.err;
}

/**
 * ferry_pte_noop() - apply_to_page_range() callback that changes nothing
 * @pte: the PTE
 * @addr: its address
 * @data: unused
 *
 * apply_to_page_range() with it populates the page tables of a range, so
 * that inserting there later allocates nothing.
 *
 * Context: apply_to_page_range(), the PTE lock held.
 * Return: 0.
 */
static int ferry_pte_noop(pte_t *pte, unsigned long addr, void *data)
{
	return 0;
}

struct ferry_insert {
	struct ferry_vaspace *vas;
	struct vm_area_struct *vma;
	void **entries; /* vas->ins_buf: the region's table entries, from @base */
	unsigned long base;
	pgprot_t prot_rw, prot_ro;
};

/**
 * ferry_pte_insert() - set one empty PTE of the device view from its table
 * entry
 * @pte: the PTE
 * @addr: its address
 * @data: the struct ferry_insert of the fault
 *
 * As vmf_insert_pfn_prot() would (a special PTE: no struct page is looked
 * at), but without its per-page cache-mode lookup: these are RAM pages,
 * mapped write-back like the VMA. The page table exists (populated before),
 * so nothing is allocated under vas->lock.
 *
 * Context: apply_to_page_range() from the device-view fault: vas->lock held,
 * and the PTE lock, one hold for the whole range.
 * Return: 0.
 */
static int ferry_pte_insert(pte_t *pte, unsigned long addr, void *data)
{
	struct ferry_insert *ins = data;
	void *e = ins->entries[(addr - ins->base) >> PAGE_SHIFT];

	lockdep_assert_held(&ins->vas->lock);
	if (!e || !pte_none(ptep_get(pte)))
		return 0;
	set_pte_at(ins->vma->vm_mm, addr, pte,
		   pte_mkspecial(pfn_pte(pt_pfn(e), pt_write(e) ? ins->prot_rw : ins->prot_ro)));
	update_mmu_cache(ins->vma, addr, pte);
	return 0;
}

/**
 * ferry_mirror_vm_fault() - a device touch of an unmapped page of the view
 * @vmf: the fault
 *
 * Context: the device process's page fault, its mmap_lock held for read (a
 * fault taken under the VMA lock is retried with it: the view has no
 * ->map_pages).
 * Return: VM_FAULT_NOPAGE once mapped, VM_FAULT_RETRY after host-side work
 * (the mmap_lock dropped), VM_FAULT_SIGBUS when the page cannot be reached
 * (host process gone, window unmapped), VM_FAULT_OOM.
 */
static vm_fault_t ferry_mirror_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct ferry_vaspace *vas = vma->vm_private_data;
	unsigned long addr = vmf->address & PAGE_MASK;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	unsigned long rbase = ALIGN_DOWN(addr, FERRY_REGION_SIZE);
	unsigned long rstart = max(rbase, vma->vm_start);
	unsigned long rend = min(rbase + FERRY_REGION_SIZE, vma->vm_end);
	pgprot_t prot_rw = vm_get_page_prot(vma->vm_flags);
	pgprot_t prot_ro = vm_get_page_prot(vma->vm_flags & ~VM_WRITE);
	vm_fault_t ret = VM_FAULT_NOPAGE;
	unsigned long last = (rend >> PAGE_SHIFT) - 1;
	void *e, *n;
	int err;

	mmap_assert_locked(vma->vm_mm);
	/* one page suffices: the window is 2 MiB aligned, one PTE table covers the region */
	if (apply_to_page_range(vma->vm_mm, rstart, PAGE_SIZE, ferry_pte_noop, NULL)) {
		pr_debug("vas%llu: device view at %#lx: no page table\n", vas->id, addr);
		return VM_FAULT_OOM;
	}
	mutex_lock(&vas->lock);
	e = xa_load(&vas->pt, addr >> PAGE_SHIFT);
	if (e && (!write || pt_write(e))) {
		XA_STATE(xas, &vas->pt, rstart >> PAGE_SHIFT);
		struct ferry_insert ins = {
			.vas = vas,
			.vma = vma,
			.entries = vas->ins_buf,
			.base = rstart,
			.prot_rw = prot_rw,
			.prot_ro = prot_ro,
		};
		unsigned long lo = ULONG_MAX, hi = 0;

		/*
		 * Every entry of the region goes in, not only the touched
		 * block's: a prefetch or the prefetcher filled them, and the
		 * device's next touches there then fault no more (a GPU
		 * driver maps a migrated range at once, too). One walk of the
		 * table under its lock collects them and marks them mapped;
		 * then the PTEs from the first to the last are set.
		 */
		memset(vas->ins_buf, 0, FERRY_REGION_PAGES * sizeof(void *));
		xas_lock(&xas);
		xas_for_each(&xas, n, last) {
			vas->ins_buf[xas.xa_index - (rstart >> PAGE_SHIFT)] = n;
			lo = min(lo, xas.xa_index);
			hi = xas.xa_index;
			xas_set_mark(&xas, PT_MAPPED);
		}
		xas_unlock(&xas);
		if (lo <= hi && apply_to_page_range(vma->vm_mm, lo << PAGE_SHIFT,
						    (hi - lo + 1) << PAGE_SHIFT, ferry_pte_insert,
						    &ins)) {
			pr_debug("vas%llu: device view at %#lx: inserting failed\n", vas->id, addr);
			ret = VM_FAULT_SIGBUS;
		}
		mutex_unlock(&vas->lock);
		return ret;
	}
	err = 0;
	if (vas->fault_err && vas->fault_err_addr == addr) {
		err = vas->fault_err;
		vas->fault_err = 0;
	}
	mutex_unlock(&vas->lock);
	if (err) {
		pr_debug("vas%llu: device touch at %#lx: %d\n", vas->id, addr, err);
		return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	}
	if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY) || (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)) {
		pr_debug("vas%llu: device touch at %#lx: cannot drop the mmap_lock\n", vas->id,
			 addr);
		return VM_FAULT_SIGBUS;
	}

	kref_get(&vas->ref);
	ferry_release_fault_lock(vmf);
	/* the VMA may go away from here on; @vas is ours */
	err = ferry_device_fault(vas, addr, write);
	if (err) {
		mutex_lock(&vas->lock);
		vas->fault_err_addr = addr;
		vas->fault_err = err;
		mutex_unlock(&vas->lock);
	}
	ferry_vaspace_put(vas);
	return VM_FAULT_RETRY;
}

/**
 * ferry_mirror_pfn_mkwrite() - a device write to a read-only mapped page
 * @vmf: the fault
 *
 * A page mapped read-only (remote under read-mostly, or shared after fork)
 * is unmapped, so that the write faults again through ferry_mirror_vm_fault()
 * and gets a writable page.
 *
 * Context: the device process's page fault, its mmap_lock held for read (a
 * fault taken under the VMA lock is retried with it: the view has no
 * ->map_pages).
 * Return: 0 when the entry is writable, VM_FAULT_NOPAGE otherwise.
 */
static vm_fault_t ferry_mirror_pfn_mkwrite(struct vm_fault *vmf)
{
	struct ferry_vaspace *vas = vmf->vma->vm_private_data;
	unsigned long addr = vmf->address & PAGE_MASK;
	void *e;

	mmap_assert_locked(vmf->vma->vm_mm);
	mutex_lock(&vas->lock);
	e = xa_load(&vas->pt, addr >> PAGE_SHIFT);
	if (e && pt_write(e)) {
		mutex_unlock(&vas->lock);
		return 0;
	}
	if (e)
		xa_erase(&vas->pt, addr >> PAGE_SHIFT);
	mutex_unlock(&vas->lock);
	ferry_mirror_zap(vas, addr, addr + PAGE_SIZE);
	return VM_FAULT_NOPAGE;
}

static const struct vm_operations_struct ferry_mirror_vm_ops = {
	.fault = ferry_mirror_vm_fault,
	.pfn_mkwrite = ferry_mirror_pfn_mkwrite,
};

/**
 * ferry_mirror_mmap() - set up a device-view VMA
 * @vas: the VA space of the file being mapped
 * @vma: the new VMA
 *
 * The view must be a shared mapping at the window's address (the offset
 * from FERRY_IOCTL_MAP_DEVICE_VIEW names where in the window), made by a
 * process other than the host.
 *
 * Context: mmap, the caller's mmap_lock held for write.
 * Return: 0 or -EINVAL.
 */
int ferry_mirror_mmap(struct ferry_vaspace *vas, struct vm_area_struct *vma)
{
	unsigned long npages = vas->size >> PAGE_SHIFT;

	mmap_assert_write_locked(vma->vm_mm);
	if (!vas->registered || vma->vm_mm == vas->mm || !(vma->vm_flags & VM_SHARED)) {
		pr_debug("vas%llu: view mmap refused: %s\n", vas->id,
			 vma->vm_mm == vas->mm ? "from the host process" : "not MAP_SHARED");
		return -EINVAL;
	}
	if (vma->vm_pgoff < vas->pgoff || vma->vm_pgoff - vas->pgoff >= npages ||
	    vma_pages(vma) > npages - (vma->vm_pgoff - vas->pgoff) ||
	    vma->vm_start != vas->base + ((vma->vm_pgoff - vas->pgoff) << PAGE_SHIFT)) {
		pr_debug("vas%llu: view mmap at %#lx, offset %#lx: not the window's place\n",
			 vas->id, vma->vm_start, vma->vm_pgoff << PAGE_SHIFT);
		return -EINVAL;
	}
	ferry_vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP | VM_DONTCOPY);
	vma->vm_private_data = vas;
	vma->vm_ops = &ferry_mirror_vm_ops;
	return 0;
}

/**
 * ferry_mirror_init() - the zap workqueue
 *
 * Context: module load.
 * Return: 0 or -ENOMEM.
 */
int ferry_mirror_init(void)
{
	ferry_zap_wq = alloc_workqueue("ferry_zap", WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	return ferry_zap_wq ? 0 : -ENOMEM;
}

/**
 * ferry_mirror_fini() - release the zap workqueue
 *
 * Context: module unload.
 */
void ferry_mirror_fini(void)
{
	destroy_workqueue(ferry_zap_wq);
}

/**
 * ferry_defer() - run @work on ferry_zap_wq (flushed at module unload)
 * @work: the work
 *
 * Context: any.
 */
void ferry_defer(struct work_struct *work)
{
	queue_work(ferry_zap_wq, work);
}
