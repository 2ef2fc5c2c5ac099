/* SPDX-License-Identifier: MIT */
/*
 * test_failure.c - either process dying.
 *
 * Device death: ferry-device is SIGKILLed (while a large asynchronous
 * migration is in flight, while idle, or while the host is blocked in faults).
 * Every call that needs the device then returns -ENODEV in bounded time,
 * ferry_device_alive() returns 0, and the window stays usable as plain host
 * memory with every page's data kept, including pages that lived (or were
 * written) on the device before the kill.
 *
 * Host death: the application is SIGKILLed; its device process must be gone
 * within a second. The test process is a child subreaper, so it inherits and
 * reaps the orphaned device.
 */
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "test_common.h"

/* Did @pid exit? Reaps it when it is our child (or was reparented to us). */
static int process_gone(pid_t pid)
{
	char path[64], buf[256], *s;
	int status;
	pid_t r;
	FILE *f;

	r = waitpid(pid, &status, WNOHANG);
	if (r == pid)
		return 1;
	if (r == 0)
		return 0;
	/* Not our child: gone when it does not exist or is a zombie. */
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	s = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (s && (s = strrchr(buf, ')')) && (s[1] == ' ') && (s[2] == 'Z' || s[2] == 'X'))
		return 1;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll until @pid is gone or @ms passed; returns 1 if gone. */
static int wait_gone(pid_t pid, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		if (process_gone(pid))
			return 1;
		if (now_ms() >= end)
			return 0;
		usleep(2000);
	}
}

/* After a device death: the calls that need the device say -ENODEV. */
static void assert_dead(struct ferry_ctx *ctx, uint8_t *p, uint64_t fence)
{
	uint64_t f = 0, v = 0, count[4];
	struct ferry_counters c;
	uint8_t res[2];
	int rc;

	assert_int_equal(ferry_device_alive(ctx), 0);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, FERRY_LOC_DEVICE, 0, NULL), -ENODEV);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, FERRY_LOC_HOST, 0, NULL), -ENODEV);
	ft_assert_rc(ferry_migrate(ctx, p, FT_PAGE, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, &f),
		     -ENODEV);
	if (fence)
		ft_assert_rc(ferry_wait(ctx, fence), -ENODEV);
	ft_assert_rc(ferry_dev_fill(ctx, p, 64, 1), -ENODEV);
	ft_assert_rc(ferry_dev_check(ctx, p, 64, 1), -ENODEV);
	ft_assert_rc(ferry_dev_read(ctx, p, res, 1), -ENODEV);
	ft_assert_rc(ferry_set_attr(ctx, p, FT_PAGE, FERRY_ATTR_PREFETCH, 0), -ENODEV);
	assert_null(ferry_alloc(ctx, FT_PAGE, 0));
	/* Queries may answer from what the host knows, or say -ENODEV. */
	rc = ferry_get_attr(ctx, p, FT_PAGE, FERRY_ATTR_BLOCK_SIZE, &v);
	if (rc != 0 && rc != -ENODEV)
		fail_msg("ferry_get_attr after the device died returned %d (%s)", rc,
			 ft_errname(rc));
	rc = ferry_counters(ctx, &c);
	if (rc != 0 && rc != -ENODEV)
		fail_msg("ferry_counters after the device died returned %d (%s)", rc,
			 ft_errname(rc));
	rc = ferry_query_residency(ctx, p, 2 * FT_PAGE, res, count);
	if (rc != 0 && rc != -ENODEV)
		fail_msg("ferry_query_residency after the device died returned %d (%s)", rc,
			 ft_errname(rc));
	assert_true(ferry_strerror(-ENODEV) != NULL);
}

/*
 * SIGKILL the device while a chain of 128 MiB asynchronous migrations is in
 * flight. Before: 16 MiB migrated to the device, half of it then written by
 * the device only.
 */
