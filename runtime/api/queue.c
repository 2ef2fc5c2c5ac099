/* SPDX-License-Identifier: MIT */
/* queue.c - in-order command queues and the events of their commands. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"

cl_ulong ferry_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (cl_ulong)ts.tv_sec * 1000000000ULL + (cl_ulong)ts.tv_nsec;
}

int ferry_valid_queue(cl_command_queue q)
{
	return q && q->dispatch == &ferry_dispatch && atomic_load(&q->refcount) > 0;
}

int ferry_valid_event(cl_event e)
{
	return e && e->dispatch == &ferry_dispatch && atomic_load(&e->refcount) > 0;
}

cl_int ferry_check_wait_list(cl_context ctx, cl_uint n, const cl_event *list)
{
	FERRY_RETURN_ERROR_ON((n == 0) != (list == NULL), CL_INVALID_EVENT_WAIT_LIST);
	for (cl_uint i = 0; i < n; i++) {
		FERRY_RETURN_ERROR_ON(!ferry_valid_event(list[i]), CL_INVALID_EVENT_WAIT_LIST);
		FERRY_RETURN_ERROR_ON(list[i]->context != ctx, CL_INVALID_CONTEXT);
	}
	/* Every event is complete when it is handed out: nothing to wait for. */
	return CL_SUCCESS;
}

cl_int ferry_finish_command(cl_command_queue q, cl_command_type type, cl_ulong t_queued,
			    cl_ulong t_start, cl_int status, cl_event *event)
{
	cl_event e;

	if (!event)
		return status;
	*event = NULL;
	if (status != CL_SUCCESS)
		return status; /* a failed enqueue returns no event */
	e = calloc(1, sizeof(*e));
	FERRY_RETURN_ERROR_ON(!e, CL_OUT_OF_HOST_MEMORY);
	e->dispatch = &ferry_dispatch;
	atomic_init(&e->refcount, 1);
	e->context = q->context;
	e->queue = q;
	e->type = type;
	e->status = CL_COMPLETE;
	e->t_queued = t_queued;
	e->t_submit = t_start;
	e->t_start = t_start;
	e->t_end = ferry_now_ns();
	atomic_fetch_add(&q->refcount, 1); /* an event keeps its queue */
	*event = e;
	return CL_SUCCESS;
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
	/* In-order host queues only (CL_DEVICE_QUEUE_ON_HOST_PROPERTIES). */
	FERRY_RETURN_NULL_ON(props & ~(cl_command_queue_properties)CL_QUEUE_PROFILING_ENABLE,
			     CL_INVALID_QUEUE_PROPERTIES);
	q = calloc(1, sizeof(*q));
	FERRY_RETURN_NULL_ON(!q, CL_OUT_OF_HOST_MEMORY);
	q->dispatch = &ferry_dispatch;
	atomic_init(&q->refcount, 1);
	q->context = context;
	q->device = device;
	q->props = props;
	if (properties) {
		memcpy(q->props_list, properties, n * sizeof(*properties));
		q->nprops = n + 1;
	}
	ferry_clRetainContext(context);
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
	if (atomic_fetch_sub(&q->refcount, 1) == 1) {
		cl_context c = q->context;

		q->dispatch = NULL;
		free(q);
		ferry_clReleaseContext(c);
	}
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
	return CL_SUCCESS; /* commands are submitted as they are enqueued */
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clFinish(cl_command_queue q)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	return CL_SUCCESS; /* and complete before their enqueue returns */
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
		FERRY_RETURN_ERROR_ON(event_list[i]->status < 0,
				      CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
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
	case CL_EVENT_COMMAND_EXECUTION_STATUS:
		return RET(e->status);
	case CL_EVENT_REFERENCE_COUNT:
		refs = atomic_load(&e->refcount);
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
	FERRY_RETURN_ERROR_ON(!e->queue || !(e->queue->props & CL_QUEUE_PROFILING_ENABLE),
			      CL_PROFILING_INFO_NOT_AVAILABLE);
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
		cl_command_queue q = e->queue;

		e->dispatch = NULL;
		free(e);
		if (q)
			ferry_clReleaseCommandQueue(q);
	}
	return CL_SUCCESS;
}
