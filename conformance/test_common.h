/* SPDX-License-Identifier: MIT */
/*
 * test_common.h - helpers shared by the Ferry conformance suites.
 *
 * Only the public API (ferry/ferry.h, ferry/ferry_uapi.h) is used. Every
 * helper that can fail fails the current CMocka test with a message naming
 * the call, the value it returned (as an errno name where it is one) and what
 * was expected, so a failure report can be read without the source.
 *
 * Include order: the CMocka prerequisites are included here, so a test file
 * only includes "test_common.h".
 */
#ifndef FERRY_TEST_COMMON_H
#define FERRY_TEST_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ferry/ferry.h"
#include "ferry/ferry_uapi.h"

#define FT_KIB(x) ((uint64_t)(x) << 10)
#define FT_MIB(x) ((uint64_t)(x) << 20)
#define FT_GIB(x) ((uint64_t)(x) << 30)

#define FT_PAGE FERRY_PAGE_SIZE
#define FT_REGION FERRY_REGION_SIZE

/* Defaults for tests: small, explicit, independent of the environment. */
#define FT_WINDOW_SIZE FT_GIB(1)
#define FT_DEVICE_MEMORY FT_MIB(64)

/* Hang guard armed by ft_open() unless a test arms its own. */
#define FT_HANG_SECONDS 120

#define FT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline uint64_t ft_div_round_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* ---- error reporting ------------------------------------------------------ */

static inline const char *ft_errname(long long v)
{
	const char *n;

	if (v == 0)
		return "0";
	if (v > 0 || v < -4095)
		return "-";
	n = strerrorname_np((int)-v);
	return n ? n : "?";
}

/* @expr must evaluate to exactly @want (an int, typically 0 or -Exxx). */
#define ft_assert_rc(expr, want)                                                                   \
	do {                                                                                       \
		long long _ft_got = (long long)(expr);                                             \
		long long _ft_want = (long long)(want);                                            \
		if (_ft_got != _ft_want)                                                           \
			fail_msg("%s returned %lld (%s), expected %lld (%s)", #expr, _ft_got,      \
				 ft_errname(_ft_got), _ft_want, ft_errname(_ft_want));             \
	} while (0)

#define ft_assert_ok(expr) ft_assert_rc(expr, 0)

/* Unsigned equality, printed in decimal. */
#define ft_assert_u64_eq(a, b)                                                                     \
	do {                                                                                       \
		uint64_t _ft_a = (uint64_t)(a), _ft_b = (uint64_t)(b);                             \
		if (_ft_a != _ft_b)                                                                \
			fail_msg("%s == %" PRIu64 ", expected %s == %" PRIu64, #a, _ft_a, #b,      \
				 _ft_b);                                                           \
	} while (0)

#define ft_assert_u64_cmp(a, op, b)                                                                \
	do {                                                                                       \
		uint64_t _ft_a = (uint64_t)(a), _ft_b = (uint64_t)(b);                             \
		if (!(_ft_a op _ft_b))                                                             \
			fail_msg("expected %s %s %s, got %" PRIu64 " %s %" PRIu64, #a, #op, #b,    \
				 _ft_a, #op, _ft_b);                                               \
	} while (0)

/*
 * Helpers below that are called through macros record the caller's location,
 * and their failure messages start with it (CMocka itself only names the
 * helper's line).
 */
static const char *ft_at_file __attribute__((unused)) = "?";
static int ft_at_line __attribute__((unused));

#define FT_AT() (ft_at_file = __FILE__, ft_at_line = __LINE__)
#define ft_fail_at(fmt, ...) fail_msg("%s:%d: " fmt, ft_at_file, ft_at_line, ##__VA_ARGS__)

/* Like ft_assert_rc, inside a helper: reports the helper's caller. */
#define ft_check_rc_at(expr, want)                                                                 \
	do {                                                                                       \
		long long _ft_got = (long long)(expr);                                             \
		long long _ft_want = (long long)(want);                                            \
		if (_ft_got != _ft_want)                                                           \
			ft_fail_at("%s returned %lld (%s), expected %lld (%s)", #expr, _ft_got,    \
				   ft_errname(_ft_got), _ft_want, ft_errname(_ft_want));           \
	} while (0)

/* ---- hang guard ------------------------------------------------------------ */

static const char *volatile ft_guard_test __attribute__((unused));
static const char *volatile ft_guard_step __attribute__((unused));

static inline void ft_write_str(const char *s)
{
	ssize_t r __attribute__((unused));

	if (s)
		r = write(STDERR_FILENO, s, strlen(s));
}

static inline void ft_alarm_handler(int sig)
{
	(void)sig;
	ft_write_str("\nHANG GUARD: test '");
	ft_write_str((const char *)ft_guard_test);
	ft_write_str("' did not finish in time; last step: ");
	ft_write_str((const char *)ft_guard_step);
	ft_write_str("\n");
	_exit(3);
}

/* Record what the test is doing (reported if the hang guard fires). */
static inline void ft_step(const char *what)
{
	ft_guard_step = what;
}

static inline void ft_guard(unsigned int seconds, const char *test)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ft_alarm_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	ft_guard_test = test;
	ft_guard_step = "start";
	alarm(seconds);
}

