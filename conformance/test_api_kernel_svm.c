/* SPDX-License-Identifier: MIT */
/*
 * Kernels over shared virtual memory through ocl-icd (OCL_ICD_VENDORS
 * points at the build tree's ferry.icd, FERRY_DEVICE_MEMORY=256M; both set
 * by CTest): arguments (SVM pointers, scalars, structs, __local memory),
 * NDRange shapes and their errors, pointers inside SVM followed on the
 * device and on the host, the SVM entry points (alloc, memcpy, fill, map,
 * unmap, migrate, free) and kernels over more data than the device holds.
 *
 * Data is checked on both sides: on the host directly, on the device by
 * kernels that count mismatches.
 *
 * The expected values are the OpenCL 3.0 API specification's.
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MiB (1024 * 1024)

static cl_platform_id platform;
static cl_device_id device;
static cl_context ctx;
static cl_command_queue queue;
static cl_program prog;
static cl_ulong global_mem;
static size_t max_wg, max_items[3];
static cl_uint address_bits;
static cl_device_svm_capabilities svm_caps;

typedef struct {
	cl_int a;
	cl_float b;
	cl_long c;
	cl_char d[8];
} pod_t;

struct node {
	struct node *next;
	cl_int value;
	cl_int pad;
};

static const char *source =
	"typedef struct { int a; float b; long c; char d[8]; } pod_t;\n"
	"typedef struct node { __global struct node *next; int value; int pad; } node_t;\n"
	"typedef struct { int v[10240]; } big_t;\n"
	"\n"
	"__kernel void bump(__global int *p, int v)\n"
	"{\n"
	"	p[get_global_id(0)] += v;\n"
	"}\n"
	"\n"
	"__kernel void big_args(big_t a, big_t b, __global int *out)\n"
	"{\n"
	"	out[0] = a.v[0] + a.v[10239];\n"
	"	out[1] = b.v[0] + b.v[10239];\n"
	"}\n"
	"\n"
	"__kernel void vadd(__global const float *a, __global const float *b, __global float *c)\n"
	"{\n"
	"	size_t i = get_global_id(0);\n"
	"	c[i] = a[i] + b[i];\n"
	"}\n"
	"\n"
	"__kernel void vadd_u32(__global const uint *a, __global const uint *b, __global uint *c)\n"
	"{\n"
	"	size_t i = get_global_id(0);\n"
	"	c[i] = a[i] + b[i];\n"
	"}\n"
	"\n"
	"__kernel void scalars(__global long *out, int i, float f, pod_t s, ulong u, char c,\n"
	"		      int4 v)\n"
	"{\n"
	"	out[0] = i;\n"
	"	out[1] = (long)(f * 4.0f);\n"
	"	out[2] = s.a;\n"
	"	out[3] = (long)(s.b * 4.0f);\n"
	"	out[4] = s.c;\n"
	"	out[5] = s.d[0] * 100 + s.d[7];\n"
	"	out[6] = (long)u;\n"
	"	out[7] = c;\n"
	"	out[8] = v.x + v.y * 10 + v.z * 100 + v.w * 1000;\n"
	"}\n"
	"\n"
	"__kernel void reduce(__global const int *in, __global int *out, __local int *scratch)\n"
	"{\n"
	"	size_t l = get_local_id(0), n = get_local_size(0);\n"
	"\n"
	"	scratch[l] = in[get_global_id(0)];\n"
	"	barrier(CLK_LOCAL_MEM_FENCE);\n"
	"	for (size_t s = n / 2; s > 0; s /= 2) {\n"
	"		if (l < s)\n"
	"			scratch[l] += scratch[l + s];\n"
	"		barrier(CLK_LOCAL_MEM_FENCE);\n"
	"	}\n"
	"	if (l == 0)\n"
	"		out[get_group_id(0)] = scratch[0];\n"
	"}\n"
	"\n"
	"__kernel void ids(__global uint *gid, __global uint *loc)\n"
	"{\n"
	"	size_t x = get_global_id(0) - get_global_offset(0);\n"
	"	size_t y = get_global_id(1) - get_global_offset(1);\n"
	"	size_t z = get_global_id(2) - get_global_offset(2);\n"
	"	size_t lin = x + get_global_size(0) * (y + get_global_size(1) * z);\n"
	"\n"
	"	gid[lin] = (uint)(get_global_id(0) | get_global_id(1) << 10 |\n"
	"			  get_global_id(2) << 20);\n"
	"	loc[lin] = (uint)(get_local_id(0) | get_local_id(1) << 5 |\n"
	"			  get_local_id(2) << 10 | get_group_id(0) << 15 |\n"
	"			  get_group_id(1) << 20 | get_group_id(2) << 25 |\n"
	"			  (size_t)get_work_dim() << 30);\n"
	"}\n"
	"\n"
	"__kernel void fill(__global int *p, int v)\n"
	"{\n"
	"	p[get_global_id(0)] = v;\n"
	"}\n"
	"\n"
	"__kernel void shift(__global const int *src, __global int *dst)\n"
	"{\n"
	"	int i = (int)get_global_id(0);\n"
	"	dst[i] = src[i - 3] * 2;\n"
	"}\n"
	"\n"
	"__kernel void walk(__global node_t *head, __global long *out)\n"
	"{\n"
	"	long sum = 0, n = 0;\n"
	"\n"
	"	for (__global node_t *p = head; p; p = p->next) {\n"
	"		sum += p->value;\n"
	"		n++;\n"
	"	}\n"
	"	out[0] = sum;\n"
	"	out[1] = n;\n"
	"}\n"
	"\n"
	"__kernel void extend(__global node_t *pool, __global node_t *tail, int count)\n"
	"{\n"
	"	int i = (int)get_global_id(0);\n"
	"\n"
	"	pool[i].value = 5000 + i;\n"
	"	pool[i].pad = 0;\n"
	"	pool[i].next = i + 1 < count ? &pool[i + 1] : 0;\n"
	"	if (i == 0)\n"
	"		tail->next = &pool[0];\n"
	"}\n"
	"\n"
	"/* Counts p[i] != base + i in *bad, then writes p[i] = base + i + 1000000. */\n"
	"__kernel void check_u32(__global uint *p, uint base, __global uint *bad)\n"
	"{\n"
	"	uint i = (uint)get_global_id(0);\n"
	"\n"
	"	if (p[i] != base + i)\n"
	"		atomic_inc(bad);\n"
	"	p[i] = base + i + 1000000u;\n"
	"}\n"
	"\n"
	"__kernel void check_bytes(__global const uchar *p, __global const uchar *pattern,\n"
	"			  uint psize, __global uint *bad)\n"
	"{\n"
	"	size_t i = get_global_id(0);\n"
	"\n"
	"	if (p[i] != pattern[i % psize])\n"
	"		atomic_inc(bad);\n"
	"}\n"
	"\n"
	"__kernel __attribute__((reqd_work_group_size(8, 1, 1))) void fixed_wg(__global int *p)\n"
	"{\n"
	"	p[get_global_id(0)] = (int)get_local_size(0);\n"
	"}\n";

static int setup(void **state)
{
	cl_uint n = 0;
	cl_int err;

	(void)state;
	if (clGetPlatformIDs(1, &platform, &n) != CL_SUCCESS || n != 1)
		return -1;
	if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, &n) != CL_SUCCESS || n != 1)
		return -1;
	if (clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(global_mem), &global_mem,
			    NULL) ||
	    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(max_wg), &max_wg, NULL) ||
	    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof(max_items), max_items,
			    NULL) ||
	    clGetDeviceInfo(device, CL_DEVICE_ADDRESS_BITS, sizeof(address_bits), &address_bits,
			    NULL) ||
	    clGetDeviceInfo(device, CL_DEVICE_SVM_CAPABILITIES, sizeof(svm_caps), &svm_caps, NULL))
		return -1;
	ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	if (!ctx)
		return -1;
	queue = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	if (!queue)
		return -1;
	prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
	if (!prog)
		return -1;
	if (clBuildProgram(prog, 1, &device, "", NULL, NULL) != CL_SUCCESS) {
		char log[16384] = "";

		clGetProgramBuildInfo(prog, device, CL_PROGRAM_BUILD_LOG, sizeof(log), log, NULL);
		print_error("build failed:\n%s\n", log);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	clReleaseProgram(prog);
	clReleaseCommandQueue(queue);
	clReleaseContext(ctx);
	return 0;
}

