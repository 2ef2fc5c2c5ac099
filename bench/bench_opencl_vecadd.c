/* SPDX-License-Identifier: MIT */
/*
 * bench_opencl_vecadd.c - ferry-bench-opencl's test 3: a vector add over
 * data the host just wrote, end to end (from the host writes being done to
 * the result readable on the host), on Ferry with first-touch faults, with
 * a prefetch (also: c migrated back explicitly, and c sent
 * CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED), and with explicit buffer copies
 * (the baseline), plus PoCL's explicit copies for reference; a breakdown
 * from profiling events and Ferry's migration counters for each.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_opencl.h"

#define TARGET_PREFETCH 1.05 /* prefetch end to end / explicit copies end to end */

enum {
	VA_FIRST, /* (a) SVM, first-touch faults */
	VA_PREF,  /* (b) SVM, a, b, c migrated to the device first */
	VA_BACK,  /* (b2) SVM, a, b, c migrated to the device, c migrated back */
	VA_UNDEF, /* (b3) as b2, but c goes to the device CONTENT_UNDEFINED */
	VA_COPY,  /* (c) Ferry buffers, write / kernel / read */
	VA_POCL,  /* PoCL buffers, write / kernel / read (reference) */
	VA_N
};

static const char *const va_names[VA_N] = {
	"(a) SVM, first-touch faults",
	"(b) SVM, prefetch a,b,c",
	"(b2) SVM, prefetch a,b,c, migrate c back",
	"(b3) as b2, c CONTENT_UNDEFINED",
	"(c) Ferry buffers, write/kernel/read",
	"PoCL buffers, write/kernel/read",
};

static const char *const va_short[VA_N] = {
	"(a) first touch:",  "(b) prefetch:",	   "(b2) prefetch, c back:",
	"(b3) c undefined:", "(c) buffer copies:", ""};

/* Steps whose device-side time the profiling events give. */
enum { ST_DISCARD, ST_TO_DEV, ST_WRITE, ST_KERNEL, ST_BACK, ST_N };

struct va_rep {
	uint64_t write_ns; /* the host writes (not in the end-to-end time) */
	uint64_t e2e_ns;   /* host writes done -> result readable on the host */
	uint64_t touch_ns; /* the host touching c (SVM) */
	uint64_t step_ns[ST_N];
	cl_svm_counters_ferry cw; /* during the host writes */
	cl_svm_counters_ferry ct; /* during the timed part */
};

static float va_a(size_t i, unsigned s)
{
	return (float)((i + s) & 1023);
}

static float va_b(size_t i, unsigned s)
{
	return (float)(((i >> 3) + 2 * s) & 4095);
}

static void va_write(float *a, float *b, size_t n, unsigned s)
{
	for (size_t i = 0; i < n; i++) {
		a[i] = va_a(i, s);
		b[i] = va_b(i, s);
	}
}

static size_t va_mismatches(const float *c, size_t n, unsigned s)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		bad += c[i] != va_a(i, s) + va_b(i, s);
	return bad;
}

/* The host touches every page of c once (brings it over), no more. */
static uint64_t touch_pages(const float *c, size_t bytes)
{
	const volatile char *p = (const volatile char *)c;
	uint64_t sum = 0;

	for (size_t o = 0; o < bytes; o += PAGE)
		sum += (uint64_t)p[o];
	return sum;
}

static uint64_t event_ns(cl_event e)
{
	cl_ulong s = 0, t = 0;

	if (!e)
		return 0;
	CK(clWaitForEvents(1, &e));
	CK(clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_START, sizeof(s), &s, NULL));
	CK(clGetEventProfilingInfo(e, CL_PROFILING_COMMAND_END, sizeof(t), &t, NULL));
	CK(clReleaseEvent(e));
	return t >= s ? t - s : 0;
}

struct va_data {
	size_t n, bytes;
	float *sa, *sb, *sc; /* Ferry SVM */
	cl_mem fa, fb, fc;   /* Ferry buffers */
	cl_mem pa, pb, pc;   /* PoCL buffers */
	float *ha, *hb, *hc; /* malloc'd host arrays for the buffer variants */
	volatile uint64_t sink;
};

/*
 * The timed part of an SVM variant after the host writes: the migrations the
 * variant asks for around the kernel, the wait, then the host touches c.
 * Returns the time the queue was done.
 */
