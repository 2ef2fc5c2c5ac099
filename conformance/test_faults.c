/* SPDX-License-Identifier: MIT */
/*
 * test_faults.c - fault accounting: one fault moves one block, and the
 * density prefetcher turns a sequential stream into 6 faults a 2 MiB region.
 *
 * With the prefetcher off, touching N pages in order (one thread, stride
 * 4 KiB) raises exactly ceil(N * 4 KiB / block) faults on the touching side,
 * for block sizes of 4 KiB, 64 KiB and 2 MiB, whether the block size came
 * from ferry_options or from ferry_set_attr(FERRY_ATTR_BLOCK_SIZE).
 *
 * With the prefetcher on (UVM's tree prefetcher, threshold 51 %) and 64 KiB
 * blocks, a sequential device stream through a 2 MiB region faults on blocks
 * 0, 1, 2, 4, 8 and 16 only: the faulting block's subtree of 2, 4, 8, 16 and
 * 32 blocks is then more than half resident and migrates whole. Every later
 * region of the stream faults once: its first block follows a region wholly
 * resident, and the stream detector (ferry_policy_stream) moves it whole.
 */
#include "test_common.h"

/* Pages touched: not a multiple of any block, and more than one 2 MiB region. */
#define NPAGES 600ULL
#define SPAN (2 * FT_REGION) /* what NPAGES round up to with 2 MiB blocks */

struct fault_case {
	uint64_t block_size;
	int via_attr; /* set with ferry_set_attr after open, not ferry_options */
};

/* Open with the prefetcher off and the case's block size, set either way. */
static struct ferry_ctx *open_case(const struct fault_case *fc, uint8_t **p, const char *test)
{
	struct ferry_ctx *ctx;
	uint64_t v = 0;

	ctx = ft_open_bp_at(fc->via_attr ? FERRY_DEFAULT_BLOCK_SIZE : fc->block_size, 0, 0, test);
	*p = ft_alloc(ctx, SPAN, FT_REGION);
	if (fc->via_attr)
		ft_assert_ok(
			ferry_set_attr(ctx, *p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, fc->block_size));
	/* (FERRY_ATTR_BLOCK_SIZE read-back is test_block_size_attr's business.) */
	ft_assert_ok(ferry_get_attr(ctx, *p, FT_PAGE, FERRY_ATTR_PREFETCH, &v));
	ft_assert_u64_eq(v, 0);
	print_message("  block %" PRIu64 " KiB via %s: expecting %" PRIu64 " faults\n",
		      fc->block_size >> 10, fc->via_attr ? "ferry_set_attr" : "ferry_options",
		      ft_div_round_up(NPAGES * FT_PAGE, fc->block_size));
	return ctx;
}

/* Device touches NPAGES host-resident pages in order. */
static void test_device_faults(void **state)
{
	const struct fault_case *fc = *state;
	const uint64_t size = NPAGES * FT_PAGE;
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint64_t sum;
	uint8_t *p;

	ctx = open_case(fc, &p, __func__);
	ft_host_fill(p, size, 41);

	ft_counters(ctx, &c0);
	ft_step("device touch");
	sum = ft_dev_touch(ctx, p, size, FT_PAGE, 1);
	ft_counters(ctx, &c1);

	ft_assert_u64_eq(sum, ft_pattern_touch_sum(p, size, FT_PAGE, 41));
	ft_assert_u64_eq(c1.faults_device - c0.faults_device,
			 ft_div_round_up(size, fc->block_size));
	ft_assert_u64_eq(c1.faults_host - c0.faults_host, 0);
	ft_assert_u64_eq(c1.pages_prefetched - c0.pages_prefetched, 0);
	ft_assert_u64_cmp(c1.pages_to_device - c0.pages_to_device, >=, NPAGES);
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
	ft_assert_dev_pattern(ctx, p, size, 41);
	ft_close(ctx);
}

