/* SPDX-License-Identifier: MIT */
/*
 * proto.h - what libferry and ferry-device say to each other.
 *
 * One SOCK_SEQPACKET socket pair carries requests (host -> device) and their
 * replies, strictly one reply per request, in order, except FERRY_MSG_CL_POST
 * (an asynchronous kernel launch), which has none: its fence reports it. File
 * descriptors travel with SCM_RIGHTS in the INIT request. Bulk data (device
 * reads and writes, the OpenCL requests' strings, values and argument lists)
 * goes through a shared staging memfd, larger payloads in pieces
 * (FERRY_MSG_BULK_PUT, FERRY_MSG_BULK_GET); per-page residency, counters and
 * the completion of asynchronous migrations and launches live in a shared
 * metadata memfd that both processes map (the host reads it; only the device
 * writes it).
 */
#ifndef FERRY_PROTO_H
#define FERRY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/futex.h"
#include "ferry/ferry.h"

#define FERRY_PROTO_MAGIC 0x59525245u /* "ERRY" */
#define FERRY_STAGING_SIZE (4u << 20)
#define FERRY_FENCE_RING 256
#define FERRY_POST_MAX (64u << 10) /* argument bytes a FERRY_MSG_CL_POST carries */
/* The largest request input or reply value moved through staging in pieces. */
#define FERRY_BULK_MAX (256u << 20)

enum ferry_msg_op {
	FERRY_MSG_INIT = 1,    /* fds: sysmem, vram, meta, staging, host uffd */
	FERRY_MSG_IOCTL = 2,   /* payload: cmd + argument structure */
	FERRY_MSG_DEVWORK = 3, /* payload: struct ferry_dev_work */
	FERRY_MSG_SHUTDOWN = 4,
	/* The OpenCL layer's requests to PoCL, each with its own member of the union. */
	FERRY_MSG_CL_DEVINFO = 5,  /* u.devinfo: clGetDeviceInfo of PoCL's device */
	FERRY_MSG_CL_BUILD = 6,	   /* u.build: a program from a source or a binary */
	FERRY_MSG_CL_KERNEL = 7,   /* u.kernel: one of a program's kernels */
	FERRY_MSG_CL_LAUNCH = 8,   /* u.launch: a launch that has run when answered */
	FERRY_MSG_CL_RELEASE = 9,  /* u.release: a program or a kernel */
	FERRY_MSG_CL_OBJINFO = 10, /* u.objinfo: clGet*Info of a program or a kernel */
	/*
	 * u.launch: an asynchronous launch, and no reply: its fence reports it
	 * (meta->launches). Its argument list
	 * follows the message in the same datagram.
	 */
	FERRY_MSG_CL_POST = 11,
	FERRY_MSG_CL_COMPILE = 12, /* u.compile: a source compiled to an object, with headers */
	FERRY_MSG_CL_LINK = 13,	   /* u.link: compiled objects and libraries linked */
	FERRY_MSG_CL_LOAD = 14,	   /* u.load: a program from a binary, not built */
	/*
	 * One descriptor, the application's standard output as it is now:
	 * ferry-device's becomes that file, so that kernels' printf output
	 * lands where the application's own would (sent when it changes).
	 */
	FERRY_MSG_STDOUT = 15,
	FERRY_MSG_BULK_PUT = 16, /* u.bulk: a piece of the next request's input */
	FERRY_MSG_BULK_GET = 17, /* u.bulk: a piece of the last reply's value */
	FERRY_MSG_CL_IMAGE = 18	 /* u.image: an image or sampler operation on PoCL */
};

/*
 * Requests and replies larger than staging, in pieces of at most
 * FERRY_STAGING_SIZE bytes, while the host holds the channel for the whole
 * series (nothing else is sent in between).
 *
 * Input: FERRY_MSG_BULK_PUT messages, the first with @offset 0, then each
 * following piece in order, carry @len bytes of staging into a buffer of
 * @total bytes that the device keeps (-EFBIG over FERRY_BULK_MAX, -ENOMEM
 * when it cannot have it); then the real request, marked FERRY_MSG_BULK_IN
 * with @bulk_size == @total, reads its input (what the requests below say
 * staging holds) from that buffer; its output (a log) is still in staging.
 * The buffer is freed after that request, or by any request that is
 * neither. A piece out of order, past @total or over staging is -EINVAL and
 * drops the buffer; a marked request without all of its input, or of a kind
 * that takes none, is -EPROTO (an OpenCL request's: CL_INVALID_VALUE).
 *
 * Output: a reply marked FERRY_MSG_BULK_OUT has a value of @bulk_size bytes
 * (over FERRY_STAGING_SIZE), its first FERRY_STAGING_SIZE in staging; each
 * FERRY_MSG_BULK_GET copies @len bytes from @offset of it into staging
 * (@total == @bulk_size; anything else is -EINVAL). The device keeps the
 * value until a GET reaches its end or another request comes.
 */
