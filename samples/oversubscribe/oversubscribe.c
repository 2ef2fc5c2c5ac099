/* SPDX-License-Identifier: MIT */
/*
 * oversubscribe - a dataset twice the device memory processed by one kernel
 * launch per chunk, twice: the driver keeps what fits on the device and pins
 * the rest on the host, where the device maps it in place (its response to a
 * sweep larger than the device); with FERRY_THRASHING_THRESHOLD=0 it evicts
 * the least recently used regions to the host instead. Nothing is lost.
 */
#include "../common/sample.h"

static const char *src = "__kernel void advance(__global uint *x)\n"
			 "{\n"
			 "	size_t i = get_global_id(0);\n"
			 "	x[i] = x[i] * 3u + 7u;\n"
			 "}\n";

int main(void)
{
	cl_svm_counters_ferry c0, c1;
	size_t cap_bytes, part, parts = 4, n, chunk = 16 << 20, bad = 0;
	struct sample s;
	cl_ulong cap, max_alloc;
	cl_uint *x[4];
	cl_kernel k;

	sample_open(&s);
	CHECK(clGetDeviceInfo(s.device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(cap), &cap, NULL));
	CHECK(clGetDeviceInfo(s.device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(max_alloc), &max_alloc,
			      NULL));
	cap_bytes = (size_t)cap;
	/*
	 * Twice the device memory in four allocations: one allocation may not
	 * exceed CL_DEVICE_MAX_MEM_ALLOC_SIZE (the device memory, unless
	 * FERRY_MAX_ALLOC_SIZE raises it), but together they may.
	 */
	part = (2 * cap_bytes / parts) & ~(chunk - 1);
	if (part > max_alloc || part < chunk)
		return 1;
	n = part / sizeof(cl_uint);
	k = sample_kernel(&s, src, "advance");
	for (size_t p = 0; p < parts; p++) {
		x[p] = clSVMAlloc(s.ctx, CL_MEM_READ_WRITE, part, 0);
		if (!x[p])
			return 1;
		for (size_t i = 0; i < n; i++)
			x[p][i] = (cl_uint)(p * n + i);
	}
	CHECK(s.counters(s.ctx, &c0));
	for (int pass = 0; pass < 2; pass++)
		for (size_t p = 0; p < parts; p++)
			for (size_t off = 0; off < part; off += chunk) {
				size_t items = chunk / sizeof(cl_uint);

				CHECK(clSetKernelArgSVMPointer(k, 0, (char *)x[p] + off));
				CHECK(clEnqueueNDRangeKernel(s.q, k, 1, NULL, &items, NULL, 0, NULL,
							     NULL));
			}
	CHECK(clFinish(s.q));
	CHECK(s.counters(s.ctx, &c1));
	for (size_t p = 0; p < parts; p++)
		for (size_t i = 0; i < n; i++) {
			cl_uint v = (cl_uint)(p * n + i);

			bad += x[p][i] != (v * 3u + 7u) * 3u + 7u;
		}
	printf("%zu MiB in %zu allocations through %zu MiB of device memory, twice: %llu "
	       "evictions (%llu pages), %llu regions pinned on the host, %llu MiB moved to the "
	       "device, %llu of %llu device pages in use at the end, %zu wrong\n",
	       parts * part >> 20, parts, cap_bytes >> 20,
	       (unsigned long long)(c1.evictions - c0.evictions),
	       (unsigned long long)(c1.pages_evicted - c0.pages_evicted),
	       (unsigned long long)(c1.thrashing_pins - c0.thrashing_pins),
	       (unsigned long long)(c1.bytes_to_device - c0.bytes_to_device) >> 20,
	       (unsigned long long)c1.device_resident_pages,
	       (unsigned long long)c1.device_capacity_pages, bad);
	for (size_t p = 0; p < parts; p++)
		clSVMFree(s.ctx, x[p]);
	CHECK(clReleaseKernel(k));
	sample_close(&s);
	/* the device cannot hold it all: something was evicted or pinned */
	return bad != 0 || (c1.evictions == c0.evictions && c1.thrashing_pins == c0.thrashing_pins);
}
