/* SPDX-License-Identifier: MIT */
/*
 * agent.c - the driver's end of the host agent's mailbox (struct ferry_meta:
 * zap_op, zap_start, zap_len, zap_req, zap_ack, zap_status). The host agent,
 * a thread of libferry (or a host thread that polls for the device's
 * answer), zaps its own view of a range with MADV_DONTNEED, keeping the
 * sysmem pages, or maps a range into it (FERRY_AGENT_MAP). Server side:
 * ferry_agent_serve(), runtime/core/session.c.
 */
#include "common/clock.h"
#include "common/futex.h"
#include "udriver/internal.h"

#include <sched.h>

/*
 * Ask the host process to MADV_DONTNEED its view of the range (zap_post)
 * and wait for it (zap_wait). One request at a time: the mailbox has one
 * slot, which u->lock serialises (held for both). zap_wait returns false
 * when the zap did not happen (no agent, or it stopped): the caller then
 * write-protects and punches instead.
 */
uint32_t zap_post(struct udrv *u, uint64_t page, uint64_t n, uint32_t op)
{
	struct ferry_meta *m = u->meta;
	uint32_t req;

	udrv_assert_locked(u);
	m->zap_op = op;
	m->zap_start = addr_of(u, page);
	m->zap_len = n * PG;
	req = __atomic_add_fetch(&m->zap_req, 1, __ATOMIC_SEQ_CST);
	/* a host thread polls the mailbox: the agent thread sleeps, let it */
	if (!__atomic_load_n(&m->host_waiters, __ATOMIC_SEQ_CST))
		ferry_futex_wake(&m->zap_req);
	return req;
}

bool zap_wait(struct udrv *u, uint32_t req)
{
	struct ferry_meta *m = u->meta;
	uint64_t t0 = ferry_clock_ns();

	udrv_assert_locked(u);
	for (;;) {
		uint32_t ack = __atomic_load_n(&m->zap_ack, __ATOMIC_ACQUIRE);

		if (ack == req)
			break;
		if (!__atomic_load_n(&m->host_agent, __ATOMIC_ACQUIRE))
			return false; /* the agent stopped: punch */
		if (ferry_clock_ns() - t0 < 2000 * 1000) {
			sched_yield(); /* spin, but let a runnable thread on this CPU go first */
			continue;
		}
		ferry_futex_wait(&m->zap_ack, ack, 10 * 1000 * 1000);
	}
	return m->zap_status == 0;
}

/* Zap the host view of [page, page + n) and wait: false without an agent (punch instead). */
bool host_zap(struct udrv *u, uint64_t page, uint64_t n)
{
	if (!__atomic_load_n(&u->meta->host_agent, __ATOMIC_ACQUIRE))
		return false;
	return zap_wait(u, zap_post(u, page, n, FERRY_AGENT_ZAP));
}
