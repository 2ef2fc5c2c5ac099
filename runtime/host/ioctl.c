/* SPDX-License-Identifier: MIT */
/*
 * ioctl.c - the driver interface's calls (ferry_ioctl and its wrappers),
 * served by the VA space's backend: the udriver inside ferry-device
 * (host/backend_user.c) or ferry.ko (host/kmod.c).
 */
#include <errno.h>
#include <string.h>

#include "host/host.h"

int ferry_ioctl(struct ferry_ctx *ctx, unsigned long cmd, void *arg)
{
	if (!ctx || !arg)
		return -EINVAL;
	return ctx->be->ioctl(ctx, cmd, arg);
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

int ferry_query_residency(struct ferry_ctx *ctx, const void *start, uint64_t size, uint8_t *out,
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
