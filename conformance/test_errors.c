/* SPDX-License-Identifier: MIT */
/*
 * test_errors.c - invalid requests fail with the documented errno and change
 * nothing.
 *
 * Rules (ferry_uapi.h): misaligned or zero-sized ranges -EINVAL, ranges
 * outside the window -ERANGE, unknown flags -EINVAL, reserved fields != 0
 * -EINVAL, invalid targets and attribute values -EINVAL. Every test starts
 * from a known state (a pattern, part of it on the device) and checks at the
 * end that the data and the residency are exactly as before.
 */
#include "test_common.h"

#define SIZE (4 * FT_MIB(1))
#define SEED 0xfeedULL

struct fixture {
	struct ferry_ctx *ctx;
	uint8_t *p;    /* SIZE bytes, 2 MiB aligned, pattern SEED */
	uint8_t *base; /* window */
	uint64_t wsize;
	uint8_t *res; /* residency snapshot of p before the test */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint64_t count[4];

	struct ferry_options o;
	int rc;

	assert_non_null(f);
	*state = f;
	/* Not ft_open: CMocka cannot skip from a setup function, the tests skip. */
	ft_default_options(&o);
	ft_guard(FT_HANG_SECONDS, "errors (setup)");
	rc = ferry_open(&o, &f->ctx);
	if (rc == -EPERM) {
		f->ctx = NULL;
		return 0;
	}
	ft_assert_ok(rc);
	f->base = ferry_window_base(f->ctx);
	f->wsize = ferry_window_size(f->ctx);
	f->p = ft_alloc(f->ctx, SIZE, FT_REGION);
	ft_host_fill(f->p, SIZE, SEED);
	/* Middle half on the device. */
	ft_migrate(f->ctx, f->p + SIZE / 4, SIZE / 2, FERRY_LOC_DEVICE);
	f->res = malloc(SIZE / FT_PAGE);
	assert_non_null(f->res);
	ft_residency(f->ctx, f->p, SIZE, f->res, count);
	ft_assert_u64_eq(count[FERRY_RES_DEVICE], SIZE / 2 / FT_PAGE);
	return 0;
}

/* The fixture, or skip when userfaultfd is not permitted. */
static struct fixture *fixture(void **state)
{
	struct fixture *f = *state;

	if (!f->ctx) {
		print_message("userfaultfd not permitted (ferry_open: -EPERM): skipped\n");
		skip();
	}
	return f;
}

/* Nothing moved and nothing changed. */
static void assert_unchanged(struct fixture *f)
{
	uint8_t *now = malloc(SIZE / FT_PAGE);
	uint64_t count[4];
	int same;

	assert_non_null(now);
	ft_residency(f->ctx, f->p, SIZE, now, count);
	same = !memcmp(now, f->res, SIZE / FT_PAGE);
	free(now);
	if (!same)
		fail_msg("a failed request changed the residency of the test buffer");
	ft_assert_dev_pattern(f->ctx, f->p, SIZE, SEED);
	ft_assert_host_pattern(f->p, SIZE, SEED);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		if (f->ctx)
			ft_close(f->ctx);
		free(f->res);
		free(f);
	}
	return 0;
}

