/* SPDX-License-Identifier: MIT */
/*
 * ferry-device - the software device process.
 *
 * Started by libferry with its end of the control socket as file descriptor
 * argv[1]. Its page table is the device MMU: the window is mapped here, at
 * the host's address (the device view): from the vram memfd with the user
 * backend, whose driver (udriver) runs here and resolves the faults of both
 * processes; from ferry.ko's render node with the kernel backend, whose
 * fault handler does that. It serves requests in order, and exits as soon
 * as the host process is gone
 * (end of the control socket, or the host's pidfd signalling its exit).
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
#include "transport/trace.h"
#include "udriver/udriver.h"

#define CL_INVALID_VALUE_ERR (-30)     /* CL_INVALID_VALUE */
#define CL_OUT_OF_HOST_MEMORY_ERR (-6) /* CL_OUT_OF_HOST_MEMORY */

enum { FD_SYS, FD_VRAM, FD_META, FD_STAGING, FD_HOST_UFFD, FD_FINE, NFDS };

/* With the kernel backend the host sends these instead. */
enum { KFD_META, KFD_STAGING, KFD_FINE, KFD_DRM, NKFDS };

static struct udrv drv;
static uint64_t launch_fence; /* the last posted launch's */
static uint8_t post_args[FERRY_POST_MAX];
/* Either backend: the managed part of the window, the shared metadata. */
static uint64_t win_base, win_size;
static struct ferry_meta *meta_g;
/* Kernel backend: ferry.ko's render node (the host's file), the VA space. */
static int kfd = -1;
static uint64_t vaspace_id, view_size;

static void busy(int delta)
{
	if (kfd < 0)
		udrv_busy(&drv, delta);
}

/* An asynchronous launch finished: publish it in the shared metadata. */
static void launch_complete(uint64_t fence, int status)
{
	struct ferry_meta *m = meta_g;

	m->launch_status[fence % FERRY_FENCE_RING] = status;
	__atomic_store_n(&m->launch_done, fence, __ATOMIC_RELEASE);
	__atomic_fetch_add(&m->launch_futex, 1, __ATOMIC_RELEASE);
	ferry_futex_wake(&m->launch_futex);
}

/*
 * FERRY_MSG_CL_POST: queue an asynchronous launch. Nothing is answered: a
 * launch that fails to queue completes its fence, failed, after the earlier
 * ones. A fence out of sequence or arguments that are not the ones announced
 * are the host's bug, not a launch's error: the device stops, and the host
 * sees it gone.
 */
static void post(struct ferry_msg *m, const uint8_t *args, size_t got)
{
	uint64_t fence = m->u.cl.id2;
	int st;

	if (fence != launch_fence + 1 || got != m->u.cl.size) {
		fprintf(stderr, "ferry-device: bad posted launch (fence %llu after %llu)\n",
			(unsigned long long)fence, (unsigned long long)launch_fence);
		_exit(1);
	}
	launch_fence = fence;
	busy(1);
	st = ferry_pocl_launch(m->u.cl.id, m->u.cl.work_dim, m->u.cl.offset, m->u.cl.global,
			       m->u.cl.local, m->u.cl.nargs, args, got, fence);
	if (st && ferry_pocl_fail_fence(fence, st)) {
		busy(-1);
		launch_complete(fence, st);
	}
}

static void launch_done_cb(uint64_t fence, int status)
{
	busy(-1);
	launch_complete(fence, status);
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
		/* no pidfd (old kernel): rely on the parent-death signal */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != host)
			_exit(0);
		return;
	}
	if (pthread_create(&t, NULL, watchdog, (void *)(intptr_t)pidfd))
		_exit(4);
}