/* Device first-touches NPAGES untouched pages in order (zero-fill faults). */
static void test_device_faults_untouched(void **state)
{
	const struct fault_case *fc = *state;
	const uint64_t size = NPAGES * FT_PAGE;
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint8_t *p;

	ctx = open_case(fc, &p, __func__);
	ft_counters(ctx, &c0);
	ft_step("device touch");
	ft_assert_u64_eq(ft_dev_touch(ctx, p, size, FT_PAGE, 1), 0);
	ft_counters(ctx, &c1);

	ft_assert_u64_eq(c1.faults_device - c0.faults_device,
			 ft_div_round_up(size, fc->block_size));
	ft_assert_u64_eq(c1.faults_host - c0.faults_host, 0);
	ft_assert_u64_eq(c1.pages_to_device - c0.pages_to_device, 0);
	ft_assert_u64_cmp(c1.zero_fill_device - c0.zero_fill_device, >=, NPAGES);
	ft_assert_host_zero(p, size);
	ft_close(ctx);
}

/* Host touches NPAGES pages in order after they were migrated to the device. */
static void test_host_faults(void **state)
{
	const struct fault_case *fc = *state;
	const uint64_t size = NPAGES * FT_PAGE;
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint64_t sum;
	uint8_t *p;

	ctx = open_case(fc, &p, __func__);
	ft_host_fill(p, size, 43);
	ft_step("migrate to device");
	ft_migrate(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);

	ft_counters(ctx, &c0);
	ft_step("host touch");
	sum = ft_host_touch(p, size, FT_PAGE);
	ft_counters(ctx, &c1);

	ft_assert_u64_eq(sum, ft_pattern_touch_sum(p, size, FT_PAGE, 43));
	ft_assert_u64_eq(c1.faults_host - c0.faults_host, ft_div_round_up(size, fc->block_size));
	ft_assert_u64_eq(c1.faults_device - c0.faults_device, 0);
	ft_assert_u64_cmp(c1.pages_to_host - c0.pages_to_host, >=, NPAGES);
	ft_assert_resident(ctx, p, size, FERRY_RES_HOST);
	ft_assert_host_pattern(p, size, 43);
	ft_close(ctx);
}

/* The block size reads back, over any range, however it was set. */
static void test_block_size_attr(void **state)
{
	const struct fault_case *fc = *state;
	struct ferry_ctx *ctx;
	uint64_t v = 0;
	uint8_t *p;

	ctx = open_case(fc, &p, __func__);
	ft_assert_ok(ferry_get_attr(ctx, p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, &v));
	ft_assert_u64_eq(v, fc->block_size);
	/* VA-space wide: a range elsewhere in the window reports it too. */
	v = 0;
	ft_assert_ok(ferry_get_attr(ctx, p + SPAN, 2 * FT_REGION, FERRY_ATTR_BLOCK_SIZE, &v));
	ft_assert_u64_eq(v, fc->block_size);
	ft_close(ctx);
}

/* ---- the density prefetcher ------------------------------------------------ */

#define STREAM (32 * FT_MIB(1))
#define STREAM_REGIONS (STREAM / FT_REGION)
#define STREAM_PAGES (STREAM / FT_PAGE)

struct stream_result {
	uint64_t faults, prefetched, to_device;
};

/*
 * Host fills 32 MiB (2 MiB aligned), then one device thread touches it page
 * by page. @prefetch: 0 off, 1 on (ferry_options), 2 on (ferry_set_attr).
 */
static void device_stream(int prefetch, struct stream_result *r, const char *test)
{
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint64_t v = ~0ULL;
	uint8_t *p;

	ctx = ft_open_bp_at(FERRY_DEFAULT_BLOCK_SIZE, prefetch == 1 ? 1 : 0, 0, test);
	p = ft_alloc(ctx, STREAM, FT_REGION);
	if (prefetch == 2)
		ft_assert_ok(ferry_set_attr(ctx, p, STREAM, FERRY_ATTR_PREFETCH, 1));
	ft_assert_ok(ferry_get_attr(ctx, p, FT_PAGE, FERRY_ATTR_PREFETCH, &v));
	ft_assert_u64_eq(v, prefetch ? 1 : 0);

	ft_step("host fill");
	ft_host_fill(p, STREAM, 47);
	ft_assert_resident(ctx, p, STREAM, FERRY_RES_HOST);

	ft_counters(ctx, &c0);
	ft_step("device stream");
	ft_assert_u64_eq(ft_dev_touch(ctx, p, STREAM, FT_PAGE, 1),
			 ft_pattern_touch_sum(p, STREAM, FT_PAGE, 47));
	ft_counters(ctx, &c1);

	r->faults = c1.faults_device - c0.faults_device;
	r->prefetched = c1.pages_prefetched - c0.pages_prefetched;
	r->to_device = c1.pages_to_device - c0.pages_to_device;
	print_message("  prefetch %s: %" PRIu64 " device faults, %" PRIu64
		      " pages prefetched, %" PRIu64 " pages to device\n",
		      prefetch ? "on" : "off", r->faults, r->prefetched, r->to_device);

	ft_assert_resident(ctx, p, STREAM, FERRY_RES_DEVICE);
	ft_assert_u64_eq(c1.faults_host - c0.faults_host, 0);
	ft_assert_dev_pattern(ctx, p, STREAM, 47);
	ft_close(ctx);
}

