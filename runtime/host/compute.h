/* SPDX-License-Identifier: MIT */
/*
 * compute.h - the host layer's compute calls: what the OpenCL layer asks of
 * PoCL inside ferry-device (device information, programs, kernels, launches).
 *
 * Programs and kernels are ids in ferry-device (0 is none). Every call
 * returns a cl_int: CL_SUCCESS, PoCL's error, or CL_DEVICE_NOT_AVAILABLE when
 * the device process is gone.
 */
#ifndef FERRY_COMPUTE_H
#define FERRY_COMPUTE_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ferry/ferry.h"

/*
 * The largest program payload of a call: a source or a binary with its
 * options, a compile's source, options and headers, a link's programs and
 * options (each string with its NUL); and the largest info value (a
 * program's binary). Larger than the staging buffer, they go through it in
 * pieces.
 */
#define FERRY_PROGRAM_MAX (256u << 20)
/* The largest build, compile or link log: it comes back in the staging buffer. */
#define FERRY_LOG_MAX (4u << 20)
/* The largest argument list ferry_launch() takes: it goes in the staging buffer. */
#define FERRY_LAUNCH_ARGS_MAX (4u << 20)
/* The largest argument list ferry_launch_post() takes. */
#define FERRY_LAUNCH_POST_MAX (64u << 10)
/*
 * Posted launches' statuses are kept for the last FERRY_LAUNCH_RING fences:
 * ferry_launch_post() waits while half of them are still running, and a
 * fence should be waited for before FERRY_LAUNCH_RING more are posted.
 */
#define FERRY_LAUNCH_RING 256

/*
 * clGetDeviceInfo of PoCL's device: with @value, CL_INVALID_VALUE when @size
 * is less than the value's size, CL_OUT_OF_RESOURCES when that is over
 * FERRY_PROGRAM_MAX (or ferry-device cannot hold it); the size in
 * *@size_ret (may be NULL) on success.
 */
cl_int ferry_device_info(struct ferry_ctx *ctx, cl_device_info param, size_t size, void *value,
			 size_t *size_ret);

/*
 * Build a program from @source (NUL-terminated) or, when @binary is not
 * NULL, from @binary_len bytes of a binary, with @options. Its id in
 * *@program when it was built or failed to compile (CL_BUILD_PROGRAM_FAILURE),
 * else 0; the build log in @log, NUL-terminated, cut at @log_room bytes (at
 * most FERRY_LOG_MAX are kept). CL_OUT_OF_RESOURCES when the source or
 * binary and the options, with their NULs, exceed FERRY_PROGRAM_MAX (or
 * ferry-device cannot hold them).
 */
cl_int ferry_program_build(struct ferry_ctx *ctx, const char *source, const unsigned char *binary,
			   size_t binary_len, const char *options, uint64_t *program, char *log,
			   size_t log_room);

/*
 * Compile @source (NUL-terminated) to an object with @options and
 * @num_headers embedded headers: @headers[i] is the source that "#include
 * @names[i]" finds. Its id in *@program when it compiled or failed to
 * compile (CL_COMPILE_PROGRAM_FAILURE), else 0; the log as for
 * ferry_program_build(), and CL_OUT_OF_RESOURCES when the strings, with
 * their NULs, exceed FERRY_PROGRAM_MAX.
 */
cl_int ferry_program_compile(struct ferry_ctx *ctx, const char *source, const char *options,
			     cl_uint num_headers, const char *const *names,
			     const char *const *headers, uint64_t *program, char *log,
			     size_t log_room);

/*
 * Link the @num_programs compiled objects and libraries @programs with
 * PoCL's link @options ("-create-library" for a library): the new program's
 * id in *@program when it linked, else 0 (CL_LINK_PROGRAM_FAILURE: the
 * log tells why); the log as for ferry_program_build().
 */
cl_int ferry_program_link(struct ferry_ctx *ctx, const uint64_t *programs, cl_uint num_programs,
			  const char *options, uint64_t *program, char *log, size_t log_room);

/*
 * A program from @len bytes of a binary, not built (a compiled object or a
 * library can be linked as it is): its id in *@program and what the binary
 * is in *@type. PoCL's error (CL_INVALID_BINARY) when it is no binary of its.
 */
cl_int ferry_program_load(struct ferry_ctx *ctx, const unsigned char *binary, size_t len,
			  uint64_t *program, cl_program_binary_type *type);

/* Create the kernel @name of @program: its id in *@kernel, its argument count in *@nargs. */
cl_int ferry_kernel_create(struct ferry_ctx *ctx, uint64_t program, const char *name,
			   uint64_t *kernel, cl_uint *nargs);

/* Forget a program or a kernel in ferry-device. */
cl_int ferry_program_release(struct ferry_ctx *ctx, uint64_t program);
cl_int ferry_kernel_release(struct ferry_ctx *ctx, uint64_t kernel);

/* What ferry_object_info() asks, about a program or a kernel. */
enum ferry_object_query {
	FERRY_QUERY_PROGRAM,	    /* clGetProgramInfo */
	FERRY_QUERY_PROGRAM_BUILD,  /* clGetProgramBuildInfo */
	FERRY_QUERY_PROGRAM_BINARY, /* the program's one binary (@param unused) */
	FERRY_QUERY_KERNEL_ARG,	    /* clGetKernelArgInfo of argument @index */
	FERRY_QUERY_KERNEL_WG,	    /* clGetKernelWorkGroupInfo */
	FERRY_QUERY_KERNEL	    /* clGetKernelInfo */
};

