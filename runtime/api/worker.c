/* SPDX-License-Identifier: MIT */
/*
 * worker.c - the worker threads of the queues: an in-order queue's one runs
 * the commands in order; an out-of-order queue's (up to FERRY_OOO_WORKERS)
 * each take a command that may run. Both pipeline kernel launches and
 * retire the commands.
 */
#include <stdlib.h>

#include "api/command.h"
#include "common/trace.h"

/*
 * Commands enqueued on any queue and not yet complete, and SVM frees deferred
 * until that drops to zero (clSVMFree must not pull memory from under a
 * queued kernel: the free waits for the queues instead, like cudaFree).
 */
static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long inflight;
static struct deferred {
	struct deferred *next;
	void *ptr; /* NULL: image or sampler @id */
	uint64_t id;
	int sampler;
} * deferred_frees;

static int defer(void *ptr, uint64_t id, int sampler)
{
	struct deferred *d;
	int deferred = 0;

	pthread_mutex_lock(&inflight_lock);
	if (inflight) {
		d = malloc(sizeof(*d));
		if (d) {
			d->ptr = ptr;
			d->id = id;
			d->sampler = sampler;
			d->next = deferred_frees;
			deferred_frees = d;
			deferred = 1;
		}
	}
	pthread_mutex_unlock(&inflight_lock);
	return deferred;
}

int ferry_defer_svm_free(void *ptr)
{
	return defer(ptr, 0, 0);
}

int ferry_defer_release(uint64_t id, int sampler)
{
	return defer(NULL, id, sampler);
}

void ferry_inflight_add(void)
{
	pthread_mutex_lock(&inflight_lock);
	inflight++;
	pthread_mutex_unlock(&inflight_lock);
}

static void inflight_done(void)
{
	struct deferred *list = NULL;
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	pthread_mutex_lock(&inflight_lock);
	if (--inflight == 0) {
		list = deferred_frees;
		deferred_frees = NULL;
	}
	pthread_mutex_unlock(&inflight_lock);
	while (list) {
		struct deferred *n = list->next;

		if (vas && list->ptr)
			ferry_free(vas, list->ptr);
		else if (vas)
			ferry_image_release(vas, list->id, list->sampler);
		free(list);
		list = n;
	}
}

void ferry_drop_arg(void *arg)
{
	struct ferry_cmd_head *h = arg;

	if (h && h->cleanup)
		h->cleanup(arg);
	free(arg);
}

static void free_queue(cl_command_queue q)
{
	cl_context c = q->context;

	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	q->dispatch = NULL;
	free(q);
	ferry_clReleaseContext(c);
}

/* FERRY_TRACE: an OpenCL command's name. */
static const char *command_name(cl_command_type t)
{
	switch (t) {
	case CL_COMMAND_NDRANGE_KERNEL:
		return "clEnqueueNDRangeKernel";
	case CL_COMMAND_TASK:
		return "clEnqueueTask";
	case CL_COMMAND_READ_BUFFER:
		return "clEnqueueReadBuffer";
	case CL_COMMAND_WRITE_BUFFER:
		return "clEnqueueWriteBuffer";
	case CL_COMMAND_COPY_BUFFER:
		return "clEnqueueCopyBuffer";
	case CL_COMMAND_READ_BUFFER_RECT:
		return "clEnqueueReadBufferRect";
	case CL_COMMAND_WRITE_BUFFER_RECT:
		return "clEnqueueWriteBufferRect";
	case CL_COMMAND_COPY_BUFFER_RECT:
		return "clEnqueueCopyBufferRect";
	case CL_COMMAND_FILL_BUFFER:
		return "clEnqueueFillBuffer";
	case CL_COMMAND_MAP_BUFFER:
		return "clEnqueueMapBuffer";
	case CL_COMMAND_UNMAP_MEM_OBJECT:
		return "clEnqueueUnmapMemObject";
	case CL_COMMAND_MIGRATE_MEM_OBJECTS:
		return "clEnqueueMigrateMemObjects";
	case CL_COMMAND_MARKER:
		return "marker";
	case CL_COMMAND_BARRIER:
		return "barrier";
	case CL_COMMAND_SVM_FREE:
		return "clEnqueueSVMFree";
	case CL_COMMAND_SVM_MEMCPY:
		return "clEnqueueSVMMemcpy";
	case CL_COMMAND_SVM_MEMFILL:
		return "clEnqueueSVMMemFill";
	case CL_COMMAND_SVM_MAP:
		return "clEnqueueSVMMap";
	case CL_COMMAND_SVM_UNMAP:
		return "clEnqueueSVMUnmap";
	case CL_COMMAND_SVM_MIGRATE_MEM:
		return "clEnqueueSVMMigrateMem";
	default:
		return "command";
	}
}

/* Out of order: take @c out of its queue's list (queue lock held). */
static void ooo_unlink(cl_command_queue q, struct ferry_cmd *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		q->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		q->tail = c->prev;
}