/* ferry_migrate: alignment, size, window bounds, flags, target. */
static void test_migrate_args(void **state)
{
	struct fixture *f = fixture(state);
	struct ferry_ctx *ctx = f->ctx;
	uint8_t *p = f->p, *end = f->base + f->wsize;
	uint64_t fence = 0;

	/* Misaligned start, misaligned size, zero size. */
	ft_assert_rc(ferry_migrate(ctx, p + 1, FT_PAGE, FERRY_LOC_DEVICE, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p + 2048, FT_PAGE, FERRY_LOC_HOST, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE + 1, FERRY_LOC_DEVICE, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE - 8, FERRY_LOC_DEVICE, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, 0, FERRY_LOC_DEVICE, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, 0, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, &fence),
		     -EINVAL);

	/* Outside the window: before, at the end, across the end, wrapping. */
	ft_assert_rc(ferry_migrate(ctx, f->base - FT_PAGE, FT_PAGE, FERRY_LOC_DEVICE, 0, NULL),
		     -ERANGE);
	ft_assert_rc(ferry_migrate(ctx, f->base - FT_PAGE, 2 * FT_PAGE, FERRY_LOC_DEVICE, 0, NULL),
		     -ERANGE);
	ft_assert_rc(ferry_migrate(ctx, end, FT_PAGE, FERRY_LOC_DEVICE, 0, NULL), -ERANGE);
	ft_assert_rc(ferry_migrate(ctx, end - FT_PAGE, 2 * FT_PAGE, FERRY_LOC_HOST, 0, NULL),
		     -ERANGE);
	ft_assert_rc(ferry_migrate(ctx, p + FT_PAGE, f->wsize, FERRY_LOC_DEVICE, 0, NULL), -ERANGE);
	ft_assert_rc(ferry_migrate(ctx, f->base, f->wsize + FT_PAGE, FERRY_LOC_DEVICE, 0, NULL),
		     -ERANGE);
	ft_assert_rc(ferry_migrate(ctx, p, ~(FT_PAGE - 1), FERRY_LOC_DEVICE, 0, NULL), -ERANGE);
	ft_assert_rc(
		ferry_migrate(ctx, (void *)(uintptr_t)FT_PAGE, FT_PAGE, FERRY_LOC_HOST, 0, NULL),
		-ERANGE);
	ft_assert_rc(
		ferry_migrate(ctx, end, FT_PAGE, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, &fence),
		-ERANGE);

	/* Unknown flags. */
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, FERRY_LOC_DEVICE, 1U << 2, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, FERRY_LOC_DEVICE, 1U << 31, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, FERRY_LOC_DEVICE,
				   FERRY_MIGRATE_DISCARD | (1U << 7), NULL),
		     -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, FERRY_LOC_DEVICE, ~FERRY_MIGRATE_FLAGS, &fence),
		     -EINVAL);

	/* Bad targets (a discard with a bad target must not drop anything). */
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, FERRY_LOC_NONE, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, 3, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, 0xffffffffu, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, SIZE, 7, FERRY_MIGRATE_DISCARD, NULL), -EINVAL);
	ft_assert_rc(ferry_migrate(ctx, p, SIZE, FERRY_LOC_NONE,
				   FERRY_MIGRATE_DISCARD | FERRY_MIGRATE_ASYNC, &fence),
		     -EINVAL);

	assert_unchanged(f);
}

