/* SPDX-License-Identifier: MIT */
/*
 * remote.c - accessed-by (device) advice in the udriver: the device view of
 * a block maps the host's sysmem pages in place (an unregistered MAP_SHARED
 * mapping: no faults, no migration) until a move, a discard, duplication or
 * new advice ends it and the managed vram view comes back. The SIGSEGV
 * guard below covers that remap.
 */
#include "udriver/internal.h"

#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

bool udrv_remote_map(struct udrv *u, uint64_t first, uint64_t n)
{
	void *at = (void *)addr_of(u, first);

	udrv_assert_locked(u);
	for (uint64_t p = first; p < first + n; p++)
		if (u->state[p] != FERRY_RES_HOST && u->state[p] != FERRY_RES_UNTOUCHED)
			return false; /* data on the device: migrate instead */
	for (uint64_t p = first; p < first + n;) {
		uint64_t len = run_len(u, p, first + n);

		if (u->state[p] == FERRY_RES_UNTOUCHED) {
			memfd_allocate(u->sys_fd, p, len);
			memset(u->state + p, FERRY_RES_HOST, len);
			u->meta->counters.zero_fill_host += len;
		}
		p += len;
	}
	/* the device view of the range becomes the host's pages (not registered: no faults) */
	if (mmap(at, n * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, u->sys_fd,
		 (off_t)(first * PG)) == MAP_FAILED)
		udrv_die_errno("mmap(remote)");
	memset(u->remote_mapped + first, 1, n);
	return true;
}

/*
 * Ending remote access replaces the device view of a range with a fresh vram
 * mapping, and userfaultfd can only register a mapping once it exists: a
 * device thread touching it in between would reach vram behind the driver's
 * back (a write there is lost when the host's data is copied in). So the new
 * mapping starts PROT_NONE, is registered, then opened with mprotect(), which
 * keeps the registration. A device touch in between takes SIGSEGV; this
 * handler makes it wait until the remap is over and retry, and the retry
 * faults through userfaultfd like any other touch. Every other SIGSEGV goes
 * to the handler the process would have without us (sigchain.c).
 */
static struct {
	uint64_t base, size;
	uint64_t gen; /* odd while a remap is in progress */
} remap_guard;
static __thread uint64_t guard_addr, guard_gen;

static void remap_guard_segv(int sig, siginfo_t *si, void *uctx)
{
	uint64_t a = (uint64_t)(uintptr_t)si->si_addr;
	uint64_t g = __atomic_load_n(&remap_guard.gen, __ATOMIC_ACQUIRE);

	if (si->si_code == SEGV_ACCERR && a - remap_guard.base < remap_guard.size) {
		if (g & 1) {
			while (__atomic_load_n(&remap_guard.gen, __ATOMIC_ACQUIRE) == g)
				sched_yield();
			return;
		}
		if (a != guard_addr || g != guard_gen) {
			/* the remap may have ended before we looked: one more try */
			guard_addr = a;
			guard_gen = g;
			return;
		}
	}
	udrv_signal_forward(sig, si, uctx);
}

int udrv_remap_guard_install(uint64_t base, uint64_t size)
{
	int err;

	remap_guard.base = base;
	remap_guard.size = size;
	err = udrv_signal_own(SIGSEGV, remap_guard_segv);
	if (err)
		udrv_remap_guard_remove();
	return err;
}

void udrv_remap_guard_remove(void)
{
	remap_guard.size = 0; /* no address is the window's: every SIGSEGV is forwarded */
	remap_guard.base = 0;
}

void udrv_remote_unmap(struct udrv *u, uint64_t first, uint64_t n)
{
	udrv_assert_locked(u);
	if (!memchr(u->remote_mapped + first, 1, n))
		return;
	for (uint64_t p = first; p < first + n;) {
		uint64_t q = p;

		while (q < first + n && u->remote_mapped[q])
			q++;
		if (q == p) {
			p++;
			continue;
		}
		__atomic_add_fetch(&remap_guard.gen, 1, __ATOMIC_ACQ_REL);
		if (mmap((void *)addr_of(u, p), (q - p) * PG, PROT_NONE,
			 MAP_SHARED | MAP_FIXED | MAP_NORESERVE, u->vram_fd,
			 (off_t)(p * PG)) == MAP_FAILED)
			udrv_die_errno("mmap(device view)");
		if (u->whole_regions)
			madvise((void *)addr_of(u, p), (q - p) * PG, MADV_HUGEPAGE);
		view_register(u->dev_uffd, addr_of(u, p), (q - p) * PG, false);
		if (mprotect((void *)addr_of(u, p), (q - p) * PG, PROT_READ | PROT_WRITE))
			udrv_die_errno("mprotect(device view)");
		__atomic_add_fetch(&remap_guard.gen, 1, __ATOMIC_RELEASE);
		memset(u->remote_mapped + p, 0, q - p);
		p = q;
	}
}
