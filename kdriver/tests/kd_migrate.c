// SPDX-License-Identifier: MIT
/*
 * kd_migrate - explicit migration with FERRY_IOCTL_MIGRATE and the host's
 * faults on device pages (hmm-tests: migrate, migrate_fault,
 * migrate_multiple, anon_write_huge; plus what Ferry adds: blocks, discard,
 * async fences, residency and counters).
 *
 *   roundtrip          1 MiB to the device and back: residency, exact page and
 *                      byte counters, no host fault, data intact
 *   untouched          untouched pages migrate as device-resident zero pages
 *   fault_on_read      a host read of one word of a device page brings back
 *                      exactly its 64 KiB block (one fault, 16 pages)
 *   fault_on_write     the same for a write; the write and the rest intact
 *   migrate_fault      half faulted back, then the mix migrates again
 *   migrate_multiple   ten rounds of fill, migrate, fault back
 *   overlap            overlapping migrations move each page once; exact
 *                      counters and residency after each
 *   discard_device     DISCARD to the device: device-resident zero pages, no
 *                      byte copied
 *   discard_host       DISCARD to the host: untouched, reads zero, both from
 *                      the device and from the host
 *   async              ASYNC returns fences; waiting for the later one means
 *                      the earlier one completed too (issue order)
 *   munmap_partial     munmap of part of a migrated range frees exactly those
 *                      device pages; the rest intact; the hole remapped reads 0
 *   huge               a THP-backed 2 MiB migrates whole and back intact
 *   huge_partial       64 KiB out of a THP migrates alone (the THP splits)
 *   random_sequence    200 random migrations (fixed seed): residency agrees
 *                      with device_resident_pages after each, data intact
 *   mremap_within      device pages mremap()ed to another region of the window
 *                      keep their data and residency; the region they left,
 *                      mapped again, migrates normally; the counters agree
 *   mremap_out         device pages mremap()ed out of the window come back on a
 *                      host touch, intact; the window's region migrates again
 *   dontneed           MADV_DONTNEED drops device pages: untouched, zero
 *   syscall_access     the kernel reads and writes device-resident pages for
 *                      syscalls (pipe write/read, /proc/self/mem): exact data
 */
#include "kd_common.h"

#include <fcntl.h>
#include <sys/mman.h>

#define WINDOW KD_MIB(4)

struct fixture {
	struct kd_ctx ctx;
	struct ferry_counters before;
};

static int setup_flags(void **state, unsigned int flags)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, WINDOW, KD_MIB(8), KD_NO_SERVER | flags)) {
		free(f);
		return -1;
	}
	/* Exact block-granular expectations: no prefetching beyond the block. */
	if (kd_set_attr(f->ctx.fd, f->ctx.base, f->ctx.size, FERRY_ATTR_PREFETCH, 0)) {
		kd_teardown(&f->ctx);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_flags(state, 0);
}

static int setup_thp(void **state)
{
	return setup_flags(state, KD_THP);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	kd_teardown(&f->ctx);
	free(f);
	return 0;
}

static void snap(struct fixture *f)
{
	kd_assert_ok(kd_counters(f->ctx.fd, &f->before));
}

/* Counter @field grew by exactly @want since snap(). */
#define assert_delta(f, field, want)                                                               \
	do {                                                                                       \
		struct ferry_counters _c;                                                          \
		kd_assert_ok(kd_counters((f)->ctx.fd, &_c));                                       \
		if (_c.field - (f)->before.field != (uint64_t)(want))                              \
			fail_msg("counter " #field " grew by %" PRIu64 ", expected %" PRIu64,      \
				 (uint64_t)(_c.field - (f)->before.field), (uint64_t)(want));      \
	} while (0)

#define assert_counter(f, field, want)                                                             \
	do {                                                                                       \
		struct ferry_counters _c;                                                          \
		kd_assert_ok(kd_counters((f)->ctx.fd, &_c));                                       \
		if (_c.field != (uint64_t)(want))                                                  \
			fail_msg("counter " #field " is %" PRIu64 ", expected %" PRIu64,           \
				 (uint64_t)_c.field, (uint64_t)(want));                            \
	} while (0)

static void roundtrip(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1), np = n / KD_PAGE;

	kd_fill_pattern(b, n, 1);
	snap(f);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + n, WINDOW - n, FERRY_RES_UNTOUCHED);
	assert_delta(f, pages_to_device, np);
	assert_delta(f, bytes_to_device, n);
	assert_counter(f, device_resident_pages, np);

	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_HOST, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);
	assert_delta(f, pages_to_host, np);
	assert_delta(f, bytes_to_host, n);
	assert_counter(f, device_resident_pages, 0);
	kd_assert_host_check(b, n, 1);
	assert_delta(f, faults_host, 0);
	assert_counter(f, device_peak_pages, np);
}

