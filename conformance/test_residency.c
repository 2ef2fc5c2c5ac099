/* SPDX-License-Identifier: MIT */
/*
 * test_residency.c - ferry_query_residency snapshots agree with what was touched,
 * migrated and prefetched on both sides.
 *
 * States: untouched = 0, host = 1, device = 2 (duplicated = 3 is not used
 * here). Every snapshot is also checked for consistency: the counts add up
 * to the number of pages and agree with the byte array (ft_residency).
 */
#include "test_common.h"

static const char *const state_name[] = {"untouched", "host", "device", "duplicated"};

/* The snapshot of [p, p + npages pages) must equal @want exactly. */
static void assert_snapshot(struct ferry_ctx *ctx, const uint8_t *p, uint64_t npages,
			    const uint8_t *want)
{
	uint8_t *got = malloc(npages);
	uint64_t count[4], i, bad = 0, first = 0;
	uint8_t g = 0, w = 0;

	assert_non_null(got);
	ft_residency(ctx, p, npages * FT_PAGE, got, count);
	for (i = 0; i < npages; i++) {
		if (got[i] != want[i]) {
			if (!bad) {
				first = i;
				g = got[i];
				w = want[i];
			}
			bad++;
		}
	}
	free(got);
	if (bad)
		fail_msg("%" PRIu64 " of %" PRIu64 " pages in the wrong state; first: page %" PRIu64
			 " (%p) is %s, expected %s",
			 bad, npages, first, (const void *)(p + first * FT_PAGE),
			 g < 4 ? state_name[g] : "?", w < 4 ? state_name[w] : "?");
}

/* Counts only (out = 0) through the raw interface. */
static void counts_only(struct ferry_ctx *ctx, const void *p, uint64_t size, uint64_t count[4])
{
	struct ferry_residency_query q;

	memset(&q, 0, sizeof(q));
	q.start = (uint64_t)(uintptr_t)p;
	q.size = size;
	q.out = 0;
	ft_assert_ok(ferry_ioctl(ctx, FERRY_IOCTL_RESIDENCY, &q));
	memcpy(count, q.count, sizeof(q.count));
}

static void assert_counts_only(struct ferry_ctx *ctx, const void *p, uint64_t size)
{
	uint64_t a[4], b[4], i;

	ft_residency(ctx, p, size, NULL, a);
	counts_only(ctx, p, size, b);
	for (i = 0; i < 4; i++)
		if (a[i] != b[i])
			fail_msg("counts-only query: count[%" PRIu64 "] = %" PRIu64
				 ", with the byte array %" PRIu64,
				 i, b[i], a[i]);
}

/* 4 KiB blocks, no prefetch: residency is exactly what each side touched. */
static void test_pages_touched(void **state)
{
	const uint64_t npages = 512, touched = 128;
	struct ferry_dev_work w;
	struct ferry_ctx *ctx;
	uint8_t *p, *want;
	uint64_t i;

	(void)state;
	ctx = ft_open_bp(FT_PAGE, 0, 0);
	p = ft_alloc(ctx, npages * FT_PAGE, FT_REGION);
	want = calloc(npages, 1);
	assert_non_null(want);

	assert_snapshot(ctx, p, npages, want);

	/* Host writes pages 0, 3, 6, ...; the device pages 1, 4, 7, ... */
	for (i = 0; i < touched; i += 3) {
		*(volatile uint64_t *)(p + i * FT_PAGE) = 1000 + i;
		want[i] = FERRY_RES_HOST;
	}
	memset(&w, 0, sizeof(w));
	w.op = FERRY_DEV_INC;
	w.threads = 1;
	w.addr = (uint64_t)(uintptr_t)(p + FT_PAGE);
	w.size = (touched + 1) * FT_PAGE; /* a multiple of the stride: pages 1, 4, ..., 127 */
	w.stride = 3 * FT_PAGE;
	w.repeat = 1;
	ft_step("device increments");
	ft_assert_ok(ferry_device_work(ctx, &w, NULL));
	for (i = 1; i < touched; i += 3)
		want[i] = FERRY_RES_DEVICE;
	assert_snapshot(ctx, p, npages, want);
	assert_counts_only(ctx, p, npages * FT_PAGE);

	/* A sub-range snapshot agrees with the whole one. */
	assert_snapshot(ctx, p + 7 * FT_PAGE, 20, want + 7);

	/* The host reads the device's words: those pages come back. */
	for (i = 1; i < touched; i += 3) {
		uint64_t v = *(volatile uint64_t *)(p + i * FT_PAGE);

		if (v != 1)
			fail_msg("page %" PRIu64 ": device increment reads %" PRIu64
				 " on the host, expected 1",
				 i, v);
		want[i] = FERRY_RES_HOST;
	}
	assert_snapshot(ctx, p, npages, want);

	/* The device reads the host's words: those pages move to the device. */
	for (i = 0; i < touched; i += 3) {
		uint64_t v = 0;

		ft_assert_ok(ferry_dev_read(ctx, p + i * FT_PAGE, &v, sizeof(v)));
		ft_assert_u64_eq(v, 1000 + i);
		want[i] = FERRY_RES_DEVICE;
	}
	assert_snapshot(ctx, p, npages, want);
	assert_counts_only(ctx, p, npages * FT_PAGE);
	free(want);
	ft_close(ctx);
}

