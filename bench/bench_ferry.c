/* SPDX-License-Identifier: MIT */
/*
 * bench_ferry.c - what ferry-bench-migrate and ferry-bench-kernel measure
 * with through the core API (bench_ferry.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "bench_ferry.h"

void (*bench_die_hook)(const char *what, int err);

void bench_die(const char *what, int err)
{
	if (bench_die_hook)
		bench_die_hook(what, err);
	fflush(stdout);
	fprintf(stderr, "%s: error: %s: %s (%d)\n", bench_prog, what, ferry_strerror(err), err);
	exit(1);
}

int size_options(long size_mib, unsigned step, unsigned min, long pages, long reps, uint64_t *size,
		 unsigned *npages, unsigned *nreps)
{
	if (size_mib >= 0) {
		if (size_mib < min || size_mib % step || size_mib > (1L << 20)) {
			fprintf(stderr,
				"%s: error: --size must be a multiple of %u, at least %u (MiB)\n",
				bench_prog, step, min);
			return 0;
		}
		*size = (uint64_t)size_mib * MIB;
	}
	if (!bench_at_least_one("--pages", pages) || !bench_at_least_one("--reps", reps))
		return 0;
	if (pages >= 0)
		*npages = (unsigned)pages;
	if (reps >= 0)
		*nreps = (unsigned)reps;
	return 1;
}

const char *feature_names(uint64_t features, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", features & FERRY_FEATURE_PREFETCHER ? " prefetcher" : "",
		 features & FERRY_FEATURE_EVICTION ? " eviction" : "",
		 features & FERRY_FEATURE_ASYNC_MIGRATE ? " async-migrate" : "",
		 features & FERRY_FEATURE_READ_MOSTLY ? " read-mostly" : "");
	return buf;
}

/* ------------------------------------------------------------------- data */

void host_fill(void *p, uint64_t size, uint64_t seed)
{
	uint64_t *w = p;
	uint64_t a = (uint64_t)(uintptr_t)p;

	for (uint64_t i = 0; i < size / 8; i++)
		w[i] = ferry_pattern(seed, a + i * 8);
}

uint64_t mismatches(const void *data, uint64_t addr, uint64_t size, uint64_t seed)
{
	const volatile uint64_t *w = data;
	uint64_t bad = 0;

	for (uint64_t i = 0; i < size / 8; i++)
		bad += w[i] != ferry_pattern(seed, addr + i * 8);
	return bad;
}

uint64_t host_mismatches(const void *p, uint64_t size, uint64_t seed)
{
	return mismatches(p, (uint64_t)(uintptr_t)p, size, seed);
}

uint64_t pattern_byte(uint64_t seed, uint64_t addr)
{
	return (ferry_pattern(seed, addr & ~7ULL) >> (8 * (addr & 7))) & 0xff;
}

