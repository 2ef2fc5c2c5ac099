/* SPDX-License-Identifier: MIT */
/* queue.c - in-order command queues and the events of their commands. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/settings.h"
#include "common/clock.h"
#include "api/api.h"
#include "transport/trace.h"

int ferry_valid_queue(cl_command_queue q)
{
	return q && q->dispatch == &ferry_dispatch && q->magic == FERRY_MAGIC_QUEUE &&
	       atomic_load(&q->refcount) > 0;
}

int ferry_valid_event(cl_event e)
{
	return e && e->dispatch == &ferry_dispatch && e->magic == FERRY_MAGIC_EVENT &&
	       atomic_load(&e->refcount) > 0;
}

/* Every event's status changes under this lock and is announced on this condition. */
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;

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

static void inflight_add(void)
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

struct ferry_cmd {
	struct ferry_cmd *next;
	cl_event event; /* the queue's reference */
	cl_uint nwait;
	cl_event *wait; /* retained */
	ferry_cmd_fn fn;
	void *arg;
};

cl_int ferry_check_wait_list(cl_context ctx, cl_uint n, const cl_event *list)
{
	FERRY_RETURN_ERROR_ON((n == 0) != (list == NULL), CL_INVALID_EVENT_WAIT_LIST);
	for (cl_uint i = 0; i < n; i++) {
		FERRY_RETURN_ERROR_ON(!ferry_valid_event(list[i]), CL_INVALID_EVENT_WAIT_LIST);
		FERRY_RETURN_ERROR_ON(list[i]->context != ctx, CL_INVALID_CONTEXT);
	}
	return CL_SUCCESS;
}

static cl_event new_event(cl_context ctx, cl_command_queue q, cl_command_type type, cl_int status)
{
	cl_event e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->dispatch = &ferry_dispatch;
	e->magic = FERRY_MAGIC_EVENT;
	atomic_init(&e->refcount, 1);
	e->context = ctx;
	e->queue = q;
	e->type = type;
	e->status = status;
	e->profiling = q && (q->props & CL_QUEUE_PROFILING_ENABLE);
	e->t_queued = ferry_clock_ns();
	ferry_clRetainContext(ctx);
	return e;
}

/* Set a status and run the callbacks it triggers, outside the lock. */
static void set_status(cl_event e, cl_int status)
{
	struct {
		void(CL_CALLBACK *fn)(cl_event, cl_int, void *);
		void *user_data;
	} run[FERRY_EVENT_CALLBACKS];
	int n = 0;

	pthread_mutex_lock(&ev_lock);
	e->status = status;
	for (int i = 0; i < e->ncallbacks; i++) {
		/* fires once its status, or an error, is reached */
		if (e->callbacks[i].fn && status <= e->callbacks[i].type) {
			run[n].fn = e->callbacks[i].fn;
			run[n++].user_data = e->callbacks[i].user_data;
			e->callbacks[i].fn = NULL;
		}
	}
	pthread_cond_broadcast(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
	for (int i = 0; i < n; i++)
		run[i].fn(e, status, run[i].user_data);
}

/*
 * Poll @cond for up to FERRY_SPIN_US before a caller blocks on a condition
 * variable: a command completes or arrives sooner than waking a thread on an
 * idle CPU would take (an empty kernel's launch: 38-44 us -> 33-35 us). @cond
 * reads shared state without its lock, as a hint only: the caller decides
 * again under the lock.
 */
#define SPIN_UNTIL(cond)                                                                           \
	do {                                                                                       \
		uint64_t _spin = ferry_spin_ns(), _t0 = _spin ? ferry_clock_ns() : 0;              \
		while (_spin && !(cond) && ferry_clock_ns() - _t0 < _spin)                         \
			sched_yield();                                                             \
	} while (0)

/* Wait until @e is complete or failed; returns its final status. */
static cl_int wait_event(cl_event e)
{
	cl_int s;

	SPIN_UNTIL(__atomic_load_n(&e->status, __ATOMIC_ACQUIRE) <= CL_COMPLETE);
	pthread_mutex_lock(&ev_lock);
	while (e->status > CL_COMPLETE)
		pthread_cond_wait(&ev_cond, &ev_lock);
	s = e->status;
	pthread_mutex_unlock(&ev_lock);
	return s;
}

static void drop_arg(void *arg)
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
	drop_arg(c->arg);
	inflight_done();
	c->event->t_end = ferry_clock_ns();
	if (FERRY_TRACE_ON())
		ferry_trace_event(FERRY_TR_COMMAND, command_name(c->event->type), c->event->t_start,
				  c->event->t_end - c->event->t_start, c->event->type,
				  (uint64_t)(int64_t)st, 0, 0);
	set_status(c->event, st == CL_SUCCESS ? CL_COMPLETE : st);
	atomic_fetch_sub(&c->event->internal, 1);
	ferry_clReleaseEvent(c->event);
	pthread_mutex_lock(&q->lock);
	q->pending--;
	free(c);
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* Wait for the launches in flight, in order, and retire them. */
static void drain(cl_command_queue q, struct ferry_cmd **flight)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	while (*flight) {
		struct ferry_cmd *c = *flight;
		struct ferry_cmd_head *h = c->arg;

		*flight = c->next;
		retire(q, c, vas ? ferry_launch_wait(vas, h->fence) : CL_DEVICE_NOT_AVAILABLE);
	}
}

