/* SPDX-License-Identifier: MIT */
/* devwork.c - asking ferry-device to touch window memory (device work). */
#include <errno.h>
#include <string.h>

#include "host/host.h"

static int in_window(const struct ferry_ctx *ctx, uint64_t addr, uint64_t size)
{
	if (size == 0)
		return -EINVAL;
	if (addr < ctx->base || addr - ctx->base > ctx->size ||
	    size > ctx->size - (addr - ctx->base))
		return -ERANGE;
	return 0;
}

/* READ and WRITE go through the staging buffer in chunks; the rest in one request. */
int ferry_device_work(struct ferry_ctx *ctx, struct ferry_dev_work *w, void *buf)
{
	struct ferry_msg m;
	int r;

	if (!ctx || !w)
		return -EINVAL;
	r = in_window(ctx, w->addr, w->size);
	if (r)
		return r;
	if (w->op < FERRY_DEV_READ || w->op > FERRY_DEV_INC || w->threads > 64)
		return -EINVAL;
	if ((w->op == FERRY_DEV_READ || w->op == FERRY_DEV_WRITE) && !buf)
		return -EINVAL;
	if ((w->op == FERRY_DEV_TOUCH || w->op == FERRY_DEV_INC) && w->stride == 0)
		return -EINVAL;
	if (w->op != FERRY_DEV_READ && w->op != FERRY_DEV_WRITE) {
		memset(&m, 0, sizeof(m));
		m.op = FERRY_MSG_DEVWORK;
		m.u.work = *w;
		r = ferry_request(ctx, &m);
		w->result = m.u.work.result;
		return r;
	}
	for (uint64_t off = 0; off < w->size;) {
		uint64_t n =
			w->size - off < FERRY_STAGING_SIZE ? w->size - off : FERRY_STAGING_SIZE;

		int wr = w->op == FERRY_DEV_WRITE;

		memset(&m, 0, sizeof(m));
		m.op = FERRY_MSG_DEVWORK;
		m.u.work = *w;
		m.u.work.addr = w->addr + off;
		m.u.work.size = n;
		r = ferry_transact(ctx, &m, wr ? (const uint8_t *)buf + off : NULL, wr ? n : 0,
				   wr ? NULL : (uint8_t *)buf + off, n, &m.u.work.size, false);
		if (r || m.status)
			return r ? r : (int)m.status;
		off += n;
	}
	return 0;
}

int ferry_dev_read(struct ferry_ctx *ctx, const void *src, void *dst, uint64_t size)
{
	struct ferry_dev_work w = {
		.op = FERRY_DEV_READ, .addr = (uint64_t)(uintptr_t)src, .size = size};

	return ferry_device_work(ctx, &w, dst);
}

int ferry_dev_write(struct ferry_ctx *ctx, void *dst, const void *src, uint64_t size)
{
	struct ferry_dev_work w = {
		.op = FERRY_DEV_WRITE, .addr = (uint64_t)(uintptr_t)dst, .size = size};

	return ferry_device_work(ctx, &w, (void *)(uintptr_t)src);
}

int ferry_dev_fill(struct ferry_ctx *ctx, void *dst, uint64_t size, uint64_t seed)
{
	struct ferry_dev_work w = {
		.op = FERRY_DEV_FILL, .addr = (uint64_t)(uintptr_t)dst, .size = size, .seed = seed};

	return ferry_device_work(ctx, &w, NULL);
}

int64_t ferry_dev_check(struct ferry_ctx *ctx, const void *src, uint64_t size, uint64_t seed)
{
	struct ferry_dev_work w = {.op = FERRY_DEV_CHECK,
				   .addr = (uint64_t)(uintptr_t)src,
				   .size = size,
				   .seed = seed};
	int r = ferry_device_work(ctx, &w, NULL);

	return r ? r : (int64_t)w.result;
}
