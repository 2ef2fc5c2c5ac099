/* SPDX-License-Identifier: MIT */
/*
 * Programs from source and kernels through ocl-icd (OCL_ICD_VENDORS points
 * at the build tree's ferry.icd, set by CTest): clCreateProgramWithSource,
 * clBuildProgram (success, failure, options, -D macros, notification,
 * rebuilds), program and build queries, clCreateKernel and clGetKernelInfo.
 * Kernels run on SVM to check what a build produced.
 *
 * The expected values are the OpenCL 3.0 API specification's.
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/cl_fixture.h"

/* Compiled with AddressSanitizer (GCC defines the macro, Clang has the feature). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define N 256

static cl_platform_id platform;
static cl_device_id device;
static cl_context ctx;
static cl_command_queue queue;
static cl_int *out; /* N ints of SVM */

static const char *good_source = "__kernel void fill(__global int *out, int base)\n"
				 "{\n"
				 "	size_t i = get_global_id(0);\n"
				 "	out[i] = base + (int)i;\n"
				 "}\n"
				 "__kernel void twice(__global int *p)\n"
				 "{\n"
				 "	p[get_global_id(0)] *= 2;\n"
				 "}\n";

static const char *macro_source = "__kernel void macro(__global int *out)\n"
				  "{\n"
				  "	size_t i = get_global_id(0);\n"
				  "	out[i] = SCALE * (int)i + OFFSET;\n"
				  "#ifdef NEGATE\n"
				  "	out[i] = -out[i];\n"
				  "#endif\n"
				  "}\n";

/* FIX is not defined anywhere: builds only with -DFIX=<value>. */
static const char *fixable_source = "__kernel void fixable(__global int *out)\n"
				    "{\n"
				    "	out[get_global_id(0)] = FIX;\n"
				    "}\n";

static const char *broken_source = "__kernel void broken(__global int *out)\n"
				   "{\n"
				   "	out[0] = ferry_undeclared_identifier;\n"
				   "}\n";

static int setup(void **state)
{
	(void)state;
	return ft_cl_queue_svm(&platform, &device, &ctx, &queue, (void **)&out, N * sizeof(*out));
}

static int teardown(void **state)
{
	(void)state;
	ft_cl_release(ctx, queue, out);
	return 0;
}

static cl_program create(const char *src)
{
	cl_int err = 1;
	cl_program p = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);

	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(p);
	return p;
}

static cl_program build(const char *src, const char *options)
{
	cl_program p = create(src);

	assert_int_equal(clBuildProgram(p, 1, &device, options, NULL, NULL), CL_SUCCESS);
	return p;
}

static cl_kernel kernel(cl_program p, const char *name)
{
	cl_int err = 1;
	cl_kernel k = clCreateKernel(p, name, &err);

	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(k);
	return k;
}

/* Run @k over N work-items with out as argument 0. */
static void run(cl_kernel k)
{
	size_t n = N;

	for (int i = 0; i < N; i++)
		out[i] = -12345;
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, out), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
}

/* Run fill(out, base) from @p and check its result. */
static void run_fill(cl_program p, cl_int base)
{
	cl_kernel k = kernel(p, "fill");

	assert_int_equal(clSetKernelArg(k, 1, sizeof(base), &base), CL_SUCCESS);
	run(k);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], base + i);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
}

static cl_build_status build_status(cl_program p)
{
	cl_build_status s = 12345;

	assert_int_equal(
		clGetProgramBuildInfo(p, device, CL_PROGRAM_BUILD_STATUS, sizeof(s), &s, NULL),
		CL_SUCCESS);
	return s;
}

/* A build info string, checked for size and termination; free() it. */
static char *build_string(cl_program p, cl_program_build_info what)
{
	size_t size = 0, size2 = 0;
	char *s;

	assert_int_equal(clGetProgramBuildInfo(p, device, what, 0, NULL, &size), CL_SUCCESS);
	assert_true(size >= 1);
	s = malloc(size);
	assert_non_null(s);
	assert_int_equal(clGetProgramBuildInfo(p, device, what, size, s, &size2), CL_SUCCESS);
	assert_int_equal(size2, size);
	assert_int_equal(s[size - 1], 0);
	assert_int_equal(strlen(s) + 1, size);
	return s;
}

