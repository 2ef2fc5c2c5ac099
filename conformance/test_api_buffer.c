/* SPDX-License-Identifier: MIT */
/* Buffers and sub-buffers on managed memory, through ocl-icd. */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static cl_device_id device;
static cl_context ctx;
static cl_command_queue q;
static cl_kernel add;

static const char *src = "__kernel void add(__global const int *a, __global const int *b,\n"
			 "                  __global int *c)\n"
			 "{\n"
			 "	size_t i = get_global_id(0);\n"
			 "	c[i] = a[i] + b[i];\n"
			 "}\n";

static int setup(void **state)
{
	cl_platform_id platform;
	cl_program p;
	cl_int err;

	(void)state;
	if (clGetPlatformIDs(1, &platform, NULL) ||
	    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL))
		return -1;
	ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	if (err)
		return -1;
	q = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	if (err)
		return -1;
	p = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
	if (err || clBuildProgram(p, 1, &device, "", NULL, NULL))
		return -1;
	add = clCreateKernel(p, "add", &err);
	clReleaseProgram(p);
	return err ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	clReleaseKernel(add);
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	return 0;
}

static void test_kernel_over_buffers(void **state)
{
	const size_t n = 1 << 20;
	int *ha = malloc(n * sizeof(int)), *hb = malloc(n * sizeof(int)),
	    *hc = malloc(n * sizeof(int));
	cl_mem a, b, c;
	cl_int err;

	(void)state;
	assert_non_null(ha);
	assert_non_null(hb);
	assert_non_null(hc);
	for (size_t i = 0; i < n; i++) {
		ha[i] = (int)i;
		hb[i] = 3 * (int)i;
	}
	a = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof(int), ha, &err);
	assert_int_equal(err, CL_SUCCESS);
	b = clCreateBuffer(ctx, CL_MEM_READ_ONLY, n * sizeof(int), NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	c = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, n * sizeof(int), NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clEnqueueWriteBuffer(q, b, CL_TRUE, 0, n * sizeof(int), hb, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 0, sizeof(a), &a), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 1, sizeof(b), &b), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 2, sizeof(c), &c), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, add, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueReadBuffer(q, c, CL_TRUE, 0, n * sizeof(int), hc, 0, NULL, NULL),
			 CL_SUCCESS);
	for (size_t i = 0; i < n; i++)
		if (hc[i] != 4 * (int)i)
			fail_msg("c[%zu] = %d, expected %d", i, hc[i], 4 * (int)i);
	/* migrate to the device and back: contents kept */
	assert_int_equal(clEnqueueMigrateMemObjects(q, 1, &c, 0, 0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(
		clEnqueueMigrateMemObjects(q, 1, &c, CL_MIGRATE_MEM_OBJECT_HOST, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(clEnqueueReadBuffer(q, c, CL_TRUE, 4, sizeof(int), hc, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(hc[0], 4);
	clReleaseMemObject(a);
	clReleaseMemObject(b);
	clReleaseMemObject(c);
	free(ha);
	free(hb);
	free(hc);
}

static void test_fill_copy_map(void **state)
{
	const size_t n = 4096;
	int pattern = 0x5a5a1234, *p, v[4];
	cl_mem a, b;
	cl_uint maps = 9;
	cl_int err;

	(void)state;
	a = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n * sizeof(int), NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	b = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n * sizeof(int), NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clEnqueueFillBuffer(q, a, &pattern, sizeof(pattern), 0, n * sizeof(int), 0,
					     NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueCopyBuffer(q, a, b, 0, 0, n * sizeof(int), 0, NULL, NULL),
			 CL_SUCCESS);
	p = clEnqueueMapBuffer(q, b, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, n * sizeof(int), 0,
			       NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(p[0], pattern);
	assert_int_equal(p[n - 1], pattern);
	p[7] = 77;
	assert_int_equal(clGetMemObjectInfo(b, CL_MEM_MAP_COUNT, sizeof(maps), &maps, NULL),
			 CL_SUCCESS);
	assert_int_equal(maps, 1);
	assert_int_equal(clEnqueueUnmapMemObject(q, b, p, 0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(
		clEnqueueReadBuffer(q, b, CL_TRUE, 7 * sizeof(int), sizeof(int), v, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(v[0], 77);

	/* errors the specification names */
	assert_int_equal(clEnqueueCopyBuffer(q, a, a, 0, 8, 64, 0, NULL, NULL),
			 CL_MEM_COPY_OVERLAP);
	assert_int_equal(clEnqueueFillBuffer(q, a, &pattern, 3, 0, 12, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(
		clEnqueueReadBuffer(q, a, CL_TRUE, n * sizeof(int) - 4, 8, v, 0, NULL, NULL),
		CL_INVALID_VALUE);
	assert_int_equal(clEnqueueUnmapMemObject(q, a, v, 0, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(clEnqueueReadBuffer(q, (cl_mem)v, CL_TRUE, 0, 4, v, 0, NULL, NULL),
			 CL_INVALID_MEM_OBJECT);
	clReleaseMemObject(a);
	clReleaseMemObject(b);
}

static void test_sub_buffer_and_host_ptr(void **state)
{
	int host[1024], out[4], *p;
	cl_buffer_region r = {.origin = 256, .size = 512};
	cl_mem a, sub, parent = NULL;
	cl_mem_properties props[] = {0}, got = 1;
	cl_mem_flags flags = 0;
	size_t off = 0, size = 1;
	cl_int err;

	(void)state;
	for (int i = 0; i < 1024; i++)
		host[i] = i;
	a = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, sizeof(host), host, &err);
	assert_int_equal(err, CL_SUCCESS);
	sub = clCreateSubBuffer(a, CL_MEM_READ_ONLY, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(
		clGetMemObjectInfo(sub, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof(parent), &parent, NULL),
		CL_SUCCESS);
	assert_ptr_equal(parent, a);
	assert_int_equal(clGetMemObjectInfo(sub, CL_MEM_OFFSET, sizeof(off), &off, NULL),
			 CL_SUCCESS);
	assert_int_equal(off, 256);
	assert_int_equal(clEnqueueReadBuffer(q, sub, CL_TRUE, 0, sizeof(out), out, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(out[0], 64); /* byte 256 = int 64 */

	/* USE_HOST_PTR: mapping returns the application's memory, updated */
	assert_int_equal(
		clEnqueueWriteBuffer(q, a, CL_TRUE, 0, sizeof(int), &(int){4242}, 0, NULL, NULL),
		CL_SUCCESS);
	p = clEnqueueMapBuffer(q, a, CL_TRUE, CL_MAP_READ, 0, sizeof(host), 0, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_ptr_equal(p, host);
	assert_int_equal(host[0], 4242);
	assert_int_equal(clEnqueueUnmapMemObject(q, a, p, 0, NULL, NULL), CL_SUCCESS);
	/* the unmap reads host[] when it runs: keep it alive until then */
	assert_int_equal(clFinish(q), CL_SUCCESS);

	/* errors */
	r.origin = 4;
	assert_null(clCreateSubBuffer(a, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err));
	assert_int_equal(err, CL_MISALIGNED_SUB_BUFFER_OFFSET);
	r.origin = 0;
	r.size = sizeof(host) + 1;
	assert_null(clCreateSubBuffer(a, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	clReleaseMemObject(sub);
	clReleaseMemObject(a);

	/* a sub-buffer's flags name how its parent's memory came to be */
	a = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(host), host, &err);
	assert_int_equal(err, CL_SUCCESS);
	r.size = 512;
	sub = clCreateSubBuffer(a, CL_MEM_READ_ONLY, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetMemObjectInfo(sub, CL_MEM_FLAGS, sizeof(flags), &flags, NULL),
			 CL_SUCCESS);
	assert_int_equal(flags, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR);
	clReleaseMemObject(sub);
	clReleaseMemObject(a);

	/* CL_MEM_PROPERTIES: the list given, {0}, or nothing when none was */
	a = clCreateBufferWithProperties(ctx, props, CL_MEM_READ_WRITE, 64, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetMemObjectInfo(a, CL_MEM_PROPERTIES, sizeof(got), &got, &size),
			 CL_SUCCESS);
	assert_int_equal(size, sizeof(cl_mem_properties));
	assert_int_equal(got, 0);
	clReleaseMemObject(a);
	a = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetMemObjectInfo(a, CL_MEM_PROPERTIES, 0, NULL, &size), CL_SUCCESS);
	assert_int_equal(size, 0);
	/* and no buffer is a pipe: the device has none (CL_DEVICE_PIPE_SUPPORT) */
	assert_int_equal(clGetPipeInfo(a, CL_PIPE_PACKET_SIZE, sizeof(size), &size, NULL),
			 CL_INVALID_MEM_OBJECT);
	assert_null(clCreatePipe(ctx, CL_MEM_HOST_NO_ACCESS, 4, 4, NULL, &err));
	assert_int_equal(err, CL_INVALID_OPERATION);
	clReleaseMemObject(a);

	assert_null(clCreateBuffer(ctx, CL_MEM_READ_WRITE, 0, NULL, &err));
	assert_int_equal(err, CL_INVALID_BUFFER_SIZE);
	assert_null(clCreateBuffer(ctx, CL_MEM_USE_HOST_PTR, 16, NULL, &err));
	assert_int_equal(err, CL_INVALID_HOST_PTR);
	assert_null(clCreateBuffer(ctx, CL_MEM_READ_WRITE, 16, host, &err));
	assert_int_equal(err, CL_INVALID_HOST_PTR);
	assert_null(clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, 16, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
}

/* A buffer released while a kernel that uses it is still queued keeps its data. */
static void test_release_while_queued(void **state)
{
	const size_t n = 1 << 18;
	int *h = malloc(n * sizeof(int)), zero = 0;
	cl_mem a, b, c;
	cl_event gate;
	cl_int err;

	(void)state;
	assert_non_null(h);
	for (size_t i = 0; i < n; i++)
		h[i] = (int)i;
	a = clCreateBuffer(ctx, CL_MEM_COPY_HOST_PTR, n * sizeof(int), h, &err);
	assert_int_equal(err, CL_SUCCESS);
	b = clCreateBuffer(ctx, CL_MEM_COPY_HOST_PTR, n * sizeof(int), h, &err);
	assert_int_equal(err, CL_SUCCESS);
	c = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n * sizeof(int), NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(
		clEnqueueFillBuffer(q, c, &zero, sizeof(zero), 0, n * sizeof(int), 0, NULL, NULL),
		CL_SUCCESS);
	/* a user event holds the kernel back until the buffers are released */
	gate = clCreateUserEvent(ctx, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 0, sizeof(a), &a), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 1, sizeof(b), &b), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 2, sizeof(c), &c), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, add, 1, NULL, &n, NULL, 1, &gate, NULL),
			 CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(a), CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(b), CL_SUCCESS);
	assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clEnqueueReadBuffer(q, c, CL_TRUE, 0, n * sizeof(int), h, 0, NULL, NULL),
			 CL_SUCCESS);
	for (size_t i = 0; i < n; i++)
		if (h[i] != 2 * (int)i)
			fail_msg("c[%zu] = %d, expected %d", i, h[i], 2 * (int)i);
	clReleaseEvent(gate);
	clReleaseMemObject(c);
	free(h);
}

/* Rectangular transfers: a 2D tile written, copied inside the buffer, and read back. */
static void test_rect(void **state)
{
	enum { W = 64, H = 32 };
	unsigned char host[H][W], out[H][W];
	const size_t bo[3] = {8, 4, 0}, ho[3] = {0, 0, 0}, region[3] = {16, 8, 1};
	const size_t co[3] = {32, 16, 0}, corner[3] = {23, 11, 0}, beside[3] = {24, 11, 0};
	cl_mem m;
	cl_int err;

	(void)state;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			host[y][x] = (unsigned char)(y * W + x);
	m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, W * H, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clEnqueueFillBuffer(q, m, &(char){0}, 1, 0, W * H, 0, NULL, NULL),
			 CL_SUCCESS);
	/* the 16x8 tile at host (0,0) goes to buffer (8,4), rows W bytes apart on both sides */
	assert_int_equal(clEnqueueWriteBufferRect(q, m, CL_TRUE, bo, ho, region, W, 0, W, 0, host,
						  0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(
		clEnqueueCopyBufferRect(q, m, m, bo, co, region, W, 0, W, 0, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(clEnqueueReadBuffer(q, m, CL_TRUE, 0, W * H, out, 0, NULL, NULL),
			 CL_SUCCESS);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			unsigned char want = 0;

			if (x >= 8 && x < 24 && y >= 4 && y < 12)
				want = host[y - 4][x - 8];
			if (x >= 32 && x < 48 && y >= 16 && y < 24)
				want = host[y - 16][x - 32];
			if (out[y][x] != want)
				fail_msg("(%d,%d) = %d, expected %d", x, y, out[y][x], want);
		}
	/* and back out with a rectangular read */
	memset(out, 0xff, sizeof(out));
	assert_int_equal(clEnqueueReadBufferRect(q, m, CL_TRUE, co, ho, region, W, 0, W, 0, out, 0,
						 NULL, NULL),
			 CL_SUCCESS);
	for (int y = 0; y < 8; y++)
		for (int x = 0; x < 16; x++)
			assert_int_equal(out[y][x], host[y][x]);
	/* errors */
	assert_int_equal(clEnqueueReadBufferRect(q, m, CL_TRUE, co, ho, region, 8, 0, W, 0, out, 0,
						 NULL, NULL),
			 CL_INVALID_VALUE); /* row pitch < region width */
	assert_int_equal(
		clEnqueueCopyBufferRect(q, m, m, bo, bo, region, W, 0, W, 0, 0, NULL, NULL),
		CL_MEM_COPY_OVERLAP);
	/* one corner byte in common (23,11): overlap; beside it (24,11): none */
	assert_int_equal(
		clEnqueueCopyBufferRect(q, m, m, bo, corner, region, W, 0, W, 0, 0, NULL, NULL),
		CL_MEM_COPY_OVERLAP);
	/* side by side on the same rows: the byte ranges interleave, the tiles do not meet */
	assert_int_equal(
		clEnqueueCopyBufferRect(q, m, m, bo, beside, region, W, 0, W, 0, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(clEnqueueReadBuffer(q, m, CL_TRUE, 0, W * H, out, 0, NULL, NULL),
			 CL_SUCCESS);
	for (int y = 0; y < 8; y++)
		for (int x = 0; x < 16; x++)
			if (out[11 + y][24 + x] != host[y][x])
				fail_msg("(%d,%d) = %d, expected %d", 24 + x, 11 + y,
					 out[11 + y][24 + x], host[y][x]);
	clReleaseMemObject(m);
}

/* Back-to-back launches are pipelined to the device: each still sees the one before. */
static void test_launch_chain(void **state)
{
	const size_t n = 4096;
	const int launches = 200;
	int *h = malloc(n * sizeof(int)), zero = 0;
	cl_mem a, c;
	cl_event last;
	cl_int err, status = 1;

	(void)state;
	assert_non_null(h);
	for (size_t i = 0; i < n; i++)
		h[i] = (int)i;
	a = clCreateBuffer(ctx, CL_MEM_COPY_HOST_PTR, n * sizeof(int), h, &err);
	assert_int_equal(err, CL_SUCCESS);
	c = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n * sizeof(int), NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(
		clEnqueueFillBuffer(q, c, &zero, sizeof(zero), 0, n * sizeof(int), 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 0, sizeof(a), &a), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 1, sizeof(c), &c), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(add, 2, sizeof(c), &c), CL_SUCCESS);
	for (int l = 0; l < launches - 1; l++) /* c += a, launch after launch */
		assert_int_equal(clEnqueueNDRangeKernel(q, add, 1, NULL, &n, NULL, 0, NULL, NULL),
				 CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, add, 1, NULL, &n, NULL, 0, NULL, &last),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueReadBuffer(q, c, CL_TRUE, 0, n * sizeof(int), h, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clGetEventInfo(last, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status),
					&status, NULL),
			 CL_SUCCESS);
	assert_int_equal(status, CL_COMPLETE);
	for (size_t i = 0; i < n; i++)
		if (h[i] != launches * (int)i)
			fail_msg("c[%zu] = %d, expected %d", i, h[i], launches * (int)i);
	clReleaseEvent(last);
	clReleaseMemObject(a);
	clReleaseMemObject(c);
	free(h);
}

/* Dangling SVM pointers (freed allocations) are refused, and the process goes on. */
static void test_dangling_svm(void **state)
{
	int host[16] = {0}, pattern = 1;
	char *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 1 << 20, 0);

	(void)state;
	assert_non_null(p);
	/* nothing queued: the free is immediate (with commands queued it waits for them) */
	assert_int_equal(clFinish(q), CL_SUCCESS);
	clSVMFree(ctx, p);
	clSVMFree(ctx, p); /* a double free changes nothing */
	assert_int_equal(clSetKernelArgSVMPointer(add, 0, p + 64), CL_INVALID_ARG_VALUE);
	assert_int_equal(clEnqueueSVMMemcpy(q, CL_TRUE, p, host, sizeof(host), 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemcpy(q, CL_TRUE, host, p, sizeof(host), 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &pattern, sizeof(pattern), 64, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	/* NULL stays a valid kernel argument, and host memory a valid copy target */
	assert_int_equal(clSetKernelArgSVMPointer(add, 0, NULL), CL_SUCCESS);
	p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 0);
	assert_non_null(p);
	assert_int_equal(clEnqueueSVMMemcpy(q, CL_TRUE, host, p, sizeof(host), 0, NULL, NULL),
			 CL_SUCCESS);
	clSVMFree(ctx, p);
}

static int destructor_calls;

static void CL_CALLBACK destructor(cl_mem m, void *user)
{
	(void)m;
	destructor_calls += *(int *)user;
}

static void test_lifetimes(void **state)
{
	cl_uint refs = 0;
	int one = 1;
	cl_int err;
	cl_mem a = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 64, NULL, &err);

	(void)state;
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clSetMemObjectDestructorCallback(a, destructor, &one), CL_SUCCESS);
	assert_int_equal(clRetainMemObject(a), CL_SUCCESS);
	assert_int_equal(clGetMemObjectInfo(a, CL_MEM_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 2);
	assert_int_equal(clReleaseMemObject(a), CL_SUCCESS);
	assert_int_equal(destructor_calls, 0);
	assert_int_equal(clReleaseMemObject(a), CL_SUCCESS);
	assert_int_equal(destructor_calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_over_buffers),
		cmocka_unit_test(test_fill_copy_map),
		cmocka_unit_test(test_sub_buffer_and_host_ptr),
		cmocka_unit_test(test_lifetimes),
		cmocka_unit_test(test_release_while_queued),
		cmocka_unit_test(test_rect),
		cmocka_unit_test(test_launch_chain),
		cmocka_unit_test(test_dangling_svm),
	};

	return cmocka_run_group_tests_name("api_buffer", tests, setup, teardown);
}
