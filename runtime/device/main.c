/* SPDX-License-Identifier: MIT */
/*
 * ferry-device - the software device process.
 *
 * Started by libferry with its end of the control socket as file descriptor
 * argv[1]. Its page table is the device MMU: the window is mapped here, at
 * the host's address (the device view): from the vram memfd with the user
 * backend, whose driver (udriver) runs here and resolves the faults of both
 * processes; from ferry.ko's render node with the kmod backend, whose fault
 * handler does that. It serves requests in order, one handler a request
 * (serve()), and exits as soon as the host process is gone (end of the
 * control socket, or the host's pidfd signalling its exit).
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/futex.h"
#include "device/device.h"
#include "transport/proto.h"
#include "common/trace.h"
#include "udriver/udriver.h"

#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>

enum { FD_SYS, FD_VRAM, FD_META, FD_STAGING, FD_HOST_UFFD, FD_FINE, NFDS };

/* With the kmod backend (ferry.ko) the host sends these instead. */
enum { KMOD_FD_META, KMOD_FD_STAGING, KMOD_FD_FINE, KMOD_FD_DRM, NKMOD_FDS };

static struct udrv drv;
static uint64_t launch_fence; /* the last posted launch's */
static uint8_t post_args[FERRY_POST_MAX];
/* Either backend: the managed part of the window, the shared metadata, staging. */
static uint64_t win_base, win_size;
static struct ferry_meta *meta_g;
static uint8_t *staging;
/* Kmod backend: ferry.ko's render node (the host's file), the VA space. */
static int kmod_fd = -1;
static uint64_t vaspace_id, view_size;

static void busy(int delta)
{
	if (kmod_fd < 0)
		udrv_busy(&drv, delta);
}

/* An asynchronous launch finished (ran from @start to @end): publish it in the shared metadata. */
static void launch_complete(uint64_t fence, int status, uint64_t start, uint64_t end)
{
	struct ferry_meta *m = meta_g;

	ferry_fence_publish_span(&m->launches, fence, status, start, end);
}

static void launch_done_cb(uint64_t fence, int status, uint64_t start, uint64_t end)
{
	fflush(stdout); /* the kernel's printf output, before the host learns it is done */
	busy(-1);
	launch_complete(fence, status, start, end);
}

/* Exit within milliseconds of the host's death, whatever the other threads do. */
static void *watchdog(void *arg)
{
	int pidfd = (int)(intptr_t)arg;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	_exit(0);
	return NULL;
}

static void start_watchdog(pid_t host)
{
	pthread_t t;
	int pidfd = (int)syscall(SYS_pidfd_open, host, 0);

	if (pidfd < 0) {
		/* no pidfd (old Linux): rely on the parent-death signal */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != host)
			_exit(0);
		return;
	}
	if (pthread_create(&t, NULL, watchdog, (void *)(intptr_t)pidfd))
		_exit(4);
}

static int do_init(const struct ferry_msg *m, int *fds)
{
	struct ferry_meta *meta;
	uint64_t npages = m->u.init.size / FERRY_PAGE_SIZE;
	uint64_t fine = m->u.init.fine_size, managed = m->u.init.size - fine;
	void *coherent;
	int r;

	if (fine % FERRY_REGION_SIZE || fine >= m->u.init.size)
		return -EINVAL;

	if (!staging) {
		staging = mmap(NULL, FERRY_STAGING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fds[FD_STAGING], 0);
		if (staging == MAP_FAILED) {
			staging = NULL;
			return -ENOMEM;
		}
	}
	/* The coherent region: the same pages as the host's, at the same address. */
	coherent = mmap((void *)(uintptr_t)(m->u.init.base + managed), fine, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, fds[FD_FINE], 0);
	if (coherent == MAP_FAILED)
		return errno == EEXIST ? -EEXIST : -errno;
	meta = mmap(NULL, ferry_meta_size(npages), PROT_READ | PROT_WRITE, MAP_SHARED, fds[FD_META],
		    0);
	if (meta == MAP_FAILED) {
		munmap(coherent, fine);
		return -ENOMEM;
	}
	meta_g = meta;
	win_base = m->u.init.base;
	win_size = managed;
	/* The driver manages the window below the coherent region. */
	struct udrv_config cfg = {.base = m->u.init.base,
				  .size = managed,
				  .device_memory = m->u.init.device_memory,
				  .block_size = m->u.init.block_size,
				  .prefetch = m->u.init.prefetch,
				  .sys_fd = fds[FD_SYS],
				  .vram_fd = fds[FD_VRAM],
				  .host_uffd = fds[FD_HOST_UFFD],
				  .meta = meta};

	r = udrv_init(&drv, &cfg);
	if (r == -EEXIST) { /* the host will try another address */
		munmap(meta, ferry_meta_size(npages));
		munmap(coherent, fine);
	}
	return r;
}