static void assert_build_string(cl_program p, cl_program_build_info what, const char *expected)
{
	char *s = build_string(p, what);

	assert_string_equal(s, expected);
	free(s);
}

static cl_uint program_refs(cl_program p)
{
	cl_uint r = 0;

	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_REFERENCE_COUNT, sizeof(r), &r, NULL),
			 CL_SUCCESS);
	return r;
}

static void test_create_errors(void **state)
{
	const char *strings[2] = {good_source, NULL};
	cl_int err = 1;
	cl_program p;

	(void)state;
	assert_null(clCreateProgramWithSource(ctx, 0, strings, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	err = 1;
	assert_null(clCreateProgramWithSource(ctx, 1, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	err = 1;
	assert_null(clCreateProgramWithSource(ctx, 2, strings, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	err = 1;
	assert_null(clCreateProgramWithSource(NULL, 1, strings, NULL, &err));
	assert_int_equal(err, CL_INVALID_CONTEXT);

	/* errcode_ret may be NULL. */
	p = clCreateProgramWithSource(ctx, 1, strings, NULL, NULL);
	assert_non_null(p);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void check_source(cl_program p, const char *expected)
{
	size_t size = 0;
	char *s;

	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_SOURCE, 0, NULL, &size), CL_SUCCESS);
	assert_int_equal(size, strlen(expected) + 1);
	s = malloc(size);
	assert_non_null(s);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_SOURCE, size, s, NULL), CL_SUCCESS);
	assert_string_equal(s, expected);
	/* A buffer one byte short. */
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_SOURCE, size - 1, s, NULL),
			 CL_INVALID_VALUE);
	free(s);
}

static void test_source_concatenation(void **state)
{
	const char *whole = "__kernel void cat(__global int *out)\n"
			    "{\n"
			    "	out[get_global_id(0)] = 42;\n"
			    "}\n";
	const char *parts[3] = {"__kernel void cat(__global int *out)\n",
				"{\n\tout[get_global_id(0)] = 42;\n", "}\n"};
	/* Bounded by their lengths: trailing bytes, and no terminator at all. */
	static const char raw[] = {'}', '\n'};
	const char *bounded[3] = {"__kernel void cat(__global int *out)\nGARBAGE",
				  "{\n\tout[get_global_id(0)] = 42;\n@@@", raw};
	size_t lengths[3] = {strlen(parts[0]), strlen(parts[1]), sizeof(raw)};
	size_t mixed[3] = {strlen(parts[0]), 0, 0};
	cl_program p[3];
	cl_int err = 1;

	(void)state;
	p[0] = clCreateProgramWithSource(ctx, 3, parts, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	check_source(p[0], whole);
	p[1] = clCreateProgramWithSource(ctx, 3, bounded, lengths, &err);
	assert_int_equal(err, CL_SUCCESS);
	check_source(p[1], whole);
	/* A zero length: that string is NUL-terminated. */
	p[2] = clCreateProgramWithSource(ctx, 3, parts, mixed, &err);
	assert_int_equal(err, CL_SUCCESS);
	check_source(p[2], whole);

	/* The concatenation is what gets built. */
	for (int i = 0; i < 3; i++) {
		cl_kernel k;

		assert_int_equal(clBuildProgram(p[i], 1, &device, NULL, NULL, NULL), CL_SUCCESS);
		k = kernel(p[i], "cat");
		run(k);
		for (int j = 0; j < N; j++)
			assert_int_equal(out[j], 42);
		assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
		check_source(p[i], whole);
		assert_int_equal(clReleaseProgram(p[i]), CL_SUCCESS);
	}
}

static void test_program_info(void **state)
{
	cl_program p = create(good_source);
	cl_context c = NULL;
	cl_device_id d[2] = {NULL, NULL};
	cl_uint n = 0;
	cl_program_binary_type bt = 12345;
	size_t ret = 0;

	(void)state;
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_CONTEXT, sizeof(c), &c, NULL), CL_SUCCESS);
	assert_ptr_equal(c, ctx);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_NUM_DEVICES, sizeof(n), &n, NULL),
			 CL_SUCCESS);
	assert_int_equal(n, 1);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_DEVICES, sizeof(d), d, &ret), CL_SUCCESS);
	assert_int_equal(ret, sizeof(cl_device_id));
	assert_ptr_equal(d[0], device);
	assert_int_equal(program_refs(p), 1);
	assert_int_equal(clRetainProgram(p), CL_SUCCESS);
	assert_int_equal(program_refs(p), 2);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
	assert_int_equal(program_refs(p), 1);

	/* Not built yet: status none, empty log and options, no binary. */
	assert_int_equal(build_status(p), CL_BUILD_NONE);
	assert_build_string(p, CL_PROGRAM_BUILD_LOG, "");
	assert_build_string(p, CL_PROGRAM_BUILD_OPTIONS, "");
	assert_int_equal(
		clGetProgramBuildInfo(p, device, CL_PROGRAM_BINARY_TYPE, sizeof(bt), &bt, NULL),
		CL_SUCCESS);
	assert_int_equal(bt, CL_PROGRAM_BINARY_TYPE_NONE);

	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_SUCCESS);
	assert_int_equal(
		clGetProgramBuildInfo(p, device, CL_PROGRAM_BINARY_TYPE, sizeof(bt), &bt, NULL),
		CL_SUCCESS);
	assert_int_equal(bt, CL_PROGRAM_BINARY_TYPE_EXECUTABLE);

	/* Errors. */
	assert_int_equal(clGetProgramInfo(p, 0x7777, sizeof(n), &n, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_CONTEXT, sizeof(c) - 1, &c, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clGetProgramInfo(NULL, CL_PROGRAM_CONTEXT, sizeof(c), &c, NULL),
			 CL_INVALID_PROGRAM);
	assert_int_equal(clGetProgramBuildInfo(p, device, 0x7777, sizeof(n), &n, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(
		clGetProgramBuildInfo(p, NULL, CL_PROGRAM_BUILD_STATUS, sizeof(n), &n, NULL),
		CL_INVALID_DEVICE);
	assert_int_equal(clGetProgramBuildInfo(p, (cl_device_id)platform, CL_PROGRAM_BUILD_STATUS,
					       sizeof(n), &n, NULL),
			 CL_INVALID_DEVICE);
	assert_int_equal(clRetainProgram(NULL), CL_INVALID_PROGRAM);
	assert_int_equal(clReleaseProgram(NULL), CL_INVALID_PROGRAM);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

/* CL_PROGRAM_NUM_KERNELS and CL_PROGRAM_KERNEL_NAMES (core since OpenCL 1.2). */
static void test_program_kernel_names(void **state)
{
	cl_program p = create(good_source);
	size_t nk = 0, ret = 0;
	char names[256] = "";

	(void)state;
	/* No executable yet. */
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_NUM_KERNELS, sizeof(nk), &nk, NULL),
			 CL_INVALID_PROGRAM_EXECUTABLE);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_KERNEL_NAMES, sizeof(names), names, NULL),
			 CL_INVALID_PROGRAM_EXECUTABLE);
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_SUCCESS);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_NUM_KERNELS, sizeof(nk), &nk, NULL),
			 CL_SUCCESS);
	assert_int_equal(nk, 2);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_KERNEL_NAMES, sizeof(names), names, &ret),
			 CL_SUCCESS);
	assert_int_equal(ret, strlen(names) + 1);
	/* Semicolon-separated, in any order. */
	assert_true(strcmp(names, "fill;twice") == 0 || strcmp(names, "twice;fill") == 0);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void test_build_success(void **state)
{
	const char *opts = "-cl-mad-enable -DFERRY_UNUSED=1";
	cl_program p = create(good_source);
	cl_device_id none = NULL;
	char *log;

	(void)state;
	assert_int_equal(clBuildProgram(p, 1, &device, opts, NULL, NULL), CL_SUCCESS);
	assert_int_equal(build_status(p), CL_BUILD_SUCCESS);
	assert_build_string(p, CL_PROGRAM_BUILD_OPTIONS, opts);
	log = build_string(p, CL_PROGRAM_BUILD_LOG); /* may be empty */
	free(log);
	run_fill(p, 100);

	/* No device list: every device of the program; no options: empty options. */
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	assert_int_equal(build_status(p), CL_BUILD_SUCCESS);
	assert_build_string(p, CL_PROGRAM_BUILD_OPTIONS, "");
	run_fill(p, -7);

	/* Errors. */
	assert_int_equal(clBuildProgram(p, 1, NULL, NULL, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(clBuildProgram(p, 0, &device, NULL, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(clBuildProgram(p, 1, &none, NULL, NULL, NULL), CL_INVALID_DEVICE);
	assert_int_equal(clBuildProgram(p, 1, (const cl_device_id *)&platform, NULL, NULL, NULL),
			 CL_INVALID_DEVICE);
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, &none), CL_INVALID_VALUE);
	assert_int_equal(clBuildProgram(NULL, 1, &device, NULL, NULL, NULL), CL_INVALID_PROGRAM);
	/* The failed calls left the executable alone. */
	assert_int_equal(build_status(p), CL_BUILD_SUCCESS);
	run_fill(p, 3);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void test_build_failure(void **state)
{
	cl_program p = create(broken_source);
	cl_program_binary_type bt = 12345;
	cl_int err = 1;
	char *log;

	(void)state;
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_BUILD_PROGRAM_FAILURE);
	assert_int_equal(build_status(p), CL_BUILD_ERROR);
	log = build_string(p, CL_PROGRAM_BUILD_LOG);
	assert_true(strlen(log) > 0);
	if (!strstr(log, "ferry_undeclared_identifier"))
		fail_msg("the build log does not name the error:\n%s", log);
	free(log);
	assert_int_equal(
		clGetProgramBuildInfo(p, device, CL_PROGRAM_BINARY_TYPE, sizeof(bt), &bt, NULL),
		CL_SUCCESS);
	assert_int_equal(bt, CL_PROGRAM_BINARY_TYPE_NONE);
	assert_null(clCreateKernel(p, "broken", &err));
	assert_int_equal(err, CL_INVALID_PROGRAM_EXECUTABLE);
	/* Building again fails the same way. */
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_BUILD_PROGRAM_FAILURE);
	assert_int_equal(build_status(p), CL_BUILD_ERROR);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);

	/* A program that fails without a macro and builds with it. */
	p = create(fixable_source);
	assert_int_equal(clBuildProgram(p, 1, &device, "", NULL, NULL), CL_BUILD_PROGRAM_FAILURE);
	assert_int_equal(build_status(p), CL_BUILD_ERROR);
	log = build_string(p, CL_PROGRAM_BUILD_LOG);
	if (!strstr(log, "FIX"))
		fail_msg("the build log does not name the error:\n%s", log);
	free(log);
	assert_int_equal(clBuildProgram(p, 1, &device, "-DFIX=9", NULL, NULL), CL_SUCCESS);
	assert_int_equal(build_status(p), CL_BUILD_SUCCESS);
	{
		cl_kernel k = kernel(p, "fixable");

		run(k);
		for (int i = 0; i < N; i++)
			assert_int_equal(out[i], 9);
		assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	}
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void test_build_invalid_options(void **state)
{
	cl_program p = create(good_source);

	(void)state;
	assert_int_equal(clBuildProgram(p, 1, &device, "-cl-ferry-no-such-option", NULL, NULL),
			 CL_INVALID_BUILD_OPTIONS);
	assert_int_not_equal(build_status(p), CL_BUILD_SUCCESS);
	assert_int_equal(clBuildProgram(p, 1, &device, "-cl-fast-relaxed-math", NULL, NULL),
			 CL_SUCCESS);
	run_fill(p, 5);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void test_build_macros(void **state)
{
	const char *opts1 = "-DSCALE=7 -D OFFSET=3";
	const char *opts2 = "-D SCALE=11 -DOFFSET=-5 -DNEGATE";
	cl_program p = create(macro_source);
	cl_kernel k;

	(void)state;
	assert_int_equal(clBuildProgram(p, 1, &device, opts1, NULL, NULL), CL_SUCCESS);
	assert_build_string(p, CL_PROGRAM_BUILD_OPTIONS, opts1);
	k = kernel(p, "macro");
	run(k);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], 7 * i + 3);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);

	/* Rebuilt with other values (no kernel left), the new ones take effect. */
	assert_int_equal(clBuildProgram(p, 1, &device, opts2, NULL, NULL), CL_SUCCESS);
	assert_build_string(p, CL_PROGRAM_BUILD_OPTIONS, opts2);
	k = kernel(p, "macro");
	run(k);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], -(11 * i - 5));
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

