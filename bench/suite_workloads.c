/* SPDX-License-Identifier: MIT */
/*
 * suite_workloads.c - the seven workloads of ferry-bench-suite: host data,
 * host reference, buffers with their roles and advice, launches, checks.
 *
 * Input data are small integers or multiples of 1/256 chosen so that every
 * result is exact in single precision whatever the order of operations
 * (fused multiply-add or not, any reduction tree); the checks still allow a
 * tolerance where the issue asks for one (matrix multiply, reduction).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "suite.h"
#include "suite_kernels.h" /* generated from kernels/<name>.cl at build time */

#define LOCAL_1D 64

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	r->s = mix64(r->s);
	return r->s;
}

/* Mismatches of @n floats against @ref within @abs + @rel * |ref|; first one in @msg. */
static size_t compare_f(const char *what, const float *got, const float *ref, size_t n, double abs,
			double rel, char *msg, size_t len)
{
	size_t bad = 0, first = 0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)ref[i]);

		if (!(d <= abs + rel * fabs((double)ref[i]))) {
			if (!bad)
				first = i;
			bad++;
		}
	}
	if (bad)
		snprintf(msg, len, "%s: %zu of %zu wrong, first [%zu] = %g, expected %g", what, bad,
			 n, first, (double)got[first], (double)ref[first]);
	return bad;
}

void suite_bspec(struct wl_inst *wi, const char *name, size_t bytes, enum role role,
		 const void *init, void *result, unsigned adv_fit, unsigned adv_over)
{
	struct bspec *b = &wi->b[wi->nbufs++];

	b->name = name;
	b->bytes = bytes;
	b->role = role;
	b->init = init;
	b->result = result;
	b->adv_fit = adv_fit;
	b->adv_over = adv_over;
	wi->bytes += bytes;
}

/* Read-only input streamed by the kernels: duplicated while it fits, zero-copy when not. */
#define ADV_STREAM_IN ADV_READ_MOSTLY, (ADV_PREF_HOST | ADV_ACCESSED_BY_DEVICE)

static void free_priv(struct wl_inst *wi)
{
	free(wi->priv);
	wi->priv = NULL;
}

/* ------------------------------------------------------------------ triad */

#define TRIAD_ITERS 4
#define TRIAD_S 0.5f

struct triad {
	uint32_t n;
	float *b, *c, *a, *ref;
};

static void triad_setup(struct wl_inst *wi, size_t target)
{
	struct triad *t = calloc(1, sizeof(*t));
	size_t n = round_up(target / 12, LOCAL_1D);

	if (!t)
		bench_fatal("out of memory");
	t->n = (uint32_t)n;
	t->b = bench_xmalloc(n * 4);
	t->c = bench_xmalloc(n * 4);
	t->a = bench_xmalloc(n * 4);
	t->ref = bench_xmalloc(n * 4);
	for (size_t i = 0; i < n; i++) {
		t->b[i] = (float)(i % 13);
		t->c[i] = (float)(i % 7);
		t->ref[i] = t->b[i] + TRIAD_S * t->c[i];
	}
	suite_bspec(wi, "a", n * 4, ROLE_OUT, NULL, t->a, ADV_PREF_DEVICE, ADV_PREF_DEVICE);
	suite_bspec(wi, "b", n * 4, ROLE_IN, t->b, NULL, ADV_STREAM_IN);
	suite_bspec(wi, "c", n * 4, ROLE_IN, t->c, NULL, ADV_STREAM_IN);
	wi->work = 12.0 * n * TRIAD_ITERS;
	snprintf(wi->desc, sizeof(wi->desc), "3 x %.2fM floats, %d launches", n / 1e6, TRIAD_ITERS);
	wi->priv = t;
}

static void triad_run(struct run *r)
{
	struct triad *t = r->wi->priv;
	const float s = TRIAD_S;
	size_t g = t->n, l = LOCAL_1D;

	for (int b = 0; b < 3; b++)
		suite_arg_buf(r, 0, (cl_uint)b, b);
	suite_arg(r, 0, 3, sizeof(s), &s);
	suite_arg(r, 0, 4, sizeof(t->n), &t->n);
	for (int i = 0; i < TRIAD_ITERS; i++)
		suite_launch(r, 0, 1, &g, &l);
	suite_finish(r);
}

