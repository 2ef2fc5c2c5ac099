/* SPDX-License-Identifier: MIT */
/*
 * ferry-bench-opencl: what its main file (bench_opencl.c: the platforms,
 * tests 1 and 2) and its vector-add test (bench_opencl_vecadd.c) share.
 */
#ifndef FERRY_BENCH_OPENCL_H
#define FERRY_BENCH_OPENCL_H

#include <stddef.h>

#include "bench_cl.h"

#define MIB ((size_t)1 << 20)
#define PAGE ((size_t)4096)

struct plat {
	const char *label; /* "Ferry", "PoCL" */
	cl_platform_id platform;
	cl_device_id device;
	cl_context ctx;
	cl_command_queue q;  /* no profiling: tests 1 and 2 */
	cl_command_queue qp; /* profiling: test 3's breakdowns */
	cl_program prog;
	cl_kernel saxpy8, empty, vadd_svm, vadd_buf;
	double build_s;
	/* cl_ferry_managed_memory (Ferry only) */
	clGetSVMResidencyFERRY_fn residency;
	clGetSVMCountersFERRY_fn counters;
};

/* Ferry's platform and PoCL's, opened by bench_opencl.c. */
extern struct plat F, P;

/* Pages of [p, p + size) resident on the device (and the total in @npages). */
size_t device_pages(const void *p, size_t size, size_t *npages);
/* Ferry's migration counters. */
void counters(cl_svm_counters_ferry *c);
/* A note with the counters of @d, headed @what. */
void note_counters(const char *what, const cl_svm_counters_ferry *d);

/* 3. vector add c = a + b, end to end, over @bytes per array, best of @reps. */
void bench_vecadd(size_t bytes, unsigned reps);

#endif /* FERRY_BENCH_OPENCL_H */