static uint64_t va_svm(struct va_data *v, int var, cl_event *ev)
{
	const size_t n = v->n, bytes = v->bytes;
	const void *ptrs[3] = {v->sa, v->sb, v->sc}, *pc = v->sc;
	size_t sizes[3] = {bytes, bytes, bytes};
	cl_command_queue q = F.qp;
	uint64_t t1;

	if (var == VA_UNDEF)
		CK(clEnqueueSVMMigrateMem(q, 1, &pc, &bytes,
					  CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED, 0, NULL,
					  &ev[ST_DISCARD]));
	if (var != VA_FIRST) /* a and b (and c unless undefined) to the device */
		CK(clEnqueueSVMMigrateMem(q, var == VA_UNDEF ? 2 : 3, ptrs, sizes, 0, 0, NULL,
					  &ev[ST_TO_DEV]));
	CK(clEnqueueNDRangeKernel(q, F.vadd_svm, 1, NULL, &n, NULL, 0, NULL, &ev[ST_KERNEL]));
	if (var == VA_BACK || var == VA_UNDEF)
		CK(clEnqueueSVMMigrateMem(q, 1, &pc, &bytes, CL_MIGRATE_MEM_OBJECT_HOST, 0, NULL,
					  &ev[ST_BACK]));
	CK(clFinish(q));
	t1 = now_ns();
	v->sink += touch_pages(v->sc, bytes);
	return t1;
}

/* The timed part of a buffer variant (Ferry's or PoCL's): write a and b, kernel, read c. */
static uint64_t va_buffers(struct va_data *v, int var, struct plat *pl, cl_event *ev,
			   struct va_rep *out)
{
	const size_t n = v->n, bytes = v->bytes;
	cl_command_queue q = pl->qp;
	cl_mem a = var == VA_COPY ? v->fa : v->pa, b = var == VA_COPY ? v->fb : v->pb;
	cl_mem c = var == VA_COPY ? v->fc : v->pc;
	cl_event w2 = NULL;
	uint64_t t1;

	CK(clEnqueueWriteBuffer(q, a, CL_FALSE, 0, bytes, v->ha, 0, NULL, &ev[ST_WRITE]));
	CK(clEnqueueWriteBuffer(q, b, CL_FALSE, 0, bytes, v->hb, 0, NULL, &w2));
	CK(clEnqueueNDRangeKernel(q, pl->vadd_buf, 1, NULL, &n, NULL, 0, NULL, &ev[ST_KERNEL]));
	CK(clEnqueueReadBuffer(q, c, CL_TRUE, 0, bytes, v->hc, 0, NULL, &ev[ST_BACK]));
	t1 = now_ns();
	out->step_ns[ST_WRITE] = event_ns(w2);
	return t1;
}

static void va_run(struct va_data *v, int var, unsigned seed, struct va_rep *out)
{
	const size_t n = v->n, bytes = v->bytes;
	struct plat *pl = var == VA_POCL ? &P : &F;
	cl_event ev[ST_N] = {NULL, NULL, NULL, NULL, NULL};
	cl_svm_counters_ferry cb, c0, c1;
	uint64_t t0, t1, tw;
	size_t bad;

	memset(out, 0, sizeof(*out));
	counters(&cb);
	tw = now_ns();
	if (var == VA_COPY || var == VA_POCL)
		va_write(v->ha, v->hb, n, seed);
	else
		va_write(v->sa, v->sb, n, seed);
	t0 = now_ns();
	out->write_ns = t0 - tw;
	counters(&c0);
	t0 = now_ns();

	if (var == VA_COPY || var == VA_POCL)
		t1 = va_buffers(v, var, pl, ev, out);
	else
		t1 = va_svm(v, var, ev);
	out->e2e_ns = now_ns() - t0;
	out->touch_ns = out->e2e_ns - (t1 - t0);
	counters(&c1);
	out->cw = counters_delta(&cb, &c0);
	out->ct = counters_delta(&c0, &c1);
	for (int s = 0; s < ST_N; s++)
		out->step_ns[s] += event_ns(ev[s]);

	bad = va_mismatches(var == VA_COPY || var == VA_POCL ? v->hc : v->sc, n, seed);
	if (bad)
		fail("vector add, %s: %zu wrong results of %zu", va_names[var], bad, n);
	if (var != VA_COPY && var != VA_POCL) {
		size_t np, dev = device_pages(v->sc, bytes, &np);

		if (dev)
			fail("vector add, %s: %zu of %zu pages of c still on the device after "
			     "the host touched them",
			     va_names[var], dev, np);
	}
	if ((var == VA_PREF || var == VA_BACK || var == VA_UNDEF) && out->ct.faults_device)
		fail("vector add, %s: %" PRIu64 " device faults after the prefetch", va_names[var],
		     (uint64_t)out->ct.faults_device);
}

