/* SPDX-License-Identifier: MIT */
/* Unit tests of the policy module: plain C, no driver needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"

#define RP FERRY_REGION_PAGES

static void set_range(uint64_t *bits, uint32_t first, uint32_t n)
{
	for (uint32_t i = first; i < first + n; i++)
		bits[i / 64] |= 1ULL << (i % 64);
}

/* A sequential stream through one region: which faults happen, what is fetched. */
static uint32_t stream_faults(uint32_t block_pages, uint32_t threshold)
{
	uint64_t bits[RP / 64] = {0};
	uint32_t faults = 0;

	for (uint32_t page = 0; page < RP; page++) {
		uint32_t first, count;

		if (bits[page / 64] >> (page % 64) & 1)
			continue;
		faults++;
		ferry_policy_prefetch(bits, page, block_pages, threshold, &first, &count);
		assert_true(first <= page && page < first + count);
		assert_int_equal(first % block_pages, 0);
		assert_true(count >= block_pages && count <= RP);
		set_range(bits, first, count);
	}
	return faults;
}

static void test_block_size_valid(void **state)
{
	(void)state;
	assert_true(ferry_policy_block_size_valid(4096));
	assert_true(ferry_policy_block_size_valid(64 << 10));
	assert_true(ferry_policy_block_size_valid(2 << 20));
	assert_false(ferry_policy_block_size_valid(0));
	assert_false(ferry_policy_block_size_valid(2048));
	assert_false(ferry_policy_block_size_valid(12288));
	assert_false(ferry_policy_block_size_valid(4 << 20));
}

static void test_prefetch_tree_sequential(void **state)
{
	(void)state;
	/* 64 KiB blocks: faults on blocks 0, 1, 2, 4, 8, 16 (uvm_perf_prefetch.c). */
	assert_int_equal(stream_faults(16, FERRY_PREFETCH_THRESHOLD), 6);
	/*
	 * 4 KiB blocks: 0, 1, 2, 4, ..., 32, then the strict 51 % threshold needs
	 * one or more extra faults per level (65/128 pages is below it): 17.
	 */
	assert_int_equal(stream_faults(1, FERRY_PREFETCH_THRESHOLD), 17);
	/* A whole-region block faults once. */
	assert_int_equal(stream_faults(RP, FERRY_PREFETCH_THRESHOLD), 1);
	/* Threshold 100 %: never more than the block. */
	assert_int_equal(stream_faults(16, 100), RP / 16);
}

static void test_prefetch_sparse_no_prefetch(void **state)
{
	uint64_t bits[RP / 64] = {0};
	uint32_t first, count;

	(void)state;
	/* Nothing resident: only the faulting block. */
	ferry_policy_prefetch(bits, 100, 16, FERRY_PREFETCH_THRESHOLD, &first, &count);
	assert_int_equal(first, 96);
	assert_int_equal(count, 16);
	/* Exactly half of the 2-block subtree with the fault counts: 32/32 > 51 %. */
	set_range(bits, 112, 16);
	ferry_policy_prefetch(bits, 100, 16, FERRY_PREFETCH_THRESHOLD, &first, &count);
	assert_int_equal(first, 96);
	assert_int_equal(count, 32);
	/* Most of the region resident: the whole region. */
	memset(bits, 0, sizeof(bits));
	set_range(bits, 0, 300);
	ferry_policy_prefetch(bits, 400, 16, FERRY_PREFETCH_THRESHOLD, &first, &count);
	assert_int_equal(first, 0);
	assert_int_equal(count, RP);
}

/* A stream enters a region in its first block, behind a region wholly resident. */
static void test_stream(void **state)
{
	(void)state;
	assert_true(ferry_policy_stream(FERRY_REGION_PAGES, 0, 16));
	assert_true(ferry_policy_stream(FERRY_REGION_PAGES, 15, 16));
	assert_false(ferry_policy_stream(FERRY_REGION_PAGES, 16, 16));	  /* second block */
	assert_false(ferry_policy_stream(FERRY_REGION_PAGES - 1, 0, 16)); /* a hole behind */
	assert_false(ferry_policy_stream(0, 0, 16));
	assert_true(ferry_policy_stream(FERRY_REGION_PAGES, 0, 1)); /* 4 KiB blocks */
	assert_false(ferry_policy_stream(FERRY_REGION_PAGES, 1, 1));
}