static int triad_check(struct wl_inst *wi, char *msg, size_t len)
{
	struct triad *t = wi->priv;

	return compare_f("a", t->a, t->ref, t->n, 0, 0, msg, len) != 0;
}

static void triad_teardown(struct wl_inst *wi)
{
	struct triad *t = wi->priv;

	free(t->a);
	free(t->b);
	free(t->c);
	free(t->ref);
	free_priv(wi);
}

static const struct workload w_triad = {
	.name = "triad",
	.source = suite_src_triad,
	.kernels = {"triad"},
	.rate_unit = "GB/s",
	.rate_scale = 1.0,
	.setup = triad_setup,
	.run = triad_run,
	.check = triad_check,
	.teardown = triad_teardown,
};

/* ------------------------------------------------------------------ saxpy */

#define SAXPY_ITERS 4
#define SAXPY_A 0.5f

struct saxpy {
	uint32_t n;
	float *x, *y0, *y, *ref;
};

static void saxpy_setup(struct wl_inst *wi, size_t target)
{
	struct saxpy *s = calloc(1, sizeof(*s));
	size_t n = round_up(target / 8, LOCAL_1D);

	if (!s)
		bench_fatal("out of memory");
	s->n = (uint32_t)n;
	s->x = bench_xmalloc(n * 4);
	s->y0 = bench_xmalloc(n * 4);
	s->y = bench_xmalloc(n * 4);
	s->ref = bench_xmalloc(n * 4);
	for (size_t i = 0; i < n; i++) {
		s->x[i] = (float)(i & 15);
		s->y0[i] = (float)(i % 7);
		s->ref[i] = s->y0[i];
		for (int k = 0; k < SAXPY_ITERS; k++)
			s->ref[i] = SAXPY_A * s->x[i] + s->ref[i];
	}
	suite_bspec(wi, "y", n * 4, ROLE_INOUT, s->y0, s->y, ADV_PREF_DEVICE, ADV_PREF_DEVICE);
	suite_bspec(wi, "x", n * 4, ROLE_IN, s->x, NULL, ADV_STREAM_IN);
	wi->work = 12.0 * n * SAXPY_ITERS;
	snprintf(wi->desc, sizeof(wi->desc), "2 x %.2fM floats, %d launches", n / 1e6, SAXPY_ITERS);
	wi->priv = s;
}

static void saxpy_run(struct run *r)
{
	struct saxpy *s = r->wi->priv;
	const float a = SAXPY_A;
	size_t g = s->n, l = LOCAL_1D;

	suite_arg_buf(r, 0, 0, 0);
	suite_arg_buf(r, 0, 1, 1);
	suite_arg(r, 0, 2, sizeof(a), &a);
	suite_arg(r, 0, 3, sizeof(s->n), &s->n);
	for (int i = 0; i < SAXPY_ITERS; i++)
		suite_launch(r, 0, 1, &g, &l);
	suite_finish(r);
}

static int saxpy_check(struct wl_inst *wi, char *msg, size_t len)
{
	struct saxpy *s = wi->priv;

	return compare_f("y", s->y, s->ref, s->n, 0, 0, msg, len) != 0;
}

static void saxpy_teardown(struct wl_inst *wi)
{
	struct saxpy *s = wi->priv;

	free(s->x);
	free(s->y0);
	free(s->y);
	free(s->ref);
	free_priv(wi);
}

static const struct workload w_saxpy = {
	.name = "saxpy",
	.source = suite_src_saxpy,
	.kernels = {"saxpy"},
	.rate_unit = "GB/s",
	.rate_scale = 1.0,
	.setup = saxpy_setup,
	.run = saxpy_run,
	.check = saxpy_check,
	.teardown = saxpy_teardown,
};

/* ------------------------------------------------------------------ sgemm */

/*
 * C (M x N) = A (M x K) * B (K x N) with N = K = 128: the working set grows
 * with M (A and C), B stays small and hot. A square multiply of the
 * oversubscribing sizes would take minutes of PoCL time per variant.
 */
#define GEMM_NK 128
#define GEMM_TS 16

struct sgemm {
	uint32_t m, n, k;
	float *a, *b, *c, *ref;
};

