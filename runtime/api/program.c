/* SPDX-License-Identifier: MIT */
/*
 * program.c - programs from a source or a binary, built, or compiled and
 * linked, by PoCL inside ferry-device; their build information.
 */
#include <stdio.h>
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

/* A new program with @source (malloc'd, taken over; NULL when out of memory), holding @context. */
static cl_program program_new(cl_context context, char *source)
{
	cl_program p = source ? calloc(1, sizeof(*p)) : NULL;

	if (!p) {
		free(source);
		return NULL;
	}
	p->source = source;
	program_init(p, context);
	return p;
}

CL_API_ENTRY cl_program CL_API_CALL ferry_clCreateProgramWithSource(cl_context context,
								    cl_uint count,
								    const char **strings,
								    const size_t *lengths,
								    cl_int *errcode_ret)
{
	size_t total = 0, o = 0;
	char *source;
	cl_program p;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(count == 0 || !strings, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < count; i++) {
		FERRY_RETURN_NULL_ON(!strings[i], CL_INVALID_VALUE);
		total += lengths && lengths[i] ? lengths[i] : strlen(strings[i]);
	}
	source = malloc(total + 1);
	for (cl_uint i = 0; source && i < count; i++) {
		size_t n = lengths && lengths[i] ? lengths[i] : strlen(strings[i]);

		memcpy(source + o, strings[i], n);
		o += n;
	}
	if (source)
		source[o] = 0;
	p = program_new(context, source);
	FERRY_RETURN_NULL_ON(!p, CL_OUT_OF_HOST_MEMORY);
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return p;
}

int ferry_program_has_executable(cl_program p)
{
	return p->status == CL_BUILD_SUCCESS &&
	       p->binary_type == CL_PROGRAM_BINARY_TYPE_EXECUTABLE && p->id;
}

/* Drop the last build, compile or link (and a loaded binary): ferry-device's program, log, options.
 */
static void forget_build(cl_program p)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	if (p->id && vas)
		ferry_program_release(vas, p->id);
	p->id = 0;
	free(p->log);
	free(p->options);
	p->log = p->options = NULL;
	p->binary_type = CL_PROGRAM_BINARY_TYPE_NONE;
}

/*
 * What a build, compile or link that returned @err leaves: its @log (a
 * FERRY_LOG_MAX buffer, taken over), its @options, the status, and
 * @type when it succeeded.
 */
