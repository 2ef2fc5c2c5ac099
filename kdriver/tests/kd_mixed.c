// SPDX-License-Identifier: MIT
/*
 * kd_mixed - parts of the window that are not migratable anonymous memory
 * (hmm-tests: migrate_shared, migrate_mixed, migrate_file_private, whose
 * Ferry equivalents are refusals): every refusal is clean, i.e. the call
 * fails with the documented errno and no byte anywhere in the range changed,
 * discard included.
 *
 *   file_private        a tmpfs file mapped MAP_PRIVATE (written, so it has
 *                       anonymous COW pages): EOPNOTSUPP
 *   file_shared         a tmpfs file mapped MAP_SHARED: EOPNOTSUPP
 *   shared_anon         MAP_SHARED|MAP_ANONYMOUS (shmem): EOPNOTSUPP
 *   file_on_disk        the test binary itself mapped MAP_PRIVATE: EOPNOTSUPP
 *   pfnmap              /dev/mem (VM_IO|VM_PFNMAP, the BIOS area): EOPNOTSUPP
 *   mlocked             an mlock()ed part: EBUSY; after munlock it migrates
 *   mixed_range         anonymous + shmem in one range: EOPNOTSUPP, and
 *                       DISCARD over it destroys nothing, not even the
 *                       anonymous part; same with anonymous + mlocked
 *   hole                a range with an unmapped hole: EFAULT, nothing lost;
 *                       the hole alone: EFAULT
 *   host_target         MIGRATE to the host over those mappings moves nothing
 *                       and changes nothing (0 or the same errno)
 *   device_touch        device touches of a hole in the window: SIGBUS, no
 *                       hang; of shmem: the data or a fault, nothing changed;
 *                       the anonymous parts around them work both ways
 */
#include "kd_common.h"

#include <fcntl.h>
#include <sys/mman.h>

#define WINDOW KD_MIB(4)
#define PART KD_KIB(256)

struct fixture {
	struct kd_ctx ctx;
	char *part; /* where the foreign mapping goes: window + 1 MiB */
	int file;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, WINDOW, KD_MIB(8), KD_NO_SERVER)) {
		free(f);
		return -1;
	}
	f->part = f->ctx.base + KD_MIB(1);
	f->file = -1;
	kd_fill_pattern(f->ctx.base, WINDOW, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->file >= 0)
		close(f->file);
	kd_teardown(&f->ctx);
	free(f);
	return 0;
}

