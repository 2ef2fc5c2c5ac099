/* SPDX-License-Identifier: MIT */
/*
 * queue.c - explicit migrations (FERRY_IOCTL_MIGRATE) in the udriver: a queue
 * served in order by one worker thread, one 2 MiB region per hold of u->lock
 * so that faults interleave. Completions are published as fences in the
 * shared metadata (meta->migrations). u->qlock protects
 * the queue, next_fence and stopping.
 */
#include "common/clock.h"
#include "common/futex.h"
#include "udriver/internal.h"

#include <errno.h>
#include <stdlib.h>

struct udrv_mreq {
	struct udrv_mreq *next;
	uint64_t first, npages; /* page indices */
	uint32_t target, flags;
	uint64_t fence;
};

static int do_migrate(struct udrv *u, const struct udrv_mreq *q)
{
	uint64_t end = q->first + q->npages;
	uint64_t t0 = ferry_clock_ns();
	static const char *const names[2][2] = {{"migrate to host", "migrate to device"},
						{"discard to host", "discard to device"}};

	/* A multi-region move to the device zaps the host view many times: keep the agent awake. */
	if (q->target == FERRY_LOC_DEVICE && q->npages > FERRY_REGION_PAGES)
		__atomic_add_fetch(&u->meta->zap_hot, 1, __ATOMIC_RELEASE);

	for (uint64_t p = q->first; p < end;) {
		/* one 2 MiB region at a time, so faults interleave */
		uint64_t rend = (p / FERRY_REGION_PAGES + 1) * FERRY_REGION_PAGES;
		uint64_t n = (rend < end ? rend : end) - p;

		udrv_lock(u);
		u->trace_cause = FERRY_TR_CAUSE_REQUEST;
		if ((q->flags & FERRY_MIGRATE_DISCARD) && q->target == FERRY_LOC_DEVICE)
			udrv_discard_to_device(u, p, n);
		else if (q->flags & FERRY_MIGRATE_DISCARD)
			udrv_discard(u, p, n);
		else if (q->target == FERRY_LOC_DEVICE)
			udrv_to_device(u, p, n, true, NULL);
		else
			udrv_to_host(u, p, n, true, false);
		udrv_unlock(u);
		p += n;
	}
	if (q->target == FERRY_LOC_DEVICE && q->npages > FERRY_REGION_PAGES)
		__atomic_sub_fetch(&u->meta->zap_hot, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&u->meta->counters.migrate_ns, ferry_clock_ns() - t0, __ATOMIC_RELAXED);
	if (FERRY_TRACE_ON())
		ferry_trace_event(
			FERRY_TR_PREFETCH,
			names[!!(q->flags & FERRY_MIGRATE_DISCARD)][q->target == FERRY_LOC_DEVICE],
			t0, ferry_clock_ns() - t0, addr_of(u, q->first), q->npages * PG,
			q->target == FERRY_LOC_DEVICE, q->flags);
	return 0;
}

/*
 * Publish request @fence's completion (qlock held). Fences complete in the
 * order they were given: the host's WAIT reads migrations.done >= its fence as done.
 */
static void fence_complete(struct udrv *u, uint64_t fence, int status)
{
	struct ferry_meta *m = u->meta;

	udrv_assert_qlocked(u);
	assert(fence == m->migrations.done + 1);
	ferry_fence_publish(&m->migrations, fence, status);
}

static void *worker_main(void *arg)
{
	struct udrv *u = arg;

	ferry_trace_thread_name("migration worker");

	udrv_qlock(u);
	for (;;) {
		struct udrv_mreq *q;

		while (!u->qhead && !u->stopping)
			udrv_qwait(u, &u->qcond);
		if (!u->qhead)
			break;
		q = u->qhead;
		udrv_qunlock(u);
		int st = do_migrate(u, q);
		udrv_qlock(u);
		u->qhead = q->next;
		if (!u->qhead)
			u->qtail = NULL;
		fence_complete(u, q->fence, st);
		pthread_cond_broadcast(&u->qdone);
		free(q);
	}
	udrv_qunlock(u);
	return NULL;
}

int udrv_migrate_ioctl(struct udrv *u, struct ferry_migrate *a)
{
	struct udrv_mreq *q;
	int r;

	if (a->reserved || (a->flags & ~FERRY_MIGRATE_FLAGS))
		return -EINVAL;
	if (a->target != FERRY_LOC_HOST && a->target != FERRY_LOC_DEVICE)
		return -EINVAL;
	r = ferry_check_range(u->base, u->size, a->start, a->size);
	if (r)
		return r;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->first = (a->start - u->base) / PG;
	q->npages = a->size / PG;
	q->target = a->target;
	q->flags = a->flags;
	udrv_qlock(u);
	q->fence = ++u->next_fence;
	a->fence = q->fence;
	if (!(a->flags & FERRY_MIGRATE_ASYNC) && !u->qhead) {
		/*
		 * Synchronous with nothing queued: done here, in the request
		 * loop's thread, without waking the worker and waiting for it
		 * (two wake-ups). Only this thread queues requests, so none can
		 * overtake it meanwhile.
		 */
		udrv_qunlock(u);
		r = do_migrate(u, q);
		udrv_qlock(u);
		fence_complete(u, q->fence, r);
		pthread_cond_broadcast(&u->qdone);
		udrv_qunlock(u);
		free(q);
		return r;
	}
	if (u->qtail)
		u->qtail->next = q;
	else
		u->qhead = q;
	u->qtail = q;
	pthread_cond_signal(&u->qcond);
	if (!(a->flags & FERRY_MIGRATE_ASYNC)) {
		uint64_t f = a->fence;

		while (!ferry_fence_reached(&u->meta->migrations, f))
			udrv_qwait(u, &u->qdone);
		r = ferry_fence_status(&u->meta->migrations, f);
	}
	udrv_qunlock(u);
	return r;
}

int udrv_queue_start(struct udrv *u)
{
	int err;

	udrv_mutex_init(&u->qlock);
	pthread_cond_init(&u->qcond, NULL);
	pthread_cond_init(&u->qdone, NULL);
	err = pthread_create(&u->worker, NULL, worker_main, u);
	if (err) {
		pthread_cond_destroy(&u->qdone);
		pthread_cond_destroy(&u->qcond);
		udrv_mutex_destroy(&u->qlock);
	}
	return -err;
}

/* The worker finishes what is queued, then exits. */
void udrv_queue_stop(struct udrv *u)
{
	udrv_qlock(u);
	u->stopping = true;
	pthread_cond_broadcast(&u->qcond);
	udrv_qunlock(u);
	pthread_join(u->worker, NULL);
	pthread_cond_destroy(&u->qdone);
	pthread_cond_destroy(&u->qcond);
	udrv_mutex_destroy(&u->qlock);
}
