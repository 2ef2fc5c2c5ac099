/* SPDX-License-Identifier: MIT */
/*
 * event.c - events: of commands (their queue's worker sets their status)
 * and user events; waiting for them, their callbacks, their profiling.
 */
#include <stdlib.h>

#include "api/command.h"

int ferry_valid_event(cl_event e)
{
	return e && e->dispatch == &ferry_dispatch && e->magic == FERRY_MAGIC_EVENT &&
	       atomic_load(&e->refcount) > 0;
}

pthread_mutex_t ferry_ev_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t ferry_ev_cond = PTHREAD_COND_INITIALIZER;

cl_int ferry_check_wait_list(cl_context ctx, cl_uint n, const cl_event *list)
{
	FERRY_RETURN_ERROR_ON((n == 0) != (list == NULL), CL_INVALID_EVENT_WAIT_LIST);
	for (cl_uint i = 0; i < n; i++) {
		FERRY_RETURN_ERROR_ON(!ferry_valid_event(list[i]), CL_INVALID_EVENT_WAIT_LIST);
		FERRY_RETURN_ERROR_ON(list[i]->context != ctx, CL_INVALID_CONTEXT);
	}
	return CL_SUCCESS;
}

cl_event ferry_event_new(cl_context ctx, cl_command_queue q, cl_command_type type, cl_int status)
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

void ferry_event_set_status(cl_event e, cl_int status)
{
	struct {
		void(CL_CALLBACK *fn)(cl_event, cl_int, void *);
		void *user_data;
	} run[FERRY_EVENT_CALLBACKS];
	int n = 0;

	pthread_mutex_lock(&ferry_ev_lock);
	e->status = status;
	for (int i = 0; i < e->ncallbacks; i++) {
		/* fires once its status, or an error, is reached */
		if (e->callbacks[i].fn && status <= e->callbacks[i].type) {
			run[n].fn = e->callbacks[i].fn;
			run[n++].user_data = e->callbacks[i].user_data;
			e->callbacks[i].fn = NULL;
		}
	}
	pthread_cond_broadcast(&ferry_ev_cond);
	pthread_mutex_unlock(&ferry_ev_lock);
	for (int i = 0; i < n; i++)
		run[i].fn(e, status, run[i].user_data);
}

cl_int ferry_event_wait(cl_event e)
{
	cl_int s;

	SPIN_UNTIL(__atomic_load_n(&e->status, __ATOMIC_ACQUIRE) <= CL_COMPLETE);
	pthread_mutex_lock(&ferry_ev_lock);
	while (e->status > CL_COMPLETE)
		pthread_cond_wait(&ferry_ev_cond, &ferry_ev_lock);
	s = e->status;
	pthread_mutex_unlock(&ferry_ev_lock);
	return s;
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
		if (ferry_event_wait(event_list[i]) < 0)
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

		pthread_mutex_lock(&ferry_ev_lock);
		st = e->status;
		pthread_mutex_unlock(&ferry_ev_lock);
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
	pthread_mutex_lock(&ferry_ev_lock);
	v = (cl_ulong)(cl_long)e->status;
	pthread_mutex_unlock(&ferry_ev_lock);
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
	e = ferry_event_new(context, NULL, CL_COMMAND_USER, CL_SUBMITTED);
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
	pthread_mutex_lock(&ferry_ev_lock);
	cur = e->status;
	pthread_mutex_unlock(&ferry_ev_lock);
	FERRY_RETURN_ERROR_ON(cur != CL_SUBMITTED, CL_INVALID_OPERATION); /* set once */
	e->t_end = ferry_clock_ns();
	ferry_event_set_status(e, status);
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
	pthread_mutex_lock(&ferry_ev_lock);
	st = e->status;
	if (st <= type) {
		now = 1; /* already reached: call at once */
	} else if (e->ncallbacks < FERRY_EVENT_CALLBACKS) {
		e->callbacks[e->ncallbacks].fn = fn;
		e->callbacks[e->ncallbacks].type = type;
		e->callbacks[e->ncallbacks++].user_data = user_data;
	} else {
		pthread_mutex_unlock(&ferry_ev_lock);
		return CL_OUT_OF_RESOURCES;
	}
	pthread_mutex_unlock(&ferry_ev_lock);
	if (now)
		fn(e, st, user_data);
	return CL_SUCCESS;
}
