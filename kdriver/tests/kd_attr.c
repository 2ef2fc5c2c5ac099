// SPDX-License-Identifier: MIT
/*
 * kd_attr - range attributes: what SET_ATTR stores, what GET_ATTR reports,
 * and what the block size and the advice change.
 *
 *   roundtrip           every type: GET returns what SET stored
 *   mixed               a per-range attribute set on part of the range reads
 *                       FERRY_ATTR_MIXED over the whole; BLOCK_SIZE and
 *                       PREFETCH are VA-space wide whatever the range
 *   block_host_fault    BLOCK_SIZE 4 KiB / 16 KiB / 2 MiB: one host read of a
 *                       device page brings back exactly that many bytes
 *   block_device_fault  the same for a device touch of host pages
 *   prefetch            (FERRY_FEATURE_PREFETCHER) device touches of 3/4 of a
 *                       region's blocks move the whole region; touches of 1/8
 *                       move only those blocks
 *   read_mostly         (FERRY_FEATURE_READ_MOSTLY) device reads duplicate;
 *                       host reads then do not fault; a device write collapses
 *                       to the device; a host write is seen by the device;
 *                       data exact
 *   block_kb_param      the block_kb module parameter refuses 0, 3, 48, 4096
 *                       and non-numbers (EINVAL, value unchanged); a VA space
 *                       created after block_kb=16 has 16 KiB blocks
 */
#include "kd_common.h"

#include <fcntl.h>

#define WINDOW KD_MIB(4)

struct fixture {
	struct kd_ctx ctx;
	struct ferry_counters before;
	uint64_t features;
};

static int setup_flags(void **state, unsigned int flags)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ferry_version v = {0};

	if (!f || kd_setup(&f->ctx, WINDOW, KD_MIB(8), flags)) {
		free(f);
		return -1;
	}
	if (kd_ioctl(f->ctx.fd, FERRY_IOCTL_VERSION, &v) ||
	    kd_set_attr(f->ctx.fd, f->ctx.base, f->ctx.size, FERRY_ATTR_PREFETCH, 0)) {
		kd_teardown(&f->ctx);
		free(f);
		return -1;
	}
	f->features = v.features;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_flags(state, KD_NO_SERVER);
}