static void *worker_main(void *arg)
{
	cl_command_queue q = arg;
	struct ferry_cmd *flight = NULL, **flight_tail = &flight;
	unsigned nflight = 0;

	ferry_trace_thread_name("command queue");

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct ferry_cmd *c;
		struct ferry_cmd_head *h;
		cl_int st = CL_SUCCESS;

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

		for (cl_uint i = 0; i < c->nwait; i++)
			if (wait_event(c->wait[i]) < 0)
				st = CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
		c->event->t_submit = ferry_clock_ns();
		set_status(c->event, CL_SUBMITTED);
		c->event->t_start = ferry_clock_ns();
		set_status(c->event, CL_RUNNING);
		if (st == CL_SUCCESS && c->fn)
			st = c->fn(c->arg);
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

cl_int ferry_enqueue(cl_command_queue q, cl_command_type type, cl_uint num_events,
		     const cl_event *wait_list, cl_event *event, int blocking, ferry_cmd_fn fn,
		     void *arg)
{
	struct ferry_cmd *c;
	cl_event ev;
	cl_int err = CL_OUT_OF_HOST_MEMORY;

	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->event = new_event(q->context, q, type, CL_QUEUED);
	if (c->event)
		atomic_store(&c->event->internal, 1); /* the queue's reference */
	c->wait = num_events ? malloc(num_events * sizeof(cl_event)) : NULL;
	if (!c->event || (num_events && !c->wait)) {
		if (c->event)
			ferry_clReleaseEvent(c->event);
		free(c->wait);
		free(c);
		goto fail;
	}
	for (cl_uint i = 0; i < num_events; i++) {
		c->wait[i] = wait_list[i];
		ferry_clRetainEvent(wait_list[i]);
	}
	c->nwait = num_events;
	c->fn = fn;
	c->arg = arg;
	if (event) {
		ferry_clRetainEvent(c->event);
		*event = c->event;
	}
	ev = c->event; /* the worker may free c as soon as it is queued */
	if (blocking) {
		atomic_fetch_add(&ev->internal, 1);
		ferry_clRetainEvent(ev);
	}

	inflight_add();
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->pending++;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);

	if (!blocking)
		return CL_SUCCESS;
	err = wait_event(ev);
	atomic_fetch_sub(&ev->internal, 1);
	ferry_clReleaseEvent(ev);
	return err < 0 ? err : CL_SUCCESS;
fail:
	drop_arg(arg);
	if (event)
		*event = NULL;
	return err;
}

