/* SPDX-License-Identifier: MIT */
/*
 * bench_opencl.c - Ferry against PoCL through OpenCL, in the same run.
 *
 * Ferry's device runs kernels on PoCL inside ferry-device; the baseline is
 * PoCL's own CPU device in this process, loaded through the same ICD loader.
 * Before any OpenCL call the benchmark makes a temporary vendors directory
 * holding copies of Ferry's ICD file (FERRY_BENCH_ICD, or the build tree's
 * ferry.icd next to bench/) and of Debian's pocl.icd, and points
 * OCL_ICD_VENDORS at it; both platforms are then picked by name.
 *
 * Measures:
 *   1. the same kernel over the same data resident on the device (Ferry: SVM
 *      prefetched with clEnqueueSVMMigrateMem and checked page by page with
 *      clGetSVMResidencyFERRY): best kernel time, Ferry / PoCL throughput;
 *   2. the launch latency of an empty kernel (enqueue + clFinish), mean,
 *      median, tails, back-to-back launches, and where the time goes
 *      (profiling events);
 *   3. a vector add over data the host just wrote, end to end (from the host
 *      writes being done to the result readable on the host), on Ferry with
 *      first-touch faults, with a prefetch (also: c migrated back explicitly,
 *      and c sent CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED), and with explicit
 *      buffer copies (the baseline), plus PoCL's explicit copies for
 *      reference; a breakdown from profiling events and Ferry's migration
 *      counters for each.
 *
 * Every figure carries its ratio to a baseline measured in the same run;
 * targets are printed with PASS/MISS. Exit status 0 whatever the figures; 1
 * when something failed (an API error, a wrong result, a page not where it
 * had to be), with a message.
 *
 * GB/s here is 10^9 bytes per second; sizes are in MiB (2^20 bytes).
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_opencl.h"

#define TARGET_RESIDENT 0.95 /* Ferry GB/s / PoCL GB/s, same kernel on resident data */
#define TARGET_LAUNCH 2.0    /* Ferry launch latency / PoCL launch latency */

static struct {
	size_t resident_bytes; /* per array, test 1 */
	size_t vecadd_bytes;   /* per array, test 3 */
	unsigned resident_reps;
	unsigned vecadd_reps;
	unsigned launches;
	unsigned timeout;
	int quick;
	unsigned tests;
} cfg;

enum { TEST_RESIDENT = 1, TEST_LAUNCH = 2, TEST_VECADD = 4, TEST_ALL = 7 };

static const char *const test_names[] = {"resident", "launch", "vecadd"};

/* ------------------------------------------------------------------ helpers */

static double mean_us(const uint64_t *v, unsigned n)
{
	double s = 0;

	for (unsigned i = 0; i < n; i++)
		s += (double)v[i];
	return n ? s / n / 1000.0 : NAN;
}

