// SPDX-License-Identifier: MIT
/*
 * kd_device - the device view: a second process maps the render node at the
 * window's address and its touches are device touches (hmm-tests: anon_read,
 * anon_write, anon_read_multiple, double_map's "read after migrate").
 *
 *   anon_read           the device reads host memory (two untouched pages read
 *                       zero); the touched blocks become device-resident
 *   anon_write          the device writes untouched memory; the host reads it
 *   zero_fill           device reads of untouched pages: zeros, counted as
 *                       zero_fill_device, device-resident
 *   after_migrate       the device reads what MIGRATE put on the device
 *                       without migrating anything
 *   touch_block         one device touch migrates exactly its 64 KiB block
 *   read_multiple       ten rounds of host fill, device read
 *   ping_pong           device and host take turns writing halves
 *   no_stale_view       after a page went back to the host and changed there,
 *                       the device sees the change (its view was invalidated),
 *                       and after the device changed it, the host does; page
 *                       by page, both directions
 *   accessed_by         ACCESSED_BY(device): device touches map the host pages
 *                       in place (residency stays host, nothing migrates, the
 *                       host sees device writes without faulting); clearing
 *                       the advice restores migration on touch
 *   preferred_host      PREFERRED_LOC(host): the same, in-place device access
 *   view_survives       the device view keeps working across host-side
 *                       MIGRATEs in both directions and DISCARD (to the host:
 *                       untouched, reads zero; to the device, of pages the
 *                       device holds and maps: zero-filled, device-resident)
 *   protections         the host's mprotect() binds the device (hmm-tests
 *                       anon_read_prot, anon_write_prot): no read of
 *                       PROT_NONE, no write of PROT_READ (a fault, nothing
 *                       changed); writable again, the device writes
 *   thp_touch           a device touch inside a transparent huge page moves
 *                       its 64 KiB block alone (the THP splits), data exact
 */
#include "kd_common.h"

#include <signal.h>
#include <sys/mman.h>

#define WINDOW KD_MIB(4)

struct fixture {
	struct kd_ctx ctx;
	struct ferry_counters before;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, WINDOW, KD_MIB(8), 0)) {
		free(f);
		return -1;
	}
	if (kd_set_attr(f->ctx.fd, f->ctx.base, f->ctx.size, FERRY_ATTR_PREFETCH, 0)) {
		kd_teardown(&f->ctx);
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
	return r ? -1 : 0; /* the server must still be alive and exit cleanly */
}

static void snap(struct fixture *f)
{
	kd_assert_ok(kd_counters(f->ctx.fd, &f->before));
}

static uint64_t counter_delta(struct fixture *f, size_t offset)
{
	struct ferry_counters c;

	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	return *(uint64_t *)((char *)&c + offset) - *(uint64_t *)((char *)&f->before + offset);
}

/* How much counter @field grew since snap(). */
#define delta(f, field) counter_delta(f, offsetof(struct ferry_counters, field))

static void anon_read(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	/* Pages 0 and 1 stay untouched (pte_none), the rest holds a pattern. */
	kd_fill_pattern(b + 2 * KD_PAGE, n - 2 * KD_PAGE, 1);
	snap(f);
	kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, b, n));
	assert_int_equal(kd_check_bytes(f->ctx.staging, 2 * KD_PAGE, 0), -1);
	assert_int_equal(kd_check_pattern_at(f->ctx.staging + 2 * KD_PAGE,
					     (uintptr_t)b + 2 * KD_PAGE, n - 2 * KD_PAGE, 1),
			 -1);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	assert_true(delta(f, faults_device) >= 1);
	assert_true(delta(f, pages_to_device) >= n / KD_PAGE - 2);
	kd_assert_host_check(b + 2 * KD_PAGE, n - 2 * KD_PAGE, 1);
	assert_int_equal(kd_check_bytes(b, 2 * KD_PAGE, 0), -1);
}

static void anon_write(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_fill_pattern_at(f->ctx.staging, (uintptr_t)b, n, 2);
	kd_assert_dev(&f->ctx, kd_dev_write(&f->ctx, b, n));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + n, WINDOW - n, FERRY_RES_UNTOUCHED);
	kd_assert_host_check(b, n, 2);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);
	kd_assert_dev_check(&f->ctx, b, n, 2);
}

static void zero_fill(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	memset(f->ctx.staging, 0xff, n);
	snap(f);
	kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, b, n));
	assert_int_equal(kd_check_bytes(f->ctx.staging, n, 0), -1);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	assert_int_equal(delta(f, zero_fill_device), n / KD_PAGE);
	assert_int_equal(delta(f, bytes_to_device), 0);
	assert_int_equal(kd_check_bytes(b, n, 0), -1);
}

static void after_migrate(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_fill_pattern(b, n, 3);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	snap(f);
	kd_assert_dev_check(&f->ctx, b, n, 3);
	assert_int_equal(delta(f, pages_to_device), 0);
	assert_int_equal(delta(f, pages_to_host), 0);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	kd_assert_host_check(b, n, 3);
}

