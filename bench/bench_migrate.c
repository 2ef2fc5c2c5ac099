/* SPDX-License-Identifier: MIT */
/*
 * bench_migrate.c - migration throughput and fault latency of the Ferry runtime.
 *
 * Measures, through the core API (include/ferry/ferry.h):
 *   1. explicit prefetch (ferry_migrate in 2 MiB chunks) host->device and back;
 *   2. a fault-driven sequential device stream over host-resident data, with
 *      the density prefetcher on and off;
 *   3. the latency of random 4 KiB device faults (4 KiB blocks, no prefetcher),
 *      against the same request on an already device-resident page;
 *   4. a device stream over twice as much data as device memory holds.
 *
 * Every figure carries its ratio to a baseline measured in the same run: the
 * memcpy bandwidth of a pre-faulted buffer of the benchmark size (best of
 * several runs), or the explicit-prefetch throughput for the fault-driven
 * streams. Targets are printed next to the figures with PASS/MISS. The exit
 * status is 0 whatever the figures; 1 when something failed (an API error,
 * wrong data, a broken invariant), with a message.
 *
 * GB/s here is 10^9 bytes per second; sizes are in MiB (2^20 bytes).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_ferry.h"
#include "common/settings.h"

#define TARGET_PREFETCH 0.80 /* prefetch GB/s / memcpy GB/s */
#define TARGET_STREAM 0.50   /* fault-driven (prefetcher on) / prefetch h2d */
#define TARGET_FAULT_US 15.0 /* median 4 KiB fault cost */

static struct {
	uint64_t size;	/* bytes of data per test */
	unsigned pages; /* random pages for the latency test */
	unsigned reps;	/* repetitions of the throughput tests */
	unsigned memcpy_runs;
	unsigned timeout; /* seconds, 0 = none */
	int quick;
	unsigned tests; /* bit mask of TEST_* */
} cfg;

enum {
	TEST_PREFETCH = 1,
	TEST_STREAM = 2,
	TEST_LATENCY = 4,
	TEST_OVERSUB = 8,
	TEST_TRACE = 16,
	TEST_ALL = 31
};

static const char *const test_names[] = {"prefetch", "stream", "latency", "oversub", "trace"};

static double g_memcpy_gbs; /* baseline */
static double g_h2d_gbs;    /* best explicit prefetch host->device */
static double g_stream_gbs; /* best fault-driven stream, prefetcher on */
static int g_version_shown;
static int g_opens, g_open_enodev; /* ferry_open calls, and those that failed with -ENODEV */

#define OPEN_RETRIES 4

/* ----------------------------------------------------------------- runtime */

static const char *backend_name(uint32_t b)
{
	return b == FERRY_BACKEND_USER	   ? "user (udriver)"
	       : b == FERRY_BACKEND_KERNEL ? "kernel"
					   : "?";
}

static struct ferry_ctx *open_ctx(uint64_t device_memory, uint64_t block_size, int prefetch)
{
	struct ferry_options o;
	struct ferry_ctx *ctx = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	o.device_memory = device_memory;
	o.block_size = block_size;
	o.prefetch = prefetch;
	/*
	 * -ENODEV from ferry_open means ferry-device died while binding the
	 * window. Seen intermittently (about one open in ten): retry, and
	 * report how often it happened at the end of the run.
	 */
	for (int attempt = 0;; attempt++) {
		g_opens++;
		r = ferry_open(&o, &ctx);
		if (r != -ENODEV || attempt == OPEN_RETRIES)
			break;
		g_open_enodev++;
	}
	if (r == -EPERM) {
		fflush(stdout);
		fprintf(stderr,
			"ferry-bench-migrate: error: ferry_open failed with EPERM: %s\n"
			"  The user-space driver needs userfaultfd; nothing was measured.\n",
			ferry_strerror(r));
		exit(1);
	}
	if (r == -ENOENT) {
		fflush(stdout);
		fprintf(stderr,
			"ferry-bench-migrate: error: ferry_open: the ferry-device executable "
			"was not found; set FERRY_DEVICE_PATH\n");
		exit(1);
	}
	if (r < 0)
		bench_die("ferry_open", r);
	if (!g_version_shown) {
		struct ferry_version v;
		char fbuf[80];

		memset(&v, 0, sizeof(v));
		TRY(ferry_ioctl(ctx, FERRY_IOCTL_VERSION, &v));
		printf("runtime: uapi %u.%u, backend %s, features%s, window %" PRIu64
		       " GiB at %p\n",
		       v.major, v.minor, backend_name(v.backend),
		       feature_names(v.features, fbuf, sizeof(fbuf)), ferry_window_size(ctx) >> 30,
		       ferry_window_base(ctx));
		if (v.major != FERRY_UAPI_VERSION_MAJOR) {
			fflush(stdout);
			fprintf(stderr,
				"ferry-bench-migrate: error: driver uapi %u, built for %d\n",
				v.major, FERRY_UAPI_VERSION_MAJOR);
			exit(1);
		}
		g_version_shown = 1;
	}
	return ctx;
}