/* Ferry's SVM arrays and buffers, PoCL's buffers, the host arrays; the kernels' arguments. */
static void va_setup(struct va_data *v, size_t bytes)
{
	cl_int err;

	memset(v, 0, sizeof(*v));
	v->bytes = bytes;
	v->n = bytes / sizeof(float);
	v->sa = clSVMAlloc(F.ctx, CL_MEM_READ_WRITE, bytes, 0);
	v->sb = clSVMAlloc(F.ctx, CL_MEM_READ_WRITE, bytes, 0);
	v->sc = clSVMAlloc(F.ctx, CL_MEM_READ_WRITE, bytes, 0);
	if (!v->sa || !v->sb || !v->sc)
		bench_fatal("Ferry: clSVMAlloc(%zu MiB) failed", bytes / MIB);
#define MKBUF(pl, m, flags)                                                                        \
	do {                                                                                       \
		m = clCreateBuffer(pl.ctx, flags, bytes, NULL, &err);                              \
		if (!m)                                                                            \
			bench_fatal("%s: clCreateBuffer(%zu MiB) = %d (%s)", pl.label,             \
				    bytes / MIB, err, cl_err_name(err));                           \
	} while (0)
	MKBUF(F, v->fa, CL_MEM_READ_ONLY);
	MKBUF(F, v->fb, CL_MEM_READ_ONLY);
	MKBUF(F, v->fc, CL_MEM_WRITE_ONLY);
	MKBUF(P, v->pa, CL_MEM_READ_ONLY);
	MKBUF(P, v->pb, CL_MEM_READ_ONLY);
	MKBUF(P, v->pc, CL_MEM_WRITE_ONLY);
#undef MKBUF
	v->ha = bench_xmalloc(bytes);
	v->hb = bench_xmalloc(bytes);
	v->hc = bench_xmalloc(bytes);
	memset(v->ha, 0, bytes); /* pre-fault the host arrays */
	memset(v->hb, 0, bytes);
	memset(v->hc, 0, bytes);

	CK(clSetKernelArgSVMPointer(F.vadd_svm, 0, v->sa));
	CK(clSetKernelArgSVMPointer(F.vadd_svm, 1, v->sb));
	CK(clSetKernelArgSVMPointer(F.vadd_svm, 2, v->sc));
	CK(clSetKernelArg(F.vadd_buf, 0, sizeof(cl_mem), &v->fa));
	CK(clSetKernelArg(F.vadd_buf, 1, sizeof(cl_mem), &v->fb));
	CK(clSetKernelArg(F.vadd_buf, 2, sizeof(cl_mem), &v->fc));
	CK(clSetKernelArg(P.vadd_buf, 0, sizeof(cl_mem), &v->pa));
	CK(clSetKernelArg(P.vadd_buf, 1, sizeof(cl_mem), &v->pb));
	CK(clSetKernelArg(P.vadd_buf, 2, sizeof(cl_mem), &v->pc));
}

static void va_free(struct va_data *v)
{
	clSVMFree(F.ctx, v->sa);
	clSVMFree(F.ctx, v->sb);
	clSVMFree(F.ctx, v->sc);
	CK(clReleaseMemObject(v->fa));
	CK(clReleaseMemObject(v->fb));
	CK(clReleaseMemObject(v->fc));
	CK(clReleaseMemObject(v->pa));
	CK(clReleaseMemObject(v->pb));
	CK(clReleaseMemObject(v->pc));
	free(v->ha);
	free(v->hb);
	free(v->hc);
}

/*
 * Of the timed rounds 1..@reps in @r, per variant: the fastest run end to end
 * (@best, its time in @e2e) and the fastest with the host writes included (@incl).
 */
