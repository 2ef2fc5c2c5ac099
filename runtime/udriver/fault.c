/* SPDX-License-Identifier: MIT */
/*
 * fault.c - the udriver's fault handling.
 *
 * The fault thread serves the host view's userfaultfd, and the device view's
 * when device faults are not resolved in the faulting thread (see
 * inline_fault_sigbus(); FERRY_FAULT_INLINE=0). Each wake-up drains every
 * pending fault of both sides into one batch, sorts it by side and block,
 * resolves each block once under one hold of the lock, then wakes the
 * faulting threads. Before blocking in poll() it spins for a while (at least
 * FERRY_FAULT_SPIN_US, default 50 us, longer while faults keep coming): a
 * cross-CPU wake-up costs more than resolving a fault.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <ucontext.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "udriver/internal.h"

#define BATCH_MAX 512

enum { SIDE_DEVICE = 0, SIDE_HOST = 1 };

struct fault {
	uint64_t page;
	uint32_t side;
	uint16_t wp;
	uint16_t write;
};

static int cmp_fault(const void *a, const void *b)
{
	const struct fault *x = a, *y = b;

	if (x->side != y->side)
		return x->side < y->side ? -1 : 1;
	return x->page < y->page ? -1 : x->page > y->page;
}

/* Read every pending fault of one userfaultfd (non-blocking). */
static int drain(struct udrv *u, int uffd, uint32_t side, struct fault *out, int room)
{
	struct uffd_msg msg[64];
	int n = 0;

	while (room - n > 0) {
		size_t want = (size_t)(room - n) < 64 ? (size_t)(room - n) : 64;
		ssize_t r = read(uffd, msg, want * sizeof(msg[0]));

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r / (ssize_t)sizeof(msg[0]); i++) {
			uint64_t a = msg[i].arg.pagefault.address;

			if (msg[i].event != UFFD_EVENT_PAGEFAULT || a < u->base ||
			    a - u->base >= u->size)
				continue;
			out[n].page = (a - u->base) / PG;
			out[n].side = side;
			out[n].wp = !!(msg[i].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
			out[n].write = !!(msg[i].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE);
			n++;
		}
	}
	return n;
}

/* Page @p counts as on the faulting side: in state @resident, or any device copy (@copies). */
static inline bool on_side(const struct udrv *u, uint64_t p, uint8_t resident, bool copies)
{
	return copies ? on_device(u->state[p]) : u->state[p] == resident;
}

/*
 * The pages to move for a fault at @page: its block, or with the prefetcher
 * the largest subtree of its 2 MiB region that is dense enough on that side,
 * or the whole region when a sequential stream enters it. @copies: the side
 * is the device's copies, duplicated pages included (read duplication).
 */
static void fault_range(struct udrv *u, uint64_t page, uint8_t resident, bool copies,
			uint64_t *first, uint64_t *n)
{
	uint64_t bp = u->block_pages;
	uint64_t rfirst = page & ~(uint64_t)(FERRY_REGION_PAGES - 1);
	uint64_t bits[FERRY_REGION_PAGES / 64] = {0};
	uint32_t pf_first, pf_count;

	*first = page & ~(bp - 1);
	*n = bp;
	if (!u->prefetch || rfirst + FERRY_REGION_PAGES > u->npages)
		return;
	/* ferry_policy_stream() wants a fault in the region's first block: count only then */
	if (rfirst && page - rfirst < bp) {
		uint32_t prev = 0;

		for (uint64_t i = rfirst - FERRY_REGION_PAGES; i < rfirst; i++)
			prev += on_side(u, i, resident, copies);
		if (ferry_policy_stream(prev, (uint32_t)(page - rfirst), (uint32_t)bp)) {
			*first = rfirst;
			*n = FERRY_REGION_PAGES;
			return;
		}
	}
	for (uint64_t i = 0; i < FERRY_REGION_PAGES; i++)
		if (on_side(u, rfirst + i, resident, copies))
			bits[i / 64] |= 1ULL << (i % 64);
	ferry_policy_prefetch(bits, (uint32_t)(page - rfirst), (uint32_t)bp,
			      FERRY_PREFETCH_THRESHOLD, &pf_first, &pf_count);
	*first = rfirst + pf_first;
	*n = pf_count;
}

static uint64_t count_not(const struct udrv *u, uint64_t first, uint64_t n, uint8_t state)
{
	uint64_t c = 0;

	for (uint64_t p = first; p < first + n; p++)
		c += u->state[p] != state;
	return c;
}

