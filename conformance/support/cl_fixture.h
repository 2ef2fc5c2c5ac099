/* SPDX-License-Identifier: MIT */
/*
 * cl_fixture.h - what the OpenCL API suites' group setups share: the one
 * platform (found through ocl-icd: OCL_ICD_VENDORS names the build tree's
 * ferry.icd), its device and a context on it, with a queue and SVM.
 */
#ifndef FERRY_TEST_CL_FIXTURE_H
#define FERRY_TEST_CL_FIXTURE_H

#include <CL/cl.h>

/* The platform, its device and a new context: 0, or -1 (the setup fails). */
static inline int ft_cl_context(cl_platform_id *platform, cl_device_id *device, cl_context *ctx)
{
	cl_uint n = 0;
	cl_int err;

	if (clGetPlatformIDs(1, platform, &n) != CL_SUCCESS || n != 1)
		return -1;
	if (clGetDeviceIDs(*platform, CL_DEVICE_TYPE_ALL, 1, device, &n) != CL_SUCCESS || n != 1)
		return -1;
	*ctx = clCreateContext(NULL, 1, device, NULL, NULL, &err);
	return *ctx ? 0 : -1;
}

/* ...and an in-order queue on it and @bytes of coarse-grained SVM: 0, or -1. */
static inline int ft_cl_queue_svm(cl_platform_id *platform, cl_device_id *device, cl_context *ctx,
				  cl_command_queue *queue, void **svm, size_t bytes)
{
	cl_int err;

	if (ft_cl_context(platform, device, ctx))
		return -1;
	*queue = clCreateCommandQueueWithProperties(*ctx, *device, NULL, &err);
	if (!*queue)
		return -1;
	*svm = clSVMAlloc(*ctx, CL_MEM_READ_WRITE, bytes, 0);
	return *svm ? 0 : -1;
}

/* What ft_cl_queue_svm() made, released. */
static inline void ft_cl_release(cl_context ctx, cl_command_queue queue, void *svm)
{
	clSVMFree(ctx, svm);
	clReleaseCommandQueue(queue);
	clReleaseContext(ctx);
}

#endif
