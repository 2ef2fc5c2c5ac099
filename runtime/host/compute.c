/* SPDX-License-Identifier: MIT */
/*
 * compute.c - the OpenCL layer's calls to the PoCL device inside
 * ferry-device: device information, programs, kernels, launches
 * (host/compute.h), each one request of transport/proto.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/settings.h"
#include "host/compute.h"
#include "host/host.h"

/* compute.h's terms for what the wire says */
_Static_assert(FERRY_PROGRAM_MAX == FERRY_BULK_MAX, "a program payload goes in pieces");
_Static_assert(FERRY_LOG_MAX == FERRY_STAGING_SIZE, "a log comes back in the staging buffer");
_Static_assert(FERRY_LAUNCH_ARGS_MAX == FERRY_STAGING_SIZE, "a launch's arguments fill staging");
_Static_assert(FERRY_LAUNCH_POST_MAX == FERRY_POST_MAX, "a posted launch's arguments");
_Static_assert(FERRY_LAUNCH_RING == FERRY_FENCE_RING, "the launch status ring");
_Static_assert((int)FERRY_ARG_VALUE == FERRY_KARG_VALUE && (int)FERRY_ARG_SVM == FERRY_KARG_SVM &&
		       (int)FERRY_ARG_LOCAL == FERRY_KARG_LOCAL &&
		       (int)FERRY_ARG_IMAGE == FERRY_KARG_IMAGE &&
		       (int)FERRY_ARG_SAMPLER == FERRY_KARG_SAMPLER,
	       "argument kinds");
_Static_assert(sizeof(struct ferry_image_req) == sizeof(struct ferry_msg_image) &&
		       offsetof(struct ferry_image_req, color) ==
			       offsetof(struct ferry_msg_image, color) &&
		       offsetof(struct ferry_image_req, slice_pitch) ==
			       offsetof(struct ferry_msg_image, slice_pitch) &&
		       (int)FERRY_IMG_CREATE == FERRY_IMAGE_CREATE &&
		       (int)FERRY_IMG_FORMATS == FERRY_IMAGE_FORMATS &&
		       (int)FERRY_IMG_SAMPLER == FERRY_IMAGE_SAMPLER,
	       "image requests");
_Static_assert(sizeof(struct ferry_karg) == 2 * sizeof(uint32_t) &&
		       offsetof(struct ferry_karg, kind) == 0 &&
		       offsetof(struct ferry_karg, size) == sizeof(uint32_t),
	       "ferry_arg_put() writes a struct ferry_karg");
_Static_assert((int)FERRY_QUERY_PROGRAM == FERRY_OBJINFO_PROGRAM &&
		       (int)FERRY_QUERY_PROGRAM_BUILD == FERRY_OBJINFO_PROGRAM_BUILD &&
		       (int)FERRY_QUERY_PROGRAM_BINARY == FERRY_OBJINFO_PROGRAM_BINARY &&
		       (int)FERRY_QUERY_KERNEL_ARG == FERRY_OBJINFO_KERNEL_ARG &&
		       (int)FERRY_QUERY_KERNEL_WG == FERRY_OBJINFO_KERNEL_WG &&
		       (int)FERRY_QUERY_KERNEL == FERRY_OBJINFO_KERNEL,
	       "object queries");

/*
 * One request and its reply, the payloads through staging (ferry_transact()):
 * the reply's status, CL_OUT_OF_RESOURCES when the device cannot hold a
 * payload that large, or CL_DEVICE_NOT_AVAILABLE when it is gone.
 */
static cl_int call(struct ferry_ctx *ctx, struct ferry_msg *m, const void *in, size_t in_size,
		   void *out, size_t out_room, const uint64_t *out_len, bool always_out)
{
	int r = ferry_transact(ctx, m, in, in_size, out, out_room, out_len, always_out);

	if (r == -EFBIG || r == -ENOMEM)
		return CL_OUT_OF_RESOURCES;
	if (r)
		return CL_DEVICE_NOT_AVAILABLE;
	return (cl_int)m->status;
}

/* An info request: the value, if any, copied out on success; its size in *@size_ret. */
static cl_int info(struct ferry_ctx *ctx, struct ferry_msg *m, const uint64_t *len, size_t size,
		   void *value, size_t *size_ret)
{
	cl_int err = call(ctx, m, NULL, 0, value, value ? size : 0, len, false);

	if (!err && size_ret)
		*size_ret = *len;
	return err;
}

cl_int ferry_device_info(struct ferry_ctx *ctx, cl_device_info param, size_t size, void *value,
			 size_t *size_ret)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_DEVINFO};

	m.u.devinfo.param = param;
	m.u.devinfo.flags = value ? FERRY_INFO_VALUE : 0;
	m.u.devinfo.room = size;
	return info(ctx, &m, &m.u.devinfo.size, size, value, size_ret);
}