static int tmpfile_of(size_t size)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_EXCL, 0600);

	if (fd >= 0 && ftruncate(fd, (off_t)size)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void map_part(struct fixture *f, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(f->part, PART, prot, flags | MAP_FIXED, fd, off);

	if (p == MAP_FAILED)
		fail_msg("mmap into the window: %s", kd_errname(-errno));
	assert_ptr_equal(p, f->part);
}

/* MIGRATE; with FERRY_MIGRATE_ASYNC, the fence's status if the call itself succeeded. */
static int migrate_status(struct fixture *f, void *start, size_t size, uint32_t target,
			  uint32_t flags)
{
	uint64_t fence = 0;
	int32_t st = 0;
	int r = kd_migrate(f->ctx.fd, start, size, target, flags, &fence);

	if (r || !(flags & FERRY_MIGRATE_ASYNC))
		return r;
	r = kd_wait(f->ctx.fd, fence, 0, &st);
	return r ? r : st;
}

/*
 * The refusal: MIGRATE to the device (plain, DISCARD, DISCARD|ASYNC) over the
 * part alone, one page of it, and the part with its anonymous neighbours fail
 * with @err; nothing in [window, +3 MiB) changed (@part_seed: the part's
 * pattern, or -1 to compare with @copy).
 */
static void refused(struct fixture *f, int err, int64_t part_seed, const void *copy)
{
	static const uint32_t flags[] = {0, FERRY_MIGRATE_DISCARD,
					 FERRY_MIGRATE_DISCARD | FERRY_MIGRATE_ASYNC};
	char *b = f->ctx.base;
	size_t i;

	for (i = 0; i < KD_ARRAY_SIZE(flags); i++) {
		kd_assert_rc(migrate_status(f, f->part, PART, FERRY_LOC_DEVICE, flags[i]), err);
		kd_assert_rc(
			migrate_status(f, f->part + KD_PAGE, KD_PAGE, FERRY_LOC_DEVICE, flags[i]),
			err);
		/* Anonymous memory on both sides of the part, in the same call. */
		kd_assert_rc(migrate_status(f, f->part - KD_KIB(512), PART + KD_MIB(1),
					    FERRY_LOC_DEVICE, flags[i]),
			     err);
	}
	kd_assert_residency(f->ctx.fd, f->part, PART, FERRY_RES_HOST);
	kd_assert_host_check(b, KD_MIB(1), 1);
	if (part_seed >= 0)
		kd_assert_host_check(f->part, PART, (uint64_t)part_seed);
	else
		assert_memory_equal(f->part, copy, PART);
	kd_assert_host_check(f->part + PART, KD_MIB(2) - PART, 1);
}

static void file_private(void **state)
{
	struct fixture *f = *state;

	f->file = tmpfile_of(PART);
	assert_true(f->file >= 0);
	map_part(f, PROT_READ | PROT_WRITE, MAP_PRIVATE, f->file, 0);
	kd_fill_pattern(f->part, PART, 2);
	refused(f, -EOPNOTSUPP, 2, NULL);
}

static void file_shared(void **state)
{
	struct fixture *f = *state;

	f->file = tmpfile_of(PART);
	assert_true(f->file >= 0);
	map_part(f, PROT_READ | PROT_WRITE, MAP_SHARED, f->file, 0);
	kd_fill_pattern(f->part, PART, 3);
	refused(f, -EOPNOTSUPP, 3, NULL);
}

static void shared_anon(void **state)
{
	struct fixture *f = *state;

	map_part(f, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	kd_fill_pattern(f->part, PART, 4);
	refused(f, -EOPNOTSUPP, 4, NULL);
}

static void file_on_disk(void **state)
{
	struct fixture *f = *state;
	static unsigned char copy[PART];
	ssize_t n;
	size_t len;

	f->file = open("/proc/self/exe", O_RDONLY);
	assert_true(f->file >= 0);
	n = pread(f->file, copy, PART, 0);
	assert_true(n > 0);
	len = (size_t)n / KD_PAGE * KD_PAGE;
	if (!len ||
	    mmap(f->part, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, f->file, 0) == MAP_FAILED) {
		print_message("this file system does not map /proc/self/exe: skipped\n");
		skip();
	}
	assert_memory_equal(f->part, copy, len); /* populates the mapping */
	kd_assert_rc(migrate_status(f, f->part, len, FERRY_LOC_DEVICE, 0), -EOPNOTSUPP);
	kd_assert_rc(migrate_status(f, f->part, len, FERRY_LOC_DEVICE, FERRY_MIGRATE_DISCARD),
		     -EOPNOTSUPP);
	kd_assert_rc(migrate_status(f, f->part - KD_KIB(512), len + KD_MIB(1), FERRY_LOC_DEVICE,
				    FERRY_MIGRATE_DISCARD),
		     -EOPNOTSUPP);
	kd_assert_residency(f->ctx.fd, f->part, len, FERRY_RES_HOST);
	assert_memory_equal(f->part, copy, len);
	kd_assert_host_check(f->ctx.base, KD_MIB(1), 1);
	kd_assert_host_check(f->part + len, KD_MIB(2) - len, 1);
}

static void pfnmap(void **state)
{
	struct fixture *f = *state;
	static unsigned char copy[KD_KIB(64)];
	void *p;

	f->file = open("/dev/mem", O_RDONLY);
	p = f->file < 0 ? MAP_FAILED
			: mmap(f->part, KD_KIB(64), PROT_READ, MAP_SHARED | MAP_FIXED, f->file,
			       0xf0000);
	if (p == MAP_FAILED) {
		print_message("/dev/mem cannot be mapped here (%s): no VM_PFNMAP mapping to test; "
			      "skipped\n",
			      kd_errname(-errno));
		skip();
	}
	memcpy(copy, f->part, sizeof(copy));
	kd_assert_rc(kd_migrate(f->ctx.fd, f->part, KD_KIB(64), FERRY_LOC_DEVICE, 0, NULL),
		     -EOPNOTSUPP);
	kd_assert_rc(kd_migrate(f->ctx.fd, f->part, KD_KIB(64), FERRY_LOC_DEVICE,
				FERRY_MIGRATE_DISCARD, NULL),
		     -EOPNOTSUPP);
	kd_assert_rc(kd_migrate(f->ctx.fd, f->part - KD_KIB(64), KD_KIB(192), FERRY_LOC_DEVICE,
				FERRY_MIGRATE_DISCARD, NULL),
		     -EOPNOTSUPP);
	assert_memory_equal(f->part, copy, sizeof(copy));
	kd_assert_host_check(f->part - KD_KIB(64), KD_KIB(64), 1);
	kd_assert_host_check(f->part + KD_KIB(64), KD_KIB(64), 1);
}

static void mlocked(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mlock(f->part, PART), 0);
	refused(f, -EBUSY, 1, NULL);
	assert_int_equal(munlock(f->part, PART), 0);
	kd_assert_ok(kd_migrate(f->ctx.fd, f->part, PART, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, f->part, PART, FERRY_RES_DEVICE);
	kd_assert_host_check(f->ctx.base, KD_MIB(3), 1);
}

static void mixed_range(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;

	/* Anonymous pages already on the device next to shmem. */
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_MIB(1), FERRY_LOC_DEVICE, 0, NULL));
	map_part(f, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	kd_fill_pattern(f->part, PART, 5);
	kd_assert_rc(
		kd_migrate(f->ctx.fd, b, KD_MIB(2), FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD, NULL),
		-EOPNOTSUPP);
	kd_assert_rc(
		kd_migrate(f->ctx.fd, b, KD_MIB(2), FERRY_LOC_DEVICE, FERRY_MIGRATE_DISCARD, NULL),
		-EOPNOTSUPP);
	kd_assert_host_check(b, KD_MIB(1), 1);
	kd_assert_host_check(f->part, PART, 5);
	kd_assert_host_check(f->part + PART, KD_MIB(1) - PART, 1);

	/* The same with an mlocked part instead. */
	kd_assert_ok(kd_map_anon(f->part, PART, false));
	kd_fill_pattern(f->part, PART, 6);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_MIB(1), FERRY_LOC_DEVICE, 0, NULL));
	assert_int_equal(mlock(f->part, PART), 0);
	kd_assert_rc(
		kd_migrate(f->ctx.fd, b, KD_MIB(2), FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD, NULL),
		-EBUSY);
	kd_assert_rc(
		kd_migrate(f->ctx.fd, b, KD_MIB(2), FERRY_LOC_DEVICE, FERRY_MIGRATE_DISCARD, NULL),
		-EBUSY);
	kd_assert_host_check(b, KD_MIB(1), 1);
	kd_assert_host_check(f->part, PART, 6);
	kd_assert_host_check(f->part + PART, KD_MIB(1) - PART, 1);
	munlock(f->part, PART);
}