static void keep_result(cl_program p, cl_int err, char *log, const char *options,
			cl_program_binary_type type)
{
	p->log = strdup(log); /* keep what the log needs, not the whole buffer */
	if (p->log)
		free(log);
	else
		p->log = log;
	p->options = strdup(options ? options : "");
	p->status = err == CL_SUCCESS ? CL_BUILD_SUCCESS : CL_BUILD_ERROR;
	p->binary_type = err == CL_SUCCESS ? type : CL_PROGRAM_BINARY_TYPE_NONE;
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
	FERRY_RETURN_ERROR_ON(program->status == CL_BUILD_IN_PROGRESS, CL_INVALID_OPERATION);
	FERRY_RETURN_ERROR_ON(atomic_load(&program->kernels) > 0, CL_INVALID_OPERATION);
	/* not from a source or a binary: made by clLinkProgram */
	FERRY_RETURN_ERROR_ON(program->linked, CL_INVALID_OPERATION);
	/* the source (or binary) and the options, each with a NUL */
	FERRY_RETURN_ERROR_ON(ls + os + 2 > FERRY_PROGRAM_MAX, CL_OUT_OF_RESOURCES);
	vas = ferry_api_vaspace(NULL);
	FERRY_RETURN_ERROR_ON(!vas, CL_DEVICE_NOT_AVAILABLE);

	log = malloc(FERRY_LOG_MAX);
	FERRY_RETURN_ERROR_ON(!log, CL_OUT_OF_HOST_MEMORY);
	forget_build(program);
	program->status = CL_BUILD_IN_PROGRESS;
	/* a binary keeps the NUL after it (binary_size counts it) */
	err = ferry_program_build(vas, program->source, program->binary, program->binary_size,
				  options ? options : "", &program->id, log, FERRY_LOG_MAX);
	keep_result(program, err, log, options, CL_PROGRAM_BINARY_TYPE_EXECUTABLE);
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
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	cl_program p;
	cl_int err;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(num_devices == 0 || !device_list, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_devices; i++)
		FERRY_RETURN_NULL_ON(device_list[i] != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_NULL_ON(num_devices != 1, CL_INVALID_DEVICE); /* the one device, once */
	FERRY_RETURN_NULL_ON(!lengths || !binaries, CL_INVALID_VALUE);
	if (!lengths[0] || !binaries[0] || lengths[0] >= FERRY_PROGRAM_MAX / 2) {
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
	/* loaded now: what the binary is (an object or a library links as it is) */
	err = vas ? ferry_program_load(vas, binaries[0], lengths[0], &p->id, &p->binary_type)
		  : CL_DEVICE_NOT_AVAILABLE;
	if (err == CL_INVALID_VALUE)
		err = CL_INVALID_BINARY; /* PoCL's word for a binary it cannot use */
	if (binary_status)
		binary_status[0] = err == CL_INVALID_BINARY ? CL_INVALID_BINARY : CL_SUCCESS;
	if (err) {
		ferry_clReleaseProgram(p);
		FERRY_RETURN_NULL_ON(1, err);
	}
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
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      &p->binary_type, sizeof(p->binary_type));
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

/*
 * The program's binary (@room bytes into @dst, or only its size): PoCL's
 * after a build, compile or link, else the one it was created with, if any.
 */
static cl_int binary(cl_program p, size_t room, unsigned char *dst, size_t *size)
{
	size_t n = p->binary ? p->binary_size - 1 : 0; /* binary_size counts a NUL */

	if (p->status == CL_BUILD_SUCCESS && p->id)
		return ferry_api_object_info(FERRY_QUERY_PROGRAM_BINARY, p->id, 0, 0, room, dst,
					     size);
	if (size)
		*size = n;
	if (dst && n && room >= n)
		memcpy(dst, p->binary, n);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetProgramInfo(cl_program p, cl_program_info param_name,
						       size_t param_value_size, void *param_value,
						       size_t *param_value_size_ret)
{
	cl_uint refs, one = 1;
	cl_bool no = CL_FALSE;
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
		FERRY_RETURN_ERROR_ON(!ferry_program_has_executable(p),
				      CL_INVALID_PROGRAM_EXECUTABLE);
		return ferry_api_object_info(FERRY_QUERY_PROGRAM, p->id, param_name, 0,
					     param_value_size, param_value, param_value_size_ret);
	case CL_PROGRAM_SCOPE_GLOBAL_CTORS_PRESENT:
	case CL_PROGRAM_SCOPE_GLOBAL_DTORS_PRESENT:
		/* no program-scope constructors or destructors run on this device */
		FERRY_RETURN_ERROR_ON(!ferry_program_has_executable(p),
				      CL_INVALID_PROGRAM_EXECUTABLE);
		return RET(no);
	case CL_PROGRAM_BINARY_SIZES:
	case CL_PROGRAM_BINARIES: {
		size_t bsize = 0;
		cl_int err = binary(p, 0, NULL, &bsize);

		FERRY_RETURN_ERROR_ON(err, err);
		if (param_name == CL_PROGRAM_BINARY_SIZES)
			return RET(bsize);
		FERRY_RETURN_ERROR_ON(param_value && param_value_size < sizeof(unsigned char *),
				      CL_INVALID_VALUE);
		if (param_value && bsize && ((unsigned char **)param_value)[0])
			err = binary(p, bsize, ((unsigned char **)param_value)[0], NULL);
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

/*
 * The programs of failed links, released: PyOpenCL 2022.3 releases such a
 * program twice (its error object's copies each release it), and the
 * second call reaches the ICD loader, which reads the handle's dispatch
 * pointer. The handle stays, dispatch intact and reference count 0, so that
 * the second release is CL_INVALID_PROGRAM rather than a use after free.
 */
static pthread_mutex_t tomb_lock = PTHREAD_MUTEX_INITIALIZER;
static cl_program tombs;

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseProgram(cl_program p)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_program(p), CL_INVALID_PROGRAM);
	if (atomic_fetch_sub(&p->refcount, 1) == 1) {
		cl_context c = p->context;

		forget_build(p);
		free(p->source);
		free(p->binary);
		p->source = NULL;
		p->binary = NULL;
		if (p->linked && p->status == CL_BUILD_ERROR) {
			pthread_mutex_lock(&tomb_lock);
			p->next_tomb = tombs;
			tombs = p;
			pthread_mutex_unlock(&tomb_lock);
		} else {
			p->dispatch = NULL;
			free(p);
		}
		ferry_clReleaseContext(c);
	}
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL
ferry_clCompileProgram(cl_program program, cl_uint num_devices, const cl_device_id *device_list,
		       const char *options, cl_uint num_input_headers,
		       const cl_program *input_headers, const char **header_include_names,
		       void(CL_CALLBACK *pfn_notify)(cl_program, void *), void *user_data)
{
	struct ferry_ctx *vas;
	size_t total = 0;
	const char **headers;
	char *log;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_program(program), CL_INVALID_PROGRAM);
	FERRY_RETURN_ERROR_ON((num_devices == 0) != (device_list == NULL), CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON((num_input_headers == 0) != (input_headers == NULL),
			      CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON((num_input_headers == 0) != (header_include_names == NULL),
			      CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_input_headers; i++) {
		FERRY_RETURN_ERROR_ON(!ferry_valid_program(input_headers[i]), CL_INVALID_PROGRAM);
		FERRY_RETURN_ERROR_ON(!header_include_names[i], CL_INVALID_VALUE);
		total += strlen(header_include_names[i]) + strlen(input_headers[i]->source) + 2;
	}
	FERRY_RETURN_ERROR_ON(!pfn_notify && user_data, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_devices; i++)
		FERRY_RETURN_ERROR_ON(device_list[i] != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_ERROR_ON(program->status == CL_BUILD_IN_PROGRESS, CL_INVALID_OPERATION);
	FERRY_RETURN_ERROR_ON(atomic_load(&program->kernels) > 0, CL_INVALID_OPERATION);
	/* no source: made from a binary or by clLinkProgram */
	FERRY_RETURN_ERROR_ON(program->binary || program->linked, CL_INVALID_OPERATION);
	/* the source, the options and the headers, each with a NUL */
	total += strlen(program->source) + (options ? strlen(options) : 0) + 2;
	FERRY_RETURN_ERROR_ON(total > FERRY_PROGRAM_MAX, CL_OUT_OF_RESOURCES);
	vas = ferry_api_vaspace(NULL);
	FERRY_RETURN_ERROR_ON(!vas, CL_DEVICE_NOT_AVAILABLE);

	/* a header is its program's source ("" for one made from a binary) */
	headers = malloc((num_input_headers + 1) * sizeof(*headers));
	log = malloc(FERRY_LOG_MAX);
	if (!headers || !log) {
		free(headers);
		free(log);
		return CL_OUT_OF_HOST_MEMORY;
	}
	for (cl_uint i = 0; i < num_input_headers; i++)
		headers[i] = input_headers[i]->source;
	forget_build(program);
	program->status = CL_BUILD_IN_PROGRESS;
	err = ferry_program_compile(vas, program->source, options ? options : "", num_input_headers,
				    header_include_names, headers, &program->id, log,
				    FERRY_LOG_MAX);
	free(headers);
	keep_result(program, err, log, options, CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT);
	if (pfn_notify)
		pfn_notify(program, user_data);
	return err;
}

/* clLinkProgram's options (section 5.8.6.4 of the specification), as parsed. */
struct link_options {
	int library;	/* -create-library */
	int enable;	/* -enable-link-options (with -create-library only) */
	unsigned math;	/* bit i: link_math[i] */
	char pocl[256]; /* what PoCL 3.1 is given */
};

/* The program link options: an executable takes them, a library with -enable-link-options. */
static const char *const link_math[] = {"-cl-denorms-are-zero",		 "-cl-no-signed-zeros",
					"-cl-unsafe-math-optimizations", "-cl-finite-math-only",
					"-cl-fast-relaxed-math",	 "-cl-no-subgroup-ifp"};
#define LINK_MATH_POCL 5 /* the first five are PoCL's too; it refuses -cl-no-subgroup-ifp */

/*
 * Parse clLinkProgram's @options into @o: 0 when they are not valid link
 * options. PoCL gets -create-library and what a library keeps; an
 * executable's math options are optimisation hints that PoCL 3.1 refuses
 * without -create-library, and are left out.
 */
static int parse_link_options(const char *options, struct link_options *o)
{
	const size_t nmath = sizeof(link_math) / sizeof(link_math[0]);
	const char *s = options ? options : "";

	memset(o, 0, sizeof(*o));
	for (;;) {
		size_t n, i = 0;

		s += strspn(s, " \t\r\n");
		n = strcspn(s, " \t\r\n");
		if (!n)
			break;
		while (i < nmath && (strlen(link_math[i]) != n || strncmp(s, link_math[i], n)))
			i++;
		if (i < nmath)
			o->math |= 1u << i;
		else if (n == 15 && !strncmp(s, "-create-library", n))
			o->library = 1;
		else if (n == 20 && !strncmp(s, "-enable-link-options", n))
			o->enable = 1;
		else
			return 0; /* a compiler option, or none at all */
		s += n;
	}
	if ((o->enable && !o->library) || (o->library && o->math && !o->enable))
		return 0;
	if (o->library)
		strcpy(o->pocl, "-create-library");
	if (o->enable)
		strcat(o->pocl, " -enable-link-options");
	for (size_t i = 0; o->enable && i < LINK_MATH_POCL; i++)
		if (o->math & (1u << i)) {
			strcat(o->pocl, " ");
			strcat(o->pocl, link_math[i]);
		}
	return 1;
}

/* An input of clLinkProgram: a compiled object or a library (compiled, linked or loaded). */
static int linkable(cl_program p)
{
	return p->id && (p->binary_type == CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT ||
			 p->binary_type == CL_PROGRAM_BINARY_TYPE_LIBRARY);
}

CL_API_ENTRY cl_program CL_API_CALL ferry_clLinkProgram(
	cl_context context, cl_uint num_devices, const cl_device_id *device_list,
	const char *options, cl_uint num_input_programs, const cl_program *input_programs,
	void(CL_CALLBACK *pfn_notify)(cl_program, void *), void *user_data, cl_int *errcode_ret)
{
	struct link_options lo;
	struct ferry_ctx *vas;
	uint64_t *ids;
	cl_program p;
	char *log;
	cl_int err;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON((num_devices == 0) != (device_list == NULL), CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(num_input_programs == 0 || !input_programs, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_input_programs; i++)
		FERRY_RETURN_NULL_ON(!ferry_valid_program(input_programs[i]), CL_INVALID_PROGRAM);
	FERRY_RETURN_NULL_ON(!pfn_notify && user_data, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_devices; i++)
		FERRY_RETURN_NULL_ON(device_list[i] != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_NULL_ON(!parse_link_options(options, &lo), CL_INVALID_LINKER_OPTIONS);
	/* each input has an object or a library for the one device (all, or none to link) */
	for (cl_uint i = 0; i < num_input_programs; i++)
		FERRY_RETURN_NULL_ON(!linkable(input_programs[i]), CL_INVALID_OPERATION);
	FERRY_RETURN_NULL_ON(num_input_programs > FERRY_PROGRAM_MAX / 2 / sizeof(*ids),
			     CL_OUT_OF_RESOURCES);
	vas = ferry_api_vaspace(NULL);
	FERRY_RETURN_NULL_ON(!vas, CL_DEVICE_NOT_AVAILABLE);

	ids = malloc(num_input_programs * sizeof(*ids));
	log = malloc(FERRY_LOG_MAX);
	p = program_new(context, strdup(""));
	if (!ids || !log || !p) {
		free(ids);
		free(log);
		if (p)
			ferry_clReleaseProgram(p);
		FERRY_RETURN_NULL_ON(1, CL_OUT_OF_HOST_MEMORY);
	}
	for (cl_uint i = 0; i < num_input_programs; i++)
		ids[i] = input_programs[i]->id;
	p->linked = 1;
	p->status = CL_BUILD_IN_PROGRESS;
	err = ferry_program_link(vas, ids, num_input_programs, lo.pocl, &p->id, log, FERRY_LOG_MAX);
	free(ids);
	if (err == CL_LINK_PROGRAM_FAILURE && !log[0])
		snprintf(log, FERRY_LOG_MAX, "the link failed (CL_LINK_PROGRAM_FAILURE)\n");
	keep_result(p, err, log, options,
		    lo.library ? CL_PROGRAM_BINARY_TYPE_LIBRARY
			       : CL_PROGRAM_BINARY_TYPE_EXECUTABLE);
	if (err != CL_SUCCESS && err != CL_LINK_PROGRAM_FAILURE) {
		ferry_clReleaseProgram(p);
		FERRY_RETURN_NULL_ON(1, err);
	}
	/* a failed link's program is returned all the same: its status and log tell why */
	if (pfn_notify)
		pfn_notify(p, user_data);
	if (errcode_ret)
		*errcode_ret = err;
	return p;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clSetProgramReleaseCallback(
	cl_program program, void(CL_CALLBACK *pfn_notify)(cl_program, void *), void *user_data)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_program(program), CL_INVALID_PROGRAM);
	FERRY_RETURN_ERROR_ON(!pfn_notify, CL_INVALID_VALUE);
	/* no program-scope global destructors (CL_PROGRAM_SCOPE_GLOBAL_DTORS_PRESENT) */
	return CL_INVALID_OPERATION;
}
