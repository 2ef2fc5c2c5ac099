/* SPDX-License-Identifier: MIT */
/*
 * The cl_ferry_managed_memory extension (include/CL/cl_ext_ferry.h) through
 * ocl-icd: the entry points are found by name, check their arguments as the
 * header specifies, and their effects are seen through the residency query
 * and the counters:
 *   - migration moves exactly the pages that hold data, and the counters say so;
 *   - read-mostly advice duplicates pages a kernel reads, and a write on
 *     either side collapses the written block to that side;
 *   - accessed-by (device) lets kernels work on host pages in place;
 *   - preferred location (device) keeps a range resident while a stream
 *     twice the device's capacity evicts everything else (and the same range
 *     without the advice is evicted: the control).
 * CTest sets OCL_ICD_VENDORS to the build tree's ferry.icd and
 * FERRY_DEVICE_MEMORY=32M.
 */
#define CL_TARGET_OPENCL_VERSION 300
#define CL_FERRY_PROTOTYPES
#include <CL/cl.h>
#include <CL/cl_ext_ferry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MiB (1024 * 1024)
#define PAGE 4096
#define U32_PER_PAGE (PAGE / sizeof(cl_uint))

static cl_platform_id platform;
static cl_device_id device;
static cl_context ctx;
static cl_command_queue queue;
static cl_program prog;
static cl_kernel k_read, k_inc, k_touch;
static cl_ulong capacity;
static size_t block; /* migration block, bytes */

static clEnqueueSVMAdviseMemFERRY_fn advise;
static clGetSVMResidencyFERRY_fn residency;
static clGetSVMCountersFERRY_fn counters;

static const char *source =
	/* one uint per page of @in into @out */
	"__kernel void read_pages(__global const uint *in, __global uint *out)\n"
	"{\n"
	"	size_t i = get_global_id(0);\n"
	"	out[i] = in[i * 1024];\n"
	"}\n"
	"__kernel void inc(__global uint *x)\n"
	"{\n"
	"	x[get_global_id(0)] += 1u;\n"
	"}\n"
	/* one write per page: the page migrates to the device */
	"__kernel void touch_pages(__global uint *x)\n"
	"{\n"
	"	x[get_global_id(0) * 1024] += 1u;\n"
	"}\n";

#define CHECK(call) assert_int_equal((call), CL_SUCCESS)

static void *svm_alloc(size_t size)
{
	void *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, size, 0);

	assert_non_null(p);
	return p;
}

static void run(cl_kernel k, size_t items, void *a0, void *a1)
{
	CHECK(clSetKernelArgSVMPointer(k, 0, a0));
	if (a1)
		CHECK(clSetKernelArgSVMPointer(k, 1, a1));
	CHECK(clEnqueueNDRangeKernel(queue, k, 1, NULL, &items, NULL, 0, NULL, NULL));
	CHECK(clFinish(queue));
}

static void do_advise(const void *p, size_t size, cl_svm_advice_ferry a, cl_device_id dev)
{
	CHECK(advise(queue, p, size, a, dev, 0, NULL, NULL));
	CHECK(clFinish(queue));
}

static void migrate(const void *p, size_t size, cl_mem_migration_flags flags)
{
	CHECK(clEnqueueSVMMigrateMem(queue, 1, &p, &size, flags, 0, NULL, NULL));
	CHECK(clFinish(queue));
}

/* Pages of [p, p + size) in state @state. */
static size_t count_state(const void *p, size_t size, cl_svm_residency_ferry state)
{
	size_t n = size / PAGE, c = 0, got = 0;
	cl_svm_residency_ferry *r = malloc(n);

	assert_non_null(r);
	CHECK(residency(ctx, p, size, r, &got));
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++)
		c += r[i] == state;
	free(r);
	return c;
}

static cl_svm_residency_ferry page_state(const void *p)
{
	cl_svm_residency_ferry r = 0xff;

	CHECK(residency(ctx, p, 1, &r, NULL));
	return r;
}

static cl_svm_counters_ferry snap(void)
{
	cl_svm_counters_ferry c;

	CHECK(counters(ctx, &c));
	return c;
}

/* ---- the entry points and their errors ---- */

