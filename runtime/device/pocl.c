/* SPDX-License-Identifier: MIT */
/*
 * pocl.c - PoCL inside ferry-device: the software device's compute engine.
 *
 * PoCL is loaded on first use with dlopen() and reached through its ICD
 * entry point and dispatch table, never through libOpenCL: the host's
 * OCL_ICD_VENDORS may well point at Ferry itself.
 */
#include <assert.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/settings.h"
#include "common/clock.h"
#include "common/features.h"
#include "device/device.h"
#include "common/trace.h"
#include "transport/proto.h"

#include "device/pocl.h"

typedef cl_int(CL_API_CALL *icd_get_platforms_fn)(cl_uint, cl_platform_id *, cl_uint *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cl_platform_id platform;
static cl_device_id device;
static const struct _cl_icd_dispatch *dispatch;
static cl_context context;
static cl_command_queue queue;

/* Programs and kernels by id (the host holds ids, never PoCL handles). */
#define MAX_OBJECTS 4096
static cl_program programs[MAX_OBJECTS];
static cl_kernel kernels[MAX_OBJECTS];

/*
 * Small launches. PoCL's pthread device wakes its worker threads for every
 * launch, and inside ferry-device, on two CPUs, that wake-up was 16-35 us of
 * an empty kernel's 43-56 us launch. PoCL's basic device runs a kernel in the
 * thread that flushes its queue, with no worker to wake. A kernel launched
 * SMALL_HOT times with at most SMALL_ITEMS work-items gets a twin built for
 * the basic device (from the same source and options, in a context of its
 * own), and from then on its small launches run on the request loop's
 * thread, in order: only when no launch on the pthread queue is pending. Off
 * with FERRY_SMALL_LAUNCH=0, or when POCL_DEVICES is set (PoCL then offers
 * what it says).
 */
#define SMALL_ITEMS 64
#define SMALL_HOT 8
static cl_device_id basic_device;
static cl_context basic_context;
static cl_command_queue basic_queue;
static struct {
	char *source, *options; /* as built (arg info added); NULL source: no twin */
	cl_program twin;
	bool twin_failed;
} program_src[MAX_OBJECTS];
static struct {
	uint64_t program;
	char *name;
	unsigned small; /* small launches so far */
	cl_kernel twin;
} kernel_src[MAX_OBJECTS];

static void load(void)
{
	const char *lib = getenv("FERRY_POCL_LIBRARY"), *sl = getenv("FERRY_SMALL_LAUNCH");
	bool small = !getenv("POCL_DEVICES") && (!sl || atoi(sl));
	icd_get_platforms_fn get;
	cl_device_id devs[4];
	cl_uint n = 0;
	void *h;

	if (small)
		setenv("POCL_DEVICES", "pthread basic", 1);
	h = dlopen(lib ? lib : "libpocl.so.2", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "ferry-device: cannot load PoCL: %s\n", dlerror());
		return;
	}
	get = (icd_get_platforms_fn)dlsym(h, "POclIcdGetPlatformIDsKHR");
	if (!get)
		get = (icd_get_platforms_fn)dlsym(h, "clIcdGetPlatformIDsKHR");
	if (!get || get(1, &platform, &n) != CL_SUCCESS || n == 0) {
		fprintf(stderr, "ferry-device: PoCL has no platform\n");
		return;
	}
	dispatch = *(const struct _cl_icd_dispatch **)platform;
	if (dispatch->clGetDeviceIDs(platform, CL_DEVICE_TYPE_CPU, 4, devs, &n) != CL_SUCCESS ||
	    n == 0) {
		fprintf(stderr, "ferry-device: PoCL has no CPU device\n");
		return;
	}
	/* the pthread device is Ferry's device; the basic one, if there, runs small launches */
	device = devs[0];
	for (cl_uint i = 0; i < n && i < 4; i++) {
		char name[64] = "";

		dispatch->clGetDeviceInfo(devs[i], CL_DEVICE_NAME, sizeof(name) - 1, name, NULL);
		if (!strncmp(name, "basic", 5))
			basic_device = small ? devs[i] : NULL;
		else
			device = devs[i];
	}
	if (basic_device == device)
		basic_device = NULL;
}

