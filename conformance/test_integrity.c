/* SPDX-License-Identifier: MIT */
/*
 * test_integrity.c - data survives every move between host and device.
 *
 * Round trips (host writes, device checks, device writes, host checks) over
 * random ranges, explicit migrations both ways (sync and async), partial
 * blocks, ranges that straddle blocks and 2 MiB regions, untouched memory
 * reading as zeros on both sides, and FERRY_MIGRATE_DISCARD.
 */
#include "test_common.h"

/*
 * A shadow of what every u64 word of a buffer must hold: the seed of the
 * pattern last written there (0 = zeros).
 */
struct shadow {
	uint8_t *base;
	uint64_t nwords;
	uint64_t *seed;
};

static void shadow_init(struct shadow *s, void *base, uint64_t size, uint64_t seed)
{
	uint64_t i;

	s->base = base;
	s->nwords = size / 8;
	s->seed = malloc(s->nwords * sizeof(uint64_t));
	assert_non_null(s->seed);
	for (i = 0; i < s->nwords; i++)
		s->seed[i] = seed;
}

static void shadow_set(struct shadow *s, uint64_t off, uint64_t size, uint64_t seed)
{
	uint64_t i;

	for (i = off / 8; i < (off + size) / 8; i++)
		s->seed[i] = seed;
}

static uint64_t shadow_word(const struct shadow *s, uint64_t i)
{
	uint64_t addr = (uint64_t)(uintptr_t)(s->base + i * 8);

	return s->seed[i] ? ferry_pattern(s->seed[i], addr) : 0;
}

/* Compare @words (read from the buffer by @who) with the shadow. */
static void shadow_verify(const struct shadow *s, const uint64_t *words, const char *who)
{
	uint64_t i, bad = 0, first = UINT64_MAX;

	for (i = 0; i < s->nwords; i++) {
		if (words[i] != shadow_word(s, i)) {
			if (!bad)
				first = i;
			bad++;
		}
	}
	if (bad)
		fail_msg("%s view: %" PRIu64 " of %" PRIu64 " words wrong, first at %p "
			 "(got %#" PRIx64 ", expected %#" PRIx64 ")",
			 who, bad, s->nwords, (void *)(s->base + first * 8), words[first],
			 shadow_word(s, first));
}

/* Both views of the whole buffer must equal the shadow. */
static void shadow_verify_both(struct ferry_ctx *ctx, const struct shadow *s)
{
	uint64_t size = s->nwords * 8;
	uint64_t *copy = malloc(size);

	assert_non_null(copy);
	ft_step("device read of the whole buffer");
	ft_assert_ok(ferry_dev_read(ctx, s->base, copy, size));
	shadow_verify(s, copy, "device");
	ft_step("host read of the whole buffer");
	memcpy(copy, s->base, size);
	shadow_verify(s, copy, "host");
	free(copy);
}

static void shadow_fini(struct shadow *s)
{
	free(s->seed);
	s->seed = NULL;
}

/*
 * Random 8-byte aligned ranges: host writes a pattern, the device checks it
 * and writes a new one, the host checks that. At the end both views of the
 * whole buffer must match a shadow copy (nothing outside the ranges changed).
 */
static void test_roundtrip_random(void **state)
{
	const uint64_t size = FT_MIB(8);
	struct ferry_ctx *ctx;
	struct shadow sh;
	uint64_t rng, round;
	uint8_t *p;

	(void)state;
	rng = ft_rng_init(__func__);
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);

	shadow_init(&sh, p, size, 0x1234567);
	ft_step("initial host fill");
	ft_host_fill(p, size, 0x1234567);

	for (round = 0; round < 12; round++) {
		uint64_t max = round & 1 ? FT_MIB(3) : FT_KIB(80);
		uint64_t len = 8 * (1 + ft_rand_below(&rng, max / 8));
		uint64_t off = 8 * ft_rand_below(&rng, (size - len) / 8 + 1);
		uint64_t s1 = ft_rand_seed(&rng), s2 = ft_rand_seed(&rng);

		print_message("  round %" PRIu64 ": [+%#" PRIx64 ", +%#" PRIx64 ")\n", round, off,
			      off + len);
		ft_step("host fill");
		ft_host_fill(p + off, len, s1);
		shadow_set(&sh, off, len, s1);
		ft_step("device check");
		ft_assert_dev_pattern(ctx, p + off, len, s1);
		ft_step("device fill");
		ft_assert_ok(ferry_dev_fill(ctx, p + off, len, s2));
		shadow_set(&sh, off, len, s2);
		ft_step("host check");
		ft_assert_host_pattern(p + off, len, s2);
	}
	shadow_verify_both(ctx, &sh);
	shadow_fini(&sh);
	ft_close(ctx);
}

