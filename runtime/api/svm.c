/* SPDX-License-Identifier: MIT */
/*
 * svm.c - shared virtual memory: every allocation is managed memory in the
 * window, reached at the same address by the host and by kernels, whose
 * pages migrate on first touch or on clEnqueueSVMMigrateMem.
 *
 * Coarse-grained buffers are managed memory: the window is coherent at every
 * instant (a touch on either side faults the page over), so map and unmap
 * only order. Fine-grained buffers (and SVM atomics) come from the coherent
 * region at the top of the window: the same pages mapped by the host and
 * by ferry-device, so stores and atomics of both sides meet without moving
 * anything.
 */
#include <errno.h>
#include <string.h>

#include "api/api.h"

#define PG FERRY_PAGE_SIZE

CL_API_ENTRY void *CL_API_CALL ferry_clSVMAlloc(cl_context context, cl_svm_mem_flags flags,
						size_t size, cl_uint alignment)
{
	const cl_svm_mem_flags access = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY;
	const cl_svm_mem_flags known = access | CL_MEM_SVM_FINE_GRAIN_BUFFER | CL_MEM_SVM_ATOMICS;
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	/* clSVMAlloc reports failures by returning NULL only. */
	if (!ferry_valid_context(context) || !vas || size == 0 || (flags & ~known))
		return NULL;
	if (__builtin_popcountll(flags & access) > 1)
		return NULL;
	if ((flags & CL_MEM_SVM_ATOMICS) && !(flags & CL_MEM_SVM_FINE_GRAIN_BUFFER))
		return NULL;
	if (alignment & (alignment - 1) || alignment > FERRY_REGION_SIZE)
		return NULL;
	{
		cl_ulong max = 0;

		if (ferry_clGetDeviceInfo(context->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
					  sizeof(max), &max, NULL) ||
		    size > max)
			return NULL;
	}
	/* fine-grained: the coherent region, mapped by both processes (zero-copy) */
	if (flags & CL_MEM_SVM_FINE_GRAIN_BUFFER)
		return ferry_alloc_coherent(vas, size, alignment);
	return ferry_alloc(vas, size, alignment);
}

CL_API_ENTRY void CL_API_CALL ferry_clSVMFree(cl_context context, void *svm_pointer)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	if (!ferry_valid_context(context) || !vas || !svm_pointer)
		return;
	/* A queued command may still use it: then it is freed once the queues drain. */
	if (!ferry_defer_svm_free(svm_pointer))
		ferry_free(vas, svm_pointer);
}

/* A range lies inside one SVM allocation. */
static cl_int check_svm_range(const void *p, size_t size)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	uint64_t base, asize, a = (uint64_t)(uintptr_t)p;

	FERRY_RETURN_ERROR_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	FERRY_RETURN_ERROR_ON(ferry_alloc_find(vas, p, &base, &asize), CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(size > asize - (a - base), CL_INVALID_VALUE);
	return CL_SUCCESS;
}

/*
 * A pointer the host may pass: outside the window it is system memory (not
 * ours to check); inside, it must lie in a live allocation (not a freed one).
 */
cl_int ferry_api_check_ptr(const void *p, size_t size)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	uint64_t a = (uint64_t)(uintptr_t)p, base = (uint64_t)(uintptr_t)ferry_window_base(vas);

	if (!vas || a < base || a - base >= ferry_window_size(vas))
		return CL_SUCCESS;
	return check_svm_range(p, size);
}

struct svmfree_arg {
	struct ferry_cmd_head h;
	cl_command_queue q;
	void(CL_CALLBACK *fn)(cl_command_queue, cl_uint, void *[], void *);
	void *user_data;
	cl_uint n;
	void *ptrs[];
};