/* Raw structures through ferry_ioctl: reserved fields must be zero. */
static void test_reserved_fields(void **state)
{
	struct fixture *f = fixture(state);
	struct ferry_ctx *ctx = f->ctx;
	struct ferry_version v;
	struct ferry_migrate m;
	struct ferry_wait w;
	struct ferry_attr a;
	struct ferry_attrs as;
	struct ferry_residency_query q;
	struct ferry_counters c;
	uint64_t fence;

	/* VERSION, correct and with reserved set. */
	memset(&v, 0, sizeof(v));
	ft_assert_ok(ferry_ioctl(ctx, FERRY_IOCTL_VERSION, &v));
	ft_assert_u64_eq(v.major, FERRY_UAPI_VERSION_MAJOR);
	/* the backend FERRY_BACKEND names (auto: the module when it is loaded) */
	if (getenv("FERRY_BACKEND") && strcmp(getenv("FERRY_BACKEND"), "kernel") == 0)
		ft_assert_u64_eq(v.backend, FERRY_BACKEND_KERNEL);
	else if (getenv("FERRY_BACKEND") && strcmp(getenv("FERRY_BACKEND"), "user") == 0)
		ft_assert_u64_eq(v.backend, FERRY_BACKEND_USER);
	else
		assert_true(v.backend == FERRY_BACKEND_USER || v.backend == FERRY_BACKEND_KERNEL);
	memset(&v, 0, sizeof(v));
	v.reserved = 1;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_VERSION, &v), -EINVAL);
	memset(&v, 0, sizeof(v));
	v.reserved2 = 1ULL << 63;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_VERSION, &v), -EINVAL);

	/* MIGRATE: a valid request except for reserved. */
	memset(&m, 0, sizeof(m));
	m.start = (uint64_t)(uintptr_t)f->p;
	m.size = SIZE;
	m.target = FERRY_LOC_DEVICE;
	m.reserved = 1;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_MIGRATE, &m), -EINVAL);
	m.target = FERRY_LOC_HOST;
	m.flags = FERRY_MIGRATE_DISCARD;
	m.reserved = 0x8000;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_MIGRATE, &m), -EINVAL);

	/* WAIT: reserved set (on a real, completed fence). */
	fence = 0;
	ft_assert_ok(
		ferry_migrate(ctx, f->p, FT_PAGE, FERRY_LOC_HOST, FERRY_MIGRATE_ASYNC, &fence));
	ft_assert_ok(ferry_wait(ctx, fence));
	memset(&w, 0, sizeof(w));
	w.fence = fence;
	w.reserved = 1;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_WAIT, &w), -EINVAL);
	w.reserved = 0;
	ft_assert_ok(ferry_ioctl(ctx, FERRY_IOCTL_WAIT, &w));
	assert_int_equal(w.status, 0);

	/* SET_ATTR / GET_ATTR: reserved in the header and in an attribute. */
	memset(&a, 0, sizeof(a));
	a.type = FERRY_ATTR_BLOCK_SIZE;
	a.value = FT_KIB(16);
	memset(&as, 0, sizeof(as));
	as.start = (uint64_t)(uintptr_t)f->p;
	as.size = FT_PAGE;
	as.attrs = (uint64_t)(uintptr_t)&a;
	as.nattrs = 1;
	as.reserved = 1;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_SET_ATTR, &as), -EINVAL);
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_GET_ATTR, &as), -EINVAL);
	as.reserved = 0;
	a.reserved = 1;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_SET_ATTR, &as), -EINVAL);
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_GET_ATTR, &as), -EINVAL);
	/* nattrs out of 1..FERRY_MAX_ATTRS. */
	a.reserved = 0;
	as.nattrs = 0;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_SET_ATTR, &as), -EINVAL);
	as.nattrs = FERRY_MAX_ATTRS + 1;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_SET_ATTR, &as), -EINVAL);

	/* RESIDENCY: reserved set. */
	memset(&q, 0, sizeof(q));
	q.start = (uint64_t)(uintptr_t)f->p;
	q.size = SIZE;
	q.reserved = 1;
	ft_assert_rc(ferry_ioctl(ctx, FERRY_IOCTL_RESIDENCY, &q), -EINVAL);

	/* COUNTERS has no input; it works. */
	memset(&c, 0, sizeof(c));
	ft_assert_ok(ferry_ioctl(ctx, FERRY_IOCTL_COUNTERS, &c));
	ft_assert_u64_eq(c.device_capacity_pages, FT_DEVICE_MEMORY / FT_PAGE);

	/* The rejected SET_ATTR did not change the block size. */
	{
		uint64_t bs = 0;

		ft_assert_ok(ferry_get_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, &bs));
		ft_assert_u64_eq(bs, FERRY_DEFAULT_BLOCK_SIZE);
	}
	assert_unchanged(f);
}

/* Range checks of the other range operations. */
static void test_range_args(void **state)
{
	struct fixture *f = fixture(state);
	struct ferry_ctx *ctx = f->ctx;
	uint8_t *end = f->base + f->wsize, out[4];
	uint64_t count[4], v;

	ft_assert_rc(ferry_query_residency(ctx, f->p + 8, FT_PAGE, out, count), -EINVAL);
	ft_assert_rc(ferry_query_residency(ctx, f->p, FT_PAGE + 8, out, count), -EINVAL);
	ft_assert_rc(ferry_query_residency(ctx, f->p, 0, out, count), -EINVAL);
	ft_assert_rc(ferry_query_residency(ctx, end, FT_PAGE, out, count), -ERANGE);
	ft_assert_rc(ferry_query_residency(ctx, f->base - FT_PAGE, FT_PAGE, out, count), -ERANGE);

	ft_assert_rc(
		ferry_set_attr(ctx, f->p + 16, FT_PAGE, FERRY_ATTR_PREFERRED_LOC, FERRY_LOC_HOST),
		-EINVAL);
	ft_assert_rc(ferry_set_attr(ctx, f->p, 0, FERRY_ATTR_PREFERRED_LOC, FERRY_LOC_HOST),
		     -EINVAL);
	ft_assert_rc(ferry_set_attr(ctx, end - FT_PAGE, 2 * FT_PAGE, FERRY_ATTR_PREFERRED_LOC,
				    FERRY_LOC_HOST),
		     -ERANGE);
	ft_assert_rc(ferry_get_attr(ctx, end, FT_PAGE, FERRY_ATTR_PREFERRED_LOC, &v), -ERANGE);
	ft_assert_rc(ferry_get_attr(ctx, f->p, FT_PAGE - 1, FERRY_ATTR_PREFERRED_LOC, &v), -EINVAL);
	/* VA-space wide attributes still check the range. */
	ft_assert_rc(ferry_set_attr(ctx, end, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, FT_KIB(16)), -ERANGE);
	ft_assert_rc(ferry_set_attr(ctx, f->p + 1, FT_PAGE, FERRY_ATTR_PREFETCH, 0), -EINVAL);

	/* Device work must lie inside the window. */
	ft_assert_rc(ferry_dev_fill(ctx, end, 64, 1), -ERANGE);
	ft_assert_rc(ferry_dev_fill(ctx, end - 32, 64, 1), -ERANGE);
	ft_assert_rc(ferry_dev_check(ctx, f->base - 64, 64, 1), -ERANGE);
	{
		uint8_t buf[64];

		ft_assert_rc(ferry_dev_read(ctx, end - 8, buf, sizeof(buf)), -ERANGE);
		memset(buf, 0x5a, sizeof(buf));
		ft_assert_rc(ferry_dev_write(ctx, f->base - 16, buf, sizeof(buf)), -ERANGE);
	}
	assert_unchanged(f);
}