static uint64_t features(struct ferry_ctx *ctx)
{
	struct ferry_version v;

	memset(&v, 0, sizeof(v));
	TRY(ferry_ioctl(ctx, FERRY_IOCTL_VERSION, &v));
	return v.features;
}

/* Device memory for a test that must hold @size bytes: the default when it fits. */
static uint64_t device_memory_for(uint64_t size)
{
	return 2 * size > (1ULL << 30) ? 2 * size : 0;
}

static void *alloc_or_die(struct ferry_ctx *ctx, uint64_t size)
{
	void *p = ferry_alloc(ctx, size, FERRY_REGION_SIZE);

	if (!p) {
		fflush(stdout);
		fprintf(stderr, "ferry-bench-migrate: error: ferry_alloc(%" PRIu64 " MiB) failed\n",
			size / MIB);
		exit(1);
	}
	return p;
}

/* The same, pipelined: every chunk issued asynchronously, then every fence waited. */
static void migrate_chunks_async(struct ferry_ctx *ctx, char *p, uint64_t size, uint32_t target,
				 uint64_t *fences)
{
	uint64_t i = 0;

	for (uint64_t off = 0; off < size; off += CHUNK, i++) {
		uint64_t n = size - off < CHUNK ? size - off : CHUNK;

		TRY(ferry_migrate(ctx, p + off, n, target, FERRY_MIGRATE_ASYNC, &fences[i]));
	}
	for (uint64_t j = 0; j < i; j++)
		TRY(ferry_wait(ctx, fences[j]));
}

/* ---------------------------------------------------- 1. explicit prefetch */

/*
 * The user backend's vram pool (FERRY_VRAM_PREPOPULATE) populates the device
 * capacity in the background from the start, as a GPU's memory exists
 * before the application: wait for it (at most 30 s) so that the first trip
 * measures the copy into existing memory, and report what filling it took.
 */
static void wait_vram_pool(struct ferry_ctx *ctx, uint64_t t_open)
{
	struct ferry_version v;
	struct ferry_counters c;
	uint64_t t0 = now_ns();

	memset(&v, 0, sizeof(v));
	TRY(ferry_ioctl(ctx, FERRY_IOCTL_VERSION, &v));
	if (v.backend != FERRY_BACKEND_USER || !ferry_vram_prepopulate_enabled()) {
		note("vram pool: off (FERRY_VRAM_PREPOPULATE=0, or not the user backend)");
		return;
	}
	do {
		counters(ctx, &c);
		if (c.device_cached_pages >= c.device_capacity_pages)
			break;
		usleep(1000);
	} while (now_ns() - t0 < 30 * 1000000000ULL);
	note("vram pool: %" PRIu64 " of %" PRIu64 " MiB populated %.0f ms after ferry_open "
	     "(in the background; waited %.0f ms for it here)",
	     (uint64_t)c.device_cached_pages * PAGE >> 20,
	     (uint64_t)c.device_capacity_pages * PAGE >> 20, (now_ns() - t_open) / 1e6,
	     (now_ns() - t0) / 1e6);
}

/* The first host touch of untouched window memory (host zero-fill faults). */
static void prefetch_first_touch(struct ferry_ctx *ctx, char *buf, uint64_t size)
{
	struct ferry_counters c0, c1;
	uint64_t t0, t;

	counters(ctx, &c0);
	t0 = now_ns();
	memset(buf, 0x5a, size);
	t = now_ns() - t0;
	counters(ctx, &c1);
	row("host first touch of untouched memory (memset)", gbs(size, t), 2, "GB/s",
	    safe_ratio(gbs(size, t), g_memcpy_gbs), "memcpy", "-", V_NONE);
	note("counters: faults_host %" PRIu64 ", zero_fill_host %" PRIu64
	     " pages, fault_batches %" PRIu64,
	     D(faults_host), D(zero_fill_host), D(fault_batches));
}

