/* SPDX-License-Identifier: MIT */
/*
 * bench_suite.c - ferry-bench-suite: GPU-compute workloads on Ferry's
 * managed memory, four ways each, against PoCL in the same run.
 *
 * Workloads (suite_workloads.c, kernels in kernels/<name>.cl embedded at build
 * time): stream triad, SAXPY, dense matrix multiply, 2-D Jacobi stencil,
 * breadth-first search on a CSR graph, a sum reduction and pointer chasing
 * over lists the host built in SVM memory.
 *
 * Variants, each on Ferry:
 *   explicit  cl_mem buffers, clEnqueueWriteBuffer before, clEnqueueReadBuffer
 *             after (pointer chasing: an SVM allocation filled and read with
 *             clEnqueueSVMMemcpy, since its nodes hold SVM pointers);
 *   fault     coarse-grained SVM, the host writes it, the kernels run, the
 *             host reads the results: pages move on first touch;
 *   prefetch  the same plus clEnqueueSVMMigrateMem of every buffer to the
 *             device before the kernels and of the results to the host after;
 *   advice    the same as fault plus clEnqueueSVMAdviseMemFERRY hints per
 *             buffer (set after allocation, before the host writes), no
 *             explicit migration;
 * and the baseline "pocl": the explicit variant on PoCL's own platform in
 * this process.
 *
 * Sizes: the device capacity is set with FERRY_DEVICE_MEMORY before the
 * first OpenCL call (256 MiB, 32 MiB with --quick) and read back as
 * CL_DEVICE_GLOBAL_MEM_SIZE; every workload runs at working sets of 0.5x
 * (fits), 1.5x and 2x that. FERRY_MAX_ALLOC_SIZE (64G unless set) lets one
 * allocation exceed the device memory.
 *
 * Timing: from the moment the host's input data are in host memory (host
 * initialisation, allocation and advice excluded) to the moment the results
 * are in a plain host array: copies, migrations, faults, launches, waits and
 * the host's read of the results are in. Migration counters
 * (clGetSVMCountersFERRY) are deltas over the same interval.
 *
 * Every run's results are checked against a host computation; any mismatch
 * or OpenCL error makes the exit status 1. Timings are never judged.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cl.h"
#include "suite.h"

#define MAX_SIZES 8

const char *const suite_var_names[VAR_N] = {"pocl", "explicit", "fault", "prefetch", "advice"};

static struct {
	int quick;
	size_t capacity; /* asked for */
	unsigned reps;
	unsigned timeout;
	double sizes[MAX_SIZES];
	int nsizes;
	unsigned wl_mask;  /* selected workloads */
	unsigned var_mask; /* selected variants */
	const char *json;
	int verbose;
} cfg;

static struct result *g_res;
static size_t g_nres, g_capres;
static size_t g_device_mem; /* CL_DEVICE_GLOBAL_MEM_SIZE of Ferry's device */
static size_t g_block;	    /* CL_DEVICE_SVM_MIGRATION_BLOCK_FERRY */
static struct plat F = {.label = "Ferry", .is_ferry = 1}, P = {.label = "PoCL"};
static cl_kernel g_kern[2][16][SUITE_MAX_KERNELS]; /* [ferry?][workload][kernel] */
static char g_pocl_version[256], g_ferry_version[256], g_pocl_device[256], g_ferry_device[256];

/* --------------------------------------------------------------- platforms */

static void build_programs(struct plat *pl)
{
	for (int w = 0; w < suite_nworkloads; w++) {
		const struct workload *wl = suite_workloads[w];

		if (!(cfg.wl_mask & (1u << w)))
			continue;
		pl->prog[w] = build_program(pl->label, wl->name, pl->ctx, pl->device, wl->source,
					    "-cl-std=CL1.2");
		for (int k = 0; k < SUITE_MAX_KERNELS && wl->kernels[k]; k++)
			g_kern[pl->is_ferry][w][k] =
				make_kernel(pl->label, pl->prog[w], wl->kernels[k]);
	}
}