static void untouched(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	assert_counter(f, device_resident_pages, n / KD_PAGE);
	assert_int_equal(kd_check_bytes(b, n, 0), -1);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);
	assert_counter(f, device_resident_pages, 0);
}

static void fault_one(struct fixture *f, bool write)
{
	char *b = f->ctx.base;
	size_t page = write ? 40 : 20, blk = page / KD_BLOCK_PAGES * KD_BLOCK_PAGES;
	uint64_t *w = (uint64_t *)(b + page * KD_PAGE + 24);

	kd_fill_pattern(b, KD_REGION, 2);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	snap(f);
	if (write)
		*w = 0x1234567890abcdefULL;
	else
		assert_int_equal(*w, kd_pattern_word((uintptr_t)w, 2));
	assert_delta(f, faults_host, 1);
	assert_delta(f, pages_to_host, KD_BLOCK_PAGES);
	assert_delta(f, bytes_to_host, KD_BLOCK);
	assert_counter(f, device_resident_pages, KD_REGION / KD_PAGE - KD_BLOCK_PAGES);
	kd_assert_residency(f->ctx.fd, b, blk * KD_PAGE, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + blk * KD_PAGE, KD_BLOCK, FERRY_RES_HOST);
	kd_assert_residency(f->ctx.fd, b + blk * KD_PAGE + KD_BLOCK,
			    KD_REGION - blk * KD_PAGE - KD_BLOCK, FERRY_RES_DEVICE);
	if (write) {
		assert_int_equal(*w, 0x1234567890abcdefULL);
		*w = kd_pattern_word((uintptr_t)w, 2);
	}
	kd_assert_host_check(b, KD_REGION, 2);
	kd_assert_residency(f->ctx.fd, b, KD_REGION, FERRY_RES_HOST);
	assert_delta(f, faults_host, KD_REGION / KD_BLOCK);
}

static void fault_on_read(void **state)
{
	fault_one(*state, false);
}

static void fault_on_write(void **state)
{
	fault_one(*state, true);
}

static void migrate_fault(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_fill_pattern(b, n, 3);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_host_check(b, n / 2, 3);
	kd_assert_residency(f->ctx.fd, b, n / 2, FERRY_RES_HOST);
	kd_assert_residency(f->ctx.fd, b + n / 2, n / 2, FERRY_RES_DEVICE);
	snap(f);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	assert_delta(f, pages_to_device, n / 2 / KD_PAGE);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	kd_assert_host_check(b, n, 3);
}

static void migrate_multiple(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);
	int c;

	for (c = 0; c < 10; c++) {
		kd_fill_pattern(b, n, 100 + c);
		kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
		kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
		kd_assert_host_check(b, n, 100 + c);
		kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);
	}
	assert_counter(f, device_resident_pages, 0);
}

static void overlap(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	const size_t K = KD_KIB(1), P = KD_PAGE;

	kd_fill_pattern(b, KD_REGION, 4);
	snap(f);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, 1024 * K, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_ok(kd_migrate(f->ctx.fd, b + 512 * K, 1024 * K, FERRY_LOC_DEVICE, 0, NULL));
	assert_delta(f, pages_to_device, 1536 * K / P);
	kd_assert_residency(f->ctx.fd, b, 1536 * K, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + 1536 * K, 512 * K, FERRY_RES_HOST);

	kd_assert_ok(kd_migrate(f->ctx.fd, b + 256 * K, 512 * K, FERRY_LOC_HOST, 0, NULL));
	assert_delta(f, pages_to_host, 512 * K / P);
	kd_assert_residency(f->ctx.fd, b, 256 * K, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + 256 * K, 512 * K, FERRY_RES_HOST);
	kd_assert_residency(f->ctx.fd, b + 768 * K, 768 * K, FERRY_RES_DEVICE);
	assert_counter(f, device_resident_pages, 1024 * K / P);

	/* Migrating what is already there moves nothing. */
	kd_assert_ok(kd_migrate(f->ctx.fd, b, 256 * K, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_ok(kd_migrate(f->ctx.fd, b + 1536 * K, 512 * K, FERRY_LOC_HOST, 0, NULL));
	assert_delta(f, pages_to_device, 1536 * K / P);
	assert_delta(f, pages_to_host, 512 * K / P);

	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_REGION, FERRY_LOC_HOST, 0, NULL));
	assert_delta(f, pages_to_host, 1536 * K / P);
	assert_counter(f, device_resident_pages, 0);
	kd_assert_residency(f->ctx.fd, b, KD_REGION, FERRY_RES_HOST);
	kd_assert_host_check(b, KD_REGION, 4);
}

