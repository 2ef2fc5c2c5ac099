// SPDX-License-Identifier: MIT
/*
 * kd_errors - the error codes of every driver-interface command of ferry.ko,
 * and that a refused call changes nothing.
 *
 *   no_vaspace          every command but VERSION/CREATE on a file without a
 *                       VA space: EINVAL (MAP_DEVICE_VIEW: ENOENT)
 *   no_window           range commands with a VA space but no window:
 *                       ERANGE (nothing is inside) or EINVAL
 *   ranges              MIGRATE (both targets), SET_ATTR, GET_ATTR, RESIDENCY
 *                       over misaligned / zero ranges: EINVAL; partly or
 *                       wholly outside the window, wrapping: ERANGE; the
 *                       whole window: 0
 *   migrate_fields      target NONE/3/~0, unknown flags, reserved: EINVAL;
 *                       the data and residency are unchanged
 *   wait_fields         reserved: EINVAL; a completed fence waits with status
 *                       0, twice
 *   async_readonly_arg  an asynchronous MIGRATE whose argument is read-only:
 *                       EFAULT, and no fence was issued (the next is +1)
 *   attr_fields         nattrs 0 / > FERRY_MAX_ATTRS, unknown type, reserved
 *                       fields, out-of-domain values, bad BLOCK_SIZEs:
 *                       EINVAL; NULL attrs: EFAULT; a rejected call applies
 *                       nothing; FERRY_MAX_ATTRS attributes at once work
 *   residency_fields    reserved: EINVAL; out NULL: counts only; out
 *                       unwritable: EFAULT
 *   bad_pointers        every command with a NULL or kernel argument: EFAULT
 *   unknown_commands    'F' numbers past 0x09 and known numbers with the
 *                       wrong size or direction: ENOTTY
 *   view_errors         MAP_DEVICE_VIEW from the host (same mm): EINVAL; from
 *                       another process: wrong id ENOENT, a fresh open with
 *                       the right id ENOENT, wrong base / zero size /
 *                       reserved EINVAL, right: 0; mmap of the view at
 *                       another address: EINVAL, at the base: works
 */
#include "kd_common.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#define WINDOW KD_MIB(4)

static int setup(void **state)
{
	struct kd_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx || kd_setup(ctx, WINDOW, KD_MIB(8), KD_NO_SERVER)) {
		free(ctx);
		return -1;
	}
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	kd_teardown(*state);
	free(*state);
	return 0;
}

static void no_vaspace(void **state)
{
	struct ferry_counters c;
	char *base = ((struct kd_ctx *)*state)->base;
	uint64_t v;
	int fd = kd_open_node();

	assert_true(fd >= 0);
	kd_assert_rc(kd_register_window(fd, base, WINDOW), -EINVAL);
	kd_assert_rc(kd_migrate(fd, base, KD_PAGE, FERRY_LOC_DEVICE, 0, NULL), -EINVAL);
	kd_assert_rc(kd_migrate(fd, base, KD_PAGE, FERRY_LOC_HOST, 0, NULL), -EINVAL);
	kd_assert_rc(kd_wait(fd, 1, 1000, NULL), -EINVAL);
	kd_assert_rc(kd_set_attr(fd, base, KD_PAGE, FERRY_ATTR_BLOCK_SIZE, KD_PAGE), -EINVAL);
	kd_assert_rc(kd_get_attr(fd, base, KD_PAGE, FERRY_ATTR_BLOCK_SIZE, &v), -EINVAL);
	kd_assert_rc(kd_residency(fd, base, KD_PAGE, NULL, NULL), -EINVAL);
	kd_assert_rc(kd_counters(fd, &c), -EINVAL);
	kd_assert_rc(kd_map_view(fd, ((struct kd_ctx *)*state)->id, base, WINDOW, NULL), -ENOENT);
	close(fd);
}