static void extension_is_advertised(void **state)
{
	char ext[4096];
	size_t page = 0;

	(void)state;
	CHECK(clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, sizeof(ext), ext, NULL));
	assert_non_null(strstr(ext, CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME));
	CHECK(clGetPlatformInfo(platform, CL_PLATFORM_EXTENSIONS, sizeof(ext), ext, NULL));
	assert_non_null(strstr(ext, CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME));
	CHECK(clGetDeviceInfo(device, CL_DEVICE_SVM_PAGE_SIZE_FERRY, sizeof(page), &page, NULL));
	assert_int_equal(page, PAGE);
	assert_true(block >= PAGE && (block & (block - 1)) == 0);
	assert_null(clGetExtensionFunctionAddressForPlatform(platform, "clNoSuchThingFERRY"));
}

static void advise_errors(void **state)
{
	char *p = svm_alloc(MiB), stack[PAGE];
	cl_event ev = NULL, bad = (cl_event)stack;
	cl_device_id other = (cl_device_id)stack;
	const cl_svm_advice_ferry rm = CL_SVM_ADVICE_SET_READ_MOSTLY_FERRY;

	(void)state;
	assert_int_equal(advise(NULL, p, MiB, rm, NULL, 0, NULL, NULL), CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(advise((cl_command_queue)stack, p, MiB, rm, NULL, 0, NULL, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(advise(queue, p, MiB, rm, other, 0, NULL, NULL), CL_INVALID_DEVICE);
	assert_int_equal(advise(queue, p, MiB, 0, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(advise(queue, p, MiB, 7, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(advise(queue, NULL, MiB, rm, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(advise(queue, p, 0, rm, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(advise(queue, stack, PAGE, rm, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(advise(queue, p, MiB + 1, rm, NULL, 0, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(advise(queue, p, MiB, rm, NULL, 1, NULL, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	assert_int_equal(advise(queue, p, MiB, rm, NULL, 0, &ev, NULL), CL_INVALID_EVENT_WAIT_LIST);
	assert_int_equal(advise(queue, p, MiB, rm, NULL, 1, &bad, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);

	/* a good call is a command: it has an event that completes in order */
	CHECK(advise(queue, p + PAGE, 2 * PAGE, rm, device, 0, NULL, &ev));
	CHECK(clWaitForEvents(1, &ev));
	{
		cl_int st = 1;

		CHECK(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st, NULL));
		assert_int_equal(st, CL_COMPLETE);
	}
	CHECK(clReleaseEvent(ev));
	do_advise(p, MiB, CL_SVM_ADVICE_UNSET_READ_MOSTLY_FERRY, device);
	clSVMFree(ctx, p);
}

static void query_errors(void **state)
{
	char *p = svm_alloc(MiB), stack[PAGE];
	cl_svm_residency_ferry r[MiB / PAGE];
	cl_svm_counters_ferry c;
	size_t n = 0;

	(void)state;
	assert_int_equal(residency(NULL, p, MiB, r, &n), CL_INVALID_CONTEXT);
	assert_int_equal(residency((cl_context)stack, p, MiB, r, &n), CL_INVALID_CONTEXT);
	assert_int_equal(residency(ctx, p, MiB, NULL, NULL), CL_INVALID_VALUE);
	assert_int_equal(residency(ctx, p, 0, r, &n), CL_INVALID_VALUE);
	assert_int_equal(residency(ctx, NULL, MiB, r, &n), CL_INVALID_VALUE);
	assert_int_equal(residency(ctx, stack, PAGE, r, &n), CL_INVALID_VALUE);
	assert_int_equal(residency(ctx, p, MiB + 1, r, &n), CL_INVALID_VALUE);
	/* the count alone, and ranges rounded out to pages */
	CHECK(residency(ctx, p, MiB, NULL, &n));
	assert_int_equal(n, MiB / PAGE);
	CHECK(residency(ctx, p + 10, PAGE, NULL, &n));
	assert_int_equal(n, 2);
	CHECK(residency(ctx, p, MiB, r, NULL));
	for (size_t i = 0; i < MiB / PAGE; i++)
		assert_int_equal(r[i], CL_SVM_RESIDENCY_UNTOUCHED_FERRY);

	assert_int_equal(counters(NULL, &c), CL_INVALID_CONTEXT);
	assert_int_equal(counters((cl_context)stack, &c), CL_INVALID_CONTEXT);
	assert_int_equal(counters(ctx, NULL), CL_INVALID_VALUE);
	CHECK(counters(ctx, &c));
	assert_int_equal(c.device_capacity_pages * PAGE, capacity);
	assert_true(c.device_resident_pages <= c.device_capacity_pages);
	for (size_t i = 0; i < sizeof(c.reserved) / sizeof(*c.reserved); i++)
		assert_int_equal(c.reserved[i], 0);
	clSVMFree(ctx, p);
}

/* ---- what the queries report ---- */

static void migration_moves_the_pages_with_data(void **state)
{
	const size_t size = 2 * MiB, half = size / 2;
	cl_svm_counters_ferry c0, c1;
	char *p = svm_alloc(size);

	(void)state;
	assert_int_equal(count_state(p, size, CL_SVM_RESIDENCY_UNTOUCHED_FERRY), size / PAGE);
	memset(p, 0x5a, half);
	assert_int_equal(count_state(p, half, CL_SVM_RESIDENCY_HOST_FERRY), half / PAGE);
	assert_int_equal(count_state(p + half, half, CL_SVM_RESIDENCY_UNTOUCHED_FERRY),
			 half / PAGE);

	c0 = snap();
	migrate(p, size, 0);
	c1 = snap();
	assert_int_equal(count_state(p, size, CL_SVM_RESIDENCY_DEVICE_FERRY), size / PAGE);
	/* only the pages that held data were copied; untouched ones were zero-filled there */
	assert_int_equal(c1.pages_to_device - c0.pages_to_device, half / PAGE);
	assert_int_equal(c1.bytes_to_device - c0.bytes_to_device, half);
	assert_true(c1.device_resident_pages - c0.device_resident_pages >= size / PAGE);

	c0 = snap();
	migrate(p, size, CL_MIGRATE_MEM_OBJECT_HOST);
	c1 = snap();
	assert_int_equal(count_state(p, size, CL_SVM_RESIDENCY_HOST_FERRY), size / PAGE);
	assert_int_equal(c1.pages_to_host - c0.pages_to_host, size / PAGE);
	assert_int_equal(c1.bytes_to_host - c0.bytes_to_host, size);
	for (size_t i = 0; i < size; i += 997)
		assert_int_equal((unsigned char)p[i], i < half ? 0x5a : 0);

	/* discarding: nothing is copied, the contents become undefined */
	c0 = snap();
	migrate(p, size, CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED);
	c1 = snap();
	assert_int_equal(count_state(p, size, CL_SVM_RESIDENCY_DEVICE_FERRY), size / PAGE);
	assert_int_equal(c1.pages_to_device - c0.pages_to_device, 0);
	clSVMFree(ctx, p);
}

static void read_mostly_duplicates_until_a_write(void **state)
{
	const size_t size = 4 * block > 256 * 1024 ? 4 * block : 256 * 1024;
	const size_t pages = size / PAGE;
	cl_svm_counters_ferry c0, c1;
	cl_uint *in = svm_alloc(size), *out = svm_alloc(pages * sizeof(cl_uint));
	char *last;

	(void)state;
	for (size_t i = 0; i < size / sizeof(cl_uint); i++)
		in[i] = (cl_uint)(i * 2654435761u);
	memset(out, 0, pages * sizeof(cl_uint));
	do_advise(in, size, CL_SVM_ADVICE_SET_READ_MOSTLY_FERRY, device);

	run(k_read, pages, in, out);
	for (size_t i = 0; i < pages; i++)
		assert_int_equal(out[i], (cl_uint)(i * U32_PER_PAGE * 2654435761u));
	assert_int_equal(count_state(in, size, CL_SVM_RESIDENCY_DUPLICATED_FERRY), pages);

	/* the host reads its own copy: no fault, no migration */
	c0 = snap();
	for (size_t i = 0; i < size / sizeof(cl_uint); i += U32_PER_PAGE)
		assert_int_equal(in[i], (cl_uint)(i * 2654435761u));
	c1 = snap();
	assert_int_equal(c1.pages_to_host - c0.pages_to_host, 0);
	assert_int_equal(count_state(in, size, CL_SVM_RESIDENCY_DUPLICATED_FERRY), pages);

	/* a host write collapses its block to the host */
	in[0] = 7;
	assert_int_equal(page_state(in), CL_SVM_RESIDENCY_HOST_FERRY);
	assert_int_equal(
		count_state((char *)in + block, size - block, CL_SVM_RESIDENCY_DUPLICATED_FERRY),
		(size - block) / PAGE);

	/* a device write collapses its block to the device */
	last = (char *)in + size - PAGE;
	run(k_inc, 1, last, NULL);
	assert_int_equal(page_state(last), CL_SVM_RESIDENCY_DEVICE_FERRY);
	assert_int_equal(count_state((char *)in + block, size - 2 * block,
				     CL_SVM_RESIDENCY_DUPLICATED_FERRY),
			 (size - 2 * block) / PAGE);

	/* both writes took effect where they were made, and only there */
	assert_int_equal(in[0], 7);
	assert_int_equal(*(cl_uint *)last,
			 (cl_uint)((size - PAGE) / sizeof(cl_uint) * 2654435761u) + 1);
	assert_int_equal(in[1], (cl_uint)(1 * 2654435761u));
	do_advise(in, size, CL_SVM_ADVICE_UNSET_READ_MOSTLY_FERRY, device);
	clSVMFree(ctx, in);
	clSVMFree(ctx, out);
}

static void accessed_by_device_works_in_place(void **state)
{
	const size_t size = 4 * block, n = size / sizeof(cl_uint);
	cl_svm_counters_ferry c0, c1;
	cl_uint *x = svm_alloc(size);

	(void)state;
	for (size_t i = 0; i < n; i++)
		x[i] = (cl_uint)i;
	do_advise(x, size, CL_SVM_ADVICE_SET_ACCESSED_BY_FERRY, device);
	c0 = snap();
	run(k_inc, n, x, NULL);
	c1 = snap();
	/* the kernel wrote the host's pages where they are: nothing moved */
	assert_int_equal(c1.pages_to_device - c0.pages_to_device, 0);
	assert_int_equal(count_state(x, size, CL_SVM_RESIDENCY_HOST_FERRY), size / PAGE);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(x[i], (cl_uint)i + 1);
	/*
	 * Accessed-by is a set per page: advice about the host on half of the
	 * range, then taken back from all of it, leaves the device's in place.
	 */
	do_advise(x, size / 2, CL_SVM_ADVICE_SET_ACCESSED_BY_FERRY, NULL);
	do_advise(x, size, CL_SVM_ADVICE_UNSET_ACCESSED_BY_FERRY, NULL);
	c0 = snap();
	run(k_inc, n, x, NULL);
	c1 = snap();
	assert_int_equal(c1.pages_to_device - c0.pages_to_device, 0);
	assert_int_equal(count_state(x, size, CL_SVM_RESIDENCY_HOST_FERRY), size / PAGE);

	/* without the advice the same kernel migrates the pages */
	do_advise(x, size, CL_SVM_ADVICE_UNSET_ACCESSED_BY_FERRY, device);
	c0 = snap();
	run(k_inc, n, x, NULL);
	c1 = snap();
	assert_int_equal(c1.pages_to_device - c0.pages_to_device, size / PAGE);
	assert_int_equal(count_state(x, size, CL_SVM_RESIDENCY_DEVICE_FERRY), size / PAGE);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(x[i], (cl_uint)i + 3);
	clSVMFree(ctx, x);
}

/* Advice belongs to its allocation: memory allocated again at its address starts without. */
static void advice_ends_with_the_allocation(void **state)
{
	const size_t size = 4 * block, n = size / sizeof(cl_uint);
	cl_svm_counters_ferry c0, c1;
	cl_uint *x = svm_alloc(size), *y;

	(void)state;
	do_advise(x, size, CL_SVM_ADVICE_SET_ACCESSED_BY_FERRY, device);
	do_advise(x, size, CL_SVM_ADVICE_SET_READ_MOSTLY_FERRY, device);
	clSVMFree(ctx, x);
	y = svm_alloc(size);
	assert_ptr_equal(x, y); /* the allocator reuses the first fit */
	memset(y, 0, size);
	c0 = snap();
	run(k_inc, n, y, NULL);
	c1 = snap();
	/* neither remote access nor duplication: the pages migrated and are writable */
	assert_int_equal(c1.pages_to_device - c0.pages_to_device, size / PAGE);
	assert_int_equal(count_state(y, size, CL_SVM_RESIDENCY_DEVICE_FERRY), size / PAGE);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(y[i], 1);
	clSVMFree(ctx, y);
}

/* Resident pages of @keep after a kernel streamed over twice the capacity. */
static size_t resident_after_stream(cl_uint *keep, size_t keep_size, int prefer_device)
{
	size_t stream_size = 2 * (size_t)capacity, on_device;
	cl_svm_counters_ferry c0, c1;
	cl_uint *stream = svm_alloc(stream_size);

	memset(keep, 1, keep_size);
	if (prefer_device)
		do_advise(keep, keep_size, CL_SVM_ADVICE_SET_PREFERRED_LOCATION_FERRY, device);
	migrate(keep, keep_size, 0);
	assert_int_equal(count_state(keep, keep_size, CL_SVM_RESIDENCY_DEVICE_FERRY),
			 keep_size / PAGE);
	c0 = snap();
	run(k_touch, stream_size / PAGE, stream, NULL);
	c1 = snap();
	assert_true(c1.evictions > c0.evictions);
	assert_true(c1.device_resident_pages <= c1.device_capacity_pages);
	on_device = count_state(keep, keep_size, CL_SVM_RESIDENCY_DEVICE_FERRY);
	/* nothing was lost either way */
	for (size_t i = 0; i < keep_size / sizeof(cl_uint); i += 1000)
		assert_int_equal(keep[i], 0x01010101u);
	if (prefer_device)
		do_advise(keep, keep_size, CL_SVM_ADVICE_UNSET_PREFERRED_LOCATION_FERRY, device);
	clSVMFree(ctx, stream);
	return on_device;
}

static void preferred_device_survives_eviction(void **state)
{
	const size_t keep_size = 4 * MiB;
	cl_uint *keep = svm_alloc(keep_size);

	(void)state;
	/* the control: least recently used, the range is evicted by the stream */
	assert_int_not_equal(resident_after_stream(keep, keep_size, 0), keep_size / PAGE);
	migrate(keep, keep_size, CL_MIGRATE_MEM_OBJECT_HOST);
	/* preferring the device, it stays while everything else is evicted */
	assert_int_equal(resident_after_stream(keep, keep_size, 1), keep_size / PAGE);
	clSVMFree(ctx, keep);
}

/* ---- set-up ---- */

static int setup(void **state)
{
	cl_uint n = 0;
	cl_int err;

	(void)state;
	if (clGetPlatformIDs(1, &platform, &n) != CL_SUCCESS || n != 1 ||
	    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, &n) != CL_SUCCESS ||
	    clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(capacity), &capacity, NULL) ||
	    clGetDeviceInfo(device, CL_DEVICE_SVM_MIGRATION_BLOCK_FERRY, sizeof(block), &block,
			    NULL))
		return -1;
	advise = (clEnqueueSVMAdviseMemFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		platform, "clEnqueueSVMAdviseMemFERRY");
	residency = (clGetSVMResidencyFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		platform, "clGetSVMResidencyFERRY");
	counters = (clGetSVMCountersFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		platform, "clGetSVMCountersFERRY");
	if (!advise || !residency || !counters) {
		fprintf(stderr, "the extension's entry points are not found\n");
		return -1;
	}
	ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	if (!ctx)
		return -1;
	queue = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
	if (!queue || !prog || clBuildProgram(prog, 1, &device, "", NULL, NULL) != CL_SUCCESS)
		return -1;
	k_read = clCreateKernel(prog, "read_pages", &err);
	k_inc = clCreateKernel(prog, "inc", &err);
	k_touch = clCreateKernel(prog, "touch_pages", &err);
	return k_read && k_inc && k_touch ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	clReleaseKernel(k_read);
	clReleaseKernel(k_inc);
	clReleaseKernel(k_touch);
	clReleaseProgram(prog);
	clReleaseCommandQueue(queue);
	clReleaseContext(ctx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(extension_is_advertised),
		cmocka_unit_test(advise_errors),
		cmocka_unit_test(query_errors),
		cmocka_unit_test(migration_moves_the_pages_with_data),
		cmocka_unit_test(read_mostly_duplicates_until_a_write),
		cmocka_unit_test(accessed_by_device_works_in_place),
		cmocka_unit_test(advice_ends_with_the_allocation),
		cmocka_unit_test(preferred_device_survives_eviction),
	};

	return cmocka_run_group_tests_name("api_managed", tests, setup, teardown);
}
