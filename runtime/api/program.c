/* SPDX-License-Identifier: MIT */
/* program.c - programs from source, built by PoCL inside ferry-device. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

int ferry_valid_program(cl_program p)
{
	return p && p->dispatch == &ferry_dispatch && p->magic == FERRY_MAGIC_PROGRAM &&
	       atomic_load(&p->refcount) > 0;
}

/* A new program's handle and state; it holds its context. */
static void program_init(cl_program p, cl_context context)
{
	p->dispatch = &ferry_dispatch;
	p->magic = FERRY_MAGIC_PROGRAM;
	atomic_init(&p->refcount, 1);
	atomic_init(&p->kernels, 0);
	p->context = context;
	p->status = CL_BUILD_NONE;
	ferry_clRetainContext(context);
}

CL_API_ENTRY cl_program CL_API_CALL ferry_clCreateProgramWithSource(cl_context context,
								    cl_uint count,
								    const char **strings,
								    const size_t *lengths,
								    cl_int *errcode_ret)
{
	size_t total = 0, o = 0;
	cl_program p;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(count == 0 || !strings, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < count; i++) {
		FERRY_RETURN_NULL_ON(!strings[i], CL_INVALID_VALUE);
		total += lengths && lengths[i] ? lengths[i] : strlen(strings[i]);
	}
	p = calloc(1, sizeof(*p));
	FERRY_RETURN_NULL_ON(!p, CL_OUT_OF_HOST_MEMORY);
	p->source = malloc(total + 1);
	if (!p->source) {
		free(p);
		FERRY_RETURN_NULL_ON(1, CL_OUT_OF_HOST_MEMORY);
	}
	for (cl_uint i = 0; i < count; i++) {
		size_t n = lengths && lengths[i] ? lengths[i] : strlen(strings[i]);

		memcpy(p->source + o, strings[i], n);
		o += n;
	}
	p->source[o] = 0;
	program_init(p, context);
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return p;
}