static void sgemm_setup(struct wl_inst *wi, size_t target)
{
	struct sgemm *s = calloc(1, sizeof(*s));
	const size_t n = GEMM_NK, k = GEMM_NK;
	size_t m;

	if (!s)
		bench_fatal("out of memory");
	m = target / 4 > k * n ? (target / 4 - k * n) / (k + n) : GEMM_TS;
	m = m / GEMM_TS * GEMM_TS;
	if (m < GEMM_TS)
		m = GEMM_TS;
	s->m = (uint32_t)m;
	s->n = (uint32_t)n;
	s->k = (uint32_t)k;
	s->a = bench_xmalloc(m * k * 4);
	s->b = bench_xmalloc(k * n * 4);
	s->c = bench_xmalloc(m * n * 4);
	s->ref = calloc(m * n, 4);
	if (!s->ref)
		bench_fatal("out of memory");
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < k; j++)
			s->a[i * k + j] = (float)((int)((i * 3 + j * 5) % 7) - 3);
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < n; j++)
			s->b[i * n + j] = (float)((int)((i * 7 + j * 3) % 5) - 2);
	/* Integer products, |sums| <= 128 * 6: exact in float in any order. */
	for (size_t i = 0; i < m; i++) {
		float *cr = s->ref + i * n;

		for (size_t p = 0; p < k; p++) {
			const float av = s->a[i * k + p];
			const float *br = s->b + p * n;

			for (size_t j = 0; j < n; j++)
				cr[j] += av * br[j];
		}
	}
	suite_bspec(wi, "A", m * k * 4, ROLE_IN, s->a, NULL, ADV_STREAM_IN);
	suite_bspec(wi, "B", k * n * 4, ROLE_IN, s->b, NULL, ADV_READ_MOSTLY, ADV_READ_MOSTLY);
	suite_bspec(wi, "C", m * n * 4, ROLE_OUT, NULL, s->c, ADV_PREF_DEVICE, ADV_PREF_DEVICE);
	wi->work = 2.0 * m * n * k;
	snprintf(wi->desc, sizeof(wi->desc), "%zu x %zu x %zu", m, n, k);
	wi->priv = s;
}

static void sgemm_run(struct run *r)
{
	struct sgemm *s = r->wi->priv;
	size_t g[2] = {s->n, s->m}, l[2] = {GEMM_TS, GEMM_TS};

	for (int b = 0; b < 3; b++)
		suite_arg_buf(r, 0, (cl_uint)b, b);
	suite_arg(r, 0, 3, sizeof(s->m), &s->m);
	suite_arg(r, 0, 4, sizeof(s->n), &s->n);
	suite_arg(r, 0, 5, sizeof(s->k), &s->k);
	suite_launch(r, 0, 2, g, l);
	suite_finish(r);
}

static int sgemm_check(struct wl_inst *wi, char *msg, size_t len)
{
	struct sgemm *s = wi->priv;

	return compare_f("C", s->c, s->ref, (size_t)s->m * s->n, 1e-3, 1e-5, msg, len) != 0;
}

static void sgemm_teardown(struct wl_inst *wi)
{
	struct sgemm *s = wi->priv;

	free(s->a);
	free(s->b);
	free(s->c);
	free(s->ref);
	free_priv(wi);
}

static const struct workload w_sgemm = {
	.name = "sgemm",
	.source = suite_src_sgemm,
	.kernels = {"sgemm"},
	.rate_unit = "GFLOP/s",
	.rate_scale = 1.0,
	.setup = sgemm_setup,
	.run = sgemm_run,
	.check = sgemm_check,
	.teardown = sgemm_teardown,
};

/* ---------------------------------------------------------------- stencil */

#define STENCIL_ITERS 4 /* even: the result ends in grid 0 */
#define STENCIL_TS 16

struct stencil {
	uint32_t n;
	float *g0, *res, *ref;
};

static void jacobi_host(const float *in, float *out, size_t n)
{
	for (size_t y = 0; y < n; y++)
		for (size_t x = 0; x < n; x++) {
			size_t i = y * n + x;

			if (x == 0 || y == 0 || x == n - 1 || y == n - 1)
				out[i] = in[i];
			else
				out[i] = 0.25f * (in[i - 1] + in[i + 1] + in[i - n] + in[i + n]);
		}
}

