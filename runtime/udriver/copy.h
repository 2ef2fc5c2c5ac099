/* SPDX-License-Identifier: MIT */
/*
 * copy.h - the udriver's copy engine: the bytes of a migration, copied with
 * non-temporal (streaming) stores where the CPU has them, like a GPU's DMA
 * engine, which does not pull what it writes into the CPU's caches. A
 * migration's destination is not read again soon by the copying thread, and
 * a 2 MiB memcpy stays below glibc's non-temporal threshold: it writes
 * through the cache with read-for-ownership traffic. FERRY_COPY_NT=0 keeps
 * plain memcpy (docs/environment.md, docs/performance.md).
 */
#ifndef FERRY_UDRIVER_COPY_H
#define FERRY_UDRIVER_COPY_H

#include <stdbool.h>
#include <stddef.h>

enum udrv_copy_kind {
	UDRV_COPY_MEMCPY, /* glibc's memcpy */
	UDRV_COPY_SSE2,	  /* 16-byte streaming stores (every x86-64 CPU) */
	UDRV_COPY_AVX,	  /* 32-byte streaming stores, where the CPU and the OS have AVX */
};

/* Copies shorter than this use memcpy whatever the kind: not worth a fence. */
#define UDRV_COPY_STREAM_MIN 4096

/* The best kind this CPU offers when streaming is wanted (@stream), else memcpy. */
enum udrv_copy_kind udrv_copy_select(bool stream);
/* The kind udrv_copy uses: udrv_copy_select(FERRY_COPY_NT), resolved once. */
enum udrv_copy_kind udrv_copy_kind(void);
const char *udrv_copy_name(enum udrv_copy_kind k);

/*
 * Copy @n bytes like memcpy (the ranges do not overlap; any alignment, any
 * size) with @k. Streaming stores are fenced before the return, so a store
 * that publishes the data afterwards (a page's state) is ordered after it.
 */
void udrv_copy_with(enum udrv_copy_kind k, void *dst, const void *src, size_t n);

static inline void udrv_copy(void *dst, const void *src, size_t n)
{
	udrv_copy_with(udrv_copy_kind(), dst, src, n);
}

#endif /* FERRY_UDRIVER_COPY_H */
