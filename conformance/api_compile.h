/* SPDX-License-Identifier: MIT */
/*
 * api_compile.h - what the two files of test_api_compile share: the fixture
 * that test_api_compile.c sets up (a context, a queue and N ints of SVM), its
 * helpers, and the tests of api_device_entries.c.
 */
#ifndef FERRY_API_COMPILE_H
#define FERRY_API_COMPILE_H

#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_2_APIS
#include <CL/cl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N 64

extern cl_platform_id platform;
extern cl_device_id device;
extern cl_context ctx;
extern cl_command_queue queue;
extern cl_int *out; /* N ints of SVM */
/* Kernels one(out), two(out) and fill(out, base). */
extern const char *three_kernels;

/* A program of @src, asserted to be created. */
cl_program create(const char *src);
/* ...and compiled with @options. */
cl_program compiled(const char *src, const char *options);
/* A build information string, checked for size and termination; free() it. */
char *build_string(cl_program p, cl_program_build_info what);
void assert_log_has(cl_program p, const char *what);
/* Run @k over N work-items with the arguments it has. */
void launch(cl_kernel k);
/* Run @k with out as argument 0 (and @base as argument 1 if >= 0). */
void run(cl_kernel k, cl_int base);

/* api_device_entries.c */
void test_timers(void **state);
void test_context_destructor(void **state);
void test_global_ctors_dtors(void **state);
void test_no_native_kernels(void **state);

/* api_images.c */
void test_image_device(void **state);
void test_image_objects(void **state);
void test_image_kernel(void **state);
void test_image_errors(void **state);

#endif
