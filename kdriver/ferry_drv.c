// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ferry.ko: the DRM driver of Ferry's software device.
 *
 * A platform device with a render node, found by user space through libdrm
 * by driver name ("ferry"). The driver interface of include/ferry/ferry_uapi.h
 * ('F' ioctls, ferry_ioctl.c) is served next to DRM's own ioctls on the same
 * file, so that the runtime talks to this module and to the user-space driver
 * with the same command numbers and structures.
 *
 * One VA space per opened file: the opener is the host process. The device
 * process reaches the VA space only through that same file (inherited or
 * passed over a socket), with FERRY_IOCTL_MAP_DEVICE_VIEW and mmap; a file of
 * another opener never reaches it. This file: the module and its parameters,
 * the DRM driver, a VA space's life, debugfs. See ferry_drv.h for the lock
 * order.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_ioctl.h>

#include "ferry_drv.h"
#include "ferry_compat.h"

#define DRIVER_NAME "ferry"
#define DRIVER_DESC "Ferry software device (shared virtual memory)"
#define DRIVER_DATE "20261125"

unsigned int ferry_device_memory_mb = 256;
module_param_named(device_memory_mb, ferry_device_memory_mb, uint, 0444);
MODULE_PARM_DESC(device_memory_mb, "device memory in MiB (default 256)");

unsigned int ferry_block_kb = FERRY_DEFAULT_BLOCK_SIZE >> 10;

/**
 * ferry_block_kb_set() - set the block_kb parameter, refusing what no VA space could use
 * @val: the new value, as written
 * @kp: the parameter
 *
 * Context: process context (module load or a write to its sysfs file).
 * Return: 0, or -EINVAL for a value that is not a power of two from 4 to 2048.
 */
