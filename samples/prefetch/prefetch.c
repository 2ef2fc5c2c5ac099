/* SPDX-License-Identifier: MIT */
/*
 * prefetch - the same kernel over data the host just wrote, once with
 * first-touch faults and once after clEnqueueSVMMigrateMem, printing the
 * time, the faults and where the pages are.
 */
#include <string.h>

#include "../common/sample.h"

static const char *src = "__kernel void scale(__global float *x, float f)\n"
			 "{\n"
			 "	size_t i = get_global_id(0);\n"
			 "	x[i] = x[i] * f + 1.0f;\n"
			 "}\n";

static double run(struct sample *s, cl_kernel k, float *x, size_t n, int prefetch,
		  cl_svm_counters_ferry *delta)
{
	cl_svm_counters_ferry a, b;
	size_t bytes = n * sizeof(float);
	double t0, t1;

	for (size_t i = 0; i < n; i++)
		x[i] = (float)(i & 1023); /* host writes: the pages come back to the host */
	CHECK(s->counters(s->ctx, &a));
	t0 = sample_now();
	if (prefetch)
		CHECK(clEnqueueSVMMigrateMem(s->q, 1, (const void **)&x, &bytes, 0, 0, NULL, NULL));
	CHECK(clSetKernelArgSVMPointer(k, 0, x));
	CHECK(clEnqueueNDRangeKernel(s->q, k, 1, NULL, &n, NULL, 0, NULL, NULL));
	CHECK(clFinish(s->q));
	t1 = sample_now();
	CHECK(s->counters(s->ctx, &b));
	delta->faults_device = b.faults_device - a.faults_device;
	delta->pages_to_device = b.pages_to_device - a.pages_to_device;
	delta->pages_prefetched = b.pages_prefetched - a.pages_prefetched;
	return t1 - t0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 64, n = mib << 18, bad = 0;
	cl_svm_counters_ferry d1, d2;
	struct sample s;
	float f = 2.0f, *x;
	cl_kernel k;
	double t_fault, t_pref;

	sample_open(&s);
	k = sample_kernel(&s, src, "scale");
	x = clSVMAlloc(s.ctx, CL_MEM_READ_WRITE, n * sizeof(float), 0);
	if (!x)
		return 1;
	CHECK(clSetKernelArg(k, 1, sizeof(f), &f));

	run(&s, k, x, n, 0, &d1); /* warm-up: PoCL compiles the kernel at its first launch */
	t_fault = run(&s, k, x, n, 0, &d1);
	printf("first touch: %7.1f ms, %6llu device faults, %7llu pages moved (%llu by the "
	       "prefetcher), %zu of %zu pages now on the device\n",
	       t_fault * 1e3, (unsigned long long)d1.faults_device,
	       (unsigned long long)d1.pages_to_device, (unsigned long long)d1.pages_prefetched,
	       sample_device_pages(&s, x, n * sizeof(float)), n * sizeof(float) / 4096);
	t_pref = run(&s, k, x, n, 1, &d2);
	printf("prefetch:    %7.1f ms, %6llu device faults, %7llu pages moved, %zu of %zu pages "
	       "now on the device\n",
	       t_pref * 1e3, (unsigned long long)d2.faults_device,
	       (unsigned long long)d2.pages_to_device,
	       sample_device_pages(&s, x, n * sizeof(float)), n * sizeof(float) / 4096);
	printf("prefetching first: %.2fx the first-touch time\n", t_pref / t_fault);
	for (size_t i = 0; i < n; i++)
		bad += x[i] != (float)(i & 1023) * 2.0f + 1.0f;
	printf("%zu wrong results\n", bad);
	clSVMFree(s.ctx, x);
	CHECK(clReleaseKernel(k));
	sample_close(&s);
	return bad != 0 || d2.faults_device != 0;
}
