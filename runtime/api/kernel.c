/* SPDX-License-Identifier: MIT */
/* kernel.c - kernels, their arguments, and clEnqueueNDRangeKernel. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

int ferry_valid_kernel(cl_kernel k)
{
	return k && k->dispatch == &ferry_dispatch && k->magic == FERRY_MAGIC_KERNEL &&
	       atomic_load(&k->refcount) > 0;
}

/* Bytes of a by-value OpenCL C scalar or vector type ("int", "float4", "uchar16"), 0 if unknown. */
static size_t type_size(const char *t)
{
	static const struct {
		const char *name;
		size_t size;
	} base[] = {{"char", 1},   {"uchar", 1},     {"short", 2},    {"ushort", 2},
		    {"int", 4},	   {"uint", 4},	     {"long", 8},     {"ulong", 8},
		    {"float", 4},  {"double", 8},    {"half", 2},     {"bool", 1},
		    {"size_t", 8}, {"ptrdiff_t", 8}, {"intptr_t", 8}, {"uintptr_t", 8}};
	char name[32];
	size_t n = 0, width = 1;

	if (!strncmp(t, "unsigned ", 9)) {
		name[n++] = 'u';
		t += 9;
	}
	while (*t && (*t < '0' || *t > '9') && n < sizeof(name) - 1)
		name[n++] = *t++;
	name[n] = 0;
	if (*t) {
		width = strtoul(t, NULL, 10);
		if (width == 3)
			width = 4; /* a 3-vector is stored as a 4-vector */
	}
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if (!strcmp(name, base[i].name))
			return base[i].size * width;
	return 0;
}

/* What the compiler knows of the kernel: argument kinds and work-group limits. */
static void describe(cl_kernel k, uint64_t id)
{
	size_t dims[3] = {0};

	for (cl_uint i = 0; i < k->nargs; i++) {
		char tname[128] = "";

		if (ferry_api_object_info(FERRY_QUERY_KERNEL_ARG, id,
					  CL_KERNEL_ARG_ADDRESS_QUALIFIER, i,
					  sizeof(k->args[i].address), &k->args[i].address, NULL))
			k->args[i].address = 0;
		if (ferry_api_object_info(FERRY_QUERY_KERNEL_ARG, id, CL_KERNEL_ARG_TYPE_NAME, i,
					  sizeof(tname) - 1, tname, NULL))
			continue;
		if (!strncmp(tname, "image", 5))
			k->args[i].object = FERRY_ARG_IMAGE;
		else if (!strcmp(tname, "sampler_t"))
			k->args[i].object = FERRY_ARG_SAMPLER;
		else if (k->args[i].address == CL_KERNEL_ARG_ADDRESS_PRIVATE)
			k->args[i].type_size = type_size(tname);
		if (k->args[i].object == FERRY_ARG_IMAGE &&
		    ferry_api_object_info(FERRY_QUERY_KERNEL_ARG, id,
					  CL_KERNEL_ARG_ACCESS_QUALIFIER, i,
					  sizeof(k->args[i].access), &k->args[i].access, NULL))
			k->args[i].access = CL_KERNEL_ARG_ACCESS_NONE;
	}
	if (ferry_api_object_info(FERRY_QUERY_KERNEL_WG, id, CL_KERNEL_WORK_GROUP_SIZE, 0,
				  sizeof(k->max_wg), &k->max_wg, NULL))
		k->max_wg = 0;
	if (ferry_api_object_info(FERRY_QUERY_KERNEL_WG, id, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, 0,
				  sizeof(k->reqd_wg), k->reqd_wg, NULL))
		memset(k->reqd_wg, 0, sizeof(k->reqd_wg));
	if (ferry_clGetDeviceInfo(&ferry_device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof(dims), dims,
				  NULL) == CL_SUCCESS)
		memcpy(k->max_items, dims, sizeof(dims));
}

/*
 * A new kernel @name of @program: ferry-device's kernel and the handle,
 * which holds the program; the compiler's description is the caller's.
 */
