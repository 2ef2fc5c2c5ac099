/* SPDX-License-Identifier: MIT */
/*
 * test_whole.c - whole regions of the user backend: a 2 MiB region whose
 * pages are all device-resident leaves the device view's userfaultfd and is
 * mapped by the kernel itself (one 2 MiB entry where vram has a 2 MiB page).
 * Everything that changes such a region must take it back first: partial
 * migrations, host faults, discards, eviction, advice. These tests check the
 * data and the residency through each of those, and that whole regions are
 * really used (counters.whole_regions, the device's smaps).
 *
 * They need shmem's 2 MiB pages (/sys/kernel/mm/transparent_hugepage/
 * shmem_enabled set to advise or more; tools/setup.sh does it) and the user
 * backend; otherwise they skip.
 */
#include "test_common.h"

#include <stdio.h>

#include "common/settings.h"
#include "transport/proto.h"

#define REGIONS 4
#define SIZE (REGIONS * FT_REGION)

/* Open the user backend with whole regions, or skip. */
static struct ferry_ctx *open_whole(uint64_t device_memory, const char *test)
{
	struct ferry_ctx *ctx;

	if (!ferry_whole_regions_enabled()) {
		print_message("[ %s ] shmem has no 2 MiB pages here (or FERRY_HUGE=0): skipped\n",
			      test);
		skip();
	}
	ctx = ft_open_bp_at(FERRY_DEFAULT_BLOCK_SIZE, 1, device_memory, test);
	if (ft_backend(ctx) != FERRY_BACKEND_USER) {
		ft_close(ctx);
		print_message("[ %s ] not the user backend: skipped\n", test);
		skip();
	}
	return ctx;
}

static uint64_t whole_regions(struct ferry_ctx *ctx)
{
	struct ferry_counters c;

	ft_counters(ctx, &c);
	return c.whole_regions;
}