static void va_best(const struct va_rep *r, unsigned reps, struct va_rep *best, uint64_t *e2e,
		    uint64_t *incl)
{
	for (int var = 0; var < VA_N; var++) {
		unsigned k = 1;

		incl[var] = UINT64_MAX;
		for (unsigned rep = 1; rep <= reps; rep++) {
			const struct va_rep *x = &r[rep * VA_N + var];

			if (x->e2e_ns < r[k * VA_N + var].e2e_ns)
				k = rep;
			if (x->e2e_ns + x->write_ns < incl[var])
				incl[var] = x->e2e_ns + x->write_ns;
		}
		best[var] = r[k * VA_N + var];
		e2e[var] = best[var].e2e_ns;
	}
}

static void va_report(const struct va_rep *best, const uint64_t *e2e, const uint64_t *incl,
		      unsigned reps)
{
	for (int var = 0; var < VA_N; var++) {
		double ratio = safe_ratio((double)e2e[var], (double)e2e[VA_COPY]);

		if (var == VA_PREF)
			row(va_names[var], e2e[var] / 1e6, 2, "ms", ratio, "(c) copies", "<= 1.05",
			    at_most(ratio, TARGET_PREFETCH));
		else if (var == VA_COPY)
			row(va_names[var], e2e[var] / 1e6, 2, "ms",
			    safe_ratio((double)e2e[var], (double)e2e[VA_POCL]), "PoCL copies", "-",
			    V_NONE);
		else
			row(va_names[var], e2e[var] / 1e6, 2, "ms", ratio, "(c) copies", "-",
			    V_NONE);
	}
	note("end to end including the host writes (best of %u each; on SVM the writes fault a "
	     "and b back from the device):",
	     reps);
	for (int var = 0; var < VA_N; var++)
		note("  %-42s %8.2f ms  (%.3f x (c); writes in the best run %.2f ms)",
		     va_names[var], incl[var] / 1e6,
		     safe_ratio((double)incl[var], (double)incl[VA_COPY]),
		     best[var].write_ns / 1e6);
	note("breakdown of the best runs (device-side times from profiling events; 'host touch' "
	     "is the host reading one word per page of c after clFinish):");
	for (int var = 0; var < VA_N; var++) {
		const struct va_rep *b = &best[var];

		note("  %-42s c undefined %6.2f ms, to device/write %6.2f ms, kernel %6.2f ms, "
		     "back %6.2f ms, host touch %6.2f ms",
		     va_names[var], b->step_ns[ST_DISCARD] / 1e6,
		     (b->step_ns[ST_TO_DEV] + b->step_ns[ST_WRITE]) / 1e6,
		     b->step_ns[ST_KERNEL] / 1e6, b->step_ns[ST_BACK] / 1e6, b->touch_ns / 1e6);
	}
	note("Ferry counters of the best runs, timed part (and the host writes before it):");
	for (int var = 0; var < VA_POCL; var++) {
		note_counters(va_short[var], &best[var].ct);
		note_counters("   host writes:", &best[var].cw);
	}
	note("results checked on the host in every run (%u runs of each variant, warm-up "
	     "included)",
	     reps + 1);
}

void bench_vecadd(size_t bytes, unsigned reps)
{
	struct va_data v;
	struct va_rep *r = bench_xmalloc((size_t)VA_N * (reps + 1) * sizeof(*r)), best[VA_N];
	uint64_t e2e[VA_N], incl[VA_N];
	unsigned seed = 1;

	section("3. vector add c = a + b over 3 x %zu MiB floats the host just wrote, end to end: "
		"from the host writes\n   being done to c readable on the host (SVM: the host "
		"touches every page of c; buffers:\n   clEnqueueReadBuffer into a malloc'd "
		"array); warm, best of %u, variants interleaved;\n   (c) is the baseline: "
		"host arrays copied into Ferry buffers and back",
		bytes / MIB, reps);
	table_header();
	va_setup(&v, bytes);

	/* Round 0 warms every variant (kernels compiled and run once); rounds 1.. are timed. */
	for (unsigned rep = 0; rep <= reps; rep++)
		for (int var = 0; var < VA_N; var++)
			va_run(&v, var, seed++, &r[rep * VA_N + var]);
	va_best(r, reps, best, e2e, incl);
	va_report(best, e2e, incl, reps);
	va_free(&v);
	free(r);
}