static void discard_device(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_fill_pattern(b, n, 5);
	snap(f);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, FERRY_MIGRATE_DISCARD, NULL));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	assert_counter(f, device_resident_pages, n / KD_PAGE);
	assert_delta(f, bytes_to_device, 0);
	assert_int_equal(kd_check_bytes(b, n, 0), -1);
}

static void discard_host(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_fill_pattern(b, 2 * n, 6);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	snap(f);
	/* Half of it on the device, half on the host: both become untouched. */
	kd_assert_ok(
		kd_migrate(f->ctx.fd, b + n / 2, n, FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD, NULL));
	kd_assert_residency(f->ctx.fd, b, n / 2, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + n / 2, n, FERRY_RES_UNTOUCHED);
	kd_assert_residency(f->ctx.fd, b + 3 * n / 2, n / 2, FERRY_RES_HOST);
	assert_delta(f, bytes_to_host, 0);
	assert_counter(f, device_resident_pages, n / 2 / KD_PAGE);
	assert_int_equal(kd_check_bytes(b + n / 2, n, 0), -1);
	kd_assert_host_check(b, n / 2, 6);
	kd_assert_host_check(b + 3 * n / 2, n / 2, 6);
}

static void async(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);
	uint64_t f1 = 0, f2 = 0, f3 = 0;
	int32_t st = -1;

	kd_fill_pattern(b, n, 7);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, &f1));
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n / 2, FERRY_LOC_HOST, FERRY_MIGRATE_ASYNC, &f2));
	kd_assert_ok(kd_wait(f->ctx.fd, f2, 0, &st));
	assert_int_equal(st, 0);
	/* Issue order: the first migration is complete too. */
	kd_assert_residency(f->ctx.fd, b, n / 2, FERRY_RES_HOST);
	kd_assert_residency(f->ctx.fd, b + n / 2, n / 2, FERRY_RES_DEVICE);
	st = -1;
	kd_assert_ok(kd_wait(f->ctx.fd, f1, 0, &st));
	assert_int_equal(st, 0);

	kd_assert_ok(kd_migrate(f->ctx.fd, b + n, n, FERRY_LOC_DEVICE,
				FERRY_MIGRATE_ASYNC | FERRY_MIGRATE_DISCARD, &f3));
	st = -1;
	kd_assert_ok(kd_wait(f->ctx.fd, f3, 1000000000ULL, &st));
	assert_int_equal(st, 0);
	kd_assert_residency(f->ctx.fd, b + n, n, FERRY_RES_DEVICE);
	kd_assert_host_check(b, n, 7);
	assert_int_equal(kd_check_bytes(b + n, n, 0), -1);
}

static void munmap_partial(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	const size_t K = KD_KIB(1);

	kd_fill_pattern(b, 1024 * K, 8);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, 1024 * K, FERRY_LOC_DEVICE, 0, NULL));
	assert_counter(f, device_resident_pages, 256);
	assert_int_equal(munmap(b + 256 * K, 256 * K), 0);
	assert_counter(f, device_resident_pages, 192);
	kd_assert_residency(f->ctx.fd, b, 256 * K, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + 512 * K, 512 * K, FERRY_RES_DEVICE);
	kd_assert_host_check(b, 256 * K, 8);
	kd_assert_host_check(b + 512 * K, 512 * K, 8);

	kd_assert_ok(kd_map_anon(b + 256 * K, 256 * K, false));
	kd_assert_residency(f->ctx.fd, b + 256 * K, 256 * K, FERRY_RES_UNTOUCHED);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, 1024 * K, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, 1024 * K, FERRY_RES_DEVICE);
	assert_counter(f, device_resident_pages, 256);
	kd_assert_host_check(b, 256 * K, 8);
	assert_int_equal(kd_check_bytes(b + 256 * K, 256 * K, 0), -1);
	kd_assert_host_check(b + 512 * K, 512 * K, 8);
}