struct notify {
	atomic_int calls;
	_Atomic(cl_program) program;
};

static void CL_CALLBACK on_built(cl_program p, void *user_data)
{
	struct notify *n = user_data;

	atomic_store(&n->program, p);
	atomic_fetch_add(&n->calls, 1);
}

/* The callback may run on another thread after clBuildProgram returns. */
static void wait_calls(struct notify *n, int calls)
{
	struct timespec ts = {0, 1000000};

	for (int i = 0; i < 60000 && atomic_load(&n->calls) < calls; i++)
		nanosleep(&ts, NULL);
	assert_int_equal(atomic_load(&n->calls), calls);
}

static void test_build_notify(void **state)
{
	struct notify n;
	cl_program p = create(good_source), b = create(broken_source);
	cl_int err;

	(void)state;
	atomic_init(&n.calls, 0);
	atomic_init(&n.program, NULL);
	err = clBuildProgram(p, 1, &device, NULL, on_built, &n);
	assert_int_equal(err, CL_SUCCESS);
	wait_calls(&n, 1);
	assert_ptr_equal(atomic_load(&n.program), p);
	assert_int_equal(build_status(p), CL_BUILD_SUCCESS);
	run_fill(p, 11);

	/* Called for a failed build too (the build itself may report success early). */
	err = clBuildProgram(b, 1, &device, NULL, on_built, &n);
	assert_true(err == CL_BUILD_PROGRAM_FAILURE || err == CL_SUCCESS);
	wait_calls(&n, 2);
	assert_ptr_equal(atomic_load(&n.program), b);
	assert_int_equal(build_status(b), CL_BUILD_ERROR);
	assert_int_equal(clReleaseProgram(b), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void test_rebuild_with_kernels(void **state)
{
	cl_program p = build(good_source, NULL);
	cl_kernel k = kernel(p, "fill");
	cl_int base = 20;

	(void)state;
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_INVALID_OPERATION);
	assert_int_equal(clBuildProgram(p, 1, &device, "-DX=1", NULL, NULL), CL_INVALID_OPERATION);
	/* The program and its kernel are untouched. */
	assert_int_equal(build_status(p), CL_BUILD_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(base), &base), CL_SUCCESS);
	run(k);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], base + i);

	/* Still one reference after a retain and a release. */
	assert_int_equal(clRetainKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_INVALID_OPERATION);
	/* Once the last kernel is gone, the program can be built again. */
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_SUCCESS);
	run_fill(p, 21);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void test_create_kernel_errors(void **state)
{
	cl_program unbuilt = create(good_source), p = build(good_source, NULL);
	cl_kernel k1, k2;
	cl_int err = 1, b1 = 1000, b2 = 2000;

	(void)state;
	assert_null(clCreateKernel(unbuilt, "fill", &err));
	assert_int_equal(err, CL_INVALID_PROGRAM_EXECUTABLE);
	err = 1;
	assert_null(clCreateKernel(p, "no_such_kernel", &err));
	assert_int_equal(err, CL_INVALID_KERNEL_NAME);
	err = 1;
	assert_null(clCreateKernel(p, "", &err));
	assert_int_equal(err, CL_INVALID_KERNEL_NAME);
	err = 1;
	assert_null(clCreateKernel(p, "fil", &err));
	assert_int_equal(err, CL_INVALID_KERNEL_NAME);
	err = 1;
	assert_null(clCreateKernel(p, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	err = 1;
	assert_null(clCreateKernel(NULL, "fill", &err));
	assert_int_equal(err, CL_INVALID_PROGRAM);

	/* Two kernels of one function are independent objects with their own arguments. */
	k1 = kernel(p, "fill");
	k2 = clCreateKernel(p, "fill", NULL);
	assert_non_null(k2);
	assert_ptr_not_equal(k1, k2);
	assert_int_equal(clSetKernelArg(k1, 1, sizeof(b1), &b1), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k2, 1, sizeof(b2), &b2), CL_SUCCESS);
	run(k1);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], b1 + i);
	run(k2);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], b2 + i);
	assert_int_equal(clReleaseKernel(k1), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k2), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(unbuilt), CL_SUCCESS);
}

