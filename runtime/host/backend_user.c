/* SPDX-License-Identifier: MIT */
/*
 * backend_user.c - the host side of the user backend: the window is a
 * shared mapping of the sysmem memfd, registered with this process's
 * userfaultfd, whose faults the udriver inside ferry-device resolves. The
 * driver interface's commands travel to it over the socket, except the
 * read-only queries (residency, counters, fence completion), which read the
 * shared metadata. When ferry-device dies, this side recovers the window.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/futex.h"
#include "common/settings.h"
#include "host/host.h"

#define PG FERRY_PAGE_SIZE

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

static int new_uffd(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |
			    UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
		if (fd < 0) {
			fprintf(stderr,
				"ferry: userfaultfd is not permitted for this process. Run as "
				"root, "
				"or `sysctl vm.unprivileged_userfaultfd=1`, or grant read/write "
				"access to /dev/userfaultfd.\n");
			return -EPERM;
		}
	}
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int e = errno;

		close(fd);
		fprintf(stderr,
			"ferry: this kernel's userfaultfd lacks shmem minor/write-protect "
			"faults (Linux >= 5.19 needed): %s\n",
			strerror(e));
		return -ENOTSUP;
	}
	return fd;
}

/* The userfaultfd, the two memfds (sysmem, vram) and this process's aliases of them. */
static int user_open(struct ferry_ctx *ctx)
{
	int r = new_uffd();

	if (r < 0)
		return r;
	ctx->uffd = r;
	ctx->sys_fd = r = ferry_new_memfd("ferry-sysmem", ctx->size);
	if (r < 0)
		return r;
	ctx->vram_fd = r = ferry_new_memfd("ferry-vram", ctx->size);
	if (r < 0)
		return r;
	ctx->sys_alias = ferry_map_shared(ctx->sys_fd, ctx->size);
	ctx->vram_alias = ferry_map_shared(ctx->vram_fd, ctx->size);
	return ctx->sys_alias && ctx->vram_alias ? 0 : -ENOMEM;
}

/*
 * ferry_window_place(): map sysmem at @base, register it with the
 * userfaultfd, and hand everything to the device (INIT).
 */
static int user_map_at(struct ferry_ctx *ctx, uint64_t base, bool first, void **taken)
{
	struct uffdio_register reg = {
		.range = {.start = base, .len = ctx->size},
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR |
			UFFDIO_REGISTER_MODE_WP,
	};
	int fds[6] = {ctx->sys_fd,     ctx->vram_fd, ctx->meta_fd,
		      ctx->staging_fd, ctx->uffd,    ctx->fine_fd};
	void *w = mmap((void *)(uintptr_t)base, ctx->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, ctx->sys_fd, 0);
	int r;

	if (w == MAP_FAILED)
		return -errno;
	if (ioctl(ctx->uffd, UFFDIO_REGISTER, &reg)) {
		r = -errno;
		munmap(w, ctx->size);
		fprintf(stderr, "ferry: UFFDIO_REGISTER: %s\n", strerror(-r));
		return r;
	}
	r = ferry_send_init(ctx, base, first ? fds : NULL, 6);
	if (r) {
		ioctl(ctx->uffd, UFFDIO_UNREGISTER, &reg.range);
		*taken = w;
		return r;
	}
	ctx->base = base;
	r = ferry_map_coherent(ctx, w);
	if (r)
		return r;
	/* A child of fork() would get a mapping that nobody migrates for: it gets none. */
	madvise(w, ctx->size, MADV_DONTFORK);
	/* 2 MiB sysmem pages where shmem has them: udriver's whole regions */
	if (ferry_whole_regions_enabled())
		madvise(w, ctx->size, MADV_HUGEPAGE);
	return 0;
}

static int user_bind_window(struct ferry_ctx *ctx)
{
	return ferry_window_place(ctx, user_map_at);
}