/* PoCL's context and in-order queue (profiling: when kernels ran), made on first use. */
static cl_int ensure_queue(void)
{
	const cl_queue_properties profiling[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
	cl_int err = CL_SUCCESS;

	pthread_once(&once, load);
	if (!device)
		return CL_DEVICE_NOT_AVAILABLE;
	if (queue)
		return CL_SUCCESS;
	context = dispatch->clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	if (!context)
		return err;
	queue = dispatch->clCreateCommandQueueWithProperties(context, device, profiling, &err);
	if (!queue)
		return err;
	if (basic_device) {
		cl_int e2 = CL_SUCCESS;

		basic_context = dispatch->clCreateContext(NULL, 1, &basic_device, NULL, NULL, &e2);
		if (basic_context)
			basic_queue = dispatch->clCreateCommandQueueWithProperties(
				basic_context, basic_device, NULL, &e2);
	}
	return CL_SUCCESS;
}

cl_int ferry_pocl_get(const struct _cl_icd_dispatch **d, cl_device_id *dev, cl_context *ctx,
		      cl_command_queue *q)
{
	cl_int err = ensure_queue();

	*d = dispatch;
	*dev = device;
	*ctx = context;
	*q = queue;
	return err;
}

static int free_slot(void **table)
{
	for (int i = 1; i < MAX_OBJECTS; i++)
		if (!table[i])
			return i;
	return -1;
}

/* A program of @source in @ctx. */
static cl_program program_from_source(cl_context ctx, const char *source, cl_int *err)
{
	return dispatch->clCreateProgramWithSource(ctx, 1, &source, NULL, err);
}

/* The OpenCL C version that the last -cl-std= of @options asks for is 3.x. */
static bool wants_cl3(const char *options)
{
	const char *std = NULL;

	for (const char *p = options; (p = strstr(p, "-cl-std=")); p++)
		std = p + strlen("-cl-std=");
	return std && (std[0] == 'C' || std[0] == 'c') && (std[1] == 'L' || std[1] == 'l') &&
	       std[2] == '3';
}

/*
 * @options as PoCL compiles them: with -cl-kernel-arg-info (Ferry checks
 * kernel arguments against their types) and the macros of the features
 * Ferry adds (common/features.h) for OpenCL C 3.0.
 */
static char *device_options(const char *options)
{
	bool cl3 = wants_cl3(options);
	size_t len = strlen(options) + sizeof(" -cl-kernel-arg-info");
	char *opts;

	for (size_t i = 0; cl3 && i < FERRY_ADDED_C_FEATURES; i++)
		len += strlen(" -D=1") + strlen(ferry_added_c_features[i]);
	opts = malloc(len);
	if (!opts)
		return NULL;
	strcpy(opts, options);
	strcat(opts, " -cl-kernel-arg-info");
	for (size_t i = 0; cl3 && i < FERRY_ADDED_C_FEATURES; i++) {
		strcat(opts, " -D");
		strcat(opts, ferry_added_c_features[i]);
		strcat(opts, "=1");
	}
	return opts;
}

/* @prog's build log into @log (@room bytes), its size in *@size. */
static void program_log(cl_program prog, char *log, uint64_t room, uint64_t *size)
{
	size_t ls = 0;

	if (dispatch->clGetProgramBuildInfo(prog, device, CL_PROGRAM_BUILD_LOG, room, log, &ls) ==
	    CL_SUCCESS)
		*size = ls;
}

int ferry_pocl_build(const char *source, const unsigned char *binary, size_t binary_size,
		     const char *options, uint64_t *id, char *log, uint64_t log_room,
		     uint64_t *log_size)
{
	cl_int err = ensure_queue(), build;
	cl_program prog;
	char *opts;
	int slot;

	*log_size = 0;
	if (err)
		return err;
	slot = free_slot((void **)programs);
	if (slot < 0)
		return CL_OUT_OF_RESOURCES;
	if (binary) {
		cl_int st = CL_SUCCESS;

		prog = dispatch->clCreateProgramWithBinary(context, 1, &device, &binary_size,
							   &binary, &st, &err);
		if (!prog)
			return err ? err : st;
	} else {
		prog = program_from_source(context, source, &err);
		if (!prog)
			return err;
	}
	opts = device_options(options);
	if (!opts) {
		dispatch->clReleaseProgram(prog);
		return CL_OUT_OF_HOST_MEMORY;
	}
	build = dispatch->clBuildProgram(prog, 1, &device, opts, NULL, NULL);
	program_log(prog, log, log_room, log_size);
	if (build != CL_SUCCESS && build != CL_BUILD_PROGRAM_FAILURE) {
		/* nothing to keep: the host keeps ids of built or failed-to-compile programs */
		dispatch->clReleaseProgram(prog);
		free(opts);
		*id = 0;
		return build;
	}
	programs[slot] = prog;
	*id = (uint64_t)slot;
	/* what a small-launch twin is built from: the same source and build options */
	if (basic_queue && source && build == CL_SUCCESS)
		program_src[slot].source = strdup(source);
	if (program_src[slot].source)
		program_src[slot].options = opts;
	else
		free(opts);
	return build;
}

int ferry_pocl_compile(const char *source, const char *options, uint32_t num_headers,
		       const char *const *names, const char *const *headers, uint64_t *id,
		       char *log, uint64_t log_room, uint64_t *log_size)
{
	cl_program prog = NULL, *hdrs = calloc(num_headers + 1, sizeof(cl_program));
	cl_int err = ensure_queue();
	char *opts = device_options(options);
	int slot = free_slot((void **)programs);

	*id = 0;
	*log_size = 0;
	if (!err && (!hdrs || !opts))
		err = CL_OUT_OF_HOST_MEMORY;
	if (!err && slot < 0)
		err = CL_OUT_OF_RESOURCES;
	/* the embedded headers are programs of their own, as long as the compile runs */
	for (uint32_t i = 0; !err && i < num_headers; i++) {
		const char *h = headers[i];

		hdrs[i] = dispatch->clCreateProgramWithSource(context, 1, &h, NULL, &err);
	}
	if (!err)
		prog = program_from_source(context, source, &err);
	if (prog) {
		err = dispatch->clCompileProgram(
			prog, 1, &device, opts, num_headers, num_headers ? hdrs : NULL,
			num_headers ? (const char **)names : NULL, NULL, NULL);
		program_log(prog, log, log_room, log_size);
		/* as for a build: the host keeps ids of compiled or failed-to-compile programs */
		if (err == CL_SUCCESS || err == CL_COMPILE_PROGRAM_FAILURE) {
			programs[slot] = prog;
			*id = (uint64_t)slot;
		} else {
			dispatch->clReleaseProgram(prog);
		}
	}
	for (uint32_t i = 0; hdrs && i < num_headers && hdrs[i]; i++)
		dispatch->clReleaseProgram(hdrs[i]);
	free(hdrs);
	free(opts);
	return err;
}

/* The log of a link, which PoCL's clLinkProgram releases when the link fails. */
struct link_log {
	char *log;
	uint64_t room, size;
};

/* Called by PoCL when the link is done, failed or not (the program is NULL when it never began). */
static void CL_CALLBACK link_notify(cl_program prog, void *arg)
{
	struct link_log *l = arg;

	if (prog)
		program_log(prog, l->log, l->room, &l->size);
}

int ferry_pocl_link(const uint64_t *ids, uint32_t n, const char *options, uint64_t *id, char *log,
		    uint64_t log_room, uint64_t *log_size)
{
	struct link_log l = {.log = log, .room = log_room};
	cl_int err = ensure_queue();
	int slot = free_slot((void **)programs);
	cl_program prog, *in;

	*id = 0;
	*log_size = 0;
	if (err)
		return err;
	if (slot < 0)
		return CL_OUT_OF_RESOURCES;
	in = calloc(n ? n : 1, sizeof(*in));
	if (!in)
		return CL_OUT_OF_HOST_MEMORY;
	for (uint32_t i = 0; i < n; i++) {
		if (ids[i] == 0 || ids[i] >= MAX_OBJECTS || !programs[ids[i]]) {
			free(in);
			return CL_INVALID_PROGRAM;
		}
		in[i] = programs[ids[i]];
	}
	prog = dispatch->clLinkProgram(context, 1, &device, options, n, in, link_notify, &l, &err);
	free(in);
	*log_size = l.size;
	if (prog && err) {
		dispatch->clReleaseProgram(prog);
		prog = NULL;
	}
	if (!prog)
		return err ? err : CL_LINK_PROGRAM_FAILURE;
	programs[slot] = prog;
	*id = (uint64_t)slot;
	return CL_SUCCESS;
}

int ferry_pocl_load(const unsigned char *binary, size_t size, uint64_t *id, uint32_t *binary_type)
{
	cl_program_binary_type bt = CL_PROGRAM_BINARY_TYPE_NONE;
	cl_int err = ensure_queue(), st = CL_SUCCESS;
	cl_program prog;
	int slot = free_slot((void **)programs);

	*id = 0;
	if (err)
		return err;
	if (slot < 0)
		return CL_OUT_OF_RESOURCES;
	prog = dispatch->clCreateProgramWithBinary(context, 1, &device, &size, &binary, &st, &err);
	if (!prog)
		return err ? err : st;
	err = dispatch->clGetProgramBuildInfo(prog, device, CL_PROGRAM_BINARY_TYPE, sizeof(bt), &bt,
					      NULL);
	if (err) {
		dispatch->clReleaseProgram(prog);
		return err;
	}
	programs[slot] = prog;
	*id = (uint64_t)slot;
	*binary_type = (uint32_t)bt;
	return CL_SUCCESS;
}

int ferry_pocl_kernel(uint64_t program, const char *name, uint64_t *id, uint32_t *nargs)
{
	cl_int err = CL_INVALID_PROGRAM;
	cl_kernel k;
	cl_uint n = 0;
	int slot;

	if (program == 0 || program >= MAX_OBJECTS || !programs[program])
		return CL_INVALID_PROGRAM;
	slot = free_slot((void **)kernels);
	if (slot < 0)
		return CL_OUT_OF_RESOURCES;
	k = dispatch->clCreateKernel(programs[program], name, &err);
	if (!k)
		return err;
	err = dispatch->clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof(n), &n, NULL);
	if (err) {
		dispatch->clReleaseKernel(k);
		return err;
	}
	kernels[slot] = k;
	*id = (uint64_t)slot;
	*nargs = n;
	if (program_src[program].source) {
		kernel_src[slot].program = program;
		kernel_src[slot].name = strdup(name);
	}
	return CL_SUCCESS;
}

