/* SPDX-License-Identifier: MIT */
/*
 * proto.h - what libferry and ferry-device say to each other.
 *
 * One SOCK_SEQPACKET socket pair carries requests (host -> device) and their
 * replies, strictly one reply per request, in order, except FERRY_MSG_CL_POST
 * (an asynchronous kernel launch), which has none: its fence reports it. File descriptors travel
 * with SCM_RIGHTS in the INIT request. Bulk data (device reads and writes)
 * goes through a shared staging memfd; per-page residency, counters and the
 * completion of asynchronous migrations live in a shared metadata memfd that
 * both processes map (the host reads it; only the device writes it).
 */
#ifndef FERRY_PROTO_H
#define FERRY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/ferry.h"

#define FERRY_PROTO_MAGIC 0x59525245u /* "ERRY" */
#define FERRY_STAGING_SIZE (4u << 20)
#define FERRY_FENCE_RING 256
#define FERRY_POST_MAX (64u << 10) /* argument bytes a FERRY_MSG_CL_POST carries */

enum ferry_msg_op {
	FERRY_MSG_INIT = 1,    /* fds: sysmem, vram, meta, staging, host uffd */
	FERRY_MSG_IOCTL = 2,   /* payload: cmd + argument structure */
	FERRY_MSG_DEVWORK = 3, /* payload: struct ferry_dev_work */
	FERRY_MSG_SHUTDOWN = 4,
	FERRY_MSG_CL_DEVINFO = 5,  /* u.clq: clGetDeviceInfo of PoCL's device; value in staging */
	FERRY_MSG_CL_BUILD = 6,	   /* staging: source, options (NUL-terminated); out: id, log */
	FERRY_MSG_CL_KERNEL = 7,   /* staging: name; u.cl.id = program; out: id, nargs */
	FERRY_MSG_CL_LAUNCH = 8,   /* u.cl: kernel, ND-range; staging: struct ferry_karg list;
				      runs to completion before the reply */
	FERRY_MSG_CL_RELEASE = 9,  /* u.cl.id: program or kernel (u.cl.id2 = 1 for a kernel) */
	FERRY_MSG_CL_OBJINFO = 10, /* u.cl: id, id2 = FERRY_OBJINFO_*, nargs = param,
				    * work_dim = argument index; value in staging */
	/*
	 * An asynchronous launch, and no reply: u.cl as for CL_LAUNCH, u.cl.id2
	 * its fence (the host numbers them, one more than the last), the
	 * struct ferry_karg list right after the message in the same datagram
	 * (u.cl.size bytes, at most FERRY_POST_MAX). Completes, with its status,
	 * through launch_done and launch_status in the metadata.
	 */
	FERRY_MSG_CL_POST = 11
};

enum {
	FERRY_OBJINFO_PROGRAM = 0,	 /* clGetProgramInfo */
	FERRY_OBJINFO_KERNEL_ARG = 1,	 /* clGetKernelArgInfo */
	FERRY_OBJINFO_KERNEL_WG = 2,	 /* clGetKernelWorkGroupInfo */
	FERRY_OBJINFO_PROGRAM_BUILD = 3, /* clGetProgramBuildInfo */
	FERRY_OBJINFO_PROGRAM_BINARY = 4 /* the program's one binary (CL_PROGRAM_BINARIES) */
};

/* One kernel argument in a FERRY_MSG_CL_LAUNCH payload, followed by @size bytes. */
struct ferry_karg {
	uint32_t kind; /* FERRY_KARG_* */
	uint32_t size; /* value bytes (VALUE), local bytes (LOCAL), 8 (SVM) */
};

enum { FERRY_KARG_VALUE = 0, FERRY_KARG_SVM = 1, FERRY_KARG_LOCAL = 2 };

