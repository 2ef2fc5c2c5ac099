/* SPDX-License-Identifier: MIT */
/*
 * ctx.h - a VA space as the host side sees it (either backend).
 *
 * Lock order: ctx->io (the request/reply channel and the staging buffer) is
 * taken before ctx->alloc_lock; the monitor thread takes neither while it
 * recovers the window after the device's death.
 */
#ifndef FERRY_CTX_H
#define FERRY_CTX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "transport/proto.h"

struct ferry_stats_pub;

struct ferry_range {
	struct ferry_range *next;
	uint64_t start, size;
};

struct ferry_ctx {
	uint64_t base, size, npages;
	/*
	 * The coherent region: the top fine_size bytes of the window are one
	 * memfd mapped at the same address in both processes (not managed,
	 * never migrated) for fine-grained SVM; managed memory is below it.
	 */
	uint64_t fine_size;
	int fine_fd;
	uint64_t device_memory, block_size;
	int prefetch;

	int sys_fd, vram_fd, meta_fd, staging_fd, uffd;
	int kfd;	  /* kernel backend: ferry.ko's render node, else -1 */
	uint64_t vaspace; /* kernel backend: the VA space id */
	int sock, pidfd, stop_efd;
	pid_t pid;
	pid_t owner; /* the process that opened it (a fork child only lets go of its copy) */
	uint8_t *sys_alias, *vram_alias, *staging;
	struct ferry_meta *meta;

	pthread_mutex_t io;
	uint64_t seq;
	uint64_t launch_seq;   /* the last posted launch's fence (under io) */
	uint64_t last_fence;   /* highest fence handed out */
	atomic_bool dead;      /* the device process is gone */
	atomic_bool recovered; /* ...and the window is plain host memory again */
	pthread_t monitor;
	pthread_t agent; /* zaps the host view on the driver's request */
	bool agent_started;
	pthread_mutex_t agent_lock; /* held while a request of the agent's mailbox is served */

	pthread_mutex_t alloc_lock;
	struct ferry_range *free_list, *fine_list, *used_list;

	struct ferry_stats_pub *stats; /* the statistics page for ferry-smi, or NULL */
};

/*
 * host/stats.c: publish the VA space's statistics page (ferry/ferry_stats.h)
 * and start the thread that answers ferry-smi (best effort, end of
 * ferry_open); stop it and unlink the page (start of ferry_close).
 */
void ferry_stats_start(struct ferry_ctx *ctx);
void ferry_stats_stop(struct ferry_ctx *ctx);
/*
 * host/alloc.c: copy up to @max live allocations (start and size; next is
 * NULL) into @out, most recent first, under the allocator's lock. Returns how
 * many there are in all.
 */
size_t ferry_alloc_list(struct ferry_ctx *ctx, struct ferry_range *out, size_t max);

/*
 * host/session.c: the host agent's mailbox. ferry_agent_serve() serves a
 * pending request, if any and if no other thread is serving it, and returns
 * whether it did. ferry_agent_poll() polls @ready(@ctx, @arg) for up to @ns
 * (from the last request served: the device is working then), serving the
 * mailbox meanwhile while the agent thread sleeps; returns @ready's last
 * answer.
 */
bool ferry_agent_serve(struct ferry_ctx *ctx);
bool ferry_agent_poll(struct ferry_ctx *ctx, bool (*ready)(struct ferry_ctx *, const void *),
		      const void *arg, uint64_t ns);

/*
 * One request and its reply, with payloads in the staging buffer: @in
 * (@in_size bytes) is copied there first; after a reply with status 0 (or any
 * reply, with @always_out) min(*@out_len, @out_room) bytes are copied to @out,
 * @out_len pointing at the reply's length field. Returns 0 (the reply's own
 * status is in m->status), -ENODEV when the device is gone, -EINVAL for a
 * payload larger than the staging buffer, or another transport error.
 */
int ferry_transact(struct ferry_ctx *ctx, struct ferry_msg *m, const void *in, size_t in_size,
		   void *out, size_t out_room, const uint64_t *out_len, bool always_out);

/* One request, one reply; 0 or the reply's negative status, -ENODEV when dead. */
int ferry_request(struct ferry_ctx *ctx, struct ferry_msg *m);

/*
 * The kernel backend (host/kmod.c: ferry.ko, the kernel module). ferry_kmod_find: an open render
 * node of ferry.ko, or -ENODEV. ferry_kmod_open: find it, check its
 * version and create the VA space (ctx->kfd, ctx->vaspace); 0 or a negative
 * errno. ferry_kmod_ioctl: one driver-interface command on it.
 */
int ferry_kmod_find(void);
int ferry_kmod_open(struct ferry_ctx *ctx);
int ferry_kmod_ioctl(struct ferry_ctx *ctx, unsigned long cmd, void *arg);

#endif
