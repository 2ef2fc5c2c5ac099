/* SPDX-License-Identifier: MIT */
/*
 * svm.c - shared virtual memory: every allocation is managed memory in the
 * window, reached at the same address by the host and by kernels, whose
 * pages migrate on first touch or on clEnqueueSVMMigrateMem.
 *
 * Coarse-grained buffers only for now (CL_DEVICE_SVM_CAPABILITIES): the
 * window is coherent at every instant (a touch on either side faults the
 * page over), so map and unmap have nothing to do; fine-grained buffers and
 * SVM atomics are refused until the coherent region exists.
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
	if (flags & CL_MEM_SVM_FINE_GRAIN_BUFFER)
		return NULL; /* not a device capability yet */
	if (alignment & (alignment - 1) || alignment > FERRY_REGION_SIZE)
		return NULL;
	return ferry_alloc(vas, size, alignment);
}

CL_API_ENTRY void CL_API_CALL ferry_clSVMFree(cl_context context, void *svm_pointer)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	if (!ferry_valid_context(context) || !vas || !svm_pointer)
		return;
	/* Commands complete before their enqueue returns: nothing can still use it. */
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

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMFree(
	cl_command_queue q, cl_uint num_svm_pointers, void *svm_pointers[],
	void(CL_CALLBACK *pfn_free_func)(cl_command_queue, cl_uint, void *[], void *),
	void *user_data, cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
	cl_event *event)
{
	cl_ulong t_queued = ferry_now_ns();
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(num_svm_pointers == 0 || !svm_pointers, CL_INVALID_VALUE);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	if (pfn_free_func)
		pfn_free_func(q, num_svm_pointers, svm_pointers, user_data);
	else
		for (cl_uint i = 0; i < num_svm_pointers; i++)
			ferry_clSVMFree(q->context, svm_pointers[i]);
	return ferry_finish_command(q, CL_COMMAND_SVM_FREE, t_queued, t_queued, CL_SUCCESS, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMMemcpy(cl_command_queue q, cl_bool blocking,
							 void *dst, const void *src, size_t size,
							 cl_uint num_events_in_wait_list,
							 const cl_event *event_wait_list,
							 cl_event *event)
{
	cl_ulong t_queued = ferry_now_ns();
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!dst || !src, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON((const char *)dst < (const char *)src + size &&
				      (const char *)src < (const char *)dst + size,
			      CL_MEM_COPY_OVERLAP);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	/* Either side may be host memory; a window page faults over to the host. */
	memcpy(dst, src, size);
	(void)blocking;
	return ferry_finish_command(q, CL_COMMAND_SVM_MEMCPY, t_queued, t_queued, CL_SUCCESS,
				    event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMMemFill(
	cl_command_queue q, void *svm_ptr, const void *pattern, size_t pattern_size, size_t size,
	cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *event)
{
	cl_ulong t_queued = ferry_now_ns();
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!svm_ptr || !pattern, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(pattern_size == 0 || pattern_size > 128 ||
				      (pattern_size & (pattern_size - 1)),
			      CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON((uintptr_t)svm_ptr % pattern_size || size % pattern_size,
			      CL_INVALID_VALUE);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	for (size_t o = 0; o < size; o += pattern_size)
		memcpy((char *)svm_ptr + o, pattern, pattern_size);
	return ferry_finish_command(q, CL_COMMAND_SVM_MEMFILL, t_queued, t_queued, CL_SUCCESS,
				    event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMMap(cl_command_queue q, cl_bool blocking,
						      cl_map_flags flags, void *svm_ptr,
						      size_t size, cl_uint num_events_in_wait_list,
						      const cl_event *event_wait_list,
						      cl_event *event)
{
	cl_ulong t_queued = ferry_now_ns();
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
	(void)blocking;
	/* The host view is always coherent: host touches fault the pages over. */
	return ferry_finish_command(q, CL_COMMAND_SVM_MAP, t_queued, t_queued, CL_SUCCESS, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMUnmap(cl_command_queue q, void *svm_ptr,
							cl_uint num_events_in_wait_list,
							const cl_event *event_wait_list,
							cl_event *event)
{
	cl_ulong t_queued = ferry_now_ns();
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!svm_ptr, CL_INVALID_VALUE);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	return ferry_finish_command(q, CL_COMMAND_SVM_UNMAP, t_queued, t_queued, CL_SUCCESS, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMMigrateMem(
	cl_command_queue q, cl_uint num_svm_pointers, const void **svm_pointers,
	const size_t *sizes, cl_mem_migration_flags flags, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	const cl_mem_migration_flags known =
		CL_MIGRATE_MEM_OBJECT_HOST | CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED;
	uint32_t target = flags & CL_MIGRATE_MEM_OBJECT_HOST ? FERRY_LOC_HOST : FERRY_LOC_DEVICE;
	cl_ulong t_queued = ferry_now_ns();
	cl_int err;
	int r = 0;

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

	for (cl_uint i = 0; i < num_svm_pointers && !r; i++) {
		uint64_t base, asize, a = (uint64_t)(uintptr_t)svm_pointers[i];
		uint64_t len, first, end;

		ferry_alloc_find(vas, svm_pointers[i], &base, &asize);
		/* size 0: from the pointer to the end of its allocation */
		len = sizes && sizes[i] ? sizes[i] : asize - (a - base);
		first = a & ~(PG - 1);
		end = (a + len + PG - 1) & ~(PG - 1);
		if (flags & CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED) {
			/* discard whole pages only: partial pages keep their neighbours' bytes */
			uint64_t df = (a + PG - 1) & ~(PG - 1), de = (a + len) & ~(PG - 1);

			if (de > df)
				r = ferry_migrate(vas, (void *)(uintptr_t)df, de - df, target,
						  FERRY_MIGRATE_DISCARD, NULL);
		}
		if (!r)
			r = ferry_migrate(vas, (void *)(uintptr_t)first, end - first, target, 0,
					  NULL);
	}
	return ferry_finish_command(q, CL_COMMAND_SVM_MIGRATE_MEM, t_queued, t_queued,
				    r == 0	   ? CL_SUCCESS
				    : r == -ENODEV ? CL_DEVICE_NOT_AVAILABLE
						   : CL_OUT_OF_RESOURCES,
				    event);
}