static void hole(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	static const uint32_t flags[] = {0, FERRY_MIGRATE_DISCARD};
	size_t i;

	assert_int_equal(munmap(f->part, KD_BLOCK), 0);
	for (i = 0; i < KD_ARRAY_SIZE(flags); i++) {
		kd_assert_rc(
			kd_migrate(f->ctx.fd, f->part, KD_BLOCK, FERRY_LOC_DEVICE, flags[i], NULL),
			-EFAULT);
		kd_assert_rc(kd_migrate(f->ctx.fd, f->part + KD_PAGE, KD_PAGE, FERRY_LOC_DEVICE,
					flags[i], NULL),
			     -EFAULT);
		kd_assert_rc(kd_migrate(f->ctx.fd, b, KD_MIB(2), FERRY_LOC_DEVICE, flags[i], NULL),
			     -EFAULT);
		kd_assert_rc(kd_migrate(f->ctx.fd, b, KD_MIB(2), FERRY_LOC_HOST,
					flags[i] | FERRY_MIGRATE_DISCARD, NULL),
			     -EFAULT);
	}
	kd_assert_host_check(b, KD_MIB(1), 1);
	kd_assert_host_check(f->part + KD_BLOCK, WINDOW - KD_MIB(1) - KD_BLOCK, 1);
	/* Filled again, the range migrates. */
	kd_assert_ok(kd_map_anon(f->part, KD_BLOCK, false));
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_MIB(2), FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, KD_MIB(2), FERRY_RES_DEVICE);
	assert_int_equal(kd_check_bytes(f->part, KD_BLOCK, 0), -1);
	kd_assert_host_check(b, KD_MIB(1), 1);
}