#define FERRY_MSG_BULK_IN 1u  /* a request: its input is in the device's bulk buffer */
#define FERRY_MSG_BULK_OUT 2u /* a reply: its value is larger than staging */

struct ferry_msg_bulk {
	uint64_t offset;
	uint64_t len;
	uint64_t total;
};

/*
 * FERRY_MSG_CL_DEVINFO and FERRY_MSG_CL_OBJINFO answer as clGet*Info does:
 * the value's size, and with FERRY_INFO_VALUE the value itself in staging
 * (a larger one marked FERRY_MSG_BULK_OUT, the rest fetched with
 * FERRY_MSG_BULK_GET), or CL_INVALID_VALUE when it is larger than @room
 * (the caller's buffer), CL_OUT_OF_RESOURCES when it is larger than
 * FERRY_BULK_MAX.
 */
#define FERRY_INFO_VALUE 1u

struct ferry_msg_devinfo {
	uint32_t param; /* cl_device_info */
	uint32_t flags; /* FERRY_INFO_VALUE */
	uint64_t room;	/* bytes the caller can take */
	uint64_t size;	/* reply: the value's bytes */
};

/* What FERRY_MSG_CL_OBJINFO asks about an object. */
enum ferry_objinfo_query {
	FERRY_OBJINFO_PROGRAM = 0,	  /* clGetProgramInfo */
	FERRY_OBJINFO_PROGRAM_BUILD = 1,  /* clGetProgramBuildInfo */
	FERRY_OBJINFO_PROGRAM_BINARY = 2, /* the program's one binary (CL_PROGRAM_BINARIES) */
	FERRY_OBJINFO_KERNEL_ARG = 3,	  /* clGetKernelArgInfo */
	FERRY_OBJINFO_KERNEL_WG = 4,	  /* clGetKernelWorkGroupInfo */
	FERRY_OBJINFO_KERNEL = 5	  /* clGetKernelInfo (CL_KERNEL_ATTRIBUTES) */
};

struct ferry_msg_objinfo {
	uint64_t id;	/* the program's or the kernel's */
	uint32_t query; /* enum ferry_objinfo_query */
	uint32_t param; /* cl_program_info, cl_kernel_arg_info, ...; unused for a binary */
	uint32_t index; /* FERRY_OBJINFO_KERNEL_ARG: the argument's */
	uint32_t flags; /* FERRY_INFO_VALUE */
	uint64_t room;	/* bytes the caller can take */
	uint64_t size;	/* reply: the value's bytes */
};

/*
 * FERRY_MSG_CL_BUILD: staging holds the source, NUL-terminated (with
 * FERRY_BUILD_BINARY a binary of @binary_len bytes instead), then the build
 * options, NUL-terminated. The reply's build log replaces them.
 */
#define FERRY_BUILD_BINARY 1u

struct ferry_msg_build {
	uint32_t flags; /* FERRY_BUILD_BINARY */
	uint32_t pad;
	uint64_t binary_len;
	uint64_t program; /* reply: its id, when built or failed to compile; else 0 */
	uint64_t log_len; /* reply: the log's bytes in staging, its NUL included */
};

/*
 * FERRY_MSG_CL_COMPILE: staging holds the source, then the compile options,
 * then @num_headers embedded headers, each its include name then its
 * source, every string NUL-terminated. The reply's compile log replaces them.
 */
struct ferry_msg_compile {
	uint32_t num_headers;
	uint32_t pad;
	uint64_t program; /* reply: its id, when compiled or failed to compile; else 0 */
	uint64_t log_len; /* reply: the log's bytes in staging, its NUL included */
};

/*
 * FERRY_MSG_CL_LINK: staging holds the ids of the @num_programs programs to
 * link (uint64_t each: compiled objects and libraries), then the link
 * options, NUL-terminated (PoCL's: -create-library for a library). The
 * reply's link log replaces them.
 */
struct ferry_msg_link {
	uint32_t num_programs;
	uint32_t pad;
	uint64_t program; /* reply: the linked program's id, when linked; else 0 */
	uint64_t log_len; /* reply: the log's bytes in staging, its NUL included */
};

/* FERRY_MSG_CL_LOAD: staging holds a binary of @binary_len bytes, kept unbuilt. */
struct ferry_msg_load {
	uint64_t binary_len;
	uint64_t program;     /* reply: its id */
	uint32_t binary_type; /* reply: cl_program_binary_type (object, library, executable) */
	uint32_t pad;
};