static void test_kernel_info(void **state)
{
	cl_program p = build(good_source, NULL), got_p = NULL;
	cl_kernel k = kernel(p, "fill"), t = kernel(p, "twice");
	cl_context c = NULL;
	cl_uint nargs = 0, refs = 0;
	size_t ret = 0;
	char name[64] = "";
	cl_int base = 500;

	(void)state;
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof(name), name, &ret),
			 CL_SUCCESS);
	assert_string_equal(name, "fill");
	assert_int_equal(ret, 5);
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, 0, NULL, &ret), CL_SUCCESS);
	assert_int_equal(ret, 5);
	assert_int_equal(clGetKernelInfo(t, CL_KERNEL_FUNCTION_NAME, sizeof(name), name, NULL),
			 CL_SUCCESS);
	assert_string_equal(name, "twice");
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof(nargs), &nargs, NULL),
			 CL_SUCCESS);
	assert_int_equal(nargs, 2);
	assert_int_equal(clGetKernelInfo(t, CL_KERNEL_NUM_ARGS, sizeof(nargs), &nargs, NULL),
			 CL_SUCCESS);
	assert_int_equal(nargs, 1);
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_PROGRAM, sizeof(got_p), &got_p, NULL),
			 CL_SUCCESS);
	assert_ptr_equal(got_p, p);
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_CONTEXT, sizeof(c), &c, NULL), CL_SUCCESS);
	assert_ptr_equal(c, ctx);
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 1);
	assert_int_equal(clRetainKernel(k), CL_SUCCESS);
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 2);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 1);
	/* No attributes in the source: an empty string. */
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_ATTRIBUTES, sizeof(name), name, &ret),
			 CL_SUCCESS);
	assert_int_equal(ret, strlen(name) + 1);

	/* Errors. */
	assert_int_equal(clGetKernelInfo(k, 0x7777, sizeof(name), name, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, 4, name, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clGetKernelInfo(NULL, CL_KERNEL_NUM_ARGS, sizeof(nargs), &nargs, NULL),
			 CL_INVALID_KERNEL);
	assert_int_equal(clRetainKernel(NULL), CL_INVALID_KERNEL);
	assert_int_equal(clReleaseKernel(NULL), CL_INVALID_KERNEL);

	/* Kernels outlive the application's program handle. */
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
	assert_int_equal(clGetKernelInfo(k, CL_KERNEL_PROGRAM, sizeof(got_p), &got_p, NULL),
			 CL_SUCCESS);
	assert_ptr_equal(got_p, p);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(base), &base), CL_SUCCESS);
	run(k);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], base + i);
	assert_int_equal(clSetKernelArgSVMPointer(t, 0, out), CL_SUCCESS);
	{
		size_t n = N;

		assert_int_equal(clEnqueueNDRangeKernel(queue, t, 1, NULL, &n, NULL, 0, NULL, NULL),
				 CL_SUCCESS);
		assert_int_equal(clFinish(queue), CL_SUCCESS);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], 2 * (base + i));
	assert_int_equal(clReleaseKernel(t), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
}

