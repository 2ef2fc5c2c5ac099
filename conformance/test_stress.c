/* SPDX-License-Identifier: MIT */
/*
 * test_stress.c - oversubscription and concurrent ping-pong.
 *
 * Oversubscription: 64 MiB streamed by the device through 32 MiB of device
 * memory. Blocks are evicted to system memory, never lost, and device
 * residency never exceeds the capacity (device_peak_pages is the high-water
 * mark, so checking it after each phase covers "at all times"). The eviction
 * mechanism runs with the thrashing response off (FERRY_THRASHING_THRESHOLD=0);
 * with it on (the default), the sweeps pin what does not fit on the host and
 * the device maps it in place: nothing is lost either, the resident subset
 * stays put from one sweep to the next, and pins that run out are let go.
 *
 * Concurrency: 4 host threads and the device (FERRY_DEV_INC, several device
 * threads) increment disjoint u64 words that share pages and 64 KiB blocks,
 * so the blocks ping-pong between host and device for a bounded time. Every
 * word must end with exactly the number of increments made to it.
 */
#include <pthread.h>

#include "test_common.h"

static void assert_capacity(struct ferry_ctx *ctx, const char *phase)
{
	struct ferry_counters c;

	ft_counters(ctx, &c);
	print_message("  %-28s resident %6" PRIu64 " peak %6" PRIu64 " capacity %6" PRIu64
		      " evictions %6" PRIu64 " pages evicted %7" PRIu64 " thrashing %" PRIu64 "\n",
		      phase, (uint64_t)c.device_resident_pages, (uint64_t)c.device_peak_pages,
		      (uint64_t)c.device_capacity_pages, (uint64_t)c.evictions,
		      (uint64_t)c.pages_evicted, (uint64_t)c.thrashing);
	if (c.device_cached_pages > c.device_capacity_pages)
		fail_msg("%s: device_cached_pages %llu > device_capacity_pages %llu", phase,
			 (unsigned long long)c.device_cached_pages,
			 (unsigned long long)c.device_capacity_pages);
	if (c.device_peak_pages > c.device_capacity_pages)
		fail_msg("%s: device_peak_pages %" PRIu64 " > device_capacity_pages %" PRIu64,
			 phase, (uint64_t)c.device_peak_pages, (uint64_t)c.device_capacity_pages);
	if (c.device_resident_pages > c.device_capacity_pages)
		fail_msg("%s: device_resident_pages %" PRIu64 " > device_capacity_pages %" PRIu64,
			 phase, (uint64_t)c.device_resident_pages,
			 (uint64_t)c.device_capacity_pages);
}

/* Run the rest of a test with FERRY_THRASHING_* set (inherited by ferry-device). */
static void thrash_env(const char *threshold, const char *window_ms, const char *pin_ms)
{
	assert_int_equal(setenv("FERRY_THRASHING_THRESHOLD", threshold, 1), 0);
	assert_int_equal(setenv("FERRY_THRASHING_WINDOW_MS", window_ms, 1), 0);
	assert_int_equal(setenv("FERRY_THRASHING_PIN_MS", pin_ms, 1), 0);
}

static int thrash_env_clear(void **state)
{
	(void)state;
	unsetenv("FERRY_THRASHING_THRESHOLD");
	unsetenv("FERRY_THRASHING_WINDOW_MS");
	unsetenv("FERRY_THRASHING_PIN_MS");
	return 0;
}

/* One device sweep of @op (FERRY_DEV_CHECK, _FILL) over [p, p + size) with @threads. */
static uint64_t dev_sweep(struct ferry_ctx *ctx, uint32_t op, void *p, uint64_t size, uint64_t seed,
			  uint32_t threads)
{
	struct ferry_dev_work w = {0};

	w.op = op;
	w.threads = threads;
	w.addr = (uint64_t)(uintptr_t)p;
	w.size = size;
	w.seed = seed;
	ft_assert_ok(ferry_device_work(ctx, &w, NULL));
	return w.result;
}

