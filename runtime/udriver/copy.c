/* SPDX-License-Identifier: MIT */
/*
 * copy.c - the udriver's copy engine (copy.h): streaming stores on x86-64
 * (SSE2 everywhere, AVX where the CPU and the OS have it), memcpy elsewhere
 * and for small copies. The destination is aligned with a memcpy of the
 * first bytes, the body is streamed a cache line pair at a time, the rest
 * goes through memcpy, and an sfence ends it.
 */
#include "common/settings.h"
#include "udriver/copy.h"

#include <stdint.h>
#include <string.h>

#ifdef __x86_64__
#include <immintrin.h>

#define STREAM_STEP 128 /* bytes per loop: two cache lines */

/* @d 16-byte aligned, @n a multiple of STREAM_STEP */
static void stream_sse2(uint8_t *d, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i += STREAM_STEP) {
		__m128i v[STREAM_STEP / 16];

		for (size_t k = 0; k < STREAM_STEP / 16; k++)
			v[k] = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16 * k));
		for (size_t k = 0; k < STREAM_STEP / 16; k++)
			_mm_stream_si128((__m128i *)(void *)(d + i + 16 * k), v[k]);
	}
}

/* @d 32-byte aligned, @n a multiple of STREAM_STEP */
__attribute__((target("avx"))) static void stream_avx(uint8_t *d, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i += STREAM_STEP) {
		__m256i v[STREAM_STEP / 32];

		for (size_t k = 0; k < STREAM_STEP / 32; k++)
			v[k] = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + 32 * k));
		for (size_t k = 0; k < STREAM_STEP / 32; k++)
			_mm256_stream_si256((__m256i *)(void *)(d + i + 32 * k), v[k]);
	}
}
#endif

enum udrv_copy_kind udrv_copy_select(bool stream)
{
	if (!stream)
		return UDRV_COPY_MEMCPY;
#ifdef __x86_64__
	/* libgcc's check includes the OS's saving of the YMM state (XGETBV) */
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx") ? UDRV_COPY_AVX : UDRV_COPY_SSE2;
#else
	return UDRV_COPY_MEMCPY;
#endif
}

enum udrv_copy_kind udrv_copy_kind(void)
{
	static int kind = -1;
	int k = __atomic_load_n(&kind, __ATOMIC_RELAXED);

	if (k < 0) {
		k = (int)udrv_copy_select(ferry_copy_nt_enabled());
		__atomic_store_n(&kind, k, __ATOMIC_RELAXED);
	}
	return (enum udrv_copy_kind)k;
}

const char *udrv_copy_name(enum udrv_copy_kind k)
{
	return k == UDRV_COPY_AVX ? "avx" : k == UDRV_COPY_SSE2 ? "sse2" : "memcpy";
}

void udrv_copy_with(enum udrv_copy_kind k, void *dst, const void *src, size_t n)
{
	if (k == UDRV_COPY_MEMCPY || n < UDRV_COPY_STREAM_MIN) {
		memcpy(dst, src, n);
		return;
	}
#ifdef __x86_64__
	uint8_t *d = dst;
	const uint8_t *s = src;
	size_t head = (size_t)(-(uintptr_t)d & 63), body; /* to the next cache line */

	memcpy(d, s, head);
	d += head;
	s += head;
	n -= head;
	body = n & ~(size_t)(STREAM_STEP - 1);
	if (k == UDRV_COPY_AVX)
		stream_avx(d, s, body);
	else
		stream_sse2(d, s, body);
	memcpy(d + body, s + body, n - body);
	_mm_sfence(); /* the streamed stores are visible before whatever follows */
#else
	memcpy(dst, src, n);
#endif
}