static void no_window(void **state)
{
	char *base = ((struct kd_ctx *)*state)->base;
	struct ferry_counters c;
	uint64_t v;
	int fd = kd_open_node(), r;

	assert_true(fd >= 0);
	kd_assert_ok(kd_create_vaspace(fd, KD_MIB(2), NULL));
	kd_assert_ok(kd_counters(fd, &c));
	r = kd_migrate(fd, base, KD_PAGE, FERRY_LOC_DEVICE, 0, NULL);
	assert_true(r == -ERANGE || r == -EINVAL);
	r = kd_set_attr(fd, base, KD_PAGE, FERRY_ATTR_PREFERRED_LOC, FERRY_LOC_HOST);
	assert_true(r == -ERANGE || r == -EINVAL);
	r = kd_get_attr(fd, base, KD_PAGE, FERRY_ATTR_PREFERRED_LOC, &v);
	assert_true(r == -ERANGE || r == -EINVAL);
	r = kd_residency(fd, base, KD_PAGE, NULL, NULL);
	assert_true(r == -ERANGE || r == -EINVAL);
	close(fd);
}

/* One range command; returns 0 or -errno. */
static int range_cmd(struct kd_ctx *ctx, int which, uint64_t start, uint64_t size)
{
	struct ferry_attr attr = {.type = FERRY_ATTR_PREFERRED_LOC, .value = FERRY_LOC_NONE};
	struct ferry_attrs attrs = {
		.start = start, .size = size, .attrs = (uintptr_t)&attr, .nattrs = 1};
	struct ferry_migrate m = {.start = start, .size = size};
	struct ferry_residency_query q = {.start = start, .size = size};

	switch (which) {
	case 0:
		m.target = FERRY_LOC_DEVICE;
		return kd_ioctl(ctx->fd, FERRY_IOCTL_MIGRATE, &m);
	case 1:
		m.target = FERRY_LOC_HOST;
		return kd_ioctl(ctx->fd, FERRY_IOCTL_MIGRATE, &m);
	case 2:
		return kd_ioctl(ctx->fd, FERRY_IOCTL_SET_ATTR, &attrs);
	case 3:
		return kd_ioctl(ctx->fd, FERRY_IOCTL_GET_ATTR, &attrs);
	default:
		return kd_ioctl(ctx->fd, FERRY_IOCTL_RESIDENCY, &q);
	}
}

static void ranges(void **state)
{
	static const char *const names[] = {"MIGRATE(device)", "MIGRATE(host)", "SET_ATTR",
					    "GET_ATTR", "RESIDENCY"};
	struct kd_ctx *ctx = *state;
	uint64_t b = (uintptr_t)ctx->base, n = ctx->size, p = KD_PAGE;
	const struct {
		uint64_t start, size;
		int want;
	} cases[] = {
		{b + 1, p, -EINVAL},
		{b + 8, 2 * p, -EINVAL},
		{b, 1, -EINVAL},
		{b, p + 1, -EINVAL},
		{b, p - 1, -EINVAL},
		{b, 0, -EINVAL},
		{b + n - p, 0, -EINVAL},
		{b - p, p, -ERANGE},
		{b - p, 2 * p, -ERANGE},
		{b + n, p, -ERANGE},
		{b + n - p, 2 * p, -ERANGE},
		{b, n + p, -ERANGE},
		{b - KD_REGION, 2 * KD_REGION, -ERANGE},
		{0, p, -ERANGE},
		{p, p, -ERANGE},
		{b, ~(uint64_t)(p - 1), -ERANGE},	      /* wraps */
		{b + n - p, ~(uint64_t)(p - 1) - p, -ERANGE}, /* wraps */
		{0xfffffffffffff000ULL, p, -ERANGE},	      /* kernel */
		{0xffff800000000000ULL, KD_REGION, -ERANGE},  /* kernel */
		{b + p, p, 0},
		{b, n, 0},
	};
	size_t i;
	int which;

	kd_fill_pattern(ctx->base, ctx->size, 11);
	for (which = 0; which < 5; which++) {
		for (i = 0; i < KD_ARRAY_SIZE(cases); i++) {
			int r = range_cmd(ctx, which, cases[i].start, cases[i].size);

			if (r != cases[i].want)
				fail_msg("%s [window%+" PRId64 ", +%#" PRIx64 "): %s, expected %s",
					 names[which], (int64_t)(cases[i].start - b), cases[i].size,
					 kd_errname(r), kd_errname(cases[i].want));
		}
	}
	/* The valid calls moved the window to the device and back: intact. */
	kd_assert_host_check(ctx->base, ctx->size, 11);
}