int ferry_pocl_release_kernel(uint64_t id)
{
	if (id == 0 || id >= MAX_OBJECTS)
		return CL_INVALID_VALUE;
	if (!kernels[id])
		return CL_SUCCESS;
	dispatch->clReleaseKernel(kernels[id]);
	kernels[id] = NULL;
	if (kernel_src[id].twin)
		dispatch->clReleaseKernel(kernel_src[id].twin);
	free(kernel_src[id].name);
	memset(&kernel_src[id], 0, sizeof(kernel_src[id]));
	return CL_SUCCESS;
}

int ferry_pocl_release_program(uint64_t id)
{
	if (id == 0 || id >= MAX_OBJECTS)
		return CL_INVALID_VALUE;
	if (!programs[id])
		return CL_SUCCESS;
	dispatch->clReleaseProgram(programs[id]);
	programs[id] = NULL;
	if (program_src[id].twin)
		dispatch->clReleaseProgram(program_src[id].twin);
	/* its kernels (twins keep their own reference) get no twin from now on */
	for (int i = 1; i < MAX_OBJECTS; i++)
		if (kernel_src[i].name && kernel_src[i].program == id)
			kernel_src[i].name[0] = '\0';
	free(program_src[id].source);
	free(program_src[id].options);
	memset(&program_src[id], 0, sizeof(program_src[id]));
	return CL_SUCCESS;
}

