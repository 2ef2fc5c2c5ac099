/* SPDX-License-Identifier: MIT */
/*
 * udriver.c - the udriver's interface to ferry-device: setup and teardown,
 * the driver-interface operations that reach the device (udrv_ioctl), and
 * device work's start and end (udrv_busy). The mechanism is in the other
 * files of this directory (internal.h lists them).
 */
#include "common/settings.h"
#include "udriver/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void udrv_busy(struct udrv *u, int delta)
{
	/*
	 * Device work is running: the fault thread polls, and so does the host
	 * agent (zap requests come from device faults then).
	 */
	__atomic_add_fetch(&u->meta->zap_hot, (uint32_t)delta, __ATOMIC_RELEASE);
	/* a launch is where pins that ran out are let go even when nothing faults */
	if (delta > 0 && __atomic_load_n(&u->thrash_pinned, __ATOMIC_RELAXED)) {
		udrv_lock(u);
		udrv_thrash_release(u);
		udrv_unlock(u);
	}
	/* last: once udrv_fini reads busy == 0, no call here touches *u any more */
	__atomic_add_fetch(&u->busy, delta, __ATOMIC_RELEASE);
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
		return udrv_migrate_ioctl(u, &m->u.migrate);
	case FERRY_IOCTL_SET_ATTR:
		return udrv_attrs_ioctl(u, m, true);
	case FERRY_IOCTL_GET_ATTR:
		return udrv_attrs_ioctl(u, m, false);
	case FERRY_IOCTL_CREATE_VASPACE:
	case FERRY_IOCTL_REGISTER_WINDOW:
	case FERRY_IOCTL_MAP_DEVICE_VIEW:
		return -EBUSY; /* done once, by ferry_open */
	default:
		return -ENOTTY;
	}
}

/* ---- setup and teardown ---- */

/*
 * udrv_init acquires, in this order: the remap guard's window (remote.c),
 * the device view and the driver's aliases of both memfds, the device
 * view's userfaultfd (with in-thread faults), the tracking arrays, the
 * migration worker (queue.c) and the fault thread (fault.c). A step either
 * completes or undoes its own part; when one fails, udrv_init releases the
 * steps before it in reverse order and leaves *u zeroed. udrv_fini stops the
 * threads and releases the rest the same way.
 */

static void configure(struct udrv *u, const struct udrv_config *cfg)
{
	memset(u, 0, sizeof(*u));
	u->base = cfg->base;
	u->size = cfg->size;
	u->npages = cfg->size / PG;
	u->nregions = (uint32_t)(cfg->size / FERRY_REGION_SIZE);
	u->sys_fd = cfg->sys_fd;
	u->vram_fd = cfg->vram_fd;
	u->host_uffd = cfg->host_uffd;
	u->dev_uffd = -1;
	u->stop_efd = -1;
	u->pool_fd = -1;
	u->meta = cfg->meta;
	u->state = cfg->meta->state;
	u->block_pages = (uint32_t)(cfg->block_size / PG);
	u->prefetch = cfg->prefetch;
	u->capacity_pages = cfg->device_memory / PG;
	u->spin_us = 50;
	u->agent_min_pages = 1; /* the agent polls while device work runs: always worth it */
	if (getenv("FERRY_AGENT_MIN"))
		u->agent_min_pages = strtoull(getenv("FERRY_AGENT_MIN"), NULL, 0) / PG;
	if (getenv("FERRY_FAULT_SPIN_US"))
		u->spin_us = (uint32_t)strtoul(getenv("FERRY_FAULT_SPIN_US"), NULL, 0);
	u->whole_regions = ferry_whole_regions_enabled();
	u->thrash_cfg.window_ns = FERRY_THRASHING_WINDOW_NS;
	u->thrash_cfg.pin_ns = FERRY_THRASHING_PIN_NS;
	u->thrash_cfg.threshold = FERRY_THRASHING_THRESHOLD;
	if (getenv("FERRY_THRASHING_WINDOW_MS"))
		u->thrash_cfg.window_ns =
			strtoull(getenv("FERRY_THRASHING_WINDOW_MS"), NULL, 0) * 1000000;
	if (getenv("FERRY_THRASHING_PIN_MS"))
		u->thrash_cfg.pin_ns =
			strtoull(getenv("FERRY_THRASHING_PIN_MS"), NULL, 0) * 1000000;
	if (getenv("FERRY_THRASHING_THRESHOLD"))
		u->thrash_cfg.threshold =
			(uint32_t)strtoul(getenv("FERRY_THRASHING_THRESHOLD"), NULL, 0);
	udrv_mutex_init(&u->lock);
	cfg->meta->counters.device_capacity_pages = u->capacity_pages;
}

