/* SPDX-License-Identifier: MIT */
/*
 * The entry points around contexts and the device that OpenCL 3.0 asks for,
 * in test_api_compile's fixture (api_compile.h): the device and host timers,
 * clSetContextDestructorCallback, the program-scope constructor queries, and
 * what a device without images and native kernels answers, as the OpenCL 3.0
 * API specification words it.
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

/*
 * Nor does the compiler say images: no __IMAGE_SUPPORT__, no image features'
 * macros (PoCL's compiler would define them); a build log's line numbers stay
 * the source's after what ferry-device puts before it.
 */
void test_no_image_macros(void **state)
{
	static const char *image_macro =
		"#if defined(__IMAGE_SUPPORT__) || defined(__opencl_c_images) || \\\n"
		"	defined(__opencl_c_read_write_images) || "
		"defined(__opencl_c_3d_image_writes)\n"
		"#error an image macro on a device without images\n"
		"#endif\n"
		"__kernel void k(__global int *p) { p[0] = 1; }\n";
	static const char *line_three = "__kernel void k(__global int *p)\n"
					"{\n"
					"	p[0] = no_such_thing;\n"
					"}\n";
	cl_program prog;

	(void)state;
	for (int cl3 = 0; cl3 < 2; cl3++) { /* the features' macros are OpenCL C 3.0's */
		prog = create(image_macro);
		assert_int_equal(
			clBuildProgram(prog, 0, NULL, cl3 ? "-cl-std=CL3.0" : NULL, NULL, NULL),
			CL_SUCCESS);
		assert_int_equal(clReleaseProgram(prog), CL_SUCCESS);
	}
	prog = create(line_three);
	assert_int_equal(clBuildProgram(prog, 0, NULL, NULL, NULL, NULL), CL_BUILD_PROGRAM_FAILURE);
	assert_log_has(prog, ":3:");
	assert_int_equal(clReleaseProgram(prog), CL_SUCCESS);
}