/*
 * Move [first, first + n) to one side for a fault in the block at @bfirst:
 * the block itself entirely, and of the pages the prefetcher added only
 * those the faulting side cannot read. Duplicated pages there stay
 * duplicated: that side has its copy, and only a write collapses a block
 * (read-mostly advice would be undone region by region otherwise).
 * @in_block: pages of the block not on that side yet; what moves beyond
 * them is counted as prefetched.
 */
static void move_for_fault(struct udrv *u, uint64_t first, uint64_t n, uint64_t bfirst,
			   bool to_device, uint64_t in_block)
{
	uint8_t side = to_device ? FERRY_RES_DEVICE : FERRY_RES_HOST;
	uint64_t end = first + n, bend = bfirst + u->block_pages, done = 0;
	uint64_t before = count_not(u, first, n, side);

	/*
	 * The prefetcher took the whole region: one move, which can map it
	 * whole. All of it moves, and is counted first: making the region
	 * whole wakes the faulting threads, which may then read the counters.
	 */
	if (n == FERRY_REGION_PAGES && first % FERRY_REGION_PAGES == 0 &&
	    !memchr(u->state + first, FERRY_RES_DUPLICATED, n)) {
		if (before > in_block)
			u->meta->counters.pages_prefetched += before - in_block;
		if (to_device)
			udrv_to_device(u, first, n, true, NULL);
		else
			udrv_to_host(u, first, n, true, true);
		return;
	}
	for (uint64_t p = first; p < end;) {
		uint64_t q = p, m = 0;
		bool dup = u->state[p] == FERRY_RES_DUPLICATED;

		if (p >= bfirst && p < bend) {
			q = bend < end ? bend : end;
		} else {
			while (q < end && (q < bfirst || q >= bend) &&
			       (u->state[q] == FERRY_RES_DUPLICATED) == dup)
				q++;
			if (dup) {
				p = q;
				continue;
			}
		}
		if (to_device)
			udrv_to_device(u, p, q - p, true, &m);
		else
			udrv_to_host(u, p, q - p, true, true);
		done += m;
		p = q;
	}
	if (!to_device) /* moved to the host: what is not elsewhere any more */
		done = before - count_not(u, first, n, side);
	if (done > in_block)
		u->meta->counters.pages_prefetched += done - in_block;
}

/* Wake the device threads waiting for [first, first + n): with in-thread faults none do. */
static void dev_wake(struct udrv *u, uint64_t first, uint64_t n)
{
	if (!u->inline_faults)
		udrv_wake(u->dev_uffd, u->base + first * PG, n * PG);
}

static void resolve_device(struct udrv *u, uint64_t page, bool write, bool wp)
{
	uint64_t bfirst = page & ~((uint64_t)u->block_pages - 1);
	uint64_t in_block = count_not(u, bfirst, u->block_pages, FERRY_RES_DEVICE);
	uint64_t first, n;

	bool was_resident = u->state[page] == FERRY_RES_DEVICE;

	if ((u->attr_accessed_by[page] & (1u << FERRY_LOC_DEVICE)) &&
	    udrv_remote_map(u, bfirst, u->block_pages)) {
		/* accessed-by: the device works on the host's pages where they are */
		dev_wake(u, bfirst, u->block_pages);
		return;
	}
	if (!write && u->state[page] == FERRY_RES_DUPLICATED) {
		/* duplicated since the fault was raised (a neighbour's prefetch): read-only */
		udrv_map_range_wp(u->dev_uffd, u->base + page * PG, PG);
		dev_wake(u, page, 1);
		return;
	}
	if (!write && u->attr_read_mostly[page] && u->state[page] == FERRY_RES_HOST) {
		/*
		 * A read of read-mostly data: a read-only copy, the host keeps
		 * its own; of the range the density prefetcher and the stream
		 * detector choose, counting the device's copies (read-mostly
		 * pages of it only: udrv_duplicate leaves the others).
		 */
		struct ferry_counters *c = &u->meta->counters;
		uint64_t before = c->pages_to_device,
			 in_dup_block = count_not(u, bfirst, u->block_pages, FERRY_RES_DUPLICATED);

		fault_range(u, page, FERRY_RES_DUPLICATED, true, &first, &n);
		udrv_duplicate(u, first, n);
		if (c->pages_to_device - before > in_dup_block) /* beyond the faulting block */
			c->pages_prefetched += c->pages_to_device - before - in_dup_block;
		dev_wake(u, first, n);
		return;
	}
	/* a leftover protection on a page that is the device's (not of a whole region's) */
	if (wp && was_resident && !u->dev_whole[page / FERRY_REGION_PAGES])
		udrv_device_wp_off(u, page, 1);
	/*
	 * Already device-resident: a race with the migration that brought it
	 * (this thread's fault was raised before, resolved after). Map it and
	 * move nothing more: the prefetcher's range from here could reach
	 * pages the policy left on the host (a pinned region, a stream larger
	 * than the device) and evict for them.
	 */
	if (was_resident) {
		udrv_map_range(u->dev_uffd, u->base + page * PG, PG);
		dev_wake(u, page, 1);
		return;
	}

	fault_range(u, page, FERRY_RES_DEVICE, false, &first, &n);
	/* a region pinned on the host for thrashing: the device maps it in place */
	if (udrv_thrash_fault(u, page, count_not(u, first, n, FERRY_RES_DEVICE), &first, &n)) {
		dev_wake(u, first, n);
		return;
	}
	move_for_fault(u, first, n, bfirst, true, in_block);
	dev_wake(u, first, n);
}