/* clGet*Info of program or kernel @id: sizes and errors as ferry_device_info(). */
cl_int ferry_object_info(struct ferry_ctx *ctx, enum ferry_object_query query, uint64_t id,
			 cl_uint param, cl_uint index, size_t size, void *value, size_t *size_ret);

/*
 * A launch's argument list, built once by the caller into its own buffer:
 * for each of the kernel's arguments in order, ferry_arg_put(), which writes
 * ferry_arg_bytes() bytes.
 */
enum ferry_arg_kind {
	FERRY_ARG_VALUE = 0,  /* by value: @size bytes */
	FERRY_ARG_SVM = 1,    /* a window address: a pointer's bytes */
	FERRY_ARG_LOCAL = 2,  /* __local memory of @size bytes: no value */
	FERRY_ARG_IMAGE = 3,  /* an image's id in ferry-device (uint64_t) */
	FERRY_ARG_SAMPLER = 4 /* a sampler's id in ferry-device (uint64_t) */
};

static inline size_t ferry_arg_bytes(uint32_t kind, uint32_t size)
{
	return 2 * sizeof(uint32_t) + (kind == FERRY_ARG_LOCAL ? 0 : size);
}

/* Write one argument at @list (a LOCAL one has no @value); returns the bytes written. */
static inline size_t ferry_arg_put(uint8_t *list, uint32_t kind, uint32_t size, const void *value)
{
	const uint32_t head[2] = {kind, size};

	memcpy(list, head, sizeof(head));
	if (kind != FERRY_ARG_LOCAL)
		memcpy(list + sizeof(head), value, size);
	return ferry_arg_bytes(kind, size);
}

/*
 * Images and samplers: PoCL's, ids in ferry-device. One operation of
 * ferry_image_call(): what each field means per operation is
 * transport/proto.h's struct ferry_msg_image (the same layout).
 */
enum ferry_image_opcode {
	FERRY_IMG_CREATE = 0,	   /* input: the host's data (@size bytes) or none */
	FERRY_IMG_READ = 1,	   /* output: the region packed */
	FERRY_IMG_WRITE = 2,	   /* input: the region packed */
	FERRY_IMG_COPY = 3,	   /* image @id to image @id2 */
	FERRY_IMG_FILL = 4,	   /* @color */
	FERRY_IMG_TO_BUFFER = 5,   /* into window address @addr */
	FERRY_IMG_FROM_BUFFER = 6, /* from window address @addr */
	FERRY_IMG_SAMPLER = 7,	   /* @desc[0..2]: normalized, addressing mode, filter mode */
	FERRY_IMG_FORMATS = 8	   /* output: cl_image_format[] for @flags, @mem_type */
};

struct ferry_image_req {
	uint32_t op, mem_type, order, type;
	uint64_t flags, id, id2;
	uint64_t desc[6]; /* width, height, depth, array size, row pitch, slice pitch */
	uint64_t origin[3], origin2[3], region[3];
	uint64_t addr, addr_size;
	uint8_t color[16];
	uint64_t size; /* input bytes of a CREATE; reply: output bytes, CL_MEM_SIZE */
	uint64_t row_pitch, slice_pitch; /* reply of a CREATE */
};

/*
 * One image operation: @in_size bytes of input (at most FERRY_PROGRAM_MAX),
 * up to @out_room bytes of output into @out; the reply's fields into @r.
 */
cl_int ferry_image_call(struct ferry_ctx *ctx, struct ferry_image_req *r, const void *in,
			size_t in_size, void *out, size_t out_room);
/* Forget an image or a sampler in ferry-device. */
cl_int ferry_image_release(struct ferry_ctx *ctx, uint64_t id, int sampler);

/* A launch of a kernel over an ND-range. */
struct ferry_launch_desc {
	uint64_t kernel;
	uint32_t work_dim;			 /* 1..3 */
	uint32_t nargs;				 /* the argument list's entries */
	uint64_t offset[3], global[3], local[3]; /* local[0] == 0: PoCL picks */
};

/*
 * Launch and wait until the kernel has run: its status. The argument list
 * (@bytes, at most FERRY_LAUNCH_ARGS_MAX) goes through the staging buffer.
 */
cl_int ferry_launch(struct ferry_ctx *ctx, const struct ferry_launch_desc *d, const void *args,
		    size_t bytes);
/*
 * Launch asynchronously: sent with its argument list (@bytes, at most
 * FERRY_LAUNCH_POST_MAX, else CL_INVALID_VALUE) and not answered; its fence
 * in *@fence, for ferry_launch_wait(). A failure to launch is the fence's
 * status.
 */
cl_int ferry_launch_post(struct ferry_ctx *ctx, const struct ferry_launch_desc *d, const void *args,
			 size_t bytes, uint64_t *fence);
/* Wait for a posted launch: its status (fences complete in order). */
cl_int ferry_launch_wait(struct ferry_ctx *ctx, uint64_t fence);
/*
 * When a completed posted launch's kernel started and ended on the device,
 * on ferry_clock_ns()'s clock (common/clock.h), into *@start and *@end;
 * left alone when the device does not know. Valid as its status is.
 */
void ferry_launch_span(struct ferry_ctx *ctx, uint64_t fence, uint64_t *start, uint64_t *end);

#endif /* FERRY_COMPUTE_H */