static cl_kernel kernel_new(struct ferry_ctx *vas, cl_program program, const char *name,
			    cl_int *errcode_ret)
{
	uint64_t id = 0;
	cl_uint nargs = 0;
	cl_kernel k;
	cl_int err = ferry_kernel_create(vas, program->id, name, &id, &nargs);

	FERRY_RETURN_NULL_ON(err, err);
	k = calloc(1, sizeof(*k));
	if (k) {
		k->name = strdup(name);
		k->args = calloc(nargs ? nargs : 1, sizeof(*k->args));
	}
	if (!k || !k->name || !k->args) {
		ferry_kernel_release(vas, id);
		if (k) {
			free(k->name);
			free(k->args);
		}
		free(k);
		FERRY_RETURN_NULL_ON(1, CL_OUT_OF_HOST_MEMORY);
	}
	k->dispatch = &ferry_dispatch;
	k->magic = FERRY_MAGIC_KERNEL;
	atomic_init(&k->refcount, 1);
	k->program = program;
	k->id = id;
	k->nargs = nargs;
	ferry_clRetainProgram(program);
	atomic_fetch_add(&program->kernels, 1);
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return k;
}

CL_API_ENTRY cl_kernel CL_API_CALL ferry_clCreateKernel(cl_program program, const char *kernel_name,
							cl_int *errcode_ret)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	cl_kernel k;

	FERRY_RETURN_NULL_ON(!ferry_valid_program(program), CL_INVALID_PROGRAM);
	FERRY_RETURN_NULL_ON(!ferry_program_has_executable(program), CL_INVALID_PROGRAM_EXECUTABLE);
	FERRY_RETURN_NULL_ON(!kernel_name, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(strlen(kernel_name) + 1 > 4096, CL_INVALID_KERNEL_NAME);
	FERRY_RETURN_NULL_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	k = kernel_new(vas, program, kernel_name, errcode_ret);
	if (k)
		describe(k, k->id);
	return k;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clCreateKernelsInProgram(cl_program program,
							       cl_uint num_kernels,
							       cl_kernel *kernels,
							       cl_uint *num_kernels_ret)
{
	size_t size = 0;
	cl_uint n = 0, made = 0;
	char *names, *name, *save = NULL;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_program(program), CL_INVALID_PROGRAM);
	FERRY_RETURN_ERROR_ON(!ferry_program_has_executable(program),
			      CL_INVALID_PROGRAM_EXECUTABLE);
	err = ferry_api_object_info(FERRY_QUERY_PROGRAM, program->id, CL_PROGRAM_KERNEL_NAMES, 0, 0,
				    NULL, &size);
	FERRY_RETURN_ERROR_ON(err, err);
	names = malloc(size ? size : 1);
	FERRY_RETURN_ERROR_ON(!names, CL_OUT_OF_HOST_MEMORY);
	names[0] = '\0';
	err = size ? ferry_api_object_info(FERRY_QUERY_PROGRAM, program->id,
					   CL_PROGRAM_KERNEL_NAMES, 0, size, names, NULL)
		   : CL_SUCCESS;
	/* "a;b;c": one kernel a name */
	for (const char *c = names; !err && *c; c += strcspn(c, ";"), c += *c == ';')
		n += strcspn(c, ";") > 0;
	if (!err && kernels && num_kernels < n)
		err = CL_INVALID_VALUE;
	for (name = strtok_r(names, ";", &save); !err && kernels && name;
	     name = strtok_r(NULL, ";", &save)) {
		kernels[made] = ferry_clCreateKernel(program, name, &err);
		made += !err;
	}
	free(names);
	if (err) {
		/* all or nothing */
		while (made)
			ferry_clReleaseKernel(kernels[--made]);
		return err;
	}
	if (num_kernels_ret)
		*num_kernels_ret = n;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_kernel CL_API_CALL ferry_clCloneKernel(cl_kernel source_kernel, cl_int *errcode_ret)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	cl_kernel k;

	FERRY_RETURN_NULL_ON(!ferry_valid_kernel(source_kernel), CL_INVALID_KERNEL);
	FERRY_RETURN_NULL_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	/* a kernel of its own in ferry-device: arguments are set there at each launch */
	k = kernel_new(vas, source_kernel->program, source_kernel->name, errcode_ret);
	if (!k)
		return NULL;
	k->max_wg = source_kernel->max_wg;
	memcpy(k->reqd_wg, source_kernel->reqd_wg, sizeof(k->reqd_wg));
	memcpy(k->max_items, source_kernel->max_items, sizeof(k->max_items));
	/*
	 * The arguments as they are now, copied; the SVM execution information
	 * has nothing to copy (clSetKernelExecInfo keeps none: every window
	 * address is reachable from the device).
	 */
	for (cl_uint i = 0; i < k->nargs; i++) {
		struct ferry_kernel_arg *a = &k->args[i];

		*a = source_kernel->args[i];
		a->value = NULL;
		if (source_kernel->args[i].value) {
			a->value = malloc(a->size ? a->size : 1);
			if (!a->value) {
				ferry_clReleaseKernel(k);
				FERRY_RETURN_NULL_ON(1, CL_OUT_OF_HOST_MEMORY);
			}
			memcpy(a->value, source_kernel->args[i].value, a->size);
		}
	}
	return k;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainKernel(cl_kernel k)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(k), CL_INVALID_KERNEL);
	atomic_fetch_add(&k->refcount, 1);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseKernel(cl_kernel k)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(k), CL_INVALID_KERNEL);
	if (atomic_fetch_sub(&k->refcount, 1) == 1) {
		struct ferry_ctx *vas = ferry_api_vaspace(NULL);
		cl_program p = k->program;

		if (vas)
			ferry_kernel_release(vas, k->id);
		for (cl_uint i = 0; i < k->nargs; i++)
			free(k->args[i].value);
		free(k->args);
		free(k->name);
		k->dispatch = NULL;
		free(k);
		atomic_fetch_sub(&p->kernels, 1);
		ferry_clReleaseProgram(p);
	}
	return CL_SUCCESS;
}