static uint64_t min_u64(const uint64_t *v, unsigned n)
{
	uint64_t m = UINT64_MAX;

	for (unsigned i = 0; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static uint64_t median_u64(const uint64_t *v, unsigned n)
{
	uint64_t *s = bench_xmalloc(n * sizeof(*s)), m;

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	m = s[(n - 1) / 2];
	free(s);
	return m;
}

/* ---------------------------------------------------------------- platforms */

static const char *kernel_source =
	"__kernel void saxpy8(__global float *y, __global const float *x, float a)\n"
	"{\n"
	"	size_t i = get_global_id(0);\n"
	"	float xv = x[i], yv = y[i];\n"
	"	for (int r = 0; r < 8; r++)\n"
	"		yv = a * xv + yv;\n"
	"	y[i] = yv;\n"
	"}\n"
	"__kernel void empty(void)\n"
	"{\n"
	"}\n"
	"__kernel void vadd(__global const float *a, __global const float *b,\n"
	"		   __global float *c)\n"
	"{\n"
	"	size_t i = get_global_id(0);\n"
	"	c[i] = a[i] + b[i];\n"
	"}\n";

struct plat F = {.label = "Ferry"}, P = {.label = "PoCL"};

static void open_platform(struct plat *pl, cl_platform_id id)
{
	cl_queue_properties prof[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
	char name[256] = "", ver[256] = "", dname[256] = "";
	cl_uint cu = 0;
	cl_device_svm_capabilities svm = 0;
	cl_int err;
	uint64_t t0;

	pl->platform = id;
	CK(clGetDeviceIDs(id, CL_DEVICE_TYPE_ALL, 1, &pl->device, NULL));
	CK(clGetPlatformInfo(id, CL_PLATFORM_NAME, sizeof(name), name, NULL));
	CK(clGetPlatformInfo(id, CL_PLATFORM_VERSION, sizeof(ver), ver, NULL));
	CK(clGetDeviceInfo(pl->device, CL_DEVICE_NAME, sizeof(dname), dname, NULL));
	CK(clGetDeviceInfo(pl->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cu), &cu, NULL));
	CK(clGetDeviceInfo(pl->device, CL_DEVICE_SVM_CAPABILITIES, sizeof(svm), &svm, NULL));
	printf("%-5s: platform \"%s\" (%s), device \"%s\", %u compute units\n", pl->label, name,
	       ver, dname, cu);
	open_context(pl->label, pl->device, svm, &pl->ctx, &pl->q);
	pl->qp = clCreateCommandQueueWithProperties(pl->ctx, pl->device, prof, &err);
	if (!pl->qp)
		bench_fatal("%s: clCreateCommandQueueWithProperties (profiling) = %d (%s)",
			    pl->label, err, cl_err_name(err));

	t0 = now_ns();
	pl->prog = build_program(pl->label, NULL, pl->ctx, pl->device, kernel_source, "");
	pl->build_s = (now_ns() - t0) / 1e9;
	pl->saxpy8 = make_kernel(pl->label, pl->prog, "saxpy8");
	pl->empty = make_kernel(pl->label, pl->prog, "empty");
	pl->vadd_svm = make_kernel(pl->label, pl->prog, "vadd");
	pl->vadd_buf = make_kernel(pl->label, pl->prog, "vadd");
}

static void close_platform(struct plat *pl)
{
	cl_kernel ks[] = {pl->saxpy8, pl->empty, pl->vadd_svm, pl->vadd_buf};

	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		CK(clReleaseKernel(ks[i]));
	CK(clReleaseProgram(pl->prog));
	CK(clReleaseCommandQueue(pl->qp));
	CK(clReleaseCommandQueue(pl->q));
	CK(clReleaseContext(pl->ctx));
}

static void open_platforms(void)
{
	cl_platform_id fid, pid;

	find_platforms(&fid, &pid);
	open_platform(&P, pid);
	open_platform(&F, fid);
	F.residency = (clGetSVMResidencyFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		fid, "clGetSVMResidencyFERRY");
	F.counters = (clGetSVMCountersFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		fid, "clGetSVMCountersFERRY");
	if (!F.residency || !F.counters)
		bench_fatal("Ferry: cl_ferry_managed_memory entry points missing "
			    "(clGetExtensionFunctionAddressForPlatform)");
	printf("build: the benchmark's program, %.2f s on PoCL, %.2f s on Ferry\n", P.build_s,
	       F.build_s);
}

/* ------------------------------------------------------------- Ferry state */

size_t device_pages(const void *p, size_t size, size_t *npages)
{
	size_t n = 0, dev = 0;
	cl_svm_residency_ferry *r;

	CK(F.residency(F.ctx, p, size, NULL, &n));
	r = bench_xmalloc(n ? n : 1);
	CK(F.residency(F.ctx, p, size, r, &n));
	for (size_t i = 0; i < n; i++)
		dev += r[i] == CL_SVM_RESIDENCY_DEVICE_FERRY;
	free(r);
	if (npages)
		*npages = n;
	return dev;
}

static void expect_on_device(const void *p, size_t size, const char *what)
{
	size_t n, dev = device_pages(p, size, &n);

	if (dev != n || n != (size + PAGE - 1) / PAGE)
		fail("%s: %zu of %zu pages on the device (clGetSVMResidencyFERRY)", what, dev, n);
}

void counters(cl_svm_counters_ferry *c)
{
	memset(c, 0, sizeof(*c));
	CK(F.counters(F.ctx, c));
}

void note_counters(const char *what, const cl_svm_counters_ferry *d)
{
	note("%-22s faults host %5" PRIu64 " device %5" PRIu64 "; pages to device %7" PRIu64
	     " to host %7" PRIu64 " (prefetched %" PRIu64 "); fault_ns %.1f ms, migrate_ns %.1f "
	     "ms; evictions %" PRIu64,
	     what, (uint64_t)d->faults_host, (uint64_t)d->faults_device,
	     (uint64_t)d->pages_to_device, (uint64_t)d->pages_to_host,
	     (uint64_t)d->pages_prefetched, d->fault_ns / 1e6, d->migrate_ns / 1e6,
	     (uint64_t)d->evictions);
}

/* -------------------------------------------- 1. same kernel, resident data */

static void init_saxpy(float *x, float *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		x[i] = (float)(i & 15);
		y[i] = (float)(i % 7);
	}
}

/*
 * y after @launches launches of saxpy8 with a = 0.5: every step adds 0.5 * x,
 * a multiple of 0.5 well below 2^23, so every intermediate is exact.
 */
static size_t saxpy_mismatches(const float *y, size_t n, unsigned launches)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		float e = (float)(i % 7) + (float)(8u * launches) * 0.5f * (float)(i & 15);

		bad += y[i] != e;
	}
	return bad;
}