/* Whole pages: the data moves and the residency follows the last writer. */
static void test_roundtrip_pages(void **state)
{
	const uint64_t size = FT_MIB(4) + 3 * FT_PAGE;
	struct ferry_ctx *ctx;
	uint64_t rng, i;
	uint8_t *p;

	(void)state;
	rng = ft_rng_init(__func__);
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);

	for (i = 0; i < 3; i++) {
		uint64_t s1 = ft_rand_seed(&rng), s2 = ft_rand_seed(&rng);

		ft_host_fill(p, size, s1);
		ft_assert_resident(ctx, p, size, FERRY_RES_HOST);
		ft_assert_dev_pattern(ctx, p, size, s1);
		ft_assert_ok(ferry_dev_fill(ctx, p, size, s2));
		ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
		ft_assert_host_pattern(p, size, s2);
		ft_assert_resident(ctx, p, size, FERRY_RES_HOST);
	}
	ft_close(ctx);
}

/* ferry_migrate without flags, both directions, then faults back. */
static void test_migrate_sync(void **state)
{
	const uint64_t size = FT_MIB(4) + 3 * FT_PAGE;
	struct ferry_ctx *ctx;
	uint64_t rng, s1, s2, s3;
	uint8_t *p;

	(void)state;
	rng = ft_rng_init(__func__);
	s1 = ft_rand_seed(&rng);
	s2 = ft_rand_seed(&rng);
	s3 = ft_rand_seed(&rng);
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);

	ft_host_fill(p, size, s1);
	ft_step("migrate to device");
	ft_migrate(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
	ft_assert_dev_pattern(ctx, p, size, s1);

	ft_assert_ok(ferry_dev_fill(ctx, p, size, s2));
	ft_step("migrate to host");
	ft_migrate(ctx, p, size, FERRY_LOC_HOST);
	ft_assert_resident(ctx, p, size, FERRY_RES_HOST);
	ft_assert_host_pattern(p, size, s2);

	/* Migrating to where the data already is changes nothing. */
	ft_migrate(ctx, p, size, FERRY_LOC_HOST);
	ft_assert_resident(ctx, p, size, FERRY_RES_HOST);
	ft_assert_host_pattern(p, size, s2);

	/* Host writes, explicit move to the device, host reads back by faulting. */
	ft_host_fill(p, size, s3);
	ft_migrate(ctx, p, size, FERRY_LOC_DEVICE);
	ft_migrate(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
	ft_assert_host_pattern(p, size, s3);
	ft_assert_dev_pattern(ctx, p, size, s3);
	ft_close(ctx);
}

/* FERRY_MIGRATE_ASYNC + ferry_wait; migrations complete in issue order. */
static void test_migrate_async(void **state)
{
	const uint64_t size = FT_MIB(16);
	struct ferry_ctx *ctx;
	struct ferry_wait wt;
	uint64_t rng, s1, s2, f1 = 0, f2 = 0, f3 = 0, f4 = 0;
	uint8_t *p;

	(void)state;
	rng = ft_rng_init(__func__);
	s1 = ft_rand_seed(&rng);
	s2 = ft_rand_seed(&rng);
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);

	ft_host_fill(p, size, s1);
	ft_step("async to device");
	ft_assert_ok(ferry_migrate(ctx, p, size, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, &f1));
	ft_step("wait f1");
	ft_assert_ok(ferry_wait(ctx, f1));
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
	ft_assert_dev_pattern(ctx, p, size, s1);

	/* A chain; waiting for the last fence implies the earlier ones. */
	ft_assert_ok(ferry_dev_fill(ctx, p, size, s2));
	ft_step("async chain");
	ft_assert_ok(ferry_migrate(ctx, p, size / 2, FERRY_LOC_HOST, FERRY_MIGRATE_ASYNC, &f2));
	ft_assert_ok(ferry_migrate(ctx, p, size / 4, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, &f3));
	ft_assert_ok(ferry_migrate(ctx, p + size / 8, size - size / 8, FERRY_LOC_HOST,
				   FERRY_MIGRATE_ASYNC, &f4));
	if (f2 == f3 || f3 == f4 || f2 == f4)
		fail_msg("fences not distinct: %" PRIu64 " %" PRIu64 " %" PRIu64, f2, f3, f4);
	ft_step("wait f4");
	ft_assert_ok(ferry_wait(ctx, f4));
	ft_assert_resident(ctx, p, size / 8, FERRY_RES_DEVICE);
	ft_assert_resident(ctx, p + size / 8, size - size / 8, FERRY_RES_HOST);
	/* Earlier fences are complete as well. */
	ft_step("wait f2, f3");
	ft_assert_ok(ferry_wait(ctx, f2));
	ft_assert_ok(ferry_wait(ctx, f3));
	ft_assert_ok(ferry_wait(ctx, f1));

	/* The raw interface reports the migration's status. */
	memset(&wt, 0, sizeof(wt));
	wt.fence = f4;
	wt.status = -12345;
	ft_assert_ok(ferry_ioctl(ctx, FERRY_IOCTL_WAIT, &wt));
	assert_int_equal(wt.status, 0);

	ft_assert_dev_pattern(ctx, p, size, s2);
	ft_assert_host_pattern(p, size, s2);
	ft_close(ctx);
}

