/* SPDX-License-Identifier: MIT */
/*
 * rpc.c - one request to ferry-device and its reply, over the socket, with
 * payloads in the staging buffer (larger ones in pieces through it).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "common/clock.h"
#include "common/futex.h"
#include "common/settings.h"
#include "host/host.h"

/* ferry_agent_poll(): the answer is there */
static bool sock_readable(struct ferry_ctx *ctx, const void *arg)
{
	struct pollfd p = {.fd = ctx->sock, .events = POLLIN};

	(void)arg;
	return poll(&p, 1, 0) > 0;
}

/* Send @m and wait for its reply, into @m: 0 or a transport error. The caller holds ctx->io. */
static int exchange(struct ferry_ctx *ctx, struct ferry_msg *m)
{
	int r;

	m->magic = FERRY_PROTO_MAGIC;
	m->seq = ++ctx->seq;
	r = ferry_msg_send(ctx->sock, m, NULL, 0);
	if (r)
		return r;
	/*
	 * A launch is answered sooner than a wake-up would take, and so is
	 * short device work, a 4 KiB fault included: its median went from
	 * 26-32 us to 13-22 us with this spin (2026-11-26). While it polls,
	 * this thread serves the host agent's mailbox, so that one host
	 * thread runs: with the agent thread polling on the other CPU, a
	 * fault's zap took 17 us instead of 2 (the TLB flush's IPI). Longer
	 * work outlasts the spin and sleeps. A synchronous migration to the
	 * host: as long as its copy should take (at 5 GB/s, up to 2 ms), as
	 * waking from an idle CPU costs a fifth of a 2 MiB migration. Not one
	 * to the device: polling there, serving the zaps or not, measured the
	 * same as the agent thread serving them (1.01-1.04 x memcpy).
	 */
	if ((m->op == FERRY_MSG_CL_LAUNCH || m->op == FERRY_MSG_DEVWORK) && ferry_spin_ns())
		ferry_agent_poll(ctx, sock_readable, NULL, ferry_spin_ns());
	else if (m->op == FERRY_MSG_IOCTL && m->cmd == FERRY_IOCTL_MIGRATE &&
		 m->u.migrate.target == FERRY_LOC_HOST &&
		 !(m->u.migrate.flags & FERRY_MIGRATE_ASYNC) && ferry_spin_ns()) {
		uint64_t ns = ferry_spin_ns() + m->u.migrate.size / 5;

		ferry_spin_readable_for(ctx->sock, ns < 2000000 ? ns : 2000000);
	}
	return ferry_msg_recv(ctx->sock, m, NULL, NULL, 0);
}

/*
 * One FERRY_MSG_BULK_PUT or FERRY_MSG_BULK_GET: @len bytes at @offset of
 * @total. 0, the device's negative errno, or a transport error.
 */
static int bulk_step(struct ferry_ctx *ctx, uint32_t op, uint64_t offset, uint64_t len,
		     uint64_t total)
{
	struct ferry_msg b = {.op = op};
	int r;

	if (atomic_load(&ctx->dead))
		return -ENODEV;
	b.u.bulk.offset = offset;
	b.u.bulk.len = len;
	b.u.bulk.total = total;
	r = exchange(ctx, &b);
	return r ? r : (int)b.status;
}

/*
 * A request's input: @size bytes of @in into staging, or, larger, into the
 * device's bulk buffer in staging-sized pieces, @m marked to read it there.
 */
static int put_input(struct ferry_ctx *ctx, struct ferry_msg *m, const void *in, size_t size)
{
	m->flags = 0;
	m->bulk_size = 0;
	if (size <= FERRY_STAGING_SIZE) {
		if (size)
			memcpy(ctx->staging, in, size);
		return 0;
	}
	for (size_t off = 0, n; off < size; off += n) {
		int r;

		n = size - off < FERRY_STAGING_SIZE ? size - off : FERRY_STAGING_SIZE;
		memcpy(ctx->staging, (const uint8_t *)in + off, n);
		r = bulk_step(ctx, FERRY_MSG_BULK_PUT, off, n, size);
		if (r)
			return r;
	}
	m->flags = FERRY_MSG_BULK_IN;
	m->bulk_size = size;
	return 0;
}