static uint64_t time_launch(struct plat *pl, cl_kernel k, size_t global, const size_t *local)
{
	uint64_t t0 = now_ns();

	CK(clEnqueueNDRangeKernel(pl->q, k, 1, NULL, &global, local, 0, NULL, NULL));
	CK(clFinish(pl->q));
	return now_ns() - t0;
}

static void bench_resident(void)
{
	const size_t bytes = cfg.resident_bytes, n = bytes / sizeof(float);
	const unsigned reps = cfg.resident_reps;
	const float a = 0.5f;
	uint64_t *tf = bench_xmalloc(reps * sizeof(*tf)), *tp = bench_xmalloc(reps * sizeof(*tp));
	cl_svm_counters_ferry c0, c1, d;
	float *fx, *fy, *px, *py;
	const void *fptrs[2];
	size_t sizes[2] = {bytes, bytes}, bad;
	double gf, gp, r;
	unsigned launches = 0;
	char name[96];

	section("1. same kernel, same data, resident on the device: saxpy8 (y = a*x + y, 8 times "
		"per element)\n   over 2 x %zu MiB floats (12 bytes and 16 flops per element), "
		"best of %u launches (enqueue + clFinish),\n   Ferry on SVM prefetched with "
		"clEnqueueSVMMigrateMem and checked resident, PoCL on SVM",
		bytes / MIB, reps);
	table_header();

	fx = clSVMAlloc(F.ctx, CL_MEM_READ_WRITE, bytes, 0);
	fy = clSVMAlloc(F.ctx, CL_MEM_READ_WRITE, bytes, 0);
	px = clSVMAlloc(P.ctx, CL_MEM_READ_WRITE, bytes, 0);
	py = clSVMAlloc(P.ctx, CL_MEM_READ_WRITE, bytes, 0);
	if (!fx || !fy || !px || !py)
		bench_fatal("clSVMAlloc(%zu MiB) failed", bytes / MIB);

	/* Ferry: the host writes (pages on the host), then everything moves to the device. */
	init_saxpy(fx, fy, n);
	fptrs[0] = fx;
	fptrs[1] = fy;
	CK(clEnqueueSVMMigrateMem(F.q, 2, fptrs, sizes, 0, 0, NULL, NULL));
	CK(clFinish(F.q));
	expect_on_device(fx, bytes, "x after clEnqueueSVMMigrateMem");
	expect_on_device(fy, bytes, "y after clEnqueueSVMMigrateMem");

	/* PoCL: coarse-grained SVM, written under a map. */
	CK(clEnqueueSVMMap(P.q, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, px, bytes, 0, NULL, NULL));
	CK(clEnqueueSVMMap(P.q, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, py, bytes, 0, NULL, NULL));
	init_saxpy(px, py, n);
	CK(clEnqueueSVMUnmap(P.q, px, 0, NULL, NULL));
	CK(clEnqueueSVMUnmap(P.q, py, 0, NULL, NULL));
	CK(clFinish(P.q));

	CK(clSetKernelArgSVMPointer(F.saxpy8, 0, fy));
	CK(clSetKernelArgSVMPointer(F.saxpy8, 1, fx));
	CK(clSetKernelArg(F.saxpy8, 2, sizeof(a), &a));
	CK(clSetKernelArgSVMPointer(P.saxpy8, 0, py));
	CK(clSetKernelArgSVMPointer(P.saxpy8, 1, px));
	CK(clSetKernelArg(P.saxpy8, 2, sizeof(a), &a));

	/* Warm: PoCL compiles the work-group function at the first launch, on both sides. */
	time_launch(&F, F.saxpy8, n, NULL);
	time_launch(&P, P.saxpy8, n, NULL);
	launches++;
	expect_on_device(fx, bytes, "x after the warm-up launch");
	expect_on_device(fy, bytes, "y after the warm-up launch");

	/* Interleaved, so that drift of the machine affects both alike. */
	counters(&c0);
	for (unsigned i = 0; i < reps; i++) {
		tf[i] = time_launch(&F, F.saxpy8, n, NULL);
		tp[i] = time_launch(&P, P.saxpy8, n, NULL);
		launches++;
	}
	counters(&c1);
	d = counters_delta(&c0, &c1);
	expect_on_device(fx, bytes, "x after the timed launches");
	expect_on_device(fy, bytes, "y after the timed launches");

	gf = gbs(12.0 * n, min_u64(tf, reps));
	gp = gbs(12.0 * n, min_u64(tp, reps));
	r = safe_ratio(gf, gp);
	snprintf(name, sizeof(name), "PoCL kernel time, best of %u", reps);
	row(name, min_u64(tp, reps) / 1e6, 2, "ms", 1.0, "PoCL", "-", V_NONE);
	snprintf(name, sizeof(name), "Ferry kernel time, best of %u", reps);
	row(name, min_u64(tf, reps) / 1e6, 2, "ms",
	    safe_ratio(min_u64(tf, reps), min_u64(tp, reps)), "PoCL", "-", V_NONE);
	row("PoCL throughput (best)", gp, 2, "GB/s", 1.0, "PoCL", "-", V_NONE);
	row("Ferry throughput (best)", gf, 2, "GB/s", r, "PoCL", ">= 0.95",
	    at_least(r, TARGET_RESIDENT));
	row("PoCL GFLOP/s (best)", gbs(16.0 * n, min_u64(tp, reps)), 2, "GFLOPS", 1.0, "PoCL", "-",
	    V_NONE);
	row("Ferry GFLOP/s (best)", gbs(16.0 * n, min_u64(tf, reps)), 2, "GFLOPS", r, "PoCL", "-",
	    V_NONE);
	row("Ferry throughput (median)", gbs(12.0 * n, median_u64(tf, reps)), 2, "GB/s",
	    safe_ratio(gbs(12.0 * n, median_u64(tf, reps)), gbs(12.0 * n, median_u64(tp, reps))),
	    "PoCL median", "-", V_NONE);
	note_counters("timed launches:", &d);
	if (d.faults_device || d.faults_host || d.pages_to_device || d.pages_to_host)
		fail("resident data: %" PRIu64 " faults and %" PRIu64
		     " pages moved during the timed launches (expected none)",
		     (uint64_t)(d.faults_device + d.faults_host),
		     (uint64_t)(d.pages_to_device + d.pages_to_host));

	/* Results: Ferry's y comes back to the host on touch. */
	bad = saxpy_mismatches(fy, n, launches);
	if (bad)
		fail("saxpy8 on Ferry: %zu wrong results of %zu", bad, n);
	CK(clEnqueueSVMMap(P.q, CL_TRUE, CL_MAP_READ, py, bytes, 0, NULL, NULL));
	bad = saxpy_mismatches(py, n, launches);
	CK(clEnqueueSVMUnmap(P.q, py, 0, NULL, NULL));
	CK(clFinish(P.q));
	if (bad)
		fail("saxpy8 on PoCL: %zu wrong results of %zu", bad, n);
	note("results checked on the host: %u launches, %zu elements, both platforms", launches, n);

	clSVMFree(F.ctx, fx);
	clSVMFree(F.ctx, fy);
	clSVMFree(P.ctx, px);
	clSVMFree(P.ctx, py);
	free(tf);
	free(tp);
}