static void touch_block(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;

	kd_fill_pattern(b, KD_REGION, 4);
	snap(f);
	kd_assert_dev(&f->ctx, kd_dev_touch(&f->ctx, b + 20 * KD_PAGE, KD_PAGE, false));
	kd_assert_residency(f->ctx.fd, b, 16 * KD_PAGE, FERRY_RES_HOST);
	kd_assert_residency(f->ctx.fd, b + 16 * KD_PAGE, KD_BLOCK, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + 32 * KD_PAGE, KD_REGION - 32 * KD_PAGE, FERRY_RES_HOST);
	assert_int_equal(delta(f, pages_to_device), KD_BLOCK_PAGES);
	assert_int_equal(delta(f, bytes_to_device), KD_BLOCK);
	kd_assert_host_check(b, KD_REGION, 4);
}

static void read_multiple(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);
	int c;

	for (c = 0; c < 10; c++) {
		kd_fill_pattern(b, n, 50 + c);
		kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, b, n));
		kd_assert_staging(&f->ctx, b, n, 50 + c);
	}
}

static void ping_pong(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);
	int r;

	for (r = 0; r < 5; r++) {
		kd_fill_pattern(b, n, 60 + r);
		kd_assert_dev_check(&f->ctx, b, n, 60 + r);
		kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, b + n / 2, n / 2, 160 + r));
		kd_assert_residency(f->ctx.fd, b + n / 2, n / 2, FERRY_RES_DEVICE);
		kd_assert_host_check(b, n / 2, 60 + r);
		kd_assert_host_check(b + n / 2, n / 2, 160 + r);
		kd_assert_dev_check(&f->ctx, b + n / 2, n / 2, 160 + r);
	}
}

static void no_stale_view(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t p;

	for (p = 0; p < 64; p++) {
		char *page = b + p * KD_PAGE;
		volatile uint64_t *w = (volatile uint64_t *)(page + 8 * (p % 512));

		/* The device writes, the host reads and writes, the device reads. */
		kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, page, KD_PAGE, 1000 + p));
		assert_int_equal(*w, kd_pattern_word((uintptr_t)w, 1000 + p));
		kd_fill_pattern(page, KD_PAGE, 2000 + p);
		kd_assert_dev_check(&f->ctx, page, KD_PAGE, 2000 + p);
		/* And again the other way round, on a page the device has mapped. */
		kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, page, KD_PAGE, 3000 + p));
		kd_assert_host_check(page, KD_PAGE, 3000 + p);
	}
}

static void in_place(struct fixture *f, uint32_t type, uint64_t value)
{
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_assert_ok(kd_set_attr(f->ctx.fd, b, n, type, value));
	kd_fill_pattern(b, n, 5);
	snap(f);
	kd_assert_dev_check(&f->ctx, b, n, 5);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);
	assert_int_equal(delta(f, pages_to_device), 0);

	/* Device writes land in the host's pages: no fault on the host. */
	kd_assert_dev(&f->ctx, kd_dev_fill(&f->ctx, b, KD_BLOCK, 0xab));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);
	assert_int_equal(kd_check_bytes(b, KD_BLOCK, 0xab), -1);
	assert_int_equal(delta(f, faults_host), 0);
	assert_int_equal(delta(f, pages_to_host), 0);
	/* Host writes are seen by the device in place too. */
	memset(b + KD_BLOCK, 0xcd, KD_BLOCK);
	kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, b + KD_BLOCK, KD_BLOCK));
	assert_int_equal(kd_check_bytes(f->ctx.staging, KD_BLOCK, 0xcd), -1);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);

	/* Without the advice, a device touch migrates again. */
	kd_assert_ok(kd_set_attr(f->ctx.fd, b, n, type, 0));
	kd_assert_dev(&f->ctx, kd_dev_touch(&f->ctx, b + n / 2, KD_PAGE, false));
	kd_assert_residency(f->ctx.fd, b + n / 2, KD_BLOCK, FERRY_RES_DEVICE);
	kd_assert_host_check(b + 2 * KD_BLOCK, n - 2 * KD_BLOCK, 5);
	assert_int_equal(kd_check_bytes(b, KD_BLOCK, 0xab), -1);
	assert_int_equal(kd_check_bytes(b + KD_BLOCK, KD_BLOCK, 0xcd), -1);
}

static void accessed_by(void **state)
{
	in_place(*state, FERRY_ATTR_ACCESSED_BY, 1u << FERRY_LOC_DEVICE);
}

static void preferred_host(void **state)
{
	in_place(*state, FERRY_ATTR_PREFERRED_LOC, FERRY_LOC_HOST);
}