static void host_target(void **state)
{
	struct fixture *f = *state;
	int r;

	map_part(f, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	kd_fill_pattern(f->part, PART, 7);
	r = kd_migrate(f->ctx.fd, f->part, PART, FERRY_LOC_HOST, 0, NULL);
	assert_true(r == 0 || r == -EOPNOTSUPP);
	kd_assert_rc(
		kd_migrate(f->ctx.fd, f->part, PART, FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD, NULL),
		-EOPNOTSUPP);
	kd_assert_host_check(f->part, PART, 7);
	kd_assert_ok(kd_map_anon(f->part, PART, false));
	kd_fill_pattern(f->part, PART, 8);
	assert_int_equal(mlock(f->part, PART), 0);
	r = kd_migrate(f->ctx.fd, f->part, PART, FERRY_LOC_HOST, 0, NULL);
	assert_true(r == 0 || r == -EBUSY);
	kd_assert_rc(
		kd_migrate(f->ctx.fd, f->part, PART, FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD, NULL),
		-EBUSY);
	kd_assert_host_check(f->part, PART, 8);
	munlock(f->part, PART);
	kd_assert_host_check(f->ctx.base, KD_MIB(1), 1);
}

static int setup_dev(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, WINDOW, KD_MIB(8), 0)) {
		free(f);
		return -1;
	}
	f->part = f->ctx.base + KD_MIB(1);
	f->file = -1;
	kd_fill_pattern(f->ctx.base, WINDOW, 1);
	*state = f;
	return 0;
}

static void device_touch(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	int r;

	/* A hole in the host's window: the device touch faults, never hangs. */
	assert_int_equal(munmap(f->part, KD_BLOCK), 0);
	r = kd_dev_read(&f->ctx, f->part, KD_PAGE);
	if (r != SIGBUS)
		fail_msg("device read of a hole: %s, expected SIGBUS",
			 r ? kd_dev_strerror(&f->ctx, r) : "completed");
	/* Shared memory there: the device reads it or faults; nothing changes. */
	map_part(f, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	kd_fill_pattern(f->part, PART, 9);
	r = kd_dev_read(&f->ctx, f->part, PART);
	if (r == 0)
		kd_assert_staging(&f->ctx, f->part, PART, 9);
	else if (r != SIGBUS && r != SIGSEGV)
		fail_msg("device read of shmem: %s", kd_dev_strerror(&f->ctx, r));
	kd_assert_host_check(f->part, PART, 9);
	/* Anonymous memory around it still works both ways. */
	kd_assert_dev_check(&f->ctx, b, KD_MIB(1), 1);
	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, f->part + PART, KD_MIB(1), 10));
	kd_assert_host_check(f->part + PART, KD_MIB(1), 10);
	kd_assert_host_check(b, KD_MIB(1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(file_private, setup, teardown),
		cmocka_unit_test_setup_teardown(file_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(shared_anon, setup, teardown),
		cmocka_unit_test_setup_teardown(file_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(pfnmap, setup, teardown),
		cmocka_unit_test_setup_teardown(mlocked, setup, teardown),
		cmocka_unit_test_setup_teardown(mixed_range, setup, teardown),
		cmocka_unit_test_setup_teardown(hole, setup, teardown),
		cmocka_unit_test_setup_teardown(host_target, setup, teardown),
		cmocka_unit_test_setup_teardown(device_touch, setup_dev, teardown),
	};

	return cmocka_run_group_tests_name("kd_mixed", tests, NULL, NULL);
}