static void open_platform(struct plat *pl, cl_platform_id id, char *version, char *dname)
{
	cl_device_svm_capabilities svm = 0;

	pl->platform = id;
	CK(clGetDeviceIDs(id, CL_DEVICE_TYPE_ALL, 1, &pl->device, NULL));
	CK(clGetPlatformInfo(id, CL_PLATFORM_VERSION, 256, version, NULL));
	CK(clGetDeviceInfo(pl->device, CL_DEVICE_NAME, 256, dname, NULL));
	CK(clGetDeviceInfo(pl->device, CL_DEVICE_SVM_CAPABILITIES, sizeof(svm), &svm, NULL));
	open_context(pl->label, pl->device, svm, &pl->ctx, &pl->q);
}

static void open_platforms(void)
{
	cl_platform_id fid, pid;
	cl_ulong gmem = 0;
	size_t block = 0;
	uint64_t t0;

	find_platforms(&fid, &pid);
	open_platform(&P, pid, g_pocl_version, g_pocl_device);
	open_platform(&F, fid, g_ferry_version, g_ferry_device);
	F.advise = (clEnqueueSVMAdviseMemFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		fid, "clEnqueueSVMAdviseMemFERRY");
	F.counters = (clGetSVMCountersFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		fid, "clGetSVMCountersFERRY");
	if (!F.advise || !F.counters)
		bench_fatal("Ferry: cl_ferry_managed_memory entry points missing "
			    "(clGetExtensionFunctionAddressForPlatform)");
	CK(clGetDeviceInfo(F.device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(gmem), &gmem, NULL));
	CK(clGetDeviceInfo(F.device, CL_DEVICE_SVM_MIGRATION_BLOCK_FERRY, sizeof(block), &block,
			   NULL));
	g_device_mem = (size_t)gmem;
	g_block = block;
	printf("PoCL : %s, device \"%s\"\n", g_pocl_version, g_pocl_device);
	printf("Ferry: %s, device \"%s\", CL_DEVICE_GLOBAL_MEM_SIZE %zu MiB (asked %zu MiB), "
	       "migration block %zu KiB\n",
	       g_ferry_version, g_ferry_device, g_device_mem / MIB, cfg.capacity / MIB,
	       g_block / 1024);
	if (g_device_mem != cfg.capacity)
		fprintf(stderr,
			"ferry-bench-suite: warning: device memory is %zu bytes, asked for %zu "
			"(FERRY_DEVICE_MEMORY); sizes follow the device\n",
			g_device_mem, cfg.capacity);
	t0 = now_ns();
	build_programs(&P);
	build_programs(&F);
	printf("programs built in %.2f s (both platforms)\n", (now_ns() - t0) / 1e9);
}

static void close_platform(struct plat *pl)
{
	for (int w = 0; w < suite_nworkloads; w++) {
		for (int k = 0; k < SUITE_MAX_KERNELS; k++)
			if (g_kern[pl->is_ferry][w][k])
				CK(clReleaseKernel(g_kern[pl->is_ferry][w][k]));
		if (pl->prog[w])
			CK(clReleaseProgram(pl->prog[w]));
	}
	CK(clReleaseCommandQueue(pl->q));
	CK(clReleaseContext(pl->ctx));
}

/* ------------------------------------------------- helpers for workloads */

static int explicit_like(enum variant v)
{
	return v == VAR_POCL || v == VAR_EXPLICIT;
}

void suite_arg_buf(struct run *r, int k, cl_uint idx, int b)
{
	if (r->mem[b])
		CK(clSetKernelArg(r->k[k], idx, sizeof(cl_mem), &r->mem[b]));
	else
		CK(clSetKernelArgSVMPointer(r->k[k], idx, r->svm[b]));
}

void suite_arg(struct run *r, int k, cl_uint idx, size_t size, const void *value)
{
	CK(clSetKernelArg(r->k[k], idx, size, value));
}

void suite_launch(struct run *r, int k, cl_uint dims, const size_t *global, const size_t *local)
{
	size_t g[3];

	for (cl_uint d = 0; d < dims; d++)
		g[d] = round_up(global[d], local[d]);
	CK(clEnqueueNDRangeKernel(r->pl->q, r->k[k], dims, NULL, g, local, 0, NULL, NULL));
}

void suite_finish(struct run *r)
{
	CK(clFinish(r->pl->q));
}

