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

/* clGet*Info's rule for a value of @size bytes asked into a buffer of @room, through staging. */
static int info_fits(uint64_t size, uint64_t room)
{
	if (room < size)
		return CL_INVALID_VALUE;
	return size > FERRY_STAGING_SIZE ? CL_OUT_OF_RESOURCES : CL_SUCCESS;
}

/* FERRY_MSG_CL_DEVINFO: the value's size, then the value if asked and it fits. */
static int on_devinfo(struct ferry_msg_devinfo *q)
{
	int st = ferry_pocl_device_info(q->param, 0, NULL, &q->size);

	if (!st && (q->flags & FERRY_INFO_VALUE))
		st = info_fits(q->size, q->room);
	if (!st && (q->flags & FERRY_INFO_VALUE))
		st = ferry_pocl_device_info(q->param, q->size, staging, &q->size);
	return st;
}

/* FERRY_MSG_CL_OBJINFO: as FERRY_MSG_CL_DEVINFO, of a program or a kernel. */
static int on_objinfo(struct ferry_msg_objinfo *q)
{
	int st = ferry_pocl_object_info(q->id, q->query, q->param, q->index, 0, NULL, &q->size);

	if (!st && (q->flags & FERRY_INFO_VALUE))
		st = info_fits(q->size, q->room);
	if (!st && (q->flags & FERRY_INFO_VALUE))
		st = ferry_pocl_object_info(q->id, q->query, q->param, q->index, q->size, staging,
					    &q->size);
	return st;
}

/*
 * FERRY_MSG_CL_BUILD: staging has the source (or binary) and the options;
 * the build log replaces them, so PoCL builds from a copy.
 */
static int on_build(struct ferry_msg_build *b)
{
	bool binary = b->flags & FERRY_BUILD_BINARY;
	size_t n, end;
	char *copy;
	int st;

	b->program = 0;
	b->log_len = 0;
	if (binary && b->binary_len >= FERRY_STAGING_SIZE)
		return CL_INVALID_VALUE;
	n = binary ? b->binary_len : strnlen((char *)staging, FERRY_STAGING_SIZE) + 1;
	if (n >= FERRY_STAGING_SIZE)
		return CL_INVALID_VALUE;
	end = n + strnlen((char *)staging + n, FERRY_STAGING_SIZE - n) + 1;
	if (end > FERRY_STAGING_SIZE)
		return CL_INVALID_VALUE; /* the options are not terminated */
	copy = malloc(end);
	if (!copy)
		return CL_OUT_OF_HOST_MEMORY;
	memcpy(copy, staging, end);
	busy(1);
	st = ferry_pocl_build(binary ? NULL : copy, binary ? (unsigned char *)copy : NULL,
			      binary ? n : 0, copy + n, &b->program, (char *)staging,
			      FERRY_STAGING_SIZE, &b->log_len);
	busy(-1);
	free(copy);
	return st;
}

/*
 * Where @count NUL-terminated strings that start at @pos in staging end, or
 * 0 when one is not terminated within it.
 */
static size_t strings_end(size_t pos, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		size_t n;

		if (pos >= FERRY_STAGING_SIZE)
			return 0;
		n = strnlen((char *)staging + pos, FERRY_STAGING_SIZE - pos);
		if (pos + n >= FERRY_STAGING_SIZE)
			return 0;
		pos += n + 1;
	}
	return pos;
}

/* The request's first @n bytes of staging, before the reply's log replaces them. */
static char *staging_copy(size_t n)
{
	char *copy = malloc(n ? n : 1);

	if (copy)
		memcpy(copy, staging, n);
	return copy;
}

/*
 * FERRY_MSG_CL_COMPILE: the source, the options, then each embedded
 * header's include name and source; the compile log replaces them.
 */
static int on_compile(struct ferry_msg_compile *c)
{
	uint64_t nstr = 2 + 2 * (uint64_t)c->num_headers;
	size_t end = strings_end(0, nstr), pos = 0;
	const char **str;
	char *copy;
	int st;

	c->program = 0;
	c->log_len = 0;
	if (!end)
		return CL_INVALID_VALUE;
	copy = staging_copy(end);
	str = calloc(nstr, sizeof(*str));
	if (!copy || !str) {
		free(copy);
		free(str);
		return CL_OUT_OF_HOST_MEMORY;
	}
	/* str: the source, the options, the headers' names, then their sources */
	for (uint64_t i = 0; i < nstr; i++) {
		uint64_t at = i < 2 ? i : 2 + (i - 2) / 2 + ((i - 2) % 2) * c->num_headers;

		str[at] = copy + pos;
		pos += strlen(copy + pos) + 1;
	}
	busy(1);
	st = ferry_pocl_compile(str[0], str[1], c->num_headers, str + 2, str + 2 + c->num_headers,
				&c->program, (char *)staging, FERRY_STAGING_SIZE, &c->log_len);
	busy(-1);
	free(str);
	free(copy);
	return st;
}