/* One pass each way with every chunk issued asynchronously (when the driver can). */
static void prefetch_async(struct ferry_ctx *ctx, char *buf, uint64_t size)
{
	uint64_t nchunks = (size + CHUNK - 1) / CHUNK;
	uint64_t *fences, t0, ta, tb;

	if (!(features(ctx) & FERRY_FEATURE_ASYNC_MIGRATE))
		return;
	fences = calloc(nchunks, sizeof(*fences));
	if (!fences)
		bench_die("calloc", -ENOMEM);
	t0 = now_ns();
	migrate_chunks_async(ctx, buf, size, FERRY_LOC_DEVICE, fences);
	ta = now_ns() - t0;
	expect_resident(ctx, buf, size, FERRY_RES_DEVICE, "after async host->device");
	t0 = now_ns();
	migrate_chunks_async(ctx, buf, size, FERRY_LOC_HOST, fences);
	tb = now_ns() - t0;
	expect_resident(ctx, buf, size, FERRY_RES_HOST, "after async device->host");
	free(fences);
	row("host->device, async chunks, one pass", gbs(size, ta), 2, "GB/s",
	    safe_ratio(gbs(size, ta), g_memcpy_gbs), "memcpy", "-", V_NONE);
	row("device->host, async chunks, one pass", gbs(size, tb), 2, "GB/s",
	    safe_ratio(gbs(size, tb), g_memcpy_gbs), "memcpy", "-", V_NONE);
}

static void bench_prefetch(void)
{
	const uint64_t size = cfg.size, seed = 1;
	struct way h2d = {0}, d2h = {0};
	uint64_t hread_t = 0, hread_faults = 0, t_open;
	struct ferry_ctx *ctx;
	char *buf;
	char name[64];

	section("1. explicit prefetch: ferry_migrate of %" PRIu64 " MiB in 2 MiB chunks "
		"(synchronous), host filled the data first",
		size / MIB);
	t_open = now_ns();
	ctx = open_ctx(device_memory_for(size), 0, -1);
	table_header();
	buf = alloc_or_die(ctx, size);
	prefetch_first_touch(ctx, buf, size);
	host_fill(buf, size, seed);
	wait_vram_pool(ctx, t_open);

	for (unsigned rep = 0; rep < cfg.reps; rep++) {
		expect_resident(ctx, buf, size, FERRY_RES_HOST, "before host->device");
		migrate_pass(ctx, buf, size, FERRY_LOC_DEVICE, rep, &h2d, "");
		expect_resident(ctx, buf, size, FERRY_RES_DEVICE, "after host->device");
		if (rep == 0)
			expect_device_data(ctx, buf, size, seed, "after host->device");
		migrate_pass(ctx, buf, size, FERRY_LOC_HOST, rep, &d2h, "");
		expect_resident(ctx, buf, size, FERRY_RES_HOST, "after device->host");
		/* Are the pages mapped for the host again, or does each fault? */
		if (rep == 0)
			hread_t = host_check(ctx, buf, size, seed, &hread_faults);
	}
	g_h2d_gbs = gbs(size, h2d.best);
	snprintf(name, sizeof(name), "host->device, first of %u", cfg.reps);
	row(name, gbs(size, h2d.first), 2, "GB/s", safe_ratio(gbs(size, h2d.first), g_memcpy_gbs),
	    "memcpy", "-", V_NONE);
	snprintf(name, sizeof(name), "host->device, best of %u", cfg.reps);
	row(name, g_h2d_gbs, 2, "GB/s", safe_ratio(g_h2d_gbs, g_memcpy_gbs), "memcpy", ">= 0.80",
	    at_least(safe_ratio(g_h2d_gbs, g_memcpy_gbs), TARGET_PREFETCH));
	snprintf(name, sizeof(name), "device->host, first of %u", cfg.reps);
	row(name, gbs(size, d2h.first), 2, "GB/s", safe_ratio(gbs(size, d2h.first), g_memcpy_gbs),
	    "memcpy", "-", V_NONE);
	snprintf(name, sizeof(name), "device->host, best of %u", cfg.reps);
	row(name, gbs(size, d2h.best), 2, "GB/s", safe_ratio(gbs(size, d2h.best), g_memcpy_gbs),
	    "memcpy", ">= 0.80",
	    at_least(safe_ratio(gbs(size, d2h.best), g_memcpy_gbs), TARGET_PREFETCH));
	note("first run: driver migrate_ns %.1f ms of %.1f ms wall (h->d), %.1f of %.1f ms (d->h); "
	     "%" PRIu64 " requests each way; whole regions %" PRIu64 " (h->d), %" PRIu64
	     " (d->h) of %" PRIu64,
	     h2d.drv_ns / 1e6, h2d.first / 1e6, d2h.drv_ns / 1e6, d2h.first / 1e6,
	     (size + CHUNK - 1) / CHUNK, h2d.whole, d2h.whole,
	     (uint64_t)(size / FERRY_REGION_SIZE));
	row("host read after migrate-to-host (check)", gbs(size, hread_t), 2, "GB/s",
	    safe_ratio(gbs(size, hread_t), g_memcpy_gbs), "memcpy", "-", V_NONE);
	note("counters: faults_host %" PRIu64 " during the read (0 = the pages were mapped)",
	     hread_faults);
	prefetch_async(ctx, buf, size);
	ferry_close(ctx);
}