static void stencil_setup(struct wl_inst *wi, size_t target)
{
	struct stencil *s = calloc(1, sizeof(*s));
	size_t n = (size_t)sqrt((double)target / 8.0) / STENCIL_TS * STENCIL_TS;
	float *tmp;

	if (!s)
		bench_fatal("out of memory");
	if (n < 2 * STENCIL_TS)
		n = 2 * STENCIL_TS;
	s->n = (uint32_t)n;
	s->g0 = bench_xmalloc(n * n * 4);
	s->res = bench_xmalloc(n * n * 4);
	s->ref = bench_xmalloc(n * n * 4);
	tmp = bench_xmalloc(n * n * 4);
	/* Integers below 17: 4 sweeps leave multiples of 1/256 below 17, exact in float. */
	for (size_t y = 0; y < n; y++)
		for (size_t x = 0; x < n; x++)
			s->g0[y * n + x] = (float)((x * 7 + y * 3) % 17);
	memcpy(s->ref, s->g0, n * n * 4);
	for (int it = 0; it < STENCIL_ITERS; it += 2) {
		jacobi_host(s->ref, tmp, n);
		jacobi_host(tmp, s->ref, n);
	}
	free(tmp);
	/* Oversubscribed: one grid stays on the device, the other is mapped from the host. */
	suite_bspec(wi, "grid0", n * n * 4, ROLE_INOUT, s->g0, s->res, ADV_PREF_DEVICE,
		    ADV_PREF_DEVICE);
	suite_bspec(wi, "grid1", n * n * 4, ROLE_TMP, NULL, NULL, ADV_PREF_DEVICE,
		    ADV_PREF_HOST | ADV_ACCESSED_BY_DEVICE);
	wi->work = 8.0 * n * n * STENCIL_ITERS;
	snprintf(wi->desc, sizeof(wi->desc), "%zu x %zu grid, %d sweeps", n, n, STENCIL_ITERS);
	wi->priv = s;
}

static void stencil_run(struct run *r)
{
	struct stencil *s = r->wi->priv;
	size_t g[2] = {s->n, s->n}, l[2] = {STENCIL_TS, STENCIL_TS};

	suite_arg(r, 0, 2, sizeof(s->n), &s->n);
	for (int it = 0; it < STENCIL_ITERS; it++) {
		suite_arg_buf(r, 0, 0, it & 1);
		suite_arg_buf(r, 0, 1, !(it & 1));
		suite_launch(r, 0, 2, g, l);
	}
	suite_finish(r);
}

static int stencil_check(struct wl_inst *wi, char *msg, size_t len)
{
	struct stencil *s = wi->priv;

	return compare_f("grid", s->res, s->ref, (size_t)s->n * s->n, 0, 0, msg, len) != 0;
}

static void stencil_teardown(struct wl_inst *wi)
{
	struct stencil *s = wi->priv;

	free(s->g0);
	free(s->res);
	free(s->ref);
	free_priv(wi);
}

static const struct workload w_stencil = {
	.name = "stencil",
	.source = suite_src_stencil,
	.kernels = {"jacobi"},
	.rate_unit = "GB/s",
	.rate_scale = 1.0,
	.setup = stencil_setup,
	.run = stencil_run,
	.check = stencil_check,
	.teardown = stencil_teardown,
};

/* -------------------------------------------------------------------- bfs */

/* A random directed graph, out-degree 4..12 (8 on average), searched from vertex 0. */
struct bfs {
	uint32_t nv;
	uint32_t *row, *col;
	int32_t *level0, *level, *ref;
	int levels;
};