/* CL_DEVICE_LOCAL_MEM_SIZE, asked of the device once (0: unknown): a __local argument's limit. */
static cl_ulong local_mem_size(void)
{
	static _Atomic cl_ulong size;
	cl_ulong s = atomic_load(&size);

	if (!s && ferry_clGetDeviceInfo(&ferry_device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(s), &s,
					NULL) == CL_SUCCESS)
		atomic_store(&size, s);
	return s;
}

static cl_int set_arg(cl_kernel k, cl_uint idx, uint32_t kind, size_t size, const void *value)
{
	struct ferry_kernel_arg *a;
	void *copy = NULL;

	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(k), CL_INVALID_KERNEL);
	FERRY_RETURN_ERROR_ON(idx >= k->nargs, CL_INVALID_ARG_INDEX);
	/* a value travels in the launch message; __local memory is the device's */
	FERRY_RETURN_ERROR_ON(kind != FERRY_ARG_LOCAL && size > 65536, CL_INVALID_ARG_SIZE);
	FERRY_RETURN_ERROR_ON(kind == FERRY_ARG_LOCAL && local_mem_size() &&
				      size > local_mem_size(),
			      CL_INVALID_ARG_SIZE);
	if (kind != FERRY_ARG_LOCAL) {
		copy = malloc(size ? size : 1);
		FERRY_RETURN_ERROR_ON(!copy, CL_OUT_OF_HOST_MEMORY);
		memcpy(copy, value, size);
	}
	a = &k->args[idx];
	free(a->value);
	a->kind = kind;
	a->size = (uint32_t)size;
	a->value = copy;
	a->set = 1;
	return CL_SUCCESS;
}

/*
 * An image or a sampler argument (declared so): the object's id in
 * ferry-device. An image's access must allow the argument's (CTS
 * api/negative_set_read_write_image_arg and friends).
 */