static void migrate_fields(void **state)
{
	struct kd_ctx *ctx = *state;
	const struct {
		uint32_t target, flags;
		uint64_t reserved;
	} cases[] = {
		{FERRY_LOC_NONE, 0, 0},
		{3, 0, 0},
		{0xffffffffu, 0, 0},
		{FERRY_LOC_DEVICE, 1u << 2, 0},
		{FERRY_LOC_DEVICE, 1u << 31, 0},
		{FERRY_LOC_DEVICE, FERRY_MIGRATE_DISCARD | (1u << 5), 0},
		{FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD | (1u << 3), 0},
		{FERRY_LOC_DEVICE, 0, 1},
		{FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD, 1ULL << 63},
		{FERRY_LOC_NONE, FERRY_MIGRATE_DISCARD, 0},
	};
	size_t i;

	kd_fill_pattern(ctx->base, ctx->size, 12);
	for (i = 0; i < KD_ARRAY_SIZE(cases); i++) {
		struct ferry_migrate m = {.start = (uintptr_t)ctx->base,
					  .size = ctx->size,
					  .target = cases[i].target,
					  .flags = cases[i].flags,
					  .reserved = cases[i].reserved};
		int r = kd_ioctl(ctx->fd, FERRY_IOCTL_MIGRATE, &m);

		if (r != -EINVAL)
			fail_msg("MIGRATE target %#x flags %#x reserved %#" PRIx64 ": %s, expected "
				 "EINVAL",
				 cases[i].target, cases[i].flags, cases[i].reserved, kd_errname(r));
	}
	kd_assert_residency(ctx->fd, ctx->base, ctx->size, FERRY_RES_HOST);
	kd_assert_host_check(ctx->base, ctx->size, 12);
}

static void wait_fields(void **state)
{
	struct kd_ctx *ctx = *state;
	struct ferry_wait w;
	uint64_t fence = 0;
	int32_t st = -1;

	kd_fill_pattern(ctx->base, KD_MIB(1), 13);
	kd_assert_ok(kd_migrate(ctx->fd, ctx->base, KD_MIB(1), FERRY_LOC_DEVICE,
				FERRY_MIGRATE_ASYNC, &fence));
	memset(&w, 0, sizeof(w));
	w.fence = fence;
	w.reserved = 1;
	kd_assert_rc(kd_ioctl(ctx->fd, FERRY_IOCTL_WAIT, &w), -EINVAL);
	kd_assert_ok(kd_wait(ctx->fd, fence, 0, &st));
	assert_int_equal(st, 0);
	st = -1;
	kd_assert_ok(kd_wait(ctx->fd, fence, 0, &st));
	assert_int_equal(st, 0);
	kd_assert_residency(ctx->fd, ctx->base, KD_MIB(1), FERRY_RES_DEVICE);
	kd_assert_host_check(ctx->base, KD_MIB(1), 13);
}

/* An asynchronous MIGRATE whose argument cannot take the fence is refused before it is queued. */
static void async_readonly_arg(void **state)
{
	struct kd_ctx *ctx = *state;
	struct ferry_migrate *m;
	uint64_t f1 = 0, f2 = 0;
	int32_t st = -1;

	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	kd_fill_pattern(ctx->base, KD_MIB(1), 14);
	kd_assert_ok(kd_migrate(ctx->fd, ctx->base, KD_MIB(1), FERRY_LOC_DEVICE,
				FERRY_MIGRATE_ASYNC, &f1));
	*m = (struct ferry_migrate){.start = (uintptr_t)ctx->base,
				    .size = KD_MIB(1),
				    .target = FERRY_LOC_HOST,
				    .flags = FERRY_MIGRATE_ASYNC};
	assert_int_equal(mprotect(m, 4096, PROT_READ), 0);
	kd_assert_rc(kd_ioctl(ctx->fd, FERRY_IOCTL_MIGRATE, m), -EFAULT);
	/* no fence was used up, and the pages stayed where the first one put them */
	kd_assert_ok(kd_migrate(ctx->fd, ctx->base, KD_MIB(1), FERRY_LOC_DEVICE,
				FERRY_MIGRATE_ASYNC, &f2));
	assert_int_equal(f2, f1 + 1);
	kd_assert_ok(kd_wait(ctx->fd, f2, 0, &st));
	assert_int_equal(st, 0);
	kd_assert_residency(ctx->fd, ctx->base, KD_MIB(1), FERRY_RES_DEVICE);
	kd_assert_host_check(ctx->base, KD_MIB(1), 14);
	munmap(m, 4096);
}