/* One device check sweep over [p, p + size): every word as the host wrote it. */
static void dev_check(struct ferry_ctx *ctx, void *p, uint64_t size, uint64_t seed,
		      uint32_t threads, const char *what)
{
	uint64_t bad = dev_sweep(ctx, FERRY_DEV_CHECK, p, size, seed, threads);

	if (bad)
		fail_msg("%s: %" PRIu64 " mismatching words", what, bad);
}

static void oversubscribe(uint32_t threads, const char *test)
{
	const uint64_t devmem = FT_MIB(32), size = 2 * devmem;
	struct ferry_counters c0, c1;
	struct ferry_options o;
	struct ferry_ctx *ctx;
	uint64_t rng, s1, s2, count[4];
	uint8_t *p;

	rng = ft_rng_init(test);
	s1 = ft_rand_seed(&rng);
	s2 = ft_rand_seed(&rng);
	ft_default_options(&o);
	o.device_memory = devmem;
	thrash_env("0", "2000", "2000"); /* the eviction mechanism: no pins */
	ctx = ft_open_at(&o, test);
	ft_guard(300, test);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_counters(ctx, &c0);
	ft_assert_u64_eq(c0.device_capacity_pages, devmem / FT_PAGE);

	ft_step("host fill");
	ft_host_fill(p, size, s1);
	assert_capacity(ctx, "after host fill");

	ft_step("device check (streams 2x capacity)");
	dev_check(ctx, p, size, s1, threads, "device check over 2x capacity");
	assert_capacity(ctx, "after device check");

	ft_step("device fill");
	dev_sweep(ctx, FERRY_DEV_FILL, p, size, s2, threads);
	assert_capacity(ctx, "after device fill");

	ft_step("host check");
	ft_assert_host_pattern(p, size, s2);
	assert_capacity(ctx, "after host check");

	/* Once more the other way round: device reads what the host just faulted back. */
	ft_step("second device check");
	ft_assert_dev_pattern(ctx, p, size, s2);
	assert_capacity(ctx, "after second device check");

	ft_counters(ctx, &c1);
	ft_assert_u64_cmp(c1.evictions - c0.evictions, >, 0);
	ft_assert_u64_cmp(c1.pages_evicted - c0.pages_evicted, >, 0);
	ft_residency(ctx, p, size, NULL, count);
	ft_assert_u64_cmp(count[FERRY_RES_DEVICE], <=, c1.device_capacity_pages);
	ft_assert_u64_eq(count[FERRY_RES_UNTOUCHED], 0);
	ft_close(ctx);
}

static void test_oversubscription(void **state)
{
	(void)state;
	oversubscribe(1, __func__);
}

static void test_oversubscription_threads(void **state)
{
	(void)state;
	oversubscribe(4, __func__);
}

/* One letter a 2 MiB region: D all on the device, h none, d some. */
static void print_regions(struct ferry_ctx *ctx, const uint8_t *p, uint64_t size, const char *when)
{
	uint64_t rp = FT_MIB(2) / FT_PAGE, n = size / FT_MIB(2), count[4];
	uint8_t *st = malloc(size / FT_PAGE);
	char line[160];

	assert_non_null(st);
	ft_residency(ctx, p, size, st, count);
	for (uint64_t r = 0; r < n && r < sizeof(line) - 1; r++) {
		uint64_t dev = 0;

		for (uint64_t i = 0; i < rp; i++)
			dev += st[r * rp + i] == FERRY_RES_DEVICE;
		line[r] = dev == rp ? 'D' : dev ? 'd' : 'h';
	}
	line[n < sizeof(line) - 1 ? n : sizeof(line) - 1] = 0;
	print_message("  regions %-18s %s\n", when, line);
	free(st);
}

/*
 * The thrashing response (user backend): sweeps twice the device's size pin
 * what does not fit on the host, and the device maps it in place. Nothing is
 * lost, residency stays within the capacity, the second and third sweeps
 * move nothing (the resident subset stays), and device writes through the
 * in-place mapping reach the host. The pins here outlast the test.
 */