/*
 * The floor under any migration built on page tables, measured in this
 * process on shmem with no driver involved, with the primitives udriver
 * uses: unmapping 2 MiB of populated pages from a view (MADV_DONTNEED, what
 * the host agent does), copying 2 MiB between two populated mappings, and
 * mapping 2 MiB of existing pages into a view (UFFDIO_CONTINUE, what the
 * device side does). A migration does all three; on 2 CPUs the best it can
 * do is to overlap them. Prints the ceiling this puts on prefetch/memcpy.
 */
static int floor_uffd(void *view, uint64_t size)
{
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_MINOR_SHMEM};
	struct uffdio_register reg = {.range = {.start = (uintptr_t)view, .len = size},
				      .mode = UFFDIO_REGISTER_MODE_MINOR};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void bench_floor(void)
{
	const uint64_t size = cfg.size < 64 * MIB ? cfg.size : 64 * MIB, n = size / CHUNK;
	uint64_t tz = 0, tc = 0, tm = 0;
	int fa = memfd_create("ferry-floor-a", MFD_CLOEXEC);
	int fb = memfd_create("ferry-floor-b", MFD_CLOEXEC);
	char *a, *b, *va;
	double z, c, m, seq, par;
	int uffd;

	if (fa < 0 || fb < 0 || ftruncate(fa, (off_t)size) || ftruncate(fb, (off_t)size))
		bench_die("memfd (page-table floor)", -errno);
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0);
	b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fb, 0);
	va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0); /* the view */
	if (a == MAP_FAILED || b == MAP_FAILED || va == MAP_FAILED)
		bench_die("mmap (page-table floor)", -errno);
	memset(a, 0x5a, size); /* allocate every page of both files */
	memset(b, 0xa5, size);
	uffd = floor_uffd(va, size);
	if (uffd < 0) {
		printf("\n  page-table floor: skipped (userfaultfd minor mode: %s)\n",
		       strerror(-uffd));
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		struct uffdio_continue cont = {
			.range = {.start = (uintptr_t)va + i * CHUNK, .len = CHUNK}};
		uint64_t off = i * CHUNK, t0, t1, t2, t3;

		if (ioctl(uffd, UFFDIO_CONTINUE, &cont)) /* map the view: it has pages to zap */
			bench_die("UFFDIO_CONTINUE (page-table floor)", -errno);
		t0 = now_ns();
		if (madvise(va + off, CHUNK, MADV_DONTNEED))
			bench_die("madvise(MADV_DONTNEED)", -errno);
		t1 = now_ns();
		memcpy(b + off, a + off, CHUNK);
		t2 = now_ns();
		if (ioctl(uffd, UFFDIO_CONTINUE, &cont))
			bench_die("UFFDIO_CONTINUE (page-table floor)", -errno);
		t3 = now_ns();
		tz += t1 - t0;
		tc += t2 - t1;
		tm += t3 - t2;
	}
	close(uffd);
	if (b[size - 1] != 0x5a || va[size - 1] != 0x5a)
		fail("page-table floor: copy incomplete");

	z = (double)tz, c = (double)tc, m = (double)tm;
	seq = c / (z + c + m);
	/* two CPUs: no better than the longest step, nor than half of all the work */
	par = c / fmax(fmax(z, fmax(c, m)), (z + c + m) / 2);
	printf("\n  page-table floor (this process, shmem, %" PRIu64 " x 2 MiB, no driver):\n", n);
	row("unmap 2 MiB of a view (MADV_DONTNEED)", gbs(size, tz), 2, "GB/s",
	    safe_ratio(gbs(size, tz), g_memcpy_gbs), "memcpy", "-", V_NONE);
	row("copy 2 MiB between mapped pages", gbs(size, tc), 2, "GB/s",
	    safe_ratio(gbs(size, tc), g_memcpy_gbs), "memcpy", "-", V_NONE);
	row("map 2 MiB of existing pages (CONTINUE)", gbs(size, tm), 2, "GB/s",
	    safe_ratio(gbs(size, tm), g_memcpy_gbs), "memcpy", "-", V_NONE);
	row("ceiling: unmap + copy + map in sequence", seq * gbs(size, tc), 2, "GB/s",
	    safe_ratio(seq * gbs(size, tc), g_memcpy_gbs), "memcpy", "-", V_NONE);
	row("ceiling: the three overlapped on 2 CPUs", par * gbs(size, tc), 2, "GB/s",
	    safe_ratio(par * gbs(size, tc), g_memcpy_gbs), "memcpy", "-", V_NONE);
	note("a migration that changes 4 KiB page-table entries on both sides, with no "
	     "cross-process request, cannot beat these ceilings on this machine; udriver's "
	     "whole regions (2 MiB entries, counters.whole_regions) do not change them");