cl_int ferry_object_info(struct ferry_ctx *ctx, enum ferry_object_query query, uint64_t id,
			 cl_uint param, cl_uint index, size_t size, void *value, size_t *size_ret)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_OBJINFO};

	m.u.objinfo.id = id;
	m.u.objinfo.query = query;
	m.u.objinfo.param = param;
	m.u.objinfo.index = index;
	m.u.objinfo.flags = value ? FERRY_INFO_VALUE : 0;
	m.u.objinfo.room = size;
	return info(ctx, &m, &m.u.objinfo.size, size, value, size_ret);
}

/* Terminate a log that a request copied out (@len bytes, its NUL included, cut at @room). */
static void end_log(char *log, size_t room, uint64_t len)
{
	size_t copied = len < room ? (size_t)len : room;

	if (room)
		log[copied ? copied - 1 : 0] = '\0';
}

/*
 * @count strings, each with its NUL, after @head bytes (the caller's to
 * fill) in one malloc'd payload of *@size bytes: NULL when out of memory,
 * and *@size 0 when over FERRY_PROGRAM_MAX.
 */
static char *pack(const char *const *str, size_t count, size_t head, size_t *size)
{
	size_t n = head, o = head;
	char *payload;

	for (size_t i = 0; i < count && n <= FERRY_PROGRAM_MAX; i++)
		n += strlen(str[i]) + 1;
	*size = n <= FERRY_PROGRAM_MAX ? n : 0;
	payload = malloc(*size ? *size : 1);
	for (size_t i = 0; payload && *size && i < count; i++) {
		memcpy(payload + o, str[i], strlen(str[i]) + 1);
		o += strlen(str[i]) + 1;
	}
	return payload;
}

cl_int ferry_program_build(struct ferry_ctx *ctx, const char *source, const unsigned char *binary,
			   size_t binary_len, const char *options, uint64_t *program, char *log,
			   size_t log_room)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_BUILD};
	size_t n = binary ? binary_len : strlen(source) + 1, os = strlen(options) + 1;
	char *payload;
	cl_int err;

	*program = 0;
	if (log_room)
		log[0] = '\0';
	if (n > FERRY_PROGRAM_MAX || os > FERRY_PROGRAM_MAX - n)
		return CL_OUT_OF_RESOURCES;
	/* the input: the source (or binary), then the options */
	payload = malloc(n + os);
	if (!payload)
		return CL_OUT_OF_HOST_MEMORY;
	memcpy(payload, binary ? (const void *)binary : source, n);
	memcpy(payload + n, options, os);
	if (binary) {
		m.u.build.flags = FERRY_BUILD_BINARY;
		m.u.build.binary_len = binary_len;
	}
	/* the log is copied out on failure too */
	err = call(ctx, &m, payload, n + os, log, log_room, &m.u.build.log_len, true);
	free(payload);
	if (err == CL_SUCCESS || err == CL_BUILD_PROGRAM_FAILURE)
		*program = m.u.build.program;
	end_log(log, log_room, m.u.build.log_len);
	return err;
}

cl_int ferry_program_compile(struct ferry_ctx *ctx, const char *source, const char *options,
			     cl_uint num_headers, const char *const *names,
			     const char *const *headers, uint64_t *program, char *log,
			     size_t log_room)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_COMPILE};
	size_t count = 2 + 2 * (size_t)num_headers, size;
	const char **str = malloc(count * sizeof(*str));
	char *payload;
	cl_int err;

	*program = 0;
	if (log_room)
		log[0] = '\0';
	if (!str)
		return CL_OUT_OF_HOST_MEMORY;
	/* the input: the source, the options, then each header's name and source */
	str[0] = source;
	str[1] = options;
	for (cl_uint i = 0; i < num_headers; i++) {
		str[2 + 2 * i] = names[i];
		str[3 + 2 * i] = headers[i];
	}
	payload = pack(str, count, 0, &size);
	free(str);
	if (!payload)
		return CL_OUT_OF_HOST_MEMORY;
	m.u.compile.num_headers = num_headers;
	err = size ? call(ctx, &m, payload, size, log, log_room, &m.u.compile.log_len, true)
		   : CL_OUT_OF_RESOURCES;
	free(payload);
	if (err == CL_SUCCESS || err == CL_COMPILE_PROGRAM_FAILURE)
		*program = m.u.compile.program;
	end_log(log, log_room, m.u.compile.log_len);
	return err;
}