/*
 * Retire a command: final status, dependencies and argument dropped, queue
 * bookkeeping (out of order: it leaves the list after its status is final,
 * and what waited for that may run now).
 */
static void retire(cl_command_queue q, struct ferry_cmd *c, cl_int st)
{
	/*
	 * What the command held goes first (deferred SVM frees included), so
	 * that whoever waits for the event finds it all done.
	 */
	for (cl_uint i = 0; i < c->nwait; i++)
		ferry_clReleaseEvent(c->wait[i]);
	free(c->wait);
	ferry_drop_arg(c->arg);
	inflight_done();
	if (FERRY_TRACE_ON())
		ferry_trace_event(FERRY_TR_COMMAND, command_name(c->event->type), c->event->t_start,
				  c->event->t_end - c->event->t_start, c->event->type,
				  (uint64_t)(int64_t)st, 0, 0);
	ferry_event_set_status(c->event, st == CL_SUCCESS ? CL_COMPLETE : st);
	atomic_fetch_sub(&c->event->internal, 1);
	ferry_clReleaseEvent(c->event);
	pthread_mutex_lock(&q->lock);
	if (ferry_queue_ooo(q))
		ooo_unlink(q, c);
	q->pending--;
	free(c);
	pthread_cond_broadcast(&q->cond);
	if (q->watching) {
		pthread_mutex_lock(&ferry_ev_lock);
		pthread_cond_broadcast(&ferry_ev_cond);
		pthread_mutex_unlock(&ferry_ev_lock);
	}
	pthread_mutex_unlock(&q->lock);
}

/*
 * Wait for the launches in flight, in order, and retire them: they ran when
 * the device says (profiling's START and END), or else until now.
 */
static void drain(cl_command_queue q, struct ferry_cmd **flight)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	while (*flight) {
		struct ferry_cmd *c = *flight;
		struct ferry_cmd_head *h = c->arg;
		cl_int st = vas ? ferry_launch_wait(vas, h->fence) : CL_DEVICE_NOT_AVAILABLE;

		*flight = c->flight;
		c->event->t_end = ferry_clock_ns();
		if (st == CL_SUCCESS)
			ferry_launch_span(vas, h->fence, &c->event->t_start, &c->event->t_end);
		retire(q, c, st);
	}
}

/*
 * Run @c once the events it waits for are complete: CL_SUCCESS, its body's
 * error, or CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST when one of them
 * failed (the body does not run). SUBMIT is when it is handed on, START and
 * END bracket the body (a posted launch's are the device's, set by drain()).
 */
static cl_int run(struct ferry_cmd *c)
{
	cl_int st = CL_SUCCESS;

	for (cl_uint i = 0; i < c->nwait; i++)
		if (ferry_event_wait(c->wait[i]) < 0)
			st = CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
	c->event->t_submit = ferry_clock_ns();
	ferry_event_set_status(c->event, CL_SUBMITTED);
	ferry_event_set_status(c->event, CL_RUNNING);
	c->event->t_start = ferry_clock_ns();
	if (st == CL_SUCCESS && c->fn)
		st = c->fn(c->arg);
	c->event->t_end = ferry_clock_ns();
	return st;
}

void *ferry_worker_main(void *arg)
{
	cl_command_queue q = arg;
	struct ferry_cmd *flight = NULL, **flight_tail = &flight;
	unsigned nflight = 0;

	ferry_trace_thread_name("command queue");

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct ferry_cmd *c;
		struct ferry_cmd_head *h;
		cl_int st;

		if (flight && (!q->head || q->head->nwait || !q->head->arg ||
			       !((struct ferry_cmd_head *)q->head->arg)->pipeline ||
			       nflight >= FERRY_LAUNCH_RING / 4)) {
			/*
			 * Launches are in flight and the next command may depend on
			 * them (or there is none): complete them first. So too
			 * before a quarter of the device's status ring is in flight:
			 * a fence's status is overwritten FERRY_LAUNCH_RING fences on.
			 */
			pthread_mutex_unlock(&q->lock);
			drain(q, &flight);
			flight_tail = &flight;
			nflight = 0;
			pthread_mutex_lock(&q->lock);
			continue;
		}
		if (!q->head && atomic_load(&q->refcount) > 0) {
			pthread_mutex_unlock(&q->lock);
			SPIN_UNTIL(__atomic_load_n(&q->head, __ATOMIC_ACQUIRE));
			pthread_mutex_lock(&q->lock);
		}
		while (!q->head && atomic_load(&q->refcount) > 0)
			pthread_cond_wait(&q->cond, &q->lock);
		if (!q->head)
			break; /* released, and nothing left to run */
		c = q->head;
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->lock);

		st = run(c);
		h = c->arg;
		if (st == CL_SUCCESS && h && h->fence) {
			/* issued; it completes later: keep it in flight, in order */
			c->flight = NULL;
			*flight_tail = c;
			flight_tail = &c->flight;
			nflight++;
		} else {
			retire(q, c, st);
		}
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	free_queue(q);
	return NULL;
}