/*
 * A reply's value of @len bytes, up to @room of it into @out: from staging,
 * and, for one marked FERRY_MSG_BULK_OUT, the rest fetched piece by piece.
 */
static int get_output(struct ferry_ctx *ctx, const struct ferry_msg *m, void *out, size_t room,
		      uint64_t len)
{
	size_t n = len < room ? (size_t)len : room;

	/* never past the staging mapping, whatever the reply says */
	memcpy(out, ctx->staging, n < FERRY_STAGING_SIZE ? n : FERRY_STAGING_SIZE);
	if (!(m->flags & FERRY_MSG_BULK_OUT))
		return 0;
	if (m->bulk_size != len || len <= FERRY_STAGING_SIZE || len > FERRY_BULK_MAX)
		return -EPROTO;
	for (size_t off = FERRY_STAGING_SIZE, c; off < n; off += c) {
		int r;

		c = n - off < FERRY_STAGING_SIZE ? n - off : FERRY_STAGING_SIZE;
		r = bulk_step(ctx, FERRY_MSG_BULK_GET, off, c, len);
		if (r)
			return r;
		memcpy((uint8_t *)out + off, ctx->staging, c);
	}
	return 0;
}

int ferry_transact(struct ferry_ctx *ctx, struct ferry_msg *m, const void *in, size_t in_size,
		   void *out, size_t out_room, const uint64_t *out_len, bool always_out)
{
	int r;

	if (in_size > FERRY_BULK_MAX)
		return -EFBIG;
	if (atomic_load(&ctx->dead))
		return -ENODEV;
	/* the staging buffer belongs to whoever holds ctx->io, for a whole series of pieces */
	pthread_mutex_lock(&ctx->io);
	r = put_input(ctx, m, in, in_size);
	if (!r)
		r = exchange(ctx, m);
	if (!r && out && out_len && (m->status == 0 || always_out))
		r = get_output(ctx, m, out, out_room, *out_len);
	pthread_mutex_unlock(&ctx->io);
	if (r == -EPIPE || (r && atomic_load(&ctx->dead))) {
		atomic_store(&ctx->dead, true);
		return -ENODEV;
	}
	return r;
}

int ferry_request(struct ferry_ctx *ctx, struct ferry_msg *m)
{
	int r = ferry_transact(ctx, m, NULL, 0, NULL, 0, NULL, false);

	return r ? r : (int)m->status;
}

int ferry_request_fd(struct ferry_ctx *ctx, struct ferry_msg *m, int fd)
{
	int r;

	if (atomic_load(&ctx->dead))
		return -ENODEV;
	pthread_mutex_lock(&ctx->io);
	m->magic = FERRY_PROTO_MAGIC;
	m->seq = ++ctx->seq;
	r = ferry_msg_send(ctx->sock, m, &fd, 1);
	if (!r)
		r = ferry_msg_recv(ctx->sock, m, NULL, NULL, 0);
	pthread_mutex_unlock(&ctx->io);
	if (r == -EPIPE) {
		atomic_store(&ctx->dead, true);
		return -ENODEV;
	}
	return r ? r : (int)m->status;
}

int ferry_meta_wait(struct ferry_ctx *ctx, uint32_t *word,
		    bool (*ready)(struct ferry_ctx *, const void *), const void *arg,
		    uint64_t timeout_ns)
{
	uint64_t deadline = timeout_ns ? ferry_clock_ns() + timeout_ns : 0;

	for (;;) {
		uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		uint64_t nap = 20 * 1000 * 1000, now;

		if (ready(ctx, arg))
			return 0;
		if (atomic_load(&ctx->dead) || !ferry_device_alive(ctx))
			return -ENODEV;
		if (deadline) {
			now = ferry_clock_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			if (deadline - now < nap)
				nap = deadline - now;
		}
		ferry_futex_wait(word, seen, nap);
	}
}
