/* SPDX-License-Identifier: MIT */
/*
 * test_copy.c - the udriver's copy engine (udriver/copy.c) against memcpy:
 * every kind this CPU has, sizes around its thresholds and its 128-byte
 * steps, source and destination at every offset that changes the
 * alignment code; the bytes around the destination stay untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udriver/copy.h"

#define GUARD 256
#define MAX_LEN ((size_t)2 << 20)

static const size_t sizes[] = {
	0,
	1,
	15,
	63,
	64,
	127,
	128,
	129,
	4095,
	4096,
	4097,
	4096 + 63,
	4096 + 127,
	8191,
	65536 - 1,
	65536 + 13,
	262144,
	(2 << 20) - 4096,
	(2 << 20) - 1,
};
static const size_t src_offsets[] = {0, 1, 8, 17, 32, 63};
static const size_t dst_offsets[] = {0, 1, 16, 31, 33, 63, 64, 4095};

#define BUF_ALLOC ((MAX_LEN + 2 * 4096 + 2 * GUARD + 4095) & ~(size_t)4095)

static uint8_t *src_buf, *dst_buf, *want_buf;

static int setup(void **state)
{
	(void)state;
	/* C11: the size a multiple of the alignment */
	src_buf = aligned_alloc(4096, BUF_ALLOC);
	dst_buf = aligned_alloc(4096, BUF_ALLOC);
	want_buf = aligned_alloc(4096, BUF_ALLOC);
	if (!src_buf || !dst_buf || !want_buf)
		return -1;
	for (size_t i = 0; i < MAX_LEN + 2 * 4096 + 2 * GUARD; i++)
		src_buf[i] = (uint8_t)(i * 131 + (i >> 9) * 7 + 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(src_buf);
	free(dst_buf);
	free(want_buf);
	return 0;
}

/* One copy with @k, checked byte for byte against memcpy into a copy of the same buffer. */
static void check_one(enum udrv_copy_kind k, size_t len, size_t soff, size_t doff)
{
	size_t span = GUARD + doff + len + GUARD;
	uint8_t *d = dst_buf + GUARD + doff, *w = want_buf + GUARD + doff;
	const uint8_t *s = src_buf + soff;

	memset(dst_buf, 0xee, span);
	memset(want_buf, 0xee, span);
	memcpy(w, s, len);
	udrv_copy_with(k, d, s, len);
	if (memcmp(dst_buf, want_buf, span)) {
		size_t i = 0;

		while (dst_buf[i] == want_buf[i])
			i++;
		fail_msg("%s: len %zu, src offset %zu, dst offset %zu: byte %zd (of the "
			 "destination) is 0x%02x, want 0x%02x",
			 udrv_copy_name(k), len, soff, doff, (ptrdiff_t)i - GUARD - (ptrdiff_t)doff,
			 dst_buf[i], want_buf[i]);
	}
}

static void check_kind(enum udrv_copy_kind k)
{
	for (size_t a = 0; a < sizeof(sizes) / sizeof(sizes[0]); a++)
		for (size_t b = 0; b < sizeof(src_offsets) / sizeof(src_offsets[0]); b++)
			for (size_t c = 0; c < sizeof(dst_offsets) / sizeof(dst_offsets[0]); c++)
				check_one(k, sizes[a], src_offsets[b], dst_offsets[c]);
}

static void test_memcpy_kind(void **state)
{
	(void)state;
	check_kind(UDRV_COPY_MEMCPY);
}

static void test_stream_kinds(void **state)
{
	enum udrv_copy_kind best = udrv_copy_select(true);

	(void)state;
#ifdef __x86_64__
	assert_true(best == UDRV_COPY_SSE2 || best == UDRV_COPY_AVX);
	check_kind(UDRV_COPY_SSE2);
	if (best == UDRV_COPY_AVX)
		check_kind(UDRV_COPY_AVX);
	else
		print_message("no AVX: only the SSE2 kind checked\n");
#else
	assert_int_equal(best, UDRV_COPY_MEMCPY);
	check_kind(best);
#endif
}

/* Whole pages, as the migrations copy them: page-aligned, 4 KiB to 2 MiB. */
static void test_pages(void **state)
{
	(void)state;
	for (size_t len = 4096; len <= MAX_LEN; len *= 2) {
		check_one(udrv_copy_select(true), len, 0, 0);
		check_one(udrv_copy_select(true), len, 4096, 4096);
	}
}

/* FERRY_COPY_NT=0 selects memcpy; the selection without streaming is memcpy everywhere. */
static void test_select(void **state)
{
	(void)state;
	assert_int_equal(udrv_copy_select(false), UDRV_COPY_MEMCPY);
	assert_string_equal(udrv_copy_name(UDRV_COPY_MEMCPY), "memcpy");
	if (getenv("FERRY_COPY_NT") && !atoi(getenv("FERRY_COPY_NT")))
		assert_int_equal(udrv_copy_kind(), UDRV_COPY_MEMCPY);
	else
		assert_int_equal(udrv_copy_kind(), udrv_copy_select(true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memcpy_kind),
		cmocka_unit_test(test_stream_kinds),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