/* ---------------------------------------------------- 2. launch latency */

/*
 * Where a launch's time goes, from profiling events (queue with profiling):
 * median of START - QUEUED (waiting for the queue to take it) and of
 * END - START (running it), in microseconds, over @n launches.
 */
static void launch_profile(struct plat *pl, unsigned n, double *queued_us, double *run_us)
{
	const size_t one = 1;
	uint64_t *qd = bench_xmalloc(n * sizeof(*qd)), *rn = bench_xmalloc(n * sizeof(*rn));

	for (unsigned i = 0; i < n; i++) {
		cl_ulong tq = 0, ts = 0, te = 0;
		cl_event e;

		CK(clEnqueueNDRangeKernel(pl->qp, pl->empty, 1, NULL, &one, &one, 0, NULL, &e));
		CK(clWaitForEvents(1, &e));
		CK(clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_QUEUED, sizeof(tq), &tq, NULL));
		CK(clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_START, sizeof(ts), &ts, NULL));
		CK(clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof(te), &te, NULL));
		CK(clReleaseEvent(e));
		qd[i] = ts >= tq ? ts - tq : 0;
		rn[i] = te >= ts ? te - ts : 0;
	}
	qsort(qd, n, sizeof(*qd), cmp_u64);
	qsort(rn, n, sizeof(*rn), cmp_u64);
	*queued_us = pct_us(qd, n, 50);
	*run_us = pct_us(rn, n, 50);
	free(qd);
	free(rn);
}

