// SPDX-License-Identifier: MIT
/*
 * kd_fork - fork() of the host while pages are on the device: copy-on-write
 * must keep every side right (hmm-tests: anon_write_child, exclusive_cow,
 * hmm_cow_in_device). The child sees the window as it was at fork; later
 * writes by the parent or the device do not show in the child, and the
 * child's writes show nowhere else.
 *
 *   child_reads         pages on the device at fork: the child reads them,
 *                       writes its own data; the parent and the device still
 *                       see the old data
 *   device_write_after  pages the device has touched (device view mapped) at
 *                       fork: the device writes after the fork, the parent
 *                       sees it, the child does not
 *   parent_write_after  the parent writes after the fork, the child writes
 *                       after that: each sees only its own writes, the device
 *                       sees the parent's
 *   shared_host_pages   pages on the host at fork (COW-shared by both
 *                       processes) are then migrated by device touches and
 *                       written by the device: the child still reads the old
 *                       data
 *   cow_in_device       (hmm_cow_in_device) the parent writes COW device pages
 *                       while the child lives; then kills it
 *   child_exits         a child that exits without touching anything leaves the
 *                       parent's device pages on the device and intact
 */
#include "kd_common.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define WINDOW KD_MIB(4)
#define N KD_MIB(1)

struct fixture {
	struct kd_ctx ctx;
	pid_t child;
	int go; /* write end: the child starts when it reads a byte */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, WINDOW, KD_MIB(8), 0)) {
		free(f);
		return -1;
	}
	/* Exact residency: host faults bring back their block, no more. */
	if (kd_set_attr(f->ctx.fd, f->ctx.base, WINDOW, FERRY_ATTR_PREFETCH, 0)) {
		kd_teardown(&f->ctx);
		free(f);
		return -1;
	}
	f->go = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	if (f->child > 0) {
		kill(f->child, SIGKILL);
		kd_wait_pid(f->child, 30);
	}
	if (f->go >= 0)
		close(f->go);
	r = kd_server_stop(&f->ctx);
	kd_teardown(&f->ctx);
	free(f);
	return r ? -1 : 0;
}

/* What a child checks and does once told to go; no CMocka in the child. */
struct child_plan {
	char *base;
	struct {
		size_t off, len;
		uint64_t seed; /* expected pattern */
	} expect[4];
	size_t nexpect;
	size_t write_off, write_len; /* then writes this with write_seed */
	uint64_t write_seed;
};

static int child_run(const struct child_plan *p)
{
	size_t i;

	for (i = 0; i < p->nexpect; i++) {
		ssize_t off = kd_check_pattern(p->base + p->expect[i].off, p->expect[i].len,
					       p->expect[i].seed);

		if (off >= 0) {
			fprintf(stderr, "child: window+%#zx differs from seed %" PRIu64 "\n",
				p->expect[i].off + (size_t)off, p->expect[i].seed);
			return 10 + (int)i;
		}
	}
	if (p->write_len) {
		kd_fill_pattern(p->base + p->write_off, p->write_len, p->write_seed);
		if (kd_check_pattern(p->base + p->write_off, p->write_len, p->write_seed) >= 0)
			return 20;
	}
	return 0;
}

/* Fork a child that waits for go, then runs @plan. */
static void child_start(struct fixture *f, const struct child_plan *plan)
{
	int pfd[2];
	char c;

	assert_int_equal(pipe(pfd), 0);
	fflush(stdout);
	fflush(stderr);
	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(99);
		_exit(child_run(plan));
	}
	close(pfd[0]);
	f->go = pfd[1];
}

static void child_finish(struct fixture *f)
{
	int st;

	assert_int_equal(write(f->go, "g", 1), 1);
	close(f->go);
	f->go = -1;
	st = kd_wait_pid(f->child, kd_timeout_s());
	f->child = 0;
	if (st == -ETIMEDOUT)
		fail_msg("the child did not finish");
	if (WIFSIGNALED(st))
		fail_msg("the child died of signal %d", WTERMSIG(st));
	if (WEXITSTATUS(st))
		fail_msg("the child failed its checks (exit %d, see its message)", WEXITSTATUS(st));
}

static void child_reads(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	struct child_plan plan = {.base = b,
				  .expect = {{0, N, 1}},
				  .nexpect = 1,
				  .write_off = 0,
				  .write_len = N,
				  .write_seed = 2};

	kd_fill_pattern(b, N, 1);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, N, FERRY_LOC_DEVICE, 0, NULL));
	child_start(f, &plan);
	child_finish(f);
	kd_assert_dev_check(&f->ctx, b, N, 1);
	kd_assert_host_check(b, N, 1);
}

