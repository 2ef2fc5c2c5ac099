/* SPDX-License-Identifier: MIT */
/*
 * agent.c - the host agent (user backend): a thread of the application that
 * changes the application's own view of the window on the driver's request,
 * through the mailbox in the shared metadata, and the same service from a
 * host thread that polls while it waits for the device.
 */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "common/clock.h"
#include "common/futex.h"
#include "common/uffd.h"
#include "host/host.h"
#include "common/trace.h"

/*
 * The host agent's mailbox: the driver asks this process to zap its own view
 * of a range (MADV_DONTNEED keeps the sysmem pages, which a punched hole
 * would free and the next migration would allocate again), or to map sysmem
 * pages into it (the driver copies the next piece of a migration meanwhile).
 * Served by the agent thread, or by a host thread that polls while it waits
 * for the device (ferry_agent_poll): that thread is already on a CPU,
 * and with one host thread running the zap's TLB flush stays on its CPU
 * where a second one costs an IPI (a 4 KiB fault's zap took 17 us instead
 * of 2 when the agent and a polling host thread ran on both CPUs).
 * Returns whether a request was served.
 */
bool ferry_agent_serve(struct ferry_ctx *ctx)
{
	struct ferry_meta *m = ctx->meta;
	uint32_t req;
	uint64_t a, len;
	int st = -EINVAL;

	if (__atomic_load_n(&m->zap_req, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&m->zap_ack, __ATOMIC_ACQUIRE))
		return false;
	if (pthread_mutex_trylock(&ctx->agent_lock))
		return false; /* the other one serves it */
	req = __atomic_load_n(&m->zap_req, __ATOMIC_ACQUIRE);
	if (req == __atomic_load_n(&m->zap_ack, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&ctx->agent_lock);
		return false;
	}
	a = m->zap_start;
	len = m->zap_len;
	if (a >= ctx->base && len && len <= ctx->size && a - ctx->base <= ctx->size - len &&
	    !(a % FERRY_PAGE_SIZE) && !(len % FERRY_PAGE_SIZE)) {
		if (m->zap_op == FERRY_AGENT_MAP)
			st = ferry_uffd_continue(ctx->uffd, a, len, UFFDIO_CONTINUE_MODE_DONTWAKE);
		else if (m->zap_op == FERRY_AGENT_ZAP)
			st = madvise((void *)(uintptr_t)a, len, MADV_DONTNEED) ? -errno : 0;
	}
	m->zap_status = st;
	__atomic_store_n(&m->zap_ack, req, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ctx->agent_lock);
	ferry_futex_wake(&m->zap_ack);
	return true;
}

bool ferry_agent_poll(struct ferry_ctx *ctx, bool (*ready)(struct ferry_ctx *, const void *),
		      const void *arg, uint64_t ns)
{
	uint64_t t0 = ferry_clock_ns();
	bool r;

	__atomic_add_fetch(&ctx->meta->host_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		r = ready(ctx, arg);
		if (r)
			break;
		if (ferry_agent_serve(ctx)) {
			t0 = ferry_clock_ns(); /* the device works: keep polling */
			continue;
		}
		if (ferry_clock_ns() - t0 >= ns)
			break;
		sched_yield(); /* let a runnable thread on this CPU go first */
	}
	__atomic_sub_fetch(&ctx->meta->host_waiters, 1, __ATOMIC_SEQ_CST);
	/*
	 * A request posted while we polled woke nobody: serve it (the
	 * device's zap_post bumps zap_req, then reads host_waiters).
	 */
	ferry_agent_serve(ctx);
	return r;
}

/*
 * The agent thread serves the mailbox when no polling host thread does.
 * Spins briefly after each request (all the while an explicit migration or
 * device work runs), then sleeps on the futex.
 */
static void *agent_main(void *arg)
{
	struct ferry_ctx *ctx = arg;
	struct ferry_meta *m = ctx->meta;
	uint64_t t0 = ferry_clock_ns();

	ferry_trace_thread_name("ferry host agent");
	while (__atomic_load_n(&m->host_agent, __ATOMIC_ACQUIRE)) {
		uint32_t req = __atomic_load_n(&m->zap_req, __ATOMIC_ACQUIRE);

		if (ferry_agent_serve(ctx)) {
			t0 = ferry_clock_ns();
			continue;
		}
		if (!__atomic_load_n(&m->host_waiters, __ATOMIC_RELAXED) &&
		    (__atomic_load_n(&m->zap_hot, __ATOMIC_RELAXED) ||
		     ferry_clock_ns() - t0 < 50 * 1000)) {
			sched_yield(); /* spin, but let a runnable thread on this CPU go first */
			continue;
		}
		ferry_futex_wait(&m->zap_req, req, 100 * 1000 * 1000);
	}
	return NULL;
}

void ferry_agent_stop(struct ferry_ctx *ctx)
{
	if (!ctx->agent_started)
		return;
	__atomic_store_n(&ctx->meta->host_agent, 0, __ATOMIC_RELEASE);
	__atomic_fetch_add(&ctx->meta->zap_req, 0, __ATOMIC_RELEASE);
	ferry_futex_wake(&ctx->meta->zap_req);
	pthread_join(ctx->agent, NULL);
	ctx->agent_started = false;
}

void ferry_agent_start(struct ferry_ctx *ctx)
{
	if (getenv("FERRY_NO_HOST_AGENT"))
		return;
	ctx->meta->host_agent = 1;
	if (pthread_create(&ctx->agent, NULL, agent_main, ctx) == 0)
		ctx->agent_started = true;
	else
		ctx->meta->host_agent = 0;
}
