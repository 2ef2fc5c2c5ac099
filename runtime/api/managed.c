/* SPDX-License-Identifier: MIT */
/* managed.c - cl_ferry_managed_memory: advice, residency, counters. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "api/api.h"

#define PG FERRY_PAGE_SIZE

/* [ptr, ptr + size) inside one SVM allocation, rounded out to pages. */
static cl_int svm_pages(struct ferry_ctx *vas, const void *ptr, size_t size, uint64_t *first,
			uint64_t *len)
{
	uint64_t base, asize, a = (uint64_t)(uintptr_t)ptr;

	FERRY_RETURN_ERROR_ON(!ptr || size == 0, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(ferry_alloc_find(vas, ptr, &base, &asize), CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(size > asize - (a - base), CL_INVALID_VALUE);
	*first = a & ~(PG - 1);
	*len = ((a + size + PG - 1) & ~(PG - 1)) - *first;
	return CL_SUCCESS;
}

struct advise_arg {
	struct ferry_cmd_head h;
	uint64_t first, len;
	cl_svm_advice_ferry advice;
	uint32_t loc;
};

/*
 * Accessed-by is a set of locations per page: read it, change one bit, write
 * it back. A range whose pages differ is halved until each part is uniform,
 * so that the other locations' bits stay as they were.
 */
static int accessed_by_update(struct ferry_ctx *vas, void *start, uint64_t len, uint64_t bit,
			      bool set)
{
	uint64_t mask = 0, half = len / PG / 2 * PG;
	int r = ferry_get_attr(vas, start, len, FERRY_ATTR_ACCESSED_BY, &mask);

	if (r)
		return r;
	if (mask == FERRY_ATTR_MIXED && half) {
		r = accessed_by_update(vas, start, half, bit, set);
		return r ? r : accessed_by_update(vas, (char *)start + half, len - half, bit, set);
	}
	if (mask == FERRY_ATTR_MIXED)
		return -EIO; /* one page cannot be mixed */
	return ferry_set_attr(vas, start, len, FERRY_ATTR_ACCESSED_BY,
			      set ? mask | bit : mask & ~bit);
}

static cl_int advise_run(void *p)
{
	struct advise_arg *a = p;
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	void *start = (void *)(uintptr_t)a->first;
	int r;

	if (!vas)
		return CL_DEVICE_NOT_AVAILABLE;
	if (ferry_is_coherent(vas, start))
		return CL_SUCCESS; /* fine-grained memory never moves: nothing to advise */
	switch (a->advice) {
	case CL_SVM_ADVICE_SET_READ_MOSTLY_FERRY:
	case CL_SVM_ADVICE_UNSET_READ_MOSTLY_FERRY:
		r = ferry_set_attr(vas, start, a->len, FERRY_ATTR_READ_MOSTLY,
				   a->advice == CL_SVM_ADVICE_SET_READ_MOSTLY_FERRY);
		break;
	case CL_SVM_ADVICE_SET_PREFERRED_LOCATION_FERRY:
	case CL_SVM_ADVICE_UNSET_PREFERRED_LOCATION_FERRY:
		r = ferry_set_attr(vas, start, a->len, FERRY_ATTR_PREFERRED_LOC,
				   a->advice == CL_SVM_ADVICE_SET_PREFERRED_LOCATION_FERRY
					   ? a->loc
					   : FERRY_LOC_NONE);
		break;
	default:
		r = accessed_by_update(vas, start, a->len, 1ULL << a->loc,
				       a->advice == CL_SVM_ADVICE_SET_ACCESSED_BY_FERRY);
		break;
	}
	return r == 0 ? CL_SUCCESS : r == -ENODEV ? CL_DEVICE_NOT_AVAILABLE : CL_INVALID_VALUE;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueSVMAdviseMemFERRY(
	cl_command_queue q, const void *svm_ptr, size_t size, cl_svm_advice_ferry advice,
	cl_device_id device, cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
	cl_event *event)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	struct advise_arg *a;
	uint64_t first, len;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(device && device != q->device, CL_INVALID_DEVICE);
	FERRY_RETURN_ERROR_ON(advice < CL_SVM_ADVICE_SET_READ_MOSTLY_FERRY ||
				      advice > CL_SVM_ADVICE_UNSET_ACCESSED_BY_FERRY,
			      CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	err = svm_pages(vas, svm_ptr, size, &first, &len);
	FERRY_RETURN_ERROR_ON(err, err);
	err = ferry_check_wait_list(q->context, num_events_in_wait_list, event_wait_list);
	FERRY_RETURN_ERROR_ON(err, err);
	a = calloc(1, sizeof(*a));
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->first = first;
	a->len = len;
	a->advice = advice;
	a->loc = device ? FERRY_LOC_DEVICE : FERRY_LOC_HOST;
	return ferry_enqueue(q, CL_COMMAND_SVM_MIGRATE_MEM, num_events_in_wait_list,
			     event_wait_list, event, 0, advise_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetSVMResidencyFERRY(cl_context context,
							     const void *svm_ptr, size_t size,
							     cl_svm_residency_ferry *residency,
							     size_t *num_pages_ret)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	uint64_t first, len;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_ERROR_ON(!residency && !num_pages_ret, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	err = svm_pages(vas, svm_ptr, size, &first, &len);
	FERRY_RETURN_ERROR_ON(err, err);
	if (num_pages_ret)
		*num_pages_ret = len / PG;
	if (residency &&
	    ferry_query_residency(vas, (void *)(uintptr_t)first, len, (uint8_t *)residency, NULL))
		return CL_INVALID_VALUE;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetSVMCountersFERRY(cl_context context,
							    cl_svm_counters_ferry *out)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	struct ferry_counters c;

	FERRY_RETURN_ERROR_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_ERROR_ON(!out, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(!vas || ferry_counters(vas, &c), CL_DEVICE_NOT_AVAILABLE);
	memset(out, 0, sizeof(*out));
	out->faults_host = c.faults_host;
	out->faults_device = c.faults_device;
	out->pages_to_device = c.pages_to_device;
	out->pages_to_host = c.pages_to_host;
	out->bytes_to_device = c.bytes_to_device;
	out->bytes_to_host = c.bytes_to_host;
	out->pages_prefetched = c.pages_prefetched;
	out->evictions = c.evictions;
	out->pages_evicted = c.pages_evicted;
	out->thrashing = c.thrashing;
	out->fault_ns = c.fault_ns;
	out->migrate_ns = c.migrate_ns;
	out->device_resident_pages = c.device_resident_pages;
	out->device_capacity_pages = c.device_capacity_pages;
	out->thrashing_pins = c.thrashing_pins;
	out->thrashing_pinned = c.thrashing_pinned;
	return CL_SUCCESS;
}