void suite_write_small(struct run *r, int b, const void *src, size_t bytes)
{
	if (r->mem[b]) {
		CK(clEnqueueWriteBuffer(r->pl->q, r->mem[b], CL_TRUE, 0, bytes, src, 0, NULL,
					NULL));
	} else if (explicit_like(r->var)) {
		CK(clEnqueueSVMMemcpy(r->pl->q, CL_TRUE, r->svm[b], src, bytes, 0, NULL, NULL));
	} else {
		CK(clFinish(r->pl->q));
		memcpy(r->svm[b], src, bytes);
	}
}

void suite_read_small(struct run *r, int b, void *dst, size_t bytes)
{
	if (r->mem[b]) {
		CK(clEnqueueReadBuffer(r->pl->q, r->mem[b], CL_TRUE, 0, bytes, dst, 0, NULL, NULL));
	} else if (explicit_like(r->var)) {
		CK(clEnqueueSVMMemcpy(r->pl->q, CL_TRUE, dst, r->svm[b], bytes, 0, NULL, NULL));
	} else {
		CK(clFinish(r->pl->q));
		memcpy(dst, r->svm[b], bytes);
	}
}

/* ------------------------------------------------------------------ a run */

static void counters(cl_svm_counters_ferry *c)
{
	memset(c, 0, sizeof(*c));
	CK(F.counters(F.ctx, c));
}

static void advise(struct run *r, int b, cl_svm_advice_ferry a, int device)
{
	CK(F.advise(F.q, r->svm[b], r->wi->b[b].bytes, a, device ? F.device : NULL, 0, NULL, NULL));
}

static void apply_advice(struct run *r, int set)
{
	for (int b = 0; b < r->wi->nbufs; b++) {
		unsigned adv = r->over ? r->wi->b[b].adv_over : r->wi->b[b].adv_fit;

		if (adv & ADV_READ_MOSTLY)
			advise(r, b,
			       set ? CL_SVM_ADVICE_SET_READ_MOSTLY_FERRY
				   : CL_SVM_ADVICE_UNSET_READ_MOSTLY_FERRY,
			       0);
		if (adv & (ADV_PREF_DEVICE | ADV_PREF_HOST))
			advise(r, b,
			       set ? CL_SVM_ADVICE_SET_PREFERRED_LOCATION_FERRY
				   : CL_SVM_ADVICE_UNSET_PREFERRED_LOCATION_FERRY,
			       !!(adv & ADV_PREF_DEVICE));
		if (adv & ADV_ACCESSED_BY_DEVICE)
			advise(r, b,
			       set ? CL_SVM_ADVICE_SET_ACCESSED_BY_FERRY
				   : CL_SVM_ADVICE_UNSET_ACCESSED_BY_FERRY,
			       1);
	}
	CK(clFinish(F.q));
}

static int has_init(enum role r)
{
	return r == ROLE_IN || r == ROLE_INOUT;
}

static int has_result(enum role r)
{
	return r == ROLE_OUT || r == ROLE_INOUT;
}

/* The buffers of @r allocated (cl_mem or SVM), advised and initialised by the host: not timed. */
static void run_alloc(struct run *r, void **staging)
{
	const struct wl_inst *wi = r->wi;
	struct plat *pl = r->pl;
	cl_int err;

	for (int b = 0; b < wi->nbufs; b++) {
		const struct bspec *s = &wi->b[b];

		if (explicit_like(r->var) && !s->svm_explicit) {
			r->mem[b] =
				clCreateBuffer(pl->ctx, CL_MEM_READ_WRITE, s->bytes, NULL, &err);
			if (!r->mem[b])
				bench_fatal("%s: clCreateBuffer(%s, %zu bytes) = %d (%s)",
					    pl->label, s->name, s->bytes, err, cl_err_name(err));
			continue;
		}
		r->svm[b] = clSVMAlloc(pl->ctx, CL_MEM_READ_WRITE, s->bytes, 0);
		if (!r->svm[b])
			bench_fatal("%s: clSVMAlloc(%s, %zu bytes) failed", pl->label, s->name,
				    s->bytes);
		if (explicit_like(r->var) && has_init(s->role)) {
			/* built by the host with the device-side addresses, then copied */
			staging[b] = bench_xmalloc(s->bytes);
			wi->w->relocate(wi, b, staging[b], (uintptr_t)r->svm[b]);
		}
	}
	if (r->var == VAR_ADVICE)
		apply_advice(r, 1);
	if (!explicit_like(r->var))
		for (int b = 0; b < wi->nbufs; b++) {
			const struct bspec *s = &wi->b[b];

			if (!has_init(s->role))
				continue;
			if (s->svm_explicit)
				wi->w->relocate(wi, b, r->svm[b], (uintptr_t)r->svm[b]);
			else
				memcpy(r->svm[b], s->init, s->bytes);
		}
	for (int b = 0; b < wi->nbufs; b++)
		if (has_result(wi->b[b].role))
			memset(wi->b[b].result, 0xff, wi->b[b].bytes); /* no stale results */
}