static void test_prefetch_stream(void **state)
{
	struct stream_result off, on;

	(void)state;
	device_stream(0, &off, __func__);
	device_stream(1, &on, __func__);

	/* Off: one fault a block, nothing prefetched. */
	ft_assert_u64_eq(off.faults, STREAM / FERRY_DEFAULT_BLOCK_SIZE);
	ft_assert_u64_eq(off.prefetched, 0);
	ft_assert_u64_eq(off.to_device, STREAM_PAGES);

	/* On: fewer faults, prefetched pages, each page moved once. */
	ft_assert_u64_cmp(on.faults, <, off.faults);
	ft_assert_u64_cmp(on.prefetched, >, 0);
	ft_assert_u64_eq(on.to_device, STREAM_PAGES);
	/* Tree prefetcher, 51 %: blocks 0, 1, 2, 4, 8, 16 of the first region fault; the rest once.
	 */
	ft_assert_u64_eq(on.faults, 6 + (STREAM_REGIONS - 1));
}

/* The same with the prefetcher switched on by ferry_set_attr(FERRY_ATTR_PREFETCH). */
static void test_prefetch_stream_attr(void **state)
{
	struct stream_result on;

	(void)state;
	device_stream(2, &on, __func__);
	ft_assert_u64_cmp(on.prefetched, >, 0);
	ft_assert_u64_eq(on.to_device, STREAM_PAGES);
	ft_assert_u64_eq(on.faults, 6 + (STREAM_REGIONS - 1));
}

/*
 * The host reads [off, off + len) of @p (pattern 53), then, after a pause that
 * lets a readahead finish, the first @host_regions regions of @p's @size are
 * host-resident and the rest still on the device.
 */
static void host_stream_step(struct ferry_ctx *ctx, uint8_t *p, uint64_t size, uint64_t off,
			     uint64_t len, uint64_t host_regions)
{
	const uint64_t host = host_regions * FT_REGION;

	ft_assert_u64_eq(ft_host_touch(p + off, len, FT_PAGE),
			 ft_pattern_touch_sum(p + off, len, FT_PAGE, 53));
	usleep(50 * 1000);
	ft_assert_resident(ctx, p, host, FERRY_RES_HOST);
	if (host < size)
		ft_assert_resident(ctx, p + host, size - host, FERRY_RES_DEVICE);
}

/*
 * Host readahead (user backend): once a host fault brought a whole region
 * home, the following regions that are entirely on the device follow, a
 * window of one region that doubles while the stream's next fault comes
 * where the last window ended. Checked by residency, after a pause that lets
 * the readahead finish (how many faults a racing host thread takes depends
 * on timing).
 */
static void test_host_stream_reads_ahead(void **state)
{
	const uint64_t regions = 8, size = regions * FT_REGION;
	struct ferry_ctx *ctx;
	uint8_t *p;

	(void)state;
	ctx = ft_open_bp(FERRY_DEFAULT_BLOCK_SIZE, 1, 0);
	if (ft_backend(ctx) != FERRY_BACKEND_USER) {
		ft_close(ctx);
		print_message("  ferry.ko reads no regions ahead: skipped\n");
		skip();
	}
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 53);
	ft_migrate(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);

	ft_step("region 0: the tree prefetcher brings it whole, region 1 follows");
	host_stream_step(ctx, p, size, 0, FT_REGION, 2);
	ft_step("region 2: the stream goes on where the window ended, two regions follow");
	host_stream_step(ctx, p, size, 2 * FT_REGION, FT_PAGE, 5);
	ft_step("region 5: four more would follow, the last two exist");
	host_stream_step(ctx, p, size, 5 * FT_REGION, FT_PAGE, 8);
	ft_assert_host_pattern(p, size, 53);
	ft_close(ctx);
}