void test_no_images(void **state)
{
	static const cl_mem_object_type types[] = {
		CL_MEM_OBJECT_IMAGE1D, CL_MEM_OBJECT_IMAGE1D_BUFFER, CL_MEM_OBJECT_IMAGE1D_ARRAY,
		CL_MEM_OBJECT_IMAGE2D, CL_MEM_OBJECT_IMAGE2D_ARRAY,  CL_MEM_OBJECT_IMAGE3D};
	static const cl_device_info limits[] = {
		CL_DEVICE_IMAGE2D_MAX_WIDTH,   CL_DEVICE_IMAGE2D_MAX_HEIGHT,
		CL_DEVICE_IMAGE3D_MAX_WIDTH,   CL_DEVICE_IMAGE3D_MAX_HEIGHT,
		CL_DEVICE_IMAGE3D_MAX_DEPTH,   CL_DEVICE_IMAGE_MAX_BUFFER_SIZE,
		CL_DEVICE_IMAGE_MAX_ARRAY_SIZE};
	cl_image_format fmt = {CL_RGBA, CL_UNORM_INT8}, formats[4];
	cl_image_desc desc = {
		.image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = 16, .image_height = 16};
	size_t origin[3] = {0, 0, 0}, region[3] = {1, 1, 1}, pitch;
	cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64, NULL, NULL);
	cl_sampler_properties sprops[] = {0};
	cl_bool support = CL_TRUE;
	cl_uint n = 99, zero = 99;
	cl_int err = 1;
	char pixel[16];

	(void)state;
	assert_non_null(buf);
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_IMAGE_SUPPORT, sizeof(support), &support, NULL),
		CL_SUCCESS);
	assert_int_equal(support, CL_FALSE);
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		size_t v = 99;

		assert_int_equal(clGetDeviceInfo(device, limits[i], sizeof(v), &v, NULL),
				 CL_SUCCESS);
		assert_int_equal(v, 0);
	}
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_MAX_READ_IMAGE_ARGS, sizeof(zero), &zero, NULL),
		CL_SUCCESS);
	assert_int_equal(zero, 0);

	/* no formats, for any type */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = 99;
		assert_int_equal(
			clGetSupportedImageFormats(ctx, CL_MEM_READ_ONLY, types[i], 4, formats, &n),
			CL_SUCCESS);
		assert_int_equal(n, 0);
	}
	assert_int_equal(clGetSupportedImageFormats(NULL, CL_MEM_READ_ONLY, CL_MEM_OBJECT_IMAGE2D,
						    0, NULL, &n),
			 CL_INVALID_CONTEXT);
	assert_int_equal(clGetSupportedImageFormats(ctx, CL_MEM_READ_ONLY, CL_MEM_OBJECT_BUFFER, 0,
						    NULL, &n),
			 CL_INVALID_VALUE);
	assert_int_equal(clGetSupportedImageFormats(ctx, (cl_mem_flags)1 << 40,
						    CL_MEM_OBJECT_IMAGE2D, 0, NULL, &n),
			 CL_INVALID_VALUE);
	assert_int_equal(clGetSupportedImageFormats(ctx, CL_MEM_READ_ONLY, CL_MEM_OBJECT_IMAGE2D, 0,
						    formats, &n),
			 CL_INVALID_VALUE);

	/* no images, samplers or image commands: "no devices in context support images" */
	assert_null(clCreateImage(ctx, CL_MEM_READ_ONLY, &fmt, &desc, NULL, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	assert_null(clCreateImage(NULL, CL_MEM_READ_ONLY, &fmt, &desc, NULL, &err));
	assert_int_equal(err, CL_INVALID_CONTEXT);
	assert_null(
		clCreateImageWithProperties(ctx, NULL, CL_MEM_READ_ONLY, &fmt, &desc, NULL, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	assert_null(clCreateImage2D(ctx, CL_MEM_READ_ONLY, &fmt, 16, 16, 0, NULL, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	assert_null(clCreateImage3D(ctx, CL_MEM_READ_ONLY, &fmt, 4, 4, 4, 0, 0, NULL, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	assert_null(clCreateSampler(ctx, CL_FALSE, CL_ADDRESS_NONE, CL_FILTER_NEAREST, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	assert_null(clCreateSamplerWithProperties(ctx, sprops, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	assert_int_equal(clRetainSampler(NULL), CL_INVALID_SAMPLER);
	assert_int_equal(clReleaseSampler(NULL), CL_INVALID_SAMPLER);
	assert_int_equal(clGetSamplerInfo(NULL, CL_SAMPLER_REFERENCE_COUNT, sizeof(n), &n, NULL),
			 CL_INVALID_SAMPLER);
	assert_int_equal(clGetImageInfo(buf, CL_IMAGE_WIDTH, sizeof(pitch), &pitch, NULL),
			 CL_INVALID_MEM_OBJECT);
	assert_int_equal(
		clEnqueueReadImage(queue, buf, CL_TRUE, origin, region, 0, 0, pixel, 0, NULL, NULL),
		CL_INVALID_OPERATION);
	assert_int_equal(
		clEnqueueReadImage(NULL, buf, CL_TRUE, origin, region, 0, 0, pixel, 0, NULL, NULL),
		CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(clEnqueueWriteImage(queue, buf, CL_TRUE, origin, region, 0, 0, pixel, 0,
					     NULL, NULL),
			 CL_INVALID_OPERATION);
	assert_int_equal(clEnqueueCopyImage(queue, buf, buf, origin, origin, region, 0, NULL, NULL),
			 CL_INVALID_OPERATION);
	assert_int_equal(
		clEnqueueCopyImageToBuffer(queue, buf, buf, origin, region, 0, 0, NULL, NULL),
		CL_INVALID_OPERATION);
	assert_int_equal(
		clEnqueueCopyBufferToImage(queue, buf, buf, 0, origin, region, 0, NULL, NULL),
		CL_INVALID_OPERATION);
	assert_int_equal(clEnqueueFillImage(queue, buf, pixel, origin, region, 0, NULL, NULL),
			 CL_INVALID_OPERATION);
	assert_null(clEnqueueMapImage(queue, buf, CL_TRUE, CL_MAP_READ, origin, region, &pitch,
				      &pitch, 0, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	assert_int_equal(clReleaseMemObject(buf), CL_SUCCESS);
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
