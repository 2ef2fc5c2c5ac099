/* SPDX-License-Identifier: MIT */
/*
 * settings.h - settings both processes read from the environment (and
 * sysfs), each read once and cached.
 */
#ifndef FERRY_SETTINGS_H
#define FERRY_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Spinning before sleeping: device work's answer, the next request or a
 * kernel's completion usually comes within tens of microseconds, and a
 * blocking wake-up across CPUs costs about as much again. How long to poll
 * first: FERRY_SPIN_US, default 50 us; 0 = never spin.
 */
uint64_t ferry_spin_ns(void);

/*
 * Whole regions (udriver): on unless FERRY_HUGE reads as 0, where shmem
 * gives 2 MiB pages to mappings advised MADV_HUGEPAGE.
 */
bool ferry_whole_regions_enabled(void);

/*
 * udriver: migrations copy with non-temporal (streaming) stores where the
 * CPU has them, unless FERRY_COPY_NT reads as 0 (runtime/udriver/copy.h).
 */
bool ferry_copy_nt_enabled(void);

/*
 * udriver: ferry-device holds the device capacity's worth of populated
 * memory from the start (the vram pool, runtime/udriver/vram.c), unless
 * FERRY_VRAM_PREPOPULATE reads as 0.
 */
bool ferry_vram_prepopulate_enabled(void);

/*
 * A size as the environment gives it: "64M", "1G", "4096", "2k", "2KiB",
 * "2KB" (binary multiples). Bytes, or 0 when malformed or too large.
 */
uint64_t ferry_parse_size(const char *s);

#endif