static int set_attrs(struct kd_ctx *ctx, const struct ferry_attr *a, uint32_t n, uint32_t reserved)
{
	struct ferry_attrs attrs = {.start = (uintptr_t)ctx->base,
				    .size = ctx->size,
				    .attrs = (uintptr_t)a,
				    .nattrs = n,
				    .reserved = reserved};

	return kd_ioctl(ctx->fd, FERRY_IOCTL_SET_ATTR, &attrs);
}

static int get_attrs(struct kd_ctx *ctx, struct ferry_attr *a, uint32_t n)
{
	struct ferry_attrs attrs = {.start = (uintptr_t)ctx->base,
				    .size = ctx->size,
				    .attrs = (uintptr_t)a,
				    .nattrs = n};

	return kd_ioctl(ctx->fd, FERRY_IOCTL_GET_ATTR, &attrs);
}

static void attr_fields(void **state)
{
	struct kd_ctx *ctx = *state;
	struct ferry_attr many[FERRY_MAX_ATTRS + 1], one = {.type = FERRY_ATTR_BLOCK_SIZE};
	const struct {
		uint32_t type;
		uint64_t value;
	} bad[] = {
		{0, 0},
		{6, 0},
		{0xffff, 1},
		{FERRY_ATTR_BLOCK_SIZE, 0},
		{FERRY_ATTR_BLOCK_SIZE, 1},
		{FERRY_ATTR_BLOCK_SIZE, 2048},
		{FERRY_ATTR_BLOCK_SIZE, 3 * KD_PAGE},
		{FERRY_ATTR_BLOCK_SIZE, KD_KIB(64) + KD_PAGE},
		{FERRY_ATTR_BLOCK_SIZE, KD_MIB(4)},
		{FERRY_ATTR_BLOCK_SIZE, 1ULL << 40},
		{FERRY_ATTR_PREFERRED_LOC, 3},
		{FERRY_ATTR_PREFERRED_LOC, ~0ULL},
		{FERRY_ATTR_ACCESSED_BY, 1u << 3},
		{FERRY_ATTR_ACCESSED_BY, 1ULL << 63},
		{FERRY_ATTR_READ_MOSTLY, 2},
		{FERRY_ATTR_PREFETCH, 2},
	};
	static const uint64_t good_bs[] = {KD_PAGE, 2 * KD_PAGE, KD_KIB(64), KD_KIB(512),
					   KD_MIB(2)};
	uint64_t v;
	size_t i;

	/* The default block size. */
	kd_assert_ok(kd_get_attr(ctx->fd, ctx->base, ctx->size, FERRY_ATTR_BLOCK_SIZE, &v));
	assert_int_equal(v, FERRY_DEFAULT_BLOCK_SIZE);

	for (i = 0; i < KD_ARRAY_SIZE(bad); i++) {
		struct ferry_attr a = {.type = bad[i].type, .value = bad[i].value};
		int r = set_attrs(ctx, &a, 1, 0);

		if (r != -EINVAL)
			fail_msg("SET_ATTR type %u value %#" PRIx64 ": %s, expected EINVAL",
				 bad[i].type, bad[i].value, kd_errname(r));
	}
	for (i = 0; i < KD_ARRAY_SIZE(good_bs); i++) {
		kd_assert_ok(kd_set_attr(ctx->fd, ctx->base, ctx->size, FERRY_ATTR_BLOCK_SIZE,
					 good_bs[i]));
		kd_assert_ok(kd_get_attr(ctx->fd, ctx->base, KD_PAGE, FERRY_ATTR_BLOCK_SIZE, &v));
		assert_int_equal(v, good_bs[i]);
	}
	kd_assert_ok(kd_set_attr(ctx->fd, ctx->base, ctx->size, FERRY_ATTR_BLOCK_SIZE,
				 FERRY_DEFAULT_BLOCK_SIZE));

	/* nattrs, reserved fields, NULL attrs. */
	kd_assert_rc(set_attrs(ctx, &one, 0, 0), -EINVAL);
	kd_assert_rc(get_attrs(ctx, &one, 0), -EINVAL);
	memset(many, 0, sizeof(many));
	for (i = 0; i <= FERRY_MAX_ATTRS; i++) {
		many[i].type = FERRY_ATTR_BLOCK_SIZE;
		many[i].value = KD_KIB(64);
	}
	kd_assert_rc(set_attrs(ctx, many, FERRY_MAX_ATTRS + 1, 0), -EINVAL);
	kd_assert_rc(get_attrs(ctx, many, FERRY_MAX_ATTRS + 1), -EINVAL);
	kd_assert_rc(set_attrs(ctx, many, 0xffffffffu, 0), -EINVAL);
	kd_assert_rc(set_attrs(ctx, &one, 1, 1), -EINVAL);
	one.value = KD_KIB(64);
	one.reserved = 1;
	kd_assert_rc(set_attrs(ctx, &one, 1, 0), -EINVAL);
	kd_assert_rc(get_attrs(ctx, &one, 1), -EINVAL);
	one.reserved = 0;
	kd_assert_rc(set_attrs(ctx, NULL, 1, 0), -EFAULT);
	kd_assert_rc(get_attrs(ctx, NULL, 1), -EFAULT);
	many[0].type = 6;
	kd_assert_rc(get_attrs(ctx, many, 1), -EINVAL);

	/* A call with one bad attribute applies none of them. */
	many[0].type = FERRY_ATTR_BLOCK_SIZE;
	many[0].value = KD_PAGE;
	many[1].type = 99;
	many[1].value = 0;
	kd_assert_rc(set_attrs(ctx, many, 2, 0), -EINVAL);
	many[1].type = FERRY_ATTR_BLOCK_SIZE;
	many[1].value = 3;
	kd_assert_rc(set_attrs(ctx, many, 2, 0), -EINVAL);
	kd_assert_ok(kd_get_attr(ctx->fd, ctx->base, ctx->size, FERRY_ATTR_BLOCK_SIZE, &v));
	assert_int_equal(v, FERRY_DEFAULT_BLOCK_SIZE);

	/* FERRY_MAX_ATTRS at once: the last one wins for the same type. */
	for (i = 0; i < FERRY_MAX_ATTRS; i++) {
		many[i].type = FERRY_ATTR_BLOCK_SIZE;
		many[i].value = KD_PAGE << (i % 10);
	}
	kd_assert_ok(set_attrs(ctx, many, FERRY_MAX_ATTRS, 0));
	kd_assert_ok(get_attrs(ctx, many, FERRY_MAX_ATTRS));
	for (i = 0; i < FERRY_MAX_ATTRS; i++)
		assert_int_equal(many[i].value, KD_PAGE << ((FERRY_MAX_ATTRS - 1) % 10));
	kd_assert_ok(kd_set_attr(ctx->fd, ctx->base, ctx->size, FERRY_ATTR_BLOCK_SIZE,
				 FERRY_DEFAULT_BLOCK_SIZE));
}

