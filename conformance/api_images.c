/* SPDX-License-Identifier: MIT */
/*
 * api_images.c - images and samplers (PoCL's, inside ferry-device): the
 * device's image answers, creating, querying, reading, writing, copying,
 * filling and mapping images, a kernel that samples one image and writes
 * another, and the argument errors.
 */
#include "api_compile.h"

#define W 16
#define H 8

static const cl_image_format rgba8 = {CL_RGBA, CL_UNSIGNED_INT8};

static cl_mem image2d(cl_mem_flags flags, void *host)
{
	const cl_image_desc d = {
		.image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = W, .image_height = H};
	cl_int err = 1;
	cl_mem m = clCreateImage(ctx, flags, &rgba8, &d, host, &err);

	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(m);
	return m;
}

void test_image_device(void **state)
{
	cl_bool support = CL_FALSE;
	cl_uint n = 0, args = 0;
	size_t width = 0;
	cl_image_format formats[256];
	static const char *image_macro = "#ifndef __IMAGE_SUPPORT__\n"
					 "#error no __IMAGE_SUPPORT__\n"
					 "#endif\n"
					 "__kernel void k(__global int *p) { p[0] = 1; }\n";
	cl_program prog;

	(void)state;
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_IMAGE_SUPPORT, sizeof(support), &support, NULL),
		CL_SUCCESS);
	assert_true(support);
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_IMAGE2D_MAX_WIDTH, sizeof(width), &width, NULL),
		CL_SUCCESS);
	assert_true(width >= 8192);
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_MAX_READ_IMAGE_ARGS, sizeof(args), &args, NULL),
		CL_SUCCESS);
	assert_true(args >= 128);
	assert_int_equal(clGetSupportedImageFormats(ctx, CL_MEM_READ_WRITE, CL_MEM_OBJECT_IMAGE2D,
						    256, formats, &n),
			 CL_SUCCESS);
	assert_true(n > 0);
	/* the compiler says images now */
	prog = create(image_macro);
	assert_int_equal(clBuildProgram(prog, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(prog), CL_SUCCESS);
	assert_int_equal(clGetSupportedImageFormats(NULL, CL_MEM_READ_ONLY, CL_MEM_OBJECT_IMAGE2D,
						    0, NULL, &n),
			 CL_INVALID_CONTEXT);
	assert_int_equal(clGetSupportedImageFormats(ctx, CL_MEM_READ_ONLY, CL_MEM_OBJECT_BUFFER, 0,
						    NULL, &n),
			 CL_INVALID_VALUE);
	assert_int_equal(clGetSupportedImageFormats(ctx, CL_MEM_READ_ONLY, CL_MEM_OBJECT_IMAGE2D, 0,
						    formats, &n),
			 CL_INVALID_VALUE);
}