static cl_kernel kernel(const char *name)
{
	cl_int err = 1;
	cl_kernel k = clCreateKernel(prog, name, &err);

	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(k);
	return k;
}

static void *svm(size_t size)
{
	void *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, size, 0);

	assert_non_null(p);
	return p;
}

static void launch(cl_kernel k, size_t n)
{
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
}

static void set_ptr(cl_kernel k, cl_uint i, const void *p)
{
	assert_int_equal(clSetKernelArgSVMPointer(k, i, p), CL_SUCCESS);
}

static void set_arg(cl_kernel k, cl_uint i, size_t size, const void *v)
{
	assert_int_equal(clSetKernelArg(k, i, size, v), CL_SUCCESS);
}

/* Runs check_u32(p, base) over n items on the device: returns the mismatches. */
static cl_uint device_check_u32(cl_uint *p, cl_uint base, size_t n)
{
	cl_kernel k = kernel("check_u32");
	cl_uint *bad = svm(sizeof(cl_uint)), r;

	*bad = 0;
	set_ptr(k, 0, p);
	set_arg(k, 1, sizeof(base), &base);
	set_ptr(k, 2, bad);
	launch(k, n);
	r = *bad;
	clSVMFree(ctx, bad);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	return r;
}

/* Host-side check of what check_u32 left behind. */
static void host_check_u32(const cl_uint *p, cl_uint base, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != base + (cl_uint)i + 1000000u)
			fail_msg("p[%zu] = %u, expected %u", i, p[i], base + (cl_uint)i + 1000000u);
}

static void test_vector_add(void **state)
{
	size_t n = 1 << 20;
	float *a = svm(n * sizeof(float)), *b = svm(n * sizeof(float)), *c = svm(n * sizeof(float));
	cl_kernel k = kernel("vadd");
	cl_event e = NULL;
	cl_int status = 1;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		a[i] = (float)i;
		b[i] = (float)(2 * i + 1);
		c[i] = -1.0f;
	}
	set_ptr(k, 0, a);
	set_ptr(k, 1, b);
	set_ptr(k, 2, c);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, &e),
			 CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e), CL_SUCCESS);
	assert_int_equal(
		clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL),
		CL_SUCCESS);
	assert_int_equal(status, CL_COMPLETE);
	for (size_t i = 0; i < n; i++)
		if (c[i] != (float)(3 * i + 1))
			fail_msg("c[%zu] = %f", i, (double)c[i]);
	/* Inputs are intact. */
	for (size_t i = 0; i < n; i += 4099)
		assert_true(a[i] == (float)i && b[i] == (float)(2 * i + 1));

	/* Run again with the output as an input: c = c + a. */
	set_ptr(k, 1, c);
	set_ptr(k, 0, a);
	launch(k, n);
	for (size_t i = 0; i < n; i++)
		if (c[i] != (float)(4 * i + 1))
			fail_msg("c[%zu] = %f", i, (double)c[i]);
	assert_int_equal(clReleaseEvent(e), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, a);
	clSVMFree(ctx, b);
	clSVMFree(ctx, c);
}

static void test_scalar_args(void **state)
{
	cl_kernel k = kernel("scalars");
	cl_long *out = svm(16 * sizeof(cl_long));
	cl_int i = -123456;
	cl_float f = 2.75f;
	pod_t s = {.a = 77, .b = -1.5f, .c = 0x123456789ALL, .d = {5, 0, 0, 0, 0, 0, 0, -9}};
	cl_ulong u = 0xFEDCBA9876543210ULL;
	cl_char c = -5;
	cl_int4 v = {{1, 2, 3, 4}};

	(void)state;
	for (int j = 0; j < 16; j++)
		out[j] = -1;
	set_ptr(k, 0, out);
	set_arg(k, 1, sizeof(i), &i);
	set_arg(k, 2, sizeof(f), &f);
	set_arg(k, 3, sizeof(s), &s);
	set_arg(k, 4, sizeof(u), &u);
	set_arg(k, 5, sizeof(c), &c);
	set_arg(k, 6, sizeof(v), &v);
	launch(k, 1);
	assert_int_equal(out[0], -123456);
	assert_int_equal(out[1], 11);
	assert_int_equal(out[2], 77);
	assert_int_equal(out[3], -6);
	assert_int_equal(out[4], 0x123456789ALL);
	assert_int_equal(out[5], 491);
	assert_int_equal((cl_ulong)out[6], u);
	assert_int_equal(out[7], -5);
	assert_int_equal(out[8], 4321);
	assert_int_equal(out[9], -1);

	/* Arguments keep their values until set again; a new value takes effect. */
	i = 99;
	set_arg(k, 1, sizeof(i), &i);
	launch(k, 1);
	assert_int_equal(out[0], 99);
	assert_int_equal(out[4], 0x123456789ALL);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, out);
}

/*
 * Small launches of a hot kernel run on PoCL's basic device in ferry-device
 * (from the 8th): results and order hold across the switch, and around a
 * large launch on the pthread device, all enqueued without waiting.
 */
static void test_small_launches_in_order(void **state)
{
	const size_t n = 1 << 16, one = 1;
	cl_kernel k = kernel("bump");
	cl_int *p = svm(n * sizeof(cl_int)), v;

	(void)state;
	memset(p, 0, n * sizeof(cl_int));
	set_ptr(k, 0, p);
	/* one at a time: the device is idle at each, so the hot ones go to the basic device */
	for (v = 1; v <= 20; v++) {
		set_arg(k, 1, sizeof(v), &v);
		launch(k, 1);
		assert_int_equal(p[0], v * (v + 1) / 2);
	}
	/* then queued without waiting: small ones behind a large one wait for it */
	for (v = 1; v <= 20; v++) {
		set_arg(k, 1, sizeof(v), &v);
		assert_int_equal(
			clEnqueueNDRangeKernel(queue, k, 1, NULL, &one, NULL, 0, NULL, NULL),
			CL_SUCCESS);
	}
	v = 1000;
	set_arg(k, 1, sizeof(v), &v);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	v = -1;
	set_arg(k, 1, sizeof(v), &v);
	for (int i = 0; i < 5; i++)
		assert_int_equal(
			clEnqueueNDRangeKernel(queue, k, 1, NULL, &one, NULL, 0, NULL, NULL),
			CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_int_equal(p[0], 210 + 210 + 1000 - 5);
	for (size_t i = 1; i < n; i++)
		if (p[i] != 1000)
			fail_msg("p[%zu] = %d, expected 1000", i, p[i]);
	/* and a value the host set in between is what the next small launch sees */
	p[0] = 7;
	v = 2;
	set_arg(k, 1, sizeof(v), &v);
	launch(k, 1);
	assert_int_equal(p[0], 9);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, p);
}

/*
 * Six queues, each with 100 launches queued: more than half the device's
 * launch-status ring (256) would be outstanding, so posting waits for fences
 * to complete; every launch still runs once.
 */