/* Timed: the inputs to the device (copies, or a prefetch of every buffer). */
static void run_inputs(struct run *r, void *const *staging)
{
	const struct wl_inst *wi = r->wi;
	cl_command_queue q = r->pl->q;
	const void *ptrs[SUITE_MAX_BUFS];
	size_t sizes[SUITE_MAX_BUFS];

	for (int b = 0; b < wi->nbufs; b++) {
		const struct bspec *s = &wi->b[b];

		if (r->var == VAR_PREFETCH) {
			ptrs[b] = r->svm[b];
			sizes[b] = s->bytes;
		}
		if (!explicit_like(r->var) || !has_init(s->role))
			continue;
		if (r->mem[b])
			CK(clEnqueueWriteBuffer(q, r->mem[b], CL_FALSE, 0, s->bytes, s->init, 0,
						NULL, NULL));
		else
			CK(clEnqueueSVMMemcpy(q, CL_FALSE, r->svm[b], staging[b], s->bytes, 0, NULL,
					      NULL));
	}
	if (r->var == VAR_PREFETCH)
		CK(clEnqueueSVMMigrateMem(q, (cl_uint)wi->nbufs, ptrs, sizes, 0, 0, NULL, NULL));
}

/* Timed: the results into the host's arrays (a prefetch back first, for that variant). */
static void run_results(struct run *r)
{
	const struct wl_inst *wi = r->wi;
	cl_command_queue q = r->pl->q;
	const void *ptrs[SUITE_MAX_BUFS];
	size_t sizes[SUITE_MAX_BUFS];
	unsigned nout = 0;

	if (r->var == VAR_PREFETCH) {
		for (int b = 0; b < wi->nbufs; b++)
			if (has_result(wi->b[b].role)) {
				ptrs[nout] = r->svm[b];
				sizes[nout++] = wi->b[b].bytes;
			}
		if (nout)
			CK(clEnqueueSVMMigrateMem(q, nout, ptrs, sizes, CL_MIGRATE_MEM_OBJECT_HOST,
						  0, NULL, NULL));
		CK(clFinish(q));
	}
	for (int b = 0; b < wi->nbufs; b++) {
		const struct bspec *s = &wi->b[b];

		if (!has_result(s->role))
			continue;
		if (r->mem[b])
			CK(clEnqueueReadBuffer(q, r->mem[b], CL_TRUE, 0, s->bytes, s->result, 0,
					       NULL, NULL));
		else if (explicit_like(r->var))
			CK(clEnqueueSVMMemcpy(q, CL_TRUE, s->result, r->svm[b], s->bytes, 0, NULL,
					      NULL));
		else
			memcpy(s->result, r->svm[b], s->bytes);
	}
}

static void run_free(struct run *r, void **staging)
{
	if (r->var == VAR_ADVICE)
		apply_advice(r, 0);
	for (int b = 0; b < r->wi->nbufs; b++) {
		if (r->mem[b])
			CK(clReleaseMemObject(r->mem[b]));
		if (r->svm[b])
			clSVMFree(r->pl->ctx, r->svm[b]);
		free(staging[b]);
	}
	CK(clFinish(r->pl->q));
}

/*
 * One variant of one workload instance, allocated, initialised, timed,
 * checked and freed. Returns 1 when the results matched.
 */
