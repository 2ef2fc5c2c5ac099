/* SPDX-License-Identifier: MIT */
/* platform.c - the Ferry platform, the ICD entry points, extension lookup. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"

#define PLATFORM_EXTENSIONS "cl_khr_icd " CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME

struct _cl_platform_id ferry_platform = {.dispatch = &ferry_dispatch};

static pthread_once_t vaspace_once = PTHREAD_ONCE_INIT;
static struct ferry_ctx *vaspace;
static int vaspace_err;

static void open_vaspace(void)
{
	vaspace_err = ferry_open(NULL, &vaspace);
	if (vaspace_err)
		fprintf(stderr, "ferry: cannot start the device: %s\n",
			ferry_strerror(vaspace_err));
}

struct ferry_ctx *ferry_api_vaspace(int *err)
{
	pthread_once(&vaspace_once, open_vaspace);
	if (err)
		*err = vaspace_err;
	return vaspace;
}

cl_int ferry_api_info(size_t param_value_size, void *param_value, size_t *param_value_size_ret,
		      const void *src, size_t src_size)
{
	FERRY_RETURN_ERROR_ON(param_value && param_value_size < src_size, CL_INVALID_VALUE);
	if (param_value && src_size)
		memcpy(param_value, src, src_size);
	if (param_value_size_ret)
		*param_value_size_ret = src_size;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetPlatformIDs(cl_uint num_entries,
						       cl_platform_id *platforms,
						       cl_uint *num_platforms)
{
	FERRY_RETURN_ERROR_ON(num_entries == 0 && platforms, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(!platforms && !num_platforms, CL_INVALID_VALUE);
	if (platforms)
		platforms[0] = &ferry_platform;
	if (num_platforms)
		*num_platforms = 1;
	return CL_SUCCESS;
}

/* The ICD loader's entry point (cl_khr_icd). */
FERRY_EXPORT CL_API_ENTRY cl_int CL_API_CALL clIcdGetPlatformIDsKHR(cl_uint num_entries,
								    cl_platform_id *platforms,
								    cl_uint *num_platforms)
{
	FERRY_RETURN_ERROR_ON(num_entries == 0 && platforms, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(!platforms && !num_platforms, CL_INVALID_VALUE);
	return ferry_clGetPlatformIDs(num_entries, platforms, num_platforms);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetPlatformInfo(cl_platform_id platform,
							cl_platform_info param_name,
							size_t param_value_size, void *param_value,
							size_t *param_value_size_ret)
{
	static const cl_name_version ext[] = {{CL_MAKE_VERSION(1, 0, 0), "cl_khr_icd"},
					      {CL_FERRY_MANAGED_MEMORY_EXTENSION_VERSION,
					       CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME}};
	cl_version numeric = CL_MAKE_VERSION(3, 0, 0);
	struct timespec res = {0, 1};
	cl_ulong timer_resolution; /* clGetHostTimer's clock: CLOCK_MONOTONIC */
	const char *s = NULL;

	FERRY_RETURN_ERROR_ON(platform && platform != &ferry_platform, CL_INVALID_PLATFORM);
	switch (param_name) {
	case CL_PLATFORM_PROFILE:
		s = "FULL_PROFILE";
		break;
	case CL_PLATFORM_VERSION:
		s = "OpenCL 3.0 Ferry " FERRY_VERSION_STRING;
		break;
	case CL_PLATFORM_NAME:
		s = "Ferry";
		break;
	case CL_PLATFORM_VENDOR:
		s = "Ferry";
		break;
	case CL_PLATFORM_EXTENSIONS:
		s = PLATFORM_EXTENSIONS;
		break;
	case CL_PLATFORM_ICD_SUFFIX_KHR:
		s = "FERRY";
		break;
	case CL_PLATFORM_NUMERIC_VERSION:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, &numeric,
				      sizeof(numeric));
	case CL_PLATFORM_EXTENSIONS_WITH_VERSION:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, ext,
				      sizeof(ext));
	case CL_PLATFORM_HOST_TIMER_RESOLUTION:
		clock_getres(CLOCK_MONOTONIC, &res);
		timer_resolution = (cl_ulong)res.tv_sec * 1000000000u + (cl_ulong)res.tv_nsec;
		if (!timer_resolution)
			timer_resolution = 1;
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      &timer_resolution, sizeof(timer_resolution));
	default:
		return CL_INVALID_VALUE;
	}
	return ferry_api_info(param_value_size, param_value, param_value_size_ret, s,
			      strlen(s) + 1);
}

CL_API_ENTRY void *CL_API_CALL
ferry_clGetExtensionFunctionAddressForPlatform(cl_platform_id platform, const char *func_name)
{
	if (platform && platform != &ferry_platform)
		return NULL;
	return ferry_clGetExtensionFunctionAddress(func_name);
}

CL_API_ENTRY void *CL_API_CALL ferry_clGetExtensionFunctionAddress(const char *func_name)
{
	if (!func_name)
		return NULL;
	if (!strcmp(func_name, "clIcdGetPlatformIDsKHR"))
		return (void *)clIcdGetPlatformIDsKHR;
	if (!strcmp(func_name, "clEnqueueSVMAdviseMemFERRY"))
		return (void *)ferry_clEnqueueSVMAdviseMemFERRY;
	if (!strcmp(func_name, "clGetSVMResidencyFERRY"))
		return (void *)ferry_clGetSVMResidencyFERRY;
	if (!strcmp(func_name, "clGetSVMCountersFERRY"))
		return (void *)ferry_clGetSVMCountersFERRY;
	/* ocl-icd asks for this one before it has a platform to dispatch through */
	if (!strcmp(func_name, "clGetPlatformInfo"))
		return (void *)ferry_clGetPlatformInfo;
	return NULL;
}

FERRY_EXPORT CL_API_ENTRY void *CL_API_CALL clGetExtensionFunctionAddress(const char *func_name)
{
	return ferry_clGetExtensionFunctionAddress(func_name);
}

FERRY_EXPORT CL_API_ENTRY void *CL_API_CALL
clGetExtensionFunctionAddressForPlatform(cl_platform_id platform, const char *func_name)
{
	return ferry_clGetExtensionFunctionAddressForPlatform(platform, func_name);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clUnloadPlatformCompiler(cl_platform_id platform)
{
	FERRY_RETURN_ERROR_ON(platform != &ferry_platform, CL_INVALID_PLATFORM);
	return CL_SUCCESS; /* the compiler lives in ferry-device; nothing to unload here */
}

cl_int ferry_api_object_info(enum ferry_object_query query, uint64_t id, cl_uint param,
			     cl_uint index, size_t param_value_size, void *param_value,
			     size_t *param_value_size_ret)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	FERRY_RETURN_ERROR_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	return ferry_object_info(vas, query, id, param, index, param_value_size, param_value,
				 param_value_size_ret);
}
