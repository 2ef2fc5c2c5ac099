/* SPDX-License-Identifier: MIT */
/*
 * bench_kernel.c - ferry.ko against the kernel's reference HMM driver and
 * against the user-space driver, in one run, on the same data size.
 *
 * Measures:
 *   1. test_hmm (lib/test_hmm.ko, /dev/hmm_dmirror0): its own migration
 *      ioctls, HMM_DMIRROR_MIGRATE_TO_DEV and _TO_SYS, on an anonymous buffer
 *      the host filled, in 2 MiB requests;
 *   2. Ferry with FERRY_BACKEND=kernel (ferry.ko) and
 *   3. Ferry with FERRY_BACKEND=user (udriver), through the core API
 *      (include/ferry/ferry.h), as bench_migrate.c does: explicit prefetch
 *      (ferry_migrate in 2 MiB chunks) both ways, a fault-driven sequential
 *      device stream over host-resident data with the prefetcher on, and the
 *      median cost of random 4 KiB device faults (4 KiB blocks, no prefetcher);
 *   4. the comparison: ferry.ko's prefetch against test_hmm's migration
 *      (target >= 1), ferry.ko's median 4 KiB fault latency against the
 *      user-space driver's (target <= 1), and everything against memcpy.
 *
 * Every migration's data is checked (the device reads it back, or the host
 * does). A section whose backend is missing (no /dev/hmm_dmirror0, no render
 * node of ferry.ko, no userfaultfd) prints "skipped: <reason>"; with neither
 * test_hmm nor ferry.ko present (any machine but the QEMU guest of
 * bench/guest-bench-kernel.sh) the whole run says so and exits 0 at once.
 * Exit status: 0 whatever the figures; 1 on a real failure (an API error,
 * wrong data, pages not where they should be).
 *
 * GB/s here is 10^9 bytes per second; sizes are in MiB (2^20 bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xf86drm.h>

#include "bench_ferry.h"

#define TARGET_VS_HMM 1.0	 /* ferry.ko prefetch GB/s / test_hmm migrate GB/s, at least */
#define TARGET_FAULT_VS_USER 1.0 /* ferry.ko 4 KiB fault latency / udriver's, at most */

/*
 * From the kernel's lib/test_hmm_uapi.h (6.12), the few definitions used
 * here: one command structure for every ioctl of /dev/hmm_dmirrorN.
 */
struct hmm_dmirror_cmd {
	uint64_t addr;	 /* in: user address the device reads/migrates */
	uint64_t ptr;	 /* in: user buffer for the data (READ, MIGRATE_TO_DEV, SNAPSHOT) */
	uint64_t npages; /* in */
	uint64_t cpages; /* out: pages copied */
	uint64_t faults; /* out: device faults seen */
};

#define HMM_DMIRROR_READ _IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV _IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_SYS _IOWR('H', 0x03, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_SNAPSHOT _IOWR('H', 0x04, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL 0x20 /* SNAPSHOT: on this device's memory */

#define HMM_DEVICE "/dev/hmm_dmirror0"
#define FERRY_DRM_DRIVER "ferry"

static struct {
	uint64_t size;	/* bytes of data per test */
	unsigned pages; /* random pages for the latency test */
	unsigned reps;	/* repetitions of the throughput tests */
	unsigned memcpy_runs;
	unsigned timeout; /* seconds, 0 = none */
	int quick;
	int no_skip; /* run what is available even without ferry.ko and test_hmm */
} cfg;

/* The figures of one backend; NAN where not measured. */
struct figs {
	const char *name;				 /* column heading */
	int state;					 /* ST_* */
	char why[200];					 /* ST_SKIPPED: the reason */
	double h2d_first, h2d_best, d2h_first, d2h_best; /* GB/s */
	double h2d_noread;				 /* test_hmm: TO_DEV minus its read-back */
	double stream_first, stream_best;		 /* GB/s */
	double touch_med, res_med, cost, cost99, host_med; /* us */
};

enum { ST_SKIPPED = 0, ST_DONE = 1, ST_FAILED = 2 };

static double g_memcpy_gbs;
static jmp_buf *g_jmp;		/* the running section's, or NULL */
static struct ferry_ctx *g_ctx; /* the context open in the running section */
static int g_hmm_fd = -1;	/* likewise for test_hmm */

/* ------------------------------------------------------------------ helpers */

/* An API error: the running section is abandoned (the others still run). */
__attribute__((noreturn)) static void die(const char *what, int err)
{
	fail("%s: %s (%d)", what, err < 0 ? ferry_strerror(err) : strerror(err), err);
	if (g_jmp)
		longjmp(*g_jmp, 1);
	exit(1);
}

