/* SPDX-License-Identifier: MIT */
/*
 * FERRY_TRACE=<file>: a Chrome trace-event JSON of what the runtime did,
 * for Perfetto (ui.perfetto.dev) and chrome://tracing.
 *
 * Both processes record into one buffer of fixed-size records: a sparse
 * memfd that the host creates when it opens its first VA space with
 * FERRY_TRACE set, and that every ferry-device it starts inherits (as
 * descriptor 4, named by "--trace-fd=4" on its command line). Recording is a
 * fetch-and-add, gettid() and a few stores, no lock; a full buffer
 * drops events and counts them. The host alone writes the file: when a VA
 * space closes (its device has exited, so its records are final) and when the
 * process exits with VA spaces still open, each time the whole buffer so far,
 * so the file is complete JSON after every write.
 *
 * When FERRY_TRACE is unset, every trace point is one predicted branch on
 * ferry_trace_enabled.
 */
#ifndef FERRY_TRACE_H
#define FERRY_TRACE_H

#include <stdint.h>

/* Event categories: the "cat" field, and what the args of a record mean. */
enum ferry_trace_cat {
	FERRY_TR_KERNEL,    /* a kernel on the device: a0 = work-items, a1 = work_dim */
	FERRY_TR_COPY,	    /* device work (copy, fill, check): a0 = addr, a1 = bytes */
	FERRY_TR_PREFETCH,  /* an explicit migration request: a0 = addr, a1 = bytes,
			       a2 = target (0 host, 1 device), a3 = flags */
	FERRY_TR_MIGRATION, /* pages that moved: a0 = addr, a1 = pages, a2 = cause */
	FERRY_TR_FAULT,	    /* a fault batch: a0 = faults, a1 = host faults,
			       a2 = device faults, a3 = blocks resolved */
	FERRY_TR_EVICTION,  /* a region evicted to the host: a0 = addr, a1 = pages */
	FERRY_TR_COMMAND,   /* an OpenCL command, start to end: a0 = cl_command_type,
			       a1 = status */
	FERRY_TR_THRASHING, /* a region pinned on the host for thrashing, or let go:
			       a0 = addr, a1 = pages mapped in place (pin) or unmapped
			       (release), a2 = 0 pin, 1 release */
	FERRY_TR_NCAT,
};

/* Why pages moved (FERRY_TR_MIGRATION a2). */
enum ferry_trace_cause {
	FERRY_TR_CAUSE_REQUEST, /* an explicit migration (prefetch) */
	FERRY_TR_CAUSE_FAULT,	/* a fault (and the prefetcher's extension of it) */
	FERRY_TR_CAUSE_EVICTION,
	FERRY_TR_CAUSE_ADVICE, /* read-mostly duplication, accessed-by */
};

extern int ferry_trace_enabled;

#define FERRY_TRACE_ON() __builtin_expect(ferry_trace_enabled, 0)

/*
 * Host: start tracing if FERRY_TRACE names a file (once per process; later
 * calls return the same descriptor). Returns the buffer's descriptor for the
 * device process, -1 when not tracing, or -errno.
 */
int ferry_trace_host_init(void);
/* ferry-device: record into the buffer the host passed as @fd. */
int ferry_trace_device_init(int fd);
/* Host: write the file now (all records so far). Returns 0 or -errno. */
int ferry_trace_flush(void);
/*
 * Host: a traced VA space closed (its device exited): write the file. Each
 * ferry_trace_host_init() that returned a descriptor counts one VA space;
 * the file is written again at exit only while some are still open.
 */
void ferry_trace_vaspace_closed(void);

/* Name the calling thread in the trace (a metadata record). */
void ferry_trace_thread_name(const char *name);

/* A complete event ("X") from @ts_ns lasting @dur_ns; @name is copied (47 bytes kept). */
void ferry_trace_event(enum ferry_trace_cat cat, const char *name, uint64_t ts_ns, uint64_t dur_ns,
		       uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

#endif
