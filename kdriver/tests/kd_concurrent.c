// SPDX-License-Identifier: MIT
/*
 * kd_concurrent - host threads and device threads touching the same blocks
 * at once, with migrations and evictions racing them. Each worker owns one
 * 64-bit word of every page (kd_worker_run()): the pages, and so the blocks,
 * are fought over, but the expected contents are exact - every worker checks
 * its own previous write before the next one, and at the end word o of page
 * p must be kd_worker_value(o, p, iters) and every other word zero.
 *
 *   host_device         2 host + 2 device threads on 64 pages, 20 rounds
 *   with_migrations     the same while a host thread MIGRATEs random blocks
 *                       both ways (some ASYNC); every MIGRATE succeeds
 *   with_eviction       1 host + 1 device thread over 4 MiB with 2 MiB of
 *                       device memory (evicting already when they start)
 *   block_size_4k       host_device with 4 KiB blocks (page-sized ping-pong)
 *   migrate_storm       3 host threads MIGRATE random ranges of constant data
 *                       both ways while a host thread and the device read it:
 *                       every read exact, every MIGRATE 0
 */
#include "kd_common.h"

#include <pthread.h>
#include <stdatomic.h>

#define WINDOW KD_MIB(4)

struct fixture {
	struct kd_ctx ctx;
};

static int setup_cap(void **state, uint64_t capacity)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || kd_setup(&f->ctx, WINDOW, capacity, 0)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_cap(state, KD_MIB(8));
}

static int setup_small(void **state)
{
	return setup_cap(state, KD_MIB(2));
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r = kd_server_stop(&f->ctx);

	kd_teardown(&f->ctx);
	free(f);
	return r ? -1 : 0;
}

static void *host_worker(void *arg)
{
	kd_worker_run(arg);
	return NULL;
}

struct migrator {
	struct kd_ctx *ctx;
	size_t len; /* range the migrator works in */
	uint64_t seed;
	atomic_bool stop;
	unsigned int max_calls; /* 0: until stop */
	unsigned int calls;
	int first_error;
	uint64_t bad_call;
};

static void *migrator_thread(void *arg)
{
	struct migrator *m = arg;
	size_t blocks = m->len / KD_BLOCK;
	uint64_t rng = m->seed;

	while (!atomic_load(&m->stop) && (!m->max_calls || m->calls < m->max_calls)) {
		size_t first = kd_rand(&rng) % blocks;
		size_t n = 1 + kd_rand(&rng) % (blocks - first < 4 ? blocks - first : 4);
		uint32_t target = kd_rand(&rng) & 1 ? FERRY_LOC_DEVICE : FERRY_LOC_HOST;
		uint32_t flags = kd_rand(&rng) % 3 == 0 ? FERRY_MIGRATE_ASYNC : 0;
		uint64_t fence = 0;
		int32_t st = 0;
		int r = kd_migrate(m->ctx->fd, m->ctx->base + first * KD_BLOCK, n * KD_BLOCK,
				   target, flags, &fence);

		if (!r && flags)
			r = kd_wait(m->ctx->fd, fence, 0, &st);
		if (!r)
			r = st;
		if (r && !m->first_error) {
			m->first_error = r;
			m->bad_call = m->calls;
		}
		m->calls++;
	}
	return NULL;
}

/* @nhost host workers (owners 0..) and @ndev device workers race; check all. */
static void race(struct fixture *f, size_t npages, unsigned int nhost, unsigned int ndev,
		 unsigned int iters, bool migrations)
{
	struct kd_worker hw[4];
	pthread_t ht[4], mt;
	struct migrator m = {.ctx = &f->ctx, .len = npages * KD_PAGE, .seed = 99};
	struct ferry_counters c0, c1;
	uint64_t dev, host, faults, batches;
	unsigned int i, owners = nhost + ndev;
	char *b = f->ctx.base;
	size_t p;
	int r;

	assert_true(nhost <= 4 && owners <= KD_PAGE / 8);
	atomic_init(&m.stop, false);
	kd_assert_ok(kd_counters(f->ctx.fd, &c0));
	for (i = 0; i < nhost; i++) {
		hw[i] = (struct kd_worker){.base = b, .npages = npages, .owner = i, .iters = iters};
		assert_int_equal(pthread_create(&ht[i], NULL, host_worker, &hw[i]), 0);
	}
	if (migrations)
		assert_int_equal(pthread_create(&mt, NULL, migrator_thread, &m), 0);
	r = kd_dev_workers(&f->ctx, b, npages, nhost, ndev, iters);
	for (i = 0; i < nhost; i++)
		pthread_join(ht[i], NULL);
	atomic_store(&m.stop, true);
	if (migrations)
		pthread_join(mt, NULL);

	if (r)
		fail_msg("device workers: %s", kd_dev_strerror(&f->ctx, r));
	if (f->ctx.mismatches)
		fail_msg("device workers saw %" PRIu64 " lost updates, first at window+%#lx",
			 f->ctx.mismatches, (unsigned long)(f->ctx.first_bad - (uintptr_t)b));
	for (i = 0; i < nhost; i++)
		if (hw[i].errors)
			fail_msg("host worker %u saw %" PRIu64
				 " lost updates, first at window+%#lx",
				 i, hw[i].errors, (unsigned long)(hw[i].first_bad - (uintptr_t)b));
	/*
	 * Device faults are resolved in batches, host faults one at a time: never
	 * more batches than faults.
	 */
	kd_assert_ok(kd_counters(f->ctx.fd, &c1));
	dev = c1.faults_device - c0.faults_device;
	host = c1.faults_host - c0.faults_host;
	faults = dev + host;
	batches = c1.fault_batches - c0.fault_batches;
	print_message("%" PRIu64 " device and %" PRIu64 " host faults in %" PRIu64 " batches\n",
		      dev, host, batches);
	if (batches > faults)
		fail_msg("%" PRIu64 " fault batches for %" PRIu64 " faults", batches, faults);
	if (migrations) {
		print_message("%u migrations raced the workers\n", m.calls);
		if (m.first_error)
			fail_msg("MIGRATE call %" PRIu64 " failed: %s", m.bad_call,
				 kd_errname(m.first_error));
	}

	/* The exact final state, from the host and from the device. */
	kd_assert_dev(&f->ctx, kd_dev_read(&f->ctx, b, npages * KD_PAGE));
	for (p = 0; p < npages; p++) {
		const uint64_t *hp = (const uint64_t *)(b + p * KD_PAGE);
		const uint64_t *dp = (const uint64_t *)(f->ctx.staging + p * KD_PAGE);
		size_t w;

		for (w = 0; w < KD_PAGE / 8; w++) {
			uint64_t want = w < owners ? kd_worker_value(w, p, iters) : 0;

			if (hp[w] != want || dp[w] != want)
				fail_msg("page %zu word %zu: host %#" PRIx64 ", device %#" PRIx64
					 ", expected %#" PRIx64,
					 p, w, hp[w], dp[w], want);
		}
	}
}

