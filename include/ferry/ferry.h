/* SPDX-License-Identifier: MIT */
/*
 * ferry.h - the runtime's host-side core API.
 *
 * A ferry_ctx is one VA space: an SVM window reserved at the same address in
 * the calling (host) process and in a ferry-device process started for it,
 * plus the driver (user backend: udriver inside ferry-device; kernel
 * backend: ferry.ko) that moves the window's pages between system memory and
 * device memory.
 *
 * The OpenCL layer is built on this API for memory, and on the host layer's
 * compute calls (runtime/host/compute.h) for programs, kernels and launches;
 * tests, samples and benchmarks use this API directly. Every function that can fail returns 0 or a negative errno:
 *   -EINVAL   bad argument: misaligned, zero size, unknown flag, reserved != 0
 *   -ERANGE   range outside the window
 *   -ENOMEM   window or device memory exhausted (allocation)
 *   -ENODEV   the device process is gone (died or was killed); the window
 *             stays usable as plain host memory with every page's data kept
 *   -EPERM    userfaultfd is not permitted (see ferry_open)
 *   -ENOENT   the ferry-device executable was not found
 */
#ifndef FERRY_H
#define FERRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ferry/ferry_uapi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ferry_ctx;

/* Options of ferry_open; zero fields take the defaults (and the environment). */
struct ferry_options {
	uint64_t window_size;	/* bytes, multiple of 2 MiB; default 64 GiB or FERRY_WINDOW_SIZE */
	uint64_t device_memory; /* bytes; default 1 GiB or FERRY_DEVICE_MEMORY */
	uint64_t block_size;	/* bytes; default 64 KiB or FERRY_BLOCK_SIZE */
	int prefetch;		/* -1 default (on, or FERRY_PREFETCH=0|1), 0 off, 1 on */
	const char
		*device_path; /* ferry-device executable; default FERRY_DEVICE_PATH or built-in */
};

/*
 * Open a VA space on the backend FERRY_BACKEND names (auto, the default:
 * ferry.ko when its render node exists, else the user-space driver). The
 * user backend fails with -EPERM (and a message on stderr saying how to
 * enable it) when userfaultfd is not permitted; FERRY_BACKEND=kernel fails
 * with -ENODEV when the module is not loaded.
 */
int ferry_open(const struct ferry_options *opt, struct ferry_ctx **out);
/* Stop the device process and release the window. NULL is ignored. */
void ferry_close(struct ferry_ctx *ctx);

void *ferry_window_base(const struct ferry_ctx *ctx);
uint64_t ferry_window_size(const struct ferry_ctx *ctx);
pid_t ferry_device_pid(const struct ferry_ctx *ctx);
/* 1 while the device process is alive and bound, 0 once it is gone. */
int ferry_device_alive(struct ferry_ctx *ctx);
/* Human-readable text for a negative errno returned by this API. */
const char *ferry_strerror(int err);

/*
 * The driver interface (include/ferry/ferry_uapi.h) for this VA space:
 * FERRY_IOCTL_VERSION, MIGRATE, WAIT, SET_ATTR, GET_ATTR, RESIDENCY,
 * COUNTERS. Returns 0 or a negative errno.
 */
int ferry_ioctl(struct ferry_ctx *ctx, unsigned long cmd, void *arg);

/* Convenience wrappers over ferry_ioctl. */
int ferry_migrate(struct ferry_ctx *ctx, void *start, uint64_t size, uint32_t target,
		  uint32_t flags, uint64_t *fence);
int ferry_wait(struct ferry_ctx *ctx, uint64_t fence);
int ferry_query_residency(struct ferry_ctx *ctx, const void *start, uint64_t size, uint8_t *out,
			  uint64_t count[4]);
int ferry_counters(struct ferry_ctx *ctx, struct ferry_counters *c);
int ferry_set_attr(struct ferry_ctx *ctx, void *start, uint64_t size, uint32_t type,
		   uint64_t value);
int ferry_get_attr(struct ferry_ctx *ctx, void *start, uint64_t size, uint32_t type,
		   uint64_t *value);

/*
 * Managed-memory allocation inside the window: page-aligned (or @align, a
 * power of two up to 2 MiB), sizes rounded up to whole pages. Returns NULL
 * when the window is full or the context is dead. Freed memory is discarded
 * (its pages become untouched).
 */
void *ferry_alloc(struct ferry_ctx *ctx, uint64_t size, uint64_t align);
int ferry_free(struct ferry_ctx *ctx, void *ptr);
/*
 * Coherent (fine-grained) allocations: from the top of the window, one set of
 * pages mapped by both processes at the same address, never migrated, so
 * that host and device see every store at once and atomics work across
 * them. ferry_free releases them too.
 */
void *ferry_alloc_coherent(struct ferry_ctx *ctx, uint64_t size, uint64_t align);
int ferry_is_coherent(const struct ferry_ctx *ctx, const void *ptr);
/*
 * The allocation containing @ptr, [*base, *base + *size) with the size it was
 * asked for (not rounded to pages): 0, or -ENOENT when @ptr is in none.
 */
int ferry_alloc_find(struct ferry_ctx *ctx, const void *ptr, uint64_t *base, uint64_t *size);

/*
 * Device work: ferry-device touches window memory through its device view,
 * the way a GPU kernel would (HMM_DMIRROR_READ/WRITE in lib/test_hmm.c).
 * @threads device threads share the range (0 or 1 = one thread). Ranges need
 * not be page aligned but must lie inside the window.
 */
enum ferry_dev_op {
	FERRY_DEV_READ = 1,  /* copy window -> @buf (host memory) */
	FERRY_DEV_WRITE = 2, /* copy @buf -> window */
	FERRY_DEV_FILL = 3,  /* write ferry_pattern(seed, addr) to every u64 */
	FERRY_DEV_CHECK = 4, /* count u64s that differ from ferry_pattern(seed, addr) */
	FERRY_DEV_TOUCH = 5, /* read one byte every @stride bytes, in order */
	FERRY_DEV_INC = 6    /* atomically add 1 to the u64 at every @stride bytes */
};

struct ferry_dev_work {
	uint32_t op;	  /* enum ferry_dev_op */
	uint32_t threads; /* device threads */
	uint64_t addr;	  /* window address */
	uint64_t size;	  /* bytes */
	uint64_t seed;	  /* FILL, CHECK */
	uint64_t stride;  /* TOUCH, INC: bytes between touches, >= 8 and a multiple of 8 */
	uint64_t repeat;  /* INC: passes over the range */
	uint64_t result;  /* out: CHECK mismatches, TOUCH sum of bytes read */
};

int ferry_device_work(struct ferry_ctx *ctx, struct ferry_dev_work *w, void *buf);
int ferry_dev_read(struct ferry_ctx *ctx, const void *src, void *dst, uint64_t size);
int ferry_dev_write(struct ferry_ctx *ctx, void *dst, const void *src, uint64_t size);
int ferry_dev_fill(struct ferry_ctx *ctx, void *dst, uint64_t size, uint64_t seed);
/* Returns the number of mismatching u64 words (>= 0) or a negative errno. */
int64_t ferry_dev_check(struct ferry_ctx *ctx, const void *src, uint64_t size, uint64_t seed);

/* The pattern used by FILL and CHECK: a hash of the seed and the address. */
static inline uint64_t ferry_pattern(uint64_t seed, uint64_t addr)
{
	uint64_t z = seed + (addr >> 3) * 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

#ifdef __cplusplus
}
#endif

#endif /* FERRY_H */
