/* SPDX-License-Identifier: MIT */
/*
 * test_smi.c - ferry-smi reports what the driver interface reports.
 *
 * The test opens a VA space, moves parts of three allocations around, runs
 * `ferry-smi --json --pid <self>` while quiescent and checks, field by field,
 * that the counters equal ferry_counters() and every allocation's page counts
 * equal ferry_query_residency(). Also: the statistics page exists while the VA space
 * is open (mode 0600) and not after ferry_close; a process that is not a
 * Ferry process, a dead pid and bad arguments fail cleanly; a stopped
 * process shows its last snapshot; a dead device is reported.
 *
 * The JSON is read by a small strict parser (support/json.c): the whole
 * document must be valid JSON, with no duplicate keys.
 */
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "support/json.h"
#include "test_common.h"

#ifndef FERRY_SMI_PATH
#error "FERRY_SMI_PATH (the built ferry-smi) must be defined"
#endif

/* ---- running ferry-smi ------------------------------------------------------ */

struct smi_run {
	int status; /* exit status, or -1 when it did not exit normally */
	char *out, *err;
};

static char *slurp(FILE *f)
{
	size_t room = 4096, n = 0, got;
	char *buf = malloc(room);

	assert_non_null(buf);
	while ((got = fread(buf + n, 1, room - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == room) {
			room *= 2;
			buf = realloc(buf, room);
			assert_non_null(buf);
		}
	}
	buf[n] = '\0';
	return buf;
}

static const char *smi_path(void)
{
	const char *p = getenv("FERRY_SMI");

	return p && *p ? p : FERRY_SMI_PATH;
}

/* Run ferry-smi with @args (shell words); stdout and stderr captured. */
static void smi(const char *args, struct smi_run *r)
{
	char errpath[] = "/tmp/ferry-smi-err.XXXXXX", cmd[1024];
	int fd = mkstemp(errpath), st;
	FILE *f;

	assert_true(fd >= 0);
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>'%s'", smi_path(), args, errpath);
	ft_step(cmd);
	f = popen(cmd, "r");
	if (!f)
		fail_msg("popen(%s): %s", cmd, strerror(errno));
	r->out = slurp(f);
	st = pclose(f);
	r->status = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	f = fdopen(fd, "r");
	assert_non_null(f);
	r->err = slurp(f);
	fclose(f);
	unlink(errpath);
}

static void smi_free(struct smi_run *r)
{
	free(r->out);
	free(r->err);
}

/*
 * Run `ferry-smi --json --pid @pid`: it must succeed and list that one
 * process; returns its VA space whose window is @ctx's (with @ctx), or its
 * only one.
 */
static struct jv *smi_vas(struct ferry_ctx *ctx, pid_t pid, struct jv **doc)
{
	struct smi_run r;
	struct jv *procs, *p, *vs;
	char args[64];

	snprintf(args, sizeof(args), "--json --pid %d", (int)pid);
	smi(args, &r);
	if (r.status != 0)
		fail_msg("ferry-smi %s exited with %d; stderr:\n%s", args, r.status, r.err);
	*doc = jparse(r.out);
	smi_free(&r);
	ft_assert_u64_eq(ju64(*doc, "version"), 1);
	procs = jtype(*doc, "processes", J_ARR);
	ft_assert_u64_eq(jlen(procs), 1);
	p = procs->child;
	ft_assert_u64_eq(ju64(p, "pid"), (uint64_t)pid);
	vs = jtype(p, "vaspaces", J_ARR);
	if (!ctx) {
		ft_assert_u64_eq(jlen(vs), 1);
		return vs->child;
	}
	for (struct jv *v = vs->child; v; v = v->next)
		if (ju64(v, "window_base") == (uint64_t)(uintptr_t)ferry_window_base(ctx))
			return v;
	fail_msg("ferry-smi lists no VA space with the window at %p", ferry_window_base(ctx));
	return NULL;
}

static const char *const counter_names[] = {
	"faults_host",
	"faults_device",
	"fault_batches",
	"pages_to_device",
	"pages_to_host",
	"bytes_to_device",
	"bytes_to_host",
	"zero_fill_host",
	"zero_fill_device",
	"evictions",
	"pages_evicted",
	"pages_prefetched",
	"thrashing",
	"fault_ns",
	"migrate_ns",
	"device_resident_pages",
	"device_capacity_pages",
	"device_peak_pages",
	"device_cached_pages",
	"whole_regions",
	"thrashing_pins",
	"thrashing_pinned",
};

/*
 * Counters that stopped moving: the fault thread accounts a fault (fault_ns)
 * after it woke the faulting thread, so they may lag a touch briefly.
 */
static void quiesce(struct ferry_ctx *ctx, struct ferry_counters *c)
{
	struct ferry_counters prev;

	ft_assert_ok(ferry_counters(ctx, &prev));
	for (int i = 0; i < 250; i++) {
		usleep(20 * 1000);
		ft_assert_ok(ferry_counters(ctx, c));
		if (memcmp(&prev, c, sizeof(*c)) == 0)
			return;
		prev = *c;
	}
	fail_msg("the counters kept changing for 5 s");
}

static void assert_counters(const struct jv *vas, const struct ferry_counters *c)
{
	const struct jv *jc = jtype(vas, "counters", J_OBJ);
	const uint64_t *v = (const uint64_t *)c; /* every field is a u64, in this order */

	ft_assert_u64_eq(jlen(jc), FT_ARRAY_SIZE(counter_names));
	for (size_t i = 0; i < FT_ARRAY_SIZE(counter_names); i++) {
		uint64_t got = ju64(jc, counter_names[i]);

		if (got != v[i])
			fail_msg("ferry-smi: counters.%s = %" PRIu64 ", ferry_counters: %" PRIu64,
				 counter_names[i], got, v[i]);
	}
}

static const struct jv *find_alloc(const struct jv *vas, const void *base)
{
	const struct jv *list = jtype(vas, "allocations", J_ARR);

	for (const struct jv *a = list->child; a; a = a->next)
		if (ju64(a, "base") == (uint64_t)(uintptr_t)base)
			return a;
	fail_msg("ferry-smi lists no allocation at %p", base);
	return NULL;
}

static void assert_alloc(struct ferry_ctx *ctx, const struct jv *vas, const void *base,
			 uint64_t size, const char *kind)
{
	static const char *const state[4] = {"untouched", "host", "device", "duplicated"};
	const struct jv *a = find_alloc(vas, base);
	uint64_t count[4];

	ft_assert_ok(ferry_query_residency(ctx, base, size, NULL, count));
	ft_assert_u64_eq(ju64(a, "size"), size);
	ft_assert_u64_eq(ju64(a, "pages"), size / FT_PAGE);
	assert_string_equal(jstr(a, "kind"), kind);
	ft_assert_u64_eq(ju64(a, "status"), 0);
	for (int i = 0; i < 4; i++) {
		uint64_t got = ju64(a, state[i]);

		if (got != count[i])
			fail_msg("allocation %p: ferry-smi says %" PRIu64 " pages %s, "
				 "ferry_query_residency %" PRIu64,
				 base, got, state[i], count[i]);
	}
}

/* The statistics pages of this process in /dev/shm. */
static int count_pages(pid_t pid, char *first, size_t room)
{
	char prefix[64];
	struct dirent *e;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), "ferry-%d-", (int)pid);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			if (!n++ && first)
				snprintf(first, room, "/dev/shm/%s", e->d_name);
		}
	closedir(d);
	return n;
}