static void device_write_after(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	struct child_plan plan = {.base = b, .expect = {{0, N, 3}}, .nexpect = 1};

	kd_fill_pattern(b, N, 3);
	kd_assert_dev_check(&f->ctx, b, N, 3); /* on the device, mapped in its view */
	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, b, N, 3));
	child_start(f, &plan);
	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, b, N / 2, 4));
	kd_assert_dev_check(&f->ctx, b, N / 2, 4);
	kd_assert_host_check(b, N / 2, 4);
	kd_assert_host_check(b + N / 2, N / 2, 3);
	child_finish(f);
	kd_assert_dev_check(&f->ctx, b, N / 2, 4);
	kd_assert_dev_check(&f->ctx, b + N / 2, N / 2, 3);
}

static void parent_write_after(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	const size_t Q = N / 4;
	struct child_plan plan = {.base = b,
				  .expect = {{0, N, 5}},
				  .nexpect = 1,
				  .write_off = 2 * Q,
				  .write_len = Q,
				  .write_seed = 7};

	kd_fill_pattern(b, N, 5);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, N, FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_dev_check(&f->ctx, b, N, 5);
	child_start(f, &plan);
	kd_fill_pattern(b + Q, Q, 6);
	child_finish(f);
	kd_assert_host_check(b, Q, 5);
	kd_assert_host_check(b + Q, Q, 6);
	kd_assert_host_check(b + 2 * Q, 2 * Q, 5);
	kd_assert_dev_check(&f->ctx, b, Q, 5);
	kd_assert_dev_check(&f->ctx, b + Q, Q, 6);
	kd_assert_dev_check(&f->ctx, b + 2 * Q, 2 * Q, 5);
}

static void shared_host_pages(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	struct child_plan plan = {.base = b, .expect = {{0, N, 8}}, .nexpect = 1};

	kd_fill_pattern(b, N, 8);
	child_start(f, &plan);
	kd_assert_dev_check(&f->ctx, b, N, 8);
	kd_assert_dev(&f->ctx, kd_dev_pattern(&f->ctx, b, N, 9));
	kd_assert_host_check(b, N, 9);
	child_finish(f);
	kd_assert_dev_check(&f->ctx, b, N, 9);
}

static void cow_in_device(void **state)
{
	struct fixture *f = *state;
	char *b = f->ctx.base;
	const size_t n = 4 * KD_PAGE;
	struct child_plan plan = {.base = b, .expect = {{0, n, 10}}, .nexpect = 1};
	int st;

	kd_fill_pattern(b, n, 10);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, n, FERRY_LOC_DEVICE, 0, NULL));
	child_start(f, &plan); /* waits until killed */
	kd_fill_pattern(b, n, 11);
	kd_assert_host_check(b, n, 11);
	assert_int_equal(kill(f->child, SIGTERM), 0);
	st = kd_wait_pid(f->child, 60);
	f->child = 0;
	assert_true(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	kd_assert_residency(f->ctx.fd, b, n, FERRY_RES_HOST);
	kd_assert_host_check(b, n, 11);
	kd_assert_dev_check(&f->ctx, b, n, 11);
}

static int exit_at_once(void *arg)
{
	(void)arg;
	return 0;
}

static void child_exits(void **state)
{
	struct fixture *f = *state;
	struct ferry_counters c;
	char *b = f->ctx.base;

	kd_fill_pattern(b, N, 12);
	kd_assert_ok(kd_migrate(f->ctx.fd, b, N, FERRY_LOC_DEVICE, 0, NULL));
	assert_int_equal(kd_run_child(exit_at_once, NULL, 60), 0);
	kd_assert_residency(f->ctx.fd, b, N, FERRY_RES_DEVICE);
	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	assert_int_equal(c.device_resident_pages, N / KD_PAGE);
	kd_assert_dev_check(&f->ctx, b, N, 12);
	kd_assert_host_check(b, N / 2, 12);
	kd_assert_residency(f->ctx.fd, b + N / 2, N / 2, FERRY_RES_DEVICE);
	assert_int_equal(munmap(b, WINDOW), 0);
	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	assert_int_equal(c.device_resident_pages, 0);
	kd_assert_ok(kd_map_anon(b, WINDOW, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(child_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(device_write_after, setup, teardown),
		cmocka_unit_test_setup_teardown(parent_write_after, setup, teardown),
		cmocka_unit_test_setup_teardown(shared_host_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(cow_in_device, setup, teardown),
		cmocka_unit_test_setup_teardown(child_exits, setup, teardown),
	};

	return cmocka_run_group_tests_name("kd_fork", tests, NULL, NULL);
}