/* The byte at @addr of memory filled with ferry_pattern(@seed). */
static uint8_t pattern_byte(uint64_t seed, const uint8_t *addr)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;

	return (uint8_t)(ferry_pattern(seed, a & ~7ULL) >> (8 * (a & 7)));
}

/* Ranges that cover parts of blocks, and unaligned device writes and reads. */
static void test_partial_blocks(void **state)
{
	const uint64_t bs = FERRY_DEFAULT_BLOCK_SIZE, size = FT_MIB(4);
	struct ferry_ctx *ctx;
	uint64_t rng, s1, s2, off, len;
	uint8_t *p, *buf, *back;

	(void)state;
	rng = ft_rng_init(__func__);
	s1 = ft_rand_seed(&rng);
	s2 = ft_rand_seed(&rng);
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, s1);

	/* 5 pages in the middle of block 1. */
	ft_step("migrate partial block");
	ft_migrate(ctx, p + bs + 3 * FT_PAGE, 5 * FT_PAGE, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p + bs + 3 * FT_PAGE, 5 * FT_PAGE, FERRY_RES_DEVICE);
	ft_assert_dev_pattern(ctx, p, size, s1);
	ft_assert_host_pattern(p, size, s1);

	/* The last page of block 3 and the first of block 4, to the device and back. */
	ft_migrate(ctx, p + 4 * bs - FT_PAGE, 2 * FT_PAGE, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p + 4 * bs - FT_PAGE, 2 * FT_PAGE, FERRY_RES_DEVICE);
	ft_migrate(ctx, p + 4 * bs - FT_PAGE, 2 * FT_PAGE, FERRY_LOC_HOST);
	ft_assert_resident(ctx, p + 4 * bs - FT_PAGE, 2 * FT_PAGE, FERRY_RES_HOST);
	ft_assert_host_pattern(p, size, s1);

	/* Device fill of a word range inside block 2, not page aligned. */
	off = 2 * bs + 2 * FT_PAGE + 24;
	len = 3 * FT_PAGE + 40;
	ft_step("device fill of a sub-page range");
	ft_assert_ok(ferry_dev_fill(ctx, p + off, len, s2));
	ft_assert_host_pattern(p, off, s1);
	ft_assert_host_pattern(p + off, len, s2);
	ft_assert_host_pattern(p + off + len, size - off - len, s1);
	ft_assert_dev_pattern(ctx, p + off, len, s2);

	/* Byte-granular device writes and reads. */
	len = 3 * FT_PAGE + 1001;
	off = 5 * bs + 3;
	buf = malloc(len);
	back = malloc(len);
	assert_non_null(buf);
	assert_non_null(back);
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)ft_splitmix(&rng);
	ft_step("device write, unaligned");
	ft_assert_ok(ferry_dev_write(ctx, p + off, buf, len));
	assert_memory_equal(p + off, buf, len);
	/* The bytes around the written range keep the pattern. */
	ft_assert_host_pattern(p + 5 * bs - 512, 512, s1);
	for (uint64_t a = off - 3; a < off; a++)
		assert_int_equal(p[a], pattern_byte(s1, p + a));
	for (uint64_t a = off + len; a < ((off + len + 7) & ~7ULL); a++)
		assert_int_equal(p[a], pattern_byte(s1, p + a));
	ft_assert_host_pattern(p + ((off + len + 7) & ~7ULL), 512, s1);

	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)ft_splitmix(&rng);
	memcpy(p + off, buf, len);
	ft_step("device read, unaligned");
	ft_assert_ok(ferry_dev_read(ctx, p + off, back, len));
	assert_memory_equal(back, buf, len);
	free(buf);
	free(back);
	ft_close(ctx);
}

