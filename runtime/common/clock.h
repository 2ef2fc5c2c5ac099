/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the one clock of Ferry: CLOCK_MONOTONIC in nanoseconds. Both
 * processes read the same clock, so a time taken in ferry-device (a trace
 * event, a kernel's start) compares with one taken in the application.
 */
#ifndef FERRY_CLOCK_H
#define FERRY_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t ferry_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