static int setup_dev(void **state)
{
	return setup_flags(state, 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r = f->ctx.server ? kd_server_stop(&f->ctx) : 0;

	kd_teardown(&f->ctx);
	free(f);
	return r ? -1 : 0;
}

static uint64_t counter_delta(struct fixture *f, size_t offset)
{
	struct ferry_counters c;

	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	return *(uint64_t *)((char *)&c + offset) - *(uint64_t *)((char *)&f->before + offset);
}

#define delta(f, field) counter_delta(f, offsetof(struct ferry_counters, field))
#define snap(f) kd_assert_ok(kd_counters((f)->ctx.fd, &(f)->before))

static void roundtrip(void **state)
{
	struct fixture *f = *state;
	const struct {
		uint32_t type;
		uint64_t value;
	} cases[] = {
		{FERRY_ATTR_PREFERRED_LOC, FERRY_LOC_HOST},
		{FERRY_ATTR_PREFERRED_LOC, FERRY_LOC_DEVICE},
		{FERRY_ATTR_PREFERRED_LOC, FERRY_LOC_NONE},
		{FERRY_ATTR_ACCESSED_BY, 1u << FERRY_LOC_DEVICE},
		{FERRY_ATTR_ACCESSED_BY, 1u << FERRY_LOC_HOST},
		{FERRY_ATTR_ACCESSED_BY, (1u << FERRY_LOC_HOST) | (1u << FERRY_LOC_DEVICE)},
		{FERRY_ATTR_ACCESSED_BY, 0},
		{FERRY_ATTR_READ_MOSTLY, 1},
		{FERRY_ATTR_READ_MOSTLY, 0},
		{FERRY_ATTR_BLOCK_SIZE, KD_PAGE},
		{FERRY_ATTR_BLOCK_SIZE, KD_MIB(2)},
		{FERRY_ATTR_BLOCK_SIZE, KD_KIB(64)},
		{FERRY_ATTR_PREFETCH, 1},
		{FERRY_ATTR_PREFETCH, 0},
	};
	size_t i;
	uint64_t v;

	/* Unset per-range attributes read as their defaults. */
	kd_assert_ok(kd_get_attr(f->ctx.fd, f->ctx.base, WINDOW, FERRY_ATTR_PREFERRED_LOC, &v));
	assert_int_equal(v, FERRY_LOC_NONE);
	kd_assert_ok(kd_get_attr(f->ctx.fd, f->ctx.base, WINDOW, FERRY_ATTR_ACCESSED_BY, &v));
	assert_int_equal(v, 0);
	kd_assert_ok(kd_get_attr(f->ctx.fd, f->ctx.base, WINDOW, FERRY_ATTR_READ_MOSTLY, &v));
	assert_int_equal(v, 0);
	for (i = 0; i < KD_ARRAY_SIZE(cases); i++) {
		kd_assert_ok(kd_set_attr(f->ctx.fd, f->ctx.base + KD_REGION, KD_REGION,
					 cases[i].type, cases[i].value));
		v = ~cases[i].value;
		kd_assert_ok(kd_get_attr(f->ctx.fd, f->ctx.base + KD_REGION, KD_REGION,
					 cases[i].type, &v));
		if (v != cases[i].value)
			fail_msg("attribute %u: set %#" PRIx64 ", got %#" PRIx64, cases[i].type,
				 cases[i].value, v);
	}
}

static void mixed(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	uint64_t v;

	kd_assert_ok(
		kd_set_attr(f->ctx.fd, b, KD_REGION, FERRY_ATTR_PREFERRED_LOC, FERRY_LOC_DEVICE));
	kd_assert_ok(kd_get_attr(f->ctx.fd, b, WINDOW, FERRY_ATTR_PREFERRED_LOC, &v));
	assert_int_equal(v, FERRY_ATTR_MIXED);
	kd_assert_ok(kd_get_attr(f->ctx.fd, b, KD_REGION, FERRY_ATTR_PREFERRED_LOC, &v));
	assert_int_equal(v, FERRY_LOC_DEVICE);
	kd_assert_ok(
		kd_get_attr(f->ctx.fd, b + KD_REGION, KD_REGION, FERRY_ATTR_PREFERRED_LOC, &v));
	assert_int_equal(v, FERRY_LOC_NONE);
	/* Two pages straddling the boundary. */
	kd_assert_ok(kd_get_attr(f->ctx.fd, b + KD_REGION - KD_PAGE, 2 * KD_PAGE,
				 FERRY_ATTR_PREFERRED_LOC, &v));
	assert_int_equal(v, FERRY_ATTR_MIXED);

	/* A single page inside a range with another value. */
	kd_assert_ok(kd_set_attr(f->ctx.fd, b + 5 * KD_PAGE, KD_PAGE, FERRY_ATTR_ACCESSED_BY,
				 1u << FERRY_LOC_DEVICE));
	kd_assert_ok(kd_get_attr(f->ctx.fd, b, KD_REGION, FERRY_ATTR_ACCESSED_BY, &v));
	assert_int_equal(v, FERRY_ATTR_MIXED);
	kd_assert_ok(kd_get_attr(f->ctx.fd, b + 5 * KD_PAGE, KD_PAGE, FERRY_ATTR_ACCESSED_BY, &v));
	assert_int_equal(v, 1u << FERRY_LOC_DEVICE);

	/* VA-space wide: set through one range, read through another. */
	kd_assert_ok(kd_set_attr(f->ctx.fd, b, KD_PAGE, FERRY_ATTR_BLOCK_SIZE, KD_KIB(16)));
	kd_assert_ok(
		kd_get_attr(f->ctx.fd, b + WINDOW - KD_PAGE, KD_PAGE, FERRY_ATTR_BLOCK_SIZE, &v));
	assert_int_equal(v, KD_KIB(16));
	kd_assert_ok(kd_set_attr(f->ctx.fd, b + KD_REGION, KD_PAGE, FERRY_ATTR_PREFETCH, 1));
	kd_assert_ok(kd_get_attr(f->ctx.fd, b, WINDOW, FERRY_ATTR_PREFETCH, &v));
	assert_int_equal(v, 1);
}

static void block_host_fault(void **state)
{
	static const size_t sizes[] = {KD_PAGE, KD_KIB(16), KD_MIB(2)};
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t i;

	for (i = 0; i < KD_ARRAY_SIZE(sizes); i++) {
		size_t bs = sizes[i], page = 37, first = page * KD_PAGE / bs * bs;
		uint64_t *w = (uint64_t *)(b + page * KD_PAGE);

		kd_assert_ok(kd_set_attr(f->ctx.fd, b, WINDOW, FERRY_ATTR_BLOCK_SIZE, bs));
		kd_fill_pattern(b, KD_REGION, 20 + i);
		kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
		snap(f);
		assert_int_equal(*w, kd_pattern_word((uintptr_t)w, 20 + i));
		assert_int_equal(delta(f, pages_to_host), bs / KD_PAGE);
		if (first)
			kd_assert_residency(f->ctx.fd, b, first, FERRY_RES_DEVICE);
		kd_assert_residency(f->ctx.fd, b + first, bs, FERRY_RES_HOST);
		if (first + bs < KD_REGION)
			kd_assert_residency(f->ctx.fd, b + first + bs, KD_REGION - first - bs,
					    FERRY_RES_DEVICE);
		kd_assert_host_check(b, KD_REGION, 20 + i);
	}
}

static void block_device_fault(void **state)
{
	static const size_t sizes[] = {KD_PAGE, KD_KIB(16), KD_MIB(2)};
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t i;

	for (i = 0; i < KD_ARRAY_SIZE(sizes); i++) {
		size_t bs = sizes[i], page = 37, first = page * KD_PAGE / bs * bs;

		kd_assert_ok(kd_set_attr(f->ctx.fd, b, WINDOW, FERRY_ATTR_BLOCK_SIZE, bs));
		kd_fill_pattern(b, KD_REGION, 30 + i);
		kd_assert_residency(f->ctx.fd, b, KD_REGION, FERRY_RES_HOST);
		snap(f);
		kd_assert_dev(&f->ctx, kd_dev_touch(&f->ctx, b + page * KD_PAGE, KD_PAGE, false));
		assert_int_equal(delta(f, pages_to_device), bs / KD_PAGE);
		if (first)
			kd_assert_residency(f->ctx.fd, b, first, FERRY_RES_HOST);
		kd_assert_residency(f->ctx.fd, b + first, bs, FERRY_RES_DEVICE);
		if (first + bs < KD_REGION)
			kd_assert_residency(f->ctx.fd, b + first + bs, KD_REGION - first - bs,
					    FERRY_RES_HOST);
		kd_assert_dev_check(&f->ctx, b, KD_REGION, 30 + i);
		kd_assert_host_check(b, KD_REGION, 30 + i);
	}
}

static void prefetch(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base, *r1 = b + KD_REGION;
	size_t blk, nblk = KD_REGION / KD_BLOCK;

	if (!(f->features & FERRY_FEATURE_PREFETCHER)) {
		print_message("FERRY_FEATURE_PREFETCHER not reported: skipped\n");
		skip();
	}
	kd_assert_ok(kd_set_attr(f->ctx.fd, b, WINDOW, FERRY_ATTR_PREFETCH, 1));
	kd_fill_pattern(b, 2 * KD_REGION, 40);

	/* Sparse: 1/8 of the blocks of region 0, every eighth: only those move. */
	for (blk = 0; blk < nblk; blk += 8)
		kd_assert_dev(&f->ctx, kd_dev_touch(&f->ctx, b + blk * KD_BLOCK, KD_PAGE, false));
	for (blk = 0; blk < nblk; blk++)
		kd_assert_residency(f->ctx.fd, b + blk * KD_BLOCK, KD_BLOCK,
				    blk % 8 ? FERRY_RES_HOST : FERRY_RES_DEVICE);

	/* Dense: 3/4 of region 1 in order: the whole region ends up on the device. */
	snap(f);
	for (blk = 0; blk < nblk * 3 / 4; blk++)
		kd_assert_dev(&f->ctx, kd_dev_touch(&f->ctx, r1 + blk * KD_BLOCK, KD_PAGE, false));
	kd_assert_residency(f->ctx.fd, r1, KD_REGION, FERRY_RES_DEVICE);
	assert_true(delta(f, pages_prefetched) > 0);
	kd_assert_dev_check(&f->ctx, b, 2 * KD_REGION, 40);
	kd_assert_host_check(b, 2 * KD_REGION, 40);
}

static void read_mostly(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);
	uint64_t *hw = (uint64_t *)(b + 3 * KD_BLOCK + 64);
	uint8_t res = 0xff;

	if (!(f->features & FERRY_FEATURE_READ_MOSTLY)) {
		print_message("FERRY_FEATURE_READ_MOSTLY not reported: skipped\n");
		skip();
	}
	kd_assert_ok(kd_set_attr(f->ctx.fd, b, n, FERRY_ATTR_READ_MOSTLY, 1));
	kd_fill_pattern(b, n, 41);
	kd_assert_dev_check(&f->ctx, b, n, 41);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DUPLICATED);
	snap(f);
	kd_assert_host_check(b, n, 41);
	assert_int_equal(delta(f, faults_host), 0);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DUPLICATED);

	/* A device write collapses its block to the device. */
	kd_assert_dev(&f->ctx, kd_dev_fill(&f->ctx, b + KD_BLOCK, KD_PAGE, 0x77));
	kd_assert_residency(f->ctx.fd, b + KD_BLOCK, KD_PAGE, FERRY_RES_DEVICE);
	assert_int_equal(kd_check_bytes(b + KD_BLOCK, KD_PAGE, 0x77), -1);
	/*
	 * A host write: the device sees it next. (The user backend collapses
	 * the block to the host; the kernel backend's duplicate is the host
	 * page itself, mapped read-only into the device view, and may stay
	 * reported as duplicated.)
	 */
	*hw = 0x4242;
	kd_assert_ok(kd_residency(f->ctx.fd, b + 3 * KD_BLOCK, KD_PAGE, &res, NULL));
	assert_true(res == FERRY_RES_HOST || res == FERRY_RES_DUPLICATED);
	kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, hw, 8));
	assert_int_equal(*(uint64_t *)f->ctx.staging, 0x4242);
	*hw = kd_pattern_word((uintptr_t)hw, 41);
	kd_assert_host_check(b, KD_BLOCK, 41);
	kd_assert_host_check(b + KD_BLOCK + KD_PAGE, n - KD_BLOCK - KD_PAGE, 41);
	kd_assert_dev_check(&f->ctx, b + 2 * KD_BLOCK, n - 2 * KD_BLOCK, 41);
}