struct ferry_msg {
	uint32_t magic;
	uint32_t op;
	uint64_t seq;
	int64_t status; /* reply: 0 or negative errno */
	uint64_t cmd;	/* FERRY_MSG_IOCTL: the ioctl number */
	union {
		struct {
			uint64_t base;
			uint64_t size;
			uint64_t device_memory;
			uint64_t block_size;
			int32_t prefetch;
			uint32_t backend;   /* FERRY_BACKEND_USER or FERRY_BACKEND_KERNEL */
			uint64_t fine_size; /* the coherent region at the window's top */
			uint64_t vaspace;   /* kernel backend: the VA space id */
		} init;
		struct ferry_version version;
		struct ferry_migrate migrate;
		struct {
			struct ferry_attrs hdr;
			struct ferry_attr attr[FERRY_MAX_ATTRS];
		} attrs;
		struct ferry_dev_work work;
		struct {
			uint64_t id, id2;
			int32_t status; /* cl_int: build or launch status */
			uint32_t work_dim;
			uint32_t nargs;
			uint32_t pad;
			uint64_t offset[3], global[3], local[3]; /* local[0] == 0: PoCL picks */
			uint64_t size; /* bytes of payload/log in staging */
		} cl;
		struct {
			uint32_t param; /* cl_device_info */
			uint32_t pad;
			uint64_t size;	   /* in: bytes wanted (<= staging), 0 = size only */
			uint64_t size_ret; /* out */
		} clq;
	} u;
};

/*
 * The shared metadata page(s). state[] has one byte a window page
 * (enum ferry_residency); the device is its only writer.
 */
enum ferry_agent_op { FERRY_AGENT_ZAP = 0, FERRY_AGENT_MAP = 1 };

struct ferry_meta {
	uint32_t magic;
	uint32_t version;
	uint64_t npages;
	/* Asynchronous migrations: fences complete in order. */
	uint64_t fence_done;  /* last completed fence */
	uint32_t fence_futex; /* bumped (and woken) on every completion */
	uint32_t pad;
	int32_t fence_status[FERRY_FENCE_RING]; /* by fence % FERRY_FENCE_RING */
	/* Asynchronous kernel launches: the same scheme, their own numbering. */
	uint64_t launch_done;
	uint32_t launch_futex;
	uint32_t pad3;
	int32_t launch_status[FERRY_FENCE_RING]; /* cl_int */
	struct ferry_counters counters;
	/*
	 * The host agent's mailbox: the driver asks the host process to zap
	 * its own view of [zap_start, zap_start + zap_len) (MADV_DONTNEED keeps
	 * the sysmem pages for reuse, where a punched hole would free them),
	 * or, zap_op FERRY_AGENT_MAP, to map the range's sysmem pages into it
	 * (UFFDIO_CONTINUE on its own userfaultfd, while the driver copies the
	 * next piece). One request at a time: zap_req is bumped by the device,
	 * zap_ack set to it by the host when done; both are futex words.
	 */
	uint32_t zap_req;
	uint32_t zap_ack;
	uint64_t zap_start;
	uint64_t zap_len;
	int32_t zap_status;
	uint32_t zap_op;     /* enum ferry_agent_op */
	uint32_t host_agent; /* 1 while the host agent runs */
	uint32_t zap_hot;    /* an explicit migration runs: the agent keeps polling */
	/*
	 * Host threads that poll the mailbox themselves while they wait for
	 * the device (ferry_agent_poll): the device does not wake the
	 * agent thread for a request then.
	 */
	uint32_t host_waiters;
	uint8_t state[] __attribute__((aligned(4096)));
};

static inline size_t ferry_meta_size(uint64_t npages)
{
	return (offsetof(struct ferry_meta, state) + npages + 4095) & ~(size_t)4095;
}

/* Send/receive a message, optionally with file descriptors (SCM_RIGHTS). */
int ferry_msg_send(int sock, const struct ferry_msg *m, const int *fds, int nfds);
/* Returns 0, -EPIPE on end of stream, or another negative errno. */
int ferry_msg_recv(int sock, struct ferry_msg *m, int *fds, int *nfds, int maxfds);
/*
 * The same with a payload after the message in the same datagram (no
 * descriptors): up to @room bytes into @payload, their number in *@got; a
 * longer datagram is -EPROTO.
 */
int ferry_msg_send_with(int sock, const struct ferry_msg *m, const void *payload, size_t n);
int ferry_msg_recv_with(int sock, struct ferry_msg *m, void *payload, size_t room, size_t *got);

/*
 * Poll @sock for a waiting message for ferry_spin_ns() (common/settings.h),
 * or @ns nanoseconds, yielding the CPU between polls (on 2 CPUs the thread
 * that will answer may need it): 1 once a message is waiting, 0 when it is
 * time to block.
 */
int ferry_spin_readable(int sock);
int ferry_spin_readable_for(int sock, uint64_t ns);

/* Validation shared by the client and the driver: page-aligned, nonzero, in window. */
int ferry_check_range(uint64_t base, uint64_t wsize, uint64_t start, uint64_t size);

#endif /* FERRY_PROTO_H */