static void test_many_queues_pipelined(void **state)
{
	enum { QUEUES = 6, LAUNCHES = 100 };
	cl_command_queue qs[QUEUES];
	cl_kernel ks[QUEUES];
	cl_int *p = svm(QUEUES * sizeof(cl_int)), err = 1;
	const size_t one = 1;

	(void)state;
	for (int q = 0; q < QUEUES; q++) {
		cl_int v = q + 1;

		p[q] = 0;
		qs[q] = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
		assert_int_equal(err, CL_SUCCESS);
		ks[q] = kernel("bump");
		set_ptr(ks[q], 0, p + q);
		set_arg(ks[q], 1, sizeof(v), &v);
	}
	for (int i = 0; i < LAUNCHES; i++)
		for (int q = 0; q < QUEUES; q++)
			assert_int_equal(clEnqueueNDRangeKernel(qs[q], ks[q], 1, NULL, &one, NULL,
								0, NULL, NULL),
					 CL_SUCCESS);
	for (int q = 0; q < QUEUES; q++) {
		assert_int_equal(clFinish(qs[q]), CL_SUCCESS);
		assert_int_equal(clReleaseKernel(ks[q]), CL_SUCCESS);
		assert_int_equal(clReleaseCommandQueue(qs[q]), CL_SUCCESS);
	}
	for (int q = 0; q < QUEUES; q++)
		assert_int_equal(p[q], LAUNCHES * (q + 1));
	clSVMFree(ctx, p);
}

/*
 * Arguments beyond what a posted launch carries (FERRY_POST_MAX, 64 KiB: two
 * 40 KiB structs by value) go the synchronous way, in order with the posted
 * launches around them.
 */
static void test_large_by_value_args(void **state)
{
	static cl_int a[10240], b[10240];
	cl_kernel big = kernel("big_args"), k = kernel("scalars");
	cl_int *out = svm(2 * sizeof(cl_int));
	cl_long *sc = svm(16 * sizeof(cl_long));
	pod_t s = {.a = 1};
	cl_int4 v = {{0}};
	cl_int i = 5;
	cl_float f = 0;
	cl_ulong u = 0;
	cl_char c = 0;

	(void)state;
	a[0] = 1;
	a[10239] = 2;
	b[0] = 30;
	b[10239] = 40;
	out[0] = out[1] = -1;
	set_arg(big, 0, sizeof(a), a);
	set_arg(big, 1, sizeof(b), b);
	set_ptr(big, 2, out);
	set_ptr(k, 0, sc);
	set_arg(k, 1, sizeof(i), &i);
	set_arg(k, 2, sizeof(f), &f);
	set_arg(k, 3, sizeof(s), &s);
	set_arg(k, 4, sizeof(u), &u);
	set_arg(k, 5, sizeof(c), &c);
	set_arg(k, 6, sizeof(v), &v);
	sc[0] = -1;
	{
		size_t one = 1;
		cl_event e1, e2;
		cl_int st = 1;

		assert_int_equal(
			clEnqueueNDRangeKernel(queue, k, 1, NULL, &one, NULL, 0, NULL, &e1),
			CL_SUCCESS);
		assert_int_equal(
			clEnqueueNDRangeKernel(queue, big, 1, NULL, &one, NULL, 0, NULL, &e2),
			CL_SUCCESS);
		/* in order on an in-order queue: the big one completes after the first */
		assert_int_equal(clWaitForEvents(1, &e2), CL_SUCCESS);
		assert_int_equal(clGetEventInfo(e1, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st),
						&st, NULL),
				 CL_SUCCESS);
		assert_int_equal(st, CL_COMPLETE);
		clReleaseEvent(e1);
		clReleaseEvent(e2);
		i = 6;
		set_arg(k, 1, sizeof(i), &i);
		assert_int_equal(
			clEnqueueNDRangeKernel(queue, k, 1, NULL, &one, NULL, 0, NULL, NULL),
			CL_SUCCESS);
	}
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 70);
	assert_int_equal(sc[0], 6); /* the last launch ran last */
	assert_int_equal(clReleaseKernel(big), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, out);
	clSVMFree(ctx, sc);
}

/* Sum of in[] per work-group of @local items, through __local scratch. */
static void run_reduce(cl_kernel k, const cl_int *in, cl_int *out, size_t n, size_t local)
{
	for (size_t g = 0; g < n / local; g++)
		out[g] = 0x7777;
	set_ptr(k, 0, in);
	set_ptr(k, 1, out);
	set_arg(k, 2, local * sizeof(cl_int), NULL);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, &local, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	for (size_t g = 0; g < n / local; g++) {
		cl_int sum = 0;

		for (size_t j = 0; j < local; j++)
			sum += in[g * local + j];
		if (out[g] != sum)
			fail_msg("group %zu of %zu: %d, expected %d", g, local, out[g], sum);
	}
}

static void test_local_memory(void **state)
{
	size_t n = 4096;
	cl_int *in = svm(n * sizeof(cl_int)), *out = svm(n * sizeof(cl_int));
	cl_kernel k = kernel("reduce");

	(void)state;
	for (size_t i = 0; i < n; i++)
		in[i] = (cl_int)(i % 97) - 13;
	run_reduce(k, in, out, n, 64);
	run_reduce(k, in, out, n, 16);
	/* A __local argument needs a size. */
	assert_int_equal(clSetKernelArg(k, 2, 0, NULL), CL_INVALID_ARG_SIZE);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, in);
	clSVMFree(ctx, out);
}

#define IDS_MAX 1024