static void bfs_setup(struct wl_inst *wi, size_t target)
{
	struct bfs *b = calloc(1, sizeof(*b));
	struct rng r = {.s = 12345};
	size_t nv = round_up(target / 40, LOCAL_1D), ne = 0, head = 0, tail = 0;
	uint32_t *queue;
	double edges = 0;

	if (!b)
		bench_fatal("out of memory");
	b->nv = (uint32_t)nv;
	b->row = bench_xmalloc((nv + 1) * 4);
	for (size_t v = 0; v < nv; v++) {
		b->row[v] = (uint32_t)ne;
		ne += 4 + rng_next(&r) % 9;
	}
	b->row[nv] = (uint32_t)ne;
	b->col = bench_xmalloc(ne * 4);
	for (size_t e = 0; e < ne; e++)
		b->col[e] = (uint32_t)(rng_next(&r) % nv);
	b->level0 = bench_xmalloc(nv * 4);
	b->level = bench_xmalloc(nv * 4);
	b->ref = bench_xmalloc(nv * 4);
	for (size_t v = 0; v < nv; v++)
		b->level0[v] = b->ref[v] = -1;
	b->level0[0] = b->ref[0] = 0;
	queue = bench_xmalloc(nv * 4);
	queue[tail++] = 0;
	while (head < tail) {
		uint32_t v = queue[head++];

		edges += b->row[v + 1] - b->row[v];
		for (uint32_t e = b->row[v]; e < b->row[v + 1]; e++) {
			uint32_t u = b->col[e];

			if (b->ref[u] < 0) {
				b->ref[u] = b->ref[v] + 1;
				if (b->ref[u] > b->levels)
					b->levels = b->ref[u];
				queue[tail++] = u;
			}
		}
	}
	free(queue);
	suite_bspec(wi, "row", (nv + 1) * 4, ROLE_IN, b->row, NULL, ADV_READ_MOSTLY,
		    ADV_READ_MOSTLY);
	suite_bspec(wi, "col", ne * 4, ROLE_IN, b->col, NULL, ADV_STREAM_IN);
	suite_bspec(wi, "level", nv * 4, ROLE_INOUT, b->level0, b->level, ADV_PREF_DEVICE,
		    ADV_PREF_DEVICE);
	/* The flag the host polls after every level: keep it on the host, mapped remotely. */
	suite_bspec(wi, "flag", 4, ROLE_TMP, NULL, NULL, ADV_PREF_HOST | ADV_ACCESSED_BY_DEVICE,
		    ADV_PREF_HOST | ADV_ACCESSED_BY_DEVICE);
	wi->work = edges;
	snprintf(wi->desc, sizeof(wi->desc), "%.2fM vertices, %.2fM edges, %zu reached, %d levels",
		 nv / 1e6, ne / 1e6, tail, b->levels + 1);
	wi->priv = b;
}

static void bfs_run(struct run *r)
{
	struct bfs *b = r->wi->priv;
	size_t g = b->nv, l = LOCAL_1D;
	int32_t cur = 0, flag;

	for (int i = 0; i < 4; i++)
		suite_arg_buf(r, 0, (cl_uint)i, i);
	suite_arg(r, 0, 5, sizeof(b->nv), &b->nv);
	do {
		flag = 0;
		suite_write_small(r, 3, &flag, sizeof(flag));
		suite_arg(r, 0, 4, sizeof(cur), &cur);
		suite_launch(r, 0, 1, &g, &l);
		suite_read_small(r, 3, &flag, sizeof(flag));
		cur++;
	} while (flag && cur <= (int32_t)b->nv);
}

static int bfs_check(struct wl_inst *wi, char *msg, size_t len)
{
	struct bfs *b = wi->priv;

	for (size_t v = 0; v < b->nv; v++)
		if (b->level[v] != b->ref[v]) {
			size_t bad = 0;

			for (size_t u = v; u < b->nv; u++)
				bad += b->level[u] != b->ref[u];
			snprintf(msg, len, "level: %zu of %u wrong, first [%zu] = %d, expected %d",
				 bad, b->nv, v, b->level[v], b->ref[v]);
			return 1;
		}
	return 0;
}

static void bfs_teardown(struct wl_inst *wi)
{
	struct bfs *b = wi->priv;

	free(b->row);
	free(b->col);
	free(b->level0);
	free(b->level);
	free(b->ref);
	free_priv(wi);
}

static const struct workload w_bfs = {
	.name = "bfs",
	.source = suite_src_bfs,
	.kernels = {"bfs_level"},
	.rate_unit = "MTEPS",
	.rate_scale = 1e3,
	.setup = bfs_setup,
	.run = bfs_run,
	.check = bfs_check,
	.teardown = bfs_teardown,
};

/* ----------------------------------------------------------------- reduce */

#define REDUCE_CHUNK 65536 /* elements per work-group */

struct reduce {
	uint32_t n, groups;
	float *in, *part;
	double *ref; /* per group */
	double total;
};