static cl_int set_object_arg(cl_kernel kernel, cl_uint i, size_t arg_size, const void *arg_value)
{
	const struct ferry_kernel_arg *a = &kernel->args[i];
	cl_mem m;
	cl_sampler s;

	if (a->object == FERRY_ARG_SAMPLER) {
		FERRY_RETURN_ERROR_ON(arg_size != sizeof(cl_sampler), CL_INVALID_ARG_SIZE);
		s = arg_value ? *(const cl_sampler *)arg_value : NULL;
		FERRY_RETURN_ERROR_ON(!ferry_valid_sampler(s), CL_INVALID_SAMPLER);
		FERRY_RETURN_ERROR_ON(s->context != kernel->program->context, CL_INVALID_SAMPLER);
		return set_arg(kernel, i, FERRY_ARG_SAMPLER, sizeof(s->id), &s->id);
	}
	FERRY_RETURN_ERROR_ON(arg_size != sizeof(cl_mem), CL_INVALID_ARG_SIZE);
	m = arg_value ? *(const cl_mem *)arg_value : NULL;
	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(m) || !m->image, CL_INVALID_MEM_OBJECT);
	FERRY_RETURN_ERROR_ON(m->context != kernel->program->context, CL_INVALID_MEM_OBJECT);
	FERRY_RETURN_ERROR_ON(a->access == CL_KERNEL_ARG_ACCESS_WRITE_ONLY &&
				      (m->flags & CL_MEM_READ_ONLY),
			      CL_INVALID_ARG_VALUE);
	FERRY_RETURN_ERROR_ON(a->access == CL_KERNEL_ARG_ACCESS_READ_ONLY &&
				      (m->flags & CL_MEM_WRITE_ONLY),
			      CL_INVALID_ARG_VALUE);
	FERRY_RETURN_ERROR_ON(a->access == CL_KERNEL_ARG_ACCESS_READ_WRITE &&
				      (m->flags & (CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY)),
			      CL_INVALID_ARG_VALUE);
	return set_arg(kernel, i, FERRY_ARG_IMAGE, sizeof(m->image->id), &m->image->id);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clSetKernelArg(cl_kernel kernel, cl_uint arg_index,
						     size_t arg_size, const void *arg_value)
{
	/*
	 * A buffer argument is a cl_mem (or a NULL one): the kernel gets the
	 * buffer's window address. NULL value: __local memory of arg_size bytes.
	 */
	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(kernel), CL_INVALID_KERNEL);
	FERRY_RETURN_ERROR_ON(arg_index >= kernel->nargs, CL_INVALID_ARG_INDEX);
	if (kernel->args[arg_index].object)
		return set_object_arg(kernel, arg_index, arg_size, arg_value);
	if (arg_value && arg_size == sizeof(cl_mem)) {
		cl_mem m = *(const cl_mem *)arg_value;

		if (ferry_valid_mem(m)) {
			FERRY_RETURN_ERROR_ON(m->context != kernel->program->context,
					      CL_INVALID_MEM_OBJECT);
			FERRY_RETURN_ERROR_ON(m->image, CL_INVALID_ARG_VALUE);
			return set_arg(kernel, arg_index, FERRY_ARG_SVM, sizeof(m->ptr), &m->ptr);
		}
	}
	switch (kernel->args[arg_index].address) {
	case CL_KERNEL_ARG_ADDRESS_LOCAL:
		FERRY_RETURN_ERROR_ON(arg_value, CL_INVALID_ARG_VALUE);
		break;
	case CL_KERNEL_ARG_ADDRESS_GLOBAL:
	case CL_KERNEL_ARG_ADDRESS_CONSTANT:
		/* a buffer was recognised above: anything else must be a NULL cl_mem */
		FERRY_RETURN_ERROR_ON(arg_size != sizeof(cl_mem), CL_INVALID_ARG_SIZE);
		FERRY_RETURN_ERROR_ON(arg_value && *(const cl_mem *)arg_value,
				      CL_INVALID_MEM_OBJECT);
		return set_arg(kernel, arg_index, FERRY_ARG_SVM, sizeof(void *), &(void *){NULL});
	case CL_KERNEL_ARG_ADDRESS_PRIVATE:
		FERRY_RETURN_ERROR_ON(!arg_value, CL_INVALID_ARG_VALUE);
		FERRY_RETURN_ERROR_ON(kernel->args[arg_index].type_size &&
					      arg_size != kernel->args[arg_index].type_size,
				      CL_INVALID_ARG_SIZE);
		break;
	default:
		break;
	}
	FERRY_RETURN_ERROR_ON(arg_size == 0, CL_INVALID_ARG_SIZE);
	return set_arg(kernel, arg_index, arg_value ? FERRY_ARG_VALUE : FERRY_ARG_LOCAL, arg_size,
		       arg_value);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clSetKernelArgSVMPointer(cl_kernel kernel, cl_uint arg_index,
							       const void *arg_value)
{
	/*
	 * Any pointer into an allocation is accepted, as PoCL does, and so is
	 * NULL; a window address outside every live allocation (freed, or never
	 * allocated) is refused: the kernel would fault on the device.
	 */
	FERRY_RETURN_ERROR_ON(arg_value && ferry_api_check_ptr(arg_value, 1), CL_INVALID_ARG_VALUE);
	return set_arg(kernel, arg_index, FERRY_ARG_SVM, sizeof(arg_value), &arg_value);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clSetKernelExecInfo(cl_kernel kernel,
							  cl_kernel_exec_info param_name,
							  size_t param_value_size,
							  const void *param_value)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(kernel), CL_INVALID_KERNEL);
	FERRY_RETURN_ERROR_ON(!param_value != !param_value_size, CL_INVALID_VALUE);
	switch (param_name) {
	case CL_KERNEL_EXEC_INFO_SVM_PTRS:
		/*
		 * Every window address is reachable from the device: nothing to
		 * record. No pointers (size 0, NULL) clears the set.
		 */
		FERRY_RETURN_ERROR_ON(param_value_size % sizeof(void *), CL_INVALID_VALUE);
		return CL_SUCCESS;
	case CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM:
		FERRY_RETURN_ERROR_ON(param_value_size != sizeof(cl_bool), CL_INVALID_VALUE);
		/* fine-grained system SVM is not a device capability */
		FERRY_RETURN_ERROR_ON(*(const cl_bool *)param_value, CL_INVALID_OPERATION);
		return CL_SUCCESS;
	default:
		return CL_INVALID_VALUE;
	}
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetKernelInfo(cl_kernel k, cl_kernel_info param_name,
						      size_t param_value_size, void *param_value,
						      size_t *param_value_size_ret)
{
	cl_uint refs;

	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(k), CL_INVALID_KERNEL);