/* Most regions one host fault reads ahead (the window doubles up to it). */
#define RA_MAX_REGIONS 4

/* Region @r can be read ahead: it exists and is entirely on the device, none duplicated. */
static bool ra_candidate(const struct udrv *u, uint64_t r)
{
	uint64_t first = r * FERRY_REGION_PAGES;

	return first + FERRY_REGION_PAGES <= u->npages &&
	       u->region_dev_pages[r] == FERRY_REGION_PAGES &&
	       !memchr(u->state + first, FERRY_RES_DUPLICATED, FERRY_REGION_PAGES);
}

/*
 * Readahead for a host stream: once a host fault brought a whole region
 * home, the regions after it that are entirely on the device follow after
 * the faulting thread was woken, while it reads the first. As the kernel's
 * readahead does, the window starts at one region and doubles (up to
 * RA_MAX_REGIONS) each time the stream's next fault comes where the last
 * window ended. Returns the first region to read ahead, or UINT32_MAX.
 */
static uint32_t host_readahead(const struct udrv *u, uint64_t first, uint64_t n)
{
	uint64_t next = first + FERRY_REGION_PAGES;

	if (!u->prefetch || n != FERRY_REGION_PAGES || first % FERRY_REGION_PAGES ||
	    !ra_candidate(u, next / FERRY_REGION_PAGES))
		return UINT32_MAX;
	return (uint32_t)(next / FERRY_REGION_PAGES);
}

/* Read ahead from region @ra (u->lock held; every faulting thread is awake). */
static void read_ahead(struct udrv *u, uint32_t ra)
{
	uint32_t k = 0;

	udrv_assert_locked(u);
	u->readahead_regions = ra == u->readahead_next ? u->readahead_regions * 2 : 1;
	if (u->readahead_regions > RA_MAX_REGIONS)
		u->readahead_regions = RA_MAX_REGIONS;
	for (; k < u->readahead_regions && ra_candidate(u, (uint64_t)ra + k); k++) {
		/* counted first, like any whole move */
		u->meta->counters.pages_prefetched += FERRY_REGION_PAGES;
		udrv_to_host(u, ((uint64_t)ra + k) * FERRY_REGION_PAGES, FERRY_REGION_PAGES, true,
			     false);
	}
	u->readahead_next = ra + k + 1; /* where the stream's next fault asks for more */
}

static void resolve_host(struct udrv *u, uint64_t page, bool wp, uint32_t *ra)
{
	uint64_t bfirst = page & ~((uint64_t)u->block_pages - 1);
	uint64_t in_block = count_not(u, bfirst, u->block_pages, FERRY_RES_HOST);
	uint64_t first, n;

	bool was_resident = u->state[page] == FERRY_RES_HOST;

	fault_range(u, page, FERRY_RES_HOST, false, &first, &n);
	move_for_fault(u, first, n, bfirst, false, in_block);
	if (u->state[page] == FERRY_RES_HOST)
		*ra = host_readahead(u, first, n);
	if (was_resident) {
		udrv_map_range(u->host_uffd, u->base + page * PG, PG);
		if (wp)
			udrv_host_wp(u, page, 1, false);
	}
	udrv_wake(u->host_uffd, u->base + first * PG, n * PG);
}