static struct fault_case fc_4k_opt = {FT_KIB(4), 0};
static struct fault_case fc_64k_opt = {FT_KIB(64), 0};
static struct fault_case fc_2m_opt = {FT_MIB(2), 0};
static struct fault_case fc_4k_attr = {FT_KIB(4), 1};
static struct fault_case fc_64k_attr = {FT_KIB(64), 1};
static struct fault_case fc_2m_attr = {FT_MIB(2), 1};

#define FAULT_TESTS(fn)                                                                            \
	{#fn "/4k_options", fn, NULL, NULL, &fc_4k_opt},                                           \
		{#fn "/64k_options", fn, NULL, NULL, &fc_64k_opt},                                 \
		{#fn "/2m_options", fn, NULL, NULL, &fc_2m_opt},                                   \
		{#fn "/4k_set_attr", fn, NULL, NULL, &fc_4k_attr},                                 \
		{#fn "/64k_set_attr", fn, NULL, NULL, &fc_64k_attr},                               \
	{                                                                                          \
#fn "/2m_set_attr", fn, NULL, NULL, &fc_2m_attr                                    \
	}

/*
 * Pages evicted to the host come back to the host view in bulk: the host's
 * first touch maps every evicted page of the block (the prefetcher's range),
 * and an explicit migration to the host maps them all. Not one fault a page.
 * LRU eviction: the thrashing pins (which would keep the stream's tail on the
 * host instead) are off here.
 */
static void test_evicted_pages_map_in_bulk(void **state)
{
	const uint64_t cap = FT_MIB(4), size = FT_MIB(12),
		       bpages = FERRY_DEFAULT_BLOCK_SIZE / FT_PAGE;
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint8_t *p, *q;

	(void)state;
	assert_int_equal(setenv("FERRY_THRASHING_THRESHOLD", "0", 1), 0);
	for (int prefetch = 0; prefetch <= 1; prefetch++) {
		ctx = ft_open_bp(FERRY_DEFAULT_BLOCK_SIZE, prefetch, cap);
		p = ft_alloc(ctx, size, FT_REGION);
		ft_host_fill(p, size, 7);
		/* the device streams over three times its capacity: the first 8 MiB are evicted */
		ft_dev_touch(ctx, p, size, FT_PAGE, 1);
		ft_counters(ctx, &c0);
		assert_true(c0.evictions >= 4);
		ft_assert_resident(ctx, p, FT_MIB(4), FERRY_RES_HOST);

		/* the host reads the evicted pages back */
		assert_int_equal(ft_host_check(p, FT_MIB(4), 7), 0);
		ft_counters(ctx, &c1);
		print_message("prefetch %d: %" PRIu64 " host faults for %" PRIu64
			      " evicted pages\n",
			      prefetch, (uint64_t)(c1.faults_host - c0.faults_host),
			      (uint64_t)(FT_MIB(4) / FT_PAGE));
		ft_assert_u64_cmp(c1.faults_host - c0.faults_host, <=,
				  FT_MIB(4) / FT_PAGE / bpages);

		/* an explicit migration to the host maps them: no fault afterwards */
		q = p + FT_MIB(4);
		ft_assert_resident(ctx, q, FT_MIB(4), FERRY_RES_HOST);
		ft_migrate(ctx, q, FT_MIB(4), FERRY_LOC_HOST);
		ft_counters(ctx, &c0);
		assert_int_equal(ft_host_check(q, FT_MIB(4), 7), 0);
		ft_counters(ctx, &c1);
		ft_assert_u64_eq(c1.faults_host - c0.faults_host, 0);
		ft_close(ctx);
	}
}

static int thrash_env_clear(void **state)
{
	(void)state;
	unsetenv("FERRY_THRASHING_THRESHOLD");
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FAULT_TESTS(test_block_size_attr),
		FAULT_TESTS(test_device_faults),
		FAULT_TESTS(test_host_faults),
		FAULT_TESTS(test_device_faults_untouched),
		cmocka_unit_test(test_prefetch_stream),
		cmocka_unit_test(test_prefetch_stream_attr),
		cmocka_unit_test_teardown(test_evicted_pages_map_in_bulk, thrash_env_clear),
		cmocka_unit_test(test_host_stream_reads_ahead),
	};

	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