/* 64 KiB blocks, no prefetch: a fault moves its whole block, nothing more. */
static void test_blocks_touched(void **state)
{
	const uint64_t npages = 512, bp = FERRY_DEFAULT_BLOCK_SIZE / FT_PAGE;
	struct ferry_ctx *ctx;
	uint8_t *p, *want, *got;
	uint64_t i, count[4];

	(void)state;
	ctx = ft_open_bp(FERRY_DEFAULT_BLOCK_SIZE, 0, 0);
	p = ft_alloc(ctx, npages * FT_PAGE, FT_REGION);
	want = calloc(npages, 1);
	assert_non_null(want);

	/* Host fills blocks 0..7. */
	ft_host_fill(p, 8 * bp * FT_PAGE, 3);
	memset(want, FERRY_RES_HOST, 8 * bp);
	assert_snapshot(ctx, p, npages, want);

	/* The device reads one page of block 2: block 2 moves, whole. */
	ft_step("device touch of one page");
	ft_assert_u64_eq(ft_dev_touch(ctx, p + (2 * bp + 5) * FT_PAGE, 1, FT_PAGE, 1),
			 ft_pattern_touch_sum(p + (2 * bp + 5) * FT_PAGE, 1, FT_PAGE, 3));
	memset(want + 2 * bp, FERRY_RES_DEVICE, bp);
	assert_snapshot(ctx, p, npages, want);

	/* The device writes one word of block 6. */
	ft_assert_ok(ferry_dev_fill(ctx, p + (6 * bp + 15) * FT_PAGE + 8, 8, 3));
	memset(want + 6 * bp, FERRY_RES_DEVICE, bp);
	assert_snapshot(ctx, p, npages, want);

	/* The host reads one page of block 2: block 2 comes back, whole. */
	ft_assert_u64_eq(ft_host_touch(p + (2 * bp + 9) * FT_PAGE, 1, FT_PAGE),
			 ft_pattern_touch_sum(p + (2 * bp + 9) * FT_PAGE, 1, FT_PAGE, 3));
	memset(want + 2 * bp, FERRY_RES_HOST, bp);
	assert_snapshot(ctx, p, npages, want);

	/* An explicit migration of 3 pages of block 4: those 3 pages move. */
	ft_migrate(ctx, p + (4 * bp + 2) * FT_PAGE, 3 * FT_PAGE, FERRY_LOC_DEVICE);
	got = malloc(npages);
	assert_non_null(got);
	ft_residency(ctx, p, npages * FT_PAGE, got, count);
	for (i = 4 * bp; i < 5 * bp; i++) {
		if (i >= 4 * bp + 2 && i < 4 * bp + 5)
			want[i] = FERRY_RES_DEVICE;
		else if (got[i] == FERRY_RES_DEVICE || got[i] == FERRY_RES_HOST)
			want[i] = got[i]; /* the rest of the block may follow */
	}
	free(got);
	assert_snapshot(ctx, p, npages, want);
	assert_counts_only(ctx, p, npages * FT_PAGE);

	ft_assert_host_pattern(p, 8 * bp * FT_PAGE, 3);
	ft_assert_dev_pattern(ctx, p, 8 * bp * FT_PAGE, 3);
	free(want);
	ft_close(ctx);
}

/*
 * 64 KiB blocks, prefetcher on: the device touches blocks 0..8 of a
 * host-resident region in order. Faults on 0, 1, 2, 4, 8; the prefetcher
 * adds 3, 5-7, 9-15. Blocks 0..15 end on the device, 16..31 on the host.
 */
static void test_prefetched(void **state)
{
	const uint64_t npages = 2 * FERRY_REGION_SIZE / FT_PAGE;
	const uint64_t bp = FERRY_DEFAULT_BLOCK_SIZE / FT_PAGE;
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint8_t *p, *want;

	(void)state;
	ctx = ft_open_bp(FERRY_DEFAULT_BLOCK_SIZE, 1, 0);
	p = ft_alloc(ctx, npages * FT_PAGE, FT_REGION);
	want = malloc(npages);
	assert_non_null(want);

	ft_host_fill(p, npages * FT_PAGE, 9);
	memset(want, FERRY_RES_HOST, npages);
	assert_snapshot(ctx, p, npages, want);

	ft_counters(ctx, &c0);
	ft_step("device touches blocks 0..8");
	ft_dev_touch(ctx, p, 9 * FERRY_DEFAULT_BLOCK_SIZE, FERRY_DEFAULT_BLOCK_SIZE, 1);
	ft_counters(ctx, &c1);

	memset(want, FERRY_RES_DEVICE, 16 * bp);
	assert_snapshot(ctx, p, npages, want);
	ft_assert_u64_eq(c1.faults_device - c0.faults_device, 5);
	ft_assert_u64_eq(c1.pages_prefetched - c0.pages_prefetched, 11 * bp);
	ft_assert_u64_eq(c1.pages_to_device - c0.pages_to_device, 16 * bp);
	assert_counts_only(ctx, p, npages * FT_PAGE);

	ft_assert_dev_pattern(ctx, p, npages * FT_PAGE, 9);
	ft_assert_host_pattern(p, npages * FT_PAGE, 9);
	free(want);
	ft_close(ctx);
}

