/* SPDX-License-Identifier: MIT */
/*
 * worker.c - the worker thread of an in-order queue: it runs the commands
 * in order, pipelines kernel launches and retires them.
 */
#include <stdlib.h>

#include "api/command.h"
#include "transport/trace.h"

/*
 * Commands enqueued on any queue and not yet complete, and SVM frees deferred
 * until that drops to zero (clSVMFree must not pull memory from under a
 * queued kernel: the free waits for the queues instead, like cudaFree).
 */
static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long inflight;
static struct deferred {
	struct deferred *next;
	void *ptr;
} * deferred_frees;

int ferry_defer_svm_free(void *ptr)
{
	struct deferred *d;
	int deferred = 0;

	pthread_mutex_lock(&inflight_lock);
	if (inflight) {
		d = malloc(sizeof(*d));
		if (d) {
			d->ptr = ptr;
			d->next = deferred_frees;
			deferred_frees = d;
			deferred = 1;
		}
	}
	pthread_mutex_unlock(&inflight_lock);
	return deferred;
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

		if (vas)
			ferry_free(vas, list->ptr);
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

/* Retire a command: final status, dependencies and argument dropped, queue bookkeeping. */
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
	q->pending--;
	free(c);
	pthread_cond_broadcast(&q->cond);
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

		*flight = c->next;
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
			c->next = NULL;
			*flight_tail = c;
			flight_tail = &c->next;
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
