/* SPDX-License-Identifier: MIT */
/*
 * kmod.c - the host side of the kernel backend: ferry.ko's render node,
 * found through libdrm by driver name, the window as anonymous memory
 * registered with it, and its 'F' ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "common/clock.h"
#include "common/futex.h"
#include "ferry/ferry.h"
#include "host/host.h"
#include "common/trace.h"

#define FERRY_DRM_NAME "ferry"

static int kmod_find(void)
{
	drmDevicePtr devs[64];
	int n = drmGetDevices2(0, devs, 64), fd = -ENODEV;

	for (int i = 0; i < n && fd < 0; i++) {
		drmVersionPtr v;
		int f;

		if (!(devs[i]->available_nodes & (1 << DRM_NODE_RENDER)))
			continue;
		f = open(devs[i]->nodes[DRM_NODE_RENDER], O_RDWR | O_CLOEXEC);
		if (f < 0)
			continue;
		v = drmGetVersion(f);
		if (v && v->name && strcmp(v->name, FERRY_DRM_NAME) == 0)
			fd = f;
		else
			close(f);
		drmFreeVersion(v);
	}
	if (n > 0)
		drmFreeDevices(devs, n);
	return fd;
}

static int kmod_open(struct ferry_ctx *ctx)
{
	struct ferry_version v = {0};
	struct ferry_create_vaspace c = {.device_memory = ctx->device_memory};
	int fd = kmod_find();

	if (fd < 0)
		return fd;
	if (ioctl(fd, FERRY_IOCTL_VERSION, &v) || v.major != FERRY_UAPI_VERSION_MAJOR) {
		fprintf(stderr, "ferry: ferry.ko speaks driver interface %u.%u, not %u.x\n",
			v.major, v.minor, FERRY_UAPI_VERSION_MAJOR);
		close(fd);
		return -EPROTO;
	}
	if (ioctl(fd, FERRY_IOCTL_CREATE_VASPACE, &c)) {
		int e = errno;

		if (e == EOPNOTSUPP)
			fprintf(stderr, "ferry: ferry.ko is loaded but this kernel has no "
					"device-private memory (CONFIG_DEVICE_PRIVATE)\n");
		close(fd);
		return -e;
	}
	ctx->kfd = fd;
	ctx->vaspace = c.id;
	return 0;
}

static int kmod_command(struct ferry_ctx *ctx, unsigned long cmd, void *arg)
{
	/*
	 * The data is safe in ferry.ko whatever happens to ferry-device, but
	 * the device is gone: commands for it fail as with the user backend.
	 */
	if (cmd != FERRY_IOCTL_RESIDENCY && cmd != FERRY_IOCTL_COUNTERS && !ferry_device_alive(ctx))
		return -ENODEV;
	switch (cmd) {
	case FERRY_IOCTL_VERSION:
	case FERRY_IOCTL_MIGRATE:
	case FERRY_IOCTL_WAIT:
	case FERRY_IOCTL_SET_ATTR:
	case FERRY_IOCTL_GET_ATTR:
	case FERRY_IOCTL_RESIDENCY:
	case FERRY_IOCTL_COUNTERS:
		for (;;) {
			if (ioctl(ctx->kfd, cmd, arg) == 0)
				return 0;
			if (errno != EINTR)
				return -errno;
		}
	case FERRY_IOCTL_CREATE_VASPACE:
	case FERRY_IOCTL_REGISTER_WINDOW:
	case FERRY_IOCTL_MAP_DEVICE_VIEW:
		return -EBUSY; /* done by ferry_open */
	default:
		return -ENOTTY;
	}
}

/*
 * A driver-interface command, with the coherent region reported as the
 * user backend reports it: system memory both processes map.
 */