/* Attribute values: block size power of two in 4 KiB..2 MiB, booleans, locations. */
static void test_attr_values(void **state)
{
	static const uint64_t bad_bs[] = {0,
					  1,
					  512,
					  2048,
					  3 * FT_PAGE,
					  FT_KIB(12),
					  FT_KIB(64) + FT_PAGE,
					  FT_MIB(1) + FT_KIB(512),
					  FT_MIB(4),
					  FT_MIB(1) << 10,
					  ~0ULL};
	struct fixture *f = fixture(state);
	struct ferry_ctx *ctx = f->ctx;
	uint64_t v, i;

	for (i = 0; i < FT_ARRAY_SIZE(bad_bs); i++) {
		int rc = ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, bad_bs[i]);

		if (rc != -EINVAL)
			fail_msg("block size %" PRIu64 ": ferry_set_attr returned %d (%s), "
				 "expected -EINVAL",
				 bad_bs[i], rc, ft_errname(rc));
	}
	ft_assert_rc(ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_PREFETCH, 2), -EINVAL);
	ft_assert_rc(ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_READ_MOSTLY, 2), -EINVAL);
	ft_assert_rc(ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_PREFERRED_LOC, 3), -EINVAL);
	ft_assert_rc(ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_PREFERRED_LOC, ~0ULL), -EINVAL);
	ft_assert_rc(ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_ACCESSED_BY, 1ULL << 3),
		     -EINVAL);
	/* Unknown attribute types. */
	ft_assert_rc(ferry_set_attr(ctx, f->p, FT_PAGE, 0, 0), -EINVAL);
	ft_assert_rc(ferry_set_attr(ctx, f->p, FT_PAGE, 99, 0), -EINVAL);
	ft_assert_rc(ferry_get_attr(ctx, f->p, FT_PAGE, 99, &v), -EINVAL);

	/* The rejected values changed nothing; valid values are accepted and read back. */
	ft_assert_ok(ferry_get_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, &v));
	ft_assert_u64_eq(v, FERRY_DEFAULT_BLOCK_SIZE);
	ft_assert_ok(ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, FT_MIB(2)));
	ft_assert_ok(ferry_get_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, &v));
	ft_assert_u64_eq(v, FT_MIB(2));
	ft_assert_ok(ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, FT_PAGE));
	ft_assert_ok(ferry_get_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, &v));
	ft_assert_u64_eq(v, FT_PAGE);
	ft_assert_ok(ferry_set_attr(ctx, f->p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE,
				    FERRY_DEFAULT_BLOCK_SIZE));
	assert_unchanged(f);
}

/* Unknown ioctl numbers and mis-sized commands. */
static void test_unknown_ioctl(void **state)
{
	static const unsigned long bad[] = {
		_IOWR(FERRY_IOCTL_BASE, 0x7f, struct ferry_version),
		_IOWR(FERRY_IOCTL_BASE, 0x0a, struct ferry_version),
		_IOWR('G', 0x00, struct ferry_version),
		/* MIGRATE and COUNTERS with the wrong argument size. */
		_IOC(_IOC_READ | _IOC_WRITE, FERRY_IOCTL_BASE, 0x03, 8),
		_IOC(_IOC_READ, FERRY_IOCTL_BASE, 0x08, 16),
		0,
		~0UL,
	};
	struct fixture *f = fixture(state);
	uint64_t buf[64];
	unsigned int i;

	for (i = 0; i < FT_ARRAY_SIZE(bad); i++) {
		int rc;

		memset(buf, 0, sizeof(buf));
		rc = ferry_ioctl(f->ctx, bad[i], buf);
		/* Not documented: a kernel driver answers ENOTTY (DRM: EINVAL). */
		if (rc != -ENOTTY && rc != -EINVAL)
			fail_msg("ferry_ioctl(%#lx) returned %d (%s), expected -ENOTTY or -EINVAL",
				 bad[i], rc, ft_errname(rc));
	}
	assert_unchanged(f);
}