/*
 * The device process died: every page's data is in the memfd its state
 * names (the driver changes a state only once the destination holds a full
 * copy). Copy device-resident pages back into sysmem, then drop the
 * userfaultfd registration, which wakes any host thread blocked on a fault:
 * the window is plain shared memory from then on.
 */
static void recover(struct ferry_ctx *ctx)
{
	/* the managed part: the coherent region is not registered */
	struct uffdio_writeprotect wp = {
		.range = {.start = ctx->base, .len = ctx->size - ctx->fine_size}};
	struct uffdio_range rng = {.start = ctx->base, .len = ctx->size - ctx->fine_size};
	uint8_t *st = ctx->meta->state;

	for (uint64_t p = 0; p < ctx->npages; p++) {
		if (st[p] != FERRY_RES_DEVICE && st[p] != FERRY_RES_DUPLICATED)
			continue;
		if (st[p] == FERRY_RES_DEVICE)
			memcpy(ctx->sys_alias + p * PG, ctx->vram_alias + p * PG, PG);
		st[p] = FERRY_RES_HOST;
	}
	if (ioctl(ctx->uffd, UFFDIO_WRITEPROTECT, &wp))
		fprintf(stderr, "ferry: recovery: UFFDIO_WRITEPROTECT: %s\n", strerror(errno));
	if (ioctl(ctx->uffd, UFFDIO_UNREGISTER, &rng))
		fprintf(stderr, "ferry: recovery: UFFDIO_UNREGISTER: %s\n", strerror(errno));
	/*
	 * Unregistering wakes the faults it finds queued; a fault that was
	 * still on its way in (under the per-VMA lock) can queue just after.
	 * Wake the whole window for a while: every retry succeeds now.
	 */
	for (int i = 0; i < 20; i++) {
		struct uffd_msg msg[16];

		while (read(ctx->uffd, msg, sizeof(msg)) > 0)
			;
		ioctl(ctx->uffd, UFFDIO_WAKE, &rng);
		usleep(i < 10 ? 1000 : 10000);
	}
	atomic_store(&ctx->recovered, true);
	ferry_futex_wake(&ctx->meta->migrations.futex);
}

static void user_device_died(struct ferry_ctx *ctx)
{
	/* nothing will ask the agent any more: let it exit (joined by ferry_close) */
	__atomic_store_n(&ctx->meta->host_agent, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&ctx->meta->zap_hot, 0, __ATOMIC_RELEASE);
	fprintf(stderr,
		"ferry: the device process (pid %d) died; device memory recovered to "
		"the host\n",
		(int)ctx->pid);
	recover(ctx);
}

/* ferry_close, the device reaped: the window stops being managed. */
static void user_release(struct ferry_ctx *ctx)
{
	struct uffdio_range rng = {.start = ctx->base, .len = ctx->size - ctx->fine_size};

	if (!atomic_load(&ctx->recovered))
		ioctl(ctx->uffd, UFFDIO_UNREGISTER, &rng);
}

/* ferry_meta_wait(): fence *@arg is complete */
static bool fence_done(struct ferry_ctx *ctx, const void *arg)
{
	return ferry_fence_reached(&ctx->meta->migrations, *(const uint64_t *)arg);
}

static int wait_fence(struct ferry_ctx *ctx, struct ferry_wait *w)
{
	int r;

	if (w->reserved)
		return -EINVAL;
	/* only fences this context was given */
	if (w->fence == 0 || w->fence > __atomic_load_n(&ctx->last_fence, __ATOMIC_ACQUIRE))
		return -EINVAL;
	r = ferry_meta_wait(ctx, &ctx->meta->migrations.futex, fence_done, &w->fence,
			    w->timeout_ns);
	if (!r)
		w->status = ferry_fence_status(&ctx->meta->migrations, w->fence);
	return r;
}

