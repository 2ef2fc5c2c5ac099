/* SPDX-License-Identifier: MIT */
/*
 * Advice. Read-mostly: device reads make read-only device copies while the
 * host keeps its own (no faults on either side for reads), and a write on
 * either side collapses the pages to that side, losing nothing. Accessed-by
 * the device: the device works on host pages in place.
 *
 * The kernel backend serves read-mostly reads from the host's page, mapped
 * read-only in the device view: one copy, shared, so there is nothing to
 * collapse on a host write and no device memory is used. Those tests name
 * the backend where its answer differs.
 */
#include "test_common.h"

static void test_read_duplication(void **state)
{
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	bool kernel;
	uint8_t *p;
	const uint64_t size = FT_MIB(2);

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 21);
	ft_assert_ok(ferry_set_attr(ctx, p, size, FERRY_ATTR_READ_MOSTLY, 1));

	ft_step("device reads: duplicated, host copy kept");
	ft_assert_dev_pattern(ctx, p, size, 21);
	ft_assert_resident(ctx, p, size, FERRY_RES_DUPLICATED);
	kernel = ft_backend(ctx) == FERRY_BACKEND_KERNEL;
	ft_counters(ctx, &c0);
	ft_assert_host_pattern(p, size, 21);	 /* the host reads its own copy: no fault */
	ft_assert_dev_pattern(ctx, p, size, 21); /* and so does the device */
	ft_counters(ctx, &c1);
	ft_assert_u64_eq(c1.faults_host - c0.faults_host, 0);
	ft_assert_u64_eq(c1.faults_device - c0.faults_device, 0);
	ft_assert_resident(ctx, p, size, FERRY_RES_DUPLICATED);

	ft_step("a host write collapses to the host");
	ft_host_fill(p, FT_KIB(64), 22);
	/* kernel: the device still shares the host's (one) copy */
	ft_assert_resident(ctx, p, FT_KIB(64), kernel ? FERRY_RES_DUPLICATED : FERRY_RES_HOST);
	ft_assert_resident(ctx, p + FT_KIB(64), size - FT_KIB(64), FERRY_RES_DUPLICATED);
	ft_assert_dev_pattern(ctx, p, FT_KIB(64), 22); /* the device sees the new bytes */
	ft_assert_dev_pattern(ctx, p + FT_KIB(64), size - FT_KIB(64), 21);

	ft_step("a device write collapses to the device");
	ft_assert_ok(ferry_dev_fill(ctx, p, size, 23));
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
	ft_assert_host_pattern(p, size, 23);
	ft_assert_resident(ctx, p, size, FERRY_RES_HOST);

	ft_step("advice off: device reads migrate again");
	ft_assert_ok(ferry_set_attr(ctx, p, size, FERRY_ATTR_READ_MOSTLY, 0));
	ft_assert_dev_pattern(ctx, p, size, 23);
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
	ft_close(ctx);
}

/* Duplicated pages hold device memory: eviction drops the device copy, nothing else. */
static void test_duplicates_and_capacity(void **state)
{
	struct ferry_options o;
	struct ferry_counters c;
	struct ferry_ctx *ctx;
	uint8_t *p;
	const uint64_t size = FT_MIB(8);

	(void)state;
	ft_default_options(&o);
	o.device_memory = FT_MIB(4);
	ctx = ft_open(&o);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 31);
	ft_assert_ok(ferry_set_attr(ctx, p, size, FERRY_ATTR_READ_MOSTLY, 1));
	ft_assert_dev_pattern(ctx, p, size, 31);
	ft_counters(ctx, &c);
	ft_assert_u64_cmp(c.device_peak_pages, <=, c.device_capacity_pages);
	if (ft_backend(ctx) == FERRY_BACKEND_USER) /* kernel: shared, no device copies */
		ft_assert_u64_cmp(c.evictions, >, 0);
	ft_assert_host_pattern(p, size, 31);
	ft_close(ctx);
}

/* Accessed-by (device): the device works on host pages in place, nothing migrates. */
static void test_accessed_by_device(void **state)
{
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint8_t *p;
	const uint64_t size = FT_MIB(2);

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 41);
	ft_assert_ok(ferry_set_attr(ctx, p, size, FERRY_ATTR_ACCESSED_BY, 1u << FERRY_LOC_DEVICE));
	ft_counters(ctx, &c0);
	ft_assert_dev_pattern(ctx, p, size, 41);
	ft_assert_ok(ferry_dev_fill(ctx, p, size, 42)); /* device writes land in host memory */
	ft_counters(ctx, &c1);
	ft_assert_u64_eq(c1.pages_to_device - c0.pages_to_device, 0);
	ft_assert_resident(ctx, p, size, FERRY_RES_HOST);
	ft_counters(ctx, &c0);
	ft_assert_host_pattern(p, size, 42); /* and the host reads them without a fault */
	ft_counters(ctx, &c1);
	ft_assert_u64_eq(c1.faults_host - c0.faults_host, 0);

	ft_step("an explicit prefetch still migrates; clearing the advice restores migration");
	ft_migrate(ctx, p, FT_KIB(64), FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, p, FT_KIB(64), FERRY_RES_DEVICE);
	ft_assert_dev_pattern(ctx, p, size, 42);
	ft_assert_ok(ferry_set_attr(ctx, p, size, FERRY_ATTR_ACCESSED_BY, 0));
	ft_assert_ok(ferry_dev_fill(ctx, p, size, 43));
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);
	ft_assert_host_pattern(p, size, 43);
	ft_close(ctx);
}

/*
 * Accessed-by (device) on part of a region while the device works on all of
 * it: the faults on the rest make the prefetcher pull the whole region to the
 * device, which ends the remote mapping (udriver remaps the device view) while
 * another device thread keeps incrementing one word per page of the remotely
 * mapped part. No increment may be lost: a device write that reached the
 * device view while it was being remapped would be.
 */
static void test_accessed_by_prefetched_while_written(void **state)
{
	struct ferry_ctx *ctx;
	uint64_t lost = 0;
	const uint64_t size = FT_REGION, rounds = 40, repeat = 20000;
	struct ferry_dev_work w = {
		.op = FERRY_DEV_INC,
		.threads = 4, /* a quarter each */
		.size = size,
		.stride = FT_PAGE,
		.repeat = repeat,
	};
	uint8_t *p;

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);
	memset(p, 0, size);
	ft_assert_ok(
		ferry_set_attr(ctx, p, size / 4, FERRY_ATTR_ACCESSED_BY, 1u << FERRY_LOC_DEVICE));
	w.addr = (uint64_t)(uintptr_t)p;
	for (uint64_t i = 0; i < rounds; i++) {
		ft_assert_ok(ferry_device_work(ctx, &w, NULL));
		ft_migrate(ctx, p, size, FERRY_LOC_HOST); /* so that the next round faults */
	}
	for (uint64_t off = 0; off < size; off += FT_PAGE) {
		uint64_t v;

		memcpy(&v, p + off, sizeof(v));
		if (v != rounds * repeat)
			lost += rounds * repeat - v;
	}
	if (lost)
		fail_msg("%" PRIu64 " device increments lost", lost);
	ft_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_duplication),
		cmocka_unit_test(test_duplicates_and_capacity),
		cmocka_unit_test(test_accessed_by_device),
		cmocka_unit_test(test_accessed_by_prefetched_while_written),
	};

	return cmocka_run_group_tests_name("read_mostly", tests, NULL, NULL);
}