/* The end of setup or teardown: nothing is left but the zeroed struct. */
static void forget(struct udrv *u)
{
	udrv_mutex_destroy(&u->lock);
	memset(u, 0, sizeof(*u));
}

static uint8_t *map_alias(int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void views_unmap(struct udrv *u)
{
	if (u->vram_alias)
		munmap(u->vram_alias, u->size);
	if (u->sys_alias)
		munmap(u->sys_alias, u->size);
	munmap((void *)u->base, u->size); /* remote mappings included */
	u->vram_alias = u->sys_alias = NULL;
}

/* The device view: vram at the window's address, never anywhere else; the aliases. */
static int views_map(struct udrv *u)
{
	void *view = mmap((void *)u->base, u->size, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, u->vram_fd, 0);

	if (view == MAP_FAILED)
		return -errno;
	if (view != (void *)u->base) {
		munmap(view, u->size);
		return -EEXIST;
	}
	u->sys_alias = map_alias(u->sys_fd, u->size);
	u->vram_alias = map_alias(u->vram_fd, u->size);
	if (!u->sys_alias || !u->vram_alias) {
		views_unmap(u);
		return -ENOMEM;
	}
	if (u->whole_regions) /* 2 MiB pages, mapped whole into the views */
		if (madvise(view, u->size, MADV_HUGEPAGE) ||
		    madvise(u->vram_alias, u->size, MADV_HUGEPAGE) ||
		    madvise(u->sys_alias, u->size, MADV_HUGEPAGE))
			u->whole_regions = false;
	return 0;
}

/* Closing the descriptor unregisters the view. */
static void dev_uffd_close(struct udrv *u)
{
	udrv_inline_faults_remove(u);
	close(u->dev_uffd);
	u->dev_uffd = -1;
}

static int dev_uffd_open(struct udrv *u)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |
			    UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	/* write-protect mode: read-only duplicated pages */
	struct uffdio_register reg = {.range = {.start = u->base, .len = u->size},
				      .mode = VIEW_MODES};
	int err;

	u->dev_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->dev_uffd < 0)
		return -errno;
#if defined(__x86_64__) /* the handler reads the x86 page-fault error code */
	u->inline_faults = !getenv("FERRY_FAULT_INLINE") || atoi(getenv("FERRY_FAULT_INLINE"));
#endif
	if (u->inline_faults)
		api.features |= UFFD_FEATURE_SIGBUS;
	if (ioctl(u->dev_uffd, UFFDIO_API, &api))
		goto fail_errno;
	if (u->inline_faults) {
		err = udrv_inline_faults_install(u);
		if (err)
			goto fail;
	}
	if (ioctl(u->dev_uffd, UFFDIO_REGISTER, &reg))
		goto fail_errno;
	return 0;

fail_errno:
	err = -errno;
fail:
	dev_uffd_close(u);
	return err;
}