out:
	munmap(a, size);
	munmap(b, size);
	munmap(va, size);
	close(fa);
	close(fb);
}

/* -------------------------------------------- 2. fault-driven device stream */

static void bench_stream(void)
{
	const uint64_t size = cfg.size, npages = size / PAGE, seed = 2;

	section("2. fault-driven sequential stream: the device touches %" PRIu64
		" MiB of host-resident data (FERRY_DEV_TOUCH, stride 4096, 1 thread)",
		size / MIB);
	table_header();
	for (int pf = 1; pf >= 0; pf--) {
		struct stream st = {0};
		uint64_t expect, v = 0;
		struct ferry_ctx *ctx = open_ctx(device_memory_for(size), 0, pf);
		char *buf = alloc_or_die(ctx, size);
		char name[64];
		double g;

		TRY(ferry_get_attr(ctx, buf, size, FERRY_ATTR_PREFETCH, &v));
		if (v != (uint64_t)pf)
			fail("ferry_options.prefetch = %d but FERRY_ATTR_PREFETCH reads %" PRIu64,
			     pf, v);
		host_fill(buf, size, seed);
		expect = touch_expect(buf, size, PAGE, seed);
		snprintf(name, sizeof(name), "device stream (prefetch %d)", pf);
		for (unsigned rep = 0; rep < cfg.reps; rep++)
			stream_pass(ctx, buf, size, expect, rep, &st, name);
		g = gbs(size, st.best);
		snprintf(name, sizeof(name), "prefetcher %s, first of %u", pf ? "on" : "off",
			 cfg.reps);
		row(name, gbs(size, st.first), 2, "GB/s",
		    safe_ratio(gbs(size, st.first), g_h2d_gbs), "prefetch h->d", "-", V_NONE);
		snprintf(name, sizeof(name), "prefetcher %s, best of %u", pf ? "on" : "off",
			 cfg.reps);
		if (pf) {
			g_stream_gbs = g;
			row(name, g, 2, "GB/s", safe_ratio(g, g_h2d_gbs), "prefetch h->d",
			    ">= 0.50", at_least(safe_ratio(g, g_h2d_gbs), TARGET_STREAM));
		} else {
			row(name, g, 2, "GB/s", safe_ratio(g, g_h2d_gbs), "prefetch h->d", "-",
			    V_NONE);
			row("speed-up from the prefetcher (on / off)", safe_ratio(g_stream_gbs, g),
			    2, "x", safe_ratio(g_stream_gbs, g), "prefetcher off", "-", V_NONE);
		}
		note("first run: faults_device %" PRIu64
		     " (%.1f pages/fault), fault_batches %" PRIu64 ", pages_to_device %" PRIu64
		     " of %" PRIu64 ", pages_prefetched %" PRIu64
		     ", driver fault_ns %.1f ms of %.1f ms wall",
		     st.faults, st.faults ? (double)st.pages / st.faults : 0.0, st.batches,
		     st.pages, npages, st.prefetched, st.fault_ns / 1e6, st.first / 1e6);
		ferry_close(ctx);
	}
}

/* ------------------------------------------------ 3. random 4 KiB faults */