/*
 * Whole-window snapshot: the device pages it counts equal the counters'
 * device_resident_pages, and explicit migrations show up page for page.
 */
static void test_window_and_counters(void **state)
{
	struct ferry_counters c;
	struct ferry_ctx *ctx;
	uint64_t count[4], wsize;
	uint8_t *base, *p, *q;

	(void)state;
	ctx = ft_open(NULL);
	base = ferry_window_base(ctx);
	wsize = ferry_window_size(ctx);
	ft_assert_u64_eq(wsize, FT_WINDOW_SIZE);
	p = ft_alloc(ctx, FT_MIB(6), FT_REGION);
	q = ft_alloc(ctx, FT_MIB(3), 0);

	ft_residency(ctx, base, wsize, NULL, count);
	/*
	 * Fresh: every managed page untouched; the coherent region at the top
	 * of the window (ferry_alloc_coherent) is system memory: host.
	 */
	ft_assert_u64_eq(count[FERRY_RES_UNTOUCHED] + count[FERRY_RES_HOST], wsize / FT_PAGE);
	ft_assert_u64_eq(count[FERRY_RES_DEVICE] + count[FERRY_RES_DUPLICATED], 0);
	assert_true(ferry_is_coherent(ctx, base + wsize - FT_PAGE));
	assert_false(ferry_is_coherent(ctx, base + wsize - FT_PAGE * (count[FERRY_RES_HOST] + 1)));
	ft_counters(ctx, &c);
	ft_assert_u64_eq(c.device_resident_pages, 0);
	ft_assert_u64_eq(c.device_capacity_pages, FT_DEVICE_MEMORY / FT_PAGE);

	ft_host_fill(p, FT_MIB(6), 11);
	ft_host_fill(q, FT_MIB(3), 12);
	ft_migrate(ctx, p + FT_MIB(1), FT_MIB(4), FERRY_LOC_DEVICE);
	ft_assert_ok(ferry_dev_fill(ctx, q, FT_MIB(1), 13));

	ft_residency(ctx, base, wsize, NULL, count);
	ft_counters(ctx, &c);
	ft_assert_u64_eq(count[FERRY_RES_DEVICE], c.device_resident_pages);
	ft_assert_u64_cmp(count[FERRY_RES_DEVICE], >=, FT_MIB(5) / FT_PAGE);
	ft_assert_u64_cmp(count[FERRY_RES_HOST] + count[FERRY_RES_DEVICE], >=, FT_MIB(9) / FT_PAGE);
	ft_assert_u64_cmp(c.device_peak_pages, >=, c.device_resident_pages);
	ft_assert_resident(ctx, p + FT_MIB(1), FT_MIB(4), FERRY_RES_DEVICE);
	ft_assert_resident(ctx, q, FT_MIB(1), FERRY_RES_DEVICE);
	ft_assert_resident(ctx, p, FT_MIB(1), FERRY_RES_HOST);
	ft_assert_resident(ctx, p + FT_MIB(5), FT_MIB(1), FERRY_RES_HOST);
	assert_counts_only(ctx, base, wsize);

	/* Everything back to the host: no device page left. */
	ft_migrate(ctx, p, FT_MIB(6), FERRY_LOC_HOST);
	ft_migrate(ctx, q, FT_MIB(3), FERRY_LOC_HOST);
	ft_residency(ctx, base, wsize, NULL, count);
	ft_counters(ctx, &c);
	ft_assert_u64_eq(count[FERRY_RES_DEVICE], 0);
	ft_assert_u64_eq(c.device_resident_pages, 0);
	ft_assert_host_pattern(p, FT_MIB(6), 11);
	ft_assert_host_pattern(q, FT_MIB(1), 13);
	ft_assert_host_pattern(q + FT_MIB(1), FT_MIB(2), 12);
	ft_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_touched),
		cmocka_unit_test(test_blocks_touched),
		cmocka_unit_test(test_prefetched),
		cmocka_unit_test(test_window_and_counters),
	};

	return cmocka_run_group_tests_name("residency", tests, NULL, NULL);
}