#define RET(v) ferry_api_info(param_value_size, param_value, param_value_size_ret, &(v), sizeof(v))
	switch (param_name) {
	case CL_KERNEL_FUNCTION_NAME:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, k->name,
				      strlen(k->name) + 1);
	case CL_KERNEL_NUM_ARGS:
		return RET(k->nargs);
	case CL_KERNEL_REFERENCE_COUNT:
		refs = atomic_load(&k->refcount);
		return RET(refs);
	case CL_KERNEL_CONTEXT:
		return RET(k->program->context);
	case CL_KERNEL_PROGRAM:
		return RET(k->program);
	case CL_KERNEL_ATTRIBUTES: /* as the compiler wrote them in the source */
		return ferry_api_object_info(FERRY_QUERY_KERNEL, k->id, param_name, 0,
					     param_value_size, param_value, param_value_size_ret);
	default:
		return CL_INVALID_VALUE;
	}
#undef RET
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetKernelArgInfo(cl_kernel k, cl_uint arg_index,
							 cl_kernel_arg_info param_name,
							 size_t param_value_size, void *param_value,
							 size_t *param_value_size_ret)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(k), CL_INVALID_KERNEL);
	FERRY_RETURN_ERROR_ON(arg_index >= k->nargs, CL_INVALID_ARG_INDEX);
	return ferry_api_object_info(FERRY_QUERY_KERNEL_ARG, k->id, param_name, arg_index,
				     param_value_size, param_value, param_value_size_ret);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetKernelWorkGroupInfo(cl_kernel k, cl_device_id device,
							       cl_kernel_work_group_info param_name,
							       size_t param_value_size,
							       void *param_value,
							       size_t *param_value_size_ret)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(k), CL_INVALID_KERNEL);
	FERRY_RETURN_ERROR_ON(device && device != &ferry_device, CL_INVALID_DEVICE);
	return ferry_api_object_info(FERRY_QUERY_KERNEL_WG, k->id, param_name, 0, param_value_size,
				     param_value, param_value_size_ret);
}

struct launch_arg {
	struct ferry_cmd_head h;
	cl_kernel kernel; /* retained until the launch ran */
	struct ferry_launch_desc d;
	size_t bytes;
	uint8_t args[]; /* the argument list, built at enqueue */
};

static void launch_cleanup(void *p)
{
	ferry_clReleaseKernel(((struct launch_arg *)p)->kernel);
}