/* NULL where a check is possible. */
static void test_null_args(void **state)
{
	struct fixture *f = fixture(state);
	struct ferry_ctx *ctx = f->ctx;
	struct ferry_counters c;
	struct ferry_options o;
	struct ferry_dev_work w;
	uint64_t count[4], v, fence;
	uint8_t out[1];

	ferry_close(NULL);
	ft_default_options(&o);
	ft_assert_rc(ferry_open(&o, NULL), -EINVAL);

	ft_assert_rc(ferry_ioctl(NULL, FERRY_IOCTL_COUNTERS, &c), -EINVAL);
	ft_assert_rc(ferry_migrate(NULL, f->p, FT_PAGE, FERRY_LOC_HOST, 0, NULL), -EINVAL);
	ft_assert_rc(ferry_wait(NULL, 1), -EINVAL);
	ft_assert_rc(ferry_query_residency(NULL, f->p, FT_PAGE, out, count), -EINVAL);
	ft_assert_rc(ferry_counters(NULL, &c), -EINVAL);
	ft_assert_rc(ferry_set_attr(NULL, f->p, FT_PAGE, FERRY_ATTR_PREFETCH, 0), -EINVAL);
	ft_assert_rc(ferry_get_attr(NULL, f->p, FT_PAGE, FERRY_ATTR_PREFETCH, &v), -EINVAL);
	ft_assert_rc(ferry_dev_fill(NULL, f->p, 64, 1), -EINVAL);
	ft_assert_rc(ferry_dev_check(NULL, f->p, 64, 1), -EINVAL);
	ft_assert_rc(ferry_dev_read(NULL, f->p, out, 1), -EINVAL);
	ft_assert_rc(ferry_dev_write(NULL, f->p, out, 1), -EINVAL);
	memset(&w, 0, sizeof(w));
	w.op = FERRY_DEV_TOUCH;
	w.addr = (uint64_t)(uintptr_t)f->p;
	w.size = FT_PAGE;
	w.stride = FT_PAGE;
	ft_assert_rc(ferry_device_work(NULL, &w, NULL), -EINVAL);
	ft_assert_rc(ferry_device_work(ctx, NULL, NULL), -EINVAL);
	assert_null(ferry_alloc(NULL, FT_PAGE, 0));
	ft_assert_rc(ferry_free(NULL, f->p), -EINVAL);
	assert_non_null(ferry_strerror(-EINVAL));
	assert_non_null(ferry_strerror(-ENODEV));
	assert_non_null(ferry_strerror(-ERANGE));
	assert_non_null(ferry_strerror(-EPERM));
	assert_non_null(ferry_strerror(-99999));

	/* NULL argument structures (EFAULT from a kernel, EINVAL is fine too). */
	{
		int rc = ferry_ioctl(ctx, FERRY_IOCTL_COUNTERS, NULL);

		if (rc != -EINVAL && rc != -EFAULT)
			fail_msg("ferry_ioctl(COUNTERS, NULL) returned %d (%s)", rc,
				 ft_errname(rc));
		rc = ferry_counters(ctx, NULL);
		if (rc != -EINVAL && rc != -EFAULT)
			fail_msg("ferry_counters(ctx, NULL) returned %d (%s)", rc, ft_errname(rc));
		rc = ferry_migrate(ctx, f->p, FT_PAGE, FERRY_LOC_HOST, FERRY_MIGRATE_ASYNC, NULL);
		/* An async migration needs somewhere to put its fence. */
		if (rc != -EINVAL && rc != -EFAULT && rc != 0)
			fail_msg("ferry_migrate(ASYNC, fence NULL) returned %d (%s)", rc,
				 ft_errname(rc));
		fence = 0;
		ft_assert_ok(ferry_migrate(ctx, f->p, FT_PAGE, FERRY_LOC_HOST, FERRY_MIGRATE_ASYNC,
					   &fence));
		ft_assert_ok(ferry_wait(ctx, fence));
	}
	assert_unchanged(f);
}