static int ferry_block_kb_set(const char *val, const struct kernel_param *kp)
{
	unsigned int kb;
	int ret = kstrtouint(val, 0, &kb);

	if (ret)
		return ret;
	if (kb > 2048 || !ferry_policy_block_size_valid((u64)kb << 10)) {
		pr_debug("block_kb=%u refused: not a power of two from 4 to 2048\n", kb);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = kb;
	return 0;
}

static const struct kernel_param_ops ferry_block_kb_ops = {
	.set = ferry_block_kb_set,
	.get = param_get_uint,
};

module_param_cb(block_kb, &ferry_block_kb_ops, &ferry_block_kb, 0644);
MODULE_PARM_DESC(block_kb, "migration block of new VA spaces in KiB, a power of two 4..2048 (default 64)");

bool ferry_prefetch = true;
module_param_named(prefetch, ferry_prefetch, bool, 0644);
MODULE_PARM_DESC(prefetch, "density prefetcher on for new VA spaces (default on)");

static struct ferry_drm_device *ferry_drm;

/**
 * ferry_vaspace_free() - free a VA space
 * @work: its free_work
 *
 * Every reference is gone: no device page is counted or tracked, no device
 * fault is pending.
 *
 * Context: process context (ferry_zap_wq, or the error path of
 * ferry_vaspace_create()).
 */
static void ferry_vaspace_free(struct work_struct *work)
{
	struct ferry_vaspace *vas = container_of(work, struct ferry_vaspace, free_work);
	unsigned long idx;
	void *a;

	/* each device page holds a reference until ferry_dmem_reap() untracks it */
	WARN_ON_ONCE(vas->resident_pages || !xa_empty(&vas->dmap));
	/* each pending device fault holds a reference until it is resolved */
	WARN_ON_ONCE(!list_empty(&vas->fault_pending));
	xa_for_each(&vas->attrs, idx, a)
		kfree(a);
	xa_destroy(&vas->attrs);
	xa_destroy(&vas->pt);
	xa_destroy(&vas->dmap);
	kvfree(vas->region_pages);
	kvfree(vas->region_thrash);
	kvfree(vas->lru_nodes);
	kvfree(vas->src);
	kvfree(vas->dst);
	kvfree(vas->newpages);
	kvfree(vas->ins_buf);
	kvfree(vas->ev_src);
	kvfree(vas->ev_dst);
	kfree(vas);
}

/**
 * ferry_vaspace_release() - the last reference to a VA space is gone
 * @ref: its kref
 *
 * Context: any (possibly page_free under a host PTE lock, or
 * ferry_dmem_reap() under a caller's locks).
 */
static void ferry_vaspace_release(struct kref *ref)
{
	struct ferry_vaspace *vas = container_of(ref, struct ferry_vaspace, ref);

	/* possibly from page_free under a PTE lock: free in process context */
	ferry_defer(&vas->free_work);
}

/**
 * ferry_vaspace_put() - drop a reference to a VA space
 * @vas: the VA space
 *
 * Device pages, asynchronous migrations and in-flight device faults hold
 * references; the file holds the first.
 *
 * Context: any.
 */
void ferry_vaspace_put(struct ferry_vaspace *vas)
{
	kref_put(&vas->ref, ferry_vaspace_release);
}

/**
 * ferry_debugfs_counters_show() - /sys/kernel/debug/ferry/vas<id>/counters
 * @m: the seq_file (private: the VA space)
 * @unused: unused
 *
 * Context: process context (a read of the file; the file goes before the
 * VA space, in ferry_vaspace_destroy()).
 * Return: 0.
 */
static int ferry_debugfs_counters_show(struct seq_file *m, void *unused)
{
	static const char *const names[] = {
		"faults_host",	    "faults_device",	   "fault_batches",
		"pages_to_device",  "pages_to_host",	   "bytes_to_device",
		"bytes_to_host",    "zero_fill_host",	   "zero_fill_device",
		"evictions",	    "pages_evicted",	   "pages_prefetched",
		"thrashing",	    "fault_ns",		   "migrate_ns",
		"device_resident_pages", "device_capacity_pages", "device_peak_pages",
		"device_cached_pages", "whole_regions", "thrashing_pins",
		"thrashing_pinned",
	};
	struct ferry_vaspace *vas = m->private;
	struct ferry_counters c;
	u64 *v = (u64 *)&c;
	unsigned int i;

	ferry_read_counters(vas, &c);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		seq_printf(m, "%s %llu\n", names[i], v[i]);
	seq_printf(m, "window 0x%lx+0x%lx\n", vas->base, vas->size);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ferry_debugfs_counters);

/**
 * ferry_vaspace_create() - a VA space for the calling (host) process
 * @fdev: the device
 * @device_memory: its capacity in bytes, 0 for the module's default
 *
 * Context: process context, may sleep.
 * Return: the VA space or an ERR_PTR.
 */
struct ferry_vaspace *ferry_vaspace_create(struct ferry_drm_device *fdev, u64 device_memory)
{
	u64 limit = (u64)ferry_device_memory_mb << 20;
	struct ferry_vaspace *vas;
	char name[32];
	int ret;

	vas = kzalloc(sizeof(*vas), GFP_KERNEL);
	if (!vas)
		return ERR_PTR(-ENOMEM);
	kref_init(&vas->ref);
	INIT_WORK(&vas->free_work, ferry_vaspace_free);
	INIT_LIST_HEAD(&vas->fault_pending);
	xa_init(&vas->pt);
	xa_init(&vas->dmap);
	xa_init(&vas->attrs);
	vas->fdev = fdev;
	vas->id = atomic64_inc_return(&fdev->next_id);
	if (vas->id >= FERRY_MAX_VASPACES) {
		pr_debug("no VA space id left\n");
		ret = -ENOSPC;
		goto err_free;
	}
	vas->pgoff = (pgoff_t)(vas->id << (FERRY_VIEW_SHIFT - PAGE_SHIFT));
	vas->capacity_pages = (device_memory && device_memory < limit ? device_memory : limit) >>
			      PAGE_SHIFT;
	vas->block_pages = ferry_policy_block_size_valid((u64)ferry_block_kb << 10) ?
				   (ferry_block_kb << 10) >> PAGE_SHIFT :
				   FERRY_DEFAULT_BLOCK_SIZE >> PAGE_SHIFT;
	vas->prefetch = ferry_prefetch;
	mutex_init(&vas->migrate_lock);
	mutex_init(&vas->lock);
	mutex_init(&vas->fault_mutex);
	spin_lock_init(&vas->fault_pending_lock);
	spin_lock_init(&vas->state_lock);
	init_waitqueue_head(&vas->fence_wait);
	ret = -ENOMEM;
	vas->src = kvmalloc_array(FERRY_REGION_PAGES, sizeof(long), GFP_KERNEL);
	vas->dst = kvmalloc_array(FERRY_REGION_PAGES, sizeof(long), GFP_KERNEL);
	vas->newpages = kvmalloc_array(FERRY_REGION_PAGES, sizeof(struct page *), GFP_KERNEL);
	vas->ins_buf = kvmalloc_array(FERRY_REGION_PAGES, sizeof(void *), GFP_KERNEL);
	vas->ev_src = kvmalloc_array(FERRY_REGION_PAGES, sizeof(long), GFP_KERNEL);
	vas->ev_dst = kvmalloc_array(FERRY_REGION_PAGES, sizeof(long), GFP_KERNEL);
	if (!vas->src || !vas->dst || !vas->newpages || !vas->ins_buf || !vas->ev_src ||
	    !vas->ev_dst)
		goto err_free;
	vas->wq = alloc_ordered_workqueue("ferry-vas%llu", WQ_MEM_RECLAIM, vas->id);
	if (!vas->wq) {
		pr_debug("vas%llu: no workqueue\n", vas->id);
		goto err_free;
	}
	vas->mm = current->mm;
	mmgrab(vas->mm);
	snprintf(name, sizeof(name), "vas%llu", vas->id);
	vas->debugfs = debugfs_create_dir(name, fdev->debugfs);
	debugfs_create_file("counters", 0444, vas->debugfs, vas, &ferry_debugfs_counters_fops);
	return vas;

err_free:
	ferry_vaspace_free(&vas->free_work);
	return ERR_PTR(ret);
}

/**
 * ferry_vaspace_destroy() - tear a VA space down when its file closes
 * @vas: the VA space
 *
 * No device view exists any more (each holds the file). Pending migrations
 * finish, device pages go back to system memory (those of forked children
 * too), and the VA space is freed with its last reference.
 *
 * Context: process context, may sleep.
 */
void ferry_vaspace_destroy(struct ferry_vaspace *vas)
{
	debugfs_remove_recursive(vas->debugfs);
	destroy_workqueue(vas->wq);
	if (vas->registered) {
		mmu_interval_notifier_remove(&vas->notifier);
		ferry_evict_all(vas);
	}
	mmdrop(vas->mm);
	ferry_vaspace_put(vas);
}

/**
 * ferry_drm_open() - a new opener: no VA space until CREATE_VASPACE
 * @dev: the DRM device
 * @file: the new file
 *
 * Context: process context, may sleep.
 * Return: 0 or -ENOMEM.
 */
static int ferry_drm_open(struct drm_device *dev, struct drm_file *file)
{
	struct ferry_file *ff = kzalloc(sizeof(*ff), GFP_KERNEL);

	if (!ff)
		return -ENOMEM;
	mutex_init(&ff->lock);
	file->driver_priv = ff;
	return 0;
}

/**
 * ferry_drm_postclose() - release the VA space of a closing file
 * @dev: the DRM device
 * @file: the file being closed
 *
 * Context: process context, may sleep.
 */
static void ferry_drm_postclose(struct drm_device *dev, struct drm_file *file)
{
	struct ferry_file *ff = file->driver_priv;

	if (ff->vas)
		ferry_vaspace_destroy(ff->vas);
	kfree(ff);
	file->driver_priv = NULL;
}

/**
 * ferry_mmap() - map the device view (see ferry_mirror_mmap())
 * @filp: the render node file carrying the VA space
 * @vma: the new VMA
 *
 * Context: mmap, the caller's mmap_lock held for write.
 * Return: 0 or -EINVAL.
 */
static int ferry_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct ferry_vaspace *vas = ferry_window_of(filp);

	mmap_assert_write_locked(vma->vm_mm);
	if (!vas)
		return -EINVAL;
	return ferry_mirror_mmap(vas, vma);
}

