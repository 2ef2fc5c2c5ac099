/* SPDX-License-Identifier: MIT */
/* Shared by the OpenCL samples: set-up, error checks, the extension's entry points. */
#ifndef FERRY_SAMPLE_H
#define FERRY_SAMPLE_H

#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext_ferry.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		cl_int e_ = (x);                                                                   \
		if (e_ != CL_SUCCESS) {                                                            \
			fprintf(stderr, "%s:%d: %s = %d\n", __FILE__, __LINE__, #x, e_);           \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

struct sample {
	cl_platform_id platform;
	cl_device_id device;
	cl_context ctx;
	cl_command_queue q;
	clGetSVMResidencyFERRY_fn residency;
	clGetSVMCountersFERRY_fn counters;
	clEnqueueSVMAdviseMemFERRY_fn advise;
};

static inline double sample_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline void sample_open(struct sample *s)
{
	cl_int err;

	CHECK(clGetPlatformIDs(1, &s->platform, NULL));
	CHECK(clGetDeviceIDs(s->platform, CL_DEVICE_TYPE_ALL, 1, &s->device, NULL));
	s->ctx = clCreateContext(NULL, 1, &s->device, NULL, NULL, &err);
	CHECK(err);
	s->q = clCreateCommandQueueWithProperties(s->ctx, s->device, NULL, &err);
	CHECK(err);
	s->residency = (clGetSVMResidencyFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		s->platform, "clGetSVMResidencyFERRY");
	s->counters = (clGetSVMCountersFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		s->platform, "clGetSVMCountersFERRY");
	s->advise = (clEnqueueSVMAdviseMemFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		s->platform, "clEnqueueSVMAdviseMemFERRY");
	if (!s->residency || !s->counters || !s->advise) {
		fprintf(stderr,
			"cl_ferry_managed_memory is missing: is this the Ferry platform?\n");
		exit(1);
	}
}

static inline cl_kernel sample_kernel(struct sample *s, const char *src, const char *name)
{
	cl_program p;
	cl_kernel k;
	cl_int err;

	p = clCreateProgramWithSource(s->ctx, 1, &src, NULL, &err);
	CHECK(err);
	err = clBuildProgram(p, 1, &s->device, "", NULL, NULL);
	if (err != CL_SUCCESS) {
		char log[16384] = "";

		clGetProgramBuildInfo(p, s->device, CL_PROGRAM_BUILD_LOG, sizeof(log), log, NULL);
		fprintf(stderr, "build failed (%d):\n%s\n", err, log);
		exit(1);
	}
	k = clCreateKernel(p, name, &err);
	CHECK(err);
	CHECK(clReleaseProgram(p)); /* the kernel keeps it */
	return k;
}

static inline void sample_close(struct sample *s)
{
	CHECK(clReleaseCommandQueue(s->q));
	CHECK(clReleaseContext(s->ctx));
}

/* Pages of [p, p + size) on the device, from the residency query. */
static inline size_t sample_device_pages(struct sample *s, const void *p, size_t size)
{
	size_t n = 0, dev = 0;
	cl_svm_residency_ferry *r;

	CHECK(s->residency(s->ctx, p, size, NULL, &n));
	r = malloc(n);
	if (!r)
		exit(1);
	CHECK(s->residency(s->ctx, p, size, r, NULL));
	for (size_t i = 0; i < n; i++)
		dev += r[i] == CL_SVM_RESIDENCY_DEVICE_FERRY;
	free(r);
	return dev;
}

#endif
