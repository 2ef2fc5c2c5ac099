/* SPDX-License-Identifier: MIT */
/*
 * The entry points around contexts and the device that OpenCL 3.0 asks for,
 * in test_api_compile's fixture (api_compile.h): the device and host timers,
 * clSetContextDestructorCallback, the program-scope constructor queries, and
 * what a device without native kernels answers, as the OpenCL 3.0 API
 * specification words it (images: api_images.c).
 */
#include "api_compile.h"

void test_timers(void **state)
{
	cl_ulong res = 0, d0 = 0, h0 = 0, d1 = 0, h1 = 0, h2 = 0, start = 0, end = 0;
	cl_command_queue_properties props[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
	cl_program p = create(three_kernels);
	cl_command_queue pq;
	cl_event ev;
	cl_kernel k;
	size_t n = N;
	cl_int err;

	(void)state;
	assert_int_equal(clGetPlatformInfo(platform, CL_PLATFORM_HOST_TIMER_RESOLUTION, sizeof(res),
					   &res, NULL),
			 CL_SUCCESS);
	assert_true(res > 0); /* 0 would say: no device and host timer synchronisation */
	assert_int_equal(clGetDeviceAndHostTimer(device, &d0, &h0), CL_SUCCESS);
	assert_int_equal(clGetHostTimer(device, &h1), CL_SUCCESS);
	assert_int_equal(clGetDeviceAndHostTimer(device, &d1, &h2), CL_SUCCESS);
	assert_true(d0 > 0 && h0 > 0);
	assert_true(h0 <= h1 && h1 <= h2 && d0 <= d1);
	/* one clock: a pair read together is within a millisecond */
	assert_true(d0 > h0 ? d0 - h0 < 1000000 : h0 - d0 < 1000000);
	assert_true(d1 > h2 ? d1 - h2 < 1000000 : h2 - d1 < 1000000);

	/* the device timer is the profiling clock: a kernel's times fall between two readings */
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	k = clCreateKernel(p, "one", &err);
	assert_non_null(k);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, out), CL_SUCCESS);
	pq = clCreateCommandQueueWithProperties(ctx, device, props, &err);
	assert_non_null(pq);
	assert_int_equal(clGetDeviceAndHostTimer(device, &d0, &h0), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(pq, k, 1, NULL, &n, NULL, 0, NULL, &ev),
			 CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &ev), CL_SUCCESS);
	assert_int_equal(clGetDeviceAndHostTimer(device, &d1, &h1), CL_SUCCESS);
	assert_int_equal(clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof(start),
						 &start, NULL),
			 CL_SUCCESS);
	assert_int_equal(
		clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof(end), &end, NULL),
		CL_SUCCESS);
	assert_true(d0 <= start && start <= end && end <= d1);
	assert_int_equal(clReleaseEvent(ev), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(pq), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);

	assert_int_equal(clGetDeviceAndHostTimer(NULL, &d0, &h0), CL_INVALID_DEVICE);
	assert_int_equal(clGetDeviceAndHostTimer(device, NULL, &h0), CL_INVALID_VALUE);
	assert_int_equal(clGetDeviceAndHostTimer(device, &d0, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetHostTimer(NULL, &h0), CL_INVALID_DEVICE);
	assert_int_equal(clGetHostTimer(device, NULL), CL_INVALID_VALUE);
}

static int dtor_order[4], dtor_calls;

static void CL_CALLBACK dtor(cl_context c, void *user_data)
{
	assert_non_null(c);
	if (dtor_calls < 4)
		dtor_order[dtor_calls] = (int)(intptr_t)user_data;
	dtor_calls++;
}

void test_context_destructor(void **state)
{
	cl_int err = 1;
	cl_context c = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	cl_program p;

	(void)state;
	assert_non_null(c);
	assert_int_equal(clSetContextDestructorCallback(NULL, dtor, NULL), CL_INVALID_CONTEXT);
	assert_int_equal(clSetContextDestructorCallback(c, NULL, NULL), CL_INVALID_VALUE);
	dtor_calls = 0;
	for (intptr_t i = 1; i <= 3; i++)
		assert_int_equal(clSetContextDestructorCallback(c, dtor, (void *)i), CL_SUCCESS);
	/* a program holds its context: the last release is the program's */
	p = clCreateProgramWithSource(c, 1, &three_kernels, NULL, &err);
	assert_non_null(p);
	assert_int_equal(clReleaseContext(c), CL_SUCCESS);
	assert_int_equal(dtor_calls, 0);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
	/* once each, the last registered first */
	assert_int_equal(dtor_calls, 3);
	assert_int_equal(dtor_order[0], 3);
	assert_int_equal(dtor_order[1], 2);
	assert_int_equal(dtor_order[2], 1);
}

/* A release callback that is refused, never registered. */
static void CL_CALLBACK never(cl_program p, void *user_data)
{
	(void)p;
	(void)user_data;
	fail_msg("a refused program release callback ran");
}

void test_global_ctors_dtors(void **state)
{
	cl_program p = create(three_kernels), obj = compiled(three_kernels, NULL);
	cl_bool present = CL_TRUE;
	size_t size = 0;

	(void)state;
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_SCOPE_GLOBAL_CTORS_PRESENT, sizeof(present),
					  &present, NULL),
			 CL_INVALID_PROGRAM_EXECUTABLE);
	assert_int_equal(clGetProgramInfo(obj, CL_PROGRAM_SCOPE_GLOBAL_DTORS_PRESENT,
					  sizeof(present), &present, NULL),
			 CL_INVALID_PROGRAM_EXECUTABLE);
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_SCOPE_GLOBAL_CTORS_PRESENT, sizeof(present),
					  &present, &size),
			 CL_SUCCESS);
	assert_int_equal(size, sizeof(cl_bool));
	assert_int_equal(present, CL_FALSE);
	present = CL_TRUE;
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_SCOPE_GLOBAL_DTORS_PRESENT, sizeof(present),
					  &present, NULL),
			 CL_SUCCESS);
	assert_int_equal(present, CL_FALSE);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_SCOPE_GLOBAL_DTORS_PRESENT,
					  sizeof(present) - 1, &present, NULL),
			 CL_INVALID_VALUE);
	/* no destructors to run: no release callback (deprecated in OpenCL 3.0) */
	assert_int_equal(clSetProgramReleaseCallback(NULL, never, NULL), CL_INVALID_PROGRAM);
	assert_int_equal(clSetProgramReleaseCallback(p, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(clSetProgramReleaseCallback(p, never, NULL), CL_INVALID_OPERATION);
	assert_int_equal(clReleaseProgram(obj), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void CL_CALLBACK native(void *args)
{
	(void)args;
	fail_msg("a native kernel ran");
}

void test_no_native_kernels(void **state)
{
	cl_device_exec_capabilities caps = 0;
	int arg = 0;

	(void)state;
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_EXECUTION_CAPABILITIES, sizeof(caps),
					 &caps, NULL),
			 CL_SUCCESS);
	assert_int_equal(caps, CL_EXEC_KERNEL);
	assert_int_equal(clEnqueueNativeKernel(queue, native, &arg, sizeof(arg), 0, NULL, NULL, 0,
					       NULL, NULL),
			 CL_INVALID_OPERATION);
	assert_int_equal(clEnqueueNativeKernel(NULL, native, &arg, sizeof(arg), 0, NULL, NULL, 0,
					       NULL, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
}