static int kmod_ioctl(struct ferry_ctx *ctx, unsigned long cmd, void *arg)
{
	struct ferry_residency_query *q = arg;
	uint64_t fine_start = ctx->base + ctx->size - ctx->fine_size, user_out;
	uint8_t *out;
	int r;

	if (cmd == FERRY_IOCTL_MIGRATE && FERRY_TRACE_ON()) {
		/* ferry.ko's own work is not in the trace: its requests are */
		struct ferry_migrate *a = arg;
		uint64_t t0 = ferry_clock_ns();

		r = kmod_command(ctx, cmd, arg);
		ferry_trace_event(FERRY_TR_PREFETCH,
				  a->target == FERRY_LOC_DEVICE ? "ferry.ko migrate to device"
								: "ferry.ko migrate to host",
				  t0, ferry_clock_ns() - t0, a->start, a->size,
				  a->target == FERRY_LOC_DEVICE, a->flags);
		return r;
	}
	if (cmd != FERRY_IOCTL_RESIDENCY || q->start + q->size <= fine_start)
		return kmod_command(ctx, cmd, arg);
	user_out = q->out;
	out = user_out ? (uint8_t *)(uintptr_t)user_out : malloc(q->size / FERRY_PAGE_SIZE);
	if (!out)
		return -ENOMEM;
	q->out = (uint64_t)(uintptr_t)out;
	r = kmod_command(ctx, cmd, arg);
	q->out = user_out;
	for (uint64_t a = q->start > fine_start ? q->start : fine_start;
	     !r && a < q->start + q->size; a += FERRY_PAGE_SIZE) {
		uint8_t *slot = out + (a - q->start) / FERRY_PAGE_SIZE;

		q->count[*slot & 3]--;
		q->count[FERRY_RES_HOST]++;
		*slot = FERRY_RES_HOST;
	}
	if (!user_out)
		free(out);
	return r;
}

/*
 * ferry_window_place(): the window is anonymous private memory registered
 * with ferry.ko. The device first reserves the address (INIT), then maps the
 * render node there (MAP_DEVICE_VIEW) once the window is registered: a VA
 * space registers one window only, so the address must be settled first.
 */
static int kmod_map_at(struct ferry_ctx *ctx, uint64_t base, bool first, void **taken)
{
	int fds[4] = {ctx->meta_fd, ctx->staging_fd, ctx->fine_fd, ctx->kfd};
	struct ferry_register_window rw = {.base = base, .size = ctx->size};
	struct ferry_attr at[2] = {
		{.type = FERRY_ATTR_BLOCK_SIZE, .value = ctx->block_size},
		{.type = FERRY_ATTR_PREFETCH, .value = (uint64_t)ctx->prefetch},
	};
	struct ferry_attrs a = {.start = base,
				.size = FERRY_PAGE_SIZE,
				.attrs = (uint64_t)(uintptr_t)at,
				.nattrs = 2};
	struct ferry_msg m;
	void *w = mmap((void *)(uintptr_t)base, ctx->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
	int r;

	if (w == MAP_FAILED)
		return -errno;
	/* pages, not 2 MiB folios: first touch and migration work per page */
	madvise(w, ctx->size, MADV_NOHUGEPAGE);
	r = ferry_send_init(ctx, base, first ? fds : NULL, 4);
	if (r) {
		*taken = w;
		return r;
	}
	ctx->base = base;
	r = ferry_map_coherent(ctx, w);
	if (r)
		return r;
	if (ioctl(ctx->kfd, FERRY_IOCTL_REGISTER_WINDOW, &rw) ||
	    ioctl(ctx->kfd, FERRY_IOCTL_SET_ATTR, &a))
		return -errno;
	memset(&m, 0, sizeof(m));
	m.op = FERRY_MSG_IOCTL;
	m.cmd = FERRY_IOCTL_MAP_DEVICE_VIEW;
	return ferry_request(ctx, &m);
}

static int kmod_bind_window(struct ferry_ctx *ctx)
{
	return ferry_window_place(ctx, kmod_map_at);
}

static void kmod_device_died(struct ferry_ctx *ctx)
{
	/* device memory belongs to this process's mm in ferry.ko: nothing is lost */
	fprintf(stderr, "ferry: the device process (pid %d) died\n", (int)ctx->pid);
	atomic_store(&ctx->recovered, true);
	ferry_futex_wake(&ctx->meta->launches.futex);
}

const struct ferry_backend ferry_backend_kmod = {
	.name = "kernel",
	.id = FERRY_BACKEND_KERNEL,
	.open = kmod_open,
	.bind_window = kmod_bind_window,
	.ioctl = kmod_ioctl,
	.device_died = kmod_device_died,
};