/* Out of order: @c's wait list is complete (or failed). Queue and event locks held. */
static bool waits_done(struct ferry_cmd *c)
{
	while (c->ndone < c->nwait && c->wait[c->ndone]->status <= CL_COMPLETE)
		c->ndone++;
	return c->ndone == c->nwait;
}

/*
 * Out of order: the first command of @q that may run now, or NULL. A command
 * may run once the events it waits for are complete (or failed) and no
 * barrier before it is left; a marker or barrier without a wait list once
 * every earlier command retired (it is first). Queue and event locks held.
 */
static struct ferry_cmd *ooo_ready(cl_command_queue q)
{
	for (struct ferry_cmd *c = q->head; c; c = c->next) {
		if (!c->taken && (!c->after_all || c == q->head) && waits_done(c))
			return c;
		if (c->barrier)
			return NULL;
	}
	return NULL;
}

void ferry_ooo_wake(cl_command_queue q, bool all)
{
	pthread_t t;

	if (all || q->idle > (q->watching ? 1u : 0u))
		pthread_cond_broadcast(&q->cond);
	if (q->watching && (all || q->idle == 1)) {
		pthread_mutex_lock(&ferry_ev_lock);
		pthread_cond_broadcast(&ferry_ev_cond);
		pthread_mutex_unlock(&ferry_ev_lock);
	}
	if (!all && !q->idle && q->workers < FERRY_OOO_WORKERS &&
	    !pthread_create(&t, NULL, ferry_ooo_main, q)) {
		pthread_detach(t);
		q->workers++;
	}
}

/*
 * Out of order, queue and event locks held: wait until a command may have
 * become ready; the event lock is released. One idle worker watches the
 * events while commands wait for them (every status change wakes it; true
 * when this one did); the others wait for the queue (an enqueue, a retired
 * command, the release, or a call from the watcher when it takes a command:
 * another then takes over the watch).
 */
static bool ooo_idle(cl_command_queue q)
{
	bool watched = q->head && !q->watching;

	q->idle++;
	if (watched) {
		q->watching = true;
		/* the event lock, still held since the scan, is released by the wait */
		pthread_mutex_unlock(&q->lock);
		pthread_cond_wait(&ferry_ev_cond, &ferry_ev_lock);
		pthread_mutex_unlock(&ferry_ev_lock);
		pthread_mutex_lock(&q->lock);
		q->watching = false;
	} else {
		pthread_mutex_unlock(&ferry_ev_lock);
		pthread_cond_wait(&q->cond, &q->lock);
	}
	q->idle--;
	return watched;
}

/*
 * An out-of-order queue's worker: it takes the first command that may run
 * and runs it. Posted launches stay in flight while it takes further ready
 * launches (up to a quarter of the status ring); any other ready command it
 * leaves to another worker while it completes its launches, so that a copy
 * or a migration runs beside the kernels.
 */
void *ferry_ooo_main(void *arg)
{
	cl_command_queue q = arg;
	struct ferry_cmd *flight = NULL, **flight_tail = &flight;
	unsigned nflight = 0;
	bool last, watched = false;

	ferry_trace_thread_name("command queue");
	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct ferry_cmd *c;
		struct ferry_cmd_head *h;
		bool mine, wake;
		cl_int st;

		pthread_mutex_lock(&ferry_ev_lock);
		c = ooo_ready(q);
		if (!c && !flight && (q->head || atomic_load(&q->refcount))) {
			watched = ooo_idle(q); /* releases the event lock */
			continue;
		}
		h = c ? c->arg : NULL;
		/* beside launches in flight, only more launches: another worker takes the rest */
		mine = c && (!flight || (h && h->pipeline && nflight < FERRY_LAUNCH_RING / 4));
		if (mine)
			c->taken = true;
		/* another worker for another ready command, or to watch instead of this one */
		wake = c && (!mine || ooo_ready(q) || (watched && q->idle));
		watched = false;
		pthread_mutex_unlock(&ferry_ev_lock);
		if (wake)
			ferry_ooo_wake(q, false);
		if (!c && !flight)
			break; /* released, and nothing left to run */
		pthread_mutex_unlock(&q->lock);
		if (!mine) {
			drain(q, &flight);
			flight_tail = &flight;
			nflight = 0;
		} else if ((st = run(c)) == CL_SUCCESS && h && h->fence) {
			c->flight = NULL; /* issued; it completes later */
			*flight_tail = c;
			flight_tail = &c->flight;
			nflight++;
		} else {
			retire(q, c, st);
		}
		pthread_mutex_lock(&q->lock);
	}
	last = --q->workers == 0;
	pthread_mutex_unlock(&q->lock);
	if (last)
		free_queue(q);
	return NULL;
}
