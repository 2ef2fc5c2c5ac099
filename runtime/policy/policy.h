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
 * Thrashing: a region that comes back to the device less than
 * @window_ns after it was evicted counts as a thrashing event.
 */
bool ferry_policy_thrashing(uint64_t now_ns, uint64_t evicted_ns, uint64_t window_ns);

#define FERRY_THRASHING_WINDOW_NS (100ULL * 1000 * 1000)

#endif /* FERRY_POLICY_H */
