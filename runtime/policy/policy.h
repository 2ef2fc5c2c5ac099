/* SPDX-License-Identifier: MIT */
/*
 * policy.h - what to migrate and when, apart from how.
 *
 * Plain C, no OS calls, no allocation after init: the same code can be built
 * into the user-space driver and into ferry.ko. The mechanism asks; the
 * policy answers with hints (ranges to move, victims to evict).
 */
#ifndef FERRY_POLICY_H
#define FERRY_POLICY_H

#ifdef __KERNEL__ /* built into ferry.ko by kdriver/ferry_policy.c */
#include <linux/limits.h>
#include <linux/types.h>
#ifndef UINT32_MAX
#define UINT32_MAX U32_MAX
#endif
#else
#include <stdbool.h>
#include <stdint.h>
#endif

#include "ferry/ferry_uapi.h"

#define FERRY_REGION_PAGES (FERRY_REGION_SIZE / FERRY_PAGE_SIZE)
#define FERRY_PREFETCH_THRESHOLD 51 /* percent, as uvm_perf_prefetch.c */

/* Is @bytes a valid migration block size (power of two, 4 KiB .. 2 MiB)? */
bool ferry_policy_block_size_valid(uint64_t bytes);

/*
 * The density (tree) prefetcher, as NVIDIA's uvm_perf_prefetch.c: over one
 * 2 MiB region, seen as a binary tree of blocks, find the largest subtree that
 * contains the faulting block and in which more than @threshold percent of
 * the pages are resident on the faulting side once the faulting block is.
 *
 * @resident: one bit a page of the region (bit i = page i is already resident
 *            on the destination side)
 * @fault_page: page index of the fault within the region
 * @block_pages: pages a block (power of two, <= FERRY_REGION_PAGES)
 * @first, @count: out: the page range to make resident (always contains the
 *            faulting block)
 */
void ferry_policy_prefetch(const uint64_t resident[FERRY_REGION_PAGES / 64], uint32_t fault_page,
			   uint32_t block_pages, uint32_t threshold, uint32_t *first,
			   uint32_t *count);

/*
 * Sequential streams, as the kernel's readahead finds them: a fault in the
 * first block of a region whose predecessor is entirely resident on the
 * faulting side moves the whole region at once (the tree prefetcher alone
 * faults on blocks 0, 1, 2, 4, 8 and 16 of every region of a stream).
 *
 * @prev_resident: pages of the previous region resident on the faulting side
 * @fault_page, @block_pages: as for ferry_policy_prefetch
 */
bool ferry_policy_stream(uint32_t prev_resident, uint32_t fault_page, uint32_t block_pages);

/*
 * LRU of 2 MiB regions holding device-resident pages (eviction order). The
 * caller provides storage for @nregions entries.
 */
struct ferry_lru_node {
	uint32_t prev, next; /* FERRY_LRU_NONE when unlinked */
};

#define FERRY_LRU_NONE UINT32_MAX

struct ferry_lru {
	struct ferry_lru_node *node;
	uint32_t nregions;
	uint32_t head; /* least recently used */
	uint32_t tail; /* most recently used */
	uint32_t count;
};

void ferry_lru_init(struct ferry_lru *lru, struct ferry_lru_node *storage, uint32_t nregions);
/* Mark @region most recently used (linking it if needed). */
void ferry_lru_touch(struct ferry_lru *lru, uint32_t region);
void ferry_lru_remove(struct ferry_lru *lru, uint32_t region);
bool ferry_lru_linked(const struct ferry_lru *lru, uint32_t region);
/* Least recently used region other than @pinned, or FERRY_LRU_NONE. */
uint32_t ferry_lru_victim(const struct ferry_lru *lru, uint32_t pinned);

/*
 * Thrashing, after nvidia-uvm's uvm_perf_thrashing.c, per 2 MiB region: a
 * region that comes back to the device less than @window_ns after it was
 * evicted is a thrashing event. After @threshold events in a row the region
 * is pinned where its data are (the host) for @pin_ns: the device maps the
 * host's pages in place instead of migrating them, so it neither moves nor
 * evicts anything for that region, and what is resident stays resident (a
 * stable subset instead of LRU against a sweep). A return outside the window
 * clears the history. When a pin expires the region is let go (the device
 * faults it again) with its history one event short of the threshold, so a
 * region that still thrashes is pinned again on its next return.
 *
 * The same pin answers a sweep larger than the device before anything has
 * come back: when a device fault finds the device full and the region that
 * would be evicted for it arrived less than @window_ns ago, evicting it would
 * only make room by throwing out what the sweep needs next (LRU against a
 * cyclic sweep), so the faulting region is pinned on the host instead
 * (ferry_thrash_full()).
 *
 * The caller keeps one struct ferry_thrash a region (zeroed) and calls
 * ferry_thrash_arrived() when pages of the region arrive on the device,
 * ferry_thrash_evicted() when it evicts the region, ferry_thrash_return()
 * before it migrates the region's data back for a device fault (once a
 * return: while the region has no device-resident pages).
 */
struct ferry_thrash_config {
	uint64_t window_ns; /* a return this soon after an eviction is thrashing */
	uint64_t pin_ns;    /* how long a thrashing region stays pinned */
	uint32_t threshold; /* events in a row that pin (0: never pin, only count) */
};

struct ferry_thrash {
	uint64_t arrived_ns;	  /* when device pages last arrived */
	uint64_t evicted_ns;	  /* last eviction not yet followed by a return, or 0 */
	uint64_t pinned_until_ns; /* 0 when not pinned */
	uint32_t events;	  /* thrashing events in a row */
};

enum ferry_thrash_verdict {
	FERRY_THRASH_NONE,  /* not thrashing: migrate */
	FERRY_THRASH_EVENT, /* a thrashing event below the threshold: migrate, count it */
	FERRY_THRASH_PIN,   /* pinned (from now, or still): map remotely, do not migrate */
};

#define FERRY_THRASHING_WINDOW_NS (2000ULL * 1000 * 1000)
#define FERRY_THRASHING_PIN_NS (2000ULL * 1000 * 1000)
#define FERRY_THRASHING_THRESHOLD 2

void ferry_thrash_arrived(struct ferry_thrash *t, uint64_t now_ns);
void ferry_thrash_evicted(struct ferry_thrash *t, uint64_t now_ns);
enum ferry_thrash_verdict
ferry_thrash_return(struct ferry_thrash *t, const struct ferry_thrash_config *cfg, uint64_t now_ns);
/*
 * The device is full and a device fault in the region of @t would evict the
 * region of @victim: FERRY_THRASH_PIN (and @t pinned) when @victim arrived
 * less than the window ago, FERRY_THRASH_NONE (evict) otherwise or when
 * pinning is off (threshold 0).
 */
enum ferry_thrash_verdict ferry_thrash_full(struct ferry_thrash *t,
					    const struct ferry_thrash *victim,
					    const struct ferry_thrash_config *cfg, uint64_t now_ns);
bool ferry_thrash_pinned(const struct ferry_thrash *t, uint64_t now_ns);
/*
 * A pinned region whose pin has run out at @now_ns is let go: returns true
 * once (the caller then ends the remote mapping), false for any other region.
 */
bool ferry_thrash_release(struct ferry_thrash *t, const struct ferry_thrash_config *cfg,
			  uint64_t now_ns);

#endif /* FERRY_POLICY_H */