/* Device work with invalid parameters. */
static void test_devwork_args(void **state)
{
	struct fixture *f = fixture(state);
	struct ferry_dev_work w;

	memset(&w, 0, sizeof(w));
	w.addr = (uint64_t)(uintptr_t)f->p;
	w.size = FT_PAGE;
	w.stride = FT_PAGE;
	w.repeat = 1;
	w.op = 0;
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -EINVAL);
	w.op = 99;
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -EINVAL);
	/* INC / TOUCH stride: >= 8 and a multiple of 8. */
	w.op = FERRY_DEV_INC;
	w.stride = 12;
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -EINVAL);
	w.stride = 0;
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -EINVAL);
	w.stride = 4;
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -EINVAL);
	w.op = FERRY_DEV_TOUCH;
	w.stride = 0;
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -EINVAL);
	/* READ and WRITE need a buffer. */
	w.op = FERRY_DEV_READ;
	w.stride = 0;
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -EINVAL);
	w.op = FERRY_DEV_WRITE;
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -EINVAL);
	/* Out of the window. */
	w.op = FERRY_DEV_TOUCH;
	w.stride = 8;
	w.addr = (uint64_t)(uintptr_t)(f->base + f->wsize);
	ft_assert_rc(ferry_device_work(f->ctx, &w, NULL), -ERANGE);
	assert_unchanged(f);
}

/* Allocation arguments. */
static void test_alloc_args(void **state)
{
	struct fixture *f = fixture(state);
	uint8_t local[64];

	assert_null(ferry_alloc(f->ctx, FT_PAGE, 3 * FT_PAGE));	   /* not a power of two */
	assert_null(ferry_alloc(f->ctx, FT_PAGE, FT_MIB(4)));	   /* above 2 MiB */
	assert_null(ferry_alloc(f->ctx, f->wsize + FT_PAGE, 0));   /* larger than the window */
	ft_assert_rc(ferry_free(f->ctx, local), -EINVAL);	   /* not from the window */
	ft_assert_rc(ferry_free(f->ctx, f->p + FT_PAGE), -EINVAL); /* not an allocation */
	assert_unchanged(f);
}

/* Open with @value in the environment variable @name: ferry_open's result. */
static int open_with_env(const char *name, const char *value)
{
	struct ferry_ctx *ctx = NULL;
	int r;

	setenv(name, value, 1);
	r = ferry_open(NULL, &ctx);
	unsetenv(name);
	ferry_close(ctx);
	return r;
}

/* Sizes in the environment: the accepted forms, and clear refusals. */
static void test_env_sizes(void **state)
{
	static const char *const bad[] = {"",	   "0",	     "x",	  "4096i",
					  "1KBB",  "1Ki",    "64Q",	  "-4M",
					  "-4096", " -4096", "16777216T", "99999999999999999999"};

	(void)state;
	ft_assert_ok(open_with_env("FERRY_DEVICE_MEMORY", "64M"));
	ft_assert_ok(open_with_env("FERRY_DEVICE_MEMORY", "64MiB"));
	ft_assert_ok(open_with_env("FERRY_DEVICE_MEMORY", "65536KB"));
	ft_assert_ok(open_with_env("FERRY_DEVICE_MEMORY", "0x4000000"));
	for (size_t i = 0; i < FT_ARRAY_SIZE(bad); i++) {
		print_message("FERRY_DEVICE_MEMORY=%s\n", bad[i]);
		ft_assert_rc(open_with_env("FERRY_DEVICE_MEMORY", bad[i]), -EINVAL);
	}
	/* the window needs room for the coherent region and managed memory */
	ft_assert_rc(open_with_env("FERRY_WINDOW_SIZE", "2M"), -EINVAL);
	ft_assert_rc(open_with_env("FERRY_WINDOW_SIZE", "5M"), -EINVAL);
	ft_assert_ok(open_with_env("FERRY_WINDOW_SIZE", "4M"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_migrate_args), T(test_reserved_fields), T(test_range_args),
		T(test_attr_values),  T(test_unknown_ioctl),   T(test_null_args),
		T(test_devwork_args), T(test_alloc_args),      cmocka_unit_test(test_env_sizes),
	};

	return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
