/* SPDX-License-Identifier: MIT */
/*
 * queue.c - command queues, in order and out of order: creation, queries,
 * flush and finish, enqueueing a command, markers and barriers. Their
 * worker threads are in worker.c, the events of their commands in event.c.
 */
#include <stdlib.h>
#include <string.h>

#include "api/command.h"

int ferry_valid_queue(cl_command_queue q)
{
	return q && q->dispatch == &ferry_dispatch && q->magic == FERRY_MAGIC_QUEUE &&
	       atomic_load(&q->refcount) > 0;
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
	c->event = ferry_event_new(q->context, q, type, CL_QUEUED);
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
	/* out of order: a barrier holds later commands back; with no wait list, it waits for all */
	c->barrier = type == CL_COMMAND_BARRIER;
	c->after_all = (type == CL_COMMAND_BARRIER || type == CL_COMMAND_MARKER) && !num_events;
	if (event) {
		ferry_clRetainEvent(c->event);
		*event = c->event;
	}
	ev = c->event; /* the worker may free c as soon as it is queued */
	if (blocking) {
		atomic_fetch_add(&ev->internal, 1);
		ferry_clRetainEvent(ev);
	}

	ferry_inflight_add();
	pthread_mutex_lock(&q->lock);
	c->prev = q->tail;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->pending++;
	if (ferry_queue_ooo(q))
		ferry_ooo_wake(q, false);
	else
		pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);

	if (!blocking)
		return CL_SUCCESS;
	err = ferry_event_wait(ev);
	atomic_fetch_sub(&ev->internal, 1);
	ferry_clReleaseEvent(ev);
	return err < 0 ? err : CL_SUCCESS;
fail:
	ferry_drop_arg(arg);
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
	/* Host queues only (CL_DEVICE_QUEUE_ON_HOST_PROPERTIES). */
	FERRY_RETURN_NULL_ON(
		props & ~(cl_command_queue_properties)(CL_QUEUE_PROFILING_ENABLE |
						       CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE),
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
	q->workers = 1; /* out of order, more start as commands wait for a worker */
	if (pthread_create(&q->worker, NULL,
			   ferry_queue_ooo(q) ? ferry_ooo_main : ferry_worker_main, q)) {
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
	/* the (last) worker frees the queue once the last command has run */
	if (atomic_fetch_sub(&q->refcount, 1) == 1) {
		if (ferry_queue_ooo(q))
			ferry_ooo_wake(q, true);
		else
			pthread_cond_broadcast(&q->cond);
	}
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

/*
 * A command with no body: it completes after its wait list and, in order,
 * every earlier command; out of order, a marker or a barrier without a wait
 * list waits for every earlier command, and a barrier holds later ones back
 * (ferry_enqueue()).
 */
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