static void huge(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;

	kd_fill_pattern(b, 2 * KD_REGION, 9);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, 2 * KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, 2 * KD_REGION, FERRY_RES_DEVICE);
	assert_counter(f, device_resident_pages, 2 * KD_REGION / KD_PAGE);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_REGION, FERRY_LOC_HOST, 0, NULL));
	kd_assert_host_check(b, 2 * KD_REGION, 9);
	kd_assert_residency(f->ctx.fd, b, 2 * KD_REGION, FERRY_RES_HOST);
}

static void huge_partial(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	char *mid = b + KD_MIB(1);

	kd_fill_pattern(b, KD_REGION, 10);
	kd_assert_ok(kd_migrate(f->ctx.fd, mid, KD_BLOCK, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, KD_MIB(1), FERRY_RES_HOST);
	kd_assert_residency(f->ctx.fd, mid, KD_BLOCK, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, mid + KD_BLOCK, KD_MIB(1) - KD_BLOCK, FERRY_RES_HOST);
	assert_counter(f, device_resident_pages, KD_BLOCK_PAGES);
	kd_assert_host_check(b, KD_REGION, 10);
	kd_assert_residency(f->ctx.fd, b, KD_REGION, FERRY_RES_HOST);
}

static void random_sequence(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	uint64_t rng = 42, count[4];
	struct ferry_counters c;
	int i;

	kd_fill_pattern(b, WINDOW, 11);
	for (i = 0; i < 200; i++) {
		size_t blocks = WINDOW / KD_BLOCK;
		size_t first = kd_rand(&rng) % blocks;
		size_t len = 1 + kd_rand(&rng) % (blocks - first < 8 ? blocks - first : 8);
		uint32_t target = kd_rand(&rng) & 1 ? FERRY_LOC_DEVICE : FERRY_LOC_HOST;
		uint32_t flags = kd_rand(&rng) % 4 == 0 ? FERRY_MIGRATE_ASYNC : 0;
		uint64_t fence = 0;

		kd_assert_ok(kd_migrate(f->ctx.fd, b + first * KD_BLOCK, len * KD_BLOCK, target,
					flags, &fence));
		if (flags)
			kd_assert_ok(kd_wait(f->ctx.fd, fence, 0, NULL));
		kd_assert_residency(f->ctx.fd, b + first * KD_BLOCK, len * KD_BLOCK,
				    target == FERRY_LOC_DEVICE ? FERRY_RES_DEVICE : FERRY_RES_HOST);
		kd_assert_ok(kd_residency(f->ctx.fd, b, WINDOW, NULL, count));
		kd_assert_ok(kd_counters(f->ctx.fd, &c));
		if (c.device_resident_pages != count[FERRY_RES_DEVICE])
			fail_msg("step %d: device_resident_pages %" PRIu64
				 ", RESIDENCY counts %" PRIu64,
				 i, (uint64_t)c.device_resident_pages, count[FERRY_RES_DEVICE]);
		assert_true(c.device_peak_pages >= c.device_resident_pages);
		if (i % 50 == 49)
			kd_assert_host_check(b, WINDOW, 11);
	}
	kd_assert_host_check(b, WINDOW, 11);
}

/* device_resident_pages agrees with RESIDENCY over the window. */
static void assert_identity(struct fixture *f)
{
	struct ferry_counters c;
	uint64_t count[4];

	kd_assert_ok(kd_residency(f->ctx.fd, f->ctx.base, WINDOW, NULL, count));
	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	if (c.device_resident_pages != count[FERRY_RES_DEVICE])
		fail_msg("device_resident_pages %" PRIu64 ", RESIDENCY counts %" PRIu64,
			 (uint64_t)c.device_resident_pages, count[FERRY_RES_DEVICE]);
}

static void mremap_within(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base, *r1 = b + KD_REGION;

	kd_fill_pattern(b, KD_REGION, 12);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	/* Region 0's device pages move to region 1's address. */
	assert_ptr_equal(mremap(b, KD_REGION, KD_REGION, MREMAP_MAYMOVE | MREMAP_FIXED, r1), r1);
	kd_assert_ok(kd_map_anon(b, KD_REGION, false));
	kd_assert_residency(f->ctx.fd, r1, KD_REGION, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b, KD_REGION, FERRY_RES_UNTOUCHED);
	assert_identity(f);
	/* The fresh region 0 migrates like any other. */
	kd_fill_pattern(b, KD_REGION, 13);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, KD_REGION, FERRY_RES_DEVICE);
	assert_identity(f);
	assert_int_equal(kd_check_pattern_at(r1, (uintptr_t)b, KD_REGION, 12), -1);
	kd_assert_host_check(b, KD_REGION, 13);
	kd_assert_residency(f->ctx.fd, b, 2 * KD_REGION, FERRY_RES_HOST);
	assert_counter(f, device_resident_pages, 0);
	assert_identity(f);
}