static cl_int launch_run(void *p)
{
	struct launch_arg *a = p;
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	if (!vas)
		return CL_DEVICE_NOT_AVAILABLE;
	/* asynchronous and unanswered: the queue's worker waits for the fence */
	if (a->bytes <= FERRY_LAUNCH_POST_MAX)
		return ferry_launch_post(vas, &a->d, a->args, a->bytes, &a->h.fence);
	/* arguments beyond a datagram: launched and finished in one request */
	return ferry_launch(vas, &a->d, a->args, a->bytes);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueNDRangeKernel(
	cl_command_queue q, cl_kernel k, cl_uint work_dim, const size_t *global_work_offset,
	const size_t *global_work_size, const size_t *local_work_size,
	cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *event)
{
	struct launch_arg *a;
	size_t bytes = 0, o = 0, wg = 1;
	int empty;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!ferry_valid_kernel(k), CL_INVALID_KERNEL);
	FERRY_RETURN_ERROR_ON(k->program->context != q->context, CL_INVALID_CONTEXT);
	FERRY_RETURN_ERROR_ON(work_dim < 1 || work_dim > 3, CL_INVALID_WORK_DIMENSION);
	/* OpenCL 2.1+: no global size, or a zero in it, is a trivially complete command */
	empty = !global_work_size;
	for (cl_uint d = 0; global_work_size && d < work_dim; d++) {
		if (global_work_size[d] == 0)
			empty = 1;
		FERRY_RETURN_ERROR_ON(global_work_offset &&
					      global_work_size[d] + global_work_offset[d] <
						      global_work_size[d],
				      CL_INVALID_GLOBAL_OFFSET);
		/* no non-uniform work-groups (CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT) */
		FERRY_RETURN_ERROR_ON(
			local_work_size &&
				(local_work_size[d] == 0 ||
				 (global_work_size[d] && global_work_size[d] % local_work_size[d])),
			CL_INVALID_WORK_GROUP_SIZE);
		FERRY_RETURN_ERROR_ON(local_work_size && k->max_items[d] &&
					      local_work_size[d] > k->max_items[d],
				      CL_INVALID_WORK_ITEM_SIZE);
		if (local_work_size)
			wg *= local_work_size[d];
	}
	FERRY_RETURN_ERROR_ON(local_work_size && k->max_wg && wg > k->max_wg,
			      CL_INVALID_WORK_GROUP_SIZE);
	/*
	 * __attribute__((reqd_work_group_size)): a local size must be that one;
	 * none means that one (OpenCL 3.0; CTS api/null_required_work_group_size),
	 * which must divide the global size.
	 */
	if (k->reqd_wg[0] && !local_work_size)
		local_work_size = k->reqd_wg;
	if (k->reqd_wg[0])
		for (cl_uint d = 0; d < 3; d++)
			FERRY_RETURN_ERROR_ON((d < work_dim ? local_work_size[d] : 1) !=
							      k->reqd_wg[d] ||
						      (d < work_dim && global_work_size &&
						       global_work_size[d] % k->reqd_wg[d]),
					      CL_INVALID_WORK_GROUP_SIZE);

	for (cl_uint i = 0; i < k->nargs; i++) {
		FERRY_RETURN_ERROR_ON(!k->args[i].set, CL_INVALID_KERNEL_ARGS);
		bytes += ferry_arg_bytes(k->args[i].kind, k->args[i].size);
	}
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(bytes > FERRY_LAUNCH_ARGS_MAX, CL_OUT_OF_RESOURCES);

	if (empty)
		return ferry_enqueue(q, CL_COMMAND_NDRANGE_KERNEL, num_events_in_wait_list,
				     event_wait_list, event, 0, NULL, NULL);

	/* The arguments as they are now: later clSetKernelArg calls do not change this launch. */
	a = calloc(1, sizeof(*a) + bytes);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	for (cl_uint i = 0; i < k->nargs; i++)
		o += ferry_arg_put(a->args + o, k->args[i].kind, k->args[i].size, k->args[i].value);
	a->h.cleanup = launch_cleanup;
	/* a synchronous launch (arguments beyond a posted one) retires after the ones before it */
	a->h.pipeline = bytes <= FERRY_LAUNCH_POST_MAX;
	a->kernel = k;
	ferry_clRetainKernel(k);
	a->bytes = bytes;
	a->d.kernel = k->id;
	a->d.work_dim = work_dim;
	a->d.nargs = k->nargs;
	for (cl_uint d = 0; d < work_dim; d++) {
		a->d.offset[d] = global_work_offset ? global_work_offset[d] : 0;
		a->d.global[d] = global_work_size[d];
		a->d.local[d] = local_work_size ? local_work_size[d] : 0;
	}
	return ferry_enqueue(q, CL_COMMAND_NDRANGE_KERNEL, num_events_in_wait_list, event_wait_list,
			     event, 0, launch_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueTask(cl_command_queue q, cl_kernel k,
						    cl_uint num_events_in_wait_list,
						    const cl_event *event_wait_list,
						    cl_event *event)
{
	size_t one = 1;

	return ferry_clEnqueueNDRangeKernel(q, k, 1, NULL, &one, &one, num_events_in_wait_list,
					    event_wait_list, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueNativeKernel(
	cl_command_queue q, void(CL_CALLBACK *user_func)(void *), void *args, size_t cb_args,
	cl_uint num_mem_objects, const cl_mem *mem_list, const void **args_mem_loc,
	cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *event)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	/* CL_DEVICE_EXECUTION_CAPABILITIES is CL_EXEC_KERNEL alone: no native kernels */
	return CL_INVALID_OPERATION;
}