/* Asynchronous launches complete in order on this thread. */
struct pending {
	struct pending *next;
	cl_event event; /* NULL: a launch that failed to queue, with @status */
	uint64_t fence;
	cl_int status;
	uint64_t t_queued; /* when it arrived (ferry_clock_ns()) */
	/* FERRY_TRACE: what ran */
	uint64_t items;
	uint32_t dims;
	char name[48];
};

/* The end of the last traced launch: an in-order queue starts the next one after it. */
static uint64_t trace_last_end;

static void trace_kernel(const char *name, uint64_t t_queued, uint64_t items, uint32_t dims)
{
	uint64_t end = ferry_clock_ns(), last = __atomic_load_n(&trace_last_end, __ATOMIC_RELAXED);
	uint64_t start = t_queued > last ? t_queued : last;

	ferry_trace_event(FERRY_TR_KERNEL, name, start, end - start, items, dims, 0, 0);
	__atomic_store_n(&trace_last_end, end, __ATOMIC_RELAXED);
}

static void kernel_name(cl_kernel k, char *buf, size_t room)
{
	if (dispatch->clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, room, buf, NULL) != CL_SUCCESS)
		snprintf(buf, room, "kernel");
}

static pthread_mutex_t pend_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pend_cond = PTHREAD_COND_INITIALIZER;
static struct pending *pend_head, *pend_tail;
static void (*launch_done)(uint64_t fence, int status, uint64_t start, uint64_t end);