/* Resolve a batch sorted by cmp_fault() (u->lock held). */
static void resolve_locked(struct udrv *u, const struct fault *f, int n)
{
	struct ferry_counters *c = &u->meta->counters;
	uint64_t t0 = ferry_clock_ns();
	uint64_t last_block = UINT64_MAX, blocks = 0, host = 0;
	uint32_t last_side = UINT32_MAX, ra = UINT32_MAX;

	udrv_assert_locked(u);
	for (int i = 1; i < n; i++)
		assert(cmp_fault(&f[i - 1], &f[i]) <= 0);
	u->trace_cause = FERRY_TR_CAUSE_FAULT;
	c->fault_batches++;
	udrv_thrash_release(u);
	for (int i = 0; i < n; i++) {
		uint64_t block = f[i].page / u->block_pages;

		if (f[i].side == SIDE_DEVICE) {
			c->faults_device++;
		} else {
			c->faults_host++;
			host++;
		}
		if (block == last_block && f[i].side == last_side) {
			/* coalesced: the block is resolved; the page may need mapping */
			int uffd = f[i].side == SIDE_DEVICE ? u->dev_uffd : u->host_uffd;

			udrv_map_range(uffd, u->base + f[i].page * PG, PG);
			if (f[i].side == SIDE_HOST)
				udrv_wake(uffd, u->base + f[i].page * PG, PG);
			else
				dev_wake(u, f[i].page, 1);
			continue;
		}
		last_block = block;
		last_side = f[i].side;
		blocks++;
		if (f[i].side == SIDE_DEVICE)
			resolve_device(u, f[i].page, f[i].write, f[i].wp);
		else
			resolve_host(u, f[i].page, f[i].wp, &ra);
	}
	if (ra != UINT32_MAX)
		read_ahead(u, ra);
	c->fault_ns += ferry_clock_ns() - t0;
	if (FERRY_TRACE_ON())
		ferry_trace_event(FERRY_TR_FAULT, "fault batch", t0, ferry_clock_ns() - t0,
				  (uint64_t)n, host, (uint64_t)n - host, blocks);
}

static void resolve(struct udrv *u, struct fault *f, int n)
{
	qsort(f, (size_t)n, sizeof(*f), cmp_fault);
	udrv_lock(u);
	resolve_locked(u, f, n);
	udrv_unlock(u);
}

/*
 * In-thread device faults (FERRY_FAULT_INLINE, on by default): the device
 * view's userfaultfd has UFFD_FEATURE_SIGBUS, so a device thread's fault
 * raises SIGBUS in that thread instead of queueing a message, and this
 * handler resolves it there and returns; the access is then retried. The
 * fault thread's two wake-ups (it, then the faulting thread) are gone: in a
 * 2-CPU VM each cost 8-10 us whenever the thread to wake was not on the
 * waker's CPU, which made the 4 KiB fault's median 13 us or 26-38 us by
 * where the scheduler had put the threads; in-thread it is 8-10 us every
 * time. Faults the kernel takes for the device (a system call given a
 * window address) fail with EFAULT instead of waiting: ferry-device makes
 * none.
 *
 * Device faults are still batched, by combining: a faulting thread pushes
 * its fault on a list, then takes u->lock; whoever gets the lock first
 * resolves every fault on the list in one batch (sorted and coalesced per
 * block, as the fault thread does) and the others, getting the lock after
 * it, find theirs done and return.
 */
struct inline_fault {
	struct inline_fault *next;
	struct fault f;
	bool done; /* under u->lock */
};

static struct udrv *inline_fault_u;
static struct inline_fault *inline_pending; /* pushed lock-free, taken under u->lock */
static __thread uint64_t inline_last = UINT64_MAX, inline_repeats;
static __thread uint8_t inline_state;

/* Resolve every pending device fault (u->lock held). */
static void inline_combine(struct udrv *u)
{
	struct inline_fault *p = __atomic_exchange_n(&inline_pending, NULL, __ATOMIC_ACQ_REL);
	struct fault batch[64];

	udrv_assert_locked(u);
	while (p) {
		struct inline_fault *q = p, *next;
		int n = 0;

		for (; q && n < (int)(sizeof(batch) / sizeof(batch[0])); q = q->next)
			batch[n++] = q->f;
		qsort(batch, (size_t)n, sizeof(batch[0]), cmp_fault);
		resolve_locked(u, batch, n);
		for (; p != q; p = next) {
			next = p->next;
			p->done = true;
		}
	}
}