/* FERRY_MSG_CL_LINK: the programs' ids, then the options; the link log replaces them. */
static int on_link(struct ferry_msg_link *l)
{
	size_t ids = (size_t)l->num_programs * sizeof(uint64_t), end;
	char *copy;
	int st;

	l->program = 0;
	l->log_len = 0;
	if (l->num_programs == 0 || ids >= FERRY_STAGING_SIZE)
		return CL_INVALID_VALUE;
	end = strings_end(ids, 1);
	if (!end)
		return CL_INVALID_VALUE;
	copy = staging_copy(end);
	if (!copy)
		return CL_OUT_OF_HOST_MEMORY;
	busy(1);
	st = ferry_pocl_link((const uint64_t *)(void *)copy, l->num_programs, copy + ids,
			     &l->program, (char *)staging, FERRY_STAGING_SIZE, &l->log_len);
	busy(-1);
	free(copy);
	return st;
}

/* FERRY_MSG_CL_LOAD: a binary in staging, kept as a program that is not built. */
static int on_load(struct ferry_msg_load *b)
{
	int st;

	b->program = 0;
	b->binary_type = 0;
	if (b->binary_len == 0 || b->binary_len > FERRY_STAGING_SIZE)
		return CL_INVALID_VALUE;
	busy(1);
	st = ferry_pocl_load(staging, b->binary_len, &b->program, &b->binary_type);
	busy(-1);
	return st;
}

/* FERRY_MSG_CL_KERNEL: the kernel's name in staging. */
static int on_kernel(struct ferry_msg_kernel *k)
{
	staging[FERRY_STAGING_SIZE - 1] = '\0';
	return ferry_pocl_kernel(k->program, (const char *)staging, &k->id, &k->nargs);
}

static int on_release(const struct ferry_msg_release *r)
{
	switch (r->kind) {
	case FERRY_RELEASE_PROGRAM:
		return ferry_pocl_release_program(r->id);
	case FERRY_RELEASE_KERNEL:
		return ferry_pocl_release_kernel(r->id);
	default:
		return CL_INVALID_VALUE;
	}
}

/* FERRY_MSG_CL_LAUNCH: synchronous, the argument list in staging; done when answered. */
static int on_launch(struct ferry_msg_launch *l)
{
	int st;

	if (l->args_size > FERRY_STAGING_SIZE)
		return CL_INVALID_VALUE;
	l->fence = 0;
	busy(1);
	st = ferry_pocl_launch(l, staging);
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

/*
 * Serve one request (@got bytes of @args after a posted launch, descriptor
 * @fd or -1); false: it has no reply.
 */
static bool serve(struct ferry_msg *m, const uint8_t *args, size_t got, int fd)
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
		m->status = on_devinfo(&m->u.devinfo);
		break;
	case FERRY_MSG_CL_BUILD:
		m->status = on_build(&m->u.build);
		break;
	case FERRY_MSG_CL_COMPILE:
		m->status = on_compile(&m->u.compile);
		break;
	case FERRY_MSG_CL_LINK:
		m->status = on_link(&m->u.link);
		break;
	case FERRY_MSG_CL_LOAD:
		m->status = on_load(&m->u.load);
		break;
	case FERRY_MSG_CL_KERNEL:
		m->status = on_kernel(&m->u.kernel);
		break;
	case FERRY_MSG_CL_LAUNCH:
		m->status = on_launch(&m->u.launch);
		break;
	case FERRY_MSG_CL_RELEASE:
		m->status = on_release(&m->u.release);
		break;
	case FERRY_MSG_CL_OBJINFO:
		m->status = on_objinfo(&m->u.objinfo);
		break;
	case FERRY_MSG_CL_POST:
		on_post(&m->u.launch, args, got);
		return false;
	default:
		m->status = -EPROTO;
		break;
	}
	return true;
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