static void mremap_out(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base, *out = kd_reserve(KD_REGION);

	assert_non_null(out);
	kd_fill_pattern(b, KD_REGION, 14);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	assert_ptr_equal(mremap(b, KD_REGION, KD_REGION, MREMAP_MAYMOVE | MREMAP_FIXED, out), out);
	kd_assert_ok(kd_map_anon(b, KD_REGION, false));
	/* Outside the window the data is still there, and comes back on a touch. */
	assert_int_equal(kd_check_pattern_at(out, (uintptr_t)b, KD_REGION, 14), -1);
	assert_counter(f, device_resident_pages, 0);
	munmap(out, KD_REGION);
	kd_fill_pattern(b, KD_REGION, 15);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, KD_REGION, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, KD_REGION, FERRY_RES_DEVICE);
	assert_identity(f);
	kd_assert_host_check(b, KD_REGION, 15);
}

static void dontneed(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_fill_pattern(b, n, 16);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	assert_int_equal(madvise(b, n / 2, MADV_DONTNEED), 0);
	assert_counter(f, device_resident_pages, n / 2 / KD_PAGE);
	kd_assert_residency(f->ctx.fd, b, n / 2, FERRY_RES_UNTOUCHED);
	kd_assert_residency(f->ctx.fd, b + n / 2, n / 2, FERRY_RES_DEVICE);
	assert_int_equal(kd_check_bytes(b, n / 2, 0), -1);
	kd_assert_host_check(b + n / 2, n / 2, 16);
}

static void syscall_access(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	const size_t n = KD_KIB(32);
	static uint64_t buf[KD_KIB(32) / 8];
	int pfd[2], mem;

	kd_fill_pattern(b, 4 * n, 17);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, 4 * n, FERRY_LOC_DEVICE, 0, NULL));
	assert_int_equal(pipe(pfd), 0);
	/* The kernel reads device-resident pages (write from them). */
	assert_int_equal(write(pfd[1], b, n), (ssize_t)n);
	assert_int_equal(read(pfd[0], buf, n), (ssize_t)n);
	assert_int_equal(kd_check_pattern_at(buf, (uintptr_t)b, n, 17), -1);
	/* The kernel writes device-resident pages (read into them). */
	kd_fill_pattern_at(buf, (uintptr_t)b + n, n, 18);
	assert_int_equal(write(pfd[1], buf, n), (ssize_t)n);
	assert_int_equal(read(pfd[0], b + n, n), (ssize_t)n);
	kd_assert_host_check(b + n, n, 18);
	close(pfd[0]);
	close(pfd[1]);
	/* Through /proc/self/mem (get_user_pages on the host's own mm). */
	mem = open("/proc/self/mem", O_RDWR);
	assert_true(mem >= 0);
	assert_int_equal(pread(mem, buf, n, (off_t)(uintptr_t)(b + 2 * n)), (ssize_t)n);
	assert_int_equal(kd_check_pattern_at(buf, (uintptr_t)b + 2 * n, n, 17), -1);
	kd_fill_pattern_at(buf, (uintptr_t)b + 3 * n, n, 19);
	assert_int_equal(pwrite(mem, buf, n, (off_t)(uintptr_t)(b + 3 * n)), (ssize_t)n);
	close(mem);
	kd_assert_host_check(b + 3 * n, n, 19);
	assert_identity(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(fault_on_read, setup, teardown),
		cmocka_unit_test_setup_teardown(fault_on_write, setup, teardown),
		cmocka_unit_test_setup_teardown(migrate_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(migrate_multiple, setup, teardown),
		cmocka_unit_test_setup_teardown(overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(discard_device, setup, teardown),
		cmocka_unit_test_setup_teardown(discard_host, setup, teardown),
		cmocka_unit_test_setup_teardown(async, setup, teardown),
		cmocka_unit_test_setup_teardown(munmap_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(huge, setup_thp, teardown),
		cmocka_unit_test_setup_teardown(huge_partial, setup_thp, teardown),
		cmocka_unit_test_setup_teardown(random_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(mremap_within, setup, teardown),
		cmocka_unit_test_setup_teardown(mremap_out, setup, teardown),
		cmocka_unit_test_setup_teardown(dontneed, setup, teardown),
		cmocka_unit_test_setup_teardown(syscall_access, setup, teardown),
	};

	return cmocka_run_group_tests_name("kd_migrate", tests, NULL, NULL);
}