/* Runs ids over the range and checks every work-item's ids on the host. */
static void check_ids(cl_kernel k, cl_uint *gid, cl_uint *loc, cl_uint dim, const size_t *offset,
		      const size_t *global, const size_t *local)
{
	size_t g[3] = {1, 1, 1}, o[3] = {0, 0, 0}, l[3] = {1, 1, 1}, total;

	for (cl_uint d = 0; d < dim; d++) {
		g[d] = global[d];
		o[d] = offset ? offset[d] : 0;
		l[d] = local ? local[d] : 1;
	}
	total = g[0] * g[1] * g[2];
	assert_true(total <= IDS_MAX);
	memset(gid, 0xff, IDS_MAX * sizeof(cl_uint));
	memset(loc, 0xff, IDS_MAX * sizeof(cl_uint));
	set_ptr(k, 0, gid);
	set_ptr(k, 1, loc);
	assert_int_equal(
		clEnqueueNDRangeKernel(queue, k, dim, offset, global, local, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	for (size_t z = 0; z < g[2]; z++)
		for (size_t y = 0; y < g[1]; y++)
			for (size_t x = 0; x < g[0]; x++) {
				size_t lin = x + g[0] * (y + g[1] * z);
				cl_uint eg =
					(cl_uint)((x + o[0]) | (y + o[1]) << 10 | (z + o[2]) << 20);
				cl_uint el =
					(cl_uint)(x % l[0] | (y % l[1]) << 5 | (z % l[2]) << 10 |
						  (x / l[0]) << 15 | (y / l[1]) << 20 |
						  (z / l[2]) << 25 | (size_t)dim << 30);

				if (gid[lin] != eg)
					fail_msg("dim %u (%zu,%zu,%zu): global %#x, not %#x", dim,
						 x, y, z, gid[lin], eg);
				if (local && loc[lin] != el)
					fail_msg("dim %u (%zu,%zu,%zu): local %#x, not %#x", dim, x,
						 y, z, loc[lin], el);
			}
	for (size_t i = total; i < IDS_MAX; i++)
		assert_int_equal(gid[i], 0xffffffffu);
}

static void test_ndrange_shapes(void **state)
{
	cl_uint *gid = svm(IDS_MAX * sizeof(cl_uint)), *loc = svm(IDS_MAX * sizeof(cl_uint));
	cl_kernel k = kernel("ids");
	const size_t o1[1] = {100}, g1[1] = {256}, l1[1] = {32};
	const size_t o2[2] = {1, 2}, g2[2] = {32, 24}, l2[2] = {8, 4};
	const size_t o3[3] = {3, 5, 7}, g3[3] = {8, 6, 4}, l3[3] = {4, 3, 2};

	(void)state;
	/* 1D: a global offset and an explicit local size. */
	check_ids(k, gid, loc, 1, o1, g1, l1);
	check_ids(k, gid, loc, 1, NULL, g1, l1);
	/* 2D, with and without local size and offset. */
	check_ids(k, gid, loc, 2, o2, g2, l2);
	check_ids(k, gid, loc, 2, NULL, g2, NULL);
	/* 3D. */
	check_ids(k, gid, loc, 3, o3, g3, l3);
	check_ids(k, gid, loc, 3, o3, g3, NULL);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, gid);
	clSVMFree(ctx, loc);
}

static void assert_untouched(const cl_int *p, size_t n, cl_int v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			fail_msg("p[%zu] = %d changed by a failed enqueue", i, p[i]);
}

static void test_ndrange_errors(void **state)
{
	size_t n = 128, bad_local = 48, zero = 0, offset = SIZE_MAX - 10;
	cl_int *p = svm(n * sizeof(cl_int)), v = 1;
	cl_kernel k = kernel("fill");

	(void)state;
	for (size_t i = 0; i < n; i++)
		p[i] = -3;
	set_ptr(k, 0, p);
	set_arg(k, 1, sizeof(v), &v);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 0, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_WORK_DIMENSION);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 4, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_WORK_DIMENSION);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, NULL, NULL, 0, NULL, NULL),
			 CL_INVALID_GLOBAL_WORK_SIZE);
	/* Local size not dividing the global size (no non-uniform work-groups in OpenCL C 1.2). */
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, &bad_local, 0, NULL, NULL),
			 CL_INVALID_WORK_GROUP_SIZE);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, &zero, 0, NULL, NULL),
			 CL_INVALID_WORK_GROUP_SIZE);
	/* Offset + size beyond size_t. */
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, &offset, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_GLOBAL_OFFSET);
	assert_int_equal(clEnqueueNDRangeKernel(NULL, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(clEnqueueNDRangeKernel(queue, NULL, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_KERNEL);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_untouched(p, n, -3);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, p);
}

/*
 * Work-group limits that depend on the device and the kernel: more
 * work-items than CL_DEVICE_MAX_WORK_GROUP_SIZE, and a kernel declared with
 * reqd_work_group_size(8, 1, 1), which needs exactly that local size, given
 * explicitly. clEnqueueNDRangeKernel returns CL_INVALID_WORK_GROUP_SIZE.
 */
static void test_ndrange_work_group_limits(void **state)
{
	size_t n = 128, g2[2], l2[2], l8 = 8, l16 = 16;
	cl_int *p = svm(n * 2 * sizeof(cl_int)), v = 1;
	cl_kernel k = kernel("fill"), w = kernel("fixed_wg");

	(void)state;
	for (size_t i = 0; i < 2 * n; i++)
		p[i] = -3;
	set_ptr(k, 0, p);
	set_arg(k, 1, sizeof(v), &v);
	set_ptr(w, 0, p);
	/* A correct launch of the fixed-size kernel. */
	assert_int_equal(clEnqueueNDRangeKernel(queue, w, 1, NULL, &n, &l8, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], 8);
	assert_untouched(p + n, n, -3);

	g2[0] = l2[0] = max_wg < max_items[0] ? max_wg : max_items[0];
	g2[1] = l2[1] = max_wg / l2[0] + 1;
	if (l2[1] <= max_items[1])
		assert_int_equal(clEnqueueNDRangeKernel(queue, k, 2, NULL, g2, l2, 0, NULL, NULL),
				 CL_INVALID_WORK_GROUP_SIZE);
	assert_int_equal(clEnqueueNDRangeKernel(queue, w, 1, NULL, &n, &l16, 0, NULL, NULL),
			 CL_INVALID_WORK_GROUP_SIZE);
	assert_int_equal(clEnqueueNDRangeKernel(queue, w, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_WORK_GROUP_SIZE);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_untouched(p + n, n, -3);
	assert_int_equal(clReleaseKernel(w), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, p);
}

/*
 * A global size of 0 in any dimension: no work-item runs. Returning
 * CL_INVALID_GLOBAL_WORK_SIZE for it is deprecated by OpenCL 2.1, and the
 * CTS (basic/zero_sized_enqueue, 2.1 and later) requires CL_SUCCESS and a
 * complete event.
 */
static void test_ndrange_zero_size(void **state)
{
	size_t zero = 0, g2[2] = {16, 0}, g3[3] = {4, 4, 0};
	cl_int *p = svm(64 * sizeof(cl_int)), v = 5, status = 1;
	cl_kernel k = kernel("fill");
	cl_event e = NULL;

	(void)state;
	for (int i = 0; i < 64; i++)
		p[i] = -3;
	set_ptr(k, 0, p);
	set_arg(k, 1, sizeof(v), &v);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &zero, NULL, 0, NULL, &e),
			 CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e), CL_SUCCESS);
	assert_int_equal(
		clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL),
		CL_SUCCESS);
	assert_int_equal(status, CL_COMPLETE);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 2, NULL, g2, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 3, NULL, g3, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_untouched(p, 64, -3);
	if (e)
		assert_int_equal(clReleaseEvent(e), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, p);
}

static void test_kernel_arg_errors(void **state)
{
	cl_int *p = svm(64 * sizeof(cl_int)), v = 1;
	cl_kernel k = kernel("fill"), r;
	size_t n = 64;

	(void)state;
	for (int i = 0; i < 64; i++)
		p[i] = -3;
	/* Index past the last argument. */
	assert_int_equal(clSetKernelArg(k, 2, sizeof(v), &v), CL_INVALID_ARG_INDEX);
	assert_int_equal(clSetKernelArgSVMPointer(k, 2, p), CL_INVALID_ARG_INDEX);
	assert_int_equal(clSetKernelArg(k, 1000, sizeof(v), &v), CL_INVALID_ARG_INDEX);
	assert_int_equal(clSetKernelArg(NULL, 0, sizeof(v), &v), CL_INVALID_KERNEL);

	/* Nothing set, then one of two arguments set. */
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_KERNEL_ARGS);
	set_ptr(k, 0, p);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_KERNEL_ARGS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	k = kernel("fill");
	set_arg(k, 1, sizeof(v), &v);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_KERNEL_ARGS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_untouched(p, 64, -3);
	/* Once all are set it runs. */
	set_ptr(k, 0, p);
	launch(k, n);
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i], 1);

	/* The __local argument of reduce left unset. */
	r = kernel("reduce");
	set_ptr(r, 0, p);
	set_ptr(r, 1, p);
	assert_int_equal(clEnqueueNDRangeKernel(queue, r, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_INVALID_KERNEL_ARGS);
	assert_int_equal(clReleaseKernel(r), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, p);
}

/* clSetKernelArg with a size that is not the argument type's: CL_INVALID_ARG_SIZE. */
static void test_kernel_arg_size_mismatch(void **state)
{
	cl_kernel k = kernel("fill");
	cl_long big = 1;
	cl_short small = 1;

	(void)state;
	assert_int_equal(clSetKernelArg(k, 1, sizeof(big), &big), CL_INVALID_ARG_SIZE);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(small), &small), CL_INVALID_ARG_SIZE);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
}

/*
 * clSetKernelArg: a __local argument takes a NULL value, any other argument
 * a non-NULL one (CL_INVALID_ARG_VALUE otherwise).
 */
static void test_kernel_arg_value_kind(void **state)
{
	cl_kernel r = kernel("reduce"), k = kernel("fill");
	cl_int scratch[16];

	(void)state;
	assert_int_equal(clSetKernelArg(r, 2, sizeof(scratch), scratch), CL_INVALID_ARG_VALUE);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(cl_int), NULL), CL_INVALID_ARG_VALUE);
	assert_int_equal(clReleaseKernel(r), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
}