static void test_kill_during_async_migration(void **state)
{
	const uint64_t presz = FT_MIB(16), bigsz = FT_MIB(128);
	struct ferry_options o;
	struct ferry_ctx *ctx;
	uint64_t rng, s1, s2, s3, s4, f1 = 0, f2 = 0, f3 = 0;
	uint8_t *pre, *big;
	pid_t dev;
	int rc;

	(void)state;
	rng = ft_rng_init(__func__);
	s1 = ft_rand_seed(&rng);
	s2 = ft_rand_seed(&rng);
	s3 = ft_rand_seed(&rng);
	s4 = ft_rand_seed(&rng);
	ft_default_options(&o);
	o.device_memory = FT_MIB(256);
	ctx = ft_open(&o);
	ft_guard(120, __func__);
	pre = ft_alloc(ctx, presz, FT_REGION);
	big = ft_alloc(ctx, bigsz, FT_REGION);
	dev = ferry_device_pid(ctx);
	assert_true(dev > 0);
	assert_int_equal(ferry_device_alive(ctx), 1);

	ft_step("host fill");
	ft_host_fill(pre, presz, s1);
	ft_host_fill(big, bigsz, s2);
	ft_step("migrate 16 MiB to the device");
	ft_migrate(ctx, pre, presz, FERRY_LOC_DEVICE);
	ft_assert_ok(ferry_dev_fill(ctx, pre + presz / 2, presz / 2, s3));
	ft_assert_resident(ctx, pre, presz, FERRY_RES_DEVICE);

	ft_step("async migrations");
	ft_assert_ok(ferry_migrate(ctx, big, bigsz, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, &f1));
	ft_assert_ok(ferry_migrate(ctx, big, bigsz, FERRY_LOC_HOST, FERRY_MIGRATE_ASYNC, &f2));
	ft_assert_ok(ferry_migrate(ctx, big, bigsz, FERRY_LOC_DEVICE, FERRY_MIGRATE_ASYNC, &f3));
	ft_step("kill the device");
	assert_int_equal(kill(dev, SIGKILL), 0);

	ft_guard(60, __func__);
	ft_step("ferry_wait after the kill");
	rc = ferry_wait(ctx, f1);
	if (rc != 0 && rc != -ENODEV)
		fail_msg("ferry_wait(f1) returned %d (%s), expected 0 or -ENODEV", rc,
			 ft_errname(rc));
	rc = ferry_wait(ctx, f2);
	if (rc != 0 && rc != -ENODEV)
		fail_msg("ferry_wait(f2) returned %d (%s), expected 0 or -ENODEV", rc,
			 ft_errname(rc));
	/* Three 128 MiB moves cannot have finished in the microseconds before the kill. */
	ft_assert_rc(ferry_wait(ctx, f3), -ENODEV);
	ft_step("calls after the kill");
	assert_dead(ctx, big, f3);

	/* No data lost: device-resident and device-written pages included. */
	ft_step("host check of the pages that were on the device");
	ft_assert_host_pattern(pre, presz / 2, s1);
	ft_assert_host_pattern(pre + presz / 2, presz / 2, s3);
	ft_step("host check of the pages in flight");
	ft_assert_host_pattern(big, bigsz, s2);

	/* Plain host memory from now on. */
	ft_step("host writes after the kill");
	ft_host_fill(pre, presz, s4);
	ft_host_fill(big, FT_MIB(8), s4);
	ft_assert_host_pattern(pre, presz, s4);
	ft_assert_host_pattern(big, FT_MIB(8), s4);
	ft_assert_host_pattern(big + FT_MIB(8), bigsz - FT_MIB(8), s2);
	assert_int_equal(ferry_device_alive(ctx), 0);
	ft_close(ctx);
}

