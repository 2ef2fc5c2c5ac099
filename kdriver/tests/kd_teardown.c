// SPDX-License-Identifier: MIT
/*
 * kd_teardown - the host or the device going away while pages are on the
 * device (hmm-tests: migrate_release, anon_teardown; and what a driver with a
 * separate device process must add). "No leak" is checked the strict way: a
 * fresh VA space of the module's default capacity takes every device page
 * (kd_check_full_capacity(): migrate that much, no eviction).
 *
 *   full_capacity        the check itself passes on a clean module
 *   close_with_pages     the host closes the file with pages on the device
 *                        (some migrated, some device-touched): the host still
 *                        reads every byte; then nothing leaks
 *   close_then_munmap    close, then munmap without touching: nothing leaks
 *   munmap_with_pages    munmap of the window frees the device pages at once
 *                        (device_resident_pages 0 while the file is open)
 *   exit_with_pages      a host process killed with pages on the device and a
 *                        live device server: nothing leaks
 *   host_exit_sigbus     the host process dies; its device server's touches of
 *                        pages that were on the host (or untouched) get
 *                        SIGBUS, never hang; the server itself survives
 *   host_munmap_sigbus   the host unmaps the window: device touches get
 *                        SIGBUS; remapped, the device reads zeros
 *   unmap_during_read    the device reads 1 MiB while a host thread unmaps
 *                        half of it (ten times): either the read completes
 *                        with the right data or it faults in the unmapped half
 *   reopen_loop          twenty VA spaces torn down in different orders
 */
#include "kd_common.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#define WINDOW KD_MIB(4)

/* Reap every child (orphaned grandchildren come to us as subreaper). */
static void reap_all(int timeout_s)
{
	time_t end = time(NULL) + timeout_s;
	int st;

	while (time(NULL) <= end) {
		pid_t r = waitpid(-1, &st, WNOHANG);

		if (r < 0)
			return; /* no children left */
		if (r == 0)
			usleep(5000);
	}
	print_message("children still alive after %d s\n", timeout_s);
}

static void assert_no_leak(void)
{
	reap_all(60);
	if (kd_check_full_capacity())
		fail_msg("device pages leaked (see above)");
}

static void full_capacity(void **state)
{
	(void)state;
	assert_no_leak();
}