static inline void ft_unguard(void)
{
	alarm(0);
}

/* ---- random numbers (reproducible: FERRY_TEST_SEED=<n>) -------------------- */

static inline uint64_t ft_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* A new random state for one test; the seed is printed so it can be replayed. */
static inline uint64_t ft_rng_init(const char *test)
{
	const char *env = getenv("FERRY_TEST_SEED");
	uint64_t s;

	if (env && *env) {
		s = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
	}
	print_message("[ %s ] FERRY_TEST_SEED=%" PRIu64 "\n", test, s);
	return s;
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t ft_rand_below(uint64_t *s, uint64_t n)
{
	return ft_splitmix(s) % n;
}

/* A nonzero seed for ferry_pattern. */
static inline uint64_t ft_rand_seed(uint64_t *s)
{
	return ft_splitmix(s) | 1;
}

/* ---- context ---------------------------------------------------------------- */

static inline void ft_default_options(struct ferry_options *o)
{
	memset(o, 0, sizeof(*o));
	o->window_size = FT_WINDOW_SIZE;
	o->device_memory = FT_DEVICE_MEMORY;
	o->block_size = FERRY_DEFAULT_BLOCK_SIZE;
	o->prefetch = -1;
	o->device_path = NULL;
}

/*
 * Open a context with @o (NULL: the test defaults). Skips the test when
 * userfaultfd is not permitted (-EPERM); any other error fails it. Arms the
 * hang guard for the calling test.
 */
static inline struct ferry_ctx *ft_open_at(const struct ferry_options *o, const char *test)
{
	struct ferry_options def;
	struct ferry_ctx *ctx = NULL;
	int rc;

	if (!o) {
		ft_default_options(&def);
		o = &def;
	}
	ft_guard(FT_HANG_SECONDS, test);
	ft_step("ferry_open");
	rc = ferry_open(o, &ctx);
	if (rc == -EPERM) {
		print_message("[ %s ] userfaultfd not permitted (ferry_open: -EPERM): skipped\n",
			      test);
		ft_unguard();
		skip();
	}
	if (rc != 0)
		fail_msg("ferry_open returned %d (%s): %s", rc, ft_errname(rc), ferry_strerror(rc));
	if (!ctx)
		fail_msg("ferry_open returned 0 but no context");
	ft_step("running");
	return ctx;
}

#define ft_open(o) ft_open_at((o), __func__)

/* FERRY_BACKEND_USER or FERRY_BACKEND_KERNEL: what this context runs on. */
static inline uint32_t ft_backend(struct ferry_ctx *ctx)
{
	struct ferry_version v;

	memset(&v, 0, sizeof(v));
	if (ferry_ioctl(ctx, FERRY_IOCTL_VERSION, &v))
		fail_msg("FERRY_IOCTL_VERSION failed");
	return v.backend;
}

/* Open with the test defaults but the given block size and prefetch setting. */
static inline struct ferry_ctx *ft_open_bp_at(uint64_t block_size, int prefetch,
					      uint64_t device_memory, const char *test)
{
	struct ferry_options o;

	ft_default_options(&o);
	o.block_size = block_size;
	o.prefetch = prefetch;
	if (device_memory)
		o.device_memory = device_memory;
	return ft_open_at(&o, test);
}

#define ft_open_bp(bs, pf, devmem) ft_open_bp_at((bs), (pf), (devmem), __func__)

static inline void ft_close(struct ferry_ctx *ctx)
{
	ft_step("ferry_close");
	ferry_close(ctx);
	ft_unguard();
}

/*
 * Allocate managed memory aligned to @align (0: page). Fails the test when
 * the allocator returns NULL or a misaligned pointer. Alignment is checked
 * both as an address and as an offset into the window, since blocks and
 * 2 MiB regions may be counted either way.
 */
static inline void *ft_alloc(struct ferry_ctx *ctx, uint64_t size, uint64_t align)
{
	uint64_t base = (uint64_t)(uintptr_t)ferry_window_base(ctx);
	uint64_t a = align ? align : FT_PAGE;
	void *p = ferry_alloc(ctx, size, align);
	uint64_t addr = (uint64_t)(uintptr_t)p;

	if (!p)
		fail_msg("ferry_alloc(%" PRIu64 ", %" PRIu64 ") returned NULL", size, align);
	if (addr % a)
		fail_msg("ferry_alloc(align %" PRIu64 ") returned %#" PRIx64 ": misaligned", a,
			 addr);
	if ((addr - base) % a)
		fail_msg("window base %#" PRIx64 " is not %" PRIu64
			 "-aligned: block/region boundaries are ambiguous",
			 base, a);
	if (addr < base || addr + size > base + ferry_window_size(ctx))
		fail_msg("ferry_alloc returned %#" PRIx64 " outside the window", addr);
	return p;
}

/* ---- host-side data --------------------------------------------------------- */

/* Write ferry_pattern(seed, address) to every u64 of [p, p + size). */
static inline void ft_host_fill(void *p, uint64_t size, uint64_t seed)
{
	uint64_t *w = p;
	uint64_t n = size / 8, i;

	for (i = 0; i < n; i++)
		w[i] = ferry_pattern(seed, (uint64_t)(uintptr_t)&w[i]);
}

/* Count u64 words of [p, p + size) that differ from the pattern. */
static inline uint64_t ft_host_check(const void *p, uint64_t size, uint64_t seed)
{
	const volatile uint64_t *w = p;
	uint64_t n = size / 8, i, bad = 0;

	for (i = 0; i < n; i++)
		if (w[i] != ferry_pattern(seed, (uint64_t)(uintptr_t)&w[i]))
			bad++;
	return bad;
}

/* First mismatching word of [p, p + size) as an index, or UINT64_MAX. */
static inline uint64_t ft_host_first_bad(const void *p, uint64_t size, uint64_t seed)
{
	const volatile uint64_t *w = p;
	uint64_t n = size / 8, i;

	for (i = 0; i < n; i++)
		if (w[i] != ferry_pattern(seed, (uint64_t)(uintptr_t)&w[i]))
			return i;
	return UINT64_MAX;
}

/* Count nonzero u64 words of [p, p + size). */
static inline uint64_t ft_host_nonzero(const void *p, uint64_t size)
{
	const volatile uint64_t *w = p;
	uint64_t n = size / 8, i, bad = 0;

	for (i = 0; i < n; i++)
		if (w[i])
			bad++;
	return bad;
}

/* The host's pattern check, as an assertion naming the first bad address. */
#define ft_assert_host_pattern(p, size, seed)                                                      \
	do {                                                                                       \
		const void *_ft_p = (p);                                                           \
		uint64_t _ft_sz = (size), _ft_seed = (seed);                                       \
		uint64_t _ft_bad = ft_host_check(_ft_p, _ft_sz, _ft_seed);                         \
		if (_ft_bad) {                                                                     \
			uint64_t _ft_i = ft_host_first_bad(_ft_p, _ft_sz, _ft_seed);               \
			fail_msg("host check of %s (%" PRIu64 " bytes at %p, seed %#" PRIx64       \
				 "): %" PRIu64 " bad words, first at %#" PRIx64,                   \
				 #p, _ft_sz, _ft_p, _ft_seed, _ft_bad,                             \
				 (uint64_t)(uintptr_t)_ft_p + _ft_i * 8);                          \
		}                                                                                  \
	} while (0)

/* The device's pattern check (FERRY_DEV_CHECK), as an assertion. */
#define ft_assert_dev_pattern(ctx, p, size, seed)                                                  \
	do {                                                                                       \
		int64_t _ft_r = ferry_dev_check((ctx), (p), (size), (seed));                       \
		if (_ft_r != 0)                                                                    \
			fail_msg("ferry_dev_check(%s, %" PRIu64 " bytes, seed %#" PRIx64           \
				 ") returned %" PRId64 " (%s)",                                    \
				 #p, (uint64_t)(size), (uint64_t)(seed), _ft_r,                    \
				 _ft_r < 0 ? ft_errname(_ft_r) : "mismatching words");             \
	} while (0)

#define ft_assert_host_zero(p, size)                                                               \
	do {                                                                                       \
		uint64_t _ft_nz = ft_host_nonzero((p), (size));                                    \
		if (_ft_nz)                                                                        \
			fail_msg("host read of %s (%" PRIu64 " bytes): %" PRIu64                   \
				 " nonzero words, expected zeros",                                 \
				 #p, (uint64_t)(size), _ft_nz);                                    \
	} while (0)

/* Device read of [p, p + size) must give zeros. */
static inline void ft_assert_dev_zero_fn(struct ferry_ctx *ctx, const void *p, uint64_t size)
{
	uint8_t *buf = malloc(size);
	uint64_t i, nz = 0;

	assert_non_null(buf);
	memset(buf, 0xa5, size);
	ft_check_rc_at(ferry_dev_read(ctx, p, buf, size), 0);
	for (i = 0; i < size; i++)
		if (buf[i])
			nz++;
	free(buf);
	if (nz)
		ft_fail_at("device read of %" PRIu64 " bytes at %p: %" PRIu64
			   " nonzero bytes, expected zeros",
			   size, p, nz);
}

#define ft_assert_dev_zero(...) (FT_AT(), ft_assert_dev_zero_fn(__VA_ARGS__))

/* Read one byte a page, in order, on the host (faults page by page). */
static inline uint64_t ft_host_touch(const void *p, uint64_t size, uint64_t stride)
{
	const volatile uint8_t *b = p;
	uint64_t off, sum = 0;

	for (off = 0; off < size; off += stride)
		sum += b[off];
	return sum;
}

/* Expected FERRY_DEV_TOUCH / ft_host_touch sum over pattern-filled memory. */
static inline uint64_t ft_pattern_touch_sum(const void *p, uint64_t size, uint64_t stride,
					    uint64_t seed)
{
	uint64_t a = (uint64_t)(uintptr_t)p, off, sum = 0;

	for (off = 0; off < size; off += stride) {
		uint64_t w = a + off;
		uint64_t v = ferry_pattern(seed, w & ~7ULL);

		sum += (v >> (8 * (w & 7))) & 0xff;
	}
	return sum;
}

/* ---- driver wrappers ---------------------------------------------------------- */

static inline void ft_counters_fn(struct ferry_ctx *ctx, struct ferry_counters *c)
{
	memset(c, 0, sizeof(*c));
	ft_check_rc_at(ferry_counters(ctx, c), 0);
}

#define ft_counters(...) (FT_AT(), ft_counters_fn(__VA_ARGS__))

/* FERRY_DEV_TOUCH: one byte every @stride bytes, one device thread; returns the sum. */
static inline uint64_t ft_dev_touch_fn(struct ferry_ctx *ctx, const void *p, uint64_t size,
				       uint64_t stride, uint32_t threads)
{
	struct ferry_dev_work w;

	memset(&w, 0, sizeof(w));
	w.op = FERRY_DEV_TOUCH;
	w.threads = threads;
	w.addr = (uint64_t)(uintptr_t)p;
	w.size = size;
	w.stride = stride;
	ft_check_rc_at(ferry_device_work(ctx, &w, NULL), 0);
	return w.result;
}

#define ft_dev_touch(...) (FT_AT(), ft_dev_touch_fn(__VA_ARGS__))

static inline void ft_migrate_fn(struct ferry_ctx *ctx, void *p, uint64_t size, uint32_t target)
{
	ft_check_rc_at(ferry_migrate(ctx, p, size, target, 0, NULL), 0);
}

#define ft_migrate(...) (FT_AT(), ft_migrate_fn(__VA_ARGS__))

/*
 * Residency snapshot of [p, p + size) into @out (size / 4 KiB bytes, may be
 * NULL) and @count. Checks that the call succeeds, that the counts add up to
 * the number of pages and that they agree with the byte array.
 */
static inline void ft_residency_fn(struct ferry_ctx *ctx, const void *p, uint64_t size,
				   uint8_t *out, uint64_t count[4])
{
	uint64_t npages = size / FT_PAGE, mine[4] = {0, 0, 0, 0}, i;
	uint8_t *buf = out ? out : malloc(npages);
	unsigned int badst = 0;

	assert_non_null(buf);
	memset(buf, 0xee, npages);
	memset(count, 0xee, 4 * sizeof(count[0]));
	ft_check_rc_at(ferry_query_residency(ctx, p, size, buf, count), 0);
	for (i = 0; i < npages; i++) {
		if (buf[i] > FERRY_RES_DUPLICATED) {
			badst = buf[i];
			break;
		}
		mine[buf[i]]++;
	}
	if (!out)
		free(buf);
	if (i < npages)
		ft_fail_at("residency of page %" PRIu64 " (%p) is %u: not a state", i,
			   (const char *)p + i * FT_PAGE, badst);
	if (count[0] + count[1] + count[2] + count[3] != npages)
		ft_fail_at("residency counts %" PRIu64 "+%" PRIu64 "+%" PRIu64 "+%" PRIu64
			   " do not add up to %" PRIu64 " pages",
			   count[0], count[1], count[2], count[3], npages);
	for (i = 0; i < 4; i++)
		if (mine[i] != count[i])
			ft_fail_at("residency count[%" PRIu64 "] = %" PRIu64
				   " but the byte array has %" PRIu64,
				   i, count[i], mine[i]);
}

#define ft_residency(...) (FT_AT(), ft_residency_fn(__VA_ARGS__))

/* Every page of [p, p + size) must be in @state. */
static inline void ft_assert_resident_fn(struct ferry_ctx *ctx, const void *p, uint64_t size,
					 uint8_t state)
{
	static const char *const names[] = {"untouched", "host", "device", "duplicated"};
	uint64_t npages = size / FT_PAGE, count[4], i;
	uint8_t *buf = malloc(npages);
	uint8_t other;

	assert_non_null(buf);
	ft_residency_fn(ctx, p, size, buf, count);
	for (i = 0; i < npages && buf[i] == state; i++)
		;
	other = i < npages ? buf[i] : state;
	free(buf);
	if (count[state] != npages)
		ft_fail_at("expected all %" PRIu64 " pages at %p %s, got untouched %" PRIu64
			   " host %" PRIu64 " device %" PRIu64 " dup %" PRIu64
			   "; first other: page %" PRIu64 " is %s",
			   npages, p, names[state], count[0], count[1], count[2], count[3], i,
			   other < 4 ? names[other] : "?");
}

#define ft_assert_resident(...) (FT_AT(), ft_assert_resident_fn(__VA_ARGS__))

#endif /* FERRY_TEST_COMMON_H */