static void reduce_setup(struct wl_inst *wi, size_t target)
{
	struct reduce *s = calloc(1, sizeof(*s));
	size_t n = round_up(target / 4, LOCAL_1D), groups = (n + REDUCE_CHUNK - 1) / REDUCE_CHUNK;

	if (!s)
		bench_fatal("out of memory");
	s->n = (uint32_t)n;
	s->groups = (uint32_t)groups;
	s->in = bench_xmalloc(n * 4);
	s->part = bench_xmalloc(groups * 4);
	s->ref = calloc(groups, sizeof(double));
	if (!s->ref)
		bench_fatal("out of memory");
	/* Multiples of 1/256 below 1: a chunk's sum stays below 2^16, exact in float. */
	for (size_t i = 0; i < n; i++) {
		s->in[i] = (float)(mix64(i) & 0xff) / 256.0f;
		s->ref[i / REDUCE_CHUNK] += s->in[i];
	}
	for (size_t g = 0; g < groups; g++)
		s->total += s->ref[g];
	suite_bspec(wi, "in", n * 4, ROLE_IN, s->in, NULL, ADV_STREAM_IN);
	suite_bspec(wi, "partial", groups * 4, ROLE_OUT, NULL, s->part, 0, 0);
	wi->work = 4.0 * n;
	snprintf(wi->desc, sizeof(wi->desc), "%.2fM floats, %zu groups", n / 1e6, groups);
	wi->priv = s;
}

static void reduce_run(struct run *r)
{
	struct reduce *s = r->wi->priv;
	const uint32_t chunk = REDUCE_CHUNK;
	size_t g = (size_t)s->groups * LOCAL_1D, l = LOCAL_1D;

	suite_arg_buf(r, 0, 0, 0);
	suite_arg_buf(r, 0, 1, 1);
	suite_arg(r, 0, 2, sizeof(s->n), &s->n);
	suite_arg(r, 0, 3, sizeof(chunk), &chunk);
	suite_arg(r, 0, 4, LOCAL_1D * sizeof(float), NULL);
	suite_launch(r, 0, 1, &g, &l);
	suite_finish(r);
}

static int reduce_check(struct wl_inst *wi, char *msg, size_t len)
{
	struct reduce *s = wi->priv;
	double total = 0;

	for (size_t g = 0; g < s->groups; g++) {
		total += s->part[g];
		if (!(fabs(s->part[g] - s->ref[g]) <= 1e-6 * fabs(s->ref[g]) + 1e-3)) {
			snprintf(msg, len, "partial[%zu] = %.6f, expected %.6f", g,
				 (double)s->part[g], s->ref[g]);
			return 1;
		}
	}
	if (!(fabs(total - s->total) <= 1e-6 * fabs(s->total))) {
		snprintf(msg, len, "sum %.6f, expected %.6f", total, s->total);
		return 1;
	}
	return 0;
}

static void reduce_teardown(struct wl_inst *wi)
{
	struct reduce *s = wi->priv;

	free(s->in);
	free(s->part);
	free(s->ref);
	free_priv(wi);
}

static const struct workload w_reduce = {
	.name = "reduce",
	.source = suite_src_reduce,
	.kernels = {"reduce"},
	.rate_unit = "GB/s",
	.rate_scale = 1.0,
	.setup = reduce_setup,
	.run = reduce_run,
	.check = reduce_check,
	.teardown = reduce_teardown,
};

/* ------------------------------------------------------------------ chase */

/*
 * The nodes live in one SVM allocation and hold absolute SVM pointers. List
 * w starts at node w and then visits, in a random order, every node of its
 * own segment of the allocation (CHASE_LISTS segments of equal size): each
 * hop goes to a random node of a region of up to a few MiB, so a list's walk
 * is a dependent chain of cache and TLB misses while the lists together
 * cover the whole allocation once. The master copy stores byte offsets
 * from the allocation's start (0 = NULL), relocated when the nodes are
 * built in the allocation.
 */
#define CHASE_LISTS 256

struct chase_node {
	uint64_t next; /* __global struct node * on the device */
	float val;
	uint32_t pad[13];
};

_Static_assert(sizeof(struct chase_node) == 64, "chase node is 64 bytes (see chase.cl)");

struct chase {
	uint32_t lists;
	size_t nodes;
	struct chase_node *master;
	float *out, *ref;
};