/* PoCL's profiling clock (pocl_gettimemono_ns()). */
static uint64_t pocl_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * When @p's kernel ran, on ferry_clock_ns()'s clock: PoCL's profiling stamps
 * are CLOCK_MONOTONIC_RAW's, moved by the two clocks' difference now (they
 * drift apart by parts per million: nothing over a kernel's time). Never
 * before the launch arrived nor before the previous launch ended (PoCL's
 * queue is in order); without PoCL's stamps, from its arrival until now.
 */
static void launch_span(const struct pending *p, uint64_t *start, uint64_t *end)
{
	static uint64_t last_end; /* the completion thread's */
	uint64_t now = ferry_clock_ns(), raw = pocl_clock_ns();
	cl_ulong s = 0, e = 0;

	*start = p->t_queued;
	*end = now;
	if (dispatch->clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_START, sizeof(s), &s,
					      NULL) == CL_SUCCESS &&
	    dispatch->clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_END, sizeof(e), &e,
					      NULL) == CL_SUCCESS &&
	    s && s <= e && e <= raw && raw - s < now) {
		*start = now - (raw - s);
		*end = now - (raw - e);
	}
	if (*start < p->t_queued)
		*start = p->t_queued;
	if (*start < last_end)
		*start = last_end;
	if (*end < *start)
		*end = *start;
	last_end = *end;
}

/* Poll a launch's status for a while first: a short kernel ends before a wake-up would. */
static void spin_until_done(cl_event ev)
{
	uint64_t spin = ferry_spin_ns(), t0 = spin ? ferry_clock_ns() : 0;
	cl_int st = CL_QUEUED;

	while (spin &&
	       dispatch->clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(st), &st,
					NULL) == CL_SUCCESS &&
	       st > CL_COMPLETE && ferry_clock_ns() - t0 < spin)
		sched_yield();
}

static void *completion_main(void *arg)
{
	(void)arg;
	ferry_trace_thread_name("kernel completion");
	for (;;) {
		struct pending *p;
		cl_int st = CL_SUCCESS;
		uint64_t start = 0, end = 0;

		pthread_mutex_lock(&pend_lock);
		while (!pend_head)
			pthread_cond_wait(&pend_cond, &pend_lock);
		p = pend_head;
		pthread_mutex_unlock(&pend_lock);

		if (p->event)
			spin_until_done(p->event);
		if (!p->event)
			st = p->status;
		else if (dispatch->clWaitForEvents(1, &p->event) != CL_SUCCESS ||
			 dispatch->clGetEventInfo(p->event, CL_EVENT_COMMAND_EXECUTION_STATUS,
						  sizeof(st), &st, NULL) != CL_SUCCESS)
			st = CL_OUT_OF_RESOURCES;
		if (p->event) {
			launch_span(p, &start, &end);
			dispatch->clReleaseEvent(p->event);
		}

		if (FERRY_TRACE_ON() && p->event)
			trace_kernel(p->name, p->t_queued, p->items, p->dims);
		/* published before it leaves the list: an empty list has every fence published */
		launch_done(p->fence, st < 0 ? st : CL_SUCCESS, start, end);
		pthread_mutex_lock(&pend_lock);
		pend_head = p->next;
		if (!pend_head)
			pend_tail = NULL;
		pthread_mutex_unlock(&pend_lock);
		free(p);
	}
	return NULL;
}