/* Ranges across block and 2 MiB region boundaries. */
static void test_straddle(void **state)
{
	const uint64_t size = 3 * FT_REGION;
	struct ferry_ctx *ctx;
	uint64_t rng, s1, s2, s3, off, len;
	uint8_t *p, *r;

	(void)state;
	rng = ft_rng_init(__func__);
	s1 = ft_rand_seed(&rng);
	s2 = ft_rand_seed(&rng);
	s3 = ft_rand_seed(&rng);
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);
	r = p + FT_REGION; /* a region boundary */
	ft_host_fill(p, size, s1);

	/* Device fill across the region boundary, not page aligned. */
	off = FT_REGION - 5 * FT_PAGE - 128;
	len = 12 * FT_PAGE + 192;
	ft_step("device fill across a region boundary");
	ft_assert_ok(ferry_dev_fill(ctx, p + off, len, s2));
	ft_assert_host_pattern(p, off, s1);
	ft_assert_host_pattern(p + off, len, s2);
	ft_assert_host_pattern(p + off + len, size - off - len, s1);

	/* Page-aligned migrations across the boundary, both ways. */
	ft_host_fill(p, size, s1);
	ft_step("migrate across the region boundary");
	ft_migrate(ctx, r - 20 * FT_PAGE, 40 * FT_PAGE, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, r - 20 * FT_PAGE, 40 * FT_PAGE, FERRY_RES_DEVICE);
	ft_assert_dev_pattern(ctx, r - 20 * FT_PAGE, 40 * FT_PAGE, s1);
	ft_assert_ok(ferry_dev_fill(ctx, r - 20 * FT_PAGE, 40 * FT_PAGE, s3));
	ft_migrate(ctx, r - 20 * FT_PAGE, 40 * FT_PAGE, FERRY_LOC_HOST);
	ft_assert_resident(ctx, r - 20 * FT_PAGE, 40 * FT_PAGE, FERRY_RES_HOST);
	ft_assert_host_pattern(p, FT_REGION - 20 * FT_PAGE, s1);
	ft_assert_host_pattern(r - 20 * FT_PAGE, 40 * FT_PAGE, s3);
	ft_assert_host_pattern(r + 20 * FT_PAGE, size - FT_REGION - 20 * FT_PAGE, s1);

	/* Across a block boundary: one page either side of block 5 | 6 of region 2. */
	off = 2 * FT_REGION + 6 * FERRY_DEFAULT_BLOCK_SIZE - FT_PAGE;
	ft_migrate(ctx, p + off, 2 * FT_PAGE, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p + off, 2 * FT_PAGE, FERRY_RES_DEVICE);
	ft_assert_ok(ferry_dev_fill(ctx, p + off + 8, 2 * FT_PAGE - 16, s2));
	ft_assert_host_pattern(p + off, 8, s1);
	ft_assert_host_pattern(p + off + 8, 2 * FT_PAGE - 16, s2);
	ft_assert_host_pattern(p + off + 2 * FT_PAGE - 8, 8, s1);

	/* Everything spanning all three regions, to the device and back by faults. */
	ft_host_fill(p, size, s3);
	ft_migrate(ctx, p + FT_PAGE, size - 2 * FT_PAGE, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p + FT_PAGE, size - 2 * FT_PAGE, FERRY_RES_DEVICE);
	ft_assert_dev_pattern(ctx, p, size, s3);
	ft_assert_host_pattern(p, size, s3);
	ft_close(ctx);
}

