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
#include "api_kernel_svm.h"

cl_platform_id platform;
cl_device_id device;
cl_context ctx;
cl_command_queue queue;
cl_program prog;
cl_ulong global_mem;
size_t max_wg, max_items[3];
cl_uint address_bits;
cl_device_svm_capabilities svm_caps;

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

cl_kernel kernel(const char *name)
{
	cl_int err = 1;
	cl_kernel k = clCreateKernel(prog, name, &err);

	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(k);
	return k;
}

void *svm(size_t size)
{
	void *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, size, 0);

	assert_non_null(p);
	return p;
}

void launch(cl_kernel k, size_t n)
{
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
}

void set_ptr(cl_kernel k, cl_uint i, const void *p)
{
	assert_int_equal(clSetKernelArgSVMPointer(k, i, p), CL_SUCCESS);
}

void set_arg(cl_kernel k, cl_uint i, size_t size, const void *v)
{
	assert_int_equal(clSetKernelArg(k, i, size, v), CL_SUCCESS);
}

/* Runs check_u32(p, base) over n items on the device: returns the mismatches. */
cl_uint device_check_u32(cl_uint *p, cl_uint base, size_t n)
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
void host_check_u32(const cl_uint *p, cl_uint base, size_t n)
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
		cmocka_unit_test(test_svm_buffer_over_svm),
		cmocka_unit_test(test_oversubscribed),
	};

	return cmocka_run_group_tests_name("api_kernel_svm", tests, setup, teardown);
}