static void thrash_pin(uint32_t threads, const char *test)
{
	const uint64_t devmem = FT_MIB(32), size = 2 * devmem;
	struct ferry_counters c0, c1, c2;
	struct ferry_options o;
	struct ferry_ctx *ctx;
	uint64_t rng = ft_rng_init(test), s1 = ft_rand_seed(&rng), s2 = ft_rand_seed(&rng);
	uint64_t count[4];
	uint8_t *p;

	ft_default_options(&o);
	o.device_memory = devmem;
	thrash_env("2", "600000", "600000");
	ctx = ft_open_at(&o, test);
	ft_guard(300, test);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, s1);
	ft_counters(ctx, &c0);

	ft_step("first sweep (2x capacity)");
	dev_check(ctx, p, size, s1, threads, "first sweep");
	assert_capacity(ctx, "after first sweep");
	ft_counters(ctx, &c1);
	print_regions(ctx, p, size, "after first sweep");
	print_message("  first sweep: %" PRIu64 " MiB to the device, %" PRIu64
		      " evictions, %" PRIu64 " pins, %" PRIu64 " pinned\n",
		      (uint64_t)(c1.bytes_to_device - c0.bytes_to_device) >> 20,
		      (uint64_t)(c1.evictions - c0.evictions),
		      (uint64_t)(c1.thrashing_pins - c0.thrashing_pins),
		      (uint64_t)c1.thrashing_pinned);
	if (ft_backend(ctx) == FERRY_BACKEND_USER) {
		ft_assert_u64_cmp(c1.thrashing_pins - c0.thrashing_pins, >, 0);
		ft_assert_u64_cmp(c1.thrashing_pinned, >, 0);
		/* what was pinned stayed on the host: at most the capacity moved */
		ft_assert_u64_cmp(c1.pages_to_device - c0.pages_to_device, <=, devmem / FT_PAGE);
	}

	ft_step("second and third sweeps");
	dev_check(ctx, p, size, s1, threads, "second sweep");
	dev_check(ctx, p, size, s1, threads, "third sweep");
	assert_capacity(ctx, "after third sweep");
	print_regions(ctx, p, size, "after third sweep");
	ft_counters(ctx, &c2);
	if (ft_backend(ctx) == FERRY_BACKEND_USER) {
		/* a stable resident subset: nothing moved, nothing evicted */
		ft_assert_u64_eq(c2.evictions, c1.evictions);
		ft_assert_u64_eq(c2.pages_to_device, c1.pages_to_device);
		ft_residency(ctx, p, size, NULL, count);
		ft_assert_u64_cmp(count[FERRY_RES_HOST], >=,
				  c2.thrashing_pinned * (FT_MIB(2) / FT_PAGE) / 2);
	}

	ft_step("device fill through the in-place mapping, host check");
	dev_sweep(ctx, FERRY_DEV_FILL, p, size, s2, threads);
	assert_capacity(ctx, "after device fill");
	ft_assert_host_pattern(p, size, s2);
	ft_assert_dev_pattern(ctx, p, size, s2);
	assert_capacity(ctx, "after checks");
	ft_close(ctx);
}

static void test_thrashing_pin(void **state)
{
	(void)state;
	thrash_pin(1, __func__);
}

static void test_thrashing_pin_threads(void **state)
{
	(void)state;
	thrash_pin(4, __func__);
}

/*
 * Pins run out: with 300 ms pins, the next device work after they expired
 * lets the pinned regions go (the in-place mappings end), the sweep faults
 * them again and pins them again; the data stay right throughout.
 */
static void test_thrashing_release(void **state)
{
	const uint64_t devmem = FT_MIB(32), size = 2 * devmem;
	struct ferry_counters c1, c2;
	struct ferry_options o;
	struct ferry_ctx *ctx;
	uint64_t seed = 0x7468726173680001ULL;
	uint8_t *p;

	(void)state;
	ft_default_options(&o);
	o.device_memory = devmem;
	thrash_env("2", "600000", "300");
	ctx = ft_open(&o);
	p = ft_alloc(ctx, size, FT_REGION);
	ft_host_fill(p, size, seed);
	dev_check(ctx, p, size, seed, 2, "first sweep");
	ft_counters(ctx, &c1);
	if (ft_backend(ctx) != FERRY_BACKEND_USER) {
		ft_close(ctx);
		skip();
	}
	ft_assert_u64_cmp(c1.thrashing_pinned, >, 0);
	usleep(400 * 1000);
	dev_check(ctx, p, size, seed, 2, "sweep after the pins ran out");
	assert_capacity(ctx, "after the second sweep");
	ft_counters(ctx, &c2);
	print_message("  pins %" PRIu64 " then %" PRIu64 ", pinned %" PRIu64 " then %" PRIu64 "\n",
		      (uint64_t)c1.thrashing_pins, (uint64_t)c2.thrashing_pins,
		      (uint64_t)c1.thrashing_pinned, (uint64_t)c2.thrashing_pinned);
	/* let go, faulted again, pinned again */
	ft_assert_u64_cmp(c2.thrashing_pins, >, c1.thrashing_pins);
	ft_assert_u64_cmp(c2.thrashing_pinned, <=, c2.thrashing_pins);
	assert_int_equal(ft_host_check(p, size, seed), 0);
	ft_close(ctx);
}

