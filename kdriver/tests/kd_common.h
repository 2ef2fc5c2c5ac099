/* SPDX-License-Identifier: MIT */
/*
 * kd_common.h - helpers shared by the guest-side CMocka suites of ferry.ko.
 *
 * A test is the host (application) process: it opens the ferry render node,
 * creates a VA space, maps and registers the window. The device is a second
 * process, the "device server", forked before the window is touched: it
 * munmaps the window, maps the device view of the render node at the same
 * address and serves commands over a socketpair - read a range of the device
 * view into a MAP_SHARED staging buffer, write it from there, fill it, write
 * or check a pattern, run worker threads - the way lib/test_hmm.c's
 * HMM_DMIRROR_READ/WRITE let hmm-tests.c simulate a device. A touch of the
 * device view that raises SIGBUS/SIGSEGV is reported, not fatal; a server that
 * dies or hangs is detected (poll with a timeout, FERRY_KD_TIMEOUT seconds).
 *
 * Conventions: the kd_* ioctl wrappers return 0 or -errno. The device
 * commands return 0, a positive signal number (the device touch faulted at
 * ctx->fault_addr), or -errno when the server is gone (-EPIPE) or does not
 * answer (-ETIMEDOUT). Data patterns are a function of the address and a
 * seed, so the host and the device view (same addresses) agree on them.
 *
 * Include order: this header includes CMocka's prerequisites and cmocka.h.
 */
#ifndef KD_COMMON_H
#define KD_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h> /* device commands return signal numbers */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "ferry/ferry_uapi.h"

#define KD_KIB(x) ((size_t)(x) << 10)
#define KD_MIB(x) ((size_t)(x) << 20)
#define KD_PAGE ((size_t)FERRY_PAGE_SIZE)
#define KD_REGION ((size_t)FERRY_REGION_SIZE)
#define KD_BLOCK ((size_t)FERRY_DEFAULT_BLOCK_SIZE)
#define KD_BLOCK_PAGES (KD_BLOCK / KD_PAGE)
#define KD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* kd_setup() flags */
#define KD_THP (1u << 0)	/* leave the window eligible for THP (default: NOHUGEPAGE) */
#define KD_NO_SERVER (1u << 1)	/* no device server */
#define KD_NO_WINDOW (1u << 2)	/* VA space only: no window mapped or registered */
#define KD_NO_VASPACE (1u << 3) /* render node only */
#define KD_ORPHAN (1u << 4)	/* the server survives its parent (no PDEATHSIG) */

struct kd_req;
struct kd_rep;
struct kd_ctx;

/* A server-side command of a suite's own (KD_OP_CUSTOM). */
typedef int (*kd_custom_fn)(struct kd_ctx *ctx, const struct kd_req *req, struct kd_rep *rep);

struct kd_ctx {
	int fd;		    /* the render node, -1 when closed */
	uint64_t id;	    /* VA space id */
	char *base;	    /* the window */
	size_t size;	    /* its size */
	uint64_t capacity;  /* device memory asked for (0 = module default) */
	unsigned int flags; /* KD_* */

	pid_t server;		/* device server pid, 0 when none */
	int sock;		/* client end, -1 when none */
	int srv_sock;		/* server end (until the server is forked) */
	unsigned char *staging; /* MAP_SHARED, seen by the server */
	size_t staging_size;
	int server_status;    /* wait status once the server is reaped */
	uint64_t view_offset; /* what MAP_DEVICE_VIEW returned */
	uintptr_t fault_addr; /* where the last device command faulted */
	uint64_t mismatches;  /* KD_OP_CHECK: mismatching words */
	uintptr_t first_bad;  /* KD_OP_CHECK: first mismatching address */
	kd_custom_fn custom;  /* KD_OP_CUSTOM handler (set before the fork) */
};

/* Server commands. */
enum kd_op {
	KD_OP_READ = 1, /* device view [addr, +len) -> staging[0, len) */
	KD_OP_WRITE,	/* staging[0, len) -> device view [addr, +len) */
	KD_OP_FILL,	/* memset(addr, arg, len) */
	KD_OP_PATTERN,	/* kd_fill_pattern(addr, len, seed) */
	KD_OP_CHECK,	/* kd_check_pattern(addr, len, seed) */
	KD_OP_TOUCH,	/* read one byte per page (arg 1: write it back) */
	KD_OP_WORKERS,	/* arg threads of kd_worker_run(), see struct kd_req */
	KD_OP_CUSTOM,	/* ctx->custom */
	KD_OP_EXIT,
};

struct kd_req {
	uint32_t op;
	uint32_t arg;
	uint64_t addr;
	uint64_t len;
	uint64_t seed;
	uint64_t arg2;
	uint64_t arg3;
};

struct kd_rep {
	int32_t status; /* 0, a signal number, or -errno */
	int32_t pad;
	uint64_t value;
	uint64_t addr;
};

/* ---- reporting ------------------------------------------------------------ */