static void test_lru_order(void **state)
{
	struct ferry_lru_node nodes[8];
	struct ferry_lru lru;

	(void)state;
	ferry_lru_init(&lru, nodes, 8);
	assert_int_equal(ferry_lru_victim(&lru, FERRY_LRU_NONE), FERRY_LRU_NONE);
	ferry_lru_touch(&lru, 3);
	ferry_lru_touch(&lru, 5);
	ferry_lru_touch(&lru, 1);
	assert_int_equal(lru.count, 3);
	assert_int_equal(ferry_lru_victim(&lru, FERRY_LRU_NONE), 3);
	assert_int_equal(ferry_lru_victim(&lru, 3), 5);
	ferry_lru_touch(&lru, 3); /* now most recent */
	assert_int_equal(ferry_lru_victim(&lru, FERRY_LRU_NONE), 5);
	ferry_lru_remove(&lru, 5);
	ferry_lru_remove(&lru, 5); /* twice is harmless */
	assert_int_equal(lru.count, 2);
	assert_int_equal(ferry_lru_victim(&lru, FERRY_LRU_NONE), 1);
	assert_false(ferry_lru_linked(&lru, 5));
	assert_true(ferry_lru_linked(&lru, 1));
	ferry_lru_remove(&lru, 1);
	ferry_lru_remove(&lru, 3);
	assert_int_equal(lru.count, 0);
	assert_int_equal(lru.head, FERRY_LRU_NONE);
	assert_int_equal(lru.tail, FERRY_LRU_NONE);
	ferry_lru_touch(&lru, 7);
	assert_int_equal(ferry_lru_victim(&lru, FERRY_LRU_NONE), 7);
	assert_int_equal(ferry_lru_victim(&lru, 7), FERRY_LRU_NONE);
}

static const struct ferry_thrash_config thrash_cfg = {
	.window_ns = 100,
	.pin_ns = 1000,
	.threshold = 2,
};

/* Returns within the window count; a quiet return clears the history. */
static void test_thrashing_window(void **state)
{
	struct ferry_thrash t = {0};

	(void)state;
	/* never evicted: not a return */
	assert_int_equal(ferry_thrash_return(&t, &thrash_cfg, 1000), FERRY_THRASH_NONE);
	ferry_thrash_evicted(&t, 1000);
	assert_int_equal(ferry_thrash_return(&t, &thrash_cfg, 1050), FERRY_THRASH_EVENT);
	assert_int_equal(t.events, 1);
	/* the same return seen twice counts once */
	assert_int_equal(ferry_thrash_return(&t, &thrash_cfg, 1060), FERRY_THRASH_NONE);
	assert_int_equal(t.events, 1);
	/* back after the window: quiet, the history starts again */
	ferry_thrash_evicted(&t, 2000);
	assert_int_equal(ferry_thrash_return(&t, &thrash_cfg, 2100), FERRY_THRASH_NONE);
	assert_int_equal(t.events, 0);
	assert_false(ferry_thrash_pinned(&t, 2100));
}

/* Threshold events in a row pin; the pin holds, runs out, and re-pins at once. */
static void test_thrashing_pin_release(void **state)
{
	struct ferry_thrash t = {0};

	(void)state;
	ferry_thrash_evicted(&t, 1000);
	assert_int_equal(ferry_thrash_return(&t, &thrash_cfg, 1010), FERRY_THRASH_EVENT);
	ferry_thrash_evicted(&t, 1020);
	assert_int_equal(ferry_thrash_return(&t, &thrash_cfg, 1030), FERRY_THRASH_PIN);
	assert_true(ferry_thrash_pinned(&t, 1030));
	assert_true(ferry_thrash_pinned(&t, 2029));
	/* pinned: every fault in the meantime is answered with the pin */
	assert_int_equal(ferry_thrash_return(&t, &thrash_cfg, 1500), FERRY_THRASH_PIN);
	assert_false(ferry_thrash_release(&t, &thrash_cfg, 2029));
	assert_false(ferry_thrash_pinned(&t, 2030));
	assert_true(ferry_thrash_release(&t, &thrash_cfg, 2030));
	assert_false(ferry_thrash_release(&t, &thrash_cfg, 2031)); /* once */
	/* let go, one event short: one more thrashing return pins again */
	ferry_thrash_evicted(&t, 3000);
	assert_int_equal(ferry_thrash_return(&t, &thrash_cfg, 3050), FERRY_THRASH_PIN);
	/* a region never pinned is never released */
	struct ferry_thrash u = {0};

	assert_false(ferry_thrash_release(&u, &thrash_cfg, 5000));
}

/* Threshold 0: thrashing is counted, never pinned. */
static void test_thrashing_count_only(void **state)
{
	struct ferry_thrash_config cfg = thrash_cfg;
	struct ferry_thrash t = {0};

	(void)state;
	cfg.threshold = 0;
	for (uint64_t i = 0; i < 10; i++) {
		ferry_thrash_evicted(&t, 1000 + 100 * i);
		assert_int_equal(ferry_thrash_return(&t, &cfg, 1050 + 100 * i), FERRY_THRASH_EVENT);
	}
	assert_false(ferry_thrash_pinned(&t, 2000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_size_valid),
		cmocka_unit_test(test_prefetch_tree_sequential),
		cmocka_unit_test(test_prefetch_sparse_no_prefetch),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_lru_order),
		cmocka_unit_test(test_thrashing_window),
		cmocka_unit_test(test_thrashing_pin_release),
		cmocka_unit_test(test_thrashing_count_only),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
