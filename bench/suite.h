/* SPDX-License-Identifier: MIT */
/*
 * suite.h - ferry-bench-suite: what the runner (bench_suite.c), the
 * workloads (suite_workloads.c) and the report (suite_report.c) share.
 *
 * A workload describes its buffers (size, role, advice) and a run function
 * that sets kernel arguments and launches kernels through the helpers below;
 * the runner allocates the buffers the way each variant does (cl_mem with
 * copies, or managed SVM with faults, prefetches or advice), times the run
 * and reads the results back into host arrays that the workload checks.
 */
#ifndef FERRY_BENCH_SUITE_H
#define FERRY_BENCH_SUITE_H

#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext_ferry.h>
#include <stddef.h>
#include <stdint.h>

#define SUITE_MAX_BUFS 6
#define SUITE_MAX_KERNELS 2
#define MIB ((size_t)1 << 20)

/* Variants; V_POCL is the explicit variant run on PoCL directly (the baseline). */
enum variant { VAR_POCL, VAR_EXPLICIT, VAR_FAULT, VAR_PREFETCH, VAR_ADVICE, VAR_N };

/* What the host does with a buffer around the timed part. */
enum role {
	ROLE_IN,    /* host initialises it, does not read it back */
	ROLE_OUT,   /* the kernels write it, host reads it back */
	ROLE_INOUT, /* both */
	ROLE_TMP,   /* device scratch: neither */
};

/* Advice bits (the advice variant); see docs/benchmarks.md for the choices. */
enum {
	ADV_READ_MOSTLY = 1,
	ADV_PREF_DEVICE = 2,
	ADV_PREF_HOST = 4,
	ADV_ACCESSED_BY_DEVICE = 8,
};

struct bspec {
	const char *name;
	size_t bytes;
	enum role role;
	const void *init;  /* ROLE_IN/INOUT: the host's data (master copy) */
	void *result;	   /* ROLE_OUT/INOUT: where the run leaves the results */
	unsigned adv_fit;  /* advice when the working set fits in device memory */
	unsigned adv_over; /* advice when it oversubscribes it */
	int svm_explicit;  /* explicit variant: SVM + clEnqueueSVMMemcpy (holds pointers) */
};

struct workload;

/* One workload at one size: filled by the workload's setup. */
struct wl_inst {
	const struct workload *w;
	size_t target; /* working-set size asked for */
	size_t bytes;  /* actual working set (sum of the buffers) */
	int nbufs;
	struct bspec b[SUITE_MAX_BUFS];
	double work;   /* units of rate_unit (bytes, flops, edges, hops) per run */
	char desc[96]; /* shape, e.g. "3 x 5.3M floats" */
	void *priv;    /* the workload's own data (reference, sizes) */
};

/* A platform: Ferry or PoCL. */
struct plat {
	const char *label;
	int is_ferry;
	cl_platform_id platform;
	cl_device_id device;
	cl_context ctx;
	cl_command_queue q;
	cl_program prog[16];
	clEnqueueSVMAdviseMemFERRY_fn advise;
	clGetSVMCountersFERRY_fn counters;
};

/* One variant of one workload instance on one platform, while it runs. */
struct run {
	struct plat *pl;
	enum variant var;
	struct wl_inst *wi;
	cl_kernel k[SUITE_MAX_KERNELS];
	cl_mem mem[SUITE_MAX_BUFS];
	void *svm[SUITE_MAX_BUFS];
	int over; /* oversubscribes device memory */
};

struct workload {
	const char *name;
	const char *source; /* OpenCL C, embedded at build time */
	const char *kernels[SUITE_MAX_KERNELS];
	const char *rate_unit; /* "GB/s", "GFLOP/s", "MTEPS", "Mhops/s" */
	double rate_scale;     /* work / ns * rate_scale = rate */
	/* Build the host data and its reference for a working set of about @target bytes. */
	void (*setup)(struct wl_inst *wi, size_t target);
	/* Set arguments and launch; on return the queue has finished. */
	void (*run)(struct run *r);
	/* 0 when every result matches the host computation, else 1 with @msg set. */
	int (*check)(struct wl_inst *wi, char *msg, size_t len);
	/* Copy a ROLE_IN buffer that holds SVM pointers into @dst, relocated to @base. */
	void (*relocate)(const struct wl_inst *wi, int b, void *dst, uintptr_t base);
	void (*teardown)(struct wl_inst *wi);
};

extern const struct workload *const suite_workloads[];
extern const struct workload suite_w_pipeline; /* suite_pipeline.c */
extern const int suite_nworkloads;

/* Helpers for the workloads' run functions (bench_suite.c); errors are fatal. */
/* Add buffer @name (@bytes, @role, master copy @init, results to @result, advice) to @wi. */
void suite_bspec(struct wl_inst *wi, const char *name, size_t bytes, enum role role,
		 const void *init, void *result, unsigned adv_fit, unsigned adv_over);
void suite_arg_buf(struct run *r, int k, cl_uint idx, int b);
void suite_arg(struct run *r, int k, cl_uint idx, size_t size, const void *value);
void suite_launch(struct run *r, int k, cl_uint dims, const size_t *global, const size_t *local);
void suite_finish(struct run *r);
/* Small synchronous transfers in the middle of a run (a flag, a counter). */
void suite_write_small(struct run *r, int b, const void *src, size_t bytes);
void suite_read_small(struct run *r, int b, void *dst, size_t bytes);

/* ------------------------------------------------ the report (suite_report.c) */

extern const char *const suite_var_names[VAR_N]; /* "pocl", "explicit", ... */

/* A variant of a workload at one size: its best run, one table row and JSON object. */
struct result {
	int wl, size_idx;
	double factor;
	size_t bytes;
	enum variant var;
	uint64_t time_ns;
	cl_svm_counters_ferry d; /* Ferry only */
	double rate;
	double ratio; /* time / PoCL's time, NAN without a baseline */
	int ok;
	char desc[96];
};

/* What the JSON says about the whole run. */
struct suite_info {
	int quick;
	unsigned reps;
	size_t capacity;   /* device memory asked for */
	size_t device_mem; /* CL_DEVICE_GLOBAL_MEM_SIZE of Ferry's device */
	size_t block;	   /* CL_DEVICE_SVM_MIGRATION_BLOCK_FERRY */
	const char *pocl_version, *pocl_device, *ferry_version;
	double total_s;
};

void suite_print_header(void);
void suite_print_row(const struct result *x);
/* Time relative to PoCL per workload and size, over @n results in run order. */
void suite_print_summary(const struct result *res, size_t n);
void suite_write_json(const char *path, const struct suite_info *info, const struct result *res,
		      size_t n);

static inline size_t round_up(size_t x, size_t m)
{
	return (x + m - 1) / m * m;
}

#endif /* FERRY_BENCH_SUITE_H */