static void view_survives(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	size_t n = KD_MIB(1);

	kd_fill_pattern(b, n, 7);
	kd_assert_dev_check(&f->ctx, b, n, 7);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_HOST, 0, NULL));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);
	kd_assert_dev_check(&f->ctx, b, n, 7);
	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, b, n, 8));
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_HOST, 0, NULL));
	kd_assert_host_check(b, n, 8);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_dev_check(&f->ctx, b, n, 8);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD, NULL));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_UNTOUCHED);
	kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, b, n));
	assert_int_equal(kd_check_bytes(f->ctx.staging, n, 0), -1);
	/*
	 * DISCARD to the device of pages the device holds (and has mapped):
	 * they stay device-resident, zero-filled (ferry_uapi.h), nothing copied.
	 */
	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, b, n, 9));
	snap(f);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, FERRY_MIGRATE_DISCARD, NULL));
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_DEVICE);
	assert_int_equal(delta(f, bytes_to_device), 0);
	kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, b, n));
	assert_int_equal(kd_check_bytes(f->ctx.staging, n, 0), -1);
	assert_int_equal(kd_check_bytes(b, n, 0), -1);
	/* The view still works: the device writes, the host reads. */
	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, b, n, 10));
	kd_assert_host_check(b, n, 10);
}

static int setup_thp(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, WINDOW, KD_MIB(8), KD_THP)) {
		free(f);
		return -1;
	}
	if (kd_set_attr(f->ctx.fd, f->ctx.base, f->ctx.size, FERRY_ATTR_PREFETCH, 0)) {
		kd_teardown(&f->ctx);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* A device command must fault (the host's protection forbids the access). */
static void expect_fault(struct kd_ctx *ctx, int r, const char *what)
{
	if (r != SIGBUS && r != SIGSEGV)
		fail_msg("%s: %s, expected SIGBUS or SIGSEGV", what,
			 r ? kd_dev_strerror(ctx, r) : "completed");
}

static void protections(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	const size_t n = KD_KIB(256);

	kd_fill_pattern(b, 2 * n, 11);
	/* PROT_NONE: the device cannot read either (hmm-tests anon_read_prot). */
	assert_int_equal(mprotect(b, n, PROT_NONE), 0);
	expect_fault(&f->ctx, kd_dev_read(&f->ctx, b, n), "device read of PROT_NONE");
	/* PROT_READ: the device reads, cannot write (anon_write_prot). */
	assert_int_equal(mprotect(b, n, PROT_READ), 0);
	kd_assert_dev_check(&f->ctx, b, n, 11);
	expect_fault(&f->ctx, kd_dev_fill(&f->ctx, b + KD_BLOCK, KD_PAGE, 0xee),
		     "device write of PROT_READ");
	kd_assert_host_check(b, n, 11);
	/* Writable again: the device writes. */
	assert_int_equal(mprotect(b, n, PROT_READ | PROT_WRITE), 0);
	kd_assert_dev(&f->ctx, kd_dev_fill(&f->ctx, b + KD_BLOCK, KD_PAGE, 0xee));
	assert_int_equal(kd_check_bytes(b + KD_BLOCK, KD_PAGE, 0xee), -1);
	kd_assert_host_check(b, KD_BLOCK, 11);
	kd_assert_host_check(b + KD_BLOCK + KD_PAGE, 2 * n - KD_BLOCK - KD_PAGE, 11);
}

static void thp_touch(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;

	kd_fill_pattern(b, KD_REGION, 12); /* one huge page, if THP gives one */
	kd_assert_dev(&f->ctx, kd_dev_touch(&f->ctx, b + 37 * KD_PAGE, KD_PAGE, true));
	kd_assert_residency(f->ctx.fd, b, 32 * KD_PAGE, FERRY_RES_HOST);
	kd_assert_residency(f->ctx.fd, b + 32 * KD_PAGE, KD_BLOCK, FERRY_RES_DEVICE);
	kd_assert_residency(f->ctx.fd, b + 48 * KD_PAGE, KD_REGION - 48 * KD_PAGE, FERRY_RES_HOST);
	kd_assert_dev_check(&f->ctx, b, KD_REGION, 12);
	kd_assert_host_check(b, KD_REGION, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(anon_read, setup, teardown),
		cmocka_unit_test_setup_teardown(anon_write, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(after_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(touch_block, setup, teardown),
		cmocka_unit_test_setup_teardown(read_multiple, setup, teardown),
		cmocka_unit_test_setup_teardown(ping_pong, setup, teardown),
		cmocka_unit_test_setup_teardown(no_stale_view, setup, teardown),
		cmocka_unit_test_setup_teardown(accessed_by, setup, teardown),
		cmocka_unit_test_setup_teardown(preferred_host, setup, teardown),
		cmocka_unit_test_setup_teardown(view_survives, setup, teardown),
		cmocka_unit_test_setup_teardown(protections, setup, teardown),
		cmocka_unit_test_setup_teardown(thp_touch, setup_thp, teardown),
	};

	return cmocka_run_group_tests_name("kd_device", tests, NULL, NULL);
}