static void residency_fields(void **state)
{
	struct kd_ctx *ctx = *state;
	struct ferry_residency_query q;
	uint8_t *ro;

	memset(&q, 0, sizeof(q));
	q.start = (uintptr_t)ctx->base;
	q.size = ctx->size;
	q.reserved = 1;
	kd_assert_rc(kd_ioctl(ctx->fd, FERRY_IOCTL_RESIDENCY, &q), -EINVAL);
	q.reserved = 0;
	kd_assert_ok(kd_ioctl(ctx->fd, FERRY_IOCTL_RESIDENCY, &q));
	assert_int_equal(q.count[0] + q.count[1] + q.count[2] + q.count[3], ctx->size / KD_PAGE);
	q.out = 8;
	kd_assert_rc(kd_ioctl(ctx->fd, FERRY_IOCTL_RESIDENCY, &q), -EFAULT);
	q.out = 0xffff888000000000ULL;
	kd_assert_rc(kd_ioctl(ctx->fd, FERRY_IOCTL_RESIDENCY, &q), -EFAULT);
	ro = mmap(NULL, ctx->size / KD_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	q.out = (uintptr_t)ro;
	kd_assert_rc(kd_ioctl(ctx->fd, FERRY_IOCTL_RESIDENCY, &q), -EFAULT);
	munmap(ro, ctx->size / KD_PAGE);
}

static void bad_pointers(void **state)
{
	static const unsigned long cmds[] = {
		FERRY_IOCTL_VERSION,  FERRY_IOCTL_MIGRATE,	   FERRY_IOCTL_WAIT,
		FERRY_IOCTL_SET_ATTR, FERRY_IOCTL_GET_ATTR,	   FERRY_IOCTL_RESIDENCY,
		FERRY_IOCTL_COUNTERS, FERRY_IOCTL_MAP_DEVICE_VIEW,
	};
	static const uintptr_t ptrs[] = {0, 8, 0xffff888000000000ULL, 0xfffffffffffff000ULL};
	struct kd_ctx *ctx = *state;
	int fresh = kd_open_node(), nowin = kd_open_node();
	size_t i, j;

	assert_true(fresh >= 0 && nowin >= 0);
	kd_assert_ok(kd_create_vaspace(nowin, KD_MIB(2), NULL));
	for (j = 0; j < KD_ARRAY_SIZE(ptrs); j++) {
		void *p = (void *)ptrs[j];

		for (i = 0; i < KD_ARRAY_SIZE(cmds); i++) {
			int r = kd_ioctl(ctx->fd, cmds[i], p);

			if (r != -EFAULT)
				fail_msg("command %#lx with argument %p: %s, expected EFAULT",
					 (unsigned long)_IOC_NR(cmds[i]), p, kd_errname(r));
		}
		/* The calls that would otherwise fail with EBUSY get files of their own. */
		kd_assert_rc(kd_ioctl(fresh, FERRY_IOCTL_CREATE_VASPACE, p), -EFAULT);
		kd_assert_rc(kd_ioctl(nowin, FERRY_IOCTL_REGISTER_WINDOW, p), -EFAULT);
	}
	/* None of them created or registered anything. */
	kd_assert_ok(kd_create_vaspace(fresh, KD_MIB(2), NULL));
	close(fresh);
	close(nowin);
}

static void unknown_commands(void **state)
{
	struct kd_ctx *ctx = *state;
	char buf[256] = {0};
	unsigned int nr;

	for (nr = 0x0a; nr < 0x40; nr++) {
		kd_assert_rc(
			kd_ioctl(ctx->fd, _IOWR(FERRY_IOCTL_BASE, nr, struct ferry_migrate), buf),
			-ENOTTY);
		kd_assert_rc(kd_ioctl(ctx->fd, _IO(FERRY_IOCTL_BASE, nr), buf), -ENOTTY);
	}
	kd_assert_rc(kd_ioctl(ctx->fd, _IOWR(FERRY_IOCTL_BASE, 0xff, char[8]), buf), -ENOTTY);
	/* Known numbers, wrong size or direction. */
	kd_assert_rc(kd_ioctl(ctx->fd, _IOWR(FERRY_IOCTL_BASE, 0x03, char[8]), buf), -ENOTTY);
	kd_assert_rc(kd_ioctl(ctx->fd, _IOWR(FERRY_IOCTL_BASE, 0x03, char[48]), buf), -ENOTTY);
	kd_assert_rc(kd_ioctl(ctx->fd, _IOW(FERRY_IOCTL_BASE, 0x03, struct ferry_migrate), buf),
		     -ENOTTY);
	kd_assert_rc(kd_ioctl(ctx->fd, _IOWR(FERRY_IOCTL_BASE, 0x08, struct ferry_counters), buf),
		     -ENOTTY);
	kd_assert_rc(kd_ioctl(ctx->fd, _IO(FERRY_IOCTL_BASE, 0x00), buf), -ENOTTY);
	kd_assert_rc(kd_ioctl(ctx->fd, _IOWR(FERRY_IOCTL_BASE, 0x09, char[32]), buf), -ENOTTY);
}

/* In another process (not the host's mm): MAP_DEVICE_VIEW and mmap errors. */
static int view_child(void *arg)
{
	struct kd_ctx *ctx = arg;
	struct ferry_map_device_view v;
	uint64_t off = 0;
	char *elsewhere, *p;
	int fresh, r, fails = 0;

#define CHILD_EXPECT(expr, want)                                                                   \
	do {                                                                                       \
		int _r = (expr);                                                                   \
		if (_r != (want)) {                                                                \
			fprintf(stderr, "view_child: %s: %s, expected %s\n", #expr,                \
				kd_errname(_r), kd_errname(want));                                 \
			fails++;                                                                   \
		}                                                                                  \
	} while (0)

	if (munmap(ctx->base, ctx->size))
		return 100;
	CHILD_EXPECT(kd_map_view(ctx->fd, ctx->id + 1, ctx->base, ctx->size, &off), -ENOENT);
	CHILD_EXPECT(kd_map_view(ctx->fd, ctx->id ^ (1ULL << 62), ctx->base, ctx->size, &off),
		     -ENOENT);
	fresh = kd_open_node();
	if (fresh < 0)
		return 101;
	CHILD_EXPECT(kd_map_view(fresh, ctx->id, ctx->base, ctx->size, &off), -ENOENT);
	close(fresh);
	CHILD_EXPECT(
		kd_map_view(ctx->fd, ctx->id, ctx->base + KD_REGION, ctx->size - KD_REGION, &off),
		-EINVAL);
	CHILD_EXPECT(
		kd_map_view(ctx->fd, ctx->id, ctx->base + KD_PAGE, ctx->size - KD_REGION, &off),
		-EINVAL);
	CHILD_EXPECT(kd_map_view(ctx->fd, ctx->id, ctx->base + 1, ctx->size, &off), -EINVAL);
	CHILD_EXPECT(kd_map_view(ctx->fd, ctx->id, ctx->base, 0, &off), -EINVAL);
	memset(&v, 0, sizeof(v));
	v.vaspace = ctx->id;
	v.base = (uintptr_t)ctx->base;
	v.size = ctx->size;
	v.reserved = 1;
	CHILD_EXPECT(kd_ioctl(ctx->fd, FERRY_IOCTL_MAP_DEVICE_VIEW, &v), -EINVAL);
	r = kd_map_view(ctx->fd, ctx->id, ctx->base, ctx->size, &off);
	CHILD_EXPECT(r, 0);
	if (r)
		return 102;

	/* The view maps only at the window's base. */
	elsewhere = mmap(NULL, ctx->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (elsewhere == MAP_FAILED)
		return 103;
	p = mmap(elsewhere, ctx->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ctx->fd,
		 (off_t)off);
	CHILD_EXPECT(p == MAP_FAILED ? -errno : 0, -EINVAL);
	p = mmap(ctx->base, ctx->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ctx->fd,
		 (off_t)off);
	CHILD_EXPECT(p == MAP_FAILED ? -errno : (p == ctx->base ? 0 : -EFAULT), 0);
	if (p == ctx->base && ctx->base[KD_PAGE] != 0x5a) {
		fprintf(stderr, "view_child: the view reads %#x, the host wrote 0x5a\n",
			(unsigned char)ctx->base[KD_PAGE]);
		fails++;
	}
#undef CHILD_EXPECT
	return fails;
}

static void view_errors(void **state)
{
	struct kd_ctx *ctx = *state;
	uint64_t off;

	/* From the host itself: its own mm is not a device. */
	kd_assert_rc(kd_map_view(ctx->fd, ctx->id, ctx->base, ctx->size, &off), -EINVAL);
	memset(ctx->base, 0x5a, 2 * KD_PAGE);
	assert_int_equal(kd_run_child(view_child, ctx, kd_timeout_s()), 0);
	assert_int_equal(ctx->base[KD_PAGE], 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_vaspace, setup, teardown),
		cmocka_unit_test_setup_teardown(no_window, setup, teardown),
		cmocka_unit_test_setup_teardown(ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(migrate_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(wait_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(async_readonly_arg, setup, teardown),
		cmocka_unit_test_setup_teardown(attr_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(residency_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_pointers, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(view_errors, setup, teardown),
	};

	return cmocka_run_group_tests_name("kd_errors", tests, NULL, NULL);
}
