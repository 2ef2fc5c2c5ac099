/* SPDX-License-Identifier: MIT */
/*
 * work.c - device work: what a kernel would do to window memory, done by
 * device threads through the device view (the role of HMM_DMIRROR_READ and
 * HMM_DMIRROR_WRITE in lib/test_hmm.c), so the driver can be tested before
 * OpenCL kernels exist.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "device/device.h"

#define MAX_THREADS 64

struct part {
	const struct ferry_dev_work *w;
	uint8_t *staging;
	uint64_t off, len; /* byte range of this thread, relative to w->addr */
	uint64_t result;
};

static void *run_part(void *arg)
{
	struct part *p = arg;
	const struct ferry_dev_work *w = p->w;
	uint8_t *mem = (uint8_t *)(uintptr_t)w->addr + p->off;

	switch (w->op) {
	case FERRY_DEV_READ:
		memcpy(p->staging + p->off, mem, p->len);
		break;
	case FERRY_DEV_WRITE:
		memcpy(mem, p->staging + p->off, p->len);
		break;
	case FERRY_DEV_FILL: {
		uint64_t *q = (uint64_t *)mem;

		for (uint64_t i = 0; i < p->len / 8; i++)
			q[i] = ferry_pattern(w->seed, (uint64_t)(uintptr_t)&q[i]);
		break;
	}
	case FERRY_DEV_CHECK: {
		const uint64_t *q = (const uint64_t *)mem;

		for (uint64_t i = 0; i < p->len / 8; i++)
			p->result += q[i] != ferry_pattern(w->seed, (uint64_t)(uintptr_t)&q[i]);
		break;
	}
	case FERRY_DEV_TOUCH:
		for (uint64_t o = 0; o < p->len; o += w->stride)
			p->result += *(volatile uint8_t *)(mem + o);
		break;
	case FERRY_DEV_INC:
		for (uint64_t r = 0; r < w->repeat; r++)
			for (uint64_t o = 0; o < p->len; o += w->stride)
				__atomic_fetch_add((uint64_t *)(mem + o), 1, __ATOMIC_RELAXED);
		break;
	}
	return NULL;
}

int ferry_device_run(struct ferry_dev_work *w, uint8_t *staging)
{
	struct part parts[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	uint32_t nt = w->threads ? w->threads : 1;
	uint64_t unit, per, off = 0;

	if (nt > MAX_THREADS)
		return -EINVAL;
	/* Split into parts that keep each thread's touches on its own units. */
	unit = (w->op == FERRY_DEV_TOUCH || w->op == FERRY_DEV_INC)    ? w->stride
	       : (w->op == FERRY_DEV_FILL || w->op == FERRY_DEV_CHECK) ? 8
								       : 1;
	per = (w->size / unit + nt - 1) / nt * unit;
	if (per == 0)
		per = w->size;
	w->result = 0;
	for (uint32_t t = 0; t < nt; t++) {
		parts[t] = (struct part){.w = w, .staging = staging, .off = off};
		parts[t].len = off >= w->size ? 0 : (w->size - off < per ? w->size - off : per);
		if (t == nt - 1)
			parts[t].len = w->size - off; /* the tail, whatever the rounding */
		off += parts[t].len;
	}
	if (nt == 1) {
		run_part(&parts[0]);
	} else {
		uint32_t started = 0;

		for (; started < nt; started++)
			if (pthread_create(&tid[started], NULL, run_part, &parts[started]))
				break;
		for (uint32_t t = started; t < nt; t++)
			run_part(&parts[t]);
		for (uint32_t t = 0; t < started; t++)
			pthread_join(tid[t], NULL);
	}
	for (uint32_t t = 0; t < nt; t++)
		w->result += parts[t].result;
	return 0;
}