static void test_kernel_exec_info(void **state)
{
	cl_kernel k = kernel("walk");
	void *a = svm(4096), *b = svm(4096);
	void *ptrs[2] = {a, b};
	cl_bool yes = CL_TRUE, no = CL_FALSE;

	(void)state;
	assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof(ptrs), ptrs),
			 CL_SUCCESS);
	assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof(void *), ptrs),
			 CL_SUCCESS);
	assert_int_equal(
		clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, sizeof(no), &no),
		CL_SUCCESS);
	if (!(svm_caps & CL_DEVICE_SVM_FINE_GRAIN_SYSTEM))
		assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM,
						     sizeof(yes), &yes),
				 CL_INVALID_OPERATION);
	assert_int_equal(clSetKernelExecInfo(k, 0x7777, sizeof(ptrs), ptrs), CL_INVALID_VALUE);
	assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof(ptrs), NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(
		clSetKernelExecInfo(NULL, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof(ptrs), ptrs),
		CL_INVALID_KERNEL);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, a);
	clSVMFree(ctx, b);
}

static void test_pointers_into_allocation(void **state)
{
	size_t n = 16384, count = 8000;
	cl_int *src = svm(n * sizeof(cl_int)), *dst = svm(n * sizeof(cl_int)), v = 77;
	cl_kernel k = kernel("shift"), f = kernel("fill");

	(void)state;
	for (size_t i = 0; i < n; i++) {
		src[i] = (cl_int)(3 * i + 1);
		dst[i] = -1;
	}
	/* src + 100: the kernel reads from 3 elements before its pointer. */
	set_ptr(k, 0, src + 100);
	set_ptr(k, 1, dst + 5000);
	launch(k, count);
	for (size_t i = 0; i < n; i++) {
		cl_int e = i >= 5000 && i < 5000 + count ? 2 * src[i - 5000 + 97] : -1;

		if (dst[i] != e)
			fail_msg("dst[%zu] = %d, expected %d", i, dst[i], e);
	}
	/* The very last element of an allocation. */
	set_ptr(f, 0, dst + n - 1);
	set_arg(f, 1, sizeof(v), &v);
	launch(f, 1);
	assert_int_equal(dst[n - 1], 77);
	assert_int_equal(dst[n - 2], -1);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(f), CL_SUCCESS);
	clSVMFree(ctx, src);
	clSVMFree(ctx, dst);
}

/* Walks the list on the device: returns the sum of values, *count the length. */
static cl_long device_walk(struct node *head, void *const *pools, int npools, cl_long *count)
{
	cl_kernel k = kernel("walk");
	cl_long *out = svm(2 * sizeof(cl_long)), sum;

	out[0] = out[1] = -1;
	set_ptr(k, 0, head);
	set_ptr(k, 1, out);
	assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS,
					     (size_t)npools * sizeof(void *), pools),
			 CL_SUCCESS);
	launch(k, 1);
	sum = out[0];
	*count = out[1];
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, out);
	return sum;
}

static void test_linked_list(void **state)
{
	enum { NA = 600, NB = 600, NODES = 1000, NEW = 500 };
	struct node *pa, *pb, *pc, *slots[NA + NB], *head, *tail, *p;
	void *pools[3];
	cl_kernel k;
	cl_long count = 0, sum, expected = 0;
	uint32_t seed = 12345;
	cl_int nnew = NEW;
	int i;

	(void)state;
	if (address_bits != 8 * sizeof(void *))
		skip();
	pa = svm(NA * sizeof(struct node));
	pb = svm(NB * sizeof(struct node));
	pc = svm(NEW * sizeof(struct node));
	pools[0] = pa;
	pools[1] = pb;
	pools[2] = pc;

	/* The host links NODES nodes scattered over two allocations, in shuffled order. */
	for (i = 0; i < NA; i++)
		slots[i] = &pa[i];
	for (i = 0; i < NB; i++)
		slots[NA + i] = &pb[i];
	for (i = NA + NB - 1; i > 0; i--) {
		int j;

		seed = seed * 1103515245u + 12345u;
		j = (int)((seed >> 8) % (uint32_t)(i + 1));
		p = slots[i];
		slots[i] = slots[j];
		slots[j] = p;
	}
	for (i = 0; i < NODES; i++) {
		slots[i]->value = 7 * i + 1;
		slots[i]->pad = 0;
		slots[i]->next = i + 1 < NODES ? slots[i + 1] : NULL;
		expected += 7 * i + 1;
	}
	head = slots[0];
	tail = slots[NODES - 1];

	/* The device follows the host's pointers. */
	sum = device_walk(head, pools, 2, &count);
	assert_int_equal(count, NODES);
	assert_int_equal(sum, expected);

	/* The device appends NEW nodes it writes itself, pointers included. */
	k = kernel("extend");
	set_ptr(k, 0, pc);
	set_ptr(k, 1, tail);
	set_arg(k, 2, sizeof(nnew), &nnew);
	assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof(pools), pools),
			 CL_SUCCESS);
	launch(k, NEW);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);

	/* The host follows the device's pointers. */
	assert_ptr_equal(tail->next, &pc[0]);
	for (i = 0, p = head; p; p = p->next, i++) {
		if (i < NODES) {
			assert_ptr_equal(p, slots[i]);
			assert_int_equal(p->value, 7 * i + 1);
		} else {
			assert_ptr_equal(p, &pc[i - NODES]);
			assert_int_equal(p->value, 5000 + i - NODES);
			expected += p->value;
		}
		assert_true(i < NODES + NEW);
	}
	assert_int_equal(i, NODES + NEW);
	assert_null(pc[NEW - 1].next);

	/* And the device once more, over all three allocations. */
	sum = device_walk(head, pools, 3, &count);
	assert_int_equal(count, NODES + NEW);
	assert_int_equal(sum, expected);

	/* The host unlinks every other device-written node; the device sees it. */
	for (i = 0; i + 1 < NEW; i += 2) {
		expected -= pc[i + 1].value;
		pc[i].next = pc[i + 1].next;
	}
	sum = device_walk(head, pools, 3, &count);
	assert_int_equal(count, NODES + NEW / 2);
	assert_int_equal(sum, expected);

	clSVMFree(ctx, pa);
	clSVMFree(ctx, pb);
	clSVMFree(ctx, pc);
}

static void test_svm_alloc(void **state)
{
	const cl_svm_mem_flags ok_flags[4] = {0, CL_MEM_READ_WRITE, CL_MEM_READ_ONLY,
					      CL_MEM_WRITE_ONLY};
	const size_t sizes[4] = {1, 100, 5000, 3 * MiB + 7};
	const cl_uint aligns[4] = {4, 64, 128, 0};
	unsigned char *p[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		p[i] = clSVMAlloc(ctx, ok_flags[i], sizes[i], aligns[i]);
		assert_non_null(p[i]);
		/* alignment 0: that of the largest type (long16, 128 bytes) */
		assert_int_equal((uintptr_t)p[i] % (aligns[i] ? aligns[i] : 128), 0);
		memset(p[i], 0x10 + i, sizes[i]);
	}
	/* Disjoint: each keeps its own bytes. */
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++)
			if (i != j)
				assert_true(p[i] + sizes[i] <= p[j] || p[j] + sizes[j] <= p[i]);
		for (size_t b = 0; b < sizes[i]; b++)
			if (p[i][b] != 0x10 + i)
				fail_msg("allocation %d byte %zu = %#x", i, b, p[i][b]);
	}
	for (int i = 0; i < 4; i++)
		clSVMFree(ctx, p[i]);
	clSVMFree(ctx, NULL); /* no action */
}