const char *kd_errname(long v);
/* CLOCK_MONOTONIC in seconds. */
double kd_now(void);
/* Default dispositions for the fatal signals a forked child must not inherit. */
void kd_default_signals(void);
long kd_timeout_s(void);

/* @expr (0 or -errno) must be exactly @want. */
#define kd_assert_rc(expr, want)                                                                   \
	do {                                                                                       \
		long _kd_got = (long)(expr);                                                       \
		long _kd_want = (long)(want);                                                      \
		if (_kd_got != _kd_want)                                                           \
			fail_msg("%s returned %ld (%s), expected %ld (%s)", #expr, _kd_got,        \
				 kd_errname(_kd_got), _kd_want, kd_errname(_kd_want));             \
	} while (0)

#define kd_assert_ok(expr) kd_assert_rc(expr, 0)

/* A device command must succeed (no fault, server alive). */
#define kd_assert_dev(ctx, expr)                                                                   \
	do {                                                                                       \
		int _kd_r = (expr);                                                                \
		if (_kd_r)                                                                         \
			fail_msg("%s: %s", #expr, kd_dev_strerror(ctx, _kd_r));                    \
	} while (0)

/* The last KD_OP_CHECK (or host check) found no mismatch. */
#define kd_assert_dev_check(ctx, addr, len, seed)                                                  \
	do {                                                                                       \
		int _kd_r = kd_dev_check(ctx, addr, len, seed);                                    \
		if (_kd_r)                                                                         \
			fail_msg("kd_dev_check(%s): %s", #addr, kd_dev_strerror(ctx, _kd_r));      \
		if ((ctx)->mismatches)                                                             \
			fail_msg("device view of %s: %" PRIu64 " words differ, first at +%#lx",    \
				 #addr, (ctx)->mismatches,                                         \
				 (unsigned long)((ctx)->first_bad - (uintptr_t)(addr)));           \
	} while (0)

/* The staging buffer holds what the device read at @addr: @seed's pattern. */
#define kd_assert_staging(ctx, addr, len, seed)                                                    \
	do {                                                                                       \
		ssize_t _kd_off =                                                                  \
			kd_check_pattern_at((ctx)->staging, (uintptr_t)(addr), len, seed);         \
		if (_kd_off >= 0)                                                                  \
			fail_msg("device read of %s: first difference at +%#zx", #addr,            \
				 (size_t)_kd_off);                                                 \
	} while (0)

#define kd_assert_host_check(addr, len, seed)                                                      \
	do {                                                                                       \
		ssize_t _kd_off = kd_check_pattern(addr, len, seed);                               \
		if (_kd_off >= 0)                                                                  \
			fail_msg("host view of %s: first difference at +%#zx: %#" PRIx64           \
				 " instead of %#" PRIx64,                                          \
				 #addr, (size_t)_kd_off, *(uint64_t *)((char *)(addr) + _kd_off),  \
				 kd_pattern_word((uintptr_t)(addr) + _kd_off, seed));              \
	} while (0)

/* ---- data patterns -------------------------------------------------------- */

uint64_t kd_pattern_word(uintptr_t addr, uint64_t seed);
/* Both need 8-byte aligned addr and len. check: -1 or the first bad offset. */
void kd_fill_pattern(void *addr, size_t len, uint64_t seed);
ssize_t kd_check_pattern(const void *addr, size_t len, uint64_t seed);
/* The same for a copy at @buf of what lives at @addr (e.g. the staging buffer). */
void kd_fill_pattern_at(void *buf, uintptr_t addr, size_t len, uint64_t seed);
ssize_t kd_check_pattern_at(const void *buf, uintptr_t addr, size_t len, uint64_t seed);
/* -1 when every byte of [addr, +len) is @byte, else the first other offset. */
ssize_t kd_check_bytes(const void *addr, size_t len, unsigned char byte);
uint64_t kd_rand(uint64_t *state); /* splitmix64 */

/* ---- the render node and the driver interface ----------------------------- */

int kd_open_node(void); /* fd or -errno (-ENODEV: no "ferry" render node) */
int kd_ioctl(int fd, unsigned long req, void *arg);
int kd_create_vaspace(int fd, uint64_t device_memory, uint64_t *id);
int kd_register_window(int fd, void *base, size_t size);
int kd_migrate(int fd, void *start, size_t size, uint32_t target, uint32_t flags, uint64_t *fence);
int kd_wait(int fd, uint64_t fence, uint64_t timeout_ns, int32_t *status);
int kd_set_attr(int fd, void *start, size_t size, uint32_t type, uint64_t value);
int kd_get_attr(int fd, void *start, size_t size, uint32_t type, uint64_t *value);
int kd_residency(int fd, void *start, size_t size, uint8_t *out, uint64_t count[4]);
int kd_counters(int fd, struct ferry_counters *c);
int kd_map_view(int fd, uint64_t id, void *base, size_t size, uint64_t *offset);

/* The module's default device memory in bytes (device_memory_mb, else 256 MiB). */
uint64_t kd_default_capacity(void);

/*
 * Pages of [start, +size) whose residency is not @state (0 = all are); the
 * first few differing pages are printed, tagged with @what.
 */
size_t kd_residency_not(int fd, void *start, size_t size, uint8_t state, const char *what);
#define kd_assert_residency(fd, start, size, state)                                                \
	do {                                                                                       \
		size_t _kd_n = kd_residency_not(fd, start, size, state, #start);                   \
		if (_kd_n)                                                                         \
			fail_msg("%zu pages of %s (+%zu pages) are not %s", _kd_n, #start,         \
				 (size_t)(size) / KD_PAGE, #state);                                \
	} while (0)

/* ---- the window ----------------------------------------------------------- */

/* A PROT_NONE reservation of @size at a FERRY_REGION_SIZE aligned address. */
char *kd_reserve(size_t size);
/* A private anonymous RW mapping over [base, +size) (MAP_FIXED). */
int kd_map_anon(void *base, size_t size, bool thp);

/*
 * The whole fixture: render node, VA space (@capacity bytes, 0 = default),
 * window of @size bytes, device server. Return 0 or -errno; on failure
 * everything is undone and a message printed.
 */
int kd_setup(struct kd_ctx *ctx, size_t size, uint64_t capacity, unsigned int flags);
void kd_teardown(struct kd_ctx *ctx);

/*
 * The steps kd_setup() takes, for tests that split them across processes:
 * kd_prepare() (staging, socketpair, window reservation), kd_host_setup()
 * (node, VA space, window), kd_server_spawn().
 */
int kd_prepare(struct kd_ctx *ctx, size_t size, uint64_t capacity, unsigned int flags);
int kd_host_setup(struct kd_ctx *ctx);
int kd_server_spawn(struct kd_ctx *ctx);
/* Ask the server to exit, wait (kill it after a while). 0 when it exited 0. */
int kd_server_stop(struct kd_ctx *ctx);
void kd_server_kill(struct kd_ctx *ctx);

/* ---- device commands ------------------------------------------------------ */

int kd_dev_cmd(struct kd_ctx *ctx, const struct kd_req *req, struct kd_rep *rep);
int kd_dev_read(struct kd_ctx *ctx, const void *addr, size_t len);
int kd_dev_write(struct kd_ctx *ctx, void *addr, size_t len);
int kd_dev_fill(struct kd_ctx *ctx, void *addr, size_t len, unsigned char byte);
int kd_dev_pattern(struct kd_ctx *ctx, void *addr, size_t len, uint64_t seed);
/* Sets ctx->mismatches and ctx->first_bad. */
int kd_dev_check(struct kd_ctx *ctx, const void *addr, size_t len, uint64_t seed);
int kd_dev_touch(struct kd_ctx *ctx, void *addr, size_t len, bool write);
const char *kd_dev_strerror(struct kd_ctx *ctx, int r);

/* ---- concurrent workers (host threads and device server threads) ----------- */

/*
 * Worker @owner of @owners writes word @owner of each page of [base, +npages)
 * @iters times: before writing iteration k it checks that the word still holds
 * what it wrote in iteration k - 1 (0 before the first), so lost or torn
 * updates show as errors. The final contents are exact: word o of page p is
 * kd_worker_value(o, p, iters), every other word is untouched.
 */
struct kd_worker {
	char *base;
	size_t npages;
	unsigned int owner;
	unsigned int iters;
	uint64_t errors;
	uintptr_t first_bad;
};

uint64_t kd_worker_value(unsigned int owner, size_t page, unsigned int iter);
void kd_worker_run(struct kd_worker *w);
/*
 * The server runs @nthreads workers, owners @first_owner.. on
 * [addr, +npages pages); returns 0 (ctx->mismatches = their errors), a signal
 * or -errno.
 */
int kd_dev_workers(struct kd_ctx *ctx, void *addr, size_t npages, unsigned int first_owner,
		   unsigned int nthreads, unsigned int iters);

/* ---- child processes ------------------------------------------------------ */

/*
 * Fork, run fn(arg) in the child and _exit with its return value; wait at
 * most @timeout_s seconds (then SIGKILL). Returns the exit code (0..255),
 * 1000 + signal when it was killed by one, or -ETIMEDOUT.
 */
int kd_run_child(int (*fn)(void *arg), void *arg, int timeout_s);
/* waitpid() with a timeout; returns the pid's wait status or -ETIMEDOUT. */
int kd_wait_pid(pid_t pid, int timeout_s);

/*
 * No leak: a fresh VA space of the module's default capacity takes every
 * device page: a window of that size migrates to the device with no
 * eviction and device_resident_pages equals the capacity. Returns 0 or
 * prints what failed and returns -1. Needs the module loaded with a
 * device_memory_mb that is a multiple of 64 (the guest script's 64).
 */
int kd_check_full_capacity(void);

#endif /* KD_COMMON_H */
