/* SPDX-License-Identifier: MIT */
/*
 * ferry-demo - Ferry's main job for now: allocate managed memory, let the
 * device and the host touch it, prefetch, and print what moved.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/ferry.h"

#define MiB (1ULL << 20)
#define U(x) ((unsigned long long)(x))

static void show(struct ferry_ctx *ctx, const char *step, void *p, uint64_t size,
		 struct ferry_counters *prev)
{
	struct ferry_counters c;
	uint64_t count[4];

	ferry_counters(ctx, &c);
	ferry_query_residency(ctx, p, size, NULL, count);
	printf("%-36s | untouched %6llu host %6llu device %6llu | faults h/d %5llu/%-5llu "
	       "to-dev %7llu to-host %7llu prefetched %6llu evicted %6llu\n",
	       step, U(count[FERRY_RES_UNTOUCHED]), U(count[FERRY_RES_HOST]),
	       U(count[FERRY_RES_DEVICE]), U(c.faults_host - prev->faults_host),
	       U(c.faults_device - prev->faults_device),
	       U(c.pages_to_device - prev->pages_to_device),
	       U(c.pages_to_host - prev->pages_to_host),
	       U(c.pages_prefetched - prev->pages_prefetched),
	       U(c.pages_evicted - prev->pages_evicted));
	*prev = c;
}

int main(int argc, char **argv)
{
	uint64_t size = (argc > 1 ? strtoull(argv[1], NULL, 0) : 256) * MiB;
	struct ferry_options o = {.prefetch = -1};
	struct ferry_counters prev = {0}, c;
	struct ferry_ctx *ctx;
	uint64_t *p, bad = 0;
	int r;

	r = ferry_open(&o, &ctx);
	if (r) {
		fprintf(stderr, "ferry-demo: ferry_open: %s\n", ferry_strerror(r));
		return 1;
	}
	p = ferry_alloc(ctx, size, 0);
	if (!p) {
		fprintf(stderr, "ferry-demo: ferry_alloc failed\n");
		return 1;
	}
	printf("Ferry demo: %llu MiB of managed memory at %p, device process %d\n"
	       "(pages of 4 KiB; counters are deltas since the previous line)\n\n",
	       U(size / MiB), (void *)p, (int)ferry_device_pid(ctx));
	show(ctx, "allocated", p, size, &prev);

	for (uint64_t i = 0; i < size / 8; i++)
		p[i] = ferry_pattern(1, (uint64_t)(uintptr_t)&p[i]);
	show(ctx, "host wrote everything (first touch)", p, size, &prev);

	r = ferry_migrate(ctx, p, size / 2, FERRY_LOC_DEVICE, 0, NULL);
	show(ctx, "prefetched first half to device", p, size, &prev);

	int64_t mism = ferry_dev_check(ctx, p, size, 1);
	show(ctx, "device read everything (faults)", p, size, &prev);
	if (r || mism) {
		fprintf(stderr, "ferry-demo: device saw %lld wrong words (r=%d)\n", (long long)mism,
			r);
		return 1;
	}
	r = ferry_dev_fill(ctx, p, size, 2);
	show(ctx, "device rewrote everything", p, size, &prev);

	for (uint64_t i = 0; i < size / 8; i += 512)
		bad += p[i] != ferry_pattern(2, (uint64_t)(uintptr_t)&p[i]);
	show(ctx, "host read one word a page (faults)", p, size, &prev);

	r |= ferry_migrate(ctx, p, size, FERRY_LOC_HOST, 0, NULL);
	show(ctx, "prefetched the rest back to host", p, size, &prev);
	for (uint64_t i = 0; i < size / 8; i++)
		bad += p[i] != ferry_pattern(2, (uint64_t)(uintptr_t)&p[i]);

	ferry_counters(ctx, &c);
	printf("\ntotal: %llu host faults, %llu device faults in %llu batches (%.1f us per batch), "
	       "%.1f MiB to device, %.1f MiB to host\n",
	       U(c.faults_host), U(c.faults_device), U(c.fault_batches),
	       c.fault_batches ? (double)c.fault_ns / 1e3 / (double)c.fault_batches : 0.0,
	       (double)c.bytes_to_device / (double)MiB, (double)c.bytes_to_host / (double)MiB);
	ferry_free(ctx, p);
	ferry_close(ctx);
	if (r || bad) {
		fprintf(stderr, "ferry-demo: FAILED (%llu wrong words, r=%d)\n", U(bad), r);
		return 1;
	}
	printf("data verified on both sides: OK\n");
	return 0;
}