static void close_with_pages(void **state)
{
	struct kd_ctx ctx;
	char *b;

	(void)state;
	kd_assert_ok(kd_setup(&ctx, WINDOW, KD_MIB(8), 0));
	b = ctx.base;
	kd_fill_pattern(b, WINDOW, 1);
	kd_assert_dev_check(&ctx, b, KD_MIB(1), 1);
	kd_assert_ok(kd_migrate(ctx.fd, b + KD_MIB(1), KD_MIB(2), FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_dev(&ctx, kd_dev_pattern(&ctx, b + KD_MIB(3), KD_MIB(1), 2));
	kd_assert_residency(ctx.fd, b, WINDOW, FERRY_RES_DEVICE);
	assert_int_equal(kd_server_stop(&ctx), 0);
	assert_int_equal(close(ctx.fd), 0);
	ctx.fd = -1;
	kd_assert_host_check(b, KD_MIB(3), 1);
	kd_assert_host_check(b + KD_MIB(3), KD_MIB(1), 2);
	kd_teardown(&ctx);
	assert_no_leak();
}

static void close_then_munmap(void **state)
{
	struct kd_ctx ctx;

	(void)state;
	kd_assert_ok(kd_setup(&ctx, WINDOW, KD_MIB(8), 0));
	kd_fill_pattern(ctx.base, WINDOW, 3);
	kd_assert_dev_check(&ctx, ctx.base, KD_MIB(2), 3);
	kd_assert_ok(kd_migrate(ctx.fd, ctx.base, WINDOW, FERRY_LOC_DEVICE, 0, NULL));
	/* The device server still holds the file while the host closes it. */
	assert_int_equal(close(ctx.fd), 0);
	ctx.fd = -1;
	assert_int_equal(munmap(ctx.base, WINDOW), 0);
	ctx.base = NULL;
	assert_int_equal(kd_server_stop(&ctx), 0);
	kd_teardown(&ctx);
	assert_no_leak();
}

static void munmap_with_pages(void **state)
{
	struct ferry_counters c;
	struct kd_ctx ctx;

	(void)state;
	kd_assert_ok(kd_setup(&ctx, WINDOW, KD_MIB(8), 0));
	kd_fill_pattern(ctx.base, WINDOW, 4);
	kd_assert_dev_check(&ctx, ctx.base, KD_MIB(1), 4);
	kd_assert_ok(kd_migrate(ctx.fd, ctx.base, WINDOW, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_ok(kd_counters(ctx.fd, &c));
	assert_int_equal(c.device_resident_pages, WINDOW / KD_PAGE);
	assert_int_equal(munmap(ctx.base, WINDOW), 0);
	kd_assert_ok(kd_counters(ctx.fd, &c));
	assert_int_equal(c.device_resident_pages, 0);
	/* Remapped: a new, untouched window. */
	kd_assert_ok(kd_map_anon(ctx.base, WINDOW, false));
	kd_assert_residency(ctx.fd, ctx.base, WINDOW, FERRY_RES_UNTOUCHED);
	assert_int_equal(kd_check_bytes(ctx.base, WINDOW, 0), -1);
	kd_teardown(&ctx);
	assert_no_leak();
}

static int exit_child(void *arg)
{
	struct kd_ctx ctx;

	(void)arg;
	if (kd_setup(&ctx, WINDOW, KD_MIB(8), 0))
		return 1;
	kd_fill_pattern(ctx.base, WINDOW, 5);
	if (kd_dev_check(&ctx, ctx.base, KD_MIB(1), 5) || ctx.mismatches)
		return 2;
	if (kd_migrate(ctx.fd, ctx.base + KD_MIB(1), KD_MIB(3), FERRY_LOC_DEVICE, 0, NULL))
		return 3;
	raise(SIGKILL);
	return 4;
}

static void exit_with_pages(void **state)
{
	(void)state;
	assert_int_equal(kd_run_child(exit_child, NULL, kd_timeout_s()), 1000 + SIGKILL);
	assert_no_leak();
}

/* The host process of host_exit_sigbus: set up, tell the parent, wait to die. */
static void host_process(struct kd_ctx *ctx, int ready, int go)
{
	char c = 0;

	if (kd_host_setup(ctx) || kd_server_spawn(ctx))
		_exit(1);
	kd_fill_pattern(ctx->base, KD_MIB(1), 6);
	if (kd_migrate(ctx->fd, ctx->base, KD_KIB(512), FERRY_LOC_DEVICE, 0, NULL))
		_exit(2);
	if (write(ready, &c, 1) != 1)
		_exit(3);
	if (read(go, &c, 1) < 0)
		_exit(4);
	_exit(0);
}

static void expect_sigbus(struct kd_ctx *ctx, void *addr, size_t len)
{
	int r = kd_dev_read(ctx, addr, len);

	if (r != SIGBUS)
		fail_msg("device read of window+%#lx: %s, expected SIGBUS",
			 (unsigned long)((char *)addr - ctx->base),
			 r ? kd_dev_strerror(ctx, r) : "completed");
	if (ctx->fault_addr < (uintptr_t)addr || ctx->fault_addr >= (uintptr_t)addr + len)
		fail_msg("SIGBUS at %#lx, outside [%p, +%#zx)", (unsigned long)ctx->fault_addr,
			 addr, len);
}

static void host_exit_sigbus(void **state)
{
	int ready[2], go[2], r;
	struct kd_ctx ctx;
	char c;
	pid_t host;

	(void)state;
	kd_assert_ok(kd_prepare(&ctx, WINDOW, KD_MIB(8), KD_ORPHAN));
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	fflush(stdout);
	host = fork();
	assert_true(host >= 0);
	if (host == 0) {
		close(ready[0]);
		close(go[1]);
		host_process(&ctx, ready[1], go[0]);
	}
	close(ready[1]);
	close(go[0]);
	close(ctx.srv_sock);
	ctx.srv_sock = -1;
	r = (int)read(ready[0], &c, 1);
	if (r != 1) {
		kd_wait_pid(host, 30);
		fail_msg("the host process failed to set up");
	}
	/* The server is the host's child; we talk to it directly. */
	ctx.server = -1;
	kill(host, SIGKILL);
	assert_true(WIFSIGNALED(kd_wait_pid(host, 60)));

	/* Pages that were on the host, and untouched ones: SIGBUS, quickly. */
	setenv("FERRY_KD_TIMEOUT", "60", 1);
	expect_sigbus(&ctx, ctx.base + KD_KIB(512), KD_KIB(512));
	expect_sigbus(&ctx, ctx.base + KD_MIB(2), KD_PAGE);
	/* Pages that were on the device were freed with the host's memory. */
	r = kd_dev_read(&ctx, ctx.base, KD_KIB(512));
	if (r == 0)
		kd_assert_staging(&ctx, ctx.base, KD_KIB(512), 6);
	else if (r != SIGBUS)
		fail_msg("device read of formerly device-resident pages: %s",
			 kd_dev_strerror(&ctx, r));
	expect_sigbus(&ctx, ctx.base + KD_MIB(3), KD_KIB(64));
	unsetenv("FERRY_KD_TIMEOUT");

	/* The server is alive and exits when told. */
	{
		struct kd_req req = {.op = KD_OP_EXIT};
		struct kd_rep rep;

		kd_assert_ok(kd_dev_cmd(&ctx, &req, &rep));
	}
	close(ctx.sock);
	ctx.sock = -1;
	ctx.server = 0;
	close(ready[0]);
	close(go[1]);
	kd_teardown(&ctx);
	assert_no_leak();
}

static void host_munmap_sigbus(void **state)
{
	struct ferry_counters c;
	struct kd_ctx ctx;

	(void)state;
	kd_assert_ok(kd_setup(&ctx, WINDOW, KD_MIB(8), 0));
	kd_fill_pattern(ctx.base, KD_MIB(1), 7);
	kd_assert_dev_check(&ctx, ctx.base, KD_KIB(512), 7);
	assert_int_equal(munmap(ctx.base, WINDOW), 0);
	kd_assert_ok(kd_counters(ctx.fd, &c));
	assert_int_equal(c.device_resident_pages, 0);
	setenv("FERRY_KD_TIMEOUT", "60", 1);
	expect_sigbus(&ctx, ctx.base + KD_KIB(512), KD_KIB(512));
	expect_sigbus(&ctx, ctx.base, KD_KIB(512));
	expect_sigbus(&ctx, ctx.base + KD_MIB(2), KD_PAGE);
	unsetenv("FERRY_KD_TIMEOUT");
	/* A new mapping at the window: untouched, the device reads zeros. */
	kd_assert_ok(kd_map_anon(ctx.base, WINDOW, false));
	memset(ctx.staging, 0xff, KD_MIB(1));
	kd_assert_dev(&ctx, kd_dev_read(&ctx, ctx.base, KD_MIB(1)));
	assert_int_equal(kd_check_bytes(ctx.staging, KD_MIB(1), 0), -1);
	kd_assert_dev(&ctx, kd_dev_pattern(&ctx, ctx.base, KD_MIB(1), 8));
	kd_assert_host_check(ctx.base, KD_MIB(1), 8);
	kd_teardown(&ctx);
	assert_no_leak();
}

struct unmapper {
	char *addr;
	size_t len;
	unsigned int delay_us;
};

static void *unmap_thread(void *arg)
{
	struct unmapper *u = arg;

	usleep(u->delay_us);
	munmap(u->addr, u->len);
	return NULL;
}

static void unmap_during_read(void **state)
{
	struct ferry_counters c;
	struct kd_ctx ctx;
	uint64_t rng = 7, count[4];
	size_t n = KD_MIB(1);
	int i, completed = 0, faulted = 0;

	(void)state;
	kd_assert_ok(kd_setup(&ctx, WINDOW, KD_MIB(8), 0));
	for (i = 0; i < 10; i++) {
		/* Early unmaps (the read faults) and late ones (it completes). */
		unsigned int delay = (unsigned int)(i & 1 ? kd_rand(&rng) % 2000
							  : 50000 + kd_rand(&rng) % 200000);
		struct unmapper u = {ctx.base + n / 2, n / 2, delay};
		pthread_t t;
		int r;

		kd_fill_pattern(ctx.base, n, 10 + i);
		assert_int_equal(pthread_create(&t, NULL, unmap_thread, &u), 0);
		r = kd_dev_read(&ctx, ctx.base, n);
		pthread_join(t, NULL);
		if (r == 0) {
			completed++;
			kd_assert_staging(&ctx, ctx.base, n, 10 + i);
		} else if (r == SIGBUS) {
			faulted++;
			if (ctx.fault_addr < (uintptr_t)ctx.base + n / 2 ||
			    ctx.fault_addr >= (uintptr_t)ctx.base + n)
				fail_msg("round %d: SIGBUS at window+%#lx, outside the unmapped "
					 "half",
					 i, (unsigned long)(ctx.fault_addr - (uintptr_t)ctx.base));
		} else {
			fail_msg("round %d: %s", i, kd_dev_strerror(&ctx, r));
		}
		kd_assert_host_check(ctx.base, n / 2, 10 + i);
		kd_assert_ok(kd_residency(ctx.fd, ctx.base, n / 2, NULL, count));
		kd_assert_ok(kd_counters(ctx.fd, &c));
		assert_int_equal(c.device_resident_pages, count[FERRY_RES_DEVICE]);
		kd_assert_ok(kd_map_anon(ctx.base + n / 2, n / 2, false));
	}
	print_message("unmap_during_read: %d reads completed, %d faulted\n", completed, faulted);
	kd_teardown(&ctx);
	assert_no_leak();
}

static void reopen_loop(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		struct kd_ctx ctx;

		kd_assert_ok(kd_setup(&ctx, WINDOW, KD_MIB(2), i % 4 == 3 ? KD_NO_SERVER : 0));
		kd_fill_pattern(ctx.base, KD_MIB(2), 20 + i);
		if (ctx.server)
			kd_assert_dev_check(&ctx, ctx.base, KD_MIB(1), 20 + i);
		kd_assert_ok(kd_migrate(ctx.fd, ctx.base + KD_MIB(1), KD_MIB(1), FERRY_LOC_DEVICE,
					0, NULL));
		switch (i % 4) {
		case 0: /* munmap, then the rest */
			munmap(ctx.base, WINDOW);
			ctx.base = NULL;
			break;
		case 1: /* close first */
			close(ctx.fd);
			ctx.fd = -1;
			break;
		case 2: /* kill the device first */
			kd_server_kill(&ctx);
			break;
		default:
			break;
		}
		kd_teardown(&ctx);
	}
	assert_no_leak();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_capacity),      cmocka_unit_test(close_with_pages),
		cmocka_unit_test(close_then_munmap),  cmocka_unit_test(munmap_with_pages),
		cmocka_unit_test(exit_with_pages),    cmocka_unit_test(host_exit_sigbus),
		cmocka_unit_test(host_munmap_sigbus), cmocka_unit_test(unmap_during_read),
		cmocka_unit_test(reopen_loop),
	};

	/* Orphaned device servers come back to us, so that we can wait for them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return 1;
	return cmocka_run_group_tests_name("kd_teardown", tests, NULL, NULL);
}