void test_image_objects(void **state)
{
	unsigned char src[W * H * 4], dst[W * H * 4], host[W * H * 4], *map;
	size_t origin[3] = {0, 0, 0}, region[3] = {W, H, 1}, v = 0, rp = 0;
	const unsigned char color[16] = {0};
	cl_uint fill[4] = {7, 8, 9, 10};
	cl_mem a, b, u, buf;
	cl_mem_object_type t = 0;
	cl_image_format f;
	cl_int err;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)i;
	(void)color;
	a = image2d(CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, src);
	assert_int_equal(clGetImageInfo(a, CL_IMAGE_WIDTH, sizeof(v), &v, NULL), CL_SUCCESS);
	assert_int_equal(v, W);
	assert_int_equal(clGetImageInfo(a, CL_IMAGE_ELEMENT_SIZE, sizeof(v), &v, NULL), CL_SUCCESS);
	assert_int_equal(v, 4);
	assert_int_equal(clGetImageInfo(a, CL_IMAGE_DEPTH, sizeof(v), &v, NULL), CL_SUCCESS);
	assert_int_equal(v, 0);
	assert_int_equal(clGetImageInfo(a, CL_IMAGE_FORMAT, sizeof(f), &f, NULL), CL_SUCCESS);
	assert_int_equal(f.image_channel_data_type, CL_UNSIGNED_INT8);
	assert_int_equal(clGetMemObjectInfo(a, CL_MEM_TYPE, sizeof(t), &t, NULL), CL_SUCCESS);
	assert_int_equal(t, CL_MEM_OBJECT_IMAGE2D);
	assert_int_equal(
		clEnqueueReadImage(queue, a, CL_TRUE, origin, region, 0, 0, dst, 0, NULL, NULL),
		CL_SUCCESS);
	assert_memory_equal(src, dst, sizeof(src));

	/* write, copy, fill, to a buffer and back */
	b = image2d(CL_MEM_READ_WRITE, NULL);
	assert_int_equal(clEnqueueCopyImage(queue, a, b, origin, origin, region, 0, NULL, NULL),
			 CL_SUCCESS);
	buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof(src), NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(
		clEnqueueCopyImageToBuffer(queue, b, buf, origin, region, 0, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(
		clEnqueueReadBuffer(queue, buf, CL_TRUE, 0, sizeof(dst), dst, 0, NULL, NULL),
		CL_SUCCESS);
	assert_memory_equal(src, dst, sizeof(src));
	assert_int_equal(clEnqueueFillImage(queue, b, fill, origin, region, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(
		clEnqueueReadImage(queue, b, CL_TRUE, origin, region, 0, 0, dst, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(dst[0], 7);
	assert_int_equal(dst[W * H * 4 - 1], 10);
	assert_int_equal(
		clEnqueueCopyBufferToImage(queue, buf, b, 0, origin, region, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(
		clEnqueueReadImage(queue, b, CL_TRUE, origin, region, 0, 0, dst, 0, NULL, NULL),
		CL_SUCCESS);
	assert_memory_equal(src, dst, sizeof(src));

	/* map, with CL_MEM_USE_HOST_PTR: the application's memory is made right */
	memset(host, 0, sizeof(host));
	u = image2d(CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, host);
	assert_int_equal(clEnqueueCopyImage(queue, a, u, origin, origin, region, 0, NULL, NULL),
			 CL_SUCCESS);
	map = clEnqueueMapImage(queue, u, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, origin, region, &rp,
				NULL, 0, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_ptr_equal(map, host);
	assert_int_equal(rp, W * 4);
	assert_memory_equal(host, src, sizeof(src));
	map[0] = 200;
	assert_int_equal(clEnqueueUnmapMemObject(queue, u, map, 0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(
		clEnqueueReadImage(queue, u, CL_TRUE, origin, region, 0, 0, dst, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(dst[0], 200);
	assert_int_equal(clEnqueueUnmapMemObject(queue, u, map, 0, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(clReleaseMemObject(a), CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(b), CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(u), CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(buf), CL_SUCCESS);
}

void test_image_kernel(void **state)
{
	static const char *src =
		"__kernel void k(read_only image2d_t a, sampler_t s, write_only image2d_t b)\n"
		"{\n"
		"	int2 p = (int2)(get_global_id(0), get_global_id(1));\n"
		"	write_imageui(b, p, read_imageui(a, s, p) + (uint4)(1));\n"
		"}\n";
	unsigned char in[W * H * 4], res[W * H * 4];
	size_t origin[3] = {0, 0, 0}, region[3] = {W, H, 1}, g[2] = {W, H};
	cl_program prog = create(src);
	cl_kernel k;
	cl_sampler s;
	cl_mem a, b;
	cl_int err;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(3 * i % 250); /* no saturation at + 1 */
	assert_int_equal(clBuildProgram(prog, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	k = clCreateKernel(prog, "k", &err);
	assert_int_equal(err, CL_SUCCESS);
	s = clCreateSampler(ctx, CL_FALSE, CL_ADDRESS_CLAMP_TO_EDGE, CL_FILTER_NEAREST, &err);
	assert_int_equal(err, CL_SUCCESS);
	a = image2d(CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, in);
	b = image2d(CL_MEM_WRITE_ONLY, NULL);
	assert_int_equal(clSetKernelArg(k, 0, sizeof(a), &a), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(s), &s), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 2, sizeof(b), &b), CL_SUCCESS);
	/* the image argument, released by the application, lives on for the launch */
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 2, NULL, g, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(
		clEnqueueReadImage(queue, b, CL_TRUE, origin, region, 0, 0, res, 0, NULL, NULL),
		CL_SUCCESS);
	for (size_t i = 0; i < sizeof(in); i++)
		assert_int_equal(res[i], (unsigned char)(in[i] + 1));
	/* arguments of the wrong kind */
	assert_int_equal(clSetKernelArg(k, 1, sizeof(s), NULL), CL_INVALID_SAMPLER);
	assert_int_equal(clSetKernelArg(k, 1, 2 * sizeof(s), &s), CL_INVALID_ARG_SIZE);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(a), &a), CL_INVALID_SAMPLER);
	assert_int_equal(clSetKernelArg(k, 0, sizeof(s), &s), CL_INVALID_MEM_OBJECT);
	assert_int_equal(clSetKernelArg(k, 0, sizeof(b), &b), CL_INVALID_ARG_VALUE);
	assert_int_equal(clSetKernelArg(k, 2, sizeof(a), &a), CL_INVALID_ARG_VALUE);
	assert_int_equal(clReleaseMemObject(a), CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(b), CL_SUCCESS);
	assert_int_equal(clReleaseSampler(s), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(prog), CL_SUCCESS);
}

void test_image_errors(void **state)
{
	cl_image_desc d = {
		.image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = W, .image_height = H};
	size_t origin[3] = {0, 0, 0}, region[3] = {W + 1, H, 1}, v;
	cl_sampler_properties bad[] = {CL_SAMPLER_FILTER_MODE, 77, 0};
	cl_addressing_mode am = 0;
	unsigned char pixels[(W + 1) * H * 4];
	cl_mem a, buf;
	cl_sampler s;
	cl_int err = 0;

	(void)state;
	assert_null(clCreateImage(NULL, CL_MEM_READ_ONLY, &rgba8, &d, NULL, &err));
	assert_int_equal(err, CL_INVALID_CONTEXT);
	assert_null(clCreateImage(ctx, CL_MEM_READ_ONLY, NULL, &d, NULL, &err));
	assert_int_equal(err, CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
	assert_null(clCreateImage(ctx, CL_MEM_READ_ONLY, &rgba8, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_IMAGE_DESCRIPTOR);
	assert_null(clCreateImage(ctx, CL_MEM_COPY_HOST_PTR, &rgba8, &d, NULL, &err));
	assert_int_equal(err, CL_INVALID_HOST_PTR);
	d.image_width = 1u << 30;
	assert_null(clCreateImage(ctx, CL_MEM_READ_ONLY, &rgba8, &d, NULL, &err));
	assert_int_not_equal(err, CL_SUCCESS); /* PoCL's answer: CL_INVALID_OPERATION */
	d.image_width = W;
	a = clCreateImage(ctx, CL_MEM_READ_WRITE, &rgba8, &d, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	/* outside the image, not an image, not a buffer */
	assert_int_equal(
		clEnqueueReadImage(queue, a, CL_TRUE, origin, region, 0, 0, pixels, 0, NULL, NULL),
		CL_INVALID_VALUE);
	region[0] = W;
	assert_int_equal(clEnqueueReadImage(queue, buf, CL_TRUE, origin, region, 0, 0, pixels, 0,
					    NULL, NULL),
			 CL_INVALID_MEM_OBJECT);
	assert_int_equal(clEnqueueReadBuffer(queue, a, CL_TRUE, 0, 4, pixels, 0, NULL, NULL),
			 CL_INVALID_MEM_OBJECT);
	assert_int_equal(
		clEnqueueCopyImageToBuffer(queue, a, buf, origin, region, 0, 0, NULL, NULL),
		CL_INVALID_VALUE);
	assert_int_equal(clEnqueueCopyImage(queue, a, a, origin, origin, region, 0, NULL, NULL),
			 CL_MEM_COPY_OVERLAP);
	assert_int_equal(clGetImageInfo(buf, CL_IMAGE_WIDTH, sizeof(v), &v, NULL),
			 CL_INVALID_MEM_OBJECT);
	assert_null(clCreateSamplerWithProperties(ctx, bad, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	s = clCreateSampler(ctx, CL_TRUE, CL_ADDRESS_REPEAT, CL_FILTER_LINEAR, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetSamplerInfo(s, CL_SAMPLER_ADDRESSING_MODE, sizeof(am), &am, NULL),
			 CL_SUCCESS);
	assert_int_equal(am, CL_ADDRESS_REPEAT);
	assert_int_equal(clReleaseSampler(s), CL_SUCCESS);
	assert_int_equal(clRetainSampler(NULL), CL_INVALID_SAMPLER);
	/* pipes stay unsupported */
	assert_null(clCreatePipe(ctx, CL_MEM_READ_WRITE, 4, 4, NULL, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	assert_int_equal(clReleaseMemObject(a), CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(buf), CL_SUCCESS);
}