static void test_svm_alloc_errors(void **state)
{
	void *p;

	(void)state;
	assert_null(clSVMAlloc(ctx, CL_MEM_READ_WRITE, 0, 0));
	assert_null(clSVMAlloc(ctx, (cl_svm_mem_flags)1 << 20, 4096, 0));
	assert_null(clSVMAlloc(ctx, CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, 4096, 0));
	assert_null(clSVMAlloc(ctx, CL_MEM_READ_WRITE | CL_MEM_READ_ONLY, 4096, 0));
	assert_null(clSVMAlloc(ctx, CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY, 4096, 0));
	assert_null(clSVMAlloc(ctx, CL_MEM_SVM_ATOMICS, 4096, 0));
	assert_null(clSVMAlloc(ctx, CL_MEM_READ_WRITE | CL_MEM_SVM_ATOMICS, 4096, 0));
	assert_null(clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 3));
	assert_null(clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 24));
	assert_null(clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 100));
	assert_null(clSVMAlloc(NULL, CL_MEM_READ_WRITE, 4096, 0));
	/* Fine-grained buffers only where the device offers them. */
	p = clSVMAlloc(ctx, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER, 4096, 0);
	if (svm_caps & CL_DEVICE_SVM_FINE_GRAIN_BUFFER)
		assert_non_null(p);
	else
		assert_null(p);
	clSVMFree(ctx, p);
	p = clSVMAlloc(ctx, CL_MEM_SVM_FINE_GRAIN_BUFFER | CL_MEM_SVM_ATOMICS, 4096, 0);
	if (svm_caps & CL_DEVICE_SVM_ATOMICS)
		assert_non_null(p);
	else
		assert_null(p);
	clSVMFree(ctx, p);
	/* Still usable. */
	p = svm(4096);
	memset(p, 1, 4096);
	clSVMFree(ctx, p);
}

/*
 * size > CL_DEVICE_MAX_MEM_ALLOC_SIZE: NULL. (Up to it an allocation may
 * still fail when memory or address space runs short, so that side is not
 * asserted.)
 */
static void test_svm_alloc_max_size(void **state)
{
	cl_ulong max = 0;
	void *p;

	(void)state;
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(max), &max, NULL),
		CL_SUCCESS);
	assert_true(max >= global_mem / 4);
	if (max > SIZE_MAX - 4096)
		skip();
	p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, (size_t)max + 4096, 0);
	assert_null(p);
	clSVMFree(ctx, p);
	p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, (size_t)max + 1, 0);
	assert_null(p);
	clSVMFree(ctx, p);
}

