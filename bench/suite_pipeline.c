/* SPDX-License-Identifier: MIT */
/*
 * suite_pipeline.c - ferry-bench-suite's "pipeline" workload: what an array
 * library's element-wise expressions do to managed memory. Two float64 arrays
 * of half the working set each: a = zeros(n); a.fill(2.25); b = 2 * a - 3 (as
 * `pyopencl.array` runs them: one kernel each, a temporary that stays on the
 * device, a result the host reads). Every element of b must be 1.5: a lost
 * write of the fill would leave -3.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "suite.h"
#include "suite_kernels.h" /* generated from kernels/<name>.cl at build time */

#define PIPE_LOCAL 64
#define PIPE_FILL 2.25
#define PIPE_RESULT 1.5 /* 2 * 2.25 - 3 */

struct pipeline {
	uint32_t n;
	double *b;
};

static void pipeline_setup(struct wl_inst *wi, size_t target)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	size_t n = round_up(target / 16, PIPE_LOCAL);

	if (!p)
		bench_fatal("out of memory");
	p->n = (uint32_t)n;
	p->b = bench_xmalloc(n * 8);
	/* a: the kernels' temporary (device scratch); b: the result the host reads */
	suite_bspec(wi, "a", n * 8, ROLE_TMP, NULL, NULL, ADV_PREF_DEVICE, ADV_PREF_DEVICE);
	suite_bspec(wi, "b", n * 8, ROLE_OUT, NULL, p->b, ADV_PREF_DEVICE,
		    ADV_PREF_HOST | ADV_ACCESSED_BY_DEVICE);
	wi->work = 32.0 * n; /* bytes: two fills of a, a read and b written */
	snprintf(wi->desc, sizeof(wi->desc), "2 x %.2fM doubles, 3 launches", n / 1e6);
	wi->priv = p;
}

static void pipeline_run(struct run *r)
{
	struct pipeline *p = r->wi->priv;
	const double zero = 0.0, v = PIPE_FILL;
	size_t g = p->n, l = PIPE_LOCAL;

	suite_arg_buf(r, 0, 0, 0);
	suite_arg(r, 0, 1, sizeof(zero), &zero);
	suite_arg(r, 0, 2, sizeof(p->n), &p->n);
	suite_launch(r, 0, 1, &g, &l);
	suite_arg(r, 0, 1, sizeof(v), &v); /* the launch above keeps its own arguments */
	suite_launch(r, 0, 1, &g, &l);
	suite_arg_buf(r, 1, 0, 1);
	suite_arg_buf(r, 1, 1, 0);
	suite_arg(r, 1, 2, sizeof(p->n), &p->n);
	suite_launch(r, 1, 1, &g, &l);
	suite_finish(r);
}

static int pipeline_check(struct wl_inst *wi, char *msg, size_t len)
{
	struct pipeline *p = wi->priv;
	size_t bad = 0, first = 0;

	for (size_t i = 0; i < p->n; i++)
		if (p->b[i] != PIPE_RESULT && !bad++)
			first = i;
	if (bad)
		snprintf(msg, len, "b: %zu of %u wrong, first [%zu] = %g, expected %g", bad, p->n,
			 first, p->b[first], PIPE_RESULT);
	return bad != 0;
}

static void pipeline_teardown(struct wl_inst *wi)
{
	struct pipeline *p = wi->priv;

	free(p->b);
	free(p);
	wi->priv = NULL;
}

const struct workload suite_w_pipeline = {
	.name = "pipeline",
	.source = suite_src_pipeline,
	.kernels = {"fill", "axpb"},
	.rate_unit = "GB/s",
	.rate_scale = 1.0,
	.setup = pipeline_setup,
	.run = pipeline_run,
	.check = pipeline_check,
	.teardown = pipeline_teardown,
};