/**
 * ferry_debugfs_memory_show() - /sys/kernel/debug/ferry/memory
 * @m: the seq_file
 * @unused: unused
 *
 * Context: process context (a read of the file).
 * Return: 0.
 */
static int ferry_debugfs_memory_show(struct seq_file *m, void *unused)
{
	u64 total, free;

	ferry_dmem_stats(&total, &free);
	seq_printf(m, "capacity_pages %llu\n", (u64)ferry_device_memory_mb << (20 - PAGE_SHIFT));
	seq_printf(m, "chunk_pages %llu\n", total);
	seq_printf(m, "free_pages %llu\n", free);
	seq_printf(m, "used_pages %llu\n", total - free);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ferry_debugfs_memory);

static const struct file_operations ferry_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = ferry_unlocked_ioctl,
	.compat_ioctl = drm_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.mmap = ferry_mmap,
	.llseek = noop_llseek,
	FERRY_FOP_FLAGS
};

static const struct drm_driver ferry_driver = {
	.driver_features = DRIVER_RENDER,
	.open = ferry_drm_open,
	.postclose = ferry_drm_postclose,
	.fops = &ferry_fops,
	.name = DRIVER_NAME,
	.desc = DRIVER_DESC,
	.date = DRIVER_DATE,
	.major = FERRY_UAPI_VERSION_MAJOR,
	.minor = FERRY_UAPI_VERSION_MINOR,
};

