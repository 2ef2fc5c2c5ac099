/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - the user backend's vram pool (FERRY_VRAM_PREPOPULATE,
 * udriver/vram.c): ferry-device populates the device capacity's worth of
 * memory in the background from the start, and frees it a slot at a time
 * right before vram allocates. Checked: the pool fills up to the capacity
 * and no further (it counts in device_cached_pages); a first trip to the
 * device and back, and an oversubscribed one, move the data intact while
 * what the device holds stays within the capacity; FERRY_VRAM_PREPOPULATE=0
 * holds nothing before the first migration.
 */
#include "test_common.h"

#include <stdlib.h>
#include <time.h>

#define CAPACITY (32 * FT_REGION)

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static struct ferry_ctx *open_user(const char *test)
{
	struct ferry_ctx *ctx = ft_open_bp_at(FERRY_DEFAULT_BLOCK_SIZE, 1, CAPACITY, test);

	if (ft_backend(ctx) != FERRY_BACKEND_USER) {
		ft_close(ctx);
		print_message("[ %s ] not the user backend: skipped\n", test);
		skip();
	}
	return ctx;
}

static uint64_t cached(struct ferry_ctx *ctx)
{
	struct ferry_counters c;

	ft_counters(ctx, &c);
	ft_assert_u64_cmp(c.device_cached_pages, <=, c.device_capacity_pages);
	return c.device_cached_pages;
}

/* Wait (up to 20 s: the pool runs at idle priority) for the pool to fill the capacity. */
static void wait_full(struct ferry_ctx *ctx)
{
	uint64_t t0 = now_ms();

	while (cached(ctx) < CAPACITY / FT_PAGE) {
		if (now_ms() - t0 > 20000)
			fail_msg("the pool holds %llu of %llu pages after 20 s",
				 (unsigned long long)cached(ctx),
				 (unsigned long long)(CAPACITY / FT_PAGE));
		usleep(2000);
	}
	print_message("pool of %llu MiB full after %llu ms\n", (unsigned long long)(CAPACITY >> 20),
		      (unsigned long long)(now_ms() - t0));
}

/* Migrate in 2 MiB pieces, checking the capacity after each. */
static void migrate_checked(struct ferry_ctx *ctx, char *p, uint64_t size, uint32_t target)
{
	for (uint64_t off = 0; off < size; off += FT_REGION) {
		ft_migrate(ctx, p + off, FT_REGION, target);
		cached(ctx);
	}
}

static void test_pool_first_trip(void **state)
{
	struct ferry_ctx *ctx;
	uint64_t size = CAPACITY * 3 / 4;
	char *p;

	(void)state;
	unsetenv("FERRY_VRAM_PREPOPULATE");
	ctx = open_user(__func__);
	wait_full(ctx);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 11);
	migrate_checked(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
	ft_assert_dev_pattern(ctx, p, size, 11);
	/* the pool gave way: vram and what is left of the pool together fill the capacity */
	ft_assert_u64_cmp(cached(ctx), >=, size / FT_PAGE);
	migrate_checked(ctx, p, size, FERRY_LOC_HOST);
	ft_assert_resident(ctx, p, size, FERRY_RES_HOST);
	ft_assert_host_pattern(p, size, 11);
	ft_close(ctx);
}

/* Twice the capacity through the device: eviction, with the pool long gone. */
static void test_pool_oversubscribed(void **state)
{
	struct ferry_ctx *ctx;
	uint64_t size = 2 * CAPACITY;
	char *p;

	(void)state;
	unsetenv("FERRY_VRAM_PREPOPULATE");
	ctx = open_user(__func__);
	wait_full(ctx);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 12);
	migrate_checked(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_dev_pattern(ctx, p + size - CAPACITY / 2, CAPACITY / 2, 12);
	ft_assert_host_pattern(p, size, 12); /* evicted pages fault back, the rest too */
	ft_close(ctx);
}

/* A discard gives memory back: the pool takes it again, within the capacity. */
static void test_pool_refills(void **state)
{
	struct ferry_ctx *ctx;
	uint64_t size = CAPACITY / 2;
	char *p;

	(void)state;
	unsetenv("FERRY_VRAM_PREPOPULATE");
	ctx = open_user(__func__);
	wait_full(ctx);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 13);
	migrate_checked(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_ok(ferry_free(ctx, p)); /* discards: vram punched */
	wait_full(ctx);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 14);
	migrate_checked(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_dev_pattern(ctx, p, size, 14);
	ft_close(ctx);
}

static void test_pool_off(void **state)
{
	struct ferry_ctx *ctx;
	uint64_t size = 4 * FT_REGION;
	char *p;

	(void)state;
	setenv("FERRY_VRAM_PREPOPULATE", "0", 1);
	ctx = open_user(__func__);
	usleep(200000);
	ft_assert_u64_eq(cached(ctx), 0);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 15);
	migrate_checked(ctx, p, size, FERRY_LOC_DEVICE);
	ft_assert_u64_eq(cached(ctx), size / FT_PAGE);
	ft_assert_dev_pattern(ctx, p, size, 15);
	ft_close(ctx);
	unsetenv("FERRY_VRAM_PREPOPULATE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_first_trip),
		cmocka_unit_test(test_pool_oversubscribed),
		cmocka_unit_test(test_pool_refills),
		cmocka_unit_test(test_pool_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
