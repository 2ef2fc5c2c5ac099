/* SPDX-License-Identifier: MIT */
/*
 * cl_fixture.h - what the OpenCL API suites' group setups share: the one
 * platform (found through ocl-icd: OCL_ICD_VENDORS names the build tree's
 * ferry.icd), its device and a context on it.
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

#endif
