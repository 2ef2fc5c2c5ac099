/* SPDX-License-Identifier: MIT */
/*
 * stats.c - the shared statistics page of a VA space (ferry/ferry_stats.h)
 * and the thread that answers ferry-smi's requests for a fresh snapshot.
 *
 * The thread sleeps on the page's request word with no timeout, so an idle
 * VA space costs nothing; a snapshot goes through the normal driver path
 * (ferry_counters, ferry_query_residency of each live allocation), so it is the
 * same on both backends and works after the device process died (both
 * queries still answer then; the snapshot says the device is gone).
 *
 * Publishing is best effort: when /dev/shm is missing or full the VA space
 * works as before, ferry-smi just does not see it. FERRY_NO_STATS turns it
 * off.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/futex.h"
#include "host/host.h"
#include "ferry/ferry_stats.h"

struct ferry_stats_pub {
	struct ferry_stats_page *page;
	char name[64]; /* shm_open() name */
	pthread_t thread;
	atomic_bool stop;
	uint32_t seq; /* the seqlock's value: only this side writes it */
	/* built here, then copied into the page under the seqlock */
	struct ferry_stats_snapshot *scratch;
	struct ferry_range *ranges; /* FERRY_STATS_MAX_ALLOCS */
};

static atomic_uint stats_serial;

/*
 * Pages left by processes killed before ferry_close: remove this user's
 * (ferry-smi skips them anyway; this keeps /dev/shm from filling up).
 */
