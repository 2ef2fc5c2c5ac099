/* SPDX-License-Identifier: MIT */
/*
 * futex.h - the futex words of the shared metadata (ferry_meta) and of the
 * statistics page: both processes wait on and wake them (not private
 * futexes: the memory is shared).
 */
#ifndef FERRY_FUTEX_H
#define FERRY_FUTEX_H

#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Sleep while *@word == @seen, at most @timeout_ns (0: no limit). Returns
 * when woken, on a timeout, on a signal, or at once when the word changed:
 * callers re-check their condition in a loop.
 */
static inline void ferry_futex_wait(uint32_t *word, uint32_t seen, uint64_t timeout_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000ULL),
			      .tv_nsec = (long)(timeout_ns % 1000000000ULL)};

	syscall(SYS_futex, word, FUTEX_WAIT, seen, timeout_ns ? &ts : NULL, NULL, 0);
}

/* Wake every waiter of @word. */
static inline void ferry_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

#endif