/* SIGKILL the device while idle: ferry_device_alive notices, data is kept. */
static void test_kill_idle(void **state)
{
	const uint64_t size = FT_MIB(8);
	struct ferry_ctx *ctx;
	uint8_t *p;
	pid_t dev;

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, size, FT_REGION);
	dev = ferry_device_pid(ctx);
	ft_step("host fill");
	ft_host_fill(p, size, 61);
	ft_step("migrate to the device");
	ft_migrate(ctx, p, size / 2, FERRY_LOC_DEVICE);
	ft_step("device fill");
	ft_assert_ok(ferry_dev_fill(ctx, p + size / 4, size / 2, 62));
	ft_assert_resident(ctx, p, 3 * size / 4, FERRY_RES_DEVICE);

	ft_step("kill the idle device");
	assert_int_equal(kill(dev, SIGKILL), 0);
	/* Noticed in bounded time (the guard), without any call that needs the device. */
	ft_step("ferry_device_alive after the kill");
	while (ferry_device_alive(ctx))
		usleep(1000);
	ft_step("calls after the kill");
	assert_dead(ctx, p, 0);
	ft_step("host check");
	ft_assert_host_pattern(p, size / 4, 61);
	ft_assert_host_pattern(p + size / 4, size / 2, 62);
	ft_assert_host_pattern(p + 3 * size / 4, size / 4, 61);
	ft_close(ctx);
}

struct reader {
	const uint8_t *p;
	uint64_t size, seed;
	volatile uint64_t progress; /* pages read so far */
	uint64_t bad;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t off;