/* Queue a completion; @trace (or NULL) has the launch's trace fields. */
static int push_pending(cl_event ev, uint64_t fence, cl_int status, const struct pending *trace)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	if (trace)
		*p = *trace;
	p->event = ev;
	p->fence = fence;
	p->status = status;
	p->next = NULL;
	pthread_mutex_lock(&pend_lock);
	if (pend_tail)
		pend_tail->next = p;
	else
		pend_head = p;
	pend_tail = p;
	pthread_cond_signal(&pend_cond);
	pthread_mutex_unlock(&pend_lock);
	return 0;
}

int ferry_pocl_fail_fence(uint64_t fence, int status)
{
	/* completed in order after the launches queued before it */
	return push_pending(NULL, fence, status, NULL);
}

int ferry_pocl_start_completions(void (*done)(uint64_t fence, int status, uint64_t start,
					      uint64_t end))
{
	pthread_t t;

	launch_done = done;
	return pthread_create(&t, NULL, completion_main, NULL) ? -1 : 0;
}

/* Set @k's arguments from an argument list (struct ferry_karg, then the value). */
static cl_int set_args(cl_kernel k, uint32_t nargs, const uint8_t *args, uint64_t args_size)
{
	uint64_t pos = 0;
	cl_int err;

	for (uint32_t i = 0; i < nargs; i++) {
		struct ferry_karg a;

		if (pos + sizeof(a) > args_size)
			return CL_INVALID_KERNEL_ARGS;
		memcpy(&a, args + pos, sizeof(a));
		pos += sizeof(a);
		switch (a.kind) {
		case FERRY_KARG_VALUE:
			if (pos + a.size > args_size)
				return CL_INVALID_KERNEL_ARGS;
			err = dispatch->clSetKernelArg(k, i, a.size, args + pos);
			pos += a.size;
			break;
		case FERRY_KARG_SVM: {
			void *ptr;

			if (a.size != sizeof(ptr) || pos + a.size > args_size)
				return CL_INVALID_KERNEL_ARGS;
			memcpy(&ptr, args + pos, sizeof(ptr));
			err = dispatch->clSetKernelArgSVMPointer(k, i, ptr);
			pos += a.size;
			break;
		}
		case FERRY_KARG_LOCAL:
			err = dispatch->clSetKernelArg(k, i, a.size, NULL);
			break;
		case FERRY_KARG_IMAGE:
		case FERRY_KARG_SAMPLER: {
			uint64_t id;
			void *obj;

			if (a.size != sizeof(id) || pos + a.size > args_size)
				return CL_INVALID_KERNEL_ARGS;
			memcpy(&id, args + pos, sizeof(id));
			obj = a.kind == FERRY_KARG_IMAGE ? (void *)ferry_pocl_image(id)
							 : (void *)ferry_pocl_sampler(id);
			if (!obj)
				return a.kind == FERRY_KARG_IMAGE ? CL_INVALID_MEM_OBJECT
								  : CL_INVALID_SAMPLER;
			err = dispatch->clSetKernelArg(k, i, sizeof(obj), &obj);
			pos += a.size;
			break;
		}
		default:
			return CL_INVALID_KERNEL_ARGS;
		}
		if (err)
			return err;
	}
	return CL_SUCCESS;
}