static cl_int svmfree_run(void *p)
{
	struct svmfree_arg *a = p;

	if (a->fn)
		a->fn(a->q, a->n, a->ptrs, a->user_data);
	else
		for (cl_uint i = 0; i < a->n; i++)
			ferry_clSVMFree(a->q->context, a->ptrs[i]);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMFree(
	cl_command_queue q, cl_uint num_svm_pointers, void *svm_pointers[],
	void(CL_CALLBACK *pfn_free_func)(cl_command_queue, cl_uint, void *[], void *),
	void *user_data, cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
	cl_event *event)
{
	struct svmfree_arg *a;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(num_svm_pointers == 0 || !svm_pointers, CL_INVALID_VALUE);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	a = calloc(1, sizeof(*a) + num_svm_pointers * sizeof(void *));
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->q = q;
	a->fn = pfn_free_func;
	a->user_data = user_data;
	a->n = num_svm_pointers;
	memcpy(a->ptrs, svm_pointers, num_svm_pointers * sizeof(void *));
	return ferry_enqueue(q, CL_COMMAND_SVM_FREE, num_events_in_wait_list, event_wait_list,
			     event, 0, svmfree_run, a);
}

struct copy_arg {
	struct ferry_cmd_head h;
	void *dst;
	const void *src;
	size_t size;
	size_t pattern_size; /* fill: the pattern is in @pattern */
	unsigned char pattern[128];
};

static cl_int copy_run(void *p)
{
	struct copy_arg *a = p;

	/* Either side may be host memory; window pages fault over to the host. */
	memcpy(a->dst, a->src, a->size);
	return CL_SUCCESS;
}

static cl_int fill_run(void *p)
{
	struct copy_arg *a = p;

	for (size_t o = 0; o < a->size; o += a->pattern_size)
		memcpy((char *)a->dst + o, a->pattern, a->pattern_size);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMMemcpy(cl_command_queue q, cl_bool blocking,
							 void *dst, const void *src, size_t size,
							 cl_uint num_events_in_wait_list,
							 const cl_event *event_wait_list,
							 cl_event *event)
{
	struct copy_arg *a;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!dst || !src, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(ferry_api_check_ptr(dst, size), CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(ferry_api_check_ptr(src, size), CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON((const char *)dst < (const char *)src + size &&
				      (const char *)src < (const char *)dst + size,
			      CL_MEM_COPY_OVERLAP);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	a = calloc(1, sizeof(*a));
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->dst = dst;
	a->src = src;
	a->size = size;
	return ferry_enqueue(q, CL_COMMAND_SVM_MEMCPY, num_events_in_wait_list, event_wait_list,
			     event, blocking, copy_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMMemFill(
	cl_command_queue q, void *svm_ptr, const void *pattern, size_t pattern_size, size_t size,
	cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *event)
{
	struct copy_arg *a;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!svm_ptr || !pattern, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(ferry_api_check_ptr(svm_ptr, size), CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(pattern_size == 0 || pattern_size > 128 ||
				      (pattern_size & (pattern_size - 1)),
			      CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON((uintptr_t)svm_ptr % pattern_size || size % pattern_size,
			      CL_INVALID_VALUE);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	a = calloc(1, sizeof(*a));
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->dst = svm_ptr;
	a->size = size;
	a->pattern_size = pattern_size;
	memcpy(a->pattern, pattern, pattern_size);
	return ferry_enqueue(q, CL_COMMAND_SVM_MEMFILL, num_events_in_wait_list, event_wait_list,
			     event, 0, fill_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMMap(cl_command_queue q, cl_bool blocking,
						      cl_map_flags flags, void *svm_ptr,
						      size_t size, cl_uint num_events_in_wait_list,
						      const cl_event *event_wait_list,
						      cl_event *event)
{
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!svm_ptr || size == 0, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(flags & ~(cl_map_flags)(CL_MAP_READ | CL_MAP_WRITE |
						      CL_MAP_WRITE_INVALIDATE_REGION),
			      CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON((flags & CL_MAP_WRITE_INVALIDATE_REGION) &&
				      (flags & (CL_MAP_READ | CL_MAP_WRITE)),
			      CL_INVALID_VALUE);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	/* The host view is always coherent (host touches fault the pages over): a map only orders.
	 */
	return ferry_enqueue(q, CL_COMMAND_SVM_MAP, num_events_in_wait_list, event_wait_list, event,
			     blocking, NULL, NULL);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMUnmap(cl_command_queue q, void *svm_ptr,
							cl_uint num_events_in_wait_list,
							const cl_event *event_wait_list,
							cl_event *event)
{
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!svm_ptr, CL_INVALID_VALUE);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	return ferry_enqueue(q, CL_COMMAND_SVM_UNMAP, num_events_in_wait_list, event_wait_list,
			     event, 0, NULL, NULL);
}

struct migrate_arg {
	struct ferry_cmd_head h;
	uint32_t target;
	int discard;
	cl_uint n;
	struct {
		uint64_t first, end;   /* pages to move, rounded out */
		uint64_t dfirst, dend; /* whole pages to discard first */
	} r[];
};

static cl_int migrate_run(void *p)
{
	struct migrate_arg *a = p;
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	int r = 0;

	if (!vas)
		return CL_DEVICE_NOT_AVAILABLE;
	for (cl_uint i = 0; i < a->n && !r; i++) {
		if (ferry_is_coherent(vas, (void *)(uintptr_t)a->r[i].first))
			continue; /* fine-grained memory never moves */
		if (a->discard && a->r[i].dend > a->r[i].dfirst)
			r = ferry_migrate(vas, (void *)(uintptr_t)a->r[i].dfirst,
					  a->r[i].dend - a->r[i].dfirst, a->target,
					  FERRY_MIGRATE_DISCARD, NULL);
		if (!r)
			r = ferry_migrate(vas, (void *)(uintptr_t)a->r[i].first,
					  a->r[i].end - a->r[i].first, a->target, 0, NULL);
	}
	return r == 0 ? CL_SUCCESS : r == -ENODEV ? CL_DEVICE_NOT_AVAILABLE : CL_OUT_OF_RESOURCES;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMMigrateMem(
	cl_command_queue q, cl_uint num_svm_pointers, const void **svm_pointers,
	const size_t *sizes, cl_mem_migration_flags flags, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	const cl_mem_migration_flags known =
		CL_MIGRATE_MEM_OBJECT_HOST | CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED;
	struct migrate_arg *a;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(num_svm_pointers == 0 || !svm_pointers, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(flags & ~known, CL_INVALID_VALUE);
	for (cl_uint i = 0; i < num_svm_pointers; i++) {
		FERRY_RETURN_ERROR_ON(!svm_pointers[i], CL_INVALID_VALUE);
		err = check_svm_range(svm_pointers[i], sizes ? sizes[i] : 0);
		FERRY_RETURN_ERROR_ON(err, err);
	}
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);

	a = calloc(1, sizeof(*a) + num_svm_pointers * sizeof(a->r[0]));
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->target = flags & CL_MIGRATE_MEM_OBJECT_HOST ? FERRY_LOC_HOST : FERRY_LOC_DEVICE;
	a->discard = !!(flags & CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED);
	a->n = num_svm_pointers;
	for (cl_uint i = 0; i < num_svm_pointers; i++) {
		uint64_t base, asize, p = (uint64_t)(uintptr_t)svm_pointers[i], len;

		ferry_alloc_find(vas, svm_pointers[i], &base, &asize);
		/* size 0: from the pointer to the end of its allocation */
		len = sizes && sizes[i] ? sizes[i] : asize - (p - base);
		a->r[i].first = p & ~(PG - 1);
		a->r[i].end = (p + len + PG - 1) & ~(PG - 1);
		/* discard whole pages only: partial pages keep their neighbours' bytes */
		a->r[i].dfirst = (p + PG - 1) & ~(PG - 1);
		a->r[i].dend = (p + len) & ~(PG - 1);
	}
	return ferry_enqueue(q, CL_COMMAND_SVM_MIGRATE_MEM, num_events_in_wait_list,
			     event_wait_list, event, 0, migrate_run, a);
}