static void bench_latency(void)
{
	const uint64_t span = cfg.size, npages = span / PAGE, seed = 3;
	unsigned n = cfg.pages;
	struct faults r;
	double mf, pf99, mr, pr99, mh, ph99, cost, cost99, memcpy4k_us;
	struct ferry_ctx *ctx;
	char *buf, *warm;

	if (n > npages)
		n = (unsigned)npages;
	section("3. random 4 KiB device faults: block size 4 KiB, prefetcher off, %u random pages "
		"of %" PRIu64
		" MiB, one FERRY_DEV_TOUCH (4096 bytes) per page, timed on the host;\n"
		"   each is preceded by the same request on a device-resident page (round trip "
		"alone)",
		n, span / MIB);
	ctx = open_ctx(device_memory_for(span), PAGE, 0);
	table_header();
	buf = alloc_or_die(ctx, span);
	warm = alloc_or_die(ctx, PAGE);
	random_faults(ctx, buf, warm, span, n, seed, 64, &r);
	mf = pct_us(r.lf, n, 50);
	pf99 = pct_us(r.lf, n, 99);
	mr = pct_us(r.lr, n, 50);
	pr99 = pct_us(r.lr, n, 99);
	mh = pct_us(r.lh, n, 50);
	ph99 = pct_us(r.lh, n, 99);
	cost = mf - mr;
	cost99 = pf99 - mr;
	/* Latency ratios: multiples of the time memcpy takes for 4 KiB at the baseline rate. */
	memcpy4k_us = g_memcpy_gbs > 0 ? PAGE / g_memcpy_gbs / 1000.0 : NAN;

	row("device touch, host-resident page, median", mf, 1, "us", safe_ratio(mf, memcpy4k_us),
	    "memcpy 4K", "-", V_NONE);
	row("device touch, host-resident page, p99", pf99, 1, "us", safe_ratio(pf99, memcpy4k_us),
	    "memcpy 4K", "-", V_NONE);
	row("device touch, device-resident page, median", mr, 1, "us", safe_ratio(mr, memcpy4k_us),
	    "memcpy 4K", "-", V_NONE);
	row("device touch, device-resident page, p99", pr99, 1, "us", safe_ratio(pr99, memcpy4k_us),
	    "memcpy 4K", "-", V_NONE);
	row("4 KiB fault cost, median (medians' difference)", cost, 1, "us",
	    safe_ratio(cost, memcpy4k_us), "memcpy 4K", "<= 15 us",
	    cost <= TARGET_FAULT_US ? V_PASS : V_MISS);
	row("4 KiB fault cost, p99 - resident median", cost99, 1, "us",
	    safe_ratio(cost99, memcpy4k_us), "memcpy 4K", "-", V_NONE);
	row("host touch, device-resident page, median", mh, 1, "us", safe_ratio(mh, memcpy4k_us),
	    "memcpy 4K", "-", V_NONE);
	row("host touch, device-resident page, p99", ph99, 1, "us", safe_ratio(ph99, memcpy4k_us),
	    "memcpy 4K", "-", V_NONE);
	row("device faults per faulting touch", (double)r.faults_f / n, 2, "",
	    (double)r.faults_f / n, "1 expected", "-", V_NONE);
	row("device faults per resident touch", (double)r.faults_r / n, 2, "", NAN, "0 expected",
	    "-", V_NONE);
	row("pages to device per faulting touch", (double)r.mig_f / n, 2, "", (double)r.mig_f / n,
	    "1 expected", "-", V_NONE);
	row("host faults per host touch", (double)r.faults_h / n, 2, "", (double)r.faults_h / n,
	    "1 expected", "-", V_NONE);
	note("counters: %u faulting touches: faults_device %" PRIu64 ", pages_to_device %" PRIu64
	     ", driver fault_ns %.1f us per fault; %u resident touches: faults_device %" PRIu64
	     "; %u host touches: faults_host %" PRIu64,
	     n, r.faults_f, r.mig_f, r.faults_f ? r.drv_ns / 1e3 / r.faults_f : 0.0, n, r.faults_r,
	     n, r.faults_h);
	note("memcpy 4K = %.3f us at the baseline rate", memcpy4k_us);
	faults_free(&r);
	ferry_close(ctx);
}

/* ------------------------------------------------ 4. oversubscribed stream */