/* Has the argument list an image or a sampler (PoCL's objects of its pthread device's context)? */
static bool has_objects(uint32_t nargs, const uint8_t *args, uint64_t args_size)
{
	uint64_t pos = 0;

	for (uint32_t i = 0; i < nargs && pos + sizeof(struct ferry_karg) <= args_size; i++) {
		struct ferry_karg a;

		memcpy(&a, args + pos, sizeof(a));
		if (a.kind == FERRY_KARG_IMAGE || a.kind == FERRY_KARG_SAMPLER)
			return true;
		pos += sizeof(a) + (a.kind == FERRY_KARG_LOCAL ? 0 : a.size);
	}
	return false;
}

/*
 * The basic device's twin of kernel @id, once its small launches are hot
 * (built now, in this thread, the first time), or NULL.
 */
static cl_kernel small_twin(uint64_t id)
{
	uint64_t p = kernel_src[id].program;
	cl_int err = CL_SUCCESS;

	if (!basic_queue || !kernel_src[id].name || !kernel_src[id].name[0])
		return NULL;
	if (kernel_src[id].twin || ++kernel_src[id].small < SMALL_HOT)
		return kernel_src[id].twin;
	if (!program_src[p].source) {
		kernel_src[id].name[0] = '\0';
		return NULL;
	}
	if (!program_src[p].twin && !program_src[p].twin_failed) {
		cl_program twin = program_from_source(basic_context, program_src[p].source, &err);

		if (twin && dispatch->clBuildProgram(twin, 1, &basic_device, program_src[p].options,
						     NULL, NULL) == CL_SUCCESS) {
			program_src[p].twin = twin;
			twin = NULL;
		}
		if (twin)
			dispatch->clReleaseProgram(twin);
		program_src[p].twin_failed = !program_src[p].twin;
	}
	if (program_src[p].twin)
		kernel_src[id].twin =
			dispatch->clCreateKernel(program_src[p].twin, kernel_src[id].name, &err);
	if (!kernel_src[id].twin)
		kernel_src[id].name[0] = '\0'; /* no twin: never try again */
	return kernel_src[id].twin;
}

int ferry_pocl_launch(const struct ferry_msg_launch *l, const uint8_t *args)
{
	size_t off[3], glo[3], loc[3], items = 1;
	uint32_t work_dim = l->work_dim;
	uint64_t fence = l->fence;
	const size_t *local;
	struct pending tr = {0};
	cl_kernel k, twin;
	cl_int err;

	if (l->kernel == 0 || l->kernel >= MAX_OBJECTS || !kernels[l->kernel])
		return CL_INVALID_KERNEL;
	if (work_dim < 1 || work_dim > 3)
		return CL_INVALID_WORK_DIMENSION;
	k = kernels[l->kernel];
	for (uint32_t d = 0; d < work_dim; d++) {
		off[d] = (size_t)l->offset[d];
		glo[d] = (size_t)l->global[d];
		loc[d] = (size_t)l->local[d];
		items *= glo[d];
	}
	local = l->local[0] ? loc : NULL; /* none: PoCL picks */
	tr.t_queued = ferry_clock_ns();
	if (FERRY_TRACE_ON()) {
		tr.items = items;
		tr.dims = work_dim;
		kernel_name(k, tr.name, sizeof(tr.name));
	}
	/*
	 * A small launch of a hot kernel, with nothing pending on the pthread
	 * queue (so in order): run now on the basic device, in this thread.
	 */
	if (fence && items <= SMALL_ITEMS && !__atomic_load_n(&pend_head, __ATOMIC_ACQUIRE) &&
	    !has_objects(l->nargs, args, l->args_size) && (twin = small_twin(l->kernel))) {
		err = set_args(twin, l->nargs, args, l->args_size);
		if (err)
			return err;
		tr.t_queued = ferry_clock_ns(); /* it runs now, in this thread */
		err = dispatch->clEnqueueNDRangeKernel(basic_queue, twin, work_dim, off, glo, local,
						       0, NULL, NULL);
		if (err)
			return err;
		err = dispatch->clFinish(basic_queue);
		if (FERRY_TRACE_ON())
			trace_kernel(tr.name, tr.t_queued, tr.items, tr.dims);
		/* nothing pending: every earlier fence is published, and this one is next */
		launch_done(fence, err < 0 ? err : CL_SUCCESS, tr.t_queued, ferry_clock_ns());
		return CL_SUCCESS;
	}
	err = set_args(k, l->nargs, args, l->args_size);
	if (err)
		return err;
	if (fence) {
		/* asynchronous: the completion thread reports the fence */
		cl_event ev = NULL;

		err = dispatch->clEnqueueNDRangeKernel(queue, k, work_dim, off, glo, local, 0, NULL,
						       &ev);
		if (err)
			return err;
		dispatch->clFlush(queue);
		if (push_pending(ev, fence, CL_SUCCESS, &tr)) {
			dispatch->clWaitForEvents(1, &ev);
			dispatch->clReleaseEvent(ev);
			return CL_OUT_OF_HOST_MEMORY;
		}
		return CL_SUCCESS;
	}
	err = dispatch->clEnqueueNDRangeKernel(queue, k, work_dim, off, glo, local, 0, NULL, NULL);
	if (err)
		return err;
	err = dispatch->clFinish(queue);
	if (FERRY_TRACE_ON())
		trace_kernel(tr.name, tr.t_queued, tr.items, tr.dims);
	return err;
}