/* Untouched memory reads as zeros on both sides, whichever touches first. */
static void test_untouched_zero(void **state)
{
	const uint64_t size = FT_MIB(4);
	struct ferry_ctx *ctx;
	uint8_t *p;

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);

	ft_assert_resident(ctx, p, size, FERRY_RES_UNTOUCHED);
	ft_step("device read of untouched memory");
	ft_assert_dev_zero(ctx, p, size / 2);
	ft_step("host read of untouched memory");
	ft_assert_host_zero(p + size / 2, size / 2);
	/* And each side reads what the other first touched. */
	ft_assert_host_zero(p, size / 2);
	ft_assert_dev_zero(ctx, p + size / 2, size / 2);
	/* Zeros do not pass for a pattern. */
	assert_true(ferry_dev_check(ctx, p, FT_PAGE, 1) == (int64_t)(FT_PAGE / 8));

	/* A device write of part of a zero page keeps the rest of the page zero. */
	ft_assert_ok(ferry_dev_fill(ctx, p + size - FT_PAGE, 64, 77));
	ft_assert_host_pattern(p + size - FT_PAGE, 64, 77);
	ft_assert_host_zero(p + size - FT_PAGE + 64, FT_PAGE - 64);
	ft_close(ctx);
}

/*
 * Fill, put half of the middle region on the device, discard the middle
 * region with @flags towards @target. Neighbours keep their data; the
 * discarded pages read as zeros from either side.
 */
static void discard_case(struct ferry_ctx *ctx, uint8_t *p, uint32_t target, uint32_t flags,
			 uint64_t s1)
{
	uint8_t *d = p + FT_REGION; /* the middle region of three */
	uint64_t fence = 0;

	ft_host_fill(p, 3 * FT_REGION, s1);
	ft_migrate(ctx, d, FT_REGION / 2, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, d, FT_REGION / 2, FERRY_RES_DEVICE);
	ft_assert_resident(ctx, d + FT_REGION / 2, FT_REGION / 2, FERRY_RES_HOST);

	ft_step("discard");
	ft_assert_ok(
		ferry_migrate(ctx, d, FT_REGION, target, FERRY_MIGRATE_DISCARD | flags, &fence));
	if (flags & FERRY_MIGRATE_ASYNC)
		ft_assert_ok(ferry_wait(ctx, fence));
	/* Neighbours keep their data and place. */
	ft_assert_resident(ctx, p, FT_REGION, FERRY_RES_HOST);
	ft_assert_resident(ctx, d + FT_REGION, FT_REGION, FERRY_RES_HOST);
	ft_assert_host_pattern(p, FT_REGION, s1);
	ft_assert_host_pattern(d + FT_REGION, FT_REGION, s1);
	ft_assert_dev_pattern(ctx, p, FT_REGION, s1);
	/*
	 * No data kept (ferry_uapi.h): untouched after a discard to the host,
	 * zero-filled device pages after a discard to the device.
	 */
	ft_assert_resident(ctx, d, FT_REGION,
			   target == FERRY_LOC_DEVICE ? FERRY_RES_DEVICE : FERRY_RES_UNTOUCHED);
	/* Zeros, from either side, for both halves. */
	ft_assert_host_zero(d, FT_REGION / 4);
	ft_assert_dev_zero(ctx, d + FT_REGION / 4, FT_REGION / 4);
	ft_assert_host_zero(d + FT_REGION / 2, FT_REGION / 4);
	ft_assert_dev_zero(ctx, d + 3 * FT_REGION / 4, FT_REGION / 4);
	ft_assert_dev_zero(ctx, d, FT_REGION / 4);
	ft_assert_host_zero(d + FT_REGION / 4, FT_REGION / 4);
}

/* FERRY_MIGRATE_DISCARD drops the pages: untouched, zeros on both sides. */
static void test_discard(void **state)
{
	struct ferry_ctx *ctx;
	uint64_t rng;
	uint8_t *p;

	(void)state;
	rng = ft_rng_init(__func__);
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, 3 * FT_REGION, FT_REGION);
	discard_case(ctx, p, FERRY_LOC_HOST, 0, ft_rand_seed(&rng));
	discard_case(ctx, p, FERRY_LOC_HOST, FERRY_MIGRATE_ASYNC, ft_rand_seed(&rng));
	ft_close(ctx);
}

/* The same with the device as the target: still untouched, not zero-filled there. */
static void test_discard_to_device(void **state)
{
	struct ferry_ctx *ctx;
	uint64_t rng;
	uint8_t *p;

	(void)state;
	rng = ft_rng_init(__func__);
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, 3 * FT_REGION, FT_REGION);
	discard_case(ctx, p, FERRY_LOC_DEVICE, 0, ft_rand_seed(&rng));
	discard_case(ctx, p, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, ft_rand_seed(&rng));
	ft_close(ctx);
}

/*
 * Device work over sizes that are not a multiple of the stride or of the
 * word: TOUCH reads at offsets 0, stride, 2 * stride, ... below size; INC adds
 * to every u64 at those offsets; FILL and CHECK cover every whole u64.
 */