/* FERRY_MSG_CL_KERNEL: the kernel's name in staging, NUL-terminated. */
struct ferry_msg_kernel {
	uint64_t program;
	uint64_t id;	/* reply: the kernel's */
	uint32_t nargs; /* reply: its arguments */
	uint32_t pad;
};

/* FERRY_MSG_CL_RELEASE */
enum ferry_release_kind {
	FERRY_RELEASE_PROGRAM = 0,
	FERRY_RELEASE_KERNEL = 1,
	FERRY_RELEASE_IMAGE = 2,
	FERRY_RELEASE_SAMPLER = 3
};

/*
 * FERRY_MSG_CL_IMAGE: images and samplers are PoCL's objects in
 * ferry-device, ids like programs and kernels (released with
 * FERRY_MSG_CL_RELEASE). Region data travels tightly packed (rows of
 * region[0] pixels, no padding): a WRITE's (and a CREATE's with data, in
 * the host's @row_pitch and @slice_pitch) is the input, a READ's the
 * reply's value of @size bytes (larger than staging: FERRY_MSG_BULK_OUT).
 * TO_BUFFER and FROM_BUFFER read or write a window address (@addr), which
 * the device view faults in.
 */
enum ferry_image_op {
	FERRY_IMAGE_CREATE = 0,	     /* @flags, @order/@type, @desc: reply @id, @size, pitches */
	FERRY_IMAGE_READ = 1,	     /* @id, @origin, @region: the pixels as the value */
	FERRY_IMAGE_WRITE = 2,	     /* @id, @origin, @region: the pixels from the input */
	FERRY_IMAGE_COPY = 3,	     /* @id at @origin to @id2 at @origin2, @region */
	FERRY_IMAGE_FILL = 4,	     /* @id, @origin, @region, @color */
	FERRY_IMAGE_TO_BUFFER = 5,   /* @id, @origin, @region into @addr */
	FERRY_IMAGE_FROM_BUFFER = 6, /* @addr into @id at @origin, @region */
	FERRY_IMAGE_SAMPLER = 7,     /* @desc[0..2]: normalized, addressing, filter: reply @id */
	FERRY_IMAGE_FORMATS = 8	     /* @flags, @mem_type: the cl_image_formats as the value */
};

struct ferry_msg_image {
	uint32_t op;	      /* enum ferry_image_op */
	uint32_t mem_type;    /* cl_mem_object_type */
	uint32_t order, type; /* cl_image_format */
	uint64_t flags;	      /* cl_mem_flags */
	uint64_t id, id2;
	/* width, height, depth, array size, row pitch, slice pitch */
	uint64_t desc[6];
	uint64_t origin[3], origin2[3], region[3];
	uint64_t addr;	    /* a window address; CREATE: an image1d buffer's memory */
	uint64_t addr_size; /* CREATE: that buffer's bytes; reply: the element size */
	uint8_t color[16];
	uint64_t size; /* reply: a READ's or FORMATS' value bytes; CREATE: CL_MEM_SIZE */
	uint64_t row_pitch, slice_pitch; /* reply of a CREATE: PoCL's */
};

struct ferry_msg_release {
	uint32_t kind; /* enum ferry_release_kind */
	uint32_t pad;
	uint64_t id;
};

/*
 * FERRY_MSG_CL_LAUNCH and FERRY_MSG_CL_POST: the argument list (@args_size
 * bytes, one struct ferry_karg per argument, each followed by its value) is
 * in staging for a LAUNCH, after the message in the same datagram for a POST
 * (at most FERRY_POST_MAX bytes).
 */
struct ferry_msg_launch {
	uint64_t kernel;
	/*
	 * FERRY_MSG_CL_POST: the launch's fence, numbered by the host, one more
	 * than the last posted launch's (anything else stops the device).
	 */
	uint64_t fence;
	uint32_t work_dim; /* 1..3 */
	uint32_t nargs;
	uint64_t offset[3], global[3], local[3]; /* local[0] == 0: PoCL picks */
	uint64_t args_size;
};

/* One kernel argument in a launch's argument list, followed by @size bytes but for LOCAL. */
struct ferry_karg {
	uint32_t kind; /* FERRY_KARG_* */
	uint32_t size; /* value bytes (VALUE), local bytes (LOCAL), 8 (SVM) */
};

/* IMAGE and SAMPLER: 8 bytes, the object's id in ferry-device */
enum {
	FERRY_KARG_VALUE = 0,
	FERRY_KARG_SVM = 1,
	FERRY_KARG_LOCAL = 2,
	FERRY_KARG_IMAGE = 3,
	FERRY_KARG_SAMPLER = 4
};

