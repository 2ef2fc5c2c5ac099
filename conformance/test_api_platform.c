/* SPDX-License-Identifier: MIT */
/*
 * Platform, device and context entry points through ocl-icd, with
 * OCL_ICD_VENDORS pointing at the build tree's ferry.icd (set by CTest).
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static cl_platform_id platform;
static cl_device_id device;

static int setup(void **state)
{
	cl_uint n = 0;

	(void)state;
	if (clGetPlatformIDs(1, &platform, &n) != CL_SUCCESS || n != 1)
		return -1;
	if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, &n) != CL_SUCCESS || n != 1)
		return -1;
	return 0;
}

static void get_platform_string(cl_platform_info p, char *buf, size_t size)
{
	size_t ret = 0;

	assert_int_equal(clGetPlatformInfo(platform, p, 0, NULL, &ret), CL_SUCCESS);
	assert_true(ret > 0 && ret <= size);
	assert_int_equal(clGetPlatformInfo(platform, p, size, buf, NULL), CL_SUCCESS);
	assert_int_equal(strlen(buf) + 1, ret);
}

static void test_platform(void **state)
{
	cl_platform_id all[4];
	cl_uint n = 0;
	char buf[256];
	cl_version v = 0;

	(void)state;
	assert_int_equal(clGetPlatformIDs(4, all, &n), CL_SUCCESS);
	assert_int_equal(n, 1);
	get_platform_string(CL_PLATFORM_NAME, buf, sizeof(buf));
	assert_string_equal(buf, "Ferry");
	get_platform_string(CL_PLATFORM_VENDOR, buf, sizeof(buf));
	assert_string_equal(buf, "Ferry");
	get_platform_string(CL_PLATFORM_PROFILE, buf, sizeof(buf));
	assert_string_equal(buf, "FULL_PROFILE");
	get_platform_string(CL_PLATFORM_VERSION, buf, sizeof(buf));
	assert_memory_equal(buf, "OpenCL 3.0 ", 11);
	get_platform_string(CL_PLATFORM_EXTENSIONS, buf, sizeof(buf));
	assert_non_null(strstr(buf, "cl_khr_icd"));
	get_platform_string(CL_PLATFORM_ICD_SUFFIX_KHR, buf, sizeof(buf));
	assert_string_equal(buf, "FERRY");
	assert_int_equal(
		clGetPlatformInfo(platform, CL_PLATFORM_NUMERIC_VERSION, sizeof(v), &v, NULL),
		CL_SUCCESS);
	assert_int_equal(CL_VERSION_MAJOR(v), 3);

	/* Errors the specification names. */
	assert_int_equal(clGetPlatformIDs(0, all, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetPlatformIDs(1, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetPlatformInfo(platform, 0x7777, sizeof(buf), buf, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clGetPlatformInfo(platform, CL_PLATFORM_NAME, 2, buf, NULL),
			 CL_INVALID_VALUE);
}

static void test_device_ids(void **state)
{
	cl_device_id d[2];
	cl_uint n = 7;

	(void)state;
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_DEFAULT, 2, d, &n), CL_SUCCESS);
	assert_int_equal(n, 1);
	assert_ptr_equal(d[0], device);
	/* a CPU device by default: PoCL's CPU device runs the kernels */
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_CPU, 1, d, NULL), CL_SUCCESS);
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_GPU, 1, d, &n),
			 CL_DEVICE_NOT_FOUND);
	assert_int_equal(n, 0);
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ACCELERATOR, 1, d, NULL),
			 CL_DEVICE_NOT_FOUND);
	/* ...or what FERRY_DEVICE_TYPE says, for applications that look for a GPU */
	assert_int_equal(setenv("FERRY_DEVICE_TYPE", "gpu", 1), 0);
	n = 7;
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_GPU, 2, d, &n), CL_SUCCESS);
	assert_int_equal(n, 1);
	assert_ptr_equal(d[0], device);
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_CPU, 1, d, NULL),
			 CL_DEVICE_NOT_FOUND);
	assert_int_equal(unsetenv("FERRY_DEVICE_TYPE"), 0);
	assert_int_equal(clGetDeviceIDs(platform, (cl_device_type)1 << 40, 1, d, &n),
			 CL_INVALID_DEVICE_TYPE);
	assert_int_equal(clGetDeviceIDs(platform, 0, 1, d, &n), CL_INVALID_DEVICE_TYPE);
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, d, &n), CL_INVALID_VALUE);
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clRetainDevice(device), CL_SUCCESS);
	assert_int_equal(clReleaseDevice(device), CL_SUCCESS);
}