/* Many failed builds and failed calls in a row: the next build and run work. */
static void test_usable_after_failures(void **state)
{
	cl_program bad[4], p;
	cl_int err;

	(void)state;
	for (int i = 0; i < 4; i++) {
		bad[i] = create(broken_source);
		assert_int_equal(clBuildProgram(bad[i], 1, &device, NULL, NULL, NULL),
				 CL_BUILD_PROGRAM_FAILURE);
		assert_null(clCreateKernel(bad[i], "broken", &err));
		assert_int_equal(err, CL_INVALID_PROGRAM_EXECUTABLE);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(clReleaseProgram(bad[i]), CL_SUCCESS);
	p = build(good_source, NULL);
	assert_null(clCreateKernel(p, "nope", &err));
	assert_int_equal(err, CL_INVALID_KERNEL_NAME);
	run_fill(p, 77);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

/*
 * Builds that fail before compiling (invalid options), thousands of times
 * over: each fails the same way and leaves nothing behind, so a valid
 * build still works afterwards. Last: a failure leaves the process unable
 * to build. Not under AddressSanitizer, where a build costs milliseconds
 * (the release run covers it).
 */
static void test_many_failed_builds(void **state)
{
	cl_program p = create(good_source), q;
	cl_int err = CL_SUCCESS;
	int i;

	(void)state;
	if (UNDER_ASAN) {
		assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
		skip();
	}
	for (i = 0; i < 5000; i++) {
		err = clBuildProgram(p, 1, &device, "-cl-ferry-no-such-option", NULL, NULL);
		if (err != CL_INVALID_BUILD_OPTIONS)
			break;
	}
	if (i < 5000)
		fail_msg("failed build %d returned %d", i, err);
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_SUCCESS);
	run_fill(p, 8);
	q = build(good_source, NULL);
	run_fill(q, 9);
	assert_int_equal(clReleaseProgram(q), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

/* What kernel printf wrote into @path, read back. */
static void read_back(const char *path, char *got, size_t room)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(got, 1, room - 1, f);
	got[n] = '\0';
	fclose(f);
}

/*
 * Kernels' printf lands in the application's standard output as it is at
 * the launch: a file that stdout was reopened on (freopen, as the CTS's printf
 * suite does), the same name reopened and so truncated, and the terminal or
 * log again once stdout is restored.
 */
static void test_printf_follows_stdout(void **state)
{
	static const char *src = "__kernel void say(__global int *out, int v)\n"
				 "{\n"
				 "	if (get_global_id(0) == 0)\n"
				 "		printf(\"ferry says %d\\n\", v);\n"
				 "}\n";
	char path[] = "/tmp/ferry-printf-XXXXXX", got[128], expected[64];
	cl_program p = build(src, "");
	cl_kernel k = kernel(p, "say");
	size_t one = 1;
	int fd = mkstemp(path), saved;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, out), CL_SUCCESS);
	for (cl_int round = 0; round < 3; round++) {
		cl_int v = 40 + round;

		fflush(stdout);
		saved = dup(STDOUT_FILENO);
		assert_true(saved >= 0);
		if (round < 2) /* the third launch: stdout as it was */
			assert_non_null(freopen(path, "w", stdout));
		assert_int_equal(clSetKernelArg(k, 1, sizeof(v), &v), CL_SUCCESS);
		assert_int_equal(
			clEnqueueNDRangeKernel(queue, k, 1, NULL, &one, NULL, 0, NULL, NULL),
			CL_SUCCESS);
		assert_int_equal(clFinish(queue), CL_SUCCESS);
		fflush(stdout);
		assert_true(dup2(saved, STDOUT_FILENO) >= 0);
		close(saved);
		read_back(path, got, sizeof(got));
		snprintf(expected, sizeof(expected), "ferry says %d\n", round < 2 ? v : 41);
		assert_string_equal(got, expected);
	}
	unlink(path);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_source_concatenation),
		cmocka_unit_test(test_program_info),
		cmocka_unit_test(test_program_kernel_names),
		cmocka_unit_test(test_build_success),
		cmocka_unit_test(test_build_failure),
		cmocka_unit_test(test_build_invalid_options),
		cmocka_unit_test(test_build_macros),
		cmocka_unit_test(test_build_notify),
		cmocka_unit_test(test_rebuild_with_kernels),
		cmocka_unit_test(test_create_kernel_errors),
		cmocka_unit_test(test_kernel_info),
		cmocka_unit_test(test_usable_after_failures),
		cmocka_unit_test(test_many_failed_builds),
		cmocka_unit_test(test_printf_follows_stdout),
	};

	return cmocka_run_group_tests_name("api_program", tests, setup, teardown);
}