/* Write @val to the module parameter @name: 0 or -errno. */
static int write_param(const char *name, const char *val)
{
	char path[128];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/sys/module/ferry/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static unsigned long read_param(const char *name)
{
	char path[128], buf[32] = {0};
	int fd;

	snprintf(path, sizeof(path), "/sys/module/ferry/parameters/%s", name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	return strtoul(buf, NULL, 0);
}

/*
 * The block_kb parameter refuses what no VA space could use, and a new VA
 * space takes the block it names.
 */
static void block_kb_param(void **state)
{
	static const char *const bad[] = {"0", "3", "48", "4096", "x", "-64"};
	struct kd_ctx ctx;
	uint64_t bs = 0;
	unsigned long old = read_param("block_kb");
	char buf[32];

	(void)state;
	for (size_t i = 0; i < KD_ARRAY_SIZE(bad); i++) {
		kd_assert_rc(write_param("block_kb", bad[i]), -EINVAL);
		assert_int_equal(read_param("block_kb"), old);
	}
	kd_assert_ok(write_param("block_kb", "16"));
	assert_int_equal(read_param("block_kb"), 16);
	if (kd_setup(&ctx, WINDOW, KD_MIB(8), KD_NO_SERVER))
		fail_msg("kd_setup failed");
	kd_assert_ok(kd_get_attr(ctx.fd, ctx.base, KD_PAGE, FERRY_ATTR_BLOCK_SIZE, &bs));
	assert_int_equal(bs, KD_KIB(16));
	kd_teardown(&ctx);
	snprintf(buf, sizeof(buf), "%lu", old);
	kd_assert_ok(write_param("block_kb", buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(block_host_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(block_device_fault, setup_dev, teardown),
		cmocka_unit_test_setup_teardown(prefetch, setup_dev, teardown),
		cmocka_unit_test_setup_teardown(read_mostly, setup_dev, teardown),
		cmocka_unit_test(block_kb_param),
	};

	return cmocka_run_group_tests_name("kd_attr", tests, NULL, NULL);
}