/**
 * ferry_init() - register the platform device and its DRM device
 *
 * Context: module load, process context.
 * Return: 0 or a negative errno; everything registered is unwound on failure.
 */
static int __init ferry_init(void)
{
	struct platform_device *pdev;
	int ret;

	if (!ferry_policy_block_size_valid((u64)ferry_block_kb << 10) || !ferry_device_memory_mb) {
		pr_debug("block_kb=%u device_memory_mb=%u refused\n", ferry_block_kb,
			 ferry_device_memory_mb);
		return -EINVAL;
	}
	ret = ferry_mirror_init();
	if (ret)
		return ret;
	pdev = platform_device_register_simple(DRIVER_NAME, -1, NULL, 0);
	if (IS_ERR(pdev)) {
		ret = PTR_ERR(pdev);
		pr_debug("platform device: %d\n", ret);
		goto err_mirror;
	}
	if (!devres_open_group(&pdev->dev, NULL, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto err_unregister;
	}
	ferry_drm = devm_drm_dev_alloc(&pdev->dev, &ferry_driver, struct ferry_drm_device, drm);
	if (IS_ERR(ferry_drm)) {
		ret = PTR_ERR(ferry_drm);
		pr_debug("DRM device: %d\n", ret);
		goto err_devres;
	}
	ferry_drm->pdev = pdev;
	ferry_drm->debugfs = debugfs_create_dir(DRIVER_NAME, NULL);
	debugfs_create_file("memory", 0444, ferry_drm->debugfs, NULL, &ferry_debugfs_memory_fops);
	ret = ferry_dmem_init(ferry_drm);
	if (ret)
		goto err_debugfs;
	if (!ferry_dmem_available())
		pr_info("CONFIG_DEVICE_PRIVATE is not set: no device memory\n");
	ret = drm_dev_register(&ferry_drm->drm, 0);
	if (ret) {
		pr_debug("registering the DRM device: %d\n", ret);
		goto err_debugfs;
	}
	return 0;

err_debugfs:
	debugfs_remove_recursive(ferry_drm->debugfs);
err_devres:
	devres_release_group(&pdev->dev, NULL);
err_unregister:
	platform_device_unregister(pdev);
err_mirror:
	ferry_mirror_fini();
	return ret;
}

/**
 * ferry_exit() - unregister everything; every file is closed by now
 *
 * Context: module unload, process context.
 */
static void __exit ferry_exit(void)
{
	struct platform_device *pdev = ferry_drm->pdev;

	drm_dev_unregister(&ferry_drm->drm);
	debugfs_remove_recursive(ferry_drm->debugfs);
	ferry_dmem_reap_flush(); /* may drop the last references to VA spaces */
	ferry_mirror_fini(); /* runs the last deferred VA-space frees */
	ferry_dmem_fini();
	devres_release_group(&pdev->dev, NULL);
	platform_device_unregister(pdev);
}

module_init(ferry_init);
module_exit(ferry_exit);

MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("Dual MIT/GPL");
