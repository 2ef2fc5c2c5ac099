/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Every kernel-version difference ferry.ko depends on, in one place (it
 * builds against Debian 12's 6.1 and the 6.12 guest kernel). Features are
 * tested where the headers allow it, versions otherwise.
 */
#ifndef FERRY_COMPAT_H
#define FERRY_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/version.h>

/* 6.12: DRM refuses to open a file whose fops lack FOP_UNSIGNED_OFFSET. */
#ifdef FOP_UNSIGNED_OFFSET
#define FERRY_FOP_FLAGS .fop_flags = FOP_UNSIGNED_OFFSET,
#else
#define FERRY_FOP_FLAGS
#endif

/*
 * Device-private memory needs CONFIG_DEVICE_PRIVATE, which Debian's own
 * kernels leave unset: there the module loads, answers VERSION and reports
 * EOPNOTSUPP for everything that needs device memory.
 */
#define FERRY_HAVE_DEVICE_PRIVATE IS_ENABLED(CONFIG_DEVICE_PRIVATE)

/* 6.3 made vm_flags read-only behind vm_flags_set(). */
static inline void ferry_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* 6.4 added faults under the per-VMA lock; release whichever is held. */
static inline void ferry_release_fault_lock(struct vm_fault *vmf)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	release_fault_lock(vmf);
#else
	mmap_read_unlock(vmf->vma->vm_mm);
#endif
}

/* 6.3 replaced the exported zap_page_range() by zap_page_range_single(). */
static inline void ferry_zap_host(struct vm_area_struct *vma, unsigned long start,
				  unsigned long size)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	zap_page_range_single(vma, start, size, NULL);
#else
	zap_page_range(vma, start, size);
#endif
}

#endif /* FERRY_COMPAT_H */
