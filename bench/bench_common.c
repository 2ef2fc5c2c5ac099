/* SPDX-License-Identifier: MIT */
/*
 * bench_common.c - what every benchmark prints with: the figure table, notes,
 * failed checks, fatal errors, the run's timeout and its exit status.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"

const char *bench_prog = "ferry-bench";
const char *bench_where;
int bench_failures, bench_pass, bench_miss;
struct bench_table bench_table = {44, 6, 14, 10, 2, 0};

void table_header(void)
{
	const struct bench_table *t = &bench_table;

	printf("  %-*s %10s %-*s %8s  %-*s %-*s %s\n", t->name_w, "figure", "value", t->unit_w,
	       "unit", "ratio", t->vs_w, "ratio to", t->target_w, "target", "");
	printf("  %-*s %10s %-*s %8s  %-*s %-*s %s\n", t->name_w, "------", "-----", t->unit_w,
	       "----", "-----", t->vs_w, "--------", t->target_w, "------", "");
}

void row(const char *name, double value, int prec, const char *unit, double ratio, const char *vs,
	 const char *target, enum verdict v)
{
	const struct bench_table *t = &bench_table;
	char vbuf[64], rbuf[32];

	if (t->dash_nan && isnan(value))
		snprintf(vbuf, sizeof(vbuf), "-");
	else
		snprintf(vbuf, sizeof(vbuf), "%.*f", prec, value);
	if (isnan(ratio))
		snprintf(rbuf, sizeof(rbuf), "-");
	else
		snprintf(rbuf, sizeof(rbuf), "%.*f", t->ratio_prec, ratio);
	printf("  %-*s %10s %-*s %8s  %-*s %-*s %s\n", t->name_w, name, vbuf, t->unit_w, unit, rbuf,
	       t->vs_w, vs ? vs : "-", t->target_w, target ? target : "-",
	       v == V_PASS   ? "PASS"
	       : v == V_MISS ? "MISS"
			     : "");
	if (v == V_PASS)
		bench_pass++;
	else if (v == V_MISS)
		bench_miss++;
	fflush(stdout);
}

void note(const char *fmt, ...)
{
	va_list ap;

	printf("    ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	bench_failures++;
	fflush(stdout);
	if (bench_where)
		fprintf(stderr, "%s: FAILED (%s): ", bench_prog, bench_where);
	else
		fprintf(stderr, "%s: FAILED: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	printf("  !! FAILED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void bench_fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: error: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *bench_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		bench_fatal("out of memory (%zu bytes)", size);
	return p;
}

/* ------------------------------------------------------------------ timeout */

static char g_alarm_msg[256];
static size_t g_alarm_len;
static void (*g_alarm_cleanup)(void);

static void on_alarm(int sig)
{
	ssize_t r;

	(void)sig;
	r = write(STDERR_FILENO, g_alarm_msg, g_alarm_len);
	(void)r;
	if (g_alarm_cleanup)
		g_alarm_cleanup();
	_exit(1);
}

void bench_timeout(unsigned seconds, const char *why, void (*cleanup)(void))
{
	int n;

	if (!seconds)
		return;
	n = snprintf(g_alarm_msg, sizeof(g_alarm_msg),
		     "%s: error: timed out (%s); raise or disable with --timeout SEC\n", bench_prog,
		     why);
	g_alarm_len = n < 0				? 0
		      : (size_t)n < sizeof(g_alarm_msg) ? (size_t)n
							: sizeof(g_alarm_msg) - 1;
	g_alarm_cleanup = cleanup;
	signal(SIGALRM, on_alarm);
	alarm(seconds);
}

int bench_status(void)
{
	if (!bench_failures)
		return 0;
	fprintf(stderr, "%s: %d check(s) FAILED (see above)\n", bench_prog, bench_failures);
	return 1;
}

/* ------------------------------------------------------------------ options */

int bench_parse_args(int argc, char **argv, const struct bench_opt *opts, void (*usage)(FILE *))
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct bench_opt *o = opts;

		while (o->name && strcmp(a, o->name))
			o++;
		if (o->name && o->flag) {
			*o->flag = 1;
		} else if (o->name && o->num) {
			*o->num = (long)bench_parse_num(bench_prog, a,
							i + 1 < argc ? argv[++i] : NULL, usage);
		} else if (o->name && o->tests) {
			const char *name = i + 1 < argc ? argv[++i] : "";
			unsigned t;

			for (t = 0; t < o->nnames && strcmp(name, o->names[t]); t++)
				;
			if (t == o->nnames) {
				fprintf(stderr, "%s: error: unknown test '%s'\n", bench_prog, name);
				usage(stderr);
				return 1;
			}
			*o->tests |= 1u << t;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "%s: error: unknown argument '%s'\n", bench_prog, a);
			usage(stderr);
			return 1;
		}
	}
	return -1;
}

int bench_at_least_one(const char *opt, long v)
{
	if (v < 0 || v >= 1)
		return 1;
	fprintf(stderr, "%s: error: %s must be at least 1\n", bench_prog, opt);
	return 0;
}