static void test_devwork_tail(void **state)
{
	static const uint32_t threads[] = {1, 2, 3, 4};
	struct ferry_dev_work w;
	struct ferry_ctx *ctx;
	uint64_t t, k;
	uint8_t *p;

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, FT_MIB(2), FT_REGION);

	for (t = 0; t < FT_ARRAY_SIZE(threads); t++) {
		const uint64_t stride = 3 * FT_PAGE, size = 10 * stride + 8;
		const uint64_t n = 11; /* offsets 0, 3P, ..., 30P */

		ft_host_fill(p, FT_MIB(2), 100 + t);
		memset(&w, 0, sizeof(w));
		w.op = FERRY_DEV_TOUCH;
		w.threads = threads[t];
		w.addr = (uint64_t)(uintptr_t)p;
		w.size = size;
		w.stride = stride;
		ft_assert_ok(ferry_device_work(ctx, &w, NULL));
		if (w.result != ft_pattern_touch_sum(p, size, stride, 100 + t))
			fail_msg("TOUCH, %u threads, size %" PRIu64 " stride %" PRIu64
				 ": sum %" PRIu64 ", expected %" PRIu64 " (%" PRIu64
				 " touches; without the last one: %" PRIu64 ")",
				 threads[t], size, stride, (uint64_t)w.result,
				 ft_pattern_touch_sum(p, size, stride, 100 + t), n,
				 ft_pattern_touch_sum(p, size - 8, stride, 100 + t));

		memset(p, 0, FT_MIB(1));
		memset(&w, 0, sizeof(w));
		w.op = FERRY_DEV_INC;
		w.threads = threads[t];
		w.addr = (uint64_t)(uintptr_t)p;
		w.size = size;
		w.stride = stride;
		w.repeat = 2;
		ft_assert_ok(ferry_device_work(ctx, &w, NULL));
		for (k = 0; k < n; k++) {
			uint64_t v = *(volatile uint64_t *)(p + k * stride);

			if (v != 2)
				fail_msg("INC, %u threads, size %" PRIu64 " stride %" PRIu64
					 ": word at offset %" PRIu64 " is %" PRIu64 ", expected 2",
					 threads[t], size, stride, k * stride, v);
		}
		ft_assert_host_zero(p + 8, stride - 8);

		/* FILL/CHECK of 8 * 1001 bytes: not a multiple of the thread count. */
		memset(&w, 0, sizeof(w));
		w.op = FERRY_DEV_FILL;
		w.threads = threads[t];
		w.addr = (uint64_t)(uintptr_t)(p + 8);
		w.size = 8 * 1001;
		w.seed = 200 + t;
		ft_assert_ok(ferry_device_work(ctx, &w, NULL));
		ft_assert_host_pattern(p + 8, 8 * 1001, 200 + t);
		w.op = FERRY_DEV_CHECK;
		ft_assert_ok(ferry_device_work(ctx, &w, NULL));
		ft_assert_u64_eq(w.result, 0);
	}
	ft_close(ctx);
}

/* Freed memory is discarded: its pages become untouched. */
static void test_free_discards(void **state)
{
	const uint64_t size = FT_MIB(1);
	struct ferry_ctx *ctx;
	uint8_t *p, *q;

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);
	q = ft_alloc(ctx, size, 0);
	ft_host_fill(p, size, 5);
	ft_host_fill(q, size, 6);
	ft_migrate(ctx, p, size / 2, FERRY_LOC_DEVICE);
	ft_assert_ok(ferry_free(ctx, p));
	ft_assert_resident(ctx, p, size, FERRY_RES_UNTOUCHED);
	ft_assert_host_pattern(q, size, 6);
	ft_assert_ok(ferry_free(ctx, q));
	ft_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_random),  cmocka_unit_test(test_roundtrip_pages),
		cmocka_unit_test(test_migrate_sync),	  cmocka_unit_test(test_migrate_async),
		cmocka_unit_test(test_partial_blocks),	  cmocka_unit_test(test_straddle),
		cmocka_unit_test(test_untouched_zero),	  cmocka_unit_test(test_discard),
		cmocka_unit_test(test_discard_to_device), cmocka_unit_test(test_devwork_tail),
		cmocka_unit_test(test_free_discards),
	};

	return cmocka_run_group_tests_name("integrity", tests, NULL, NULL);
}