/* The page with the highest serial number of @pid (the last opened), malloc()ed. */
static char *newest_page(pid_t pid)
{
	char prefix[64], *best = NULL;
	unsigned long max = 0;
	struct dirent *e;
	DIR *d = opendir("/dev/shm");

	if (!d)
		return NULL;
	snprintf(prefix, sizeof(prefix), "ferry-%d-", (int)pid);
	while ((e = readdir(d))) {
		unsigned long n;

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		n = strtoul(e->d_name + strlen(prefix), NULL, 10);
		if (!best || n > max) {
			free(best);
			max = n;
			if (asprintf(&best, "/dev/shm/%s", e->d_name) < 0)
				best = NULL;
		}
	}
	closedir(d);
	return best;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_json_matches_queries(void **state)
{
	struct ferry_counters c0, c1;
	struct jv *doc, *vas, *snap;
	struct smi_run r;
	struct ferry_ctx *ctx;
	uint8_t *a, *b, *c;
	char args[64], *needle;

	(void)state;
	ctx = ft_open(NULL);
	a = ft_alloc(ctx, FT_MIB(4), FT_REGION);
	b = ft_alloc(ctx, FT_MIB(1) + 3 * FT_PAGE, 0);
	c = ferry_alloc_coherent(ctx, FT_KIB(64), 0);
	assert_non_null(c);

	ft_step("moving pages");
	ft_host_fill(a, FT_MIB(3), 1); /* host, then ... */
	ft_assert_ok(ferry_migrate(ctx, a + FT_MIB(1), FT_MIB(1), FERRY_LOC_DEVICE, 0, NULL));
	ft_assert_ok(ferry_dev_fill(ctx, b, FT_KIB(512), 2));	       /* device first touch */
	*(volatile uint64_t *)(b + FT_MIB(1) + 2 * FT_PAGE) = 7;       /* host first touch */
	ft_assert_u64_eq(ft_host_check(a + FT_MIB(2), FT_PAGE, 1), 0); /* host read */
	memset(c, 1, FT_KIB(64));

	/* Quiescent: the counters do not change around ferry-smi's run. */
	quiesce(ctx, &c0);
	vas = smi_vas(ctx, getpid(), &doc);
	ft_assert_ok(ferry_counters(ctx, &c1));
	if (memcmp(&c0, &c1, sizeof(c0))) {
		for (size_t i = 0; i < FT_ARRAY_SIZE(counter_names); i++)
			if (((uint64_t *)&c0)[i] != ((uint64_t *)&c1)[i])
				print_message("  %s: %" PRIu64 " -> %" PRIu64 "\n",
					      counter_names[i], ((uint64_t *)&c0)[i],
					      ((uint64_t *)&c1)[i]);
		fail_msg("the counters changed while ferry-smi ran: not quiescent");
	}

	assert_counters(vas, &c0);
	ft_assert_u64_eq(ju64(vas, "allocations_total"), 3);
	assert_false(jbool(vas, "allocations_truncated"));
	ft_assert_u64_eq(jlen(jtype(vas, "allocations", J_ARR)), 3);
	assert_alloc(ctx, vas, a, FT_MIB(4), "managed");
	assert_alloc(ctx, vas, b, FT_MIB(1) + 3 * FT_PAGE, "managed");
	assert_alloc(ctx, vas, c, FT_KIB(64), "coherent");
	/* the residency it reports adds up to the device-resident counter */
	{
		uint64_t dev = 0;

		for (struct jv *x = jtype(vas, "allocations", J_ARR)->child; x; x = x->next)
			dev += ju64(x, "device");
		ft_assert_u64_eq(dev, ju64(jtype(vas, "counters", J_OBJ), "device_resident_pages"));
		ft_assert_u64_eq(dev * FT_PAGE, ju64(vas, "device_used_bytes"));
	}
	/* what was moved is where ferry-smi says */
	ft_assert_u64_eq(ju64(find_alloc(vas, a), "device"), FT_MIB(1) / FT_PAGE);
	ft_assert_u64_cmp(ju64(find_alloc(vas, b), "device"), >=, FT_KIB(512) / FT_PAGE);
	ft_assert_u64_eq(ju64(find_alloc(vas, c), "host"), FT_KIB(64) / FT_PAGE);

	assert_string_equal(jstr(vas, "backend"),
			    ft_backend(ctx) == FERRY_BACKEND_KERNEL ? "kernel" : "user");
	ft_assert_u64_eq(ju64(vas, "device_pid"), (uint64_t)ferry_device_pid(ctx));
	assert_true(jbool(vas, "device_alive"));
	ft_assert_u64_eq(ju64(vas, "window_base"), (uint64_t)(uintptr_t)ferry_window_base(ctx));
	ft_assert_u64_eq(ju64(vas, "window_size"), ferry_window_size(ctx));
	ft_assert_u64_eq(ju64(vas, "device_capacity_bytes"), FT_DEVICE_MEMORY);
	ft_assert_u64_eq(ju64(vas, "device_used_bytes"), c0.device_resident_pages * FT_PAGE);
	ft_assert_u64_eq(ju64(vas, "block_size"), FERRY_DEFAULT_BLOCK_SIZE);
	snap = jtype(vas, "snapshot", J_OBJ);
	assert_true(jbool(snap, "fresh"));
	ft_assert_u64_eq(ju64(snap, "status"), 0);
	assert_non_null(jtype(snap, "error", J_NULL));
	assert_true(access(jstr(vas, "stats_page"), F_OK) == 0);
	jfree(doc);

	/* Every process: this one is among them. Text: it is named. */
	smi("--json", &r);
	ft_assert_u64_eq(r.status, 0);
	doc = jparse(r.out);
	{
		bool found = false;

		for (struct jv *p = jtype(doc, "processes", J_ARR)->child; p; p = p->next)
			found |= ju64(p, "pid") == (uint64_t)getpid();
		assert_true(found);
	}
	jfree(doc);
	smi_free(&r);
	snprintf(args, sizeof(args), "--pid %d", (int)getpid());
	smi(args, &r);
	ft_assert_u64_eq(r.status, 0);
	snprintf(args, sizeof(args), "PID %d ", (int)getpid());
	needle = strstr(r.out, args);
	if (!needle || !strstr(r.out, "managed") || !strstr(r.out, "coherent"))
		fail_msg("ferry-smi --pid %d printed:\n%s", (int)getpid(), r.out);
	smi_free(&r);

	ft_assert_ok(ferry_free(ctx, b));
	vas = smi_vas(ctx, getpid(), &doc);
	ft_assert_u64_eq(ju64(vas, "allocations_total"), 2);
	jfree(doc);
	ft_close(ctx);
}

/* The page exists, 0600, while the VA space is open; ferry_close removes it. */
static void test_page_lifecycle(void **state)
{
	struct ferry_ctx *ctx;
	struct stat st;
	char *page;
	int before;

	(void)state;
	before = count_pages(getpid(), NULL, 0); /* 0 unless an earlier test failed */
	ctx = ft_open(NULL);
	ft_assert_u64_eq(count_pages(getpid(), NULL, 0), before + 1);
	page = newest_page(getpid());
	assert_non_null(page);
	assert_int_equal(stat(page, &st), 0);
	ft_assert_u64_eq(st.st_mode & 07777, 0600);
	ft_assert_u64_eq(st.st_uid, geteuid());
	ft_close(ctx);
	ft_assert_u64_eq(count_pages(getpid(), NULL, 0), before);
	assert_int_equal(access(page, F_OK), -1);
	free(page);

	/* FERRY_NO_STATS: nothing published */
	setenv("FERRY_NO_STATS", "1", 1);
	ctx = ft_open(NULL);
	unsetenv("FERRY_NO_STATS");
	ft_assert_u64_eq(count_pages(getpid(), NULL, 0), before);
	ft_close(ctx);
}

static void assert_fails(const char *args, int status, const char *message)
{
	struct smi_run r;

	smi(args, &r);
	if (r.status != status || !strstr(r.err, message))
		fail_msg("ferry-smi %s: exit %d, stderr \"%s\"; expected exit %d and \"%s\"", args,
			 r.status, r.err, status, message);
	smi_free(&r);
}

/* Not a Ferry process, no such process, bad arguments. */
static void test_errors(void **state)
{
	struct smi_run r;
	struct jv *doc;
	char args[64];
	pid_t child;
	int st;

	(void)state;
	ft_guard(FT_HANG_SECONDS, __func__);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
		pause();
		_exit(0);
	}
	snprintf(args, sizeof(args), "--pid %d", (int)child);
	assert_fails(args, 1, "is not a Ferry process");
	/* --json still prints a document, with no process */
	snprintf(args, sizeof(args), "--json --pid %d", (int)child);
	smi(args, &r);
	ft_assert_u64_eq(r.status, 1);
	assert_non_null(strstr(r.err, "is not a Ferry process"));
	doc = jparse(r.out);
	ft_assert_u64_eq(jlen(jtype(doc, "processes", J_ARR)), 0);
	jfree(doc);
	smi_free(&r);

	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &st, 0), child);
	snprintf(args, sizeof(args), "--pid %d", (int)child);
	assert_fails(args, 1, "no process with pid");

	assert_fails("--pid", 2, "--pid needs a process id");
	assert_fails("--pid 12x", 2, "not a process id");
	assert_fails("--pid 0", 2, "not a process id");
	assert_fails("--watch 0", 2, "expected seconds");
	assert_fails("--frobnicate", 2, "unknown argument");
	smi("-h", &r);
	ft_assert_u64_eq(r.status, 0);
	assert_non_null(strstr(r.out, "usage: ferry-smi"));
	smi_free(&r);
	ft_unguard();
}

