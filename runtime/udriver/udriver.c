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
#include <sys/eventfd.h>
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
	__atomic_add_fetch(&u->busy, delta, __ATOMIC_RELAXED);
	__atomic_add_fetch(&u->meta->zap_hot, (uint32_t)delta, __ATOMIC_RELEASE);
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

static void *map_sparse(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int udrv_init(struct udrv *u, uint64_t base, uint64_t size, uint64_t device_memory,
	      uint64_t block_size, int prefetch, int sys_fd, int vram_fd, int host_uffd,
	      struct ferry_meta *meta)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |
			    UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	struct uffdio_register reg;
	void *view;
	int err;

	memset(u, 0, sizeof(*u));
	u->base = base;
	u->size = size;
	u->npages = size / PG;
	u->nregions = (uint32_t)(size / FERRY_REGION_SIZE);
	u->sys_fd = sys_fd;
	u->vram_fd = vram_fd;
	u->host_uffd = host_uffd;
	u->meta = meta;
	u->state = meta->state;
	u->block_pages = (uint32_t)(block_size / PG);
	u->prefetch = prefetch;
	u->capacity_pages = device_memory / PG;
	u->spin_us = 50;
	u->agent_min_pages = 1; /* the agent polls while device work runs: always worth it */
	if (getenv("FERRY_AGENT_MIN"))
		u->agent_min_pages = strtoull(getenv("FERRY_AGENT_MIN"), NULL, 0) / PG;
	if (getenv("FERRY_FAULT_SPIN_US"))
		u->spin_us = (uint32_t)strtoul(getenv("FERRY_FAULT_SPIN_US"), NULL, 0);
	u->whole_regions = ferry_whole_regions_enabled();
	meta->counters.device_capacity_pages = u->capacity_pages;

	err = udrv_remap_guard_install(base, size);
	if (err)
		return err;
	/* The device view: vram at the window's address, never anywhere else. */
	view = mmap((void *)base, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, vram_fd, 0);
	if (view == MAP_FAILED)
		return -errno;
	if (view != (void *)base) {
		munmap(view, size);
		return -EEXIST;
	}
	u->sys_alias =
		mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, sys_fd, 0);
	u->vram_alias =
		mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vram_fd, 0);
	if (u->sys_alias == MAP_FAILED || u->vram_alias == MAP_FAILED)
		return -ENOMEM;
	if (u->whole_regions) /* 2 MiB pages, mapped whole into the views */
		if (madvise(view, size, MADV_HUGEPAGE) ||
		    madvise(u->vram_alias, size, MADV_HUGEPAGE) ||
		    madvise(u->sys_alias, size, MADV_HUGEPAGE))
			u->whole_regions = false;

	u->dev_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->dev_uffd < 0)
		return -errno;
#if defined(__x86_64__) /* the handler reads the x86 page-fault error code */
	u->inline_faults = !getenv("FERRY_FAULT_INLINE") || atoi(getenv("FERRY_FAULT_INLINE"));
#endif
	if (u->inline_faults)
		api.features |= UFFD_FEATURE_SIGBUS;
	if (ioctl(u->dev_uffd, UFFDIO_API, &api))
		return -errno;
	if (u->inline_faults) {
		err = udrv_inline_faults_install(u);
		if (err)
			return err;
	}
	/* write-protect mode: read-only duplicated pages */
	reg = (struct uffdio_register){.range = {.start = base, .len = size}, .mode = VIEW_MODES};
	if (ioctl(u->dev_uffd, UFFDIO_REGISTER, &reg))
		return -errno;

	u->evict_lru_nodes = calloc(u->nregions, sizeof(*u->evict_lru_nodes));
	u->region_dev_pages = calloc(u->nregions, sizeof(uint32_t));
	u->region_evicted_ns = calloc(u->nregions, sizeof(uint64_t));
	u->dev_whole = calloc(u->nregions, 1);
	u->host_whole = calloc(u->nregions, 1);
	u->vram_huge_page = calloc(u->nregions, 1);
	u->vram_held = map_sparse(u->npages);
	u->remote_mapped = map_sparse(u->npages);
	u->sys_kept_stale = map_sparse(u->npages);
	u->host_unmapped = map_sparse(u->npages);
	u->region_stale_pages = calloc(u->nregions, sizeof(uint32_t));
	u->stale_lru_nodes = calloc(u->nregions, sizeof(*u->stale_lru_nodes));
	if (!u->vram_held || !u->remote_mapped || !u->sys_kept_stale || !u->host_unmapped ||
	    !u->region_stale_pages || !u->stale_lru_nodes)
		return -ENOMEM;
	ferry_lru_init(&u->stale_lru, u->stale_lru_nodes, u->nregions);
	u->attr_preferred_loc = map_sparse(u->npages);
	u->attr_accessed_by = map_sparse(u->npages);
	u->attr_read_mostly = map_sparse(u->npages);
	if (!u->evict_lru_nodes || !u->region_dev_pages || !u->region_evicted_ns || !u->dev_whole ||
	    !u->host_whole || !u->vram_huge_page || !u->attr_preferred_loc ||
	    !u->attr_accessed_by || !u->attr_read_mostly)
		return -ENOMEM;
	ferry_lru_init(&u->evict_lru, u->evict_lru_nodes, u->nregions);

	pthread_mutex_init(&u->lock, NULL);
	pthread_mutex_init(&u->qlock, NULL);
	pthread_cond_init(&u->qcond, NULL);
	pthread_cond_init(&u->qdone, NULL);
	u->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (u->stop_efd < 0)
		return -errno;
	err = pthread_create(&u->worker, NULL, udrv_worker_main, u);
	if (err)
		return -err;
	err = pthread_create(&u->fault_thread, NULL, udrv_fault_main, u);
	if (err)
		return -err;
	return 0;
}

void udrv_fini(struct udrv *u)
{
	uint64_t one = 1;

	pthread_mutex_lock(&u->qlock);
	u->stopping = true;
	pthread_cond_broadcast(&u->qcond);
	pthread_mutex_unlock(&u->qlock);
	pthread_join(u->worker, NULL);
	if (write(u->stop_efd, &one, sizeof(one)) != sizeof(one))
		return;
	pthread_join(u->fault_thread, NULL);
}