/* kB of a process's view of the window mapped with 2 MiB entries (its smaps). */
static uint64_t pmd_kb(struct ferry_ctx *ctx, pid_t pid)
{
	uint64_t base = (uint64_t)(uintptr_t)ferry_window_base(ctx);
	uint64_t end = base + ferry_window_size(ctx), kb = 0;
	char path[64], line[512];
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		unsigned long long v;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) { /* a mapping's first line */
			in = s >= base && e <= end;
			continue;
		}
		if (in && sscanf(line, "ShmemPmdMapped: %llu kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

/*
 * A prefetch of whole regions maps them whole on the device, and the way
 * back whole on the host: each side then reads and writes them without a
 * fault reaching the driver, with 2 MiB entries, and the data survives.
 */
static void test_prefetch_whole(void **state)
{
	const bool agent = !getenv("FERRY_NO_HOST_AGENT");
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint8_t *p;

	(void)state;
	ctx = open_whole(0, __func__);
	p = ft_alloc(ctx, SIZE, FT_REGION);
	ft_host_fill(p, SIZE, 3);

	ft_counters(ctx, &c0);
	ft_migrate(ctx, p, SIZE, FERRY_LOC_DEVICE);
	ft_counters(ctx, &c1);
	ft_assert_u64_eq(c1.whole_regions - c0.whole_regions, REGIONS);
	ft_assert_resident(ctx, p, SIZE, FERRY_RES_DEVICE);

	ft_assert_dev_pattern(ctx, p, SIZE, 3);
	ft_assert_ok(ferry_dev_fill(ctx, p + FT_REGION, FT_REGION, 5));
	ft_counters(ctx, &c0);
	ft_assert_u64_eq(c0.faults_device - c1.faults_device, 0);
	/* vram was empty: the populate gave it 2 MiB pages, and the device maps them so */
	if (pmd_kb(ctx, ferry_device_pid(ctx)) < FT_REGION / 1024)
		fail_msg("the device maps none of its whole regions with a 2 MiB entry");

	ft_migrate(ctx, p, SIZE, FERRY_LOC_HOST);
	ft_counters(ctx, &c1);
	ft_assert_u64_eq(c1.whole_regions - c0.whole_regions, REGIONS);
	ft_assert_resident(ctx, p, SIZE, FERRY_RES_HOST);
	ft_assert_host_pattern(p, FT_REGION, 3);
	ft_assert_host_pattern(p + FT_REGION, FT_REGION, 5);
	ft_assert_host_pattern(p + 2 * FT_REGION, 2 * FT_REGION, 3);
	ft_host_fill(p + 3 * FT_REGION, FT_REGION, 6);
	ft_counters(ctx, &c0);
	ft_assert_u64_eq(c0.faults_host - c1.faults_host, 0);
	/*
	 * The host's first touch populated sysmem with 2 MiB pages, mapped so
	 * now: the host agent's zaps on the way to the device freed the view's
	 * page tables (without the agent, sysmem is punched instead).
	 */
	if (agent && pmd_kb(ctx, getpid()) < FT_REGION / 1024)
		fail_msg("the host maps none of its whole regions with a 2 MiB entry");

	/* a second trip recycles the vram pages and goes whole again */
	ft_migrate(ctx, p, SIZE, FERRY_LOC_DEVICE);
	ft_assert_u64_eq(whole_regions(ctx) - c0.whole_regions, REGIONS);
	ft_assert_dev_pattern(ctx, p + 3 * FT_REGION, FT_REGION, 6);
	ft_assert_dev_pattern(ctx, p + 2 * FT_REGION, FT_REGION, 3);
	ft_close(ctx);
}

/*
 * A host touch of one page of a whole region takes the region back: its
 * block comes home, the rest stays on the device and readable there, and
 * the device's next touch of the block makes the region whole again.
 */
static void test_host_touch_splits(void **state)
{
	const uint64_t block = FERRY_DEFAULT_BLOCK_SIZE;
	struct ferry_counters c0, c1;
	struct ferry_ctx *ctx;
	uint8_t *p, *q;
	uint64_t w0;

	(void)state;
	ctx = open_whole(0, __func__);
	p = ft_alloc(ctx, SIZE, FT_REGION);
	ft_host_fill(p, SIZE, 7);
	ft_migrate(ctx, p, SIZE, FERRY_LOC_DEVICE);
	w0 = whole_regions(ctx);

	q = p + 2 * FT_REGION + 5 * block; /* a block inside region 2 */
	ft_counters(ctx, &c0);
	ft_assert_host_pattern(q, FT_PAGE, 7);
	q[100] ^= 0xff; /* a host write to the block that came back */
	ft_counters(ctx, &c1);
	ft_assert_u64_eq(c1.faults_host - c0.faults_host, 1);
	ft_assert_resident(ctx, q, block, FERRY_RES_HOST);
	ft_assert_resident(ctx, p + 2 * FT_REGION, 5 * block, FERRY_RES_DEVICE);
	ft_assert_resident(ctx, q + block, FT_REGION - 6 * block, FERRY_RES_DEVICE);

	/* the rest of region 2 is still the device's: read there, without faults */
	ft_assert_dev_pattern(ctx, p + 2 * FT_REGION, 5 * block, 7);
	ft_assert_dev_pattern(ctx, q + block, FT_REGION - 6 * block, 7);
	ft_counters(ctx, &c0);
	ft_assert_u64_eq(c0.faults_device - c1.faults_device, 0);

	/* the device touches the block: it moves back, the region is whole again */
	ft_dev_touch(ctx, q, block, FT_PAGE, 1);
	ft_assert_resident(ctx, p, SIZE, FERRY_RES_DEVICE);
	ft_assert_u64_eq(whole_regions(ctx) - w0, 1);
	q[100] ^= 0xff; /* the host faults it back, and restores the pattern */
	ft_migrate(ctx, p, SIZE, FERRY_LOC_HOST);
	ft_assert_host_pattern(p, SIZE, 7);
	ft_close(ctx);
}

/* Partial migrations, discards and advice on whole regions. */
static void test_partial_operations(void **state)
{
	const uint64_t block = FERRY_DEFAULT_BLOCK_SIZE;
	struct ferry_ctx *ctx;
	uint8_t *p;

	(void)state;
	ctx = open_whole(0, __func__);
	p = ft_alloc(ctx, SIZE, FT_REGION);
	ft_host_fill(p, SIZE, 11);
	ft_migrate(ctx, p, SIZE, FERRY_LOC_DEVICE);

	ft_step("migrate a sub-range of region 0 to the host");
	ft_migrate(ctx, p + 3 * block, 2 * block, FERRY_LOC_HOST);
	ft_assert_resident(ctx, p + 3 * block, 2 * block, FERRY_RES_HOST);
	ft_assert_dev_pattern(ctx, p, FT_REGION, 11);
	ft_assert_host_pattern(p + 3 * block, 2 * block, 11);

	ft_step("discard a sub-range of region 1 (to the host: untouched)");
	ft_assert_ok(ferry_migrate(ctx, p + FT_REGION + block, block, FERRY_LOC_HOST,
				   FERRY_MIGRATE_DISCARD, NULL));
	ft_assert_resident(ctx, p + FT_REGION + block, block, FERRY_RES_UNTOUCHED);
	ft_assert_dev_zero(ctx, p + FT_REGION + block, block);
	ft_assert_dev_pattern(ctx, p + FT_REGION, block, 11);
	ft_assert_dev_pattern(ctx, p + FT_REGION + 2 * block, FT_REGION - 2 * block, 11);

	ft_step("discard region 2 whole to the device: zeros there, still whole");
	uint64_t w0 = whole_regions(ctx);

	ft_assert_ok(ferry_migrate(ctx, p + 2 * FT_REGION, FT_REGION, FERRY_LOC_DEVICE,
				   FERRY_MIGRATE_DISCARD, NULL));
	ft_assert_dev_zero(ctx, p + 2 * FT_REGION, FT_REGION);
	ft_assert_u64_eq(whole_regions(ctx), w0);

	ft_step("read-mostly advice on region 3, back to the host, read by the device");
	ft_assert_ok(ferry_set_attr(ctx, p + 3 * FT_REGION, FT_REGION, FERRY_ATTR_READ_MOSTLY, 1));
	ft_migrate(ctx, p + 3 * FT_REGION, FT_REGION, FERRY_LOC_HOST);
	ft_assert_dev_pattern(ctx, p + 3 * FT_REGION, FT_REGION, 11);
	ft_assert_host_pattern(p + 3 * FT_REGION, FT_REGION, 11);

	ft_step("everything home");
	ft_migrate(ctx, p, SIZE, FERRY_LOC_HOST);
	ft_assert_host_pattern(p, FT_REGION, 11);
	ft_assert_host_pattern(p + FT_REGION, block, 11);
	if (ft_host_nonzero(p + FT_REGION + block, block))
		fail_msg("the discarded block of region 1 is not zero on the host");
	ft_assert_host_pattern(p + FT_REGION + 2 * block, FT_REGION - 2 * block, 11);
	if (ft_host_nonzero(p + 2 * FT_REGION, FT_REGION))
		fail_msg("region 2, discarded to the device, is not zero on the host");
	ft_assert_host_pattern(p + 3 * FT_REGION, FT_REGION, 11);
	ft_close(ctx);
}

/*
 * Eviction takes whole regions back: a stream twice the device's capacity
 * through whole-region prefetches keeps every byte and the capacity.
 */
static void test_eviction(void **state)
{
	const uint64_t devmem = 4 * FT_REGION, size = 2 * devmem;
	struct ferry_counters c;
	struct ferry_ctx *ctx;
	uint8_t *p;

	(void)state;
	ctx = open_whole(devmem, __func__);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, 13);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t off = 0; off < size; off += FT_REGION) {
			ft_migrate(ctx, p + off, FT_REGION, FERRY_LOC_DEVICE);
			ft_assert_ok(ferry_dev_fill(ctx, p + off, FT_PAGE, 17 + pass));
		}
	ft_counters(ctx, &c);
	if (c.evictions == 0)
		fail_msg("no eviction while streaming twice the capacity");
	if (c.device_peak_pages > c.device_capacity_pages)
		fail_msg("peak residency %llu pages > capacity %llu",
			 (unsigned long long)c.device_peak_pages,
			 (unsigned long long)c.device_capacity_pages);
	for (uint64_t off = 0; off < size; off += FT_REGION) {
		ft_assert_host_pattern(p + off, FT_PAGE, 18);
		ft_assert_host_pattern(p + off + FT_PAGE, FT_REGION - FT_PAGE, 13);
	}
	ft_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefetch_whole),
		cmocka_unit_test(test_host_touch_splits),
		cmocka_unit_test(test_partial_operations),
		cmocka_unit_test(test_eviction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