static void chase_setup(struct wl_inst *wi, size_t target)
{
	struct chase *c = calloc(1, sizeof(*c));
	struct rng r = {.s = 777};
	size_t nodes = target / sizeof(struct chase_node), seg;
	uint32_t *perm;

	if (!c)
		bench_fatal("out of memory");
	if (nodes < 4 * CHASE_LISTS)
		nodes = 4 * CHASE_LISTS;
	c->lists = CHASE_LISTS;
	seg = (nodes - CHASE_LISTS) / CHASE_LISTS;
	c->nodes = CHASE_LISTS + seg * CHASE_LISTS;
	c->master = calloc(c->nodes, sizeof(struct chase_node));
	c->out = bench_xmalloc(CHASE_LISTS * 4);
	c->ref = bench_xmalloc(CHASE_LISTS * 4);
	perm = bench_xmalloc(seg * 4);
	if (!c->master)
		bench_fatal("out of memory");
	for (size_t i = 0; i < c->nodes; i++)
		c->master[i].val = (float)((mix64(i) >> 7) % 8);
	for (size_t w = 0; w < CHASE_LISTS; w++) {
		const size_t first = CHASE_LISTS + w * seg;
		size_t prev = w;
		float sum = c->master[w].val;

		for (size_t i = 0; i < seg; i++)
			perm[i] = (uint32_t)i;
		for (size_t i = seg - 1; i > 0; i--) {
			size_t j = rng_next(&r) % (i + 1);
			uint32_t t = perm[i];

			perm[i] = perm[j];
			perm[j] = t;
		}
		for (size_t i = 0; i < seg; i++) {
			size_t node = first + perm[i];

			c->master[prev].next = node * sizeof(struct chase_node);
			sum += c->master[node].val;
			prev = node;
		}
		c->master[prev].next = 0;
		c->ref[w] = sum; /* integers below 2^24: exact */
	}
	free(perm);
	suite_bspec(wi, "nodes", c->nodes * sizeof(struct chase_node), ROLE_IN, c->master, NULL,
		    ADV_STREAM_IN);
	wi->b[0].svm_explicit = 1;
	suite_bspec(wi, "out", CHASE_LISTS * 4, ROLE_OUT, NULL, c->out, 0, 0);
	wi->work = (double)c->nodes;
	snprintf(wi->desc, sizeof(wi->desc), "%.2fM nodes of 64 B, %d lists of %zu", c->nodes / 1e6,
		 CHASE_LISTS, seg + 1);
	wi->priv = c;
}

static void chase_relocate(const struct wl_inst *wi, int b, void *dst, uintptr_t base)
{
	const struct chase *c = wi->priv;
	struct chase_node *d = dst;

	(void)b;
	memcpy(d, c->master, c->nodes * sizeof(*d));
	for (size_t i = 0; i < c->nodes; i++)
		if (d[i].next)
			d[i].next += base;
}

static void chase_run(struct run *r)
{
	struct chase *c = r->wi->priv;
	size_t g = c->lists, l = LOCAL_1D;

	suite_arg_buf(r, 0, 0, 0);
	suite_arg_buf(r, 0, 1, 1);
	suite_arg(r, 0, 2, sizeof(c->lists), &c->lists);
	suite_launch(r, 0, 1, &g, &l);
	suite_finish(r);
}

static int chase_check(struct wl_inst *wi, char *msg, size_t len)
{
	struct chase *c = wi->priv;

	return compare_f("list sums", c->out, c->ref, c->lists, 0, 0, msg, len) != 0;
}

static void chase_teardown(struct wl_inst *wi)
{
	struct chase *c = wi->priv;

	free(c->master);
	free(c->out);
	free(c->ref);
	free_priv(wi);
}

static const struct workload w_chase = {
	.name = "chase",
	.source = suite_src_chase,
	.kernels = {"chase"},
	.rate_unit = "Mhops/s",
	.rate_scale = 1e3,
	.setup = chase_setup,
	.run = chase_run,
	.check = chase_check,
	.relocate = chase_relocate,
	.teardown = chase_teardown,
};

const struct workload *const suite_workloads[] = {
	&w_triad, &w_saxpy, &w_sgemm, &w_stencil, &w_bfs, &w_reduce, &w_chase, &suite_w_pipeline,
};
const int suite_nworkloads = sizeof(suite_workloads) / sizeof(suite_workloads[0]);