	for (off = 0; off < r->size; off += FT_PAGE) {
		r->bad += ft_host_check(r->p + off, FT_PAGE, r->seed);
		__atomic_store_n(&r->progress, off / FT_PAGE + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* SIGKILL the device while a host thread faults its way through device pages. */
static void test_kill_during_host_faults(void **state)
{
	const uint64_t size = FT_MIB(64);
	struct ferry_options o;
	struct ferry_ctx *ctx;
	struct reader r;
	uint64_t at_kill;
	pthread_t t;
	uint8_t *p;
	pid_t dev;

	(void)state;
	ft_default_options(&o);
	o.block_size = FT_PAGE; /* many small faults: the kill lands in the middle */
	o.prefetch = 0;
	o.device_memory = FT_MIB(128);
	ctx = ft_open(&o);
	p = ft_alloc(ctx, size, FT_REGION);
	dev = ferry_device_pid(ctx);
	ft_host_fill(p, size, 71);
	ft_step("migrate to the device");
	ft_migrate(ctx, p, size, FERRY_LOC_DEVICE);
	/* The data exists on the device only: the device rewrites it. */
	ft_step("device fill");
	ft_assert_ok(ferry_dev_fill(ctx, p, size, 72));
	ft_assert_resident(ctx, p, size, FERRY_RES_DEVICE);

	memset(&r, 0, sizeof(r));
	r.p = p;
	r.size = size;
	r.seed = 72;
	assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
	ft_step("waiting for the reader to fault");
	while (__atomic_load_n(&r.progress, __ATOMIC_ACQUIRE) < 64)
		usleep(100);
	ft_step("kill the device under host faults");
	assert_int_equal(kill(dev, SIGKILL), 0);
	at_kill = __atomic_load_n(&r.progress, __ATOMIC_ACQUIRE);
	ft_step("join the reader (hangs if a host fault is never resolved)");
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("  reader was at page %" PRIu64 " of %" PRIu64 " at the kill\n", at_kill,
		      (uint64_t)(size / FT_PAGE));
	ft_assert_u64_eq(r.bad, 0);
	ft_step("calls after the kill");
	assert_dead(ctx, p, 0);
	ft_assert_host_pattern(p, size, 72);
	ft_close(ctx);
}

/* ferry_close stops the device process. */
static void test_close_stops_device(void **state)
{
	struct ferry_ctx *ctx;
	uint8_t *p;
	pid_t dev;

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, FT_MIB(2), FT_REGION);
	ft_assert_ok(ferry_dev_fill(ctx, p, FT_MIB(2), 5));
	dev = ferry_device_pid(ctx);
	assert_true(dev > 0);
	ft_close(ctx);
	ft_guard(30, __func__);
	ft_step("device exit after ferry_close");
	while (!process_gone(dev))
		usleep(2000);
	ft_unguard();
}

/*
 * A child of fork() that closes its copy of the context lets go of its copy
 * only: the parent's device, data and context carry on.
 */
static void test_close_in_fork_child(void **state)
{
	struct ferry_ctx *ctx;
	uint8_t *p;
	pid_t dev, child;
	int st = -1;

	(void)state;
	ctx = ft_open(NULL);
	p = ft_alloc(ctx, FT_MIB(2), FT_REGION);
	ft_assert_ok(ferry_dev_fill(ctx, p, FT_MIB(1), 6));
	dev = ferry_device_pid(ctx);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		ferry_close(ctx);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_false(process_gone(dev));
	assert_int_equal(ferry_device_alive(ctx), 1);
	ft_assert_rc(ferry_dev_check(ctx, p, FT_MIB(1), 6), 0);
	ft_host_fill(p + FT_MIB(1), FT_MIB(1), 7);
	ft_migrate(ctx, p, FT_MIB(2), FERRY_LOC_HOST);
	ft_assert_host_pattern(p + FT_MIB(1), FT_MIB(1), 7);
	ft_close(ctx);
}

/*
 * The host dies: a child opens a context, reports its device pid, and is
 * SIGKILLed. The device must be gone within 1 second.
 */
static void test_host_death(void **state)
{
	struct ferry_options o;
	int64_t msg = 0;
	pid_t child, dev;
	int fd[2], status, gone;
	ssize_t n;

	(void)state;
	ft_guard(60, __func__);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	assert_int_equal(pipe(fd), 0);
	ft_default_options(&o);

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct ferry_ctx *ctx = NULL;
		int rc;

		close(fd[0]);
		alarm(60);
		rc = ferry_open(&o, &ctx);
		if (rc == 0) {
			uint8_t *p = ferry_alloc(ctx, FT_MIB(4), FT_REGION);

			/* Some state on both sides, and the device busy with it. */
			if (p) {
				ft_host_fill(p, FT_MIB(4), 3);
				ferry_migrate(ctx, p, FT_MIB(2), FERRY_LOC_DEVICE, 0, NULL);
			}
			msg = ferry_device_pid(ctx);
		} else {
			msg = rc;
		}
		if (write(fd[1], &msg, sizeof(msg)) != sizeof(msg))
			_exit(1);
		for (;;)
			pause();
	}
	close(fd[1]);
	ft_step("reading the device pid from the child");
	n = read(fd[0], &msg, sizeof(msg));
	close(fd[0]);
	if (n != sizeof(msg) || msg <= 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		if (n == sizeof(msg) && msg == -EPERM) {
			ft_unguard();
			skip();
		}
		fail_msg("child: ferry_open failed: %" PRId64 " (%s)", msg,
			 n == sizeof(msg) ? ft_errname(msg) : "no message");
	}
	dev = (pid_t)msg;

	ft_step("kill the host");
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	ft_step("waiting for the orphaned device to exit");
	gone = wait_gone(dev, 1000);
	if (!gone) {
		kill(dev, SIGKILL);
		wait_gone(dev, 10000);
	}
	/* Reap anything else the child left behind. */
	while (waitpid(-1, &status, WNOHANG) > 0)
		;
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	ft_unguard();
	if (!gone)
		fail_msg("device process %d still alive 1 s after its host was killed", (int)dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_during_async_migration),
		cmocka_unit_test(test_kill_idle),
		cmocka_unit_test(test_kill_during_host_faults),
		cmocka_unit_test(test_close_stops_device),
		cmocka_unit_test(test_close_in_fork_child),
		cmocka_unit_test(test_host_death),
	};

	return cmocka_run_group_tests_name("failure", tests, NULL, NULL);
}