cl_int ferry_program_link(struct ferry_ctx *ctx, const uint64_t *programs, cl_uint num_programs,
			  const char *options, uint64_t *program, char *log, size_t log_room)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_LINK};
	size_t ids = (size_t)num_programs * sizeof(uint64_t), size;
	char *payload;
	cl_int err;

	*program = 0;
	if (log_room)
		log[0] = '\0';
	/* the input: the programs' ids, then the options */
	payload = pack(&options, 1, ids, &size);
	if (!payload)
		return CL_OUT_OF_HOST_MEMORY;
	if (size)
		memcpy(payload, programs, ids);
	m.u.link.num_programs = num_programs;
	err = size ? call(ctx, &m, payload, size, log, log_room, &m.u.link.log_len, true)
		   : CL_OUT_OF_RESOURCES;
	free(payload);
	if (err == CL_SUCCESS)
		*program = m.u.link.program;
	end_log(log, log_room, m.u.link.log_len);
	return err;
}

cl_int ferry_program_load(struct ferry_ctx *ctx, const unsigned char *binary, size_t len,
			  uint64_t *program, cl_program_binary_type *type)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_LOAD};
	cl_int err;

	*program = 0;
	if (len > FERRY_PROGRAM_MAX)
		return CL_OUT_OF_RESOURCES;
	m.u.load.binary_len = len;
	err = call(ctx, &m, binary, len, NULL, 0, NULL, false);
	if (!err) {
		*program = m.u.load.program;
		*type = m.u.load.binary_type;
	}
	return err;
}

cl_int ferry_kernel_create(struct ferry_ctx *ctx, uint64_t program, const char *name,
			   uint64_t *kernel, cl_uint *nargs)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_KERNEL};
	cl_int err;

	m.u.kernel.program = program;
	err = call(ctx, &m, name, strlen(name) + 1, NULL, 0, NULL, false);
	if (!err) {
		*kernel = m.u.kernel.id;
		*nargs = m.u.kernel.nargs;
	}
	return err;
}

static cl_int release(struct ferry_ctx *ctx, enum ferry_release_kind kind, uint64_t id)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_RELEASE};

	m.u.release.kind = kind;
	m.u.release.id = id;
	return call(ctx, &m, NULL, 0, NULL, 0, NULL, false);
}

cl_int ferry_program_release(struct ferry_ctx *ctx, uint64_t program)
{
	return release(ctx, FERRY_RELEASE_PROGRAM, program);
}

cl_int ferry_kernel_release(struct ferry_ctx *ctx, uint64_t kernel)
{
	return release(ctx, FERRY_RELEASE_KERNEL, kernel);
}

cl_int ferry_image_call(struct ferry_ctx *ctx, struct ferry_image_req *r, const void *in,
			size_t in_size, void *out, size_t out_room)
{
	struct ferry_msg m = {.op = FERRY_MSG_CL_IMAGE};
	cl_int err;

	if (in_size > FERRY_PROGRAM_MAX)
		return CL_OUT_OF_RESOURCES;
	memcpy(&m.u.image, r, sizeof(*r));
	err = call(ctx, &m, in, in_size, out, out_room, out ? &m.u.image.size : NULL, false);
	memcpy(r, &m.u.image, sizeof(*r));
	return err;
}

cl_int ferry_image_release(struct ferry_ctx *ctx, uint64_t id, int sampler)
{
	return release(ctx, sampler ? FERRY_RELEASE_SAMPLER : FERRY_RELEASE_IMAGE, id);
}

/* A launch's message (op, and fence for a posted one, still to set). */
static void launch_msg(struct ferry_msg *m, const struct ferry_launch_desc *d, size_t bytes)
{
	struct ferry_msg_launch *l = &m->u.launch;

	memset(m, 0, sizeof(*m));
	l->kernel = d->kernel;
	l->work_dim = d->work_dim;
	l->nargs = d->nargs;
	memcpy(l->offset, d->offset, sizeof(l->offset));
	memcpy(l->global, d->global, sizeof(l->global));
	memcpy(l->local, d->local, sizeof(l->local));
	l->args_size = bytes;
}

/*
 * Kernels' printf writes to ferry-device's standard output: before a launch,
 * make it the application's as it is now, so that the output lands where the
 * application's own would (a program that redirects stdout, as the CTS's
 * printf suite does with freopen, reads it back from that file). kcmp tells
 * whether both are the same open file (one system call per launch); where it
 * is not allowed, the same inode counts as the same. The descriptor is sent
 * only when they differ.
 */