CL_API_ENTRY cl_command_queue CL_API_CALL
ferry_clCreateCommandQueueWithProperties(cl_context context, cl_device_id device,
					 const cl_queue_properties *properties, cl_int *errcode_ret)
{
	cl_command_queue_properties props = 0;
	cl_command_queue q;
	size_t n = 0;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(device != context->device, CL_INVALID_DEVICE);
	for (; properties && properties[n]; n += 2) {
		FERRY_RETURN_NULL_ON(n >= 2, CL_INVALID_VALUE); /* one property is known */
		FERRY_RETURN_NULL_ON(properties[n] == CL_QUEUE_SIZE, CL_INVALID_QUEUE_PROPERTIES);
		FERRY_RETURN_NULL_ON(properties[n] != CL_QUEUE_PROPERTIES, CL_INVALID_VALUE);
		props = (cl_command_queue_properties)properties[n + 1];
	}
	FERRY_RETURN_NULL_ON(
		props & ~(cl_command_queue_properties)(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE |
						       CL_QUEUE_PROFILING_ENABLE |
						       CL_QUEUE_ON_DEVICE |
						       CL_QUEUE_ON_DEVICE_DEFAULT),
		CL_INVALID_VALUE);
	/* on-device queues are out of order; a default device queue is on the device */
	FERRY_RETURN_NULL_ON((props & CL_QUEUE_ON_DEVICE) &&
				     !(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((props & CL_QUEUE_ON_DEVICE_DEFAULT) && !(props & CL_QUEUE_ON_DEVICE),
			     CL_INVALID_VALUE);
	/* In-order host queues only (CL_DEVICE_QUEUE_ON_HOST_PROPERTIES). */
	FERRY_RETURN_NULL_ON(props & ~(cl_command_queue_properties)CL_QUEUE_PROFILING_ENABLE,
			     CL_INVALID_QUEUE_PROPERTIES);
	q = calloc(1, sizeof(*q));
	FERRY_RETURN_NULL_ON(!q, CL_OUT_OF_HOST_MEMORY);
	q->dispatch = &ferry_dispatch;
	q->magic = FERRY_MAGIC_QUEUE;
	atomic_init(&q->refcount, 1);
	q->context = context;
	q->device = device;
	q->props = props;
	if (properties) {
		memcpy(q->props_list, properties, n * sizeof(*properties));
		q->nprops = n + 1;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	ferry_clRetainContext(context);
	if (pthread_create(&q->worker, NULL, worker_main, q)) {
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->cond);
		free(q);
		ferry_clReleaseContext(context);
		FERRY_RETURN_NULL_ON(1, CL_OUT_OF_HOST_MEMORY);
	}
	pthread_detach(q->worker);
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return q;
}

CL_API_ENTRY cl_command_queue CL_API_CALL
ferry_clCreateCommandQueue(cl_context context, cl_device_id device,
			   cl_command_queue_properties properties, cl_int *errcode_ret)
{
	cl_queue_properties p[] = {CL_QUEUE_PROPERTIES, (cl_queue_properties)properties, 0};
	cl_command_queue q = ferry_clCreateCommandQueueWithProperties(
		context, device, properties ? p : NULL, errcode_ret);

	if (q)
		q->nprops = 0; /* the 1.x entry point has no property list */
	return q;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainCommandQueue(cl_command_queue q)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	atomic_fetch_add(&q->refcount, 1);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseCommandQueue(cl_command_queue q)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	pthread_mutex_lock(&q->lock);
	/* the worker frees the queue once its last command has run */
	if (atomic_fetch_sub(&q->refcount, 1) == 1)
		pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetCommandQueueInfo(cl_command_queue q,
							    cl_command_queue_info param_name,
							    size_t param_value_size,
							    void *param_value,
							    size_t *param_value_size_ret)
{
	cl_uint refs;
	cl_command_queue none = NULL;
	cl_uint zero = 0;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
#define RET(v) ferry_api_info(param_value_size, param_value, param_value_size_ret, &(v), sizeof(v))
	switch (param_name) {
	case CL_QUEUE_CONTEXT:
		return RET(q->context);
	case CL_QUEUE_DEVICE:
		return RET(q->device);
	case CL_QUEUE_REFERENCE_COUNT:
		refs = atomic_load(&q->refcount);
		return RET(refs);
	case CL_QUEUE_PROPERTIES:
		return RET(q->props);
	case CL_QUEUE_PROPERTIES_ARRAY:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      q->props_list, q->nprops * sizeof(cl_queue_properties));
	case CL_QUEUE_SIZE:
		return CL_INVALID_COMMAND_QUEUE; /* not a device queue */
	case CL_QUEUE_DEVICE_DEFAULT:
		return RET(none);
	default:
		(void)zero;
		return CL_INVALID_VALUE;
	}
#undef RET
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clFlush(cl_command_queue q)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	return CL_SUCCESS; /* the worker takes commands as they are enqueued */
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clFinish(cl_command_queue q)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	SPIN_UNTIL(!__atomic_load_n(&q->pending, __ATOMIC_ACQUIRE));
	pthread_mutex_lock(&q->lock);
	while (q->pending)
		pthread_cond_wait(&q->cond, &q->lock);
	pthread_mutex_unlock(&q->lock);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clWaitForEvents(cl_uint num_events,
						      const cl_event *event_list)
{
	FERRY_RETURN_ERROR_ON(num_events == 0 || !event_list, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_events; i++) {
		FERRY_RETURN_ERROR_ON(!ferry_valid_event(event_list[i]), CL_INVALID_EVENT);
		FERRY_RETURN_ERROR_ON(event_list[i]->context != event_list[0]->context,
				      CL_INVALID_CONTEXT);
	}
	for (cl_uint i = 0; i < num_events; i++)
		if (wait_event(event_list[i]) < 0)
			return CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetEventInfo(cl_event e, cl_event_info param_name,
						     size_t param_value_size, void *param_value,
						     size_t *param_value_size_ret)
{
	cl_uint refs;

	FERRY_RETURN_ERROR_ON(!ferry_valid_event(e), CL_INVALID_EVENT);
#define RET(v) ferry_api_info(param_value_size, param_value, param_value_size_ret, &(v), sizeof(v))
	switch (param_name) {
	case CL_EVENT_COMMAND_QUEUE:
		return RET(e->queue);
	case CL_EVENT_CONTEXT:
		return RET(e->context);
	case CL_EVENT_COMMAND_TYPE:
		return RET(e->type);
	case CL_EVENT_COMMAND_EXECUTION_STATUS: {
		cl_int st;

		pthread_mutex_lock(&ev_lock);
		st = e->status;
		pthread_mutex_unlock(&ev_lock);
		return RET(st);
	}
	case CL_EVENT_REFERENCE_COUNT:
		refs = atomic_load(&e->refcount) - atomic_load(&e->internal);
		return RET(refs);
	default:
		return CL_INVALID_VALUE;
	}
#undef RET
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetEventProfilingInfo(cl_event e,
							      cl_profiling_info param_name,
							      size_t param_value_size,
							      void *param_value,
							      size_t *param_value_size_ret)
{
	cl_ulong v;

	FERRY_RETURN_ERROR_ON(!ferry_valid_event(e), CL_INVALID_EVENT);
	FERRY_RETURN_ERROR_ON(!e->profiling, CL_PROFILING_INFO_NOT_AVAILABLE);
	pthread_mutex_lock(&ev_lock);
	v = (cl_ulong)(cl_long)e->status;
	pthread_mutex_unlock(&ev_lock);
	FERRY_RETURN_ERROR_ON(v != CL_COMPLETE, CL_PROFILING_INFO_NOT_AVAILABLE);
	switch (param_name) {
	case CL_PROFILING_COMMAND_QUEUED:
		v = e->t_queued;
		break;
	case CL_PROFILING_COMMAND_SUBMIT:
		v = e->t_submit;
		break;
	case CL_PROFILING_COMMAND_START:
		v = e->t_start;
		break;
	case CL_PROFILING_COMMAND_END:
	case CL_PROFILING_COMMAND_COMPLETE:
		v = e->t_end;
		break;
	default:
		return CL_INVALID_VALUE;
	}
	return ferry_api_info(param_value_size, param_value, param_value_size_ret, &v, sizeof(v));
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainEvent(cl_event e)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_event(e), CL_INVALID_EVENT);
	atomic_fetch_add(&e->refcount, 1);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseEvent(cl_event e)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_event(e), CL_INVALID_EVENT);
	if (atomic_fetch_sub(&e->refcount, 1) == 1) {
		cl_context c = e->context;

		e->dispatch = NULL;
		free(e);
		ferry_clReleaseContext(c);
	}
	return CL_SUCCESS;
}

CL_API_ENTRY cl_event CL_API_CALL ferry_clCreateUserEvent(cl_context context, cl_int *errcode_ret)
{
	cl_event e;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	e = new_event(context, NULL, CL_COMMAND_USER, CL_SUBMITTED);
	FERRY_RETURN_NULL_ON(!e, CL_OUT_OF_HOST_MEMORY);
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return e;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clSetUserEventStatus(cl_event e, cl_int status)
{
	cl_int cur;

	FERRY_RETURN_ERROR_ON(!ferry_valid_event(e) || e->type != CL_COMMAND_USER,
			      CL_INVALID_EVENT);
	FERRY_RETURN_ERROR_ON(status != CL_COMPLETE && status >= 0, CL_INVALID_VALUE);
	pthread_mutex_lock(&ev_lock);
	cur = e->status;
	pthread_mutex_unlock(&ev_lock);
	FERRY_RETURN_ERROR_ON(cur != CL_SUBMITTED, CL_INVALID_OPERATION); /* set once */
	e->t_end = ferry_clock_ns();
	set_status(e, status);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clSetEventCallback(
	cl_event e, cl_int type, void(CL_CALLBACK *fn)(cl_event, cl_int, void *), void *user_data)
{
	int now = 0;
	cl_int st;

	FERRY_RETURN_ERROR_ON(!ferry_valid_event(e), CL_INVALID_EVENT);
	FERRY_RETURN_ERROR_ON(!fn, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(type != CL_SUBMITTED && type != CL_RUNNING && type != CL_COMPLETE,
			      CL_INVALID_VALUE);
	pthread_mutex_lock(&ev_lock);
	st = e->status;
	if (st <= type) {
		now = 1; /* already reached: call at once */
	} else if (e->ncallbacks < FERRY_EVENT_CALLBACKS) {
		e->callbacks[e->ncallbacks].fn = fn;
		e->callbacks[e->ncallbacks].type = type;
		e->callbacks[e->ncallbacks++].user_data = user_data;
	} else {
		pthread_mutex_unlock(&ev_lock);
		return CL_OUT_OF_RESOURCES;
	}
	pthread_mutex_unlock(&ev_lock);
	if (now)
		fn(e, st, user_data);
	return CL_SUCCESS;
}

/* A command with no body: it completes after its wait list and, in order, every earlier command. */
static cl_int sync_point(cl_command_queue q, cl_command_type type, cl_uint num_events,
			 const cl_event *wait_list, cl_event *event)
{
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	err = ferry_check_wait_list(q->context, num_events, wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	return ferry_enqueue(q, type, num_events, wait_list, event, 0, NULL, NULL);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueMarkerWithWaitList(cl_command_queue q,
								  cl_uint num_events,
								  const cl_event *wait_list,
								  cl_event *event)
{
	return sync_point(q, CL_COMMAND_MARKER, num_events, wait_list, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueBarrierWithWaitList(cl_command_queue q,
								   cl_uint num_events,
								   const cl_event *wait_list,
								   cl_event *event)
{
	return sync_point(q, CL_COMMAND_BARRIER, num_events, wait_list, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueMarker(cl_command_queue q, cl_event *event)
{
	FERRY_RETURN_ERROR_ON(!event, CL_INVALID_VALUE);
	return ferry_clEnqueueMarkerWithWaitList(q, 0, NULL, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueBarrier(cl_command_queue q)
{
	return ferry_clEnqueueBarrierWithWaitList(q, 0, NULL, NULL);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueWaitForEvents(cl_command_queue q, cl_uint num_events,
							     const cl_event *event_list)
{
	FERRY_RETURN_ERROR_ON(num_events == 0 || !event_list, CL_INVALID_VALUE);
	return ferry_clEnqueueBarrierWithWaitList(q, num_events, event_list, NULL);
}