static void bench_launch(void)
{
	const unsigned L = cfg.launches, block = L >= 10 ? 10 : L, batch = 100;
	const size_t one = 1;
	uint64_t *lf = bench_xmalloc(L * sizeof(*lf)), *lp = bench_xmalloc(L * sizeof(*lp));
	uint64_t bf = UINT64_MAX, bp = UINT64_MAX;
	double mf, mp, df, dp;
	char name[96];

	section("2. launch latency: an empty kernel, one work-item, no arguments; %u launches "
		"each, every one\n   timed from clEnqueueNDRangeKernel to clFinish's return "
		"(blocks of %u, alternating platforms)",
		L, block);
	table_header();
	for (int i = 0; i < 50; i++) {
		time_launch(&F, F.empty, 1, &one);
		time_launch(&P, P.empty, 1, &one);
	}
	for (unsigned b = 0; b < L; b += block) {
		unsigned e = b + block < L ? b + block : L;

		for (unsigned i = b; i < e; i++)
			lf[i] = time_launch(&F, F.empty, 1, &one);
		for (unsigned i = b; i < e; i++)
			lp[i] = time_launch(&P, P.empty, 1, &one);
	}
	/* Throughput of back-to-back launches: @batch enqueued, one clFinish. */
	for (int rep = 0; rep < 5; rep++) {
		struct plat *pls[2] = {&F, &P};

		for (int w = 0; w < 2; w++) {
			uint64_t t0 = now_ns(), t;

			for (unsigned i = 0; i < batch; i++)
				CK(clEnqueueNDRangeKernel(pls[w]->q, pls[w]->empty, 1, NULL, &one,
							  &one, 0, NULL, NULL));
			CK(clFinish(pls[w]->q));
			t = now_ns() - t0;
			if (w == 0 && t < bf)
				bf = t;
			if (w == 1 && t < bp)
				bp = t;
		}
	}
	mf = mean_us(lf, L);
	mp = mean_us(lp, L);
	qsort(lf, L, sizeof(*lf), cmp_u64);
	qsort(lp, L, sizeof(*lp), cmp_u64);
	df = pct_us(lf, L, 50);
	dp = pct_us(lp, L, 50);
	row("PoCL mean", mp, 1, "us", 1.0, "PoCL", "-", V_NONE);
	row("Ferry mean", mf, 1, "us", safe_ratio(mf, mp), "PoCL mean", "<= 2.00",
	    at_most(safe_ratio(mf, mp), TARGET_LAUNCH));
	row("PoCL median", dp, 1, "us", 1.0, "PoCL", "-", V_NONE);
	row("Ferry median", df, 1, "us", safe_ratio(df, dp), "PoCL median", "<= 2.00",
	    at_most(safe_ratio(df, dp), TARGET_LAUNCH));
	row("PoCL min", pct_us(lp, L, 0), 1, "us", 1.0, "PoCL", "-", V_NONE);
	row("Ferry min", pct_us(lf, L, 0), 1, "us", safe_ratio(pct_us(lf, L, 0), pct_us(lp, L, 0)),
	    "PoCL min", "-", V_NONE);
	row("PoCL p99", pct_us(lp, L, 99), 1, "us", 1.0, "PoCL", "-", V_NONE);
	row("Ferry p99", pct_us(lf, L, 99), 1, "us",
	    safe_ratio(pct_us(lf, L, 99), pct_us(lp, L, 99)), "PoCL p99", "-", V_NONE);
	snprintf(name, sizeof(name), "PoCL, %u back-to-back, per launch", batch);
	row(name, bp / 1e3 / batch, 1, "us", 1.0, "PoCL", "-", V_NONE);
	snprintf(name, sizeof(name), "Ferry, %u back-to-back, per launch", batch);
	row(name, bf / 1e3 / batch, 1, "us", safe_ratio((double)bf, (double)bp), "PoCL", "-",
	    V_NONE);
	{
		double fq, fr, pq, pr;
		unsigned m = L < 500 ? L : 500;

		launch_profile(&F, m, &fq, &fr);
		launch_profile(&P, m, &pq, &pr);
		note("profiling events, median of %u launches (clWaitForEvents on each): "
		     "queued->start %.1f us Ferry, %.1f us PoCL; start->end %.1f us Ferry, %.1f us "
		     "PoCL",
		     m, fq, pq, fr, pr);
	}
	free(lf);
	free(lp);
}