static int do_init(const struct ferry_msg *m, int *fds, uint8_t **staging)
{
	struct ferry_meta *meta;
	uint64_t npages = m->u.init.size / FERRY_PAGE_SIZE;
	uint64_t fine = m->u.init.fine_size, managed = m->u.init.size - fine;
	void *coherent;
	int r;

	if (fine % FERRY_REGION_SIZE || fine >= m->u.init.size)
		return -EINVAL;

	if (!*staging) {
		*staging = mmap(NULL, FERRY_STAGING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				fds[FD_STAGING], 0);
		if (*staging == MAP_FAILED) {
			*staging = NULL;
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
 * The kernel backend, first step: the staging and metadata mappings, the
 * coherent region, and a reservation of the managed window (the address
 * must be free here too). The view replaces the reservation in map_view().
 */
static int do_init_kernel(const struct ferry_msg *m, int *fds, uint8_t **staging)
{
	uint64_t npages = m->u.init.size / FERRY_PAGE_SIZE;
	uint64_t fine = m->u.init.fine_size, managed = m->u.init.size - fine;
	void *coherent, *resv;

	if (fine % FERRY_REGION_SIZE || fine >= m->u.init.size)
		return -EINVAL;
	if (!*staging) {
		*staging = mmap(NULL, FERRY_STAGING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				fds[KFD_STAGING], 0);
		meta_g = mmap(NULL, ferry_meta_size(npages), PROT_READ | PROT_WRITE, MAP_SHARED,
			      fds[KFD_META], 0);
		if (*staging == MAP_FAILED || meta_g == MAP_FAILED)
			return -ENOMEM;
	}
	resv = mmap((void *)(uintptr_t)m->u.init.base, managed, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		return errno == EEXIST ? -EEXIST : -errno;
	coherent = mmap((void *)(uintptr_t)(m->u.init.base + managed), fine, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, fds[KFD_FINE], 0);
	if (coherent == MAP_FAILED) {
		int e = errno;

		munmap(resv, managed);
		return e == EEXIST ? -EEXIST : -e;
	}
	kfd = fds[KFD_DRM];
	vaspace_id = m->u.init.vaspace;
	win_base = m->u.init.base;
	win_size = managed;
	view_size = m->u.init.size;
	return 0;
}

/* The kernel backend, second step: the device view over the reservation. */
static int map_view(void)
{
	struct ferry_map_device_view v = {
		.vaspace = vaspace_id, .base = win_base, .size = view_size};
	void *p;

	if (ioctl(kfd, FERRY_IOCTL_MAP_DEVICE_VIEW, &v))
		return -errno;
	p = mmap((void *)(uintptr_t)win_base, win_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, kfd, (off_t)v.offset);
	return p == MAP_FAILED ? -errno : 0;
}

/* The host checked the work too; the device never trusts it. */
/* The trace's name for a device-work operation: copies, fills and checks. */
static const char *work_name(uint32_t op)
{
	static const char *const names[] = {"?",     "device read", "device write", "device fill",
					    "check", "touch",	    "atomic add"};

	return op < sizeof(names) / sizeof(*names) ? names[op] : "?";
}

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

int main(int argc, char **argv)
{
	struct ferry_msg m;
	int fds[8], nfds, sock, r;
	uint8_t *staging = NULL;
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

	r = ferry_msg_recv(sock, &m, fds, &nfds, 8);
	if (r || m.op != FERRY_MSG_INIT ||
	    nfds != (m.u.init.backend == FERRY_BACKEND_KERNEL ? NKFDS : NFDS)) {
		fprintf(stderr, "ferry-device: bad INIT message\n");
		return 2;
	}
	/*
	 * The window's address may be taken here already (EEXIST): the host
	 * then picks another and sends INIT again, without the descriptors.
	 */
	for (;;) {
		m.status = m.u.init.backend == FERRY_BACKEND_KERNEL
				   ? do_init_kernel(&m, fds, &staging)
				   : do_init(&m, fds, &staging);
		if (ferry_msg_send(sock, &m, NULL, 0))
			return 1;
		if (m.status == 0)
			break;
		if (m.status != -EEXIST)
			return 1;
		r = ferry_msg_recv(sock, &m, NULL, NULL, 0);
		if (r || m.op != FERRY_MSG_INIT)
			return r == -EPIPE ? 0 : 2;
	}

	if (ferry_pocl_start_completions(launch_done_cb))
		return 1;
	for (;;) {
		size_t got;

		ferry_spin_readable(sock); /* the next request often follows closely */
		r = ferry_msg_recv_with(sock, &m, post_args, sizeof(post_args), &got);
		if (r == -EPIPE)
			_exit(0); /* the host is gone */
		if (!r && m.op == FERRY_MSG_CL_POST) {
			post(&m, post_args, got); /* no reply */
			continue;
		}
		if (!r && got)
			r = -EPROTO; /* only a posted launch carries arguments */
		if (r) {
			fprintf(stderr, "ferry-device: protocol error %d\n", r);
			_exit(1);
		}
		switch (m.op) {
		case FERRY_MSG_IOCTL:
			if (kfd >= 0)
				m.status =
					m.cmd == FERRY_IOCTL_MAP_DEVICE_VIEW ? map_view() : -ENOTTY;
			else
				m.status = udrv_ioctl(&drv, m.cmd, &m);
			break;
		case FERRY_MSG_DEVWORK:
			m.status = work_check(&m.u.work);
			if (!m.status) {
				uint64_t t0 = FERRY_TRACE_ON() ? ferry_clock_ns() : 0;

				busy(1);
				m.status = ferry_device_run(&m.u.work, staging);
				busy(-1);
				if (FERRY_TRACE_ON())
					ferry_trace_event(FERRY_TR_COPY, work_name(m.u.work.op), t0,
							  ferry_clock_ns() - t0, m.u.work.addr,
							  m.u.work.size, m.u.work.op, 0);
			}
			break;
		case FERRY_MSG_CL_DEVINFO:
			if (m.u.clq.size > FERRY_STAGING_SIZE)
				m.u.clq.size = FERRY_STAGING_SIZE;
			m.status = ferry_pocl_device_info(m.u.clq.param, m.u.clq.size, staging,
							  &m.u.clq.size_ret);
			break;
		case FERRY_MSG_CL_BUILD: {
			/*
			 * staging: source\0options\0, or with u.cl.work_dim = 1 a
			 * binary of u.cl.offset[0] bytes then options\0; the build
			 * log replaces it.
			 */
			int from_binary = m.u.cl.work_dim == 1;
			size_t blen = from_binary ? m.u.cl.offset[0] : 0, n;
			char *copy;

			m.status = CL_INVALID_VALUE_ERR;
			if (blen >= FERRY_STAGING_SIZE)
				break;
			n = from_binary ? blen : strnlen((char *)staging, FERRY_STAGING_SIZE) + 1;
			if (n >= FERRY_STAGING_SIZE ||
			    strnlen((char *)staging + n, FERRY_STAGING_SIZE - n) >=
				    FERRY_STAGING_SIZE - n)
				break;
			copy = malloc(FERRY_STAGING_SIZE);
			if (!copy) {
				m.status = CL_OUT_OF_HOST_MEMORY_ERR;
				break;
			}
			memcpy(copy, staging, FERRY_STAGING_SIZE);
			busy(1);
			m.status = ferry_pocl_build(from_binary ? NULL : copy,
						    from_binary ? (unsigned char *)copy : NULL,
						    blen, copy + n, &m.u.cl.id, (char *)staging,
						    FERRY_STAGING_SIZE, &m.u.cl.size);
			busy(-1);
			free(copy);
			break;
		}
		case FERRY_MSG_CL_KERNEL:
			staging[FERRY_STAGING_SIZE - 1] = 0;
			m.status = ferry_pocl_kernel(m.u.cl.id, (const char *)staging, &m.u.cl.id2,
						     &m.u.cl.nargs);
			break;
		case FERRY_MSG_CL_OBJINFO:
			if (m.u.cl.size > FERRY_STAGING_SIZE)
				m.u.cl.size = FERRY_STAGING_SIZE;
			m.status = ferry_pocl_object_info(m.u.cl.id, (uint32_t)m.u.cl.id2,
							  m.u.cl.nargs, m.u.cl.work_dim,
							  m.u.cl.size, staging, &m.u.cl.size);
			break;
		case FERRY_MSG_CL_RELEASE:
			m.status = ferry_pocl_release(m.u.cl.id, (int)m.u.cl.id2);
			break;
		case FERRY_MSG_CL_LAUNCH: /* synchronous: done when answered */
			if (m.u.cl.size > FERRY_STAGING_SIZE) {
				m.status = CL_INVALID_VALUE_ERR;
				break;
			}
			busy(1);
			m.status = ferry_pocl_launch(m.u.cl.id, m.u.cl.work_dim, m.u.cl.offset,
						     m.u.cl.global, m.u.cl.local, m.u.cl.nargs,
						     staging, m.u.cl.size, 0);
			busy(-1);
			break;
		case FERRY_MSG_SHUTDOWN:
			m.status = 0;
			if (kfd < 0)
				udrv_fini(&drv);
			ferry_msg_send(sock, &m, NULL, 0);
			_exit(0);
		default:
			m.status = -EPROTO;
			break;
		}
		if (ferry_msg_send(sock, &m, NULL, 0))
			_exit(0);
	}
}