static void *map_or_die(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", -errno);
	return p;
}

/* ------------------------------------------------------------- detection */

/*
 * The render node of ferry.ko, found as the runtime finds it: the DRM driver
 * name (the device is a bare platform device, with no driver link in sysfs).
 */
static int ferry_node_present(char *node, size_t len)
{
	drmDevicePtr devs[64];
	int n = drmGetDevices2(0, devs, 64), found = 0;

	for (int i = 0; i < n && !found; i++) {
		drmVersionPtr v;
		int fd;

		if (!(devs[i]->available_nodes & (1 << DRM_NODE_RENDER)))
			continue;
		fd = open(devs[i]->nodes[DRM_NODE_RENDER], O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && v->name && !strcmp(v->name, FERRY_DRM_DRIVER)) {
			snprintf(node, len, "%s", devs[i]->nodes[DRM_NODE_RENDER]);
			found = 1;
		}
		drmFreeVersion(v);
		close(fd);
	}
	if (n > 0)
		drmFreeDevices(devs, n);
	return found;
}

/* ------------------------------------------------------- 1. test_hmm */

static int hmm_cmd(unsigned long req, void *addr, void *ptr, uint64_t npages,
		   struct hmm_dmirror_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->addr = (uint64_t)(uintptr_t)addr;
	cmd->ptr = (uint64_t)(uintptr_t)ptr;
	cmd->npages = npages;
	for (;;) {
		if (ioctl(g_hmm_fd, req, cmd) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static void hmm_measure(struct figs *f)
{
	const uint64_t size = cfg.size, seed = 11;
	uint64_t to_dev_first = 0, to_sys_first = 0, to_dev_best = UINT64_MAX;
	uint64_t to_sys_best = UINT64_MAX, noread_best = UINT64_MAX;
	char *buf, *bounce;
	uint8_t *snap;
	char name[80];

	buf = map_or_die(size);
	madvise(buf, size, MADV_NOHUGEPAGE); /* as Ferry's window: 4 KiB pages */
	bounce = map_or_die(CHUNK);
	memset(bounce, 0, CHUNK);
	snap = calloc(CHUNK / PAGE, 1);
	if (!snap)
		die("calloc", -ENOMEM);
	host_fill(buf, size, seed);

	for (unsigned rep = 0; rep < cfg.reps; rep++) {
		uint64_t t_dev = 0, t_read = 0, t_sys = 0, bad = 0, off_dev = 0, faults = 0;
		struct hmm_dmirror_cmd c;

		for (uint64_t off = 0; off < size; off += CHUNK) {
			uint64_t n = (size - off < CHUNK ? size - off : CHUNK) / PAGE, t0;

			/* TO_DEV migrates, then copies the migrated data out to @ptr. */
			t0 = now_ns();
			TRY(hmm_cmd(HMM_DMIRROR_MIGRATE_TO_DEV, buf + off, bounce, n, &c));
			t_dev += now_ns() - t0;
			if (c.cpages != n)
				fail("MIGRATE_TO_DEV at +%" PRIu64 " MiB: %" PRIu64
				     " pages on the device of %" PRIu64,
				     off / MIB, (uint64_t)c.cpages, n);
			bad += mismatches(bounce, (uint64_t)(uintptr_t)(buf + off), n * PAGE, seed);
			memset(bounce, 0, n * PAGE);

			/* The same read-back alone, to tell it from the migration. */
			t0 = now_ns();
			TRY(hmm_cmd(HMM_DMIRROR_READ, buf + off, bounce, n, &c));
			t_read += now_ns() - t0;
			faults += c.faults;
			bad += mismatches(bounce, (uint64_t)(uintptr_t)(buf + off), n * PAGE, seed);

			if (rep == 0) {
				TRY(hmm_cmd(HMM_DMIRROR_SNAPSHOT, buf + off, snap, n, &c));
				for (uint64_t i = 0; i < n; i++)
					off_dev += (snap[i] & 0xf0) !=
						   HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL;
			}
		}
		if (bad)
			fail("after MIGRATE_TO_DEV: the device returned %" PRIu64
			     " wrong words of %" PRIu64,
			     bad, size / 8);
		if (off_dev)
			fail("after MIGRATE_TO_DEV: SNAPSHOT shows %" PRIu64
			     " pages not in the device's memory",
			     off_dev);
		if (faults)
			note("HMM_DMIRROR_READ faulted %" PRIu64 " times on migrated pages",
			     faults);

		for (uint64_t off = 0; off < size; off += CHUNK) {
			uint64_t n = (size - off < CHUNK ? size - off : CHUNK) / PAGE, t0;

			t0 = now_ns();
			TRY(hmm_cmd(HMM_DMIRROR_MIGRATE_TO_SYS, buf + off, NULL, n, &c));
			t_sys += now_ns() - t0;
			if (c.cpages != n)
				fail("MIGRATE_TO_SYS at +%" PRIu64 " MiB: %" PRIu64
				     " pages migrated of %" PRIu64,
				     off / MIB, (uint64_t)c.cpages, n);
		}
		bad = host_mismatches(buf, size, seed);
		if (bad)
			fail("after MIGRATE_TO_SYS: the host sees %" PRIu64
			     " wrong words of %" PRIu64,
			     bad, size / 8);

		if (rep == 0) {
			to_dev_first = t_dev;
			to_sys_first = t_sys;
		}
		if (t_dev < to_dev_best)
			to_dev_best = t_dev;
		if (t_sys < to_sys_best)
			to_sys_best = t_sys;
		if (t_dev > t_read && t_dev - t_read < noread_best)
			noread_best = t_dev - t_read;
	}

	f->h2d_first = gbs(size, to_dev_first);
	f->h2d_best = gbs(size, to_dev_best);
	f->d2h_first = gbs(size, to_sys_first);
	f->d2h_best = gbs(size, to_sys_best);
	f->h2d_noread = noread_best == UINT64_MAX ? NAN : gbs(size, noread_best);
	row("MIGRATE_TO_DEV, first (device memory allocated)", f->h2d_first, 2, "GB/s",
	    safe_ratio(f->h2d_first, g_memcpy_gbs), "memcpy", "-", V_NONE);
	snprintf(name, sizeof(name), "MIGRATE_TO_DEV, best of %u", cfg.reps);
	row(name, f->h2d_best, 2, "GB/s", safe_ratio(f->h2d_best, g_memcpy_gbs), "memcpy", "-",
	    V_NONE);
	snprintf(name, sizeof(name), "MIGRATE_TO_DEV minus its read-back, best of %u", cfg.reps);
	row(name, f->h2d_noread, 2, "GB/s", safe_ratio(f->h2d_noread, g_memcpy_gbs), "memcpy", "-",
	    V_NONE);
	row("MIGRATE_TO_SYS, first", f->d2h_first, 2, "GB/s",
	    safe_ratio(f->d2h_first, g_memcpy_gbs), "memcpy", "-", V_NONE);
	snprintf(name, sizeof(name), "MIGRATE_TO_SYS, best of %u", cfg.reps);
	row(name, f->d2h_best, 2, "GB/s", safe_ratio(f->d2h_best, g_memcpy_gbs), "memcpy", "-",
	    V_NONE);
	note("MIGRATE_TO_DEV also copies the migrated data out to user memory (device -> bounce "
	     "-> user): the \"minus its read-back\" row subtracts HMM_DMIRROR_READ of the same "
	     "range");
	munmap(buf, size);
	munmap(bounce, CHUNK);
	free(snap);
}

static void bench_hmm(struct figs *f)
{
	jmp_buf jb;

	section("1. test_hmm (%s): HMM_DMIRROR_MIGRATE_TO_DEV / _TO_SYS of %" PRIu64
		" MiB in 2 MiB requests, anonymous memory the host filled first",
		HMM_DEVICE, cfg.size / MIB);
	bench_where = "test_hmm";
	g_hmm_fd = open(HMM_DEVICE, O_RDWR | O_CLOEXEC);
	if (g_hmm_fd < 0) {
		int e = errno;

		snprintf(f->why, sizeof(f->why), "%s: %s%s", HMM_DEVICE, strerror(e),
			 e == ENOENT ? " (test_hmm.ko is not loaded)" : "");
		printf("  skipped: %s\n", f->why);
		return;
	}
	if (setjmp(jb)) {
		g_jmp = NULL;
		close(g_hmm_fd);
		g_hmm_fd = -1;
		f->state = ST_FAILED;
		return;
	}
	g_jmp = &jb;
	table_header();
	hmm_measure(f);
	g_jmp = NULL;
	close(g_hmm_fd);
	g_hmm_fd = -1;
	f->state = ST_DONE;
}

/* ---------------------------------------------------------- 2./3. Ferry */

static const char *backend_name(uint32_t b)
{
	return b == FERRY_BACKEND_USER	   ? "user (udriver)"
	       : b == FERRY_BACKEND_KERNEL ? "kernel (ferry.ko)"
					   : "?";
}

/*
 * A context of @backend, or NULL with @f->why set when that backend cannot
 * run here. Any other error is a failure.
 */
static struct ferry_ctx *open_ctx(struct figs *f, uint32_t backend, uint64_t block_size,
				  int prefetch, int verbose)
{
	struct ferry_options o;
	struct ferry_ctx *ctx = NULL;
	struct ferry_version v;
	int r;

	memset(&o, 0, sizeof(o));
	o.device_memory = 2 * cfg.size > (1ULL << 30) ? 2 * cfg.size : 0;
	o.block_size = block_size;
	o.prefetch = prefetch;
	r = ferry_open(&o, &ctx);
	if (r == -EPERM || r == -ENOENT || r == -EACCES ||
	    (backend == FERRY_BACKEND_KERNEL && (r == -ENODEV || r == -EOPNOTSUPP))) {
		snprintf(f->why, sizeof(f->why), "ferry_open: %s", ferry_strerror(r));
		return NULL;
	}
	if (r < 0)
		die("ferry_open", r);
	g_ctx = ctx;
	memset(&v, 0, sizeof(v));
	TRY(ferry_ioctl(ctx, FERRY_IOCTL_VERSION, &v));
	if (verbose) {
		struct ferry_counters c;
		char fbuf[80];

		counters(ctx, &c);
		printf("  runtime: uapi %u.%u, backend %s, features%s, device memory %" PRIu64
		       " MiB\n",
		       v.major, v.minor, backend_name(v.backend),
		       feature_names(v.features, fbuf, sizeof(fbuf)),
		       (uint64_t)c.device_capacity_pages * PAGE / MIB);
	}
	if (v.backend != backend) {
		fail("asked for backend %s, the runtime opened %s", backend_name(backend),
		     backend_name(v.backend));
		longjmp(*g_jmp, 1);
	}
	if (v.major != FERRY_UAPI_VERSION_MAJOR) {
		fail("driver uapi %u, built for %d", v.major, FERRY_UAPI_VERSION_MAJOR);
		longjmp(*g_jmp, 1);
	}
	return ctx;
}

static void close_ctx(void)
{
	ferry_close(g_ctx);
	g_ctx = NULL;
}

static void *alloc_or_die(struct ferry_ctx *ctx, uint64_t size)
{
	void *p = ferry_alloc(ctx, size, FERRY_REGION_SIZE);

	if (!p)
		die("ferry_alloc", -ENOMEM);
	return p;
}

static void ferry_prefetch(struct ferry_ctx *ctx, struct figs *f)
{
	const uint64_t size = cfg.size, seed = 21;
	struct way h2d = {0}, d2h = {0};
	char *buf = alloc_or_die(ctx, size);
	char name[80];

	host_fill(buf, size, seed);
	for (unsigned rep = 0; rep < cfg.reps; rep++) {
		uint64_t faults;

		expect_resident(ctx, buf, size, FERRY_RES_HOST, "before host->device");
		migrate_pass(ctx, buf, size, FERRY_LOC_DEVICE, rep, &h2d, "host->device: ");
		expect_resident(ctx, buf, size, FERRY_RES_DEVICE, "after host->device");
		expect_device_data(ctx, buf, size, seed, "after host->device");
		migrate_pass(ctx, buf, size, FERRY_LOC_HOST, rep, &d2h, "device->host: ");
		expect_resident(ctx, buf, size, FERRY_RES_HOST, "after device->host");
		host_check(ctx, buf, size, seed, &faults);
		if (rep == 0 && faults)
			note("the host read after device->host faulted %" PRIu64
			     " times (pages not mapped back)",
			     faults);
	}
	f->h2d_first = gbs(size, h2d.first);
	f->h2d_best = gbs(size, h2d.best);
	f->d2h_first = gbs(size, d2h.first);
	f->d2h_best = gbs(size, d2h.best);
	row("prefetch host->device, first", f->h2d_first, 2, "GB/s",
	    safe_ratio(f->h2d_first, g_memcpy_gbs), "memcpy", "-", V_NONE);
	snprintf(name, sizeof(name), "prefetch host->device, best of %u", cfg.reps);
	row(name, f->h2d_best, 2, "GB/s", safe_ratio(f->h2d_best, g_memcpy_gbs), "memcpy", "-",
	    V_NONE);
	row("prefetch device->host, first", f->d2h_first, 2, "GB/s",
	    safe_ratio(f->d2h_first, g_memcpy_gbs), "memcpy", "-", V_NONE);
	snprintf(name, sizeof(name), "prefetch device->host, best of %u", cfg.reps);
	row(name, f->d2h_best, 2, "GB/s", safe_ratio(f->d2h_best, g_memcpy_gbs), "memcpy", "-",
	    V_NONE);
	note("first run: driver migrate_ns %.1f ms of %.1f ms wall (host->device), %.1f of %.1f ms "
	     "(device->host); %" PRIu64 " requests each way",
	     h2d.drv_ns / 1e6, h2d.first / 1e6, d2h.drv_ns / 1e6, d2h.first / 1e6,
	     (size + CHUNK - 1) / CHUNK);
	TRY(ferry_free(ctx, buf));
}

static void ferry_stream(struct ferry_ctx *ctx, struct figs *f)
{
	const uint64_t size = cfg.size, npages = size / PAGE, seed = 22;
	uint64_t expect, v = 0;
	struct stream st = {0};
	char *buf = alloc_or_die(ctx, size);
	char name[80];

	TRY(ferry_get_attr(ctx, buf, size, FERRY_ATTR_PREFETCH, &v));
	if (v != 1)
		fail("the prefetcher is on but FERRY_ATTR_PREFETCH reads %" PRIu64, v);
	host_fill(buf, size, seed);
	expect = touch_expect(buf, size, PAGE, seed);
	for (unsigned rep = 0; rep < cfg.reps; rep++) {
		uint64_t bad;

		stream_pass(ctx, buf, size, expect, rep, &st, "device stream");
		expect_resident(ctx, buf, size, FERRY_RES_HOST, "after the stream's way back");
		bad = host_mismatches(buf, size, seed);
		if (bad)
			fail("after the stream and the way back: the host sees %" PRIu64
			     " wrong words",
			     bad);
	}
	f->stream_first = gbs(size, st.first);
	f->stream_best = gbs(size, st.best);
	row("fault-driven stream, prefetcher on, first", f->stream_first, 2, "GB/s",
	    safe_ratio(f->stream_first, f->h2d_best), "own prefetch h->d", "-", V_NONE);
	snprintf(name, sizeof(name), "fault-driven stream, prefetcher on, best of %u", cfg.reps);
	row(name, f->stream_best, 2, "GB/s", safe_ratio(f->stream_best, f->h2d_best),
	    "own prefetch h->d", "-", V_NONE);
	note("first run: faults_device %" PRIu64 " (%.1f pages/fault), pages_to_device %" PRIu64
	     " of %" PRIu64 ", pages_prefetched %" PRIu64 ", driver fault_ns %.1f ms of %.1f ms "
	     "wall",
	     st.faults, st.faults ? (double)st.pages / st.faults : 0.0, st.pages, npages,
	     st.prefetched, st.fault_ns / 1e6, st.first / 1e6);
	TRY(ferry_free(ctx, buf));
}

/* Random 4 KiB device faults: random_faults() (bench_ferry.c), as ferry-bench-migrate does. */
static void ferry_latency(struct ferry_ctx *ctx, struct figs *f)
{
	const uint64_t span = cfg.size, npages = span / PAGE, seed = 23;
	unsigned n = cfg.pages < npages ? cfg.pages : (unsigned)npages;
	char *buf = alloc_or_die(ctx, span), *warm = alloc_or_die(ctx, PAGE);
	double memcpy4k_us = g_memcpy_gbs > 0 ? PAGE / g_memcpy_gbs / 1000.0 : NAN;
	struct faults r;

	random_faults(ctx, buf, warm, span, n, seed, 16, &r);
	f->touch_med = pct_us(r.lf, n, 50);
	f->res_med = pct_us(r.lr, n, 50);
	f->cost = f->touch_med - f->res_med;
	f->cost99 = pct_us(r.lf, n, 99) - f->res_med;
	f->host_med = pct_us(r.lh, n, 50);
	row("device touch, host-resident page, median", f->touch_med, 1, "us",
	    safe_ratio(f->touch_med, memcpy4k_us), "memcpy 4K", "-", V_NONE);
	row("device touch, device-resident page, median", f->res_med, 1, "us",
	    safe_ratio(f->res_med, memcpy4k_us), "memcpy 4K", "-", V_NONE);
	row("4 KiB device fault cost, median (difference)", f->cost, 1, "us",
	    safe_ratio(f->cost, memcpy4k_us), "memcpy 4K", "-", V_NONE);
	row("4 KiB device fault cost, p99 - resident median", f->cost99, 1, "us",
	    safe_ratio(f->cost99, memcpy4k_us), "memcpy 4K", "-", V_NONE);
	row("host touch, device-resident page, median", f->host_med, 1, "us",
	    safe_ratio(f->host_med, memcpy4k_us), "memcpy 4K", "-", V_NONE);
	note("%u random pages of %" PRIu64 " MiB: %.2f device faults and %.2f pages to the "
	     "device per faulting touch (1 expected), %.2f faults per resident touch (0), "
	     "%.2f host faults per host touch (1)",
	     n, span / MIB, (double)r.faults_f / n, (double)r.mig_f / n, (double)r.faults_r / n,
	     (double)r.faults_h / n);
	faults_free(&r);
}

static void bench_ferry(struct figs *f, const char *num, uint32_t backend)
{
	const char *env = backend == FERRY_BACKEND_KERNEL ? "kernel" : "user";
	struct ferry_ctx *ctx;
	char node[PATH_MAX];
	jmp_buf jb;

	section("%s. Ferry, FERRY_BACKEND=%s: prefetch (ferry_migrate, 2 MiB chunks), "
		"fault-driven stream (FERRY_DEV_TOUCH, stride 4096, prefetcher on), "
		"random 4 KiB faults (block 4 KiB, prefetcher off); %" PRIu64 " MiB",
		num, env, cfg.size / MIB);
	bench_where = f->name;
	if (backend == FERRY_BACKEND_KERNEL && !ferry_node_present(node, sizeof(node))) {
		snprintf(f->why, sizeof(f->why),
			 "no DRM render node of driver \"ferry\" (ferry.ko is not loaded)");
		printf("  skipped: %s\n", f->why);
		return;
	}
	setenv("FERRY_BACKEND", env, 1); /* read by ferry_open */
	if (setjmp(jb)) {
		g_jmp = NULL;
		if (g_ctx)
			close_ctx();
		f->state = ST_FAILED;
		return;
	}
	g_jmp = &jb;
	if (backend == FERRY_BACKEND_KERNEL)
		printf("  render node %s\n", node);
	ctx = open_ctx(f, backend, 0, 1, 1);
	if (!ctx) {
		g_jmp = NULL;
		printf("  skipped: %s\n", f->why);
		return;
	}
	table_header();
	ferry_prefetch(ctx, f);
	close_ctx();

	ctx = open_ctx(f, backend, 0, 1, 0);
	if (!ctx)
		die("ferry_open (second time)", -ENODEV);
	ferry_stream(ctx, f);
	close_ctx();

	ctx = open_ctx(f, backend, PAGE, 0, 0);
	if (!ctx)
		die("ferry_open (third time)", -ENODEV);
	ferry_latency(ctx, f);
	close_ctx();
	g_jmp = NULL;
	f->state = ST_DONE;
}

/* -------------------------------------------------------- 4. comparison */

static const char *state_text(const struct figs *f)
{
	return f->state == ST_FAILED ? "failed (see above)" : f->why;
}

/* One figure side by side: test_hmm, ferry.ko, udriver. */
static void side(const char *name, double hmm, double k, double u, int prec, const char *unit)
{
	char b[3][32];
	const double v[3] = {hmm, k, u};

	for (int i = 0; i < 3; i++) {
		if (isnan(v[i]))
			snprintf(b[i], sizeof(b[i]), "-");
		else
			snprintf(b[i], sizeof(b[i]), "%.*f", prec, v[i]);
	}
	printf("  %-44s %10s %10s %10s  %s\n", name, b[0], b[1], b[2], unit);
}

/*
 * A ratio row of the comparison: @value of @fk (ferry.ko) against @base of
 * @fb; when either side is missing, why.
 */
static void compare(const char *name, const struct figs *fk, double value, int prec,
		    const char *unit, const struct figs *fb, double base, const char *vs,
		    const char *target, int at_least_target, double t)
{
	double r;

	if (fk->state != ST_DONE || fb->state != ST_DONE) {
		const struct figs *m = fk->state != ST_DONE ? fk : fb;

		printf("  %-48s (vs %s) skipped: %s: %s\n", name, vs, m->name, state_text(m));
		return;
	}
	r = safe_ratio(value, base);
	if (value <= 0 || base <= 0)
		r = NAN; /* a fault cost below the noise: no meaningful ratio */
	row(name, value, prec, unit, r, vs, target,
	    !target	      ? V_NONE
	    : at_least_target ? at_least(r, t)
			      : at_most(r, t));
}

static void bench_compare(const struct figs *h, const struct figs *k, const struct figs *u)
{
	char tgt_hmm[16], tgt_fault[16];

	section("4. comparison, same run, %" PRIu64 " MiB (memcpy %.2f GB/s)", cfg.size / MIB,
		g_memcpy_gbs);
	printf("  %-44s %10s %10s %10s\n", "figure", "test_hmm", "ferry.ko", "udriver");
	printf("  %-44s %10s %10s %10s\n", "------", "--------", "--------", "-------");
	side("migrate / prefetch host->device, best", h->h2d_best, k->h2d_best, u->h2d_best, 2,
	     "GB/s");
	side("migrate / prefetch device->host, best", h->d2h_best, k->d2h_best, u->d2h_best, 2,
	     "GB/s");
	side("migrate / prefetch host->device, first", h->h2d_first, k->h2d_first, u->h2d_first, 2,
	     "GB/s");
	side("migrate / prefetch device->host, first", h->d2h_first, k->d2h_first, u->d2h_first, 2,
	     "GB/s");
	side("fault-driven stream, prefetcher on, best", NAN, k->stream_best, u->stream_best, 2,
	     "GB/s");
	side("random 4 KiB device touch, median", NAN, k->touch_med, u->touch_med, 1, "us");
	side("device-resident touch (round trip), median", NAN, k->res_med, u->res_med, 1, "us");
	side("4 KiB device fault cost, median", NAN, k->cost, u->cost, 1, "us");
	side("host touch of a device page, median", NAN, k->host_med, u->host_med, 1, "us");
	for (int i = 0; i < 3; i++) {
		const struct figs *f = i == 0 ? h : i == 1 ? k : u;

		if (f->state != ST_DONE)
			printf("  (%s: %s)\n", f->name, state_text(f));
	}

	putchar('\n');
	table_header();
	snprintf(tgt_hmm, sizeof(tgt_hmm), ">= %.2f", TARGET_VS_HMM);
	snprintf(tgt_fault, sizeof(tgt_fault), "<= %.2f", TARGET_FAULT_VS_USER);
	compare("ferry.ko prefetch host->device", k, k->h2d_best, 2, "GB/s", h, h->h2d_best,
		"test_hmm to-dev", tgt_hmm, 1, TARGET_VS_HMM);
	compare("ferry.ko prefetch device->host", k, k->d2h_best, 2, "GB/s", h, h->d2h_best,
		"test_hmm to-sys", tgt_hmm, 1, TARGET_VS_HMM);
	compare("ferry.ko prefetch host->device", k, k->h2d_best, 2, "GB/s", h, h->h2d_noread,
		"to-dev w/o read", NULL, 1, 0);
	/* the "ferry.ko >= test_hmm" names the fault-driven stream too */
	compare("ferry.ko fault-driven stream", k, k->stream_best, 2, "GB/s", h, h->h2d_best,
		"test_hmm to-dev", tgt_hmm, 1, TARGET_VS_HMM);
	compare("ferry.ko random 4 KiB device fault, median", k, k->touch_med, 1, "us", u,
		u->touch_med, "udriver", tgt_fault, 0, TARGET_FAULT_VS_USER);
	compare("ferry.ko 4 KiB fault cost (minus round trip)", k, k->cost, 1, "us", u, u->cost,
		"udriver", NULL, 0, 0);
	compare("ferry.ko host touch of a device page, median", k, k->host_med, 1, "us", u,
		u->host_med, "udriver", NULL, 0, 0);
	compare("ferry.ko prefetch host->device", k, k->h2d_best, 2, "GB/s", u, u->h2d_best,
		"udriver", NULL, 1, 0);
	compare("ferry.ko prefetch device->host", k, k->d2h_best, 2, "GB/s", u, u->d2h_best,
		"udriver", NULL, 1, 0);
	compare("ferry.ko fault-driven stream", k, k->stream_best, 2, "GB/s", u, u->stream_best,
		"udriver", NULL, 1, 0);
	if (h->state == ST_DONE) {
		row("test_hmm MIGRATE_TO_DEV", h->h2d_best, 2, "GB/s",
		    safe_ratio(h->h2d_best, g_memcpy_gbs), "memcpy", "-", V_NONE);
		row("test_hmm MIGRATE_TO_SYS", h->d2h_best, 2, "GB/s",
		    safe_ratio(h->d2h_best, g_memcpy_gbs), "memcpy", "-", V_NONE);
	}
	note("the fault target is judged on the whole faulting request; the resident round "
	     "trip subtracted from it is the same code in both backends, but its timing is not "
	     "(the user-space driver's threads poll and spin around faults), so the difference "
	     "has no verdict");
	if (k->state == ST_DONE) {
		row("ferry.ko prefetch host->device", k->h2d_best, 2, "GB/s",
		    safe_ratio(k->h2d_best, g_memcpy_gbs), "memcpy", "-", V_NONE);
		row("ferry.ko prefetch device->host", k->d2h_best, 2, "GB/s",
		    safe_ratio(k->d2h_best, g_memcpy_gbs), "memcpy", "-", V_NONE);
	}
	if (u->state == ST_DONE) {
		row("udriver prefetch host->device", u->h2d_best, 2, "GB/s",
		    safe_ratio(u->h2d_best, g_memcpy_gbs), "memcpy", "-", V_NONE);
		row("udriver prefetch device->host", u->d2h_best, 2, "GB/s",
		    safe_ratio(u->d2h_best, g_memcpy_gbs), "memcpy", "-", V_NONE);
	}
}

/* -------------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ferry-bench-kernel [--quick] [--size MiB] [--pages N] [--reps N] "
		"[--timeout SEC] [--no-skip]\n"
		"  --quick        smoke test: 8 MiB, 50 random pages, 1 repetition\n"
		"  --size MiB     data per test (default 32; a multiple of 2, at least 2)\n"
		"  --pages N      random pages in the fault-latency test (default 200)\n"
		"  --reps N       repetitions of the throughput tests (default 3)\n"
		"  --timeout SEC  abort when the whole run takes longer (default 3000, 0 = none)\n"
		"  --no-skip      run the sections that can run even when neither ferry.ko nor\n"
		"                 test_hmm is present (by default the run is skipped then)\n"
		"Runs where ferry.ko and lib/test_hmm.ko are loaded: bench/guest-bench-kernel.sh\n"
		"boots the QEMU guest that has them.\n");
}

int main(int argc, char **argv)
{
	struct figs h = {.name = "test_hmm"}, k = {.name = "ferry.ko"}, u = {.name = "udriver"};
	struct figs *all[3] = {&h, &k, &u};
	uint64_t t0 = now_ns();
	long size_mib = -1, pages = -1, reps = -1, timeout = 3000;
	const struct bench_opt opts[] = {
		{"--quick", .flag = &cfg.quick},
		{"--no-skip", .flag = &cfg.no_skip},
		{"--size", .num = &size_mib},
		{"--pages", .num = &pages},
		{"--reps", .num = &reps},
		{"--timeout", .num = &timeout},
		{NULL},
	};
	struct utsname un;
	char node[PATH_MAX];
	int have_hmm, have_ko, st;

	bench_prog = "ferry-bench-kernel";
	bench_where = ""; /* the running section, for messages */
	bench_die_hook = die;
	bench_table = (struct bench_table){48, 5, 18, 9, 2, 1};
	st = bench_parse_args(argc, argv, opts, usage);
	if (st >= 0)
		return st;
	cfg.timeout = (unsigned)timeout;
	cfg.size = (cfg.quick ? 8 : 32) * MIB;
	cfg.pages = cfg.quick ? 50 : 200;
	cfg.reps = cfg.quick ? 1 : 3;
	cfg.memcpy_runs = 5;
	if (!size_options(size_mib, 2, 2, pages, reps, &cfg.size, &cfg.pages, &cfg.reps))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	have_hmm = access(HMM_DEVICE, F_OK) == 0;
	have_ko = ferry_node_present(node, sizeof(node));
	if (!have_hmm && !have_ko && !cfg.no_skip) {
		printf("ferry-bench-kernel: skipped: neither ferry.ko (no render node of driver "
		       "\"%s\") nor lib/test_hmm.ko (no %s) is present on this machine; "
		       "bench/guest-bench-kernel.sh runs this benchmark in the QEMU guest\n",
		       FERRY_DRM_DRIVER, HMM_DEVICE);
		return 0;
	}
	bench_timeout(cfg.timeout, "a driver hung?", NULL);
	memset(&un, 0, sizeof(un));
	uname(&un);
	printf("ferry-bench-kernel: %" PRIu64 " MiB per test%s, %u repetition%s, %u random pages; "
	       "kernel %s, %ld CPUs online, load average %.2f before the run\n",
	       cfg.size / MIB, cfg.quick ? " (--quick)" : "", cfg.reps, cfg.reps == 1 ? "" : "s",
	       cfg.pages, un.release, sysconf(_SC_NPROCESSORS_ONLN), load_average());
	g_memcpy_gbs = memcpy_baseline(cfg.size, cfg.memcpy_runs);

	for (int i = 0; i < 3; i++) {
		all[i]->h2d_first = all[i]->h2d_best = all[i]->d2h_first = NAN;
		all[i]->d2h_best = all[i]->h2d_noread = all[i]->stream_first = NAN;
		all[i]->stream_best = all[i]->touch_med = all[i]->res_med = NAN;
		all[i]->cost = all[i]->cost99 = all[i]->host_med = NAN;
	}
	bench_hmm(&h);
	bench_ferry(&k, "2", FERRY_BACKEND_KERNEL);
	bench_ferry(&u, "3", FERRY_BACKEND_USER);
	bench_where = "comparison";
	bench_compare(&h, &k, &u);
	baseline_check(cfg.size, cfg.memcpy_runs, g_memcpy_gbs, t0);
	return bench_status();
}
