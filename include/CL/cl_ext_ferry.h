/* SPDX-License-Identifier: MIT */
/*
 * cl_ext_ferry.h - cl_ferry_managed_memory: advice, residency and counters
 * for SVM allocations whose pages migrate between host and device.
 *
 * Every SVM allocation on a Ferry device is managed memory: its 4 KiB pages
 * live on one side at a time and move on first touch or on
 * clEnqueueSVMMigrateMem. This extension lets an application advise the
 * driver (as cudaMemAdvise does), ask where each page of a range is right
 * now, and read the migration counters of its context.
 *
 * Entry points are obtained with clGetExtensionFunctionAddressForPlatform.
 */
#ifndef __CL_EXT_FERRY_H
#define __CL_EXT_FERRY_H

#include <CL/cl.h>

#ifdef __cplusplus
extern "C" {
#endif

#define cl_ferry_managed_memory 1
#define CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME "cl_ferry_managed_memory"
#define CL_FERRY_MANAGED_MEMORY_EXTENSION_VERSION CL_MAKE_VERSION(0, 1, 0)

/* cl_device_info */
#define CL_DEVICE_SVM_PAGE_SIZE_FERRY 0x4F80	   /* size_t: bytes of one managed page */
#define CL_DEVICE_SVM_MIGRATION_BLOCK_FERRY 0x4F81 /* size_t: bytes moved by one fault */

/* Advice (clEnqueueSVMAdviseMemFERRY). */
typedef cl_uint cl_svm_advice_ferry;
#define CL_SVM_ADVICE_SET_READ_MOSTLY_FERRY 1
#define CL_SVM_ADVICE_UNSET_READ_MOSTLY_FERRY 2
#define CL_SVM_ADVICE_SET_PREFERRED_LOCATION_FERRY 3 /* device, or NULL for the host */
#define CL_SVM_ADVICE_UNSET_PREFERRED_LOCATION_FERRY 4
#define CL_SVM_ADVICE_SET_ACCESSED_BY_FERRY 5 /* device, or NULL for the host */
#define CL_SVM_ADVICE_UNSET_ACCESSED_BY_FERRY 6

/* Residency of one page (clGetSVMResidencyFERRY). */
typedef cl_uchar cl_svm_residency_ferry;
#define CL_SVM_RESIDENCY_UNTOUCHED_FERRY 0 /* no data yet: reads as zero on either side */
#define CL_SVM_RESIDENCY_HOST_FERRY 1
#define CL_SVM_RESIDENCY_DEVICE_FERRY 2
#define CL_SVM_RESIDENCY_DUPLICATED_FERRY 3 /* read-only copies on both sides */

/* Migration counters of a context's device (clGetSVMCountersFERRY). */
typedef struct _cl_svm_counters_ferry {
	cl_ulong faults_host;	  /* fault events raised by host touches */
	cl_ulong faults_device;	  /* fault events raised by device touches */
	cl_ulong pages_to_device; /* pages migrated host -> device */
	cl_ulong pages_to_host;	  /* pages migrated device -> host */
	cl_ulong bytes_to_device;
	cl_ulong bytes_to_host;
	cl_ulong pages_prefetched; /* moved by the density prefetcher */
	cl_ulong evictions;	   /* 2 MiB regions evicted for capacity */
	cl_ulong pages_evicted;
	cl_ulong thrashing;		/* regions that came back soon after eviction */
	cl_ulong fault_ns;		/* time spent resolving faults */
	cl_ulong migrate_ns;		/* time spent in explicit migrations */
	cl_ulong device_resident_pages; /* now */
	cl_ulong device_capacity_pages;
	cl_ulong thrashing_pins;   /* regions pinned on the host for thrashing (events) */
	cl_ulong thrashing_pinned; /* regions pinned now (the device maps them remotely) */
	cl_ulong reserved[6];
} cl_svm_counters_ferry;

/*
 * Advise the driver about [svm_ptr, svm_ptr + size) (rounded out to pages).
 * Takes effect in queue order. Errors: CL_INVALID_COMMAND_QUEUE,
 * CL_INVALID_VALUE (NULL or range outside an SVM allocation, size 0, unknown
 * advice), CL_INVALID_DEVICE (a device other than the queue's),
 * CL_INVALID_EVENT_WAIT_LIST, CL_INVALID_CONTEXT (a waited event of another
 * context), CL_OUT_OF_HOST_MEMORY, CL_DEVICE_NOT_AVAILABLE.
 */
typedef cl_int(CL_API_CALL *clEnqueueSVMAdviseMemFERRY_fn)(
	cl_command_queue command_queue, const void *svm_ptr, size_t size,
	cl_svm_advice_ferry advice, cl_device_id device, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event);

/*
 * Where each page of [svm_ptr, svm_ptr + size) (rounded out to pages) lives
 * now: one cl_svm_residency_ferry per page into @residency (may be NULL),
 * the page count into @num_pages_ret (may be NULL). Errors:
 * CL_INVALID_CONTEXT, CL_INVALID_VALUE (range outside an SVM allocation,
 * size 0, @residency and @num_pages_ret both NULL), CL_DEVICE_NOT_AVAILABLE.
 */
typedef cl_int(CL_API_CALL *clGetSVMResidencyFERRY_fn)(cl_context context, const void *svm_ptr,
						       size_t size,
						       cl_svm_residency_ferry *residency,
						       size_t *num_pages_ret);

/*
 * Read the migration counters: cumulative since the process's VA space was
 * opened (its first context). Errors: CL_INVALID_CONTEXT, CL_INVALID_VALUE
 * (@counters NULL), CL_DEVICE_NOT_AVAILABLE (the device process is gone).
 */
typedef cl_int(CL_API_CALL *clGetSVMCountersFERRY_fn)(cl_context context,
						      cl_svm_counters_ferry *counters);

#ifdef CL_FERRY_PROTOTYPES
extern CL_API_ENTRY cl_int CL_API_CALL clEnqueueSVMAdviseMemFERRY(
	cl_command_queue command_queue, const void *svm_ptr, size_t size,
	cl_svm_advice_ferry advice, cl_device_id device, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event);
extern CL_API_ENTRY cl_int CL_API_CALL clGetSVMResidencyFERRY(cl_context context,
							      const void *svm_ptr, size_t size,
							      cl_svm_residency_ferry *residency,
							      size_t *num_pages_ret);
extern CL_API_ENTRY cl_int CL_API_CALL clGetSVMCountersFERRY(cl_context context,
							     cl_svm_counters_ferry *counters);
#endif

#ifdef __cplusplus
}
#endif

#endif /* __CL_EXT_FERRY_H */