static int run_once(struct wl_inst *wi, int w, enum variant var, int over, uint64_t *time_ns,
		    cl_svm_counters_ferry *delta)
{
	struct plat *pl = var == VAR_POCL ? &P : &F;
	struct run r = {.pl = pl, .var = var, .wi = wi, .over = over};
	void *staging[SUITE_MAX_BUFS] = {0};
	cl_svm_counters_ferry c0, c1;
	char msg[256] = "";
	uint64_t t0, t1;
	int bad;

	for (int k = 0; k < SUITE_MAX_KERNELS; k++)
		r.k[k] = g_kern[pl->is_ferry][w][k];
	run_alloc(&r, staging);

	if (pl->is_ferry)
		counters(&c0);
	t0 = now_ns();
	run_inputs(&r, staging);
	/* The kernels (the run function waits for the queue). */
	wi->w->run(&r);
	run_results(&r);
	t1 = now_ns();
	if (pl->is_ferry) {
		counters(&c1);
		*delta = counters_delta(&c0, &c1);
	} else {
		memset(delta, 0, sizeof(*delta));
	}
	*time_ns = t1 - t0;

	bad = wi->w->check(wi, msg, sizeof(msg));
	if (bad) {
		bench_failures++;
		fflush(stdout);
		fprintf(stderr, "ferry-bench-suite: FAILED: %s %s on %s (%zu MiB): %s\n",
			wi->w->name, suite_var_names[var], pl->label, wi->bytes / MIB, msg);
	}
	run_free(&r, staging);
	if (pl->is_ferry && cfg.verbose) {
		counters(&c1);
		if (c1.device_resident_pages)
			fprintf(stderr,
				"ferry-bench-suite: note: %" PRIu64
				" pages still device-resident after freeing everything\n",
				(uint64_t)c1.device_resident_pages);
	}
	return !bad;
}

static struct result *new_result(void)
{
	if (g_nres == g_capres) {
		g_capres = g_capres ? 2 * g_capres : 64;
		g_res = realloc(g_res, g_capres * sizeof(*g_res));
		if (!g_res)
			bench_fatal("out of memory");
	}
	memset(&g_res[g_nres], 0, sizeof(g_res[0]));
	return &g_res[g_nres++];
}

/* -------------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ferry-bench-suite [--quick] [--json FILE] [--workload NAME]... "
		"[--variant NAME]...\n"
		"                         [--capacity MiB] [--sizes F,F,...] [--reps N] "
		"[--timeout SEC] [-v]\n"
		"  --quick          short form: 32 MiB device, 1 repetition\n"
		"  --json FILE      write every result as JSON (plot: tools/plot-bench.py)\n"
		"  --workload NAME  only this workload (repeatable, or a comma list):\n"
		"                   triad saxpy sgemm stencil bfs reduce chase pipeline\n"
		"  --variant NAME   only this variant (repeatable, or a comma list):\n"
		"                   pocl explicit fault prefetch advice (ratios need pocl)\n"
		"  --capacity MiB   Ferry's device memory (sets FERRY_DEVICE_MEMORY; default 256, "
		"32 with --quick)\n"
		"  --sizes LIST     working sets as multiples of the capacity (default "
		"0.5,1.5,2)\n"
		"  --reps N         repetitions of every run, the best is kept (default 2, 1 "
		"with --quick)\n"
		"  --timeout SEC    abort when the whole run takes longer (default 3600, 600 "
		"with --quick; 0 = none)\n"
		"  -v               notes about device memory left resident after each run\n"
		"environment: FERRY_BENCH_ICD = Ferry's ICD file (default: <build>/ferry.icd, "
		"next to bench/)\n");
}

#define parse_num(opt, s) bench_parse_num("ferry-bench-suite", (opt), (s), usage)

/* Add the names in the comma list @s to @mask; 0 when a name is unknown. */
static int parse_names(const char *s, unsigned *mask, int is_var)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int n = is_var ? VAR_N : suite_nworkloads, i;

		for (i = 0; i < n; i++)
			if (!strcmp(t, is_var ? suite_var_names[i] : suite_workloads[i]->name))
				break;
		if (i == n) {
			fprintf(stderr, "ferry-bench-suite: error: unknown %s '%s'\n",
				is_var ? "variant" : "workload", t);
			return 0;
		}
		*mask |= 1u << i;
	}
	return 1;
}

static int parse_sizes(const char *s)
{
	char buf[256], *save = NULL, *end;

	cfg.nsizes = 0;
	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		double v = strtod(t, &end);

		if (*end || !(v > 0 && v <= 16) || cfg.nsizes == MAX_SIZES)
			return 0;
		cfg.sizes[cfg.nsizes++] = v;
	}
	return cfg.nsizes > 0;
}

/*
 * The command line into cfg, with the defaults of what it does not say.
 * Returns -1 to go on, else the exit status (0 after the help).
 */
