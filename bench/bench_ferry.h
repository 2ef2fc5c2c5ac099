/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks over the core API (ferry-bench-migrate,
 * ferry-bench-kernel) share: the data pattern and its checks, counters and
 * residency, migrations in 2 MiB chunks, device touches, the timed passes of
 * the prefetch and stream tests, the random 4 KiB fault measurement and the
 * memcpy baseline (bench_ferry.c, library ferry_bench_core).
 */
#ifndef FERRY_BENCH_FERRY_H
#define FERRY_BENCH_FERRY_H

#include <stdint.h>

#include "bench_common.h"
#include "ferry/ferry.h"

#define MIB (UINT64_C(1) << 20)
#define PAGE ((uint64_t)FERRY_PAGE_SIZE)
#define CHUNK ((uint64_t)FERRY_REGION_SIZE) /* one migration request: 2 MiB */

/* How much counter @f grew from c0 to c1 (struct ferry_counters in scope). */
#define D(f) ((uint64_t)(c1.f - c0.f))

/*
 * An API error (@err a negative errno): "<prog>: error: @what: ..." and exit
 * status 1, or what bench_die_hook does instead (it must not return).
 */
__attribute__((noreturn)) void bench_die(const char *what, int err);
extern void (*bench_die_hook)(const char *what, int err);

#define TRY(call)                                                                                  \
	do {                                                                                       \
		int r_ = (call);                                                                   \
		if (r_ < 0)                                                                        \
			bench_die(#call, r_);                                                      \
	} while (0)

/*
 * The options both benchmarks take, given (>= 0) or not (-1): --size in MiB,
 * a multiple of @step and at least @min, into @size; --pages and --reps, at
 * least 1, into @pages and @reps. 0 after a message when one is out of range.
 */
int size_options(long size_mib, unsigned step, unsigned min, long pages, long reps, uint64_t *size,
		 unsigned *npages, unsigned *nreps);

/* " prefetcher eviction ...": the FERRY_FEATURE_* bits of @features, in @buf. */
const char *feature_names(uint64_t features, char *buf, size_t len);

/* ------------------------------------------------------------------- data */

/* ferry_pattern(@seed, address) in every word of [@p, @p + @size). */
void host_fill(void *p, uint64_t size, uint64_t seed);
/* Words of @data that differ from the pattern of [@addr, @addr + @size). */
uint64_t mismatches(const void *data, uint64_t addr, uint64_t size, uint64_t seed);
uint64_t host_mismatches(const void *p, uint64_t size, uint64_t seed);
/* The byte FERRY_DEV_TOUCH reads at @addr when the data is ferry_pattern(@seed). */
uint64_t pattern_byte(uint64_t seed, uint64_t addr);
/* The sum FERRY_DEV_TOUCH returns over [@p, @p + @size) at @stride. */
uint64_t touch_expect(const void *p, uint64_t size, uint64_t stride, uint64_t seed);
/* xorshift64*, the same sequence in every run. */
uint64_t rng(void);

/* memcpy of @size bytes between pre-faulted buffers, best of @runs, in GB/s. */
double memcpy_gbs(uint64_t size, unsigned runs);
/* That, printed as the run's baseline. */
double memcpy_baseline(uint64_t size, unsigned runs);
/* The baseline measured again (has the machine drifted?) and the targets: the last lines. */
void baseline_check(uint64_t size, unsigned runs, double start_gbs, uint64_t t0);

/* ----------------------------------------------------------------- runtime */

void counters(struct ferry_ctx *ctx, struct ferry_counters *c);
/* Pages of [p, p + size) in state @state. */
uint64_t resident(struct ferry_ctx *ctx, const void *p, uint64_t size, int state);
/* A failed check unless every page of [p, p + size) is in @state. */
void expect_resident(struct ferry_ctx *ctx, const void *p, uint64_t size, int state,
		     const char *when);
/* A failed check unless the device reads the pattern of @seed in [p, p + size). */
void expect_device_data(struct ferry_ctx *ctx, const void *p, uint64_t size, uint64_t seed,
			const char *when);
/* ferry_migrate of [p, p + size) to @target, in 2 MiB synchronous requests. */
void migrate_chunks(struct ferry_ctx *ctx, char *p, uint64_t size, uint32_t target);
/* FERRY_DEV_TOUCH of [p, p + size) at @stride, one thread: the sum of the bytes read. */
uint64_t dev_touch(struct ferry_ctx *ctx, const void *p, uint64_t size, uint64_t stride);

/* --------------------------------------------------- the tests' timed passes */

/* One direction of the prefetch test, over its repetitions. */
struct way {
	uint64_t first, best; /* ns: the first pass, the fastest */
	uint64_t drv_ns;      /* the first pass's driver time (migrate_ns) */
	uint64_t whole;	      /* the first pass's whole regions */
};

/*
 * Repetition @rep of migrating [p, p + size) to @target in 2 MiB chunks,
 * timed into @w; on the first, a note (prefixed by @what) when not every
 * page moved.
 */
void migrate_pass(struct ferry_ctx *ctx, char *p, uint64_t size, uint32_t target, unsigned rep,
		  struct way *w, const char *what);
/*
 * The host reads [p, p + size) back and checks it (a failed check "after
 * device->host" otherwise): the time it took, its host faults in @faults.
 */
uint64_t host_check(struct ferry_ctx *ctx, const void *p, uint64_t size, uint64_t seed,
		    uint64_t *faults);

/* The fault-driven stream, over its repetitions. */
struct stream {
	uint64_t first, best; /* ns: the first pass, the fastest */
	/* the first pass's counters */
	uint64_t faults, batches, pages, prefetched, fault_ns;
};

/*
 * Repetition @rep of the stream: the device touches every page of the
 * host-resident [p, p + size) (FERRY_DEV_TOUCH, stride 4 KiB), timed into
 * @s and checked against @expect (a failure names @what); then every page
 * goes back to the host.
 */
void stream_pass(struct ferry_ctx *ctx, char *p, uint64_t size, uint64_t expect, unsigned rep,
		 struct stream *s, const char *what);

/* Random 4 KiB device faults (random_faults). */
struct faults {
	unsigned n;			  /* pages */
	uint64_t *lf, *lr, *lh;		  /* ns, sorted: faulting, resident and host touches */
	uint64_t faults_f, mig_f, drv_ns; /* device faults, pages moved, driver time: faulting */
	uint64_t faults_r;		  /* device faults of the resident touches (0) */
	uint64_t faults_h;		  /* host faults of the host touches */
};

/*
 * @n distinct random pages of [buf, buf + span), the host's data (pattern of
 * @seed), each touched by the device (FERRY_DEV_TOUCH of the whole page)
 * right after the same request on a page that is device-resident already
 * (the previous one, or @warm, touched @warm_touches times first): the
 * round trip alone, under the same conditions, so that drift of the
 * machine affects both alike. Then the host reads every page back. Every
 * result is checked. Free with faults_free().
 */
void random_faults(struct ferry_ctx *ctx, char *buf, char *warm, uint64_t span, unsigned n,
		   uint64_t seed, int warm_touches, struct faults *r);
void faults_free(struct faults *r);

#endif /* FERRY_BENCH_FERRY_H */
