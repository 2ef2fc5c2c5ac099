/* SPDX-License-Identifier: MIT */
/* context.c - contexts: the one device, properties, reference counts, destructor callbacks. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

/* Check and copy a 0-terminated property list (only CL_CONTEXT_PLATFORM is known). */
static cl_int copy_properties(cl_context c, const cl_context_properties *p)
{
	size_t n = 0;
	int seen_platform = 0, seen_sync = 0;

	if (!p)
		return CL_SUCCESS;
	for (; p[n]; n += 2) {
		FERRY_RETURN_ERROR_ON(n + 3 > sizeof(c->props) / sizeof(c->props[0]),
				      CL_INVALID_PROPERTY);
		switch (p[n]) {
		case CL_CONTEXT_PLATFORM:
			FERRY_RETURN_ERROR_ON(seen_platform, CL_INVALID_PROPERTY);
			FERRY_RETURN_ERROR_ON((cl_platform_id)p[n + 1] != &ferry_platform,
					      CL_INVALID_PLATFORM);
			seen_platform = 1;
			break;
		case CL_CONTEXT_INTEROP_USER_SYNC: /* a cl_bool, once */
			FERRY_RETURN_ERROR_ON(seen_sync, CL_INVALID_PROPERTY);
			FERRY_RETURN_ERROR_ON(p[n + 1] != CL_TRUE && p[n + 1] != CL_FALSE,
					      CL_INVALID_PROPERTY);
			seen_sync = 1;
			break;
		default:
			return CL_INVALID_PROPERTY;
		}
		c->props[n] = p[n];
		c->props[n + 1] = p[n + 1];
	}
	c->props[n] = 0;
	c->nprops = n + 1;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_context CL_API_CALL ferry_clCreateContext(
	const cl_context_properties *properties, cl_uint num_devices, const cl_device_id *devices,
	void(CL_CALLBACK *pfn_notify)(const char *, const void *, size_t, void *), void *user_data,
	cl_int *errcode_ret)
{
	cl_context c;
	cl_int err;
	int oserr;

	FERRY_RETURN_NULL_ON(!devices || num_devices == 0, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(!pfn_notify && user_data, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_devices; i++)
		FERRY_RETURN_NULL_ON(devices[i] != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_NULL_ON(!ferry_api_vaspace(&oserr), CL_DEVICE_NOT_AVAILABLE);
	c = calloc(1, sizeof(*c));
	FERRY_RETURN_NULL_ON(!c, CL_OUT_OF_HOST_MEMORY);
	c->dispatch = &ferry_dispatch;
	c->magic = FERRY_MAGIC_CONTEXT;
	atomic_init(&c->refcount, 1);
	c->device = &ferry_device;
	c->notify = pfn_notify;
	c->user_data = user_data;
	err = copy_properties(c, properties);
	if (err) {
		free(c);
		FERRY_RETURN_NULL_ON(1, err);
	}
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return c;
}

CL_API_ENTRY cl_context CL_API_CALL ferry_clCreateContextFromType(
	const cl_context_properties *properties, cl_device_type device_type,
	void(CL_CALLBACK *pfn_notify)(const char *, const void *, size_t, void *), void *user_data,
	cl_int *errcode_ret)
{
	cl_device_id dev;
	cl_int err = ferry_clGetDeviceIDs(NULL, device_type, 1, &dev, NULL);

	FERRY_RETURN_NULL_ON(err, err);
	return ferry_clCreateContext(properties, 1, &dev, pfn_notify, user_data, errcode_ret);
}

int ferry_valid_context(cl_context c)
{
	return c && c->dispatch == &ferry_dispatch && c->magic == FERRY_MAGIC_CONTEXT &&
	       atomic_load(&c->refcount) > 0;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainContext(cl_context context)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	atomic_fetch_add(&context->refcount, 1);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseContext(cl_context context)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	if (atomic_fetch_sub(&context->refcount, 1) == 1) {
		/* the destructor callbacks, the last registered first, before the context goes */
		for (struct ferry_context_dtor *d = context->dtors, *next; d; d = next) {
			next = d->next;
			d->fn(context, d->user_data);
			free(d);
		}
		context->dispatch = NULL;
		free(context);
	}
	return CL_SUCCESS;
}

/* Serialises the registration of destructor callbacks (a context has no lock of its own). */
static pthread_mutex_t dtor_lock = PTHREAD_MUTEX_INITIALIZER;

CL_API_ENTRY cl_int CL_API_CALL ferry_clSetContextDestructorCallback(
	cl_context context, void(CL_CALLBACK *pfn_notify)(cl_context, void *), void *user_data)
{
	struct ferry_context_dtor *d;

	FERRY_RETURN_ERROR_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_ERROR_ON(!pfn_notify, CL_INVALID_VALUE);
	d = malloc(sizeof(*d));
	FERRY_RETURN_ERROR_ON(!d, CL_OUT_OF_HOST_MEMORY);
	d->fn = pfn_notify;
	d->user_data = user_data;
	pthread_mutex_lock(&dtor_lock);
	d->next = context->dtors;
	context->dtors = d;
	pthread_mutex_unlock(&dtor_lock);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetContextInfo(cl_context context,
						       cl_context_info param_name,
						       size_t param_value_size, void *param_value,
						       size_t *param_value_size_ret)
{
	cl_uint refs, ndev = 1;

	FERRY_RETURN_ERROR_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	switch (param_name) {
	case CL_CONTEXT_REFERENCE_COUNT:
		refs = atomic_load(&context->refcount);
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, &refs,
				      sizeof(refs));
	case CL_CONTEXT_NUM_DEVICES:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, &ndev,
				      sizeof(ndev));
	case CL_CONTEXT_DEVICES:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      &context->device, sizeof(context->device));
	case CL_CONTEXT_PROPERTIES:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      context->props,
				      context->nprops * sizeof(cl_context_properties));
	default:
		return CL_INVALID_VALUE;
	}
}
