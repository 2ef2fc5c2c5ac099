/* SPDX-License-Identifier: MIT */
/*
 * What the OpenCL benchmarks (ferry-bench-opencl, ferry-bench-suite) share:
 * OpenCL error names and the CK() check, a vendors directory holding exactly
 * Ferry's and PoCL's ICD files, finding the two platforms, a context and
 * queue, a program build with its log, migration-counter deltas
 * (bench_cl.c, library ferry_bench_cl). Errors are fatal (bench_fatal).
 */
#ifndef FERRY_BENCH_CL_H
#define FERRY_BENCH_CL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#include <CL/cl.h>
#include <CL/cl_ext_ferry.h>
#include <limits.h>

#include "bench_common.h"

#define PLATFORM_FERRY "Ferry"
#define PLATFORM_POCL "Portable Computing Language"
#define POCL_ICD "/etc/OpenCL/vendors/pocl.icd"

/* The vendors directory that setup_vendors() made ("" once removed). */
extern char bench_icd_dir[PATH_MAX];

const char *cl_err_name(cl_int e);

/* @call, an OpenCL call returning cl_int: fatal unless CL_SUCCESS. */
#define CK(call)                                                                                   \
	do {                                                                                       \
		cl_int e_ = (call);                                                                \
		if (e_ != CL_SUCCESS)                                                              \
			bench_fatal("%s:%d: %s = %d (%s)", __FILE__, __LINE__, #call, e_,          \
				    cl_err_name(e_));                                              \
	} while (0)

/*
 * A vendors directory with exactly Ferry and PoCL, made before any OpenCL
 * call (ocl-icd reads OCL_ICD_VENDORS once, at the first one): Ferry's ICD
 * file is FERRY_BENCH_ICD or the build tree's ferry.icd next to bench/.
 * Returns the path of Ferry's ICD file that was copied.
 */
const char *setup_vendors(void);
/* Remove the vendors directory (safe in a signal handler, and more than once). */
void icd_cleanup(void);
/* Ferry's and PoCL's platforms among those the loader found (fatal when one is missing). */
void find_platforms(cl_platform_id *ferry, cl_platform_id *pocl);
/* A context and an in-order queue on @dev of platform @label, which needs coarse-grained SVM. */
void open_context(const char *label, cl_device_id dev, cl_device_svm_capabilities svm,
		  cl_context *ctx, cl_command_queue *q);
/* @src built for @dev with @options; @what names the program in messages (NULL: none). */
cl_program build_program(const char *label, const char *what, cl_context ctx, cl_device_id dev,
			 const char *src, const char *options);
cl_kernel make_kernel(const char *label, cl_program prog, const char *name);

/* c1 - c0, field by field (the fields that are running totals). */
cl_svm_counters_ferry counters_delta(const cl_svm_counters_ferry *c0,
				     const cl_svm_counters_ferry *c1);

#endif /* FERRY_BENCH_CL_H */
