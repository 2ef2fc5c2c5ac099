// SPDX-License-Identifier: MIT
/*
 * kd_evict - oversubscription: a 16 MiB window streamed through 8 MiB of
 * device memory. Least recently used 2 MiB regions are evicted to the host,
 * never lost; device_resident_pages never exceeds the capacity; evictions
 * are counted.
 *
 *   stream_migrate      MIGRATE region by region: each just-migrated region is
 *                       resident, the first one was evicted, every byte intact
 *                       from the host and then from the device (which streams
 *                       it again through device faults)
 *   stream_device       the device writes all 16 MiB (device faults evict);
 *                       the host reads every byte
 *   lru_order           a region migrated again becomes most recent: the next
 *                       eviction takes the least recent one instead
 *   one_call            one MIGRATE of the whole window: 0, the last region
 *                       resident, data intact
 *   async               the same with FERRY_MIGRATE_ASYNC and WAIT
 *   rewrite             host writes to evicted regions survive the next round
 *   discard             DISCARD of 16 MiB to the device: every byte reads 0,
 *                       including the regions evicted on the way
 *   tiny_capacity       1 MiB of device memory, less than a region: MIGRATE of
 *                       4 MiB moves what fits (0 or ENOMEM), the device still
 *                       reads and writes all 4 MiB, never above capacity,
 *                       every byte exact
 */
#include "kd_common.h"

#define WINDOW KD_MIB(16)
#define CAPACITY KD_MIB(8)
#define CAP_PAGES (CAPACITY / KD_PAGE)
#define REGIONS (WINDOW / KD_REGION)

struct fixture {
	struct kd_ctx ctx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, WINDOW, CAPACITY, 0)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r = kd_server_stop(&f->ctx);

	kd_teardown(&f->ctx);
	free(f);
	return r ? -1 : 0;
}

static char *region(struct fixture *f, size_t r)
{
	return f->ctx.base + r * KD_REGION;
}

static uint64_t device_pages_in(struct fixture *f, size_t r)
{
	uint64_t count[4];

	kd_assert_ok(kd_residency(f->ctx.fd, region(f, r), KD_REGION, NULL, count));
	return count[FERRY_RES_DEVICE];
}

/* Capacity respected; device_resident_pages agrees with RESIDENCY. */
static void check_capacity(struct fixture *f, const char *when)
{
	struct ferry_counters c;
	uint64_t count[4];

	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	kd_assert_ok(kd_residency(f->ctx.fd, f->ctx.base, WINDOW, NULL, count));
	if (c.device_resident_pages > CAP_PAGES || c.device_peak_pages > CAP_PAGES)
		fail_msg("%s: %" PRIu64 " device pages resident (peak %" PRIu64 "), capacity %zu",
			 when, (uint64_t)c.device_resident_pages, (uint64_t)c.device_peak_pages,
			 CAP_PAGES);
	if (c.device_resident_pages != count[FERRY_RES_DEVICE])
		fail_msg("%s: device_resident_pages %" PRIu64 ", RESIDENCY counts %" PRIu64, when,
			 (uint64_t)c.device_resident_pages, count[FERRY_RES_DEVICE]);
	assert_int_equal(c.device_capacity_pages, CAP_PAGES);
}

static void check_evicted(struct fixture *f, uint64_t min_pages)
{
	struct ferry_counters c;

	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	if (!c.evictions || c.pages_evicted < min_pages)
		fail_msg("evictions %" PRIu64 ", pages_evicted %" PRIu64
			 ", expected at least %" PRIu64 " pages",
			 (uint64_t)c.evictions, (uint64_t)c.pages_evicted, min_pages);
}

static void stream_migrate(void **state)
{
	struct fixture *f = *state;
	size_t r;

	kd_fill_pattern(f->ctx.base, WINDOW, 1);
	for (r = 0; r < REGIONS; r++) {
		kd_assert_ok(
			kd_migrate(f->ctx.fd, region(f, r), KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
		kd_assert_residency(f->ctx.fd, region(f, r), KD_REGION, FERRY_RES_DEVICE);
		check_capacity(f, "streaming");
	}
	assert_int_equal(device_pages_in(f, 0), 0);
	check_evicted(f, WINDOW / KD_PAGE - CAP_PAGES);
	kd_assert_host_check(f->ctx.base, WINDOW, 1);
	check_capacity(f, "after the host read");
	kd_assert_dev_check(&f->ctx, f->ctx.base, WINDOW, 1);
	check_capacity(f, "after the device read");
	kd_assert_host_check(f->ctx.base, WINDOW, 1);
}

static void stream_device(void **state)
{
	struct fixture *f = *state;

	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, f->ctx.base, WINDOW, 2));
	check_capacity(f, "after the device wrote");
	check_evicted(f, WINDOW / KD_PAGE - CAP_PAGES);
	assert_int_equal(device_pages_in(f, REGIONS - 1), KD_REGION / KD_PAGE);
	kd_assert_host_check(f->ctx.base, WINDOW, 2);
	kd_assert_dev_check(&f->ctx, f->ctx.base, WINDOW, 2);
	check_capacity(f, "after the device read");
}

