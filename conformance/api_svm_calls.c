/* SPDX-License-Identifier: MIT */
/*
 * test_api_kernel_svm, part 3: the SVM entry points (alloc, memcpy, fill,
 * map, unmap, migrate, free) and kernels over more data than the device
 * holds.
 */
#include "api_kernel_svm.h"

void test_svm_alloc(void **state)
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

void test_svm_alloc_errors(void **state)
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
void test_svm_alloc_max_size(void **state)
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

void test_svm_memcpy(void **state)
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

void test_svm_memfill(void **state)
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

void test_svm_map_unmap(void **state)
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

void test_svm_migrate(void **state)
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

void test_svm_migrate_content_undefined(void **state)
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

void test_svm_migrate_errors(void **state)
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

void test_svm_enqueue_free(void **state)
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
void test_oversubscribed(void **state)
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

/*
 * clCreateBuffer(CL_MEM_USE_HOST_PTR) on memory from clSVMAlloc: the buffer's
 * storage is the SVM allocation itself (OpenCL 2.0 on), so a kernel's
 * writes through the buffer are in the allocation without a map, and so are
 * a sub-buffer's; CL_MEM_USES_SVM_POINTER says so; a size beyond the
 * allocation is refused; releasing the buffers leaves the allocation alone.
 */
void test_svm_buffer_over_svm(void **state)
{
	const size_t n = 65536, big = 3 * 4096;
	cl_int *p = svm(n * sizeof(cl_int)), *q = svm(big);
	cl_buffer_region r = {.origin = n / 2 * sizeof(cl_int), .size = n / 2 * sizeof(cl_int)};
	cl_kernel k = kernel("bump");
	cl_bool uses = CL_FALSE;
	void *hp = NULL, *small;
	cl_int err = 1, v = 5;
	cl_mem b, sub, plain;

	(void)state;
	for (size_t i = 0; i < n; i++)
		p[i] = (cl_int)i;
	b = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, n * sizeof(cl_int), p,
			   &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetMemObjectInfo(b, CL_MEM_USES_SVM_POINTER, sizeof(uses), &uses, NULL),
			 CL_SUCCESS);
	assert_true(uses);
	assert_int_equal(clGetMemObjectInfo(b, CL_MEM_HOST_PTR, sizeof(hp), &hp, NULL), CL_SUCCESS);
	assert_ptr_equal(hp, p);
	set_arg(k, 0, sizeof(b), &b);
	set_arg(k, 1, sizeof(v), &v);
	launch(k, n);
	/* no map, no read: the allocation is the buffer */
	for (size_t i = 0; i < n; i++)
		if (p[i] != (cl_int)i + 5)
			fail_msg("p[%zu] = %d, expected %d: the buffer was a copy", i, p[i],
				 (cl_int)i + 5);

	sub = clCreateSubBuffer(b, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
	assert_int_equal(err, CL_SUCCESS);
	uses = CL_FALSE;
	assert_int_equal(
		clGetMemObjectInfo(sub, CL_MEM_USES_SVM_POINTER, sizeof(uses), &uses, NULL),
		CL_SUCCESS);
	assert_true(uses);
	set_arg(k, 0, sizeof(sub), &sub);
	launch(k, n / 2);
	for (size_t i = 0; i < n; i++)
		if (p[i] != (cl_int)i + (i < n / 2 ? 5 : 10))
			fail_msg("p[%zu] = %d after the sub-buffer's kernel", i, p[i]);

	/* larger than the allocation: refused */
	assert_null(clCreateBuffer(ctx, CL_MEM_USE_HOST_PTR, big + 4096, q, &err));
	assert_int_equal(err, CL_INVALID_BUFFER_SIZE);
	/* the size asked of clSVMAlloc counts, not the page it was rounded to */
	small = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 1024, 0);
	assert_non_null(small);
	assert_null(clCreateBuffer(ctx, CL_MEM_USE_HOST_PTR, 2048, small, &err));
	assert_int_equal(err, CL_INVALID_BUFFER_SIZE);
	plain = clCreateBuffer(ctx, CL_MEM_USE_HOST_PTR, 1024, small, &err);
	assert_int_equal(err, CL_SUCCESS);
	clReleaseMemObject(plain);
	clSVMFree(ctx, small);
	/* ordinary host memory still gets a buffer of its own */
	plain = clCreateBuffer(ctx, CL_MEM_USE_HOST_PTR, sizeof(v), &v, &err);
	assert_int_equal(err, CL_SUCCESS);
	uses = CL_TRUE;
	assert_int_equal(
		clGetMemObjectInfo(plain, CL_MEM_USES_SVM_POINTER, sizeof(uses), &uses, NULL),
		CL_SUCCESS);
	assert_false(uses);

	assert_int_equal(clReleaseMemObject(sub), CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(b), CL_SUCCESS);
	assert_int_equal(clReleaseMemObject(plain), CL_SUCCESS);
	/* the allocation outlives its buffers, on both sides */
	p[0] = 42;
	set_ptr(k, 0, p);
	launch(k, 1);
	assert_int_equal(p[0], 47);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, q);
	clSVMFree(ctx, p);
}