static int parse_args(int argc, char **argv)
{
	long capacity_mib = -1, reps = -1, timeout = -1;
	int sizes_set = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quick")) {
			cfg.quick = 1;
		} else if (!strcmp(a, "--json")) {
			if (!next) {
				usage(stderr);
				return 1;
			}
			cfg.json = argv[++i];
		} else if (!strcmp(a, "--workload")) {
			i++;
			if (!parse_names(next, &cfg.wl_mask, 0))
				return 1;
		} else if (!strcmp(a, "--variant")) {
			i++;
			if (!parse_names(next, &cfg.var_mask, 1))
				return 1;
		} else if (!strcmp(a, "--capacity")) {
			capacity_mib = (long)parse_num(a, next);
			i++;
		} else if (!strcmp(a, "--sizes")) {
			i++;
			if (!parse_sizes(next)) {
				fprintf(stderr,
					"ferry-bench-suite: error: --sizes wants up to %d "
					"factors in (0, 16], comma-separated\n",
					MAX_SIZES);
				return 1;
			}
			sizes_set = 1;
		} else if (!strcmp(a, "--reps")) {
			reps = (long)parse_num(a, next);
			i++;
		} else if (!strcmp(a, "--timeout")) {
			timeout = (long)parse_num(a, next);
			i++;
		} else if (!strcmp(a, "-v")) {
			cfg.verbose = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "ferry-bench-suite: error: unknown argument '%s'\n", a);
			usage(stderr);
			return 1;
		}
	}
	cfg.capacity = (size_t)(capacity_mib >= 0 ? capacity_mib : cfg.quick ? 32 : 256) * MIB;
	if (cfg.capacity < 8 * MIB || cfg.capacity > 16384 * MIB) {
		fprintf(stderr, "ferry-bench-suite: error: --capacity must be 8 to 16384 (MiB)\n");
		return 1;
	}
	cfg.reps = reps >= 0 ? (unsigned)reps : cfg.quick ? 1 : 2;
	if (cfg.reps < 1) {
		fprintf(stderr, "ferry-bench-suite: error: --reps must be at least 1\n");
		return 1;
	}
	cfg.timeout = timeout >= 0 ? (unsigned)timeout : cfg.quick ? 600 : 3600;
	if (!sizes_set) {
		cfg.sizes[0] = 0.5;
		cfg.sizes[1] = 1.5;
		cfg.sizes[2] = 2.0;
		cfg.nsizes = 3;
	}
	if (!cfg.wl_mask)
		cfg.wl_mask = (1u << suite_nworkloads) - 1;
	if (!cfg.var_mask)
		cfg.var_mask = (1u << VAR_N) - 1;
	return -1;
}

/* Progress on stderr: runs done and to do. */
static unsigned g_done, g_total;

/* Warm-up: every kernel runs once on both platforms at a small size (checked). */
static void warm_up(void)
{
	for (int w = 0; w < suite_nworkloads; w++) {
		struct wl_inst wi = {.w = suite_workloads[w]};
		cl_svm_counters_ferry d;
		uint64_t t;

		if (!(cfg.wl_mask & (1u << w)))
			continue;
		wi.target = 512 * 1024;
		wi.w->setup(&wi, wi.target);
		run_once(&wi, w, VAR_POCL, 0, &t, &d);
		run_once(&wi, w, VAR_EXPLICIT, 0, &t, &d);
		run_once(&wi, w, VAR_FAULT, 0, &t, &d);
		wi.w->teardown(&wi);
	}
}

/*
 * Variant @v of workload @w at size @s (instance @wi): the best of cfg.reps
 * runs, recorded and printed. @pocl_ns is PoCL's time at this size, set
 * when @v is the baseline.
 */
