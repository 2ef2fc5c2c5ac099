/* SPDX-License-Identifier: MIT */
/*
 * ioctl.c - the driver interface's calls (ferry_ioctl and its wrappers). User
 * backend: FERRY_IOCTL_* carried to the udriver inside ferry-device
 * (host/rpc.c), except the read-only queries (residency, counters, fence
 * completion), which read the shared metadata. Kernel backend: ferry.ko's
 * ioctls (host/kmod.c).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/settings.h"
#include "common/futex.h"
#include "common/clock.h"
#include "host/host.h"
#include "transport/trace.h"

static int wait_fence(struct ferry_ctx *ctx, struct ferry_wait *w)
{
	struct ferry_meta *m = ctx->meta;
	uint64_t deadline = w->timeout_ns ? ferry_clock_ns() + w->timeout_ns : UINT64_MAX;

	if (w->reserved)
		return -EINVAL;
	/* only fences this context was given */
	if (w->fence == 0 || w->fence > __atomic_load_n(&ctx->last_fence, __ATOMIC_ACQUIRE))
		return -EINVAL;
	for (;;) {
		uint32_t seen = __atomic_load_n(&m->fence_futex, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&m->fence_done, __ATOMIC_ACQUIRE) >= w->fence) {
			w->status = m->fence_status[w->fence % FERRY_FENCE_RING];
			return 0;
		}
		if (atomic_load(&ctx->dead) || !ferry_device_alive(ctx))
			return -ENODEV;
		if (ferry_clock_ns() >= deadline)
			return -ETIMEDOUT;
		ferry_futex_wait(&m->fence_futex, seen, 20 * 1000 * 1000);
	}
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

/*
 * The kernel backend, with the coherent region reported as the user
 * backend reports it: system memory both processes map.
 */
static int kernel_ioctl(struct ferry_ctx *ctx, unsigned long cmd, void *arg)
{
	struct ferry_residency_query *q = arg;
	uint64_t fine_start = ctx->base + ctx->size - ctx->fine_size, user_out;
	uint8_t *out;
	int r;

	if (cmd == FERRY_IOCTL_MIGRATE && FERRY_TRACE_ON()) {
		/* ferry.ko's own work is not in the trace: its requests are */
		struct ferry_migrate *a = arg;
		uint64_t t0 = ferry_clock_ns();

		r = ferry_kmod_ioctl(ctx, cmd, arg);
		ferry_trace_event(FERRY_TR_PREFETCH,
				  a->target == FERRY_LOC_DEVICE ? "ferry.ko migrate to device"
								: "ferry.ko migrate to host",
				  t0, ferry_clock_ns() - t0, a->start, a->size,
				  a->target == FERRY_LOC_DEVICE, a->flags);
		return r;
	}
	if (cmd != FERRY_IOCTL_RESIDENCY || q->start + q->size <= fine_start)
		return ferry_kmod_ioctl(ctx, cmd, arg);
	user_out = q->out;
	out = user_out ? (uint8_t *)(uintptr_t)user_out : malloc(q->size / FERRY_PAGE_SIZE);
	if (!out)
		return -ENOMEM;
	q->out = (uint64_t)(uintptr_t)out;
	r = ferry_kmod_ioctl(ctx, cmd, arg);
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

int ferry_ioctl(struct ferry_ctx *ctx, unsigned long cmd, void *arg)
{
	struct ferry_msg m;
	int r;

	if (!ctx || !arg)
		return -EINVAL;
	if (ctx->kfd >= 0)
		return kernel_ioctl(ctx, cmd, arg);
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
		if (m.u.migrate.fence) {
			uint64_t cur = __atomic_load_n(&ctx->last_fence, __ATOMIC_RELAXED);

			while (cur < m.u.migrate.fence &&
			       !__atomic_compare_exchange_n(&ctx->last_fence, &cur,
							    m.u.migrate.fence, false,
							    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
				;
		}
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

int ferry_migrate(struct ferry_ctx *ctx, void *start, uint64_t size, uint32_t target,
		  uint32_t flags, uint64_t *fence)
{
	struct ferry_migrate a = {.start = (uint64_t)(uintptr_t)start,
				  .size = size,
				  .target = target,
				  .flags = flags};
	int r = ferry_ioctl(ctx, FERRY_IOCTL_MIGRATE, &a);

	if (fence)
		*fence = r ? 0 : a.fence;
	return r;
}

int ferry_wait(struct ferry_ctx *ctx, uint64_t fence)
{
	struct ferry_wait w = {.fence = fence};
	int r = ferry_ioctl(ctx, FERRY_IOCTL_WAIT, &w);

	return r ? r : w.status;
}

int ferry_residency(struct ferry_ctx *ctx, const void *start, uint64_t size, uint8_t *out,
		    uint64_t count[4])
{
	struct ferry_residency_query q = {
		.start = (uint64_t)(uintptr_t)start, .size = size, .out = (uint64_t)(uintptr_t)out};
	int r = ferry_ioctl(ctx, FERRY_IOCTL_RESIDENCY, &q);

	if (!r && count)
		memcpy(count, q.count, sizeof(q.count));
	return r;
}

int ferry_counters(struct ferry_ctx *ctx, struct ferry_counters *c)
{
	return ferry_ioctl(ctx, FERRY_IOCTL_COUNTERS, c);
}

int ferry_set_attr(struct ferry_ctx *ctx, void *start, uint64_t size, uint32_t type, uint64_t value)
{
	struct ferry_attr a = {.type = type, .value = value};
	struct ferry_attrs h = {.start = (uint64_t)(uintptr_t)start,
				.size = size,
				.attrs = (uint64_t)(uintptr_t)&a,
				.nattrs = 1};

	return ferry_ioctl(ctx, FERRY_IOCTL_SET_ATTR, &h);
}

int ferry_get_attr(struct ferry_ctx *ctx, void *start, uint64_t size, uint32_t type,
		   uint64_t *value)
{
	struct ferry_attr a = {.type = type};
	struct ferry_attrs h = {.start = (uint64_t)(uintptr_t)start,
				.size = size,
				.attrs = (uint64_t)(uintptr_t)&a,
				.nattrs = 1};
	int r = ferry_ioctl(ctx, FERRY_IOCTL_GET_ATTR, &h);

	if (!r && value)
		*value = a.value;
	return r;
}