static void lru_order(void **state)
{
	struct fixture *f = *state;
	size_t r;

	kd_fill_pattern(f->ctx.base, WINDOW, 3);
	for (r = 0; r < 4; r++)
		kd_assert_ok(
			kd_migrate(f->ctx.fd, region(f, r), KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	/* Region 0 becomes the most recent: order 1, 2, 3, 0. */
	kd_assert_ok(kd_migrate(f->ctx.fd, region(f, 0), KD_REGION, FERRY_LOC_HOST, 0, NULL));
	kd_assert_ok(kd_migrate(f->ctx.fd, region(f, 0), KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_ok(kd_migrate(f->ctx.fd, region(f, 4), KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	assert_int_equal(device_pages_in(f, 1), 0);
	assert_int_equal(device_pages_in(f, 0), KD_REGION / KD_PAGE);
	assert_int_equal(device_pages_in(f, 4), KD_REGION / KD_PAGE);
	check_capacity(f, "lru");
	kd_assert_host_check(f->ctx.base, WINDOW, 3);
}

static void one_call_flags(struct fixture *f, uint32_t flags)
{
	uint64_t fence = 0;
	int32_t st = -1;

	kd_fill_pattern(f->ctx.base, WINDOW, 4);
	kd_assert_ok(kd_migrate(f->ctx.fd, f->ctx.base, WINDOW, FERRY_LOC_DEVICE, flags, &fence));
	if (flags & FERRY_MIGRATE_ASYNC) {
		kd_assert_ok(kd_wait(f->ctx.fd, fence, 0, &st));
		assert_int_equal(st, 0);
	}
	check_capacity(f, "one call");
	check_evicted(f, WINDOW / KD_PAGE - CAP_PAGES);
	assert_int_equal(device_pages_in(f, REGIONS - 1), KD_REGION / KD_PAGE);
	kd_assert_dev_check(&f->ctx, f->ctx.base, WINDOW, 4);
	kd_assert_host_check(f->ctx.base, WINDOW, 4);
}

static void one_call(void **state)
{
	one_call_flags(*state, 0);
}

static void async(void **state)
{
	one_call_flags(*state, FERRY_MIGRATE_ASYNC);
}

static void rewrite(void **state)
{
	struct fixture *f = *state;
	size_t r;

	kd_fill_pattern(f->ctx.base, WINDOW, 5);
	kd_assert_ok(kd_migrate(f->ctx.fd, f->ctx.base, WINDOW, FERRY_LOC_DEVICE, 0, NULL));
	for (r = 1; r < REGIONS; r += 2)
		kd_fill_pattern(region(f, r), KD_REGION, 6);
	kd_assert_ok(kd_migrate(f->ctx.fd, f->ctx.base, WINDOW, FERRY_LOC_DEVICE, 0, NULL));
	check_capacity(f, "rewrite");
	for (r = 0; r < REGIONS; r++)
		kd_assert_dev_check(&f->ctx, region(f, r), KD_REGION, r & 1 ? 6 : 5);
	for (r = 0; r < REGIONS; r++)
		kd_assert_host_check(region(f, r), KD_REGION, r & 1 ? 6 : 5);
}

static void discard(void **state)
{
	struct fixture *f = *state;

	kd_fill_pattern(f->ctx.base, WINDOW, 7);
	kd_assert_ok(kd_migrate(f->ctx.fd, f->ctx.base, WINDOW, FERRY_LOC_DEVICE,
				FERRY_MIGRATE_DISCARD, NULL));
	check_capacity(f, "discard");
	assert_int_equal(kd_check_bytes(f->ctx.base, WINDOW, 0), -1);
	kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, f->ctx.base, WINDOW));
	assert_int_equal(kd_check_bytes(f->ctx.staging, WINDOW, 0), -1);
}

static int setup_tiny(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, KD_MIB(4), KD_MIB(1), 0)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Less device memory than one region: nothing exceeds it, nothing is lost. */
static void tiny_capacity(void **state)
{
	struct fixture *f = *state;
	const uint64_t cap = KD_MIB(1) / KD_PAGE;
	struct ferry_counters c;
	uint64_t count[4];
	int r;

	kd_fill_pattern(f->ctx.base, KD_MIB(4), 8);
	r = kd_migrate(f->ctx.fd, f->ctx.base, KD_MIB(4), FERRY_LOC_DEVICE, 0, NULL);
	if (r && r != -ENOMEM)
		fail_msg("MIGRATE of 4 MiB into 1 MiB: %s", kd_errname(r));
	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	kd_assert_ok(kd_residency(f->ctx.fd, f->ctx.base, KD_MIB(4), NULL, count));
	assert_true(c.device_peak_pages <= cap);
	assert_int_equal(c.device_resident_pages, count[FERRY_RES_DEVICE]);
	kd_assert_host_check(f->ctx.base, KD_MIB(4), 8);
	/* The device reads and writes all of it anyway (what does not fit, in place). */
	kd_assert_dev_check(&f->ctx, f->ctx.base, KD_MIB(4), 8);
	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, f->ctx.base, KD_MIB(4), 9));
	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	assert_true(c.device_peak_pages <= cap);
	kd_assert_host_check(f->ctx.base, KD_MIB(4), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stream_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(stream_device, setup, teardown),
		cmocka_unit_test_setup_teardown(lru_order, setup, teardown),
		cmocka_unit_test_setup_teardown(one_call, setup, teardown),
		cmocka_unit_test_setup_teardown(async, setup, teardown),
		cmocka_unit_test_setup_teardown(rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(discard, setup, teardown),
		cmocka_unit_test_setup_teardown(tiny_capacity, setup_tiny, teardown),
	};

	return cmocka_run_group_tests_name("kd_evict", tests, NULL, NULL);
}