/* -------------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ferry-bench-opencl [--quick] [--size MiB] [--reps N] [--launches N] "
		"[--timeout SEC] [--test NAME]...\n"
		"  --quick         smoke test: 8 MiB arrays, 200 launches, 3 repetitions\n"
		"  --size MiB      per array in tests 1 and 3 (default 64)\n"
		"  --reps N        repetitions of tests 1 and 3 (default 20 and 7; test 3 "
		"uses half)\n"
		"  --launches N    empty-kernel launches per platform (default 2000)\n"
		"  --timeout SEC   abort when the whole run takes longer (default 300, 0 = none)\n"
		"  --test NAME     run only this test (repeatable): resident, launch, vecadd\n"
		"environment: FERRY_BENCH_ICD = Ferry's ICD file (default: <build>/ferry.icd, "
		"next to bench/)\n");
}

int main(int argc, char **argv)
{
	uint64_t t0 = now_ns();
	long size_mib = -1, reps = -1, launches = -1, timeout = 300;
	const struct bench_opt opts[] = {
		{"--quick", .flag = &cfg.quick},
		{"--size", .num = &size_mib},
		{"--reps", .num = &reps},
		{"--launches", .num = &launches},
		{"--timeout", .num = &timeout},
		{"--test", .tests = &cfg.tests, .names = test_names, .nnames = 3},
		{NULL},
	};
	const char *ferry_icd;
	int st;

	bench_prog = "ferry-bench-opencl";
	bench_table = (struct bench_table){46, 6, 16, 8, 3, 0};
	st = bench_parse_args(argc, argv, opts, usage);
	if (st >= 0)
		return st;
	cfg.timeout = (unsigned)timeout;
	cfg.resident_bytes = cfg.vecadd_bytes = (cfg.quick ? 8 : 64) * MIB;
	cfg.resident_reps = cfg.quick ? 3 : 20;
	cfg.vecadd_reps = cfg.quick ? 3 : 7;
	cfg.launches = cfg.quick ? 200 : 2000;
	if (size_mib >= 0) {
		if (size_mib < 1 || size_mib > 4096) {
			fprintf(stderr,
				"ferry-bench-opencl: error: --size must be 1 to 4096 (MiB)\n");
			return 1;
		}
		cfg.resident_bytes = cfg.vecadd_bytes = (size_t)size_mib * MIB;
	}
	if (!bench_at_least_one("--reps", reps) || !bench_at_least_one("--launches", launches))
		return 1;
	if (reps >= 0) {
		cfg.resident_reps = (unsigned)reps;
		cfg.vecadd_reps = reps > 1 ? (unsigned)reps / 2 : 1;
	}
	if (launches >= 0)
		cfg.launches = (unsigned)launches;
	if (!cfg.tests)
		cfg.tests = TEST_ALL;
	bench_timeout(cfg.timeout, "the runtime hung?", icd_cleanup);
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("ferry-bench-opencl: %zu MiB arrays%s, %ld CPUs online, load average %.2f before "
	       "the run\n",
	       cfg.resident_bytes / MIB, cfg.quick ? " (--quick)" : "",
	       sysconf(_SC_NPROCESSORS_ONLN), load_average());
	ferry_icd = setup_vendors(); /* before any OpenCL call */
	printf("vendors: %s (copies of %s and %s)\n", bench_icd_dir, ferry_icd, POCL_ICD);
	open_platforms();

	if (cfg.tests & TEST_RESIDENT)
		bench_resident();
	if (cfg.tests & TEST_LAUNCH)
		bench_launch();
	if (cfg.tests & TEST_VECADD)
		bench_vecadd(cfg.vecadd_bytes, cfg.vecadd_reps);

	close_platform(&F);
	close_platform(&P);
	printf("\ntargets: %d PASS, %d MISS; load average %.2f; total time %.1f s\n", bench_pass,
	       bench_miss, load_average(), (now_ns() - t0) / 1e9);
	return bench_status();
}