static void follow_stdout(struct ferry_ctx *ctx)
{
	struct ferry_msg m = {.op = FERRY_MSG_STDOUT};
	struct stat st;
	long same = syscall(SYS_kcmp, getpid(), ctx->pid, KCMP_FILE, STDOUT_FILENO, STDOUT_FILENO);

	if (same == 0 || fstat(STDOUT_FILENO, &st))
		return; /* the same file, or ours is closed: the output goes where it went */
	if (same < 0 && errno != EBADF && (uint64_t)st.st_dev == atomic_load(&ctx->out_dev) &&
	    (uint64_t)st.st_ino == atomic_load(&ctx->out_ino))
		return;
	if (!ferry_request_fd(ctx, &m, STDOUT_FILENO)) {
		atomic_store(&ctx->out_dev, (uint64_t)st.st_dev);
		atomic_store(&ctx->out_ino, (uint64_t)st.st_ino);
	}
}

cl_int ferry_launch(struct ferry_ctx *ctx, const struct ferry_launch_desc *d, const void *args,
		    size_t bytes)
{
	struct ferry_msg m;

	if (bytes > FERRY_LAUNCH_ARGS_MAX)
		return CL_OUT_OF_RESOURCES;
	follow_stdout(ctx);
	launch_msg(&m, d, bytes);
	m.op = FERRY_MSG_CL_LAUNCH;
	return call(ctx, &m, args, bytes, NULL, 0, NULL, false);
}

/* ferry_meta_wait(): at most half the launch status ring is outstanding */
static bool ring_has_room(struct ferry_ctx *ctx, const void *arg)
{
	(void)arg;
	return __atomic_load_n(&ctx->launch_seq, __ATOMIC_RELAXED) -
		       __atomic_load_n(&ctx->meta->launches.done, __ATOMIC_ACQUIRE) <
	       FERRY_FENCE_RING / 2;
}

cl_int ferry_launch_post(struct ferry_ctx *ctx, const struct ferry_launch_desc *d, const void *args,
			 size_t bytes, uint64_t *fence)
{
	struct ferry_msg m;
	int r;

	if (bytes > FERRY_LAUNCH_POST_MAX)
		return CL_INVALID_VALUE;
	if (atomic_load(&ctx->dead))
		return CL_DEVICE_NOT_AVAILABLE;
	/*
	 * At most half the status ring outstanding, whatever the number of
	 * queues: a fence's status is overwritten FERRY_FENCE_RING fences on.
	 */
	if (ferry_meta_wait(ctx, &ctx->meta->launches.futex, ring_has_room, NULL, 0))
		return CL_DEVICE_NOT_AVAILABLE;
	follow_stdout(ctx);
	launch_msg(&m, d, bytes);
	m.magic = FERRY_PROTO_MAGIC;
	m.op = FERRY_MSG_CL_POST;
	/* fences in the order the device receives them: numbered under the socket's lock */
	pthread_mutex_lock(&ctx->io);
	m.seq = ++ctx->seq;
	m.u.launch.fence = ctx->launch_seq + 1;
	r = ferry_msg_send_with(ctx->sock, &m, args, bytes);
	if (!r) {
		*fence = m.u.launch.fence;
		__atomic_store_n(&ctx->launch_seq, *fence, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&ctx->io);
	if (r == -EPIPE)
		atomic_store(&ctx->dead, true);
	return r ? CL_DEVICE_NOT_AVAILABLE : CL_SUCCESS;
}

/* ferry_agent_poll(), ferry_meta_wait(): the launch with fence *@arg is done */
static bool launch_done(struct ferry_ctx *ctx, const void *arg)
{
	return ferry_fence_reached(&ctx->meta->launches, *(const uint64_t *)arg);
}

cl_int ferry_launch_wait(struct ferry_ctx *ctx, uint64_t fence)
{
	/*
	 * A short kernel completes sooner than a futex wake-up would arrive.
	 * Meanwhile this thread serves the host agent's mailbox (the kernel's
	 * faults zap this process's view), and keeps polling while it does.
	 */
	if (ferry_spin_ns())
		ferry_agent_poll(ctx, launch_done, &fence, ferry_spin_ns());
	if (ferry_meta_wait(ctx, &ctx->meta->launches.futex, launch_done, &fence, 0))
		return CL_DEVICE_NOT_AVAILABLE;
	return ferry_fence_status(&ctx->meta->launches, fence);
}

void ferry_launch_span(struct ferry_ctx *ctx, uint64_t fence, uint64_t *start, uint64_t *end)
{
	const struct ferry_fence_ring *r = &ctx->meta->launches;
	uint64_t s = r->start[fence % FERRY_FENCE_RING], e = r->end[fence % FERRY_FENCE_RING];

	if (s && e >= s) {
		*start = s;
		*end = e;
	}
}