/*
 * A stopped process cannot answer: ferry-smi shows its last snapshot, not
 * fresh, after about a second. The child opens its own VA space.
 */
static pid_t stopped_child;

/* Whatever happened in the test: the child does not stay stopped. */
static int kill_stopped_child(void **state)
{
	(void)state;
	if (stopped_child > 0) {
		kill(stopped_child, SIGKILL);
		waitpid(stopped_child, NULL, 0);
		stopped_child = 0;
	}
	return 0;
}

static void test_stopped_process(void **state)
{
	struct jv *doc, *vas, *snap;
	int go[2], st;
	pid_t child;
	char c;

	(void)state;
	ft_guard(FT_HANG_SECONDS, __func__);
	assert_int_equal(pipe(go), 0);
	child = fork();
	assert_true(child >= 0);
	stopped_child = child;
	if (child == 0) {
		struct ferry_options o;
		struct ferry_ctx *ctx = NULL;
		char ok = 1;

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
		close(go[0]);
		ft_default_options(&o);
		if (ferry_open(&o, &ctx) || !ferry_alloc(ctx, FT_MIB(1), 0))
			ok = 0;
		if (write(go[1], &ok, 1) != 1)
			_exit(1);
		pause(); /* until killed */
		_exit(0);
	}
	close(go[1]);
	assert_int_equal(read(go[0], &c, 1), 1);
	close(go[0]);
	if (!c) {
		kill(child, SIGKILL);
		waitpid(child, &st, 0);
		stopped_child = 0;
		skip(); /* ferry_open failed in the child (-EPERM: not permitted) */
	}
	/* running: a fresh snapshot, which becomes the last one */
	vas = smi_vas(NULL, child, &doc);
	assert_true(jbool(jtype(vas, "snapshot", J_OBJ), "fresh"));
	ft_assert_u64_eq(ju64(vas, "allocations_total"), 1);
	jfree(doc);
	assert_int_equal(kill(child, SIGSTOP), 0);
	vas = smi_vas(NULL, child, &doc);
	snap = jtype(vas, "snapshot", J_OBJ);
	assert_false(jbool(snap, "fresh"));
	ft_assert_u64_eq(ju64(vas, "allocations_total"), 1);
	jfree(doc);
	assert_int_equal(kill(child, SIGCONT), 0);
	vas = smi_vas(NULL, child, &doc);
	assert_true(jbool(jtype(vas, "snapshot", J_OBJ), "fresh"));
	jfree(doc);
	/*
	 * Killed without ferry_close: its page stays in /dev/shm, and ferry-smi
	 * skips it (the pid is dead).
	 */
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &st, 0), child);
	stopped_child = 0;
	{
		char args[64], path[300];

		snprintf(args, sizeof(args), "--pid %d", (int)child);
		assert_fails(args, 1, "no process with pid");
		if (count_pages(child, path, sizeof(path)))
			unlink(path);
	}
	ft_unguard();
}