static void test_svm_memcpy(void **state)
{
	size_t n = 300000, odd = 12345;
	unsigned char *a = svm(n), *b = svm(n), *host = malloc(n), *host2 = malloc(n);
	cl_uint *u = svm(65536 * sizeof(cl_uint));
	cl_uint *hu = malloc(65536 * sizeof(cl_uint));
	cl_kernel f = kernel("fill");
	cl_int v = 0x01020304;
	cl_event e = NULL;

	(void)state;
	assert_non_null(host);
	assert_non_null(host2);
	assert_non_null(hu);
	for (size_t i = 0; i < n; i++) {
		host[i] = (unsigned char)(i * 7 + 3);
		a[i] = 0xAA;
		b[i] = 0xBB;
	}
	/* host -> SVM, SVM -> SVM, SVM -> host, host -> host; odd sizes and offsets. */
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, a, host, n, 0, NULL, NULL), CL_SUCCESS);
	assert_memory_equal(a, host, n);
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_FALSE, b + 3, a + 11, odd, 0, NULL, &e),
			 CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e), CL_SUCCESS);
	assert_memory_equal(b + 3, host + 11, odd);
	assert_int_equal(b[2], 0xBB);
	assert_int_equal(b[3 + odd], 0xBB);
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, host2, b + 3, odd, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_memory_equal(host2, host + 11, odd);
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, host2, host, n, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_memory_equal(host2, host, n);
	/* Adjacent ranges of one allocation do not overlap. */
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, a + 100, a, 100, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_memory_equal(a + 100, host, 100);

	/* From data a kernel wrote (device-resident), and back for a kernel to check. */
	set_ptr(f, 0, u);
	set_arg(f, 1, sizeof(v), &v);
	launch(f, 65536);
	assert_int_equal(
		clEnqueueSVMMemcpy(queue, CL_TRUE, hu, u, 65536 * sizeof(cl_uint), 0, NULL, NULL),
		CL_SUCCESS);
	for (size_t i = 0; i < 65536; i++) {
		assert_int_equal(hu[i], (cl_uint)v);
		hu[i] = 40 + (cl_uint)i;
	}
	assert_int_equal(
		clEnqueueSVMMemcpy(queue, CL_FALSE, u, hu, 65536 * sizeof(cl_uint), 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_int_equal(device_check_u32(u, 40, 65536), 0);
	host_check_u32(u, 40, 65536);

	/* Errors. */
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, a + 10, a, 100, 0, NULL, NULL),
			 CL_MEM_COPY_OVERLAP);
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, a, a + 99, 100, 0, NULL, NULL),
			 CL_MEM_COPY_OVERLAP);
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, a, a, 16, 0, NULL, NULL),
			 CL_MEM_COPY_OVERLAP);
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, NULL, a, 16, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemcpy(queue, CL_TRUE, a, NULL, 16, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemcpy(NULL, CL_TRUE, a, b, 16, 0, NULL, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	assert_memory_equal(a + 100, host, 100);
	assert_memory_equal(a + 200, host + 200, n - 200);

	assert_int_equal(clReleaseEvent(e), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(f), CL_SUCCESS);
	free(host);
	free(host2);
	free(hu);
	clSVMFree(ctx, a);
	clSVMFree(ctx, b);
	clSVMFree(ctx, u);
}

static void test_svm_memfill(void **state)
{
	size_t n = 65536, big = 1 * MiB;
	unsigned char *p = svm(n), pattern[128], *q = svm(big), *pat = svm(128);
	cl_uint *bad = svm(sizeof(cl_uint)), psize = 16;
	cl_kernel f = kernel("fill"), c = kernel("check_bytes");
	cl_int v = -1;

	(void)state;
	for (int i = 0; i < 128; i++)
		pattern[i] = (unsigned char)(i * 7 + 1);
	/* Every pattern size, at an offset aligned to it, 37 repetitions. */
	for (size_t ps = 1; ps <= 128; ps *= 2) {
		size_t off = ps * 3, size = ps * 37;

		memset(p, 0xEE, n);
		assert_int_equal(
			clEnqueueSVMMemFill(queue, p + off, pattern, ps, size, 0, NULL, NULL),
			CL_SUCCESS);
		assert_int_equal(clFinish(queue), CL_SUCCESS);
		for (size_t i = 0; i < n; i++) {
			unsigned char e =
				i >= off && i < off + size ? pattern[(i - off) % ps] : 0xEE;

			if (p[i] != e)
				fail_msg("pattern %zu: p[%zu] = %#x, expected %#x", ps, i, p[i], e);
		}
	}

	/* A fill over pages a kernel made device-resident, checked on the device. */
	set_ptr(f, 0, q);
	set_arg(f, 1, sizeof(v), &v);
	launch(f, big / sizeof(cl_int));
	assert_int_equal(clEnqueueSVMMemFill(queue, q, pattern, psize, big, 0, NULL, NULL),
			 CL_SUCCESS);
	memcpy(pat, pattern, 128);
	*bad = 0;
	set_ptr(c, 0, q);
	set_ptr(c, 1, pat);
	set_arg(c, 2, sizeof(psize), &psize);
	set_ptr(c, 3, bad);
	launch(c, big);
	assert_int_equal(*bad, 0);
	for (size_t i = 0; i < big; i++)
		if (q[i] != pattern[i % psize])
			fail_msg("q[%zu] = %#x", i, q[i]);

	/* Errors. */
	memset(p, 0xEE, n);
	assert_int_equal(clEnqueueSVMMemFill(queue, p, pattern, 0, 64, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemFill(queue, p, pattern, 3, 63, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemFill(queue, p, pattern, 256, 512, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemFill(queue, p, NULL, 4, 64, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemFill(queue, NULL, pattern, 4, 64, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemFill(queue, p + 2, pattern, 4, 64, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemFill(queue, p, pattern, 4, 66, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMemFill(NULL, p, pattern, 4, 64, 0, NULL, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xEE)
			fail_msg("p[%zu] = %#x changed by a failed fill", i, p[i]);

	assert_int_equal(clReleaseKernel(f), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(c), CL_SUCCESS);
	clSVMFree(ctx, p);
	clSVMFree(ctx, q);
	clSVMFree(ctx, pat);
	clSVMFree(ctx, bad);
}

static void test_svm_map_unmap(void **state)
{
	size_t n = 256 * 1024;
	cl_uint *p = svm(n * sizeof(cl_uint));
	cl_event e = NULL;
	cl_command_type type = 0;

	(void)state;
	/* Map for writing, write on the host, unmap: the device sees the data. */
	assert_int_equal(clEnqueueSVMMap(queue, CL_TRUE, CL_MAP_WRITE, p, n * sizeof(cl_uint), 0,
					 NULL, NULL),
			 CL_SUCCESS);
	for (size_t i = 0; i < n; i++)
		p[i] = 5 + (cl_uint)i;
	assert_int_equal(clEnqueueSVMUnmap(queue, p, 0, NULL, &e), CL_SUCCESS);
	assert_int_equal(clGetEventInfo(e, CL_EVENT_COMMAND_TYPE, sizeof(type), &type, NULL),
			 CL_SUCCESS);
	assert_int_equal(type, CL_COMMAND_SVM_UNMAP);
	assert_int_equal(clReleaseEvent(e), CL_SUCCESS);
	assert_int_equal(device_check_u32(p, 5, n), 0);

	/* Map for reading (non-blocking, then wait): the host sees the device's writes. */
	assert_int_equal(
		clEnqueueSVMMap(queue, CL_FALSE, CL_MAP_READ, p, n * sizeof(cl_uint), 0, NULL, &e),
		CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e), CL_SUCCESS);
	assert_int_equal(clGetEventInfo(e, CL_EVENT_COMMAND_TYPE, sizeof(type), &type, NULL),
			 CL_SUCCESS);
	assert_int_equal(type, CL_COMMAND_SVM_MAP);
	host_check_u32(p, 5, n);
	assert_int_equal(clEnqueueSVMUnmap(queue, p, 0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(clReleaseEvent(e), CL_SUCCESS);

	/* Map part of it with CL_MAP_WRITE_INVALIDATE_REGION and rewrite that part. */
	assert_int_equal(clEnqueueSVMMap(queue, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, p + 1000,
					 5000 * sizeof(cl_uint), 0, NULL, NULL),
			 CL_SUCCESS);
	for (size_t i = 1000; i < 6000; i++)
		p[i] = 9 + (cl_uint)i;
	assert_int_equal(clEnqueueSVMUnmap(queue, p + 1000, 0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(device_check_u32(p + 1000, 9 + 1000, 5000), 0);
	assert_int_equal(clEnqueueSVMMap(queue, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, p,
					 n * sizeof(cl_uint), 0, NULL, NULL),
			 CL_SUCCESS);
	host_check_u32(p + 1000, 9 + 1000, 5000);
	/* The rest is what the previous device check wrote. */
	assert_int_equal(p[999], 5 + 999 + 1000000u);
	assert_int_equal(p[6000], 5 + 6000 + 1000000u);
	assert_int_equal(clEnqueueSVMUnmap(queue, p, 0, NULL, NULL), CL_SUCCESS);

	/* Errors. */
	assert_int_equal(clEnqueueSVMMap(queue, CL_TRUE, CL_MAP_READ, NULL, 64, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMap(queue, CL_TRUE, CL_MAP_READ, p, 0, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMap(queue, CL_TRUE,
					 CL_MAP_READ | CL_MAP_WRITE_INVALIDATE_REGION, p, 64, 0,
					 NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(
		clEnqueueSVMMap(queue, CL_TRUE, (cl_map_flags)1 << 10, p, 64, 0, NULL, NULL),
		CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMUnmap(queue, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	clSVMFree(ctx, p);
}

static void migrate(const void *p, size_t size, cl_mem_migration_flags flags)
{
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 1, &p, &size, flags, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
}

static void test_svm_migrate(void **state)
{
	size_t n = 1 << 20, bytes = n * sizeof(cl_uint);
	cl_uint *p = svm(bytes), *q = svm(8192);
	const void *both[2] = {p, q};
	size_t both_sizes[2] = {0, 4096};
	cl_event e = NULL;
	cl_command_type type = 0;

	(void)state;
	/* Whole allocation (size 0) to the device, checked there, and back. */
	for (size_t i = 0; i < n; i++)
		p[i] = 17 + (cl_uint)i;
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 1, both, NULL, 0, 0, NULL, &e), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e), CL_SUCCESS);
	assert_int_equal(clGetEventInfo(e, CL_EVENT_COMMAND_TYPE, sizeof(type), &type, NULL),
			 CL_SUCCESS);
	assert_int_equal(type, CL_COMMAND_SVM_MIGRATE_MEM);
	assert_int_equal(clReleaseEvent(e), CL_SUCCESS);
	assert_int_equal(device_check_u32(p, 17, n), 0);
	migrate(p, 0, CL_MIGRATE_MEM_OBJECT_HOST);
	host_check_u32(p, 17, n);

	/* A range inside it, not page-aligned, both ways. */
	for (size_t i = 0; i < n; i++)
		p[i] = 3 + (cl_uint)i;
	migrate(p + 100000, 300001 * sizeof(cl_uint), 0);
	assert_int_equal(device_check_u32(p, 3, n), 0);
	migrate(p + 100000, 300001 * sizeof(cl_uint), CL_MIGRATE_MEM_OBJECT_HOST);
	host_check_u32(p, 3, n);

	/* Two pointers at once, one whole, one a range. */
	memset(q, 0x5A, 8192);
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 2, both, both_sizes, 0, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 2, both, both_sizes,
						CL_MIGRATE_MEM_OBJECT_HOST, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	host_check_u32(p, 3, n);
	for (int i = 0; i < 2048; i++)
		assert_int_equal(q[i], 0x5A5A5A5Au);
	clSVMFree(ctx, q);
	clSVMFree(ctx, p);
}

static void test_svm_migrate_content_undefined(void **state)
{
	size_t n = 1 << 20, bytes = n * sizeof(cl_uint), lo = 1000, len = 3 * 4096 + 123;
	cl_uint *p = svm(bytes);
	unsigned char *b = svm(64 * 1024);
	cl_kernel f = kernel("fill");
	cl_int v = 99;

	(void)state;
	/* To the device without contents, then written there: the host reads the writes. */
	for (size_t i = 0; i < n; i++)
		p[i] = 1;
	migrate(p, 0, CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED);
	set_ptr(f, 0, p);
	set_arg(f, 1, sizeof(v), &v);
	launch(f, n);
	for (size_t i = 0; i < n; i++)
		if (p[i] != 99)
			fail_msg("p[%zu] = %u", i, p[i]);

	/* To the host without contents, then written there: the device reads the writes. */
	launch(f, n);
	migrate(p, 0, CL_MIGRATE_MEM_OBJECT_HOST | CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED);
	for (size_t i = 0; i < n; i++)
		p[i] = 300 + (cl_uint)i;
	assert_int_equal(device_check_u32(p, 300, n), 0);
	host_check_u32(p, 300, n);

	/* A range that is not page-aligned: the bytes around it keep their values. */
	for (size_t i = 0; i < 64 * 1024; i++)
		b[i] = (unsigned char)(i * 13 + 5);
	migrate(b + lo, len, CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED);
	for (size_t i = 0; i < 64 * 1024; i++)
		if ((i < lo || i >= lo + len) && b[i] != (unsigned char)(i * 13 + 5))
			fail_msg("b[%zu] = %#x outside the discarded range", i, b[i]);
	for (size_t i = 0; i < 64 * 1024; i++)
		b[i] = (unsigned char)(i * 3);
	migrate(b + lo, len, CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED | CL_MIGRATE_MEM_OBJECT_HOST);
	for (size_t i = 0; i < 64 * 1024; i++)
		if ((i < lo || i >= lo + len) && b[i] != (unsigned char)(i * 3))
			fail_msg("b[%zu] = %#x outside the discarded range", i, b[i]);

	assert_int_equal(clReleaseKernel(f), CL_SUCCESS);
	clSVMFree(ctx, p);
	clSVMFree(ctx, b);
}

static void test_svm_migrate_errors(void **state)
{
	size_t size = 65536, big = size + 1, tail = 20;
	unsigned char *p = svm(size), *host = malloc(4096);
	const void *list[2] = {p, NULL}, *end = p + size - 10, *h = host;

	(void)state;
	assert_non_null(host);
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 0, list, NULL, 0, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 1, NULL, NULL, 0, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 2, list, NULL, 0, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 1, list, NULL,
						(cl_mem_migration_flags)1 << 5, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	/* Ranges not inside one SVM allocation. */
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 1, list, &big, 0, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 1, &end, &tail, 0, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMigrateMem(queue, 1, &h, &tail, 0, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMMigrateMem(NULL, 1, list, NULL, 0, 0, NULL, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	free(host);
	clSVMFree(ctx, p);
}

struct free_record {
	atomic_int calls;
	cl_command_queue queue;
	cl_uint num;
	void *ptrs[4];
	void *user_data;
};

static void CL_CALLBACK free_cb(cl_command_queue q, cl_uint num, void *ptrs[], void *user_data)
{
	struct free_record *r = user_data;

	r->queue = q;
	r->num = num;
	for (cl_uint i = 0; i < num && i < 4; i++)
		r->ptrs[i] = ptrs[i];
	r->user_data = user_data;
	for (cl_uint i = 0; i < num; i++)
		clSVMFree(ctx, ptrs[i]);
	atomic_fetch_add(&r->calls, 1);
}

static void test_svm_enqueue_free(void **state)
{
	struct free_record rec = {.num = 0};
	void *a = svm(4096), *b = svm(100000), *c, *d, *arr[2];
	cl_kernel f = kernel("fill");
	cl_event e = NULL;
	cl_command_type type = 0;
	cl_int v = 4, status = 1;

	(void)state;
	atomic_init(&rec.calls, 0);
	/* With a callback: it gets the queue, the pointers and user_data, and frees them. */
	set_ptr(f, 0, b);
	set_arg(f, 1, sizeof(v), &v);
	assert_int_equal(
		clEnqueueNDRangeKernel(queue, f, 1, NULL, &(size_t){25000}, NULL, 0, NULL, NULL),
		CL_SUCCESS);
	arr[0] = a;
	arr[1] = b;
	assert_int_equal(clEnqueueSVMFree(queue, 2, arr, free_cb, &rec, 0, NULL, &e), CL_SUCCESS);
	/* The array may be reused as soon as the call returns. */
	arr[0] = arr[1] = NULL;
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_int_equal(atomic_load(&rec.calls), 1);
	assert_ptr_equal(rec.queue, queue);
	assert_int_equal(rec.num, 2);
	assert_ptr_equal(rec.ptrs[0], a);
	assert_ptr_equal(rec.ptrs[1], b);
	assert_ptr_equal(rec.user_data, &rec);
	assert_int_equal(clGetEventInfo(e, CL_EVENT_COMMAND_TYPE, sizeof(type), &type, NULL),
			 CL_SUCCESS);
	assert_int_equal(type, CL_COMMAND_SVM_FREE);
	assert_int_equal(
		clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL),
		CL_SUCCESS);
	assert_int_equal(status, CL_COMPLETE);
	assert_int_equal(clReleaseEvent(e), CL_SUCCESS);

	/* Without a callback the implementation frees them. */
	c = svm(8192);
	d = svm(3 * MiB);
	memset(c, 1, 8192);
	memset(d, 2, 3 * MiB);
	arr[0] = c;
	arr[1] = d;
	assert_int_equal(clEnqueueSVMFree(queue, 2, arr, NULL, NULL, 0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	/* Allocation goes on. */
	c = svm(3 * MiB);
	memset(c, 3, 3 * MiB);
	clSVMFree(ctx, c);

	/* Errors. */
	c = svm(4096);
	arr[0] = c;
	assert_int_equal(clEnqueueSVMFree(queue, 0, arr, NULL, NULL, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMFree(queue, 1, NULL, NULL, NULL, 0, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clEnqueueSVMFree(NULL, 1, arr, NULL, NULL, 0, NULL, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	memset(c, 4, 4096); /* not freed by the failed calls */
	clSVMFree(ctx, c);
	assert_int_equal(clReleaseKernel(f), CL_SUCCESS);
}

/*
 * Three arrays of 5/8 of the device memory each (160 MiB with
 * FERRY_DEVICE_MEMORY=256M): the kernel touches nearly twice what the device
 * holds, so pages are evicted while it runs.
 */
static void test_oversubscribed(void **state)
{
	size_t each = (size_t)(global_mem * 5 / 8) & ~(size_t)(MiB - 1), n = each / sizeof(cl_uint);
	cl_uint *a, *b, *c;
	cl_kernel k;

	(void)state;
	if (global_mem > 512ULL * MiB) {
		print_message("device memory %llu MiB: too large for this test, skipped\n",
			      (unsigned long long)(global_mem / MiB));
		skip();
	}
	a = svm(each);
	b = svm(each);
	c = svm(each);
	for (size_t i = 0; i < n; i++) {
		a[i] = 3 * (cl_uint)i;
		b[i] = (cl_uint)i ^ 0x5A5A5A5Au;
	}
	k = kernel("vadd_u32");
	set_ptr(k, 0, a);
	set_ptr(k, 1, b);
	set_ptr(k, 2, c);
	launch(k, n);
	for (size_t i = 0; i < n; i++)
		if (c[i] != 3 * (cl_uint)i + ((cl_uint)i ^ 0x5A5A5A5Au))
			fail_msg("c[%zu] = %#x", i, c[i]);

	/* Again, the output and an input (evicted by now) as inputs: a = c + b. */
	set_ptr(k, 0, c);
	set_ptr(k, 2, a);
	launch(k, n);
	for (size_t i = 0; i < n; i++)
		if (a[i] != 3 * (cl_uint)i + 2 * ((cl_uint)i ^ 0x5A5A5A5Au))
			fail_msg("a[%zu] = %#x", i, a[i]);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, a);
	clSVMFree(ctx, b);
	clSVMFree(ctx, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_add),
		cmocka_unit_test(test_scalar_args),
		cmocka_unit_test(test_large_by_value_args),
		cmocka_unit_test(test_small_launches_in_order),
		cmocka_unit_test(test_many_queues_pipelined),
		cmocka_unit_test(test_local_memory),
		cmocka_unit_test(test_ndrange_shapes),
		cmocka_unit_test(test_ndrange_errors),
		cmocka_unit_test(test_ndrange_work_group_limits),
		cmocka_unit_test(test_ndrange_zero_size),
		cmocka_unit_test(test_kernel_arg_errors),
		cmocka_unit_test(test_kernel_arg_size_mismatch),
		cmocka_unit_test(test_kernel_arg_value_kind),
		cmocka_unit_test(test_kernel_exec_info),
		cmocka_unit_test(test_pointers_into_allocation),
		cmocka_unit_test(test_linked_list),
		cmocka_unit_test(test_svm_alloc),
		cmocka_unit_test(test_svm_alloc_errors),
		cmocka_unit_test(test_svm_alloc_max_size),
		cmocka_unit_test(test_svm_memcpy),
		cmocka_unit_test(test_svm_memfill),
		cmocka_unit_test(test_svm_map_unmap),
		cmocka_unit_test(test_svm_migrate),
		cmocka_unit_test(test_svm_migrate_content_undefined),
		cmocka_unit_test(test_svm_migrate_errors),
		cmocka_unit_test(test_svm_enqueue_free),
		cmocka_unit_test(test_oversubscribed),
	};

	return cmocka_run_group_tests_name("api_kernel_svm", tests, setup, teardown);
}