static void forget_build(cl_program p)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	if (p->id && vas)
		ferry_program_release(vas, p->id);
	p->id = 0;
	free(p->log);
	free(p->options);
	p->log = p->options = NULL;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clBuildProgram(
	cl_program program, cl_uint num_devices, const cl_device_id *device_list,
	const char *options, void(CL_CALLBACK *pfn_notify)(cl_program, void *), void *user_data)
{
	struct ferry_ctx *vas;
	int from_binary = program && ferry_valid_program(program) && program->binary;
	size_t ls = from_binary ? program->binary_size - 1
				: strlen(program && ferry_valid_program(program) ? program->source
										 : "");
	size_t os = options ? strlen(options) : 0;
	char *log;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_program(program), CL_INVALID_PROGRAM);
	FERRY_RETURN_ERROR_ON((num_devices == 0) != (device_list == NULL), CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_devices; i++)
		FERRY_RETURN_ERROR_ON(device_list[i] != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_ERROR_ON(!pfn_notify && user_data, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(atomic_load(&program->kernels) > 0, CL_INVALID_OPERATION);
	/* the source (or binary) and the options, each with a NUL */
	FERRY_RETURN_ERROR_ON(ls + os + 2 > FERRY_COMPUTE_MAX, CL_OUT_OF_RESOURCES);
	vas = ferry_api_vaspace(NULL);
	FERRY_RETURN_ERROR_ON(!vas, CL_DEVICE_NOT_AVAILABLE);

	log = malloc(FERRY_COMPUTE_MAX);
	FERRY_RETURN_ERROR_ON(!log, CL_OUT_OF_HOST_MEMORY);
	forget_build(program);
	program->status = CL_BUILD_IN_PROGRESS;
	/* a binary keeps the NUL after it (binary_size counts it) */
	err = ferry_program_build(vas, program->source, program->binary, program->binary_size,
				  options ? options : "", &program->id, log, FERRY_COMPUTE_MAX);
	program->log = strdup(log); /* keep what the log needs, not the whole buffer */
	if (program->log)
		free(log);
	else
		program->log = log;
	program->options = strdup(options ? options : "");
	program->status = err == CL_SUCCESS ? CL_BUILD_SUCCESS : CL_BUILD_ERROR;
	if (pfn_notify)
		pfn_notify(program, user_data);
	/* PoCL's word for a binary it cannot use */
	return from_binary && err == CL_INVALID_VALUE ? CL_INVALID_BINARY : err;
}

CL_API_ENTRY cl_program CL_API_CALL ferry_clCreateProgramWithBinary(
	cl_context context, cl_uint num_devices, const cl_device_id *device_list,
	const size_t *lengths, const unsigned char **binaries, cl_int *binary_status,
	cl_int *errcode_ret)
{
	cl_program p;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(num_devices == 0 || !device_list, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_devices; i++)
		FERRY_RETURN_NULL_ON(device_list[i] != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_NULL_ON(num_devices != 1, CL_INVALID_DEVICE); /* the one device, once */
	FERRY_RETURN_NULL_ON(!lengths || !binaries, CL_INVALID_VALUE);
	if (!lengths[0] || !binaries[0] || lengths[0] >= FERRY_COMPUTE_MAX / 2) {
		if (binary_status)
			binary_status[0] = CL_INVALID_VALUE;
		FERRY_RETURN_NULL_ON(1, CL_INVALID_VALUE);
	}
	p = calloc(1, sizeof(*p));
	FERRY_RETURN_NULL_ON(!p, CL_OUT_OF_HOST_MEMORY);
	p->source = strdup("");
	/* one extra byte, so that the build payload can treat it like a source's NUL */
	p->binary = malloc(lengths[0] + 1);
	if (!p->source || !p->binary) {
		free(p->source);
		free(p->binary);
		free(p);
		FERRY_RETURN_NULL_ON(1, CL_OUT_OF_HOST_MEMORY);
	}
	memcpy(p->binary, binaries[0], lengths[0]);
	p->binary[lengths[0]] = 0;
	p->binary_size = lengths[0] + 1;
	program_init(p, context);
	if (binary_status)
		binary_status[0] = CL_SUCCESS;
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return p;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetProgramBuildInfo(cl_program p, cl_device_id device,
							    cl_program_build_info param_name,
							    size_t param_value_size,
							    void *param_value,
							    size_t *param_value_size_ret)
{
	cl_program_binary_type bt;
	const char *s;

	FERRY_RETURN_ERROR_ON(!ferry_valid_program(p), CL_INVALID_PROGRAM);
	FERRY_RETURN_ERROR_ON(device != &ferry_device, CL_INVALID_DEVICE);
	switch (param_name) {
	case CL_PROGRAM_BUILD_STATUS:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      &p->status, sizeof(p->status));
	case CL_PROGRAM_BUILD_OPTIONS:
		s = p->options ? p->options : "";
		break;
	case CL_PROGRAM_BUILD_LOG:
		s = p->log ? p->log : "";
		break;
	case CL_PROGRAM_BINARY_TYPE:
		bt = p->status == CL_BUILD_SUCCESS ? CL_PROGRAM_BINARY_TYPE_EXECUTABLE
						   : CL_PROGRAM_BINARY_TYPE_NONE;
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, &bt,
				      sizeof(bt));
	case CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE: {
		size_t zero = 0;

		return ferry_api_info(param_value_size, param_value, param_value_size_ret, &zero,
				      sizeof(zero));
	}
	default:
		return CL_INVALID_VALUE;
	}
	return ferry_api_info(param_value_size, param_value, param_value_size_ret, s,
			      strlen(s) + 1);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetProgramInfo(cl_program p, cl_program_info param_name,
						       size_t param_value_size, void *param_value,
						       size_t *param_value_size_ret)
{
	cl_uint refs, one = 1;
	cl_device_id dev = &ferry_device;

	FERRY_RETURN_ERROR_ON(!ferry_valid_program(p), CL_INVALID_PROGRAM);
#define RET(v) ferry_api_info(param_value_size, param_value, param_value_size_ret, &(v), sizeof(v))
	switch (param_name) {
	case CL_PROGRAM_REFERENCE_COUNT:
		refs = atomic_load(&p->refcount);
		return RET(refs);
	case CL_PROGRAM_CONTEXT:
		return RET(p->context);
	case CL_PROGRAM_NUM_DEVICES:
		return RET(one);
	case CL_PROGRAM_DEVICES:
		return RET(dev);
	case CL_PROGRAM_SOURCE:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      p->source, strlen(p->source) + 1);
	case CL_PROGRAM_NUM_KERNELS:
	case CL_PROGRAM_KERNEL_NAMES:
		FERRY_RETURN_ERROR_ON(p->status != CL_BUILD_SUCCESS || !p->id,
				      CL_INVALID_PROGRAM_EXECUTABLE);
		return ferry_api_object_info(FERRY_QUERY_PROGRAM, p->id, param_name, 0,
					     param_value_size, param_value, param_value_size_ret);
	case CL_PROGRAM_BINARY_SIZES:
	case CL_PROGRAM_BINARIES: {
		size_t bsize = 0;
		cl_int err = CL_SUCCESS;

		/* no binary before a successful build */
		if (p->status == CL_BUILD_SUCCESS && p->id)
			err = ferry_api_object_info(FERRY_QUERY_PROGRAM_BINARY, p->id, 0, 0, 0,
						    NULL, &bsize);
		FERRY_RETURN_ERROR_ON(err, err);
		if (param_name == CL_PROGRAM_BINARY_SIZES)
			return RET(bsize);
		FERRY_RETURN_ERROR_ON(param_value && param_value_size < sizeof(unsigned char *),
				      CL_INVALID_VALUE);
		if (param_value && bsize && ((unsigned char **)param_value)[0])
			err = ferry_api_object_info(FERRY_QUERY_PROGRAM_BINARY, p->id, 0, 0, bsize,
						    ((unsigned char **)param_value)[0], NULL);
		FERRY_RETURN_ERROR_ON(err, err);
		if (param_value_size_ret)
			*param_value_size_ret = sizeof(unsigned char *);
		return CL_SUCCESS;
	}
	case CL_PROGRAM_IL:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, NULL, 0);
	default:
		return CL_INVALID_VALUE;
	}
#undef RET
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainProgram(cl_program p)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_program(p), CL_INVALID_PROGRAM);
	atomic_fetch_add(&p->refcount, 1);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseProgram(cl_program p)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_program(p), CL_INVALID_PROGRAM);
	if (atomic_fetch_sub(&p->refcount, 1) == 1) {
		cl_context c = p->context;

		forget_build(p);
		free(p->source);
		free(p->binary);
		p->dispatch = NULL;
		free(p);
		ferry_clReleaseContext(c);
	}
	return CL_SUCCESS;
}
