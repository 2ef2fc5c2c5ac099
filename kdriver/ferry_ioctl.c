// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The driver interface of include/ferry/ferry_uapi.h: the 'F' ioctls of the
 * render node, with their argument checks. The work is done elsewhere:
 * ferry_migrate.c (MIGRATE, RESIDENCY), ferry_mirror.c (what advice changes
 * in the device view), ferry_drv.c (a VA space's life). Every range must be
 * page aligned with a nonzero size (EINVAL) and lie inside the window
 * (ERANGE), as the user-space driver's ferry_check_range() wants it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include <drm/drm_file.h>
#include <drm/drm_ioctl.h>

#include "ferry_drv.h"

/**
 * ferry_vas_of() - the VA space of a render node file
 * @filp: the file
 *
 * Context: any (a file of the caller's).
 * Return: the VA space, or NULL before CREATE_VASPACE.
 */
static struct ferry_vaspace *ferry_vas_of(struct file *filp)
{
	struct drm_file *file = filp->private_data;
	struct ferry_file *ff = file->driver_priv;

	/* pairs with smp_store_release() in ferry_ioctl_create_vaspace() */
	return smp_load_acquire(&ff->vas);
}

/**
 * ferry_check_range_args() - is [start, start + size) a valid range of
 * @vas's window?
 * @vas: the VA space, window registered
 * @start: first address, from user space
 * @size: size in bytes, from user space
 *
 * Context: any.
 * Return: 0, -EINVAL (unaligned or empty) or -ERANGE (outside the window).
 */
static int ferry_check_range_args(struct ferry_vaspace *vas, u64 start, u64 size)
{
	if (!size || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(size))
		return -EINVAL;
	if (start < vas->base || size > vas->size || start - vas->base > vas->size - size)
		return -ERANGE;
	return 0;
}

/**
 * ferry_window_of() - the VA space of a render node file, with its window
 * @filp: the file
 *
 * Context: any (a file of the caller's).
 * Return: the VA space, or NULL when it has no registered window (yet).
 */
struct ferry_vaspace *ferry_window_of(struct file *filp)
{
	struct ferry_vaspace *vas = ferry_vas_of(filp);

	/* pairs with smp_store_release() in ferry_ioctl_register_window() */
	return vas && smp_load_acquire(&vas->registered) ? vas : NULL;
}

/**
 * ferry_ioctl_version() - FERRY_IOCTL_VERSION
 * @arg: user pointer to struct ferry_version
 *
 * Context: process context, may sleep (user copies).
 * Return: 0, -EFAULT or -EINVAL (nonzero reserved fields).
 */
static long ferry_ioctl_version(void __user *arg)
{
	struct ferry_version v;

	if (copy_from_user(&v, arg, sizeof(v)))
		return -EFAULT;
	if (v.reserved || v.reserved2)
		return -EINVAL;
	v.major = FERRY_UAPI_VERSION_MAJOR;
	v.minor = FERRY_UAPI_VERSION_MINOR;
	v.backend = FERRY_BACKEND_KERNEL;
	v.features = ferry_dmem_available() ?
			     FERRY_FEATURE_PREFETCHER | FERRY_FEATURE_EVICTION |
				     FERRY_FEATURE_ASYNC_MIGRATE | FERRY_FEATURE_READ_MOSTLY :
			     0;
	if (copy_to_user(arg, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

/**
 * ferry_ioctl_create_vaspace() - FERRY_IOCTL_CREATE_VASPACE
 * @filp: the file
 * @arg: user pointer to struct ferry_create_vaspace
 *
 * Context: process context, may sleep.
 * Return: 0, -EFAULT, -EINVAL, -EBUSY (already one), -EOPNOTSUPP (no
 * device-private memory in this kernel), -ENOMEM or -ENOSPC.
 */
static long ferry_ioctl_create_vaspace(struct file *filp, void __user *arg)
{
	struct drm_file *file = filp->private_data;
	struct drm_device *drm = file->minor->dev;
	struct ferry_file *ff = file->driver_priv;
	struct ferry_create_vaspace c;
	struct ferry_vaspace *vas;
	long ret = 0;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (c.flags || c.reserved)
		return -EINVAL;
	if (c.device_memory & (FERRY_PAGE_SIZE - 1))
		return -EINVAL;
	if (!ferry_dmem_available())
		return -EOPNOTSUPP;
	if (!current->mm)
		return -EINVAL;

	mutex_lock(&ff->lock);
	if (ff->vas) {
		ret = -EBUSY;
		goto out;
	}
	vas = ferry_vaspace_create(container_of(drm, struct ferry_drm_device, drm),
				   c.device_memory);
	if (IS_ERR(vas)) {
		ret = PTR_ERR(vas);
		goto out;
	}
	c.id = vas->id;
	if (copy_to_user(arg, &c, sizeof(c))) {
		ferry_vaspace_destroy(vas);
		ret = -EFAULT;
		goto out;
	}
	/* publish the initialised VA space; pairs with ferry_vas_of() */
	smp_store_release(&ff->vas, vas);
out:
	mutex_unlock(&ff->lock);
	return ret;
}

/**
 * ferry_ioctl_register_window() - FERRY_IOCTL_REGISTER_WINDOW
 * @filp: the file
 * @arg: user pointer to struct ferry_register_window
 *
 * Context: process context, may sleep.
 * Return: 0, -EFAULT, -EINVAL (no VA space, not the host process, bad
 * alignment or size), -EBUSY (already registered) or -ENOMEM.
 */
static long ferry_ioctl_register_window(struct file *filp, void __user *arg)
{
	struct ferry_file *ff = ((struct drm_file *)filp->private_data)->driver_priv;
	struct ferry_vaspace *vas = ferry_vas_of(filp);
	struct ferry_register_window w;
	unsigned long nregions;
	long ret;

	if (copy_from_user(&w, arg, sizeof(w)))
		return -EFAULT;
	if (w.flags || w.reserved)
		return -EINVAL;
	if (!vas || current->mm != vas->mm) {
		pr_debug("REGISTER_WINDOW: %s\n",
			 vas ? "not from the host process" : "no VA space");
		return -EINVAL;
	}
	if (!w.size || w.size % FERRY_REGION_SIZE || w.base % FERRY_REGION_SIZE ||
	    w.size > FERRY_MAX_WINDOW || w.base > TASK_SIZE || w.size > TASK_SIZE - w.base) {
		pr_debug("vas%llu: window %#llx+%#llx: not 2 MiB aligned, empty or too large\n",
			 vas->id, w.base, w.size);
		return -EINVAL;
	}

	mutex_lock(&ff->lock);
	ret = -EBUSY;
	if (vas->registered)
		goto out;
	nregions = w.size / FERRY_REGION_SIZE;
	ret = -ENOMEM;
	vas->region_pages = kvcalloc(nregions, sizeof(*vas->region_pages), GFP_KERNEL);
	vas->region_thrash = kvcalloc(nregions, sizeof(*vas->region_thrash), GFP_KERNEL);
	vas->lru_nodes = kvcalloc(nregions, sizeof(*vas->lru_nodes), GFP_KERNEL);
	if (!vas->region_pages || !vas->region_thrash || !vas->lru_nodes)
		goto err_arrays;
	ferry_lru_init(&vas->lru, vas->lru_nodes, nregions);
	vas->base = w.base;
	vas->size = w.size;
	ret = mmu_interval_notifier_insert(&vas->notifier, vas->mm, w.base, w.size,
					   &ferry_mirror_ops);
	if (ret) {
		pr_debug("vas%llu: interval notifier: %ld\n", vas->id, ret);
		goto err_arrays;
	}
	/* publish base, size and arrays; pairs with ferry_window_of() */
	smp_store_release(&vas->registered, true);
	mutex_unlock(&ff->lock);
	return 0;

err_arrays:
	kvfree(vas->region_pages);
	kvfree(vas->region_thrash);
	kvfree(vas->lru_nodes);
	vas->region_pages = NULL;
	vas->region_thrash = NULL;
	vas->lru_nodes = NULL;
out:
	mutex_unlock(&ff->lock);
	return ret;
}

struct ferry_async {
	struct work_struct work;
	struct ferry_vaspace *vas;
	u64 start, end, fence;
	u32 target, flags;
};

/**
 * ferry_async_work() - run an asynchronous migration and signal its fence
 * @work: the work of a struct ferry_async
 *
 * Context: process context: the VA space's ordered workqueue, so fences
 * complete in issue order.
 */
static void ferry_async_work(struct work_struct *work)
{
	struct ferry_async *a = container_of(work, struct ferry_async, work);
	struct ferry_vaspace *vas = a->vas;
	int status = ferry_migrate_range(vas, a->start, a->end, a->target, a->flags);

	if (status)
		pr_debug("vas%llu: asynchronous MIGRATE (fence %llu): %d\n", vas->id, a->fence,
			 status);
	spin_lock(&vas->fence_wait.lock);
	/* queued in fence order under this lock, run in queue order */
	WARN_ON_ONCE(a->fence != vas->fence_done + 1);
	if (status) {
		vas->fence_err[a->fence % ARRAY_SIZE(vas->fence_err)].fence = a->fence;
		vas->fence_err[a->fence % ARRAY_SIZE(vas->fence_err)].status = status;
	}
	vas->fence_done = a->fence;
	wake_up_all_locked(&vas->fence_wait);
	spin_unlock(&vas->fence_wait.lock);
	ferry_vaspace_put(vas);
	kfree(a);
}

/**
 * ferry_ioctl_migrate() - FERRY_IOCTL_MIGRATE
 * @filp: the file
 * @arg: user pointer to struct ferry_migrate
 *
 * Synchronous migrations wait for the asynchronous ones issued before them.
 *
 * Context: process context, may sleep.
 * Return: 0 or the errors of ferry_migrate_range(); -EINVAL and -ERANGE for
 * bad arguments; -EFAULT for an argument that cannot be read, or for an
 * asynchronous one that cannot be written (nothing is queued then).
 */
static long ferry_ioctl_migrate(struct file *filp, void __user *arg)
{
	struct ferry_vaspace *vas = ferry_window_of(filp);
	struct ferry_migrate m;
	struct ferry_async *a;
	long ret;

	if (copy_from_user(&m, arg, sizeof(m)))
		return -EFAULT;
	if (m.reserved || m.flags & ~FERRY_MIGRATE_FLAGS)
		return -EINVAL;
	if (m.target != FERRY_LOC_HOST && m.target != FERRY_LOC_DEVICE)
		return -EINVAL;
	if (!vas)
		return -EINVAL;
	ret = ferry_check_range_args(vas, m.start, m.size);
	if (ret)
		return ret;

	if (!(m.flags & FERRY_MIGRATE_ASYNC)) {
		flush_workqueue(vas->wq);
		return ferry_migrate_range(vas, m.start, m.start + m.size, m.target, m.flags);
	}
	/* the fence must reach the caller: refuse an unwritable argument before queuing */
	if (put_user(0ULL, &((struct ferry_migrate __user *)arg)->fence))
		return -EFAULT;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	INIT_WORK(&a->work, ferry_async_work);
	kref_get(&vas->ref);
	a->vas = vas;
	a->start = m.start;
	a->end = m.start + m.size;
	a->target = m.target;
	a->flags = m.flags & ~FERRY_MIGRATE_ASYNC;
	spin_lock(&vas->fence_wait.lock);
	a->fence = ++vas->fence_issued;
	queue_work(vas->wq, &a->work); /* in issue order */
	spin_unlock(&vas->fence_wait.lock);
	m.fence = a->fence;
	if (copy_to_user(arg, &m, sizeof(m)))
		return -EFAULT;
	return 0;
}

/**
 * ferry_ioctl_wait() - FERRY_IOCTL_WAIT
 * @filp: the file
 * @arg: user pointer to struct ferry_wait
 *
 * Context: process context, sleeps (interruptibly).
 * Return: 0 (the migration's own result in @status), -EINVAL (unknown
 * fence), -ETIMEDOUT, -EINTR or -EFAULT.
 */
static long ferry_ioctl_wait(struct file *filp, void __user *arg)
{
	struct ferry_vaspace *vas = ferry_window_of(filp);
	struct ferry_wait w;
	long left;
	int i;

	if (copy_from_user(&w, arg, sizeof(w)))
		return -EFAULT;
	if (w.reserved)
		return -EINVAL;
	if (!vas || !w.fence || w.fence > READ_ONCE(vas->fence_issued))
		return -EINVAL;

	left = wait_event_interruptible_timeout(vas->fence_wait,
						READ_ONCE(vas->fence_done) >= w.fence,
						w.timeout_ns ? nsecs_to_jiffies(w.timeout_ns) + 1 :
							       MAX_SCHEDULE_TIMEOUT);
	if (left < 0)
		return -EINTR;
	if (!left)
		return -ETIMEDOUT;
	i = w.fence % ARRAY_SIZE(vas->fence_err);
	spin_lock(&vas->fence_wait.lock);
	w.status = vas->fence_err[i].fence == w.fence ? vas->fence_err[i].status : 0;
	spin_unlock(&vas->fence_wait.lock);
	if (copy_to_user(arg, &w, sizeof(w)))
		return -EFAULT;
	return 0;
}

/**
 * ferry_check_attr() - one attribute's value checked against its type
 * @a: the attribute, from user space
 * @set: for SET_ATTR (GET_ATTR checks only the type)
 *
 * Context: any.
 * Return: 0 or -EINVAL.
 */
static int ferry_check_attr(const struct ferry_attr *a, bool set)
{
	if (a->reserved)
		return -EINVAL;
	switch (a->type) {
	case FERRY_ATTR_PREFERRED_LOC:
		return set && a->value > FERRY_LOC_DEVICE ? -EINVAL : 0;
	case FERRY_ATTR_ACCESSED_BY:
		return set && a->value & ~(u64)(BIT(FERRY_LOC_HOST) | BIT(FERRY_LOC_DEVICE)) ?
			       -EINVAL :
			       0;
	case FERRY_ATTR_READ_MOSTLY:
	case FERRY_ATTR_PREFETCH:
		return set && a->value > 1 ? -EINVAL : 0;
	case FERRY_ATTR_BLOCK_SIZE:
		return set && !ferry_policy_block_size_valid(a->value) ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/**
 * ferry_attr_bits() - the per-page bits of an attribute's value
 * @type: FERRY_ATTR_PREFERRED_LOC, _ACCESSED_BY or _READ_MOSTLY
 * @value: a value ferry_check_attr() accepted
 * @mask: out: the FERRY_PA_* bits the attribute owns
 *
 * Context: any.
 * Return: the FERRY_PA_* bits for @value.
 */
static u8 ferry_attr_bits(u32 type, u64 value, u8 *mask)
{
	switch (type) {
	case FERRY_ATTR_PREFERRED_LOC:
		*mask = FERRY_PA_PREF_HOST | FERRY_PA_PREF_DEVICE;
		return value == FERRY_LOC_HOST ? FERRY_PA_PREF_HOST :
		       value == FERRY_LOC_DEVICE ? FERRY_PA_PREF_DEVICE :
						   0;
	case FERRY_ATTR_ACCESSED_BY:
		*mask = FERRY_PA_ACCESSED_BY_HOST | FERRY_PA_ACCESSED_BY_DEVICE;
		return (value & BIT(FERRY_LOC_HOST) ? FERRY_PA_ACCESSED_BY_HOST : 0) |
		       (value & BIT(FERRY_LOC_DEVICE) ? FERRY_PA_ACCESSED_BY_DEVICE : 0);
	case FERRY_ATTR_READ_MOSTLY:
		*mask = FERRY_PA_READ_MOSTLY;
		return value ? FERRY_PA_READ_MOSTLY : 0;
	default:
		*mask = 0;
		return 0;
	}
}

/**
 * ferry_attr_value() - the value of an attribute from one page's bits
 * @type: FERRY_ATTR_PREFERRED_LOC, _ACCESSED_BY or _READ_MOSTLY
 * @bits: the page's FERRY_PA_* bits
 *
 * Context: any.
 * Return: the value, as GET_ATTR reports it.
 */
static u64 ferry_attr_value(u32 type, u8 bits)
{
	switch (type) {
	case FERRY_ATTR_PREFERRED_LOC:
		return bits & FERRY_PA_PREF_HOST ? FERRY_LOC_HOST :
		       bits & FERRY_PA_PREF_DEVICE ? FERRY_LOC_DEVICE :
						     FERRY_LOC_NONE;
	case FERRY_ATTR_ACCESSED_BY:
		return (bits & FERRY_PA_ACCESSED_BY_HOST ? BIT(FERRY_LOC_HOST) : 0) |
		       (bits & FERRY_PA_ACCESSED_BY_DEVICE ? BIT(FERRY_LOC_DEVICE) : 0);
	default:
		return !!(bits & FERRY_PA_READ_MOSTLY);
	}
}

/**
 * ferry_set_page_attr() - apply one per-page attribute to [start, end)
 * @vas: the VA space
 * @start: first address, checked
 * @end: end address
 * @at: the attribute, checked
 *
 * Context: process context, vas->migrate_lock held (it serialises writers
 * of vas->attrs; readers go without it).
 * Return: 0 or -ENOMEM (the pages before the failing one have it).
 */
static int ferry_set_page_attr(struct ferry_vaspace *vas, u64 start, u64 end,
			       const struct ferry_attr *at)
{
	u8 mask, bits = ferry_attr_bits(at->type, at->value, &mask);
	u64 addr;

	lockdep_assert_held(&vas->migrate_lock);
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		unsigned long r = ferry_region_index(vas, addr);
		u8 *a = xa_load(&vas->attrs, r);

		if (!a) {
			if (!bits)
				continue; /* unset stays unset */
			a = kzalloc(FERRY_REGION_PAGES, GFP_KERNEL);
			if (!a)
				return -ENOMEM;
			if (xa_err(xa_store(&vas->attrs, r, a, GFP_KERNEL))) {
				kfree(a);
				return -ENOMEM;
			}
		}
		a += ((addr - vas->base) % FERRY_REGION_SIZE) >> PAGE_SHIFT;
		WRITE_ONCE(*a, (*a & ~mask) | bits);
	}
	return 0;
}

/**
 * ferry_ioctl_attr() - FERRY_IOCTL_SET_ATTR and FERRY_IOCTL_GET_ATTR
 * @filp: the file
 * @arg: user pointer to struct ferry_attrs
 * @set: SET_ATTR
 *
 * Context: process context, may sleep.
 * Return: 0, -EFAULT, -EINVAL, -ERANGE or -ENOMEM.
 */
static long ferry_ioctl_attr(struct file *filp, void __user *arg, bool set)
{
	struct ferry_vaspace *vas = ferry_window_of(filp);
	struct ferry_attr at[FERRY_MAX_ATTRS];
	struct ferry_attrs h;
	unsigned int i;
	long ret;

	if (copy_from_user(&h, arg, sizeof(h)))
		return -EFAULT;
	if (h.reserved || !h.nattrs || h.nattrs > FERRY_MAX_ATTRS)
		return -EINVAL;
	if (!vas)
		return -EINVAL;
	ret = ferry_check_range_args(vas, h.start, h.size);
	if (ret)
		return ret;
	if (copy_from_user(at, u64_to_user_ptr(h.attrs), h.nattrs * sizeof(at[0])))
		return -EFAULT;
	for (i = 0; i < h.nattrs; i++)
		if (ferry_check_attr(&at[i], set))
			return -EINVAL;

	mutex_lock(&vas->migrate_lock);
	for (i = 0; i < h.nattrs && !ret; i++) {
		u64 addr, v = 0;

		if (at[i].type == FERRY_ATTR_BLOCK_SIZE) {
			if (set)
				vas->block_pages = at[i].value >> PAGE_SHIFT;
			at[i].value = (u64)vas->block_pages << PAGE_SHIFT;
		} else if (at[i].type == FERRY_ATTR_PREFETCH) {
			if (set)
				vas->prefetch = at[i].value;
			at[i].value = vas->prefetch;
		} else if (set) {
			ret = ferry_set_page_attr(vas, h.start, h.start + h.size, &at[i]);
			/* the device view follows the new advice from its next touch */
			ferry_mirror_forget(vas, h.start, h.start + h.size);
		} else {
			for (addr = h.start; addr < h.start + h.size; addr += PAGE_SIZE) {
				u64 pv = ferry_attr_value(at[i].type, ferry_page_attr(vas, addr));

				if (addr != h.start && pv != v) {
					v = FERRY_ATTR_MIXED;
					break;
				}
				v = pv;
			}
			at[i].value = v;
		}
	}
	mutex_unlock(&vas->migrate_lock);
	if (!ret && !set && copy_to_user(u64_to_user_ptr(h.attrs), at, h.nattrs * sizeof(at[0])))
		return -EFAULT;
	return ret;
}

/**
 * ferry_ioctl_residency() - FERRY_IOCTL_RESIDENCY
 * @filp: the file
 * @arg: user pointer to struct ferry_residency_query
 *
 * Context: process context, may sleep.
 * Return: 0, -EFAULT, -EINVAL, -ERANGE, -ENOMEM or -ESRCH.
 */
static long ferry_ioctl_residency(struct file *filp, void __user *arg)
{
	struct ferry_vaspace *vas = ferry_window_of(filp);
	struct ferry_residency_query q;
	long ret;

	if (copy_from_user(&q, arg, sizeof(q)))
		return -EFAULT;
	if (q.reserved)
		return -EINVAL;
	if (!vas)
		return -EINVAL;
	ret = ferry_check_range_args(vas, q.start, q.size);
	if (ret)
		return ret;
	memset(q.count, 0, sizeof(q.count));
	ret = ferry_residency_snapshot(vas, q.start, q.start + q.size, u64_to_user_ptr(q.out),
				       q.count);
	if (!ret && copy_to_user(arg, &q, sizeof(q)))
		return -EFAULT;
	return ret;
}

/**
 * ferry_read_counters() - a VA space's counters, as COUNTERS reports them
 * @vas: the VA space
 * @c: out: the counters
 *
 * Context: any; reaps freed device pages first, takes vas->state_lock.
 */
void ferry_read_counters(struct ferry_vaspace *vas, struct ferry_counters *c)
{
	u64 *v = (u64 *)c;
	unsigned int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < FERRY_NR_COUNTERS; i++)
		v[i] = atomic64_read(&vas->ctr[i]);
	ferry_dmem_reap(); /* pages freed by now do not count */
	spin_lock(&vas->state_lock);
	c->device_resident_pages = vas->resident_pages;
	c->device_peak_pages = vas->peak_pages;
	spin_unlock(&vas->state_lock);
	c->device_cached_pages = c->device_resident_pages;
	c->device_capacity_pages = vas->capacity_pages;
	memset(c->reserved, 0, sizeof(c->reserved));
}

/**
 * ferry_ioctl_counters() - FERRY_IOCTL_COUNTERS
 * @filp: the file
 * @arg: user pointer to struct ferry_counters
 *
 * Context: process context, may sleep.
 * Return: 0, -EFAULT or -EINVAL (no VA space).
 */
static long ferry_ioctl_counters(struct file *filp, void __user *arg)
{
	struct ferry_vaspace *vas = ferry_vas_of(filp);
	struct ferry_counters c;

	if (!vas)
		return -EINVAL;
	ferry_read_counters(vas, &c);
	return copy_to_user(arg, &c, sizeof(c)) ? -EFAULT : 0;
}

/**
 * ferry_ioctl_map_device_view() - FERRY_IOCTL_MAP_DEVICE_VIEW
 * @filp: the file (the host's, inherited or passed to the device process)
 * @arg: user pointer to struct ferry_map_device_view
 *
 * Context: process context, may sleep.
 * Return: 0 with the mmap offset, -EFAULT, -EINVAL (reserved fields, the
 * host process itself, not the window) or -ENOENT (no such VA space
 * through this file).
 */
static long ferry_ioctl_map_device_view(struct file *filp, void __user *arg)
{
	struct ferry_vaspace *vas = ferry_window_of(filp);
	struct ferry_map_device_view m;

	if (copy_from_user(&m, arg, sizeof(m)))
		return -EFAULT;
	if (m.reserved)
		return -EINVAL;
	if (!vas || m.vaspace != vas->id)
		return -ENOENT;
	if (m.base != vas->base || m.size != vas->size) {
		pr_debug("vas%llu: MAP_DEVICE_VIEW of %#llx+%#llx, not the window\n", vas->id,
			 m.base, m.size);
		return -EINVAL;
	}
	if (current->mm == vas->mm) {
		pr_debug("vas%llu: MAP_DEVICE_VIEW from the host process\n", vas->id);
		return -EINVAL;
	}
	m.offset = (u64)vas->pgoff << PAGE_SHIFT;
	return copy_to_user(arg, &m, sizeof(m)) ? -EFAULT : 0;
}

/* The commands' names, for pr_debug(). */
static const char *const ferry_ioctl_names[] = {
	[_IOC_NR(FERRY_IOCTL_VERSION)] = "VERSION",
	[_IOC_NR(FERRY_IOCTL_CREATE_VASPACE)] = "CREATE_VASPACE",
	[_IOC_NR(FERRY_IOCTL_REGISTER_WINDOW)] = "REGISTER_WINDOW",
	[_IOC_NR(FERRY_IOCTL_MIGRATE)] = "MIGRATE",
	[_IOC_NR(FERRY_IOCTL_WAIT)] = "WAIT",
	[_IOC_NR(FERRY_IOCTL_SET_ATTR)] = "SET_ATTR",
	[_IOC_NR(FERRY_IOCTL_GET_ATTR)] = "GET_ATTR",
	[_IOC_NR(FERRY_IOCTL_RESIDENCY)] = "RESIDENCY",
	[_IOC_NR(FERRY_IOCTL_COUNTERS)] = "COUNTERS",
	[_IOC_NR(FERRY_IOCTL_MAP_DEVICE_VIEW)] = "MAP_DEVICE_VIEW",
};

/**
 * ferry_unlocked_ioctl() - the driver interface, then DRM's ioctls
 * @filp: the render node file
 * @cmd: the ioctl number
 * @arg: its argument
 *
 * Context: process context, may sleep.
 * Return: the command's result; -ENOTTY for an unknown 'F' command.
 */
long ferry_unlocked_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	void __user *p = (void __user *)arg;
	long ret;

	if (_IOC_TYPE(cmd) != FERRY_IOCTL_BASE)
		return drm_ioctl(filp, cmd, arg);
	switch (cmd) {
	case FERRY_IOCTL_VERSION:
		ret = ferry_ioctl_version(p);
		break;
	case FERRY_IOCTL_CREATE_VASPACE:
		ret = ferry_ioctl_create_vaspace(filp, p);
		break;
	case FERRY_IOCTL_REGISTER_WINDOW:
		ret = ferry_ioctl_register_window(filp, p);
		break;
	case FERRY_IOCTL_MIGRATE:
		ret = ferry_ioctl_migrate(filp, p);
		break;
	case FERRY_IOCTL_WAIT:
		ret = ferry_ioctl_wait(filp, p);
		break;
	case FERRY_IOCTL_SET_ATTR:
		ret = ferry_ioctl_attr(filp, p, true);
		break;
	case FERRY_IOCTL_GET_ATTR:
		ret = ferry_ioctl_attr(filp, p, false);
		break;
	case FERRY_IOCTL_RESIDENCY:
		ret = ferry_ioctl_residency(filp, p);
		break;
	case FERRY_IOCTL_COUNTERS:
		ret = ferry_ioctl_counters(filp, p);
		break;
	case FERRY_IOCTL_MAP_DEVICE_VIEW:
		ret = ferry_ioctl_map_device_view(filp, p);
		break;
	default:
		pr_debug("pid %d: unknown ioctl %#x\n", task_pid_nr(current), cmd);
		return -ENOTTY;
	}
	if (ret)
		pr_debug("pid %d: %s: %ld\n", task_pid_nr(current),
			 ferry_ioctl_names[_IOC_NR(cmd)], ret);
	return ret;
}
