/* SPDX-License-Identifier: MIT */
#include "common/settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t ferry_spin_ns(void)
{
	static uint64_t ns = UINT64_MAX;
	uint64_t v = __atomic_load_n(&ns, __ATOMIC_RELAXED);

	if (v == UINT64_MAX) {
		const char *e = getenv("FERRY_SPIN_US");
		char *end;
		unsigned long us = e && *e ? strtoul(e, &end, 10) : 50;

		if (e && *e && (*end || us > 1000000))
			us = 50;
		v = (uint64_t)us * 1000;
		__atomic_store_n(&ns, v, __ATOMIC_RELAXED);
	}
	return v;
}

/* The selected word of a sysfs choice file ("always [advise] never"), or "". */
static void read_choice(const char *path, char *out, size_t len)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	char *a, *b;

	out[0] = 0;
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f) && (a = strchr(buf, '[')) && (b = strchr(a, ']'))) {
		*b = 0;
		snprintf(out, len, "%s", a + 1);
	}
	fclose(f);
}

/*
 * Whether shmem gives 2 MiB pages to a mapping advised MADV_HUGEPAGE: the
 * 2 MiB size's own setting (Linux 6.11 on), or the global one it inherits.
 */
static bool shmem_huge_enabled(void)
{
	static const char *const yes[] = {"always", "within_size", "advise", "force"};
	char top[32], pmd[32];
	const char *v;

	read_choice("/sys/kernel/mm/transparent_hugepage/shmem_enabled", top, sizeof(top));
	read_choice("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/shmem_enabled", pmd,
		    sizeof(pmd));
	v = pmd[0] && strcmp(pmd, "inherit") ? pmd : top;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcmp(v, yes[i]))
			return true;
	return false;
}

bool ferry_whole_regions_enabled(void)
{
	const char *e = getenv("FERRY_HUGE");

	return !(e && !atoi(e)) && shmem_huge_enabled();
}

/* An on/off variable: off when it reads as 0 (atoi), else on; unset: @dflt. */
static bool env_switch(const char *name, bool dflt)
{
	const char *e = getenv(name);

	return e ? atoi(e) != 0 : dflt;
}

bool ferry_copy_nt_enabled(void)
{
	return env_switch("FERRY_COPY_NT", true);
}

bool ferry_vram_prepopulate_enabled(void)
{
	return env_switch("FERRY_VRAM_PREPOPULATE", true);
}

/* "64M", "1G", "4096", "2k", "2KiB", "2KB": bytes, or 0 when malformed or too large. */
uint64_t ferry_parse_size(const char *s)
{
	unsigned int shift = 0;
	unsigned long long v;
	char *end;

	if (!s || !*s || strchr(s, '-')) /* strtoull would wrap a negative number */
		return 0;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		break;
	}
	if (shift) {
		if (v > (~0ULL >> shift))
			return 0;
		v <<= shift;
		end++;
		if (*end == 'i' && end[1] == 'B')
			end++;
		if (*end == 'B')
			end++;
	}
	return *end ? 0 : v;
}