uint64_t touch_expect(const void *p, uint64_t size, uint64_t stride, uint64_t seed)
{
	uint64_t a = (uint64_t)(uintptr_t)p, sum = 0;

	for (uint64_t off = 0; off < size; off += stride)
		sum += pattern_byte(seed, a + off);
	return sum;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* --------------------------------------------------------------- baseline */

double memcpy_gbs(uint64_t size, unsigned runs)
{
	uint64_t best = UINT64_MAX;
	char *src, *dst;

	src = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		bench_die("mmap (memcpy baseline)", -errno);
	memset(src, 0x5a, size); /* pre-fault both */
	memset(dst, 0xa5, size);
	for (unsigned i = 0; i < runs; i++) {
		uint64_t t0 = now_ns(), t;

		memcpy(dst, src, size);
		t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	if (dst[size - 1] != 0x5a)
		fail("memcpy baseline: copy incomplete");
	munmap(src, size);
	munmap(dst, size);
	return gbs(size, best);
}

double memcpy_baseline(uint64_t size, unsigned runs)
{
	double g = memcpy_gbs(size, runs);

	printf("baseline: memcpy of %" PRIu64 " MiB (pre-faulted), best of %u: %.2f GB/s\n",
	       size / MIB, runs, g);
	return g;
}

void baseline_check(uint64_t size, unsigned runs, double start_gbs, uint64_t t0)
{
	double end = memcpy_gbs(size, runs);

	printf("\nbaseline check: memcpy at the end of the run %.2f GB/s (%.2f at the "
	       "start%s)\n",
	       end, start_gbs,
	       end > 1.15 * start_gbs || end < 0.85 * start_gbs
		       ? "; the machine's memory bandwidth drifted, ratios are approximate"
		       : "");
	printf("targets: %d PASS, %d MISS; total time %.1f s\n", bench_pass, bench_miss,
	       (now_ns() - t0) / 1e9);
}

/* ----------------------------------------------------------------- runtime */

void counters(struct ferry_ctx *ctx, struct ferry_counters *c)
{
	memset(c, 0, sizeof(*c));
	TRY(ferry_counters(ctx, c));
}

uint64_t resident(struct ferry_ctx *ctx, const void *p, uint64_t size, int state)
{
	uint64_t count[4] = {0, 0, 0, 0};

	TRY(ferry_query_residency(ctx, p, size, NULL, count));
	return count[state];
}

void expect_resident(struct ferry_ctx *ctx, const void *p, uint64_t size, int state,
		     const char *when)
{
	uint64_t n = resident(ctx, p, size, state);

	if (n != size / PAGE)
		fail("%s: %" PRIu64 " of %" PRIu64 " pages are %s", when, n, size / PAGE,
		     state == FERRY_RES_DEVICE ? "on the device" : "on the host");
}

void expect_device_data(struct ferry_ctx *ctx, const void *p, uint64_t size, uint64_t seed,
			const char *when)
{
	int64_t bad = ferry_dev_check(ctx, p, size, seed);

	if (bad < 0)
		bench_die("ferry_dev_check", (int)bad);
	if (bad)
		fail("%s: the device sees %" PRId64 " wrong words of %" PRIu64, when, bad,
		     size / 8);
}

void migrate_chunks(struct ferry_ctx *ctx, char *p, uint64_t size, uint32_t target)
{
	for (uint64_t off = 0; off < size; off += CHUNK) {
		uint64_t n = size - off < CHUNK ? size - off : CHUNK;

		TRY(ferry_migrate(ctx, p + off, n, target, 0, NULL));
	}
}

uint64_t dev_touch(struct ferry_ctx *ctx, const void *p, uint64_t size, uint64_t stride)
{
	struct ferry_dev_work w;

	memset(&w, 0, sizeof(w));
	w.op = FERRY_DEV_TOUCH;
	w.threads = 1;
	w.addr = (uint64_t)(uintptr_t)p;
	w.size = size;
	w.stride = stride;
	TRY(ferry_device_work(ctx, &w, NULL));
	return w.result;
}

/* --------------------------------------------------- the tests' timed passes */

void migrate_pass(struct ferry_ctx *ctx, char *p, uint64_t size, uint32_t target, unsigned rep,
		  struct way *w, const char *what)
{
	const int to_dev = target == FERRY_LOC_DEVICE;
	struct ferry_counters c0, c1;
	uint64_t t0, t, moved;

	counters(ctx, &c0);
	t0 = now_ns();
	migrate_chunks(ctx, p, size, target);
	t = now_ns() - t0;
	counters(ctx, &c1);
	moved = to_dev ? D(pages_to_device) : D(pages_to_host);
	if (rep == 0) {
		w->first = t;
		w->drv_ns = D(migrate_ns);
		w->whole = D(whole_regions);
		if (moved != size / PAGE)
			note("%spages_to_%s grew by %" PRIu64 ", expected %" PRIu64, what,
			     to_dev ? "device" : "host", moved, size / PAGE);
	}
	if (rep == 0 || t < w->best)
		w->best = t;
}

uint64_t host_check(struct ferry_ctx *ctx, const void *p, uint64_t size, uint64_t seed,
		    uint64_t *faults)
{
	struct ferry_counters c0, c1;
	uint64_t t0, t, bad;

	counters(ctx, &c0);
	t0 = now_ns();
	bad = host_mismatches(p, size, seed);
	t = now_ns() - t0;
	counters(ctx, &c1);
	*faults = D(faults_host);
	if (bad)
		fail("after device->host: the host sees %" PRIu64 " wrong words of %" PRIu64, bad,
		     size / 8);
	return t;
}

void stream_pass(struct ferry_ctx *ctx, char *p, uint64_t size, uint64_t expect, unsigned rep,
		 struct stream *s, const char *what)
{
	struct ferry_counters c0, c1;
	uint64_t t0, t, sum;

	expect_resident(ctx, p, size, FERRY_RES_HOST, "before the device stream");
	counters(ctx, &c0);
	t0 = now_ns();
	sum = dev_touch(ctx, p, size, PAGE);
	t = now_ns() - t0;
	counters(ctx, &c1);
	if (sum != expect)
		fail("%s: TOUCH sum %" PRIu64 ", expected %" PRIu64, what, sum, expect);
	if (rep == 0) {
		s->first = t;
		s->faults = D(faults_device);
		s->batches = D(fault_batches);
		s->pages = D(pages_to_device);
		s->prefetched = D(pages_prefetched);
		s->fault_ns = D(fault_ns);
	}
	if (rep == 0 || t < s->best)
		s->best = t;
	expect_resident(ctx, p, size, FERRY_RES_DEVICE, "after the device stream");
	migrate_chunks(ctx, p, size, FERRY_LOC_HOST);
}

/* ------------------------------------------------------ random 4 KiB faults */

/* @n distinct random page numbers below @npages (partial Fisher-Yates), in @idx[0..n). */
static uint64_t *random_pages(uint64_t npages, unsigned n)
{
	uint64_t *idx = calloc(npages, sizeof(*idx));

	if (!idx)
		bench_die("calloc", -ENOMEM);
	for (uint64_t i = 0; i < npages; i++)
		idx[i] = i;
	for (unsigned i = 0; i < n; i++) {
		uint64_t j = i + rng() % (npages - i), x = idx[i];

		idx[i] = idx[j];
		idx[j] = x;
	}
	return idx;
}

void random_faults(struct ferry_ctx *ctx, char *buf, char *warm, uint64_t span, unsigned n,
		   uint64_t seed, int warm_touches, struct faults *r)
{
	struct ferry_counters c0, c1;
	uint64_t *idx, bad = 0;

	memset(r, 0, sizeof(*r));
	r->n = n;
	r->lf = calloc(n, sizeof(*r->lf));
	r->lr = calloc(n, sizeof(*r->lr));
	r->lh = calloc(n, sizeof(*r->lh));
	if (!r->lf || !r->lr || !r->lh)
		bench_die("calloc", -ENOMEM);
	idx = random_pages(span / PAGE, n);
	/* The host writes only those pages. */
	for (unsigned i = 0; i < n; i++)
		host_fill(buf + idx[i] * PAGE, PAGE, seed);
	host_fill(warm, PAGE, seed);

	/* Warm the request path: the warm page becomes device-resident, then is re-touched. */
	for (int i = 0; i < warm_touches; i++)
		dev_touch(ctx, warm, PAGE, PAGE);

	for (unsigned i = 0; i < n; i++) {
		char *p = buf + idx[i] * PAGE;
		char *q = i ? buf + idx[i - 1] * PAGE : warm;
		uint64_t t0, sum;

		counters(ctx, &c0);
		t0 = now_ns();
		sum = dev_touch(ctx, q, PAGE, PAGE);
		r->lr[i] = now_ns() - t0;
		counters(ctx, &c1);
		bad += sum != pattern_byte(seed, (uint64_t)(uintptr_t)q);
		r->faults_r += D(faults_device);

		c0 = c1;
		t0 = now_ns();
		sum = dev_touch(ctx, p, PAGE, PAGE);
		r->lf[i] = now_ns() - t0;
		counters(ctx, &c1);
		bad += sum != pattern_byte(seed, (uint64_t)(uintptr_t)p);
		r->faults_f += D(faults_device);
		r->mig_f += D(pages_to_device);
		r->drv_ns += D(fault_ns);
	}
	if (bad)
		fail("random faults: %" PRIu64 " TOUCH results differ from the data", bad);
	if (resident(ctx, buf, span, FERRY_RES_DEVICE) != n)
		fail("random faults: %" PRIu64 " pages on the device after touching %u",
		     resident(ctx, buf, span, FERRY_RES_DEVICE), n);

	/* The other direction, for reference: the host reads each device-resident page. */
	counters(ctx, &c0);
	for (unsigned i = 0; i < n; i++) {
		volatile uint8_t *p = (volatile uint8_t *)(buf + idx[i] * PAGE);
		uint64_t t0 = now_ns(), b;

		b = *p;
		r->lh[i] = now_ns() - t0;
		bad += b != pattern_byte(seed, (uint64_t)(uintptr_t)p);
	}
	counters(ctx, &c1);
	r->faults_h = D(faults_host);
	if (bad)
		fail("random host faults: %" PRIu64 " bytes differ from the data", bad);
	free(idx);

	qsort(r->lf, n, sizeof(*r->lf), cmp_u64);
	qsort(r->lr, n, sizeof(*r->lr), cmp_u64);
	qsort(r->lh, n, sizeof(*r->lh), cmp_u64);
}

void faults_free(struct faults *r)
{
	free(r->lf);
	free(r->lr);
	free(r->lh);
}
