/* SPDX-License-Identifier: MIT */
/* What both benchmarks print and measure with: clocks, ratios, verdicts, sections. */
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

static inline double safe_ratio(double a, double b)
{
	return b > 0.0 ? a / b : NAN;
}

/* PASS when @ratio >= @target; no verdict when the baseline was not measured. */
static inline enum verdict at_least(double ratio, double target)
{
	return isnan(ratio) ? V_NONE : ratio >= target ? V_PASS : V_MISS;
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

#endif /* FERRY_BENCH_COMMON_H */