static void test_device_info(void **state)
{
	char buf[4096];
	cl_uint units = 0, dims = 0;
	size_t sizes[3] = {0}, wg = 0, ret = 0;
	cl_ulong mem = 0;
	cl_bool img = CL_TRUE, avail = CL_FALSE;
	cl_platform_id p = NULL;
	cl_device_type type = 0;
	regex_t re;

	(void)state;
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof(buf), buf, &ret),
			 CL_SUCCESS);
	assert_non_null(strstr(buf, "Ferry"));
	assert_int_equal(ret, strlen(buf) + 1);
	/* vYYYY-MM-DD-XX, even when no conformance run is recorded (CTS computeinfo) */
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_LATEST_CONFORMANCE_VERSION_PASSED,
					 sizeof(buf), buf, NULL),
			 CL_SUCCESS);
	assert_int_equal(regcomp(&re,
				 "^v[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])-[0-9]{2}$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	if (regexec(&re, buf, 0, NULL, 0))
		fail_msg("CL_DEVICE_LATEST_CONFORMANCE_VERSION_PASSED is \"%s\"", buf);
	regfree(&re);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof(type), &type, NULL),
			 CL_SUCCESS);
	assert_int_equal(type, CL_DEVICE_TYPE_CPU);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof(p), &p, NULL),
			 CL_SUCCESS);
	assert_ptr_equal(p, platform);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_AVAILABLE, sizeof(avail), &avail, NULL),
			 CL_SUCCESS);
	assert_true(avail);

	/* From PoCL: its CPU device has one compute unit per online CPU. */
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(units), &units, NULL),
		CL_SUCCESS);
	assert_int_equal(units, (cl_uint)sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, sizeof(dims),
					 &dims, NULL),
			 CL_SUCCESS);
	assert_int_equal(dims, 3);
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof(sizes), sizes, NULL),
		CL_SUCCESS);
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(wg), &wg, NULL),
		CL_SUCCESS);
	assert_true(wg >= 1 && sizes[0] >= 1 && sizes[0] <= wg * 4096);
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_OPENCL_C_VERSION, sizeof(buf), buf, NULL),
		CL_SUCCESS);
	assert_memory_equal(buf, "OpenCL C ", 9);

	/* From Ferry: memory is the device capacity (FERRY_DEVICE_MEMORY=256M in CTest). */
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(mem), &mem, NULL),
		CL_SUCCESS);
	assert_int_equal(mem, 256ULL << 20);
	/* one allocation at most the device memory, unless FERRY_MAX_ALLOC_SIZE says more */
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(mem), &mem, NULL),
		CL_SUCCESS);
	assert_int_equal(mem, 256ULL << 20);
	assert_int_equal(setenv("FERRY_MAX_ALLOC_SIZE", "1G", 1), 0);
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(mem), &mem, NULL),
		CL_SUCCESS);
	assert_int_equal(mem, 1ULL << 30);
	assert_int_equal(unsetenv("FERRY_MAX_ALLOC_SIZE"), 0);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_IMAGE_SUPPORT, sizeof(img), &img, NULL),
			 CL_SUCCESS);
	assert_true(img);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, sizeof(buf), buf, NULL),
			 CL_SUCCESS);
	assert_non_null(strstr(buf, "cl_khr_3d_image_writes"));
	assert_null(strstr(buf, "cl_khr_il_program"));

	/* Errors. */
	assert_int_equal(clGetDeviceInfo(device, 0x7777, sizeof(buf), buf, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_NAME, 3, buf, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, 1, &units, NULL),
			 CL_INVALID_VALUE);
}

