/* SPDX-License-Identifier: MIT */
/*
 * test_api_kernel_svm, part 2: kernel arguments (by-value structs, __local
 * memory, their errors), NDRange shapes, limits and errors, exec info, and
 * pointers inside SVM followed on the device and the host.
 */
#include "api_kernel_svm.h"

/*
 * Arguments beyond what a posted launch carries (FERRY_POST_MAX, 64 KiB: two
 * 40 KiB structs by value) go the synchronous way, in order with the posted
 * launches around them.
 */
void test_large_by_value_args(void **state)
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

void test_local_memory(void **state)
{
	size_t n = 4096;
	cl_int *in = svm(n * sizeof(cl_int)), *out = svm(n * sizeof(cl_int));
	cl_kernel k = kernel("reduce");
	cl_ulong lmem = 0;

	(void)state;
	for (size_t i = 0; i < n; i++)
		in[i] = (cl_int)(i % 97) - 13;
	run_reduce(k, in, out, n, 64);
	run_reduce(k, in, out, n, 16);
	/* A __local argument needs a size, up to all of CL_DEVICE_LOCAL_MEM_SIZE. */
	assert_int_equal(clSetKernelArg(k, 2, 0, NULL), CL_INVALID_ARG_SIZE);
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(lmem), &lmem, NULL),
		CL_SUCCESS);
	assert_true(lmem > 65536);
	assert_int_equal(clSetKernelArg(k, 2, lmem + 1, NULL), CL_INVALID_ARG_SIZE);
	assert_int_equal(clSetKernelArg(k, 2, lmem, NULL), CL_SUCCESS);
	for (size_t g = 0; g < n / 64; g++)
		out[g] = 0x7777;
	assert_int_equal(
		clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, &(size_t){64}, 0, NULL, NULL),
		CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	for (size_t g = 0; g < n / 64; g++) {
		cl_int sum = 0;

		for (size_t j = 0; j < 64; j++)
			sum += in[g * 64 + j];
		assert_int_equal(out[g], sum);
	}
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

void test_ndrange_shapes(void **state)
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

void test_ndrange_errors(void **state)
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
 * reqd_work_group_size(8, 1, 1), which needs exactly that local size when
 * one is given: clEnqueueNDRangeKernel returns CL_INVALID_WORK_GROUP_SIZE.
 * Given none, the kernel runs with the required one.
 */
void test_ndrange_work_group_limits(void **state)
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
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_untouched(p + n, n, -3);
	/* no local size: the required one (OpenCL 3.0 names no error for it) */
	for (size_t i = 0; i < n; i++)
		p[i] = -3;
	assert_int_equal(clEnqueueNDRangeKernel(queue, w, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], 8);
	assert_untouched(p + n, n, -3);
	assert_int_equal(clReleaseKernel(w), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, p);
}

/*
 * A global size of 0 in any dimension, or none (NULL): no work-item runs. Returning
 * CL_INVALID_GLOBAL_WORK_SIZE for it is deprecated by OpenCL 2.1, and the
 * CTS (basic/zero_sized_enqueue, 2.1 and later) requires CL_SUCCESS and a
 * complete event.
 */
void test_ndrange_zero_size(void **state)
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
	/* so is no global size at all (OpenCL 3.0; CTS api/zero_sized_enqueue) */
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 2, NULL, NULL, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	assert_untouched(p, 64, -3);
	if (e)
		assert_int_equal(clReleaseEvent(e), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, p);
}

void test_kernel_arg_errors(void **state)
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
void test_kernel_arg_size_mismatch(void **state)
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
void test_kernel_arg_value_kind(void **state)
{
	cl_kernel r = kernel("reduce"), k = kernel("fill");
	cl_int scratch[16];

	(void)state;
	assert_int_equal(clSetKernelArg(r, 2, sizeof(scratch), scratch), CL_INVALID_ARG_VALUE);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(cl_int), NULL), CL_INVALID_ARG_VALUE);
	assert_int_equal(clReleaseKernel(r), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
}

void test_kernel_exec_info(void **state)
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
	/* no pointers clears the set; a size without pointers or pointers without a size do not */
	assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, 0, NULL), CL_SUCCESS);
	assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_PTRS, 0, ptrs),
			 CL_INVALID_VALUE);
	assert_int_equal(clSetKernelExecInfo(k, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, 0, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(
		clSetKernelExecInfo(NULL, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof(ptrs), ptrs),
		CL_INVALID_KERNEL);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, a);
	clSVMFree(ctx, b);
}

void test_pointers_into_allocation(void **state)
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

void test_linked_list(void **state)
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
