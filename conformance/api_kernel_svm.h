/* SPDX-License-Identifier: MIT */
/*
 * api_kernel_svm.h - what the three files of test_api_kernel_svm share: the
 * fixture that test_api_kernel_svm.c sets up (one context, queue and program
 * for the whole group), its helpers, and the tests of api_kernel_args.c
 * (arguments, NDRanges, pointers followed on the device) and
 * api_svm_calls.c (the SVM entry points).
 */
#ifndef FERRY_API_KERNEL_SVM_H
#define FERRY_API_KERNEL_SVM_H

#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MiB (1024 * 1024)

typedef struct {
	cl_int a;
	cl_float b;
	cl_long c;
	cl_char d[8];
} pod_t;

struct node {
	struct node *next;
	cl_int value;
	cl_int pad;
};

extern cl_platform_id platform;
extern cl_device_id device;
extern cl_context ctx;
extern cl_command_queue queue;
extern cl_program prog;
extern cl_ulong global_mem;
extern size_t max_wg, max_items[3];
extern cl_uint address_bits;
extern cl_device_svm_capabilities svm_caps;

/* A kernel of the group's program, asserted to exist. */
cl_kernel kernel(const char *name);
/* clSVMAlloc, asserted to succeed. */
void *svm(size_t size);
/* A 1-D launch of @n items, finished. */
void launch(cl_kernel k, size_t n);
void set_ptr(cl_kernel k, cl_uint i, const void *p);
void set_arg(cl_kernel k, cl_uint i, size_t size, const void *v);
/* Runs check_u32(p, base) over n items on the device: returns the mismatches. */
cl_uint device_check_u32(cl_uint *p, cl_uint base, size_t n);
/* Host-side check of what check_u32 left behind. */
void host_check_u32(const cl_uint *p, cl_uint base, size_t n);

/* api_kernel_args.c */
void test_large_by_value_args(void **state);
void test_local_memory(void **state);
void test_ndrange_shapes(void **state);
void test_ndrange_errors(void **state);
void test_ndrange_work_group_limits(void **state);
void test_ndrange_zero_size(void **state);
void test_kernel_arg_errors(void **state);
void test_kernel_arg_size_mismatch(void **state);
void test_kernel_arg_value_kind(void **state);
void test_kernel_exec_info(void **state);
void test_pointers_into_allocation(void **state);
void test_linked_list(void **state);

/* api_svm_calls.c */
void test_svm_alloc(void **state);
void test_svm_alloc_errors(void **state);
void test_svm_alloc_max_size(void **state);
void test_svm_memcpy(void **state);
void test_svm_memfill(void **state);
void test_svm_map_unmap(void **state);
void test_svm_migrate(void **state);
void test_svm_migrate_content_undefined(void **state);
void test_svm_migrate_errors(void **state);
void test_svm_enqueue_free(void **state);
void test_oversubscribed(void **state);
void test_svm_buffer_over_svm(void **state);

#endif