static void test_context(void **state)
{
	cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
	cl_context_properties bad[] = {0x7777, 1, 0};
	cl_context_properties sync_ok[] = {CL_CONTEXT_INTEROP_USER_SYNC, CL_TRUE, 0};
	cl_context_properties sync_bad[] = {CL_CONTEXT_INTEROP_USER_SYNC, -1, 0};
	cl_context_properties sync_twice[] = {CL_CONTEXT_INTEROP_USER_SYNC, CL_FALSE,
					      CL_CONTEXT_INTEROP_USER_SYNC, CL_FALSE, 0};
	cl_context_properties badp[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)device, 0};
	cl_context_properties got[8];
	cl_device_id d = NULL;
	cl_uint refs = 0, n = 0;
	size_t ret = 0;
	cl_int err = 1;
	cl_context c;

	(void)state;
	c = clCreateContext(props, 1, &device, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(c);
	assert_int_equal(clGetContextInfo(c, CL_CONTEXT_NUM_DEVICES, sizeof(n), &n, NULL),
			 CL_SUCCESS);
	assert_int_equal(n, 1);
	assert_int_equal(clGetContextInfo(c, CL_CONTEXT_DEVICES, sizeof(d), &d, NULL), CL_SUCCESS);
	assert_ptr_equal(d, device);
	assert_int_equal(clGetContextInfo(c, CL_CONTEXT_PROPERTIES, sizeof(got), got, &ret),
			 CL_SUCCESS);
	assert_int_equal(ret, sizeof(props));
	assert_memory_equal(got, props, sizeof(props));
	assert_int_equal(clRetainContext(c), CL_SUCCESS);
	assert_int_equal(clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 2);
	assert_int_equal(clGetContextInfo(c, 0x7777, sizeof(refs), &refs, NULL), CL_INVALID_VALUE);
	assert_int_equal(clReleaseContext(c), CL_SUCCESS);
	assert_int_equal(clReleaseContext(c), CL_SUCCESS);

	/* No properties: an empty property list is returned. */
	c = clCreateContextFromType(NULL, CL_DEVICE_TYPE_ALL, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetContextInfo(c, CL_CONTEXT_PROPERTIES, 0, NULL, &ret), CL_SUCCESS);
	assert_int_equal(ret, 0);
	assert_int_equal(clReleaseContext(c), CL_SUCCESS);

	/* Errors the specification names. */
	assert_null(clCreateContext(NULL, 0, &device, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clCreateContext(NULL, 1, NULL, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clCreateContext(NULL, 1, &device, NULL, &err, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clCreateContext(bad, 1, &device, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_PROPERTY);
	/* CL_CONTEXT_INTEROP_USER_SYNC is a cl_bool, given once */
	assert_null(clCreateContext(sync_bad, 1, &device, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_PROPERTY);
	assert_null(clCreateContext(sync_twice, 1, &device, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_PROPERTY);
	c = clCreateContext(sync_ok, 1, &device, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clReleaseContext(c), CL_SUCCESS);
	assert_null(clCreateContext(badp, 1, &device, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_PLATFORM);
	assert_null(clCreateContextFromType(props, CL_DEVICE_TYPE_GPU, NULL, NULL, &err));
	assert_int_equal(err, CL_DEVICE_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_platform),
		cmocka_unit_test(test_device_ids),
		cmocka_unit_test(test_device_info),
		cmocka_unit_test(test_context),
	};

	return cmocka_run_group_tests_name("api_platform", tests, setup, NULL);
}