static void bench_oversub(void)
{
	const uint64_t size = cfg.size, dmem = size / 2, seed = 4;
	struct ferry_counters c0, c1, cm;
	uint64_t t0, t1, t2, expect, s1, s2, bad, cap;
	struct ferry_ctx *ctx;
	char *buf;
	double g1, g2, gt;

	section("4. oversubscribed stream: device memory %" PRIu64
		" MiB, the device touches %" PRIu64
		" MiB of host data twice (TOUCH, stride 4096, 1 thread)",
		dmem / MIB, size / MIB);
	ctx = open_ctx(dmem, 0, -1);
	table_header();
	buf = alloc_or_die(ctx, size);
	host_fill(buf, size, seed);
	expect = touch_expect(buf, size, PAGE, seed);

	counters(ctx, &c0);
	cap = c0.device_capacity_pages;
	if (cap != dmem / PAGE)
		note("device_capacity_pages %" PRIu64 ", asked for %" PRIu64, cap, dmem / PAGE);
	t0 = now_ns();
	s1 = dev_touch(ctx, buf, size, PAGE);
	t1 = now_ns();
	counters(ctx, &cm);
	s2 = dev_touch(ctx, buf, size, PAGE);
	t2 = now_ns();
	counters(ctx, &c1);
	if (s1 != expect || s2 != expect)
		fail("oversubscribed stream: TOUCH sums %" PRIu64 " and %" PRIu64
		     ", expected %" PRIu64,
		     s1, s2, expect);
	if (c1.device_peak_pages > cap)
		fail("oversubscribed stream: device residency peaked at %" PRIu64
		     " pages, capacity %" PRIu64,
		     (uint64_t)c1.device_peak_pages, cap);
	if (resident(ctx, buf, size, FERRY_RES_DEVICE) > cap)
		fail("oversubscribed stream: more pages on the device than its capacity");

	g1 = gbs(size, t1 - t0);
	g2 = gbs(size, t2 - t1);
	gt = gbs(2 * size, t2 - t0);
	row("pass 1", g1, 2, "GB/s", safe_ratio(g1, g_memcpy_gbs), "memcpy", "-", V_NONE);
	row("pass 2", g2, 2, "GB/s", safe_ratio(g2, g_memcpy_gbs), "memcpy", "-", V_NONE);
	row("both passes", gt, 2, "GB/s", safe_ratio(gt, g_memcpy_gbs), "memcpy", "-", V_NONE);
	row("both passes (vs in-capacity stream)", gt, 2, "GB/s", safe_ratio(gt, g_stream_gbs),
	    "stream pf on", "-", V_NONE);
	row("evictions (blocks)", (double)D(evictions), 0, "", NAN, "-", "-", V_NONE);
	row("pages evicted", (double)D(pages_evicted), 0, "",
	    safe_ratio((double)D(pages_evicted), (double)D(pages_to_device)), "pages to dev", "-",
	    V_NONE);
	row("pages to device", (double)D(pages_to_device), 0, "",
	    safe_ratio((double)D(pages_to_device), (double)(2 * size / PAGE)), "2 x data", "-",
	    V_NONE);
	row("device peak residency (pages)", (double)c1.device_peak_pages, 0, "",
	    safe_ratio((double)c1.device_peak_pages, (double)cap), "capacity", "<= 1.00",
	    c1.device_peak_pages <= cap ? V_PASS : V_MISS);
	note("pass 1: evictions %" PRIu64 ", pages_evicted %" PRIu64 "; pass 2: evictions %" PRIu64
	     ", pages_evicted %" PRIu64 "; faults_device %" PRIu64 ", pages_prefetched %" PRIu64
	     ", thrashing %" PRIu64 ", pages_to_host %" PRIu64,
	     (uint64_t)(cm.evictions - c0.evictions),
	     (uint64_t)(cm.pages_evicted - c0.pages_evicted),
	     (uint64_t)(c1.evictions - cm.evictions),
	     (uint64_t)(c1.pages_evicted - cm.pages_evicted), D(faults_device), D(pages_prefetched),
	     D(thrashing), D(pages_to_host));

	/* Nothing may be lost: every word readable on the host. */
	bad = host_mismatches(buf, size, seed);
	if (bad)
		fail("oversubscribed stream: the host sees %" PRIu64 " wrong words afterwards",
		     bad);
	ferry_close(ctx);
}

/* -------------------------------------------------------------------- main */

/* ------------------------------------------------ 5. the cost of FERRY_TRACE */

/* Best of cfg.reps device streams over host data, 64 KiB faults, no prefetcher. */
static uint64_t trace_stream(uint64_t size, uint64_t *faults)
{
	struct ferry_ctx *ctx = open_ctx(device_memory_for(size), 0, 0);
	char *buf = alloc_or_die(ctx, size);
	uint64_t best = UINT64_MAX, expect;
	struct ferry_counters c0, c1;

	host_fill(buf, size, 5);
	expect = touch_expect(buf, size, PAGE, 5);
	counters(ctx, &c0);
	for (unsigned rep = 0; rep < cfg.reps; rep++) {
		uint64_t t0 = now_ns(), t, sum = dev_touch(ctx, buf, size, PAGE);

		t = now_ns() - t0;
		if (sum != expect)
			fail("traced stream: TOUCH sum %" PRIu64 ", expected %" PRIu64, sum,
			     expect);
		if (t < best)
			best = t;
		migrate_chunks(ctx, buf, size, FERRY_LOC_HOST);
	}
	counters(ctx, &c1);
	*faults = D(faults_device) + D(faults_host);
	ferry_close(ctx); /* a traced VA space writes the file here */
	return best;
}