static void *map_sparse(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap_sparse(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

static void tracking_free(struct udrv *u)
{
	free(u->evict_lru_nodes);
	free(u->region_dev_pages);
	free(u->region_thrash);
	free(u->region_stale_pages);
	free(u->stale_lru_nodes);
	free(u->dev_whole);
	free(u->host_whole);
	free(u->vram_huge_page);
	unmap_sparse(u->vram_held, u->npages);
	unmap_sparse(u->sys_kept_stale, u->npages);
	unmap_sparse(u->host_unmapped, u->npages);
	unmap_sparse(u->remote_mapped, u->npages);
	unmap_sparse(u->attr_preferred_loc, u->npages);
	unmap_sparse(u->attr_accessed_by, u->npages);
	unmap_sparse(u->attr_read_mostly, u->npages);
}

/* Per-region arrays on the heap, per-page ones sparse (zero pages until written). */
static int tracking_alloc(struct udrv *u)
{
	uint32_t nr = u->nregions;

	u->evict_lru_nodes = calloc(nr, sizeof(*u->evict_lru_nodes));
	u->region_dev_pages = calloc(nr, sizeof(*u->region_dev_pages));
	u->region_thrash = calloc(nr, sizeof(*u->region_thrash));
	u->region_stale_pages = calloc(nr, sizeof(*u->region_stale_pages));
	u->stale_lru_nodes = calloc(nr, sizeof(*u->stale_lru_nodes));
	u->dev_whole = calloc(nr, 1);
	u->host_whole = calloc(nr, 1);
	u->vram_huge_page = calloc(nr, 1);
	u->vram_held = map_sparse(u->npages);
	u->sys_kept_stale = map_sparse(u->npages);
	u->host_unmapped = map_sparse(u->npages);
	u->remote_mapped = map_sparse(u->npages);
	u->attr_preferred_loc = map_sparse(u->npages);
	u->attr_accessed_by = map_sparse(u->npages);
	u->attr_read_mostly = map_sparse(u->npages);
	if (!u->evict_lru_nodes || !u->region_dev_pages || !u->region_thrash ||
	    !u->region_stale_pages || !u->stale_lru_nodes || !u->dev_whole || !u->host_whole ||
	    !u->vram_huge_page || !u->vram_held || !u->sys_kept_stale || !u->host_unmapped ||
	    !u->remote_mapped || !u->attr_preferred_loc || !u->attr_accessed_by ||
	    !u->attr_read_mostly) {
		tracking_free(u);
		return -ENOMEM;
	}
	ferry_lru_init(&u->evict_lru, u->evict_lru_nodes, nr);
	ferry_lru_init(&u->stale_lru, u->stale_lru_nodes, nr);
	return 0;
}

int udrv_init(struct udrv *u, const struct udrv_config *cfg)
{
	int err;

	configure(u, cfg);
	err = udrv_remap_guard_install(u->base, u->size);
	if (err)
		goto fail;
	err = views_map(u);
	if (err)
		goto fail_guard;
	err = dev_uffd_open(u);
	if (err)
		goto fail_views;
	err = tracking_alloc(u);
	if (err)
		goto fail_dev_uffd;
	err = udrv_queue_start(u);
	if (err)
		goto fail_tracking;
	err = udrv_fault_thread_start(u);
	if (err)
		goto fail_queue;
	vram_pool_start(u);
	u->up = true;
	return 0;

fail_queue:
	udrv_queue_stop(u);
fail_tracking:
	tracking_free(u);
fail_dev_uffd:
	dev_uffd_close(u);
fail_views:
	views_unmap(u);
fail_guard:
	udrv_remap_guard_remove();
fail:
	forget(u);
	return err;
}

void udrv_fini(struct udrv *u)
{
	if (!u->up)
		return; /* zeroed, failed to start, or finished */
	u->up = false;
	vram_pool_stop(u);
	udrv_queue_stop(u);
	if (!udrv_fault_thread_stop(u))
		return; /* it still runs: what it uses stays until ferry-device exits */
	/*
	 * Device work still running (a posted launch) resolves its faults in
	 * its own thread and ends with udrv_busy(): the window, the arrays and
	 * the lock stay until ferry-device exits, which it does right after.
	 */
	if (__atomic_load_n(&u->busy, __ATOMIC_ACQUIRE) > 0)
		return;
	tracking_free(u);
	dev_uffd_close(u);
	views_unmap(u);
	udrv_remap_guard_remove();
	forget(u);
}