/*
 * The kmod backend, first step: the staging and metadata mappings, the
 * coherent region, and a reservation of the managed window (the address
 * must be free here too). The view replaces the reservation in map_view().
 */
static int do_init_kmod(const struct ferry_msg *m, int *fds)
{
	uint64_t npages = m->u.init.size / FERRY_PAGE_SIZE;
	uint64_t fine = m->u.init.fine_size, managed = m->u.init.size - fine;
	void *coherent, *resv;

	if (fine % FERRY_REGION_SIZE || fine >= m->u.init.size)
		return -EINVAL;
	if (!staging) {
		staging = mmap(NULL, FERRY_STAGING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fds[KMOD_FD_STAGING], 0);
		meta_g = mmap(NULL, ferry_meta_size(npages), PROT_READ | PROT_WRITE, MAP_SHARED,
			      fds[KMOD_FD_META], 0);
		if (staging == MAP_FAILED || meta_g == MAP_FAILED)
			return -ENOMEM;
	}
	resv = mmap((void *)(uintptr_t)m->u.init.base, managed, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		return errno == EEXIST ? -EEXIST : -errno;
	coherent = mmap((void *)(uintptr_t)(m->u.init.base + managed), fine, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, fds[KMOD_FD_FINE], 0);
	if (coherent == MAP_FAILED) {
		int e = errno;

		munmap(resv, managed);
		return e == EEXIST ? -EEXIST : -e;
	}
	kmod_fd = fds[KMOD_FD_DRM];
	vaspace_id = m->u.init.vaspace;
	win_base = m->u.init.base;
	win_size = managed;
	view_size = m->u.init.size;
	return 0;
}

/* The kmod backend, second step: the device view over the reservation. */
static int map_view(void)
{
	struct ferry_map_device_view v = {
		.vaspace = vaspace_id, .base = win_base, .size = view_size};
	void *p;

	if (ioctl(kmod_fd, FERRY_IOCTL_MAP_DEVICE_VIEW, &v))
		return -errno;
	p = mmap((void *)(uintptr_t)win_base, win_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, kmod_fd, (off_t)v.offset);
	return p == MAP_FAILED ? -errno : 0;
}

/* The trace's name for a device-work operation: copies, fills and checks. */
static const char *work_name(uint32_t op)
{
	static const char *const names[] = {"?",     "device read", "device write", "device fill",
					    "check", "touch",	    "atomic add"};

	return op < sizeof(names) / sizeof(*names) ? names[op] : "?";
}

/* The host checked the work too; the device never trusts it. */
static int work_check(const struct ferry_dev_work *w)
{
	uint64_t end;

	if (w->size == 0 || w->threads > 64 || __builtin_add_overflow(w->addr, w->size, &end))
		return -EINVAL;
	if (w->addr < win_base || end > win_base + win_size)
		return -ERANGE;
	switch (w->op) {
	case FERRY_DEV_READ:
	case FERRY_DEV_WRITE:
		return w->size <= FERRY_STAGING_SIZE ? 0 : -EINVAL;
	case FERRY_DEV_FILL:
	case FERRY_DEV_CHECK:
		return (w->addr | w->size) & 7 ? -EINVAL : 0;
	case FERRY_DEV_TOUCH:
		return w->stride ? 0 : -EINVAL;
	case FERRY_DEV_INC:
		return !w->stride || ((w->stride | w->addr | w->size) & 7) ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/* FERRY_MSG_IOCTL: the driver interface (the kmod backend's: only its device view). */
static int on_ioctl(struct ferry_msg *m)
{
	if (kmod_fd >= 0)
		return m->cmd == FERRY_IOCTL_MAP_DEVICE_VIEW ? map_view() : -ENOTTY;
	return udrv_ioctl(&drv, m->cmd, m);
}

/* FERRY_MSG_DEVWORK: copies, fills and checks through the device view. */
static int on_devwork(struct ferry_dev_work *w)
{
	uint64_t t0;
	int r = work_check(w);

	if (r)
		return r;
	t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;
	busy(1);
	r = ferry_device_run(w, staging);
	busy(-1);
	if (FERRY_TRACE_ON())
		ferry_trace_event(FERRY_TR_COPY, work_name(w->op), t0, ferry_clock_ns() - t0,
				  w->addr, w->size, w->op, 0);
	return r;
}

static int on_shutdown(void)
{
	if (kmod_fd < 0)
		udrv_fini(&drv);
	return 0;
}

/*
 * The bulk buffers (transport/proto.h): the input of the next request, put
 * in pieces, and the value of the last reply, fetched in pieces.
 */
static uint8_t *bulk_in, *bulk_out;
static uint64_t bulk_in_size, bulk_in_got, bulk_out_size;

static void drop_bulk_in(void)
{
	free(bulk_in);
	bulk_in = NULL;
	bulk_in_size = bulk_in_got = 0;
}

static void drop_bulk_out(void)
{
	free(bulk_out);
	bulk_out = NULL;
	bulk_out_size = 0;
}

/* FERRY_MSG_BULK_PUT: a piece of the next request's input, from staging, in order. */
static int on_bulk_put(const struct ferry_msg_bulk *b)
{
	if (b->offset == 0) {
		drop_bulk_in();
		if (b->total > FERRY_BULK_MAX)
			return -EFBIG;
		bulk_in = b->total ? malloc(b->total) : NULL;
		if (b->total && !bulk_in)
			return -ENOMEM;
		bulk_in_size = b->total;
	}
	if (!bulk_in || b->total != bulk_in_size || b->offset != bulk_in_got || b->len == 0 ||
	    b->len > FERRY_STAGING_SIZE || b->len > bulk_in_size - bulk_in_got) {
		drop_bulk_in();
		return -EINVAL;
	}
	memcpy(bulk_in + b->offset, staging, b->len);
	bulk_in_got += b->len;
	return 0;
}

/* FERRY_MSG_BULK_GET: a piece of the last reply's value, into staging; dropped after its end. */
static int on_bulk_get(const struct ferry_msg_bulk *b)
{
	if (!bulk_out || b->total != bulk_out_size || b->offset > bulk_out_size || b->len == 0 ||
	    b->len > FERRY_STAGING_SIZE || b->len > bulk_out_size - b->offset)
		return -EINVAL;
	memcpy(staging, bulk_out + b->offset, b->len);
	if (b->offset + b->len == bulk_out_size)
		drop_bulk_out();
	return 0;
}

/* The requests that can read their input from the bulk buffer (and only read it). */
static bool takes_bulk_input(uint32_t op)
{
	return op == FERRY_MSG_CL_BUILD || op == FERRY_MSG_CL_COMPILE || op == FERRY_MSG_CL_LINK ||
	       op == FERRY_MSG_CL_LOAD || op == FERRY_MSG_CL_KERNEL || op == FERRY_MSG_CL_LAUNCH ||
	       op == FERRY_MSG_CL_IMAGE;
}

/*
 * Request @m's input, its size in *@size: staging, or for a request marked
 * FERRY_MSG_BULK_IN the bulk buffer with all of its pieces; NULL when it has
 * not, or the request takes no such input. Drops the bulk buffers that the
 * request leaves unused, and clears the flags for the reply.
 */
static const uint8_t *request_input(struct ferry_msg *m, size_t *size)
{
	bool marked = m->flags & FERRY_MSG_BULK_IN;
	const uint8_t *in = staging;

	*size = FERRY_STAGING_SIZE;
	if (m->op != FERRY_MSG_BULK_GET)
		drop_bulk_out();
	if (!marked && m->op != FERRY_MSG_BULK_PUT)
		drop_bulk_in();
	if ((m->flags & ~FERRY_MSG_BULK_IN) ||
	    (marked && (!takes_bulk_input(m->op) || !bulk_in || bulk_in_got != bulk_in_size ||
			m->bulk_size != bulk_in_size)))
		in = NULL;
	else if (marked) {
		in = bulk_in;
		*size = bulk_in_size;
	}
	m->flags = 0;
	m->bulk_size = 0;
	return in;
}

/*
 * Where a reply's value of @size bytes is computed: staging, or when it is
 * larger, a buffer kept for FERRY_MSG_BULK_GET (NULL: out of memory).
 */
uint8_t *ferry_reply_buffer(uint64_t size)
{
	assert(!bulk_out && size <= FERRY_BULK_MAX);
	if (size <= FERRY_STAGING_SIZE)
		return staging;
	bulk_out = malloc(size);
	bulk_out_size = bulk_out ? size : 0;
	return bulk_out;
}

/*
 * A value of @size bytes computed into @buf (ferry_reply_buffer()) with status
 * @st: one larger than staging has its first piece put there and the reply
 * marked FERRY_MSG_BULK_OUT; the reply's status.
 */
int ferry_reply_done(struct ferry_msg *m, const uint8_t *buf, int st, uint64_t size)
{
	if (buf == staging)
		return st;
	if (st || size > bulk_out_size) {
		drop_bulk_out();
		return st ? st : CL_OUT_OF_RESOURCES;
	}
	memcpy(staging, buf, size < FERRY_STAGING_SIZE ? size : FERRY_STAGING_SIZE);
	if (size <= FERRY_STAGING_SIZE) {
		drop_bulk_out();
		return st;
	}
	bulk_out_size = size;
	m->flags |= FERRY_MSG_BULK_OUT;
	m->bulk_size = size;
	return st;
}

/*
 * Where an info value of @size bytes, asked into a buffer of @room, goes
 * (ferry_reply_buffer()); NULL with *@st set when clGet*Info's rule refuses it
 * or there is no memory for it.
 */
static uint8_t *info_buffer(uint64_t size, uint64_t room, int *st)
{
	uint8_t *buf;

	*st = CL_INVALID_VALUE;
	if (room < size)
		return NULL;
	*st = CL_OUT_OF_RESOURCES;
	if (size > FERRY_BULK_MAX)
		return NULL;
	*st = CL_SUCCESS;
	buf = ferry_reply_buffer(size);
	if (!buf)
		*st = CL_OUT_OF_HOST_MEMORY;
	return buf;
}

/* FERRY_MSG_CL_DEVINFO: the value's size, then the value if asked and it fits. */
static int on_devinfo(struct ferry_msg *m)
{
	struct ferry_msg_devinfo *q = &m->u.devinfo;
	int st = ferry_pocl_device_info(q->param, 0, NULL, &q->size);
	uint8_t *buf;

	if (st || !(q->flags & FERRY_INFO_VALUE))
		return st;
	buf = info_buffer(q->size, q->room, &st);
	if (!buf)
		return st;
	st = ferry_pocl_device_info(q->param, q->size, buf, &q->size);
	return ferry_reply_done(m, buf, st, q->size);
}

/* FERRY_MSG_CL_OBJINFO: as FERRY_MSG_CL_DEVINFO, of a program or a kernel. */
static int on_objinfo(struct ferry_msg *m)
{
	struct ferry_msg_objinfo *q = &m->u.objinfo;
	int st = ferry_pocl_object_info(q->id, q->query, q->param, q->index, 0, NULL, &q->size);
	uint8_t *buf;

	if (st || !(q->flags & FERRY_INFO_VALUE))
		return st;
	buf = info_buffer(q->size, q->room, &st);
	if (!buf)
		return st;
	st = ferry_pocl_object_info(q->id, q->query, q->param, q->index, q->size, buf, &q->size);
	return ferry_reply_done(m, buf, st, q->size);
}

/*
 * The request's first @n bytes of input @in, while the reply's log replaces
 * staging: @in itself when it is the bulk buffer, else a copy in *@copy
 * (the caller frees it; NULL when out of memory).
 */
static const char *input_keep(const uint8_t *in, size_t n, char **copy)
{
	*copy = NULL;
	if (in != staging)
		return (const char *)in;
	*copy = malloc(n ? n : 1);
	if (*copy)
		memcpy(*copy, in, n);
	return *copy;
}

/*
 * FERRY_MSG_CL_BUILD: the input (@size bytes at @in) has the source (or
 * binary) and the options; the build log goes to staging.
 */
static int on_build(struct ferry_msg_build *b, const uint8_t *in, size_t size)
{
	bool binary = b->flags & FERRY_BUILD_BINARY;
	const char *keep;
	size_t n, end;
	char *copy;
	int st;

	b->program = 0;
	b->log_len = 0;
	if (binary && b->binary_len >= size)
		return CL_INVALID_VALUE;
	n = binary ? b->binary_len : strnlen((const char *)in, size) + 1;
	if (n >= size)
		return CL_INVALID_VALUE;
	end = n + strnlen((const char *)in + n, size - n) + 1;
	if (end > size)
		return CL_INVALID_VALUE; /* the options are not terminated */
	keep = input_keep(in, end, &copy);
	if (!keep)
		return CL_OUT_OF_HOST_MEMORY;
	busy(1);
	st = ferry_pocl_build(binary ? NULL : keep, binary ? (const unsigned char *)keep : NULL,
			      binary ? n : 0, keep + n, &b->program, (char *)staging,
			      FERRY_STAGING_SIZE, &b->log_len);
	busy(-1);
	free(copy);
	return st;
}

/*
 * Where @count NUL-terminated strings that start at @pos of the input (@size
 * bytes at @in) end, or 0 when one is not terminated within it.
 */
static size_t strings_end(const uint8_t *in, size_t size, size_t pos, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		size_t n;

		if (pos >= size)
			return 0;
		n = strnlen((const char *)in + pos, size - pos);
		if (pos + n >= size)
			return 0;
		pos += n + 1;
	}
	return pos;
}

/*
 * FERRY_MSG_CL_COMPILE: the input has the source, the options, then each
 * embedded header's include name and source; the compile log goes to staging.
 */
static int on_compile(struct ferry_msg_compile *c, const uint8_t *in, size_t size)
{
	uint64_t nstr = 2 + 2 * (uint64_t)c->num_headers;
	size_t end = strings_end(in, size, 0, nstr), pos = 0;
	const char **str, *keep;
	char *copy = NULL;
	int st;

	c->program = 0;
	c->log_len = 0;
	if (!end)
		return CL_INVALID_VALUE;
	keep = input_keep(in, end, &copy);
	str = calloc(nstr, sizeof(*str));
	if (!keep || !str) {
		free(copy);
		free(str);
		return CL_OUT_OF_HOST_MEMORY;
	}
	/* str: the source, the options, the headers' names, then their sources */
	for (uint64_t i = 0; i < nstr; i++) {
		uint64_t at = i < 2 ? i : 2 + (i - 2) / 2 + ((i - 2) % 2) * c->num_headers;

		str[at] = keep + pos;
		pos += strlen(keep + pos) + 1;
	}
	busy(1);
	st = ferry_pocl_compile(str[0], str[1], c->num_headers, str + 2, str + 2 + c->num_headers,
				&c->program, (char *)staging, FERRY_STAGING_SIZE, &c->log_len);
	busy(-1);
	free(str);
	free(copy);
	return st;
}

/* FERRY_MSG_CL_LINK: the input has the programs' ids, then the options; the log goes to staging. */
static int on_link(struct ferry_msg_link *l, const uint8_t *in, size_t size)
{
	size_t ids = (size_t)l->num_programs * sizeof(uint64_t), end;
	const char *keep;
	char *copy;
	int st;

	l->program = 0;
	l->log_len = 0;
	if (l->num_programs == 0 || ids >= size)
		return CL_INVALID_VALUE;
	end = strings_end(in, size, ids, 1);
	if (!end)
		return CL_INVALID_VALUE;
	keep = input_keep(in, end, &copy);
	if (!keep)
		return CL_OUT_OF_HOST_MEMORY;
	busy(1);
	st = ferry_pocl_link((const uint64_t *)(const void *)keep, l->num_programs, keep + ids,
			     &l->program, (char *)staging, FERRY_STAGING_SIZE, &l->log_len);
	busy(-1);
	free(copy);
	return st;
}

/* FERRY_MSG_CL_LOAD: a binary (the input), kept as a program that is not built. */
static int on_load(struct ferry_msg_load *b, const uint8_t *in, size_t size)
{
	int st;

	b->program = 0;
	b->binary_type = 0;
	if (b->binary_len == 0 || b->binary_len > size)
		return CL_INVALID_VALUE;
	busy(1);
	st = ferry_pocl_load(in, b->binary_len, &b->program, &b->binary_type);
	busy(-1);
	return st;
}

/* FERRY_MSG_CL_KERNEL: the kernel's name (the input), NUL-terminated. */
static int on_kernel(struct ferry_msg_kernel *k, const uint8_t *in, size_t size)
{
	if (strnlen((const char *)in, size) >= size)
		return CL_INVALID_VALUE;
	return ferry_pocl_kernel(k->program, (const char *)in, &k->id, &k->nargs);
}

static int on_release(const struct ferry_msg_release *r)
{
	switch (r->kind) {
	case FERRY_RELEASE_PROGRAM:
		return ferry_pocl_release_program(r->id);
	case FERRY_RELEASE_KERNEL:
		return ferry_pocl_release_kernel(r->id);
	case FERRY_RELEASE_IMAGE:
	case FERRY_RELEASE_SAMPLER:
		return ferry_pocl_release_image(r->id, r->kind == FERRY_RELEASE_SAMPLER);
	default:
		return CL_INVALID_VALUE;
	}
}

/* FERRY_MSG_CL_LAUNCH: synchronous, the argument list the input; done when answered. */
static int on_launch(struct ferry_msg_launch *l, const uint8_t *in, size_t size)
{
	int st;

	if (l->args_size > size)
		return CL_INVALID_VALUE;
	l->fence = 0;
	busy(1);
	st = ferry_pocl_launch(l, in);
	fflush(stdout); /* its printf output */
	busy(-1);
	return st;
}

/*
 * FERRY_MSG_CL_POST: queue an asynchronous launch, its arguments (@got
 * bytes) after the message. Nothing is answered: a launch that fails to
 * queue completes its fence, failed, after the earlier ones. A fence out of
 * sequence or arguments that are not the ones announced are the host's bug,
 * not a launch's error: the device stops, and the host sees it gone.
 */
static void on_post(const struct ferry_msg_launch *l, const uint8_t *args, size_t got)
{
	int st;

	if (l->fence != launch_fence + 1 || got != l->args_size) {
		fprintf(stderr, "ferry-device: bad posted launch (fence %llu after %llu)\n",
			(unsigned long long)l->fence, (unsigned long long)launch_fence);
		_exit(1);
	}
	launch_fence = l->fence;
	busy(1);
	st = ferry_pocl_launch(l, args);
	if (st && ferry_pocl_fail_fence(l->fence, st)) {
		busy(-1);
		launch_complete(l->fence, st, 0, 0);
	}
}

/*
 * FERRY_MSG_STDOUT: the application's standard output (@fd) becomes ours,
 * where PoCL writes the kernels' printf output; what is buffered goes first.
 */
static int on_stdout(int fd)
{
	int r;

	if (fd < 0)
		return -EINVAL;
	fflush(stdout);
	r = dup2(fd, STDOUT_FILENO) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* A request whose input is not there (request_input()); false: it has no reply. */
static bool refuse(struct ferry_msg *m)
{
	if (m->op == FERRY_MSG_CL_POST) {
		fprintf(stderr, "ferry-device: posted launch with bulk input\n");
		_exit(1);
	}
	m->status = (m->op >= FERRY_MSG_CL_DEVINFO && m->op <= FERRY_MSG_CL_LOAD) ||
				    m->op == FERRY_MSG_CL_IMAGE
			    ? CL_INVALID_VALUE
			    : -EPROTO;
	return true;
}

/*
 * Serve request @m, its input @in (@size bytes), @got bytes of @args after a
 * posted launch, descriptor @fd or -1.
 */
static bool serve_one(struct ferry_msg *m, const uint8_t *in, size_t size, const uint8_t *args,
		      size_t got, int fd)
{
	switch (m->op) {
	case FERRY_MSG_STDOUT:
		m->status = on_stdout(fd);
		break;
	case FERRY_MSG_IOCTL:
		m->status = on_ioctl(m);
		break;
	case FERRY_MSG_DEVWORK:
		m->status = on_devwork(&m->u.work);
		break;
	case FERRY_MSG_SHUTDOWN: /* answered, then the process exits */
		m->status = on_shutdown();
		break;
	case FERRY_MSG_CL_DEVINFO:
		m->status = on_devinfo(m);
		break;
	case FERRY_MSG_CL_BUILD:
		m->status = on_build(&m->u.build, in, size);
		break;
	case FERRY_MSG_CL_COMPILE:
		m->status = on_compile(&m->u.compile, in, size);
		break;
	case FERRY_MSG_CL_LINK:
		m->status = on_link(&m->u.link, in, size);
		break;
	case FERRY_MSG_CL_LOAD:
		m->status = on_load(&m->u.load, in, size);
		break;
	case FERRY_MSG_CL_KERNEL:
		m->status = on_kernel(&m->u.kernel, in, size);
		break;
	case FERRY_MSG_CL_LAUNCH:
		m->status = on_launch(&m->u.launch, in, size);
		break;
	case FERRY_MSG_CL_RELEASE:
		m->status = on_release(&m->u.release);
		break;
	case FERRY_MSG_CL_OBJINFO:
		m->status = on_objinfo(m);
		break;
	case FERRY_MSG_CL_IMAGE:
		busy(1);
		m->status = ferry_pocl_image_request(m, in, size);
		busy(-1);
		break;
	case FERRY_MSG_CL_POST:
		on_post(&m->u.launch, args, got);
		return false;
	case FERRY_MSG_BULK_PUT:
		m->status = on_bulk_put(&m->u.bulk);
		break;
	case FERRY_MSG_BULK_GET:
		m->status = on_bulk_get(&m->u.bulk);
		break;
	default:
		m->status = -EPROTO;
		break;
	}
	return true;
}

/*
 * Serve one request (@got bytes of @args after a posted launch, descriptor
 * @fd or -1), its input from staging or the bulk buffer, which is dropped
 * after it; false: it has no reply.
 */
static bool serve(struct ferry_msg *m, const uint8_t *args, size_t got, int fd)
{
	bool marked = m->flags & FERRY_MSG_BULK_IN, reply;
	size_t size;
	const uint8_t *in = request_input(m, &size);

	if (!in && fd >= 0)
		close(fd);
	reply = in ? serve_one(m, in, size, args, got, fd) : refuse(m);
	if (marked)
		drop_bulk_in();
	return reply;
}

/*
 * FERRY_MSG_INIT: map what the host sent. The window's address may be taken
 * here already (EEXIST): the host then picks another and sends INIT again,
 * without the descriptors. 0 once bound, else the exit status.
 */
static int start(int sock)
{
	struct ferry_msg m;
	int fds[8], nfds, r;

	r = ferry_msg_recv(sock, &m, fds, &nfds, 8);
	if (r || m.op != FERRY_MSG_INIT ||
	    nfds != (m.u.init.backend == FERRY_BACKEND_KERNEL ? NKMOD_FDS : NFDS)) {
		fprintf(stderr, "ferry-device: bad INIT message\n");
		return 2;
	}
	for (;;) {
		m.status = m.u.init.backend == FERRY_BACKEND_KERNEL ? do_init_kmod(&m, fds)
								    : do_init(&m, fds);
		if (ferry_msg_send(sock, &m, NULL, 0))
			return 1;
		if (m.status == 0)
			return 0;
		if (m.status != -EEXIST)
			return 1;
		r = ferry_msg_recv(sock, &m, NULL, NULL, 0);
		if (r == -EPIPE)
			exit(0); /* the host is gone */
		if (r || m.op != FERRY_MSG_INIT)
			return 2;
	}
}

int main(int argc, char **argv)
{
	struct ferry_msg m;
	int sock, r;
	pid_t host = getppid();

	if (argc < 2) {
		fprintf(stderr,
			"ferry-device: started by libferry only (usage: ferry-device FD)\n");
		return 2;
	}
	sock = atoi(argv[1]);
	if (argc > 2 && !strncmp(argv[2], "--trace-fd=", 11)) {
		r = ferry_trace_device_init(atoi(argv[2] + 11));
		if (r)
			fprintf(stderr, "ferry-device: not tracing: %s\n", strerror(-r));
		ferry_trace_thread_name("command loop");
	}
	start_watchdog(host);
	signal(SIGPIPE, SIG_IGN);

	r = start(sock);
	if (r)
		return r;
	if (ferry_pocl_start_completions(launch_done_cb))
		return 1;
	for (;;) {
		size_t got;
		int fd;

		ferry_spin_readable(sock); /* the next request often follows closely */
		r = ferry_msg_recv_with(sock, &m, post_args, sizeof(post_args), &got, &fd);
		if (r == -EPIPE)
			_exit(0); /* the host is gone */
		if (!r && got && m.op != FERRY_MSG_CL_POST)
			r = -EPROTO; /* only a posted launch carries arguments */
		if (!r && fd >= 0 && m.op != FERRY_MSG_STDOUT)
			r = -EPROTO; /* and only FERRY_MSG_STDOUT a descriptor */
		if (r) {
			fprintf(stderr, "ferry-device: protocol error %d\n", r);
			_exit(1);
		}
		if (!serve(&m, post_args, got, fd))
			continue;
		if (ferry_msg_send(sock, &m, NULL, 0) || m.op == FERRY_MSG_SHUTDOWN)
			_exit(0);
	}
}