static void bench_trace(void)
{
	const uint64_t size = cfg.size < 64 * MIB ? cfg.size : 64 * MIB;
	char path[] = "/tmp/ferry-bench-trace-XXXXXX";
	uint64_t off, on, f_off, f_on;
	struct stat st;
	int fd;

	section("5. the cost of FERRY_TRACE: the device streams over %" PRIu64
		" MiB of host data, 64 KiB faults, no prefetcher, untraced then traced",
		size / MIB);
	if (getenv("FERRY_TRACE")) {
		printf("  skipped: FERRY_TRACE is set for the whole run\n");
		return;
	}
	table_header();
	off = trace_stream(size, &f_off);
	fd = mkstemp(path);
	if (fd < 0)
		bench_die("mkstemp", -errno);
	close(fd);
	setenv("FERRY_TRACE", path, 1); /* read by the next ferry_open: traced from now on */
	on = trace_stream(size, &f_on);
	unsetenv("FERRY_TRACE");
	row("untraced stream, best", gbs(size, off), 2, "GB/s", 1.0, "untraced", "-", V_NONE);
	row("traced stream, best", gbs(size, on), 2, "GB/s",
	    safe_ratio(gbs(size, on), gbs(size, off)), "untraced", "-", V_NONE);
	if (stat(path, &st) || st.st_size < 32)
		fail("FERRY_TRACE=%s: no trace written", path);
	else
		note("trace: %.1f MiB for %" PRIu64 " faults (%" PRIu64
		     " untraced); tracing off costs one predicted branch per trace point",
		     st.st_size / (double)MIB, f_on, f_off);
	unlink(path);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ferry-bench-migrate [--quick] [--size MiB] [--pages N] [--reps N] "
		"[--timeout SEC] [--test NAME]...\n"
		"  --quick        smoke test: 32 MiB, 500 random pages, 2 repetitions\n"
		"  --size MiB     data per test (default 256; a multiple of 4, at least 8)\n"
		"  --pages N      random pages in the fault-latency test (default 2000)\n"
		"  --reps N       repetitions of the throughput tests (default 3)\n"
		"  --timeout SEC  abort when the whole run takes longer (default 300, 0 = none)\n"
		"  --test NAME    run only this test (repeatable): prefetch, stream, latency, "
		"oversub, trace\n");
}

int main(int argc, char **argv)
{
	uint64_t t0 = now_ns();
	long size_mib = -1, pages = -1, reps = -1, timeout = 300;
	const struct bench_opt opts[] = {
		{"--quick", .flag = &cfg.quick},
		{"--size", .num = &size_mib},
		{"--pages", .num = &pages},
		{"--reps", .num = &reps},
		{"--timeout", .num = &timeout},
		{"--test", .tests = &cfg.tests, .names = test_names, .nnames = 5},
		{NULL},
	};
	int st;

	bench_prog = "ferry-bench-migrate";
	bench_table = (struct bench_table){44, 6, 14, 10, 2, 0};
	st = bench_parse_args(argc, argv, opts, usage);
	if (st >= 0)
		return st;
	cfg.timeout = (unsigned)timeout;
	cfg.size = (cfg.quick ? 32 : 256) * MIB;
	cfg.pages = cfg.quick ? 500 : 2000;
	cfg.reps = cfg.quick ? 2 : 3;
	cfg.memcpy_runs = cfg.quick ? 5 : 8;
	if (!size_options(size_mib, 4, 8, pages, reps, &cfg.size, &cfg.pages, &cfg.reps))
		return 1;
	bench_timeout(cfg.timeout, "the runtime hung?", NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("ferry-bench-migrate: %" PRIu64
	       " MiB per test%s, %ld CPUs online, load average %.2f "
	       "before the run\n",
	       cfg.size / MIB, cfg.quick ? " (--quick)" : "", sysconf(_SC_NPROCESSORS_ONLN),
	       load_average());
	if (!cfg.tests)
		cfg.tests = TEST_ALL;
	/* Fail fast (EPERM, no ferry-device) before measuring anything. */
	ferry_close(open_ctx(0, 0, -1));
	g_memcpy_gbs = memcpy_baseline(cfg.size, cfg.memcpy_runs);
	if (cfg.tests & TEST_PREFETCH) {
		bench_prefetch();
		bench_floor();
	}
	if (cfg.tests & TEST_STREAM)
		bench_stream();
	if (cfg.tests & TEST_LATENCY)
		bench_latency();
	if (cfg.tests & TEST_OVERSUB)
		bench_oversub();
	if (cfg.tests & TEST_TRACE)
		bench_trace();
	baseline_check(cfg.size, cfg.memcpy_runs, g_memcpy_gbs, t0);
	if (g_open_enodev)
		printf("note: %d of %d ferry_open calls failed with -ENODEV (the device process "
		       "died "
		       "while binding the window) and were retried\n",
		       g_open_enodev, g_opens);
	return bench_status();
}