static void host_device(void **state)
{
	race(*state, 64, 2, 2, 20, false);
}

static void with_migrations(void **state)
{
	race(*state, 64, 2, 2, 20, true);
}

static void with_eviction(void **state)
{
	struct fixture *f = *state;
	struct ferry_counters c;

	/* The device alone touches 4 MiB first: that much does not fit. */
	kd_assert_dev(&f->ctx, kd_dev_touch(&f->ctx, f->ctx.base, WINDOW, false));
	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	assert_true(c.evictions > 0);
	race(f, WINDOW / KD_PAGE, 1, 1, 3, false);
	kd_assert_ok(kd_counters(f->ctx.fd, &c));
	assert_true(c.device_peak_pages <= KD_MIB(2) / KD_PAGE);
}

static void block_size_4k(void **state)
{
	struct fixture *f = *state;

	kd_assert_ok(kd_set_attr(f->ctx.fd, f->ctx.base, WINDOW, FERRY_ATTR_BLOCK_SIZE, KD_PAGE));
	race(f, 64, 2, 2, 20, false);
}

struct reader {
	char *base;
	size_t len;
	uint64_t seed;
	atomic_bool *stop;
	unsigned int reads;
	ssize_t bad;
};

static void *reader_thread(void *arg)
{
	struct reader *rd = arg;
	uint64_t rng = 5;

	rd->bad = -1;
	while (!atomic_load(rd->stop)) {
		size_t blk = kd_rand(&rng) % (rd->len / KD_BLOCK);
		ssize_t off = kd_check_pattern(rd->base + blk * KD_BLOCK, KD_BLOCK, rd->seed);

		if (off >= 0 && rd->bad < 0)
			rd->bad = (ssize_t)(blk * KD_BLOCK) + off;
		rd->reads++;
	}
	return NULL;
}

static void migrate_storm(void **state)
{
	struct fixture *f = *state;
	const size_t len = KD_MIB(2);
	struct migrator m[3];
	struct reader rd;
	atomic_bool stop;
	pthread_t mt[3], rt;
	uint64_t rng = 3;
	int i;

	kd_fill_pattern(f->ctx.base, len, 8);
	atomic_init(&stop, false);
	rd = (struct reader){.base = f->ctx.base, .len = len, .seed = 8, .stop = &stop};
	assert_int_equal(pthread_create(&rt, NULL, reader_thread, &rd), 0);
	for (i = 0; i < 3; i++) {
		m[i] = (struct migrator){
			.ctx = &f->ctx, .len = len, .seed = 1000 + i, .max_calls = 150};
		atomic_init(&m[i].stop, false);
		assert_int_equal(pthread_create(&mt[i], NULL, migrator_thread, &m[i]), 0);
	}
	for (i = 0; i < 40; i++) {
		size_t blk = kd_rand(&rng) % (len / KD_BLOCK);

		kd_assert_dev_check(&f->ctx, f->ctx.base + blk * KD_BLOCK, KD_BLOCK, 8);
	}
	for (i = 0; i < 3; i++)
		pthread_join(mt[i], NULL);
	atomic_store(&stop, true);
	pthread_join(rt, NULL);
	for (i = 0; i < 3; i++)
		if (m[i].first_error)
			fail_msg("migrator %d: call %" PRIu64 " failed: %s", i, m[i].bad_call,
				 kd_errname(m[i].first_error));
	if (rd.bad >= 0)
		fail_msg("the host reader saw window+%#zx change", (size_t)rd.bad);
	print_message("migrate_storm: %u host block reads\n", rd.reads);
	kd_assert_host_check(f->ctx.base, len, 8);
	kd_assert_dev_check(&f->ctx, f->ctx.base, len, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(host_device, setup, teardown),
		cmocka_unit_test_setup_teardown(with_migrations, setup, teardown),
		cmocka_unit_test_setup_teardown(with_eviction, setup_small, teardown),
		cmocka_unit_test_setup_teardown(block_size_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(migrate_storm, setup, teardown),
	};

	return cmocka_run_group_tests_name("kd_concurrent", tests, NULL, NULL);
}