struct ferry_msg {
	uint32_t magic;
	uint32_t op;
	uint64_t seq;
	int64_t status; /* reply: 0 or negative errno; the OpenCL requests': a cl_int */
	uint64_t cmd;	/* FERRY_MSG_IOCTL: the ioctl number */
	uint32_t flags; /* FERRY_MSG_BULK_IN (a request), FERRY_MSG_BULK_OUT (a reply) */
	uint32_t pad;
	uint64_t bulk_size; /* with a FERRY_MSG_BULK_* flag: the input's or the value's bytes */
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
		struct ferry_msg_devinfo devinfo;
		struct ferry_msg_objinfo objinfo;
		struct ferry_msg_build build;
		struct ferry_msg_compile compile;
		struct ferry_msg_link link;
		struct ferry_msg_load load;
		struct ferry_msg_kernel kernel;
		struct ferry_msg_release release;
		struct ferry_msg_launch launch; /* FERRY_MSG_CL_LAUNCH and FERRY_MSG_CL_POST */
		struct ferry_msg_bulk bulk;	/* FERRY_MSG_BULK_PUT and FERRY_MSG_BULK_GET */
		struct ferry_msg_image image;
	} u;
};

/*
 * The shared metadata page(s). state[] has one byte a window page
 * (enum ferry_residency); the device is its only writer.
 */
enum ferry_agent_op { FERRY_AGENT_ZAP = 0, FERRY_AGENT_MAP = 1 };

/*
 * Completions the device publishes in order (asynchronous migrations, and
 * launches): fence N is done once done >= N, its status is in
 * status[N % FERRY_FENCE_RING] until FERRY_FENCE_RING fences later, and
 * futex is bumped and woken at every completion. The device is the only
 * writer (ferry_fence_publish), the host reads (ferry_fence_reached).
 * A launch's fence also says when the kernel ran (ferry_fence_publish_span).
 */
struct ferry_fence_ring {
	uint64_t done;
	uint32_t futex;
	uint32_t pad;
	int32_t status[FERRY_FENCE_RING];
	/* launches: when each kernel started and ended (ferry_clock_ns()), 0 when unknown */
	uint64_t start[FERRY_FENCE_RING], end[FERRY_FENCE_RING];
};

struct ferry_meta {
	uint32_t magic;
	uint32_t version;
	uint64_t npages;
	struct ferry_fence_ring migrations; /* asynchronous migrations: 0 or -errno */
	struct ferry_fence_ring launches;   /* posted kernel launches: cl_int */
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

/* Fence @fence completed with @status (fences complete in order). */
static inline void ferry_fence_publish(struct ferry_fence_ring *r, uint64_t fence, int32_t status)
{
	r->status[fence % FERRY_FENCE_RING] = status;
	__atomic_store_n(&r->done, fence, __ATOMIC_RELEASE);
	__atomic_fetch_add(&r->futex, 1, __ATOMIC_RELEASE);
	ferry_futex_wake(&r->futex);
}

/* The same for a launch that ran from @start to @end (ferry_clock_ns(); 0 when unknown). */
static inline void ferry_fence_publish_span(struct ferry_fence_ring *r, uint64_t fence,
					    int32_t status, uint64_t start, uint64_t end)
{
	r->start[fence % FERRY_FENCE_RING] = start;
	r->end[fence % FERRY_FENCE_RING] = end;
	ferry_fence_publish(r, fence, status);
}

static inline bool ferry_fence_reached(const struct ferry_fence_ring *r, uint64_t fence)
{
	return __atomic_load_n(&r->done, __ATOMIC_ACQUIRE) >= fence;
}

/* A completed fence's status (valid until FERRY_FENCE_RING fences later). */
static inline int32_t ferry_fence_status(const struct ferry_fence_ring *r, uint64_t fence)
{
	return r->status[fence % FERRY_FENCE_RING];
}

static inline size_t ferry_meta_size(uint64_t npages)
{
	return (offsetof(struct ferry_meta, state) + npages + 4095) & ~(size_t)4095;
}

/* Send/receive a message, optionally with file descriptors (SCM_RIGHTS). */
int ferry_msg_send(int sock, const struct ferry_msg *m, const int *fds, int nfds);
/* Returns 0, -EPIPE on end of stream, or another negative errno. */
int ferry_msg_recv(int sock, struct ferry_msg *m, int *fds, int *nfds, int maxfds);
/*
 * The same with a payload after the message in the same datagram: up to
 * @room bytes into @payload, their number in *@got; a longer datagram is
 * -EPROTO. At most one descriptor comes with it, into *@fd (-1: none).
 */
int ferry_msg_send_with(int sock, const struct ferry_msg *m, const void *payload, size_t n);
int ferry_msg_recv_with(int sock, struct ferry_msg *m, void *payload, size_t room, size_t *got,
			int *fd);

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
