/* SPDX-License-Identifier: MIT */
/*
 * host.h - the host layer (what runs in the application below the OpenCL
 * API): a VA space as the host side sees it, either backend, and the calls
 * its files make of each other.
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
	uint64_t start, size; /* whole pages */
	uint64_t asked;	      /* a live allocation: the size it was asked for */
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
	const struct ferry_backend *be;
	int kfd;	  /* kernel backend: ferry.ko's render node, else -1 */
	uint64_t vaspace; /* kernel backend: the VA space id */
	int sock, pidfd, stop_efd;
	pid_t pid;
	pid_t owner; /* the process that opened it (a fork child only lets go of its copy) */
	uint8_t *sys_alias, *vram_alias, *staging;
	struct ferry_meta *meta;

	pthread_mutex_t io;
	uint64_t seq;
	/* ferry-device's standard output is this file (st_dev, st_ino): kernels' printf */
	_Atomic uint64_t out_dev, out_ino;
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
 * host/agent.c: the host agent's mailbox. ferry_agent_serve() serves a
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
 * @out_len pointing at the reply's length field. Payloads larger than staging
 * go through it in pieces (transport/proto.h: FERRY_MSG_BULK_PUT, _GET) under
 * the same hold of ctx->io. Returns 0 (the reply's own status is in
 * m->status), -ENODEV when the device is gone (also in the middle of a
 * series), -EFBIG for an input larger than FERRY_BULK_MAX, the device's
 * -ENOMEM when it cannot hold one, or another transport error. Sets m->flags
 * and m->bulk_size.
 */
int ferry_transact(struct ferry_ctx *ctx, struct ferry_msg *m, const void *in, size_t in_size,
		   void *out, size_t out_room, const uint64_t *out_len, bool always_out);

/* One request, one reply; 0 or the reply's negative status, -ENODEV when dead. */
int ferry_request(struct ferry_ctx *ctx, struct ferry_msg *m);
/* The same, sending descriptor @fd with the message (SCM_RIGHTS). */
int ferry_request_fd(struct ferry_ctx *ctx, struct ferry_msg *m, int fd);

/*
 * A backend: what differs between the user-space driver (host/backend_user.c)
 * and ferry.ko (host/kmod.c), behind one table. ferry_open() calls open,
 * then bind_window once ferry-device runs, then start; ferry_close() calls
 * stop, then release once the device is reaped; the monitor thread calls
 * device_died. start, stop and release may be NULL.
 */
struct ferry_backend {
	const char *name;
	uint32_t id; /* FERRY_BACKEND_USER or FERRY_BACKEND_KERNEL */
	/* the backend's own resources (descriptors, memfds); 0 or a negative errno */
	int (*open)(struct ferry_ctx *ctx);
	/* settle the window's address with the device and map it (ferry_window_place) */
	int (*bind_window)(struct ferry_ctx *ctx);
	void (*start)(struct ferry_ctx *ctx);
	void (*stop)(struct ferry_ctx *ctx);
	/* one driver-interface command (ferry_ioctl); 0 or a negative errno */
	int (*ioctl)(struct ferry_ctx *ctx, unsigned long cmd, void *arg);
	void (*device_died)(struct ferry_ctx *ctx);
	void (*release)(struct ferry_ctx *ctx);
};

extern const struct ferry_backend ferry_backend_user;
extern const struct ferry_backend ferry_backend_kmod;

/*
 * host/session.c, for the backends. ferry_window_place: pick a free 2 MiB
 * aligned address and call @map_at(ctx, base, first, &taken) until the
 * device accepts one (up to 4 tries): @map_at maps the window at base and
 * offers it to the device (ferry_send_init, with the descriptors when
 * @first); on -EEXIST (taken in ferry-device) it leaves its mapping in
 * *taken, kept reserved until the address is settled. ferry_send_init:
 * INIT at @base; the device's answer. ferry_map_coherent: the coherent
 * region over the top of the window @w. ferry_new_memfd, ferry_map_shared:
 * a memfd of @size bytes (or a negative errno); a shared mapping of one
 * that fork() does not copy (or NULL).
 */
int ferry_window_place(struct ferry_ctx *ctx,
		       int (*map_at)(struct ferry_ctx *, uint64_t, bool, void **));
int ferry_send_init(struct ferry_ctx *ctx, uint64_t base, int *fds, int nfds);
int ferry_map_coherent(struct ferry_ctx *ctx, void *w);
int ferry_new_memfd(const char *name, uint64_t size);
void *ferry_map_shared(int fd, uint64_t size);

/* host/agent.c: start the host agent thread (unless FERRY_NO_HOST_AGENT), stop it. */
void ferry_agent_start(struct ferry_ctx *ctx);
void ferry_agent_stop(struct ferry_ctx *ctx);

/*
 * host/rpc.c: wait until @ready(@ctx, @arg) holds, sleeping on the shared
 * metadata's futex @word between checks. 0, -ENODEV once the device is
 * gone, -ETIMEDOUT after @timeout_ns (0: no limit).
 */
int ferry_meta_wait(struct ferry_ctx *ctx, uint32_t *word,
		    bool (*ready)(struct ferry_ctx *, const void *), const void *arg,
		    uint64_t timeout_ns);

#endif