int ferry_pocl_device_info(uint32_t param, uint64_t size, void *value, uint64_t *size_ret)
{
	size_t ret = 0;
	cl_int err;

	pthread_once(&once, load);
	if (!device)
		return CL_DEVICE_NOT_AVAILABLE;
	err = dispatch->clGetDeviceInfo(device, param, (size_t)size, size ? value : NULL, &ret);
	*size_ret = ret;
	return err;
}

int ferry_pocl_object_info(uint64_t id, uint32_t query, uint32_t param, uint32_t index,
			   uint64_t size, void *value, uint64_t *size_ret)
{
	size_t ret = 0;
	cl_int err;

	if (id == 0 || id >= MAX_OBJECTS)
		return query == FERRY_OBJINFO_PROGRAM || query == FERRY_OBJINFO_PROGRAM_BUILD
			       ? CL_INVALID_PROGRAM
			       : CL_INVALID_KERNEL;
	switch (query) {
	case FERRY_OBJINFO_PROGRAM:
	case FERRY_OBJINFO_PROGRAM_BUILD:
		if (!programs[id])
			return CL_INVALID_PROGRAM;
		err = query == FERRY_OBJINFO_PROGRAM
			      ? dispatch->clGetProgramInfo(programs[id], param, size,
							   size ? value : NULL, &ret)
			      : dispatch->clGetProgramBuildInfo(programs[id], device, param, size,
								size ? value : NULL, &ret);
		break;
	case FERRY_OBJINFO_PROGRAM_BINARY: {
		size_t bsize = 0;
		unsigned char *bin;

		if (!programs[id])
			return CL_INVALID_PROGRAM;
		err = dispatch->clGetProgramInfo(programs[id], CL_PROGRAM_BINARY_SIZES,
						 sizeof(bsize), &bsize, NULL);
		if (err)
			return err;
		ret = bsize;
		if (size && size < bsize)
			return CL_INVALID_VALUE;
		if (!size || !bsize)
			break;
		bin = value;
		err = dispatch->clGetProgramInfo(programs[id], CL_PROGRAM_BINARIES, sizeof(bin),
						 &bin, NULL);
		break;
	}
	case FERRY_OBJINFO_KERNEL_ARG:
		if (!kernels[id])
			return CL_INVALID_KERNEL;
		err = dispatch->clGetKernelArgInfo(kernels[id], index, param, size,
						   size ? value : NULL, &ret);
		break;
	case FERRY_OBJINFO_KERNEL_WG:
		if (!kernels[id])
			return CL_INVALID_KERNEL;
		err = dispatch->clGetKernelWorkGroupInfo(kernels[id], device, param, size,
							 size ? value : NULL, &ret);
		break;
	case FERRY_OBJINFO_KERNEL:
		if (!kernels[id])
			return CL_INVALID_KERNEL;
		err = dispatch->clGetKernelInfo(kernels[id], param, size, size ? value : NULL,
						&ret);
		break;
	default:
		return CL_INVALID_VALUE;
	}
	*size_ret = ret;
	return err;
}