static int residency(struct ferry_ctx *ctx, struct ferry_residency_query *q)
{
	const uint8_t *st;
	uint64_t first, n;
	int r;

	if (q->reserved)
		return -EINVAL;
	r = ferry_check_range(ctx->base, ctx->size, q->start, q->size);
	if (r)
		return r;
	first = (q->start - ctx->base) / FERRY_PAGE_SIZE;
	n = q->size / FERRY_PAGE_SIZE;
	st = ctx->meta->state + first;
	memset(q->count, 0, sizeof(q->count));
	for (uint64_t i = 0; i < n; i++) {
		/* coherent-region pages are system memory both processes map */
		uint8_t s = first + i >= (ctx->size - ctx->fine_size) / FERRY_PAGE_SIZE
				    ? FERRY_RES_HOST
				    : __atomic_load_n(&st[i], __ATOMIC_RELAXED);

		q->count[s & 3]++;
		if (q->out)
			((uint8_t *)(uintptr_t)q->out)[i] = s;
	}
	return 0;
}

/* The highest fence handed out grows to @fence (migrations answer out of order). */
static void note_fence(struct ferry_ctx *ctx, uint64_t fence)
{
	uint64_t cur = __atomic_load_n(&ctx->last_fence, __ATOMIC_RELAXED);

	while (cur < fence && !__atomic_compare_exchange_n(&ctx->last_fence, &cur, fence, false,
							   __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

static int user_ioctl(struct ferry_ctx *ctx, unsigned long cmd, void *arg)
{
	struct ferry_msg m;
	int r;

	memset(&m, 0, sizeof(m));
	m.op = FERRY_MSG_IOCTL;
	m.cmd = cmd;
	switch (cmd) {
	case FERRY_IOCTL_RESIDENCY:
		return residency(ctx, arg);
	case FERRY_IOCTL_COUNTERS:
		memcpy(arg, &ctx->meta->counters, sizeof(struct ferry_counters));
		return 0;
	case FERRY_IOCTL_WAIT:
		return wait_fence(ctx, arg);
	case FERRY_IOCTL_VERSION:
		m.u.version = *(struct ferry_version *)arg;
		r = ferry_request(ctx, &m);
		if (!r)
			*(struct ferry_version *)arg = m.u.version;
		return r;
	case FERRY_IOCTL_MIGRATE:
		m.u.migrate = *(struct ferry_migrate *)arg;
		r = ferry_request(ctx, &m);
		((struct ferry_migrate *)arg)->fence = m.u.migrate.fence;
		if (m.u.migrate.fence)
			note_fence(ctx, m.u.migrate.fence);
		return r;
	case FERRY_IOCTL_SET_ATTR:
	case FERRY_IOCTL_GET_ATTR: {
		struct ferry_attrs *h = arg;

		if (h->nattrs == 0 || h->nattrs > FERRY_MAX_ATTRS || !h->attrs)
			return -EINVAL;
		m.u.attrs.hdr = *h;
		memcpy(m.u.attrs.attr, (void *)(uintptr_t)h->attrs,
		       h->nattrs * sizeof(struct ferry_attr));
		r = ferry_request(ctx, &m);
		if (!r && cmd == FERRY_IOCTL_GET_ATTR)
			memcpy((void *)(uintptr_t)h->attrs, m.u.attrs.attr,
			       h->nattrs * sizeof(struct ferry_attr));
		return r;
	}
	case FERRY_IOCTL_CREATE_VASPACE:
	case FERRY_IOCTL_REGISTER_WINDOW:
	case FERRY_IOCTL_MAP_DEVICE_VIEW:
		return atomic_load(&ctx->dead) ? -ENODEV : -EBUSY; /* done by ferry_open */
	default:
		return -ENOTTY;
	}
}

const struct ferry_backend ferry_backend_user = {
	.name = "user",
	.id = FERRY_BACKEND_USER,
	.open = user_open,
	.bind_window = user_bind_window,
	.start = ferry_agent_start,
	.stop = ferry_agent_stop,
	.ioctl = user_ioctl,
	.device_died = user_device_died,
	.release = user_release,
};
