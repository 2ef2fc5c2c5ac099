/* SPDX-License-Identifier: MIT */
#ifndef FERRY_DEVICE_H
#define FERRY_DEVICE_H

#include "ferry/ferry.h"

struct ferry_msg;
struct ferry_msg_launch;

/*
 * Run device work over the device view (threads touch window memory, faults
 * are resolved by the driver). @staging is the shared bulk-data buffer.
 */
int ferry_device_run(struct ferry_dev_work *w, uint8_t *staging);

/*
 * clGetDeviceInfo of PoCL's CPU device (loaded on first use). Returns a
 * cl_int error code (CL_DEVICE_NOT_AVAILABLE when PoCL cannot be loaded).
 */
int ferry_pocl_device_info(uint32_t param, uint64_t size, void *value, uint64_t *size_ret);

/* Programs, kernels and launches on PoCL; cl_int results. */
/* From @source, or from @binary when it is not NULL. */
int ferry_pocl_build(const char *source, const unsigned char *binary, size_t binary_size,
		     const char *options, uint64_t *id, char *log, uint64_t log_room,
		     uint64_t *log_size);
/*
 * Compile @source to an object with @options, @num_headers embedded headers
 * (@headers[i] included as @names[i]). The id kept as for a build: when
 * compiled or failed to compile (CL_COMPILE_PROGRAM_FAILURE).
 */
int ferry_pocl_compile(const char *source, const char *options, uint32_t num_headers,
		       const char *const *names, const char *const *headers, uint64_t *id,
		       char *log, uint64_t log_room, uint64_t *log_size);
/* Link the @n programs @ids (objects, libraries) with PoCL's link @options; the log either way. */
int ferry_pocl_link(const uint64_t *ids, uint32_t n, const char *options, uint64_t *id, char *log,
		    uint64_t log_room, uint64_t *log_size);
/* A program from a binary, not built: its id and binary type (cl_program_binary_type). */
int ferry_pocl_load(const unsigned char *binary, size_t size, uint64_t *id, uint32_t *binary_type);
int ferry_pocl_kernel(uint64_t program, const char *name, uint64_t *id, uint32_t *nargs);
int ferry_pocl_release_program(uint64_t id);
int ferry_pocl_release_kernel(uint64_t id);
/* @query: enum ferry_objinfo_query; @size 0 asks for the size only. */
int ferry_pocl_object_info(uint64_t id, uint32_t query, uint32_t param, uint32_t index,
			   uint64_t size, void *value, uint64_t *size_ret);
/*
 * Launch @l's kernel with the argument list @args (@l->args_size bytes).
 * With @l->fence != 0 the launch is asynchronous: the function returns once
 * the kernel is queued, and @done (ferry_pocl_start_completions) is called
 * with the fence when it completed, in launch order, with when the kernel
 * started and ended (ferry_clock_ns(); 0 when unknown). A small launch of a
 * hot kernel with nothing pending runs on PoCL's basic device before the
 * function returns, and @done is called from here (pocl.c).
 */
int ferry_pocl_launch(const struct ferry_msg_launch *l, const uint8_t *args);
int ferry_pocl_start_completions(void (*done)(uint64_t fence, int status, uint64_t start,
					      uint64_t end));
/* A launch whose fence was taken failed: complete the fence in order, with @status. */
int ferry_pocl_fail_fence(uint64_t fence, int status);

/*
 * image.c: a FERRY_MSG_CL_IMAGE request, its input @in (@size bytes); a
 * READ's value through ferry_reply_buffer(). Releasing an image or a sampler.
 */
int ferry_pocl_image_request(struct ferry_msg *m, const uint8_t *in, size_t size);
int ferry_pocl_release_image(uint64_t id, int sampler);

/*
 * main.c: where a reply's value of @size bytes is computed (staging, or a
 * buffer kept for FERRY_MSG_BULK_GET; NULL: out of memory), and the reply's
 * status once it is (@st), marked FERRY_MSG_BULK_OUT when larger than staging.
 */
uint8_t *ferry_reply_buffer(uint64_t size);
int ferry_reply_done(struct ferry_msg *m, const uint8_t *buf, int st, uint64_t size);

#endif