/* The device process died: the snapshot still comes, and says so. */
static void test_device_dead(void **state)
{
	struct ferry_counters c0;
	struct jv *doc, *vas, *snap;
	struct ferry_ctx *ctx;
	uint8_t *a;

	(void)state;
	ctx = ft_open(NULL);
	a = ft_alloc(ctx, FT_MIB(1), 0);
	ft_assert_ok(ferry_dev_fill(ctx, a, FT_MIB(1), 5));
	ft_step("kill the device");
	assert_int_equal(kill(ferry_device_pid(ctx), SIGKILL), 0);
	while (ferry_device_alive(ctx))
		usleep(1000);
	usleep(300 * 1000); /* the user backend's recovery: about 0.1 s */
	quiesce(ctx, &c0);
	vas = smi_vas(ctx, getpid(), &doc);
	assert_false(jbool(vas, "device_alive"));
	snap = jtype(vas, "snapshot", J_OBJ);
	assert_true(jbool(snap, "fresh"));
	assert_non_null(strstr(jstr(snap, "error"), "gone"));
	assert_counters(vas, &c0);
	assert_alloc(ctx, vas, a, FT_MIB(1), "managed");
	jfree(doc);
	ft_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_matches_queries),
		cmocka_unit_test(test_page_lifecycle),
		cmocka_unit_test(test_errors),
		cmocka_unit_test_teardown(test_stopped_process, kill_stopped_child),
		cmocka_unit_test(test_device_dead),
	};

	return cmocka_run_group_tests_name("smi", tests, NULL, NULL);
}
