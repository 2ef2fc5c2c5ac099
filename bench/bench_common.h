/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks print and measure with: clocks, ratios, verdicts,
 * sections (inline here), and the figure table, notes, failed checks, fatal
 * errors and the run's timeout (bench_common.c, the ferry_bench_common
 * library).
 */
#ifndef FERRY_BENCH_COMMON_H
#define FERRY_BENCH_COMMON_H

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum verdict { V_NONE = -1, V_MISS = 0, V_PASS = 1 };

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The 1-minute load average: other work on the machine skews every figure. */
static inline double load_average(void)
{
	double l[1];

	return getloadavg(l, 1) == 1 ? l[0] : NAN;
}

/* Bytes per nanosecond, that is GB/s (10^9 bytes per second); 0 for no time. */
static inline double gbs(double bytes, uint64_t ns)
{
	return ns ? bytes / (double)ns : 0.0;
}

static inline double safe_ratio(double a, double b)
{
	return b > 0.0 ? a / b : NAN;
}

/* PASS when @ratio >= @target; no verdict when the baseline was not measured. */
static inline enum verdict at_least(double ratio, double target)
{
	return isnan(ratio) ? V_NONE : ratio >= target ? V_PASS : V_MISS;
}

/* PASS when @ratio <= @target; no verdict when a baseline is missing. */
static inline enum verdict at_most(double ratio, double target)
{
	return isnan(ratio) ? V_NONE : ratio <= target ? V_PASS : V_MISS;
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile (0..100) of a sorted array, nearest rank, in microseconds. */
static inline double pct_us(const uint64_t *sorted, unsigned n, double p)
{
	double x = p / 100.0 * n;
	unsigned i = (unsigned)x;

	if (i < x)
		i++;
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return (double)sorted[i] / 1000.0;
}

__attribute__((format(printf, 1, 2))) static inline void section(const char *fmt, ...)
{
	va_list ap;

	putchar('\n');
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* The number an option needs, or a message, the usage and exit status 1. */
static inline unsigned long bench_parse_num(const char *prog, const char *opt, const char *s,
					    void (*usage)(FILE *))
{
	char *end;
	unsigned long v;

	errno = 0;
	v = s ? strtoul(s, &end, 10) : 0;
	if (!s || errno || *end || end == s) {
		fprintf(stderr, "%s: error: %s needs a number\n", prog, opt);
		usage(stderr);
		exit(1);
	}
	return v;
}

/* ------------------------------------------------------------ bench_common.c */

/* The program's name in messages ("ferry-bench-migrate"): set first thing in main. */
extern const char *bench_prog;
/* The running section, named in FAILED messages when set (ferry-bench-kernel). */
extern const char *bench_where;
/* Failed checks so far, and the targets met and missed (counted by row()). */
extern int bench_failures, bench_pass, bench_miss;

/* The columns of the figure table; each benchmark sets its own before the first one. */
struct bench_table {
	int name_w, unit_w, vs_w, target_w; /* widths of the text columns */
	int ratio_prec;			    /* decimals of the ratio */
	int dash_nan;			    /* a NAN value prints "-" (else as printf does) */
};
extern struct bench_table bench_table;

void table_header(void);
/*
 * One figure: value (printed with @prec decimals) and its ratio to @vs
 * (NAN: no ratio), the target as text (NULL or "-" for none) and the verdict.
 */
void row(const char *name, double value, int prec, const char *unit, double ratio, const char *vs,
	 const char *target, enum verdict v);
/* An indented line under the table. */
__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...);
/* A failed check: the run goes on (to show the rest), the exit status will be 1. */
__attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...);
/* "<prog>: error: <message>" and exit status 1. */
__attribute__((noreturn, format(printf, 1, 2))) void bench_fatal(const char *fmt, ...);
/* malloc, fatal when it fails. */
void *bench_xmalloc(size_t size);
/*
 * Abort the run after @seconds (0: never) with "timed out (@why)", after
 * calling @cleanup (NULL: none; it runs in a signal handler).
 */
void bench_timeout(unsigned seconds, const char *why, void (*cleanup)(void));
/* The exit status: 1 after a message when a check failed, else 0. */
int bench_status(void);

/* An option of a benchmark's command line; the first of @flag, @num, @tests set says which kind. */
struct bench_opt {
	const char *name;	  /* "--size"; NULL ends the table */
	int *flag;		  /* set to 1 by the option alone */
	long *num;		  /* the number after the option */
	unsigned *tests;	  /* the bit of the test named after the option ... */
	const char *const *names; /* ... among these @nnames */
	unsigned nnames;
};

/*
 * Parse the command line against @opts; -h and --help print @usage. Returns
 * -1 to go on, else the exit status (0 after the help, 1 after an error).
 */
int bench_parse_args(int argc, char **argv, const struct bench_opt *opts, void (*usage)(FILE *));
/* 1 when option @opt was not given (@v < 0) or is at least 1; else 0 after a message. */
int bench_at_least_one(const char *opt, long v);

#endif /* FERRY_BENCH_COMMON_H */