static void run_variant(struct wl_inst *wi, int w, int s, enum variant v, int over,
			uint64_t *pocl_ns)
{
	const struct workload *wl = suite_workloads[w];
	struct result *x = new_result();
	uint64_t best = UINT64_MAX;
	int ok = 1;

	fprintf(stderr, "[%u/%u] %s %.2gx %s (%.0f MiB, %s) ...\n", ++g_done, g_total, wl->name,
		cfg.sizes[s], suite_var_names[v], wi->bytes / (double)MIB, wi->desc);
	for (unsigned rep = 0; rep < cfg.reps; rep++) {
		cl_svm_counters_ferry d;
		uint64_t t;

		ok &= run_once(wi, w, v, over, &t, &d);
		if (t < best) {
			best = t;
			x->d = d;
		}
	}
	x->wl = w;
	x->size_idx = s;
	x->factor = cfg.sizes[s];
	x->bytes = wi->bytes;
	x->var = v;
	x->time_ns = best;
	x->rate = wi->work / (double)best * wl->rate_scale;
	x->ok = ok;
	snprintf(x->desc, sizeof(x->desc), "%s", wi->desc);
	if (v == VAR_POCL)
		*pocl_ns = best;
	x->ratio = *pocl_ns ? (double)best / (double)*pocl_ns : NAN;
	suite_print_row(x);
}

/* Every selected workload at every size, every selected variant. */
static void run_all(void)
{
	g_total = 0;
	for (int w = 0; w < suite_nworkloads; w++)
		if (cfg.wl_mask & (1u << w))
			for (int v = 0; v < VAR_N; v++)
				g_total += !!(cfg.var_mask & (1u << v));
	g_total *= (unsigned)cfg.nsizes;

	suite_print_header();
	for (int w = 0; w < suite_nworkloads; w++) {
		const struct workload *wl = suite_workloads[w];

		if (!(cfg.wl_mask & (1u << w)))
			continue;
		for (int s = 0; s < cfg.nsizes; s++) {
			struct wl_inst wi = {.w = wl};
			uint64_t pocl_ns = 0;
			int over;

			wi.target = (size_t)(cfg.sizes[s] * (double)g_device_mem);
			wl->setup(&wi, wi.target);
			over = wi.bytes > g_device_mem;
			for (int v = 0; v < VAR_N; v++)
				if (cfg.var_mask & (1u << v))
					run_variant(&wi, w, s, (enum variant)v, over, &pocl_ns);
			wl->teardown(&wi);
			putchar('\n');
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t t_start = now_ns();
	char capstr[32];
	int st;

	bench_prog = "ferry-bench-suite";
	st = parse_args(argc, argv);
	if (st >= 0)
		return st;
	bench_timeout(cfg.timeout, "the runtime hung?", icd_cleanup);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* The device capacity, before the platform is first used. */
	snprintf(capstr, sizeof(capstr), "%zu", cfg.capacity);
	if (setenv("FERRY_DEVICE_MEMORY", capstr, 1))
		bench_fatal("setenv: %s", strerror(errno));
	/* Oversubscribed sizes allocate arrays larger than the device memory. */
	if (setenv("FERRY_MAX_ALLOC_SIZE", "64G", 0))
		bench_fatal("setenv: %s", strerror(errno));
	printf("ferry-bench-suite%s: %ld CPUs online, load average %.2f; device memory %zu MiB; "
	       "sizes",
	       cfg.quick ? " --quick" : "", sysconf(_SC_NPROCESSORS_ONLN), load_average(),
	       cfg.capacity / MIB);
	for (int s = 0; s < cfg.nsizes; s++)
		printf(" %.2gx", cfg.sizes[s]);
	printf("; best of %u\n", cfg.reps);
	printf("time: from host data ready to results in host memory (host initialisation "
	       "excluded)\n");
	setup_vendors();
	open_platforms();

	warm_up();
	printf("warm-up done (every kernel compiled and run once on both platforms), %.1f s\n",
	       (now_ns() - t_start) / 1e9);
	run_all();
	suite_print_summary(g_res, g_nres);
	printf("\n%zu runs, %d failed checks; load average %.2f; total time %.1f s\n", g_nres,
	       bench_failures, load_average(), (now_ns() - t_start) / 1e9);
	if (cfg.json) {
		struct suite_info info = {.quick = cfg.quick,
					  .reps = cfg.reps,
					  .capacity = cfg.capacity,
					  .device_mem = g_device_mem,
					  .block = g_block,
					  .pocl_version = g_pocl_version,
					  .pocl_device = g_pocl_device,
					  .ferry_version = g_ferry_version,
					  .total_s = (now_ns() - t_start) / 1e9};

		suite_write_json(cfg.json, &info, g_res, g_nres);
	}
	close_platform(&F);
	close_platform(&P);
	free(g_res);
	return bench_status();
}