static void reap_stale_pages(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		unsigned int n;
		char tail;
		int pid;

		if (sscanf(e->d_name, FERRY_STATS_SHM_PREFIX "%d-%u%c", &pid, &n, &tail) != 2 ||
		    pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_uid == geteuid())
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static int by_start(const void *a, const void *b)
{
	const struct ferry_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Take a snapshot for request @req and publish it under the seqlock. */
static void publish(struct ferry_ctx *ctx, struct ferry_stats_pub *s, uint32_t req)
{
	struct ferry_stats_snapshot *n = s->scratch;
	struct ferry_stats_page *p = s->page;
	size_t total, k;
	int r;

	memset(n, 0, offsetof(struct ferry_stats_snapshot, allocs));
	n->timestamp_ns = ferry_clock_ns();
	n->request = req;
	n->device_alive = ferry_device_alive(ctx) ? 1 : 0;
	r = ferry_counters(ctx, &n->counters);
	if (r)
		n->status = r;
	n->device_resident_bytes = n->counters.device_resident_pages * FERRY_PAGE_SIZE;
	total = ferry_alloc_list(ctx, s->ranges, FERRY_STATS_MAX_ALLOCS);
	k = total < FERRY_STATS_MAX_ALLOCS ? total : FERRY_STATS_MAX_ALLOCS;
	qsort(s->ranges, k, sizeof(s->ranges[0]), by_start);
	n->total_allocs = total;
	n->nallocs = (uint32_t)k;
	for (size_t i = 0; i < k; i++) {
		struct ferry_stats_alloc *a = &n->allocs[i];
		void *ptr = (void *)(uintptr_t)s->ranges[i].start;
		uint64_t count[4];

		memset(a, 0, sizeof(*a));
		a->base = s->ranges[i].start;
		a->size = s->ranges[i].size;
		a->kind = ferry_is_coherent(ctx, ptr) ? FERRY_STATS_KIND_COHERENT
						      : FERRY_STATS_KIND_MANAGED;
		/* freed since it was listed: still a valid window range */
		r = ferry_query_residency(ctx, ptr, a->size, NULL, count);
		for (int j = 0; j < 4; j++)
			a->pages[j] = r ? 0 : count[j];
		if (r) {
			a->status = r;
			if (!n->status)
				n->status = r;
		}
	}

	__atomic_store_n(&p->seq, ++s->seq, __ATOMIC_RELAXED); /* odd: being written */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&p->snap, n,
	       offsetof(struct ferry_stats_snapshot, allocs) + k * sizeof(n->allocs[0]));
	__atomic_store_n(&p->seq, ++s->seq, __ATOMIC_RELEASE);
}

static void *stats_main(void *arg)
{
	struct ferry_ctx *ctx = arg;
	struct ferry_stats_pub *s = ctx->stats;
	struct ferry_stats_page *p = s->page;
	uint32_t done = 0;

	publish(ctx, s, 0); /* something to show before the first request */
	while (!atomic_load(&s->stop)) {
		uint32_t req = __atomic_load_n(&p->request, __ATOMIC_ACQUIRE);

		if (req == done) {
			/* no timeout: ferry_stats_stop bumps the word to wake us */
			ferry_futex_wait(&p->request, req, 0);
			continue;
		}
		if (atomic_load(&s->stop))
			break;
		publish(ctx, s, req);
		done = req;
		__atomic_store_n(&p->answered, req, __ATOMIC_RELEASE);
		ferry_futex_wake(&p->answered);
	}
	return NULL;
}

static void pub_free(struct ferry_stats_pub *s)
{
	if (s->page)
		munmap(s->page, sizeof(*s->page));
	free(s->scratch);
	free(s->ranges);
	free(s);
}

void ferry_stats_start(struct ferry_ctx *ctx)
{
	struct ferry_stats_pub *s;
	struct ferry_stats_page *p;
	sigset_t all, old;
	int fd = -1, r;

	if (!ctx || ctx->stats || getenv("FERRY_NO_STATS"))
		return;
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->scratch = malloc(sizeof(*s->scratch));
	s->ranges = calloc(FERRY_STATS_MAX_ALLOCS, sizeof(*s->ranges));
	if (!s->scratch || !s->ranges)
		goto fail;
	reap_stale_pages();
	/* a name left by a dead process that had our pid is stale: replace it */
	for (int attempt = 0; attempt < 4 && fd < 0; attempt++) {
		snprintf(s->name, sizeof(s->name), "/" FERRY_STATS_SHM_PREFIX "%d-%u",
			 (int)getpid(), atomic_fetch_add(&stats_serial, 1));
		fd = shm_open(s->name, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 && errno != EEXIST)
			goto fail;
		if (fd < 0)
			shm_unlink(s->name);
	}
	if (fd < 0)
		goto fail;
	if (fchmod(fd, 0600) || ftruncate(fd, sizeof(*p)))
		goto fail_unlink;
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail_unlink;
	close(fd);
	fd = -1;
	s->page = p;
	madvise(p, sizeof(*p), MADV_DONTFORK);
	p->version = FERRY_STATS_VERSION;
	p->size = sizeof(*p);
	p->pid = (int32_t)getpid();
	p->pid_start = ferry_stats_pid_start(getpid());
	p->device_pid = (int32_t)ctx->pid;
	p->backend = ctx->be->id;
	p->vaspace = ctx->be == &ferry_backend_kmod ? ctx->vaspace : 0;
	p->window_base = ctx->base;
	p->window_size = ctx->size;
	p->coherent_size = ctx->fine_size;
	p->device_capacity = ctx->device_memory;
	p->block_size = ctx->block_size;
	__atomic_store_n(&p->magic, FERRY_STATS_MAGIC, __ATOMIC_RELEASE); /* header complete */

	ctx->stats = s;
	/* the thread takes no signal meant for the application */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->thread, NULL, stats_main, ctx);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		return;
	ctx->stats = NULL;
fail_unlink:
	shm_unlink(s->name);
fail:
	if (fd >= 0)
		close(fd);
	pub_free(s);
}

void ferry_stats_stop(struct ferry_ctx *ctx)
{
	struct ferry_stats_pub *s;

	if (!ctx || !ctx->stats)
		return;
	s = ctx->stats;
	/* readers stop waiting for an answer; new ones no longer find the name */
	__atomic_store_n(&s->page->closed, 1, __ATOMIC_RELEASE);
	shm_unlink(s->name);
	atomic_store(&s->stop, true);
	__atomic_fetch_add(&s->page->request, 1, __ATOMIC_RELEASE);
	ferry_futex_wake(&s->page->request);
	pthread_join(s->thread, NULL);
	ferry_futex_wake(&s->page->answered);
	ctx->stats = NULL;
	pub_free(s);
}