static void inline_fault_sigbus(int sig, siginfo_t *si, void *uctx)
{
	struct udrv *u = __atomic_load_n(&inline_fault_u, __ATOMIC_ACQUIRE);
	uint64_t a = (uint64_t)(uintptr_t)si->si_addr, err;
	const ucontext_t *uc = uctx;
	int saved_errno = errno;
	struct inline_fault me = {0};

	if (!u || si->si_code != BUS_ADRERR || a - u->base >= u->size) {
		udrv_signal_forward(sig, si, uctx);
		return;
	}
	me.f.page = (a - u->base) / PG;
	/*
	 * The page is where this thread's last fault on it left it, and
	 * faults again and again: this is not userfaultfd's SIGBUS (shmem
	 * out of space, say). A page the host took meanwhile is progress.
	 */
	inline_repeats = me.f.page == inline_last &&
					 __atomic_load_n(&u->state[me.f.page], __ATOMIC_RELAXED) ==
						 inline_state
				 ? inline_repeats + 1
				 : 0;
	inline_last = me.f.page;
	if (inline_repeats > 100) {
		udrv_signal_forward(sig, si, uctx);
		return;
	}
	/* the x86 page-fault error code: bit 0 the page was present, bit 1 a write */
	err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
	me.f.side = SIDE_DEVICE;
	me.f.wp = !!(err & 1);
	me.f.write = !!(err & 2);
	me.next = __atomic_load_n(&inline_pending, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&inline_pending, &me.next, &me, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
	udrv_lock(u);
	if (!me.done)
		inline_combine(u);
	inline_state = u->state[me.f.page];
	udrv_unlock(u);
	errno = saved_errno;
}

int udrv_inline_faults_install(struct udrv *u)
{
	int r = udrv_signal_own(SIGBUS, inline_fault_sigbus);

	if (!r)
		__atomic_store_n(&inline_fault_u, u, __ATOMIC_RELEASE);
	return r;
}

void udrv_inline_faults_remove(struct udrv *u)
{
	struct udrv *expected = u;

	/* SIGBUS stays ours (once per process); faults of no driver are forwarded */
	__atomic_compare_exchange_n(&inline_fault_u, &expected, NULL, false, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
}

/*
 * How long to spin before blocking: at least spin_us, and up to twice the
 * recent gap between batches (when that is under 250 us), so that a steady stream of
 * faults is served without a cross-CPU wake-up each time.
 */
static uint64_t spin_window_ns(const struct udrv *u, uint64_t gap_ewma_ns)
{
	uint64_t base = (uint64_t)u->spin_us * 1000, w = 2 * gap_ewma_ns;

	if (u->spin_us == 0)
		return 0;
	if (w > 250 * 1000)
		return base;
	return w > base ? w : base;
}

static void *fault_main(void *arg)
{
	struct udrv *u = arg;
	struct fault *batch = calloc(BATCH_MAX, sizeof(*batch));
	uint64_t idle_since = ferry_clock_ns(), gap_ewma = UINT64_MAX / 4;

	if (!batch)
		abort();
	ferry_trace_thread_name("fault handler");
	for (;;) {
		int n = drain(u, u->dev_uffd, SIDE_DEVICE, batch, BATCH_MAX);

		n += drain(u, u->host_uffd, SIDE_HOST, batch + n, BATCH_MAX - n);
		if (n > 0) {
			uint64_t t = ferry_clock_ns(), gap = t - idle_since;

			gap_ewma = gap_ewma > UINT64_MAX / 8 ? gap : (3 * gap_ewma + gap) / 4;
			resolve(u, batch, n);
			idle_since = ferry_clock_ns();
			continue;
		}
		/*
		 * While device work runs, poll like a GPU's fault buffer: the
		 * next fault is near and a wake-up would cost more than it
		 * (unless device faults are resolved in the faulting thread).
		 */
		if ((!u->inline_faults && __atomic_load_n(&u->busy, __ATOMIC_RELAXED) > 0) ||
		    ferry_clock_ns() - idle_since < spin_window_ns(u, gap_ewma)) {
			sched_yield(); /* spin, but let a runnable thread on this CPU go first */
			continue;
		}
		struct pollfd pfd[3] = {
			{.fd = u->dev_uffd, .events = POLLIN},
			{.fd = u->host_uffd, .events = POLLIN},
			{.fd = u->stop_efd, .events = POLLIN},
		};
		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents)
			break;
		if ((pfd[0].revents | pfd[1].revents) & (POLLERR | POLLHUP | POLLNVAL))
			break; /* the host's address space is gone */
	}
	free(batch);
	return NULL;
}

int udrv_fault_thread_start(struct udrv *u)
{
	int err;

	u->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (u->stop_efd < 0)
		return -errno;
	err = pthread_create(&u->fault_thread, NULL, fault_main, u);
	if (err) {
		close(u->stop_efd);
		u->stop_efd = -1;
	}
	return -err;
}

bool udrv_fault_thread_stop(struct udrv *u)
{
	uint64_t one = 1;

	if (write(u->stop_efd, &one, sizeof(one)) != sizeof(one))
		return false;
	pthread_join(u->fault_thread, NULL);
	close(u->stop_efd);
	u->stop_efd = -1;
	return true;
}