/* ---- concurrency ------------------------------------------------------------- */

#define HOST_THREADS 4
#define BLOCKS 4
#define PAGES (BLOCKS * FERRY_DEFAULT_BLOCK_SIZE / FT_PAGE)
#define WORDS_PER_PAGE (FT_PAGE / 8)
#define RUN_MS 2500
#define MAX_HOST_PASSES 100000
#define MAX_DEV_CALLS 100000
#define DEV_REPEAT 4
#define DEV_THREADS 2

struct pingpong {
	struct ferry_ctx *ctx;
	volatile uint64_t *p; /* PAGES pages: word 0 device, word 1 + t host thread t */
	struct timespec deadline;
	int start;
	int err;
	uint64_t passes[HOST_THREADS];
	uint64_t dev_calls;
};

struct worker {
	struct pingpong *pp;
	int id;
};

static int past(const struct timespec *d)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static void wait_start(struct pingpong *pp)
{
	while (!__atomic_load_n(&pp->start, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void *host_worker(void *arg)
{
	struct worker *w = arg;
	struct pingpong *pp = w->pp;
	uint64_t pass, page;

	wait_start(pp);
	for (pass = 0; pass < MAX_HOST_PASSES && !past(&pp->deadline); pass++)
		for (page = 0; page < PAGES; page++)
			pp->p[page * WORDS_PER_PAGE + 1 + w->id]++;
	pp->passes[w->id] = pass;
	return NULL;
}

static void *device_worker(void *arg)
{
	struct pingpong *pp = arg;
	struct ferry_dev_work dw;
	uint64_t calls;

	wait_start(pp);
	for (calls = 0; calls < MAX_DEV_CALLS && !past(&pp->deadline); calls++) {
		int rc;

		memset(&dw, 0, sizeof(dw));
		dw.op = FERRY_DEV_INC;
		dw.threads = DEV_THREADS;
		dw.addr = (uint64_t)(uintptr_t)pp->p;
		dw.size = PAGES * FT_PAGE;
		dw.stride = FT_PAGE;
		dw.repeat = DEV_REPEAT;
		rc = ferry_device_work(pp->ctx, &dw, NULL);
		if (rc) {
			pp->err = rc;
			break;
		}
	}
	pp->dev_calls = calls;
	return NULL;
}

/* Word @i of a page holds the count it must hold after the run. */
static uint64_t expected_word(const struct pingpong *pp, uint64_t i)
{
	if (i == 0)
		return pp->dev_calls * DEV_REPEAT;
	if (i <= HOST_THREADS)
		return pp->passes[i - 1];
	return 0;
}

static void verify_words(const struct pingpong *pp, const uint64_t *words, const char *who)
{
	uint64_t page, i, bad = 0, fp = 0, fi = 0, fv = 0;

	for (page = 0; page < PAGES; page++) {
		for (i = 0; i < WORDS_PER_PAGE; i++) {
			uint64_t v = words[page * WORDS_PER_PAGE + i];

			if (v != expected_word(pp, i)) {
				if (!bad) {
					fp = page;
					fi = i;
					fv = v;
				}
				bad++;
			}
		}
	}
	if (bad)
		fail_msg("%s view: %" PRIu64 " words wrong; first: page %" PRIu64 " word %" PRIu64
			 " = %" PRIu64 ", expected %" PRIu64 " (%s)",
			 who, bad, fp, fi, fv, expected_word(pp, fi),
			 fi == 0	      ? "device increments"
			 : fi <= HOST_THREADS ? "host thread"
					      : "untouched");
}

static void pingpong_run(int prefetch, const char *test)
{
	struct ferry_counters c0, c1;
	struct worker workers[HOST_THREADS];
	pthread_t th[HOST_THREADS], dt;
	struct pingpong pp;
	uint64_t *copy;
	int i;

	memset(&pp, 0, sizeof(pp));
	pp.ctx = ft_open_bp_at(FERRY_DEFAULT_BLOCK_SIZE, prefetch, 0, test);
	ft_guard(180, test);
	pp.p = ft_alloc(pp.ctx, PAGES * FT_PAGE, FT_REGION);
	/* Start with zeros, written by the device: everything on the device. */
	copy = calloc(PAGES, FT_PAGE);
	assert_non_null(copy);
	ft_assert_ok(ferry_dev_write(pp.ctx, (void *)pp.p, copy, PAGES * FT_PAGE));
	free(copy);
	ft_assert_resident(pp.ctx, (void *)pp.p, PAGES * FT_PAGE, FERRY_RES_DEVICE);
	ft_counters(pp.ctx, &c0);

	for (i = 0; i < HOST_THREADS; i++) {
		workers[i].pp = &pp;
		workers[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, host_worker, &workers[i]), 0);
	}
	assert_int_equal(pthread_create(&dt, NULL, device_worker, &pp), 0);
	clock_gettime(CLOCK_MONOTONIC, &pp.deadline);
	pp.deadline.tv_sec += RUN_MS / 1000;
	pp.deadline.tv_nsec += (RUN_MS % 1000) * 1000000L;
	if (pp.deadline.tv_nsec >= 1000000000L) {
		pp.deadline.tv_sec++;
		pp.deadline.tv_nsec -= 1000000000L;
	}
	ft_step("ping-pong (a hang here is a deadlock)");
	__atomic_store_n(&pp.start, 1, __ATOMIC_RELEASE);
	for (i = 0; i < HOST_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(pthread_join(dt, NULL), 0);
	ft_assert_rc(pp.err, 0);
	ft_counters(pp.ctx, &c1);

	print_message("  host passes %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		      ", device calls %" PRIu64 "; faults host %" PRIu64 " device %" PRIu64
		      ", thrashing %" PRIu64 "\n",
		      pp.passes[0], pp.passes[1], pp.passes[2], pp.passes[3], pp.dev_calls,
		      (uint64_t)(c1.faults_host - c0.faults_host),
		      (uint64_t)(c1.faults_device - c0.faults_device),
		      (uint64_t)(c1.thrashing - c0.thrashing));
	for (i = 0; i < HOST_THREADS; i++)
		ft_assert_u64_cmp(pp.passes[i], >, 0);
	ft_assert_u64_cmp(pp.dev_calls, >, 0);

	ft_step("verify");
	copy = malloc(PAGES * FT_PAGE);
	assert_non_null(copy);
	ft_assert_ok(ferry_dev_read(pp.ctx, (const void *)pp.p, copy, PAGES * FT_PAGE));
	verify_words(&pp, copy, "device");
	memcpy(copy, (const void *)pp.p, PAGES * FT_PAGE);
	verify_words(&pp, copy, "host");
	free(copy);
	ft_close(pp.ctx);
}

static void test_pingpong(void **state)
{
	(void)state;
	pingpong_run(0, __func__);
}

static void test_pingpong_prefetch(void **state)
{
	(void)state;
	pingpong_run(1, __func__);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_oversubscription, thrash_env_clear),
		cmocka_unit_test_teardown(test_oversubscription_threads, thrash_env_clear),
		cmocka_unit_test_teardown(test_thrashing_pin, thrash_env_clear),
		cmocka_unit_test_teardown(test_thrashing_pin_threads, thrash_env_clear),
		cmocka_unit_test_teardown(test_thrashing_release, thrash_env_clear),
		cmocka_unit_test(test_pingpong),
		cmocka_unit_test(test_pingpong_prefetch),
	};

	return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
