/* SPDX-License-Identifier: MIT */
/*
 * compute.c - the OpenCL layer's calls to the PoCL device inside
 * ferry-device: device information, programs, kernels, launches.
 */
#include <errno.h>
#include <string.h>

#include "common/futex.h"
#include "common/settings.h"
#include "host/host.h"

int ferry_device_cl_info(struct ferry_ctx *ctx, uint32_t param, size_t size, void *value,
			 size_t *size_ret)
{
	struct ferry_msg m;
	int r;

	memset(&m, 0, sizeof(m));
	m.op = FERRY_MSG_CL_DEVINFO;
	m.u.clq.param = param;
	m.u.clq.size = value ? size : 0;
	if (m.u.clq.size > FERRY_STAGING_SIZE)
		m.u.clq.size = FERRY_STAGING_SIZE;
	r = ferry_transact(ctx, &m, NULL, 0, value, m.u.clq.size, &m.u.clq.size_ret, false);
	if (r)
		return FERRY_CL_DEVICE_NOT_AVAILABLE;
	if (size_ret)
		*size_ret = m.u.clq.size_ret;
	return (int)m.status;
}

int ferry_device_call(struct ferry_ctx *ctx, struct ferry_msg *m, const void *in, size_t in_size,
		      void *out, size_t out_room)
{
	int r;

	if (in_size > FERRY_STAGING_SIZE)
		return -EINVAL;
	/* the reply's payload is copied out even on failure: a build log */
	r = ferry_transact(ctx, m, in, in_size, out, out_room, &m->u.cl.size, true);
	return r ? FERRY_CL_DEVICE_NOT_AVAILABLE : (int)m->status;
}

int ferry_launch_post(struct ferry_ctx *ctx, struct ferry_msg *m, const void *args, size_t n,
		      uint64_t *fence)
{
	int r;

	if (n > FERRY_POST_MAX)
		return -E2BIG;
	if (atomic_load(&ctx->dead))
		return -ENODEV;
	/*
	 * At most half the status ring outstanding, whatever the number of
	 * queues: a fence's status is overwritten FERRY_FENCE_RING fences on.
	 */
	for (;;) {
		struct ferry_meta *mt = ctx->meta;
		uint32_t seen = __atomic_load_n(&mt->launch_futex, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&ctx->launch_seq, __ATOMIC_RELAXED) -
			    __atomic_load_n(&mt->launch_done, __ATOMIC_ACQUIRE) <
		    FERRY_FENCE_RING / 2)
			break;
		if (atomic_load(&ctx->dead) || !ferry_device_alive(ctx))
			return -ENODEV;
		ferry_futex_wait(&mt->launch_futex, seen, 20 * 1000 * 1000);
	}
	/* fences in the order the device receives them: numbered under the socket's lock */
	pthread_mutex_lock(&ctx->io);
	m->magic = FERRY_PROTO_MAGIC;
	m->op = FERRY_MSG_CL_POST;
	m->seq = ++ctx->seq;
	m->u.cl.size = n;
	m->u.cl.id2 = ctx->launch_seq + 1;
	r = ferry_msg_send_with(ctx->sock, m, args, n);
	if (!r) {
		*fence = ctx->launch_seq + 1;
		__atomic_store_n(&ctx->launch_seq, *fence, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&ctx->io);
	if (r == -EPIPE)
		atomic_store(&ctx->dead, true);
	return r ? -ENODEV : 0;
}

/* ferry_agent_poll(): the launch with fence *@arg is done */
static bool launch_done(struct ferry_ctx *ctx, const void *arg)
{
	return __atomic_load_n(&ctx->meta->launch_done, __ATOMIC_ACQUIRE) >= *(const uint64_t *)arg;
}

int ferry_wait_launch(struct ferry_ctx *ctx, uint64_t fence)
{
	struct ferry_meta *m = ctx->meta;

	/*
	 * A short kernel completes sooner than a futex wake-up would arrive.
	 * Meanwhile this thread serves the host agent's mailbox (the kernel's
	 * faults zap this process's view), and keeps polling while it does.
	 */
	if (ferry_spin_ns())
		ferry_agent_poll(ctx, launch_done, &fence, ferry_spin_ns());
	for (;;) {
		uint32_t seen = __atomic_load_n(&m->launch_futex, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&m->launch_done, __ATOMIC_ACQUIRE) >= fence)
			return m->launch_status[fence % FERRY_FENCE_RING];
		if (atomic_load(&ctx->dead) || !ferry_device_alive(ctx))
			return FERRY_CL_DEVICE_NOT_AVAILABLE;
		ferry_futex_wait(&m->launch_futex, seen, 20 * 1000 * 1000);
	}
}
