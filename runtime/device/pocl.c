/* SPDX-License-Identifier: MIT */
/*
 * pocl.c - PoCL inside ferry-device: the software device's compute engine.
 *
 * PoCL is loaded on first use with dlopen() and reached through its ICD
 * entry point and dispatch table, never through libOpenCL: the host's
 * OCL_ICD_VENDORS may well point at Ferry itself.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "device/device.h"

#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_icd.h>

typedef cl_int(CL_API_CALL *icd_get_platforms_fn)(cl_uint, cl_platform_id *, cl_uint *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cl_platform_id platform;
static cl_device_id device;
static const struct _cl_icd_dispatch *dispatch;

static void load(void)
{
	const char *lib = getenv("FERRY_POCL_LIBRARY");
	void *h = dlopen(lib ? lib : "libpocl.so.2", RTLD_NOW | RTLD_LOCAL);
	icd_get_platforms_fn get;
	cl_uint n = 0;

	if (!h) {
		fprintf(stderr, "ferry-device: cannot load PoCL: %s\n", dlerror());
		return;
	}
	get = (icd_get_platforms_fn)dlsym(h, "POclIcdGetPlatformIDsKHR");
	if (!get)
		get = (icd_get_platforms_fn)dlsym(h, "clIcdGetPlatformIDsKHR");
	if (!get || get(1, &platform, &n) != CL_SUCCESS || n == 0) {
		fprintf(stderr, "ferry-device: PoCL has no platform\n");
		return;
	}
	dispatch = *(const struct _cl_icd_dispatch **)platform;
	if (dispatch->clGetDeviceIDs(platform, CL_DEVICE_TYPE_CPU, 1, &device, &n) != CL_SUCCESS ||
	    n == 0) {
		fprintf(stderr, "ferry-device: PoCL has no CPU device\n");
		device = NULL;
	}
}

int ferry_pocl_device_info(uint32_t param, uint64_t size, void *value, uint64_t *size_ret)
{
	size_t ret = 0;
	cl_int err;

	pthread_once(&once, load);
	if (!device)
		return CL_DEVICE_NOT_AVAILABLE;
	err = dispatch->clGetDeviceInfo(device, param, (size_t)size, size ? value : NULL, &ret);
	*size_ret = ret;
	return err;
}
