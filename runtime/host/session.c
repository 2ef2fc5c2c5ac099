/* SPDX-License-Identifier: MIT */
/*
 * session.c - opening a VA space: the backend (ferry.ko, or the user-space
 * driver with its memfds and userfaultfd), the window, the ferry-device
 * process, and what happens when that process dies.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/uffd.h"
#include "common/settings.h"
#include "common/clock.h"
#include "common/futex.h"
#include "host/host.h"
#include "policy/policy.h"
#include "transport/trace.h"

#define PG FERRY_PAGE_SIZE
#define DEFAULT_WINDOW (64ULL << 30)
#define DEFAULT_DEVICE_MEMORY (1ULL << 30)
#define MIN_DEVICE_MEMORY (2 * FERRY_REGION_SIZE)

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

extern char **environ;

/* "64M", "1G", "4096", "2k", "2KiB", "2KB": bytes, or 0 when malformed or too large. */
static uint64_t parse_size(const char *s)
{
	unsigned int shift = 0;
	unsigned long long v;
	char *end;

	if (!s || !*s || strchr(s, '-')) /* strtoull would wrap a negative number */
		return 0;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		break;
	}
	if (shift) {
		if (v > (~0ULL >> shift))
			return 0;
		v <<= shift;
		end++;
		if (*end == 'i' && end[1] == 'B')
			end++;
		if (*end == 'B')
			end++;
	}
	return *end ? 0 : v;
}

static int env_size(const char *name, uint64_t *v)
{
	const char *s = getenv(name);

	if (!s)
		return 0;
	*v = parse_size(s);
	if (*v == 0) {
		fprintf(stderr, "ferry: %s=%s is not a size (examples: 512M, 4G)\n", name, s);
		return -EINVAL;
	}
	return 0;
}

const char *ferry_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ENODEV:
		return "the ferry-device process is gone";
	case -EPERM:
		return "userfaultfd is not permitted (run as root, or set "
		       "vm.unprivileged_userfaultfd=1, or give access to /dev/userfaultfd)";
	case -ENOENT:
		return "the ferry-device executable was not found (set FERRY_DEVICE_PATH)";
	case -ERANGE:
		return "range outside the SVM window";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

static int resolve_options(const struct ferry_options *o, struct ferry_ctx *ctx, const char **dev)
{
	const char *p;
	int r;

	ctx->size = o && o->window_size ? o->window_size : DEFAULT_WINDOW;
	ctx->device_memory = o && o->device_memory ? o->device_memory : DEFAULT_DEVICE_MEMORY;
	ctx->block_size = o && o->block_size ? o->block_size : FERRY_DEFAULT_BLOCK_SIZE;
	ctx->prefetch = o && o->prefetch >= 0 ? o->prefetch : 1;
	if (!(o && o->window_size) && (r = env_size("FERRY_WINDOW_SIZE", &ctx->size)))
		return r;
	if (!(o && o->device_memory) && (r = env_size("FERRY_DEVICE_MEMORY", &ctx->device_memory)))
		return r;
	if (!(o && o->block_size) && (r = env_size("FERRY_BLOCK_SIZE", &ctx->block_size)))
		return r;
	if (!(o && o->prefetch >= 0) && (p = getenv("FERRY_PREFETCH")))
		ctx->prefetch = strcmp(p, "0") != 0;
	if (o && o->prefetch > 1)
		return -EINVAL;
	/* at least two regions: the coherent region takes one */
	if (ctx->size % FERRY_REGION_SIZE || ctx->size < 2 * FERRY_REGION_SIZE ||
	    ctx->size > (1ULL << 46))
		return -EINVAL;
	if (!ferry_policy_block_size_valid(ctx->block_size))
		return -EINVAL;
	if (ctx->device_memory % PG || ctx->device_memory < MIN_DEVICE_MEMORY)
		return -EINVAL;
	*dev = o && o->device_path ? o->device_path : getenv("FERRY_DEVICE_PATH");
	if (!*dev)
		*dev = access(FERRY_DEVICE_BUILD_PATH, X_OK) == 0 ? FERRY_DEVICE_BUILD_PATH
								  : FERRY_DEVICE_INSTALL_PATH;
	return access(*dev, X_OK) ? -ENOENT : 0;
}

/*
 * FERRY_BACKEND=auto|kernel|user (default auto): auto takes ferry.ko when
 * its render node exists and falls back to the user-space driver.
 */
static int choose_backend(struct ferry_ctx *ctx)
{
	const char *b = getenv("FERRY_BACKEND");
	int r;

	if (b && strcmp(b, "user") == 0)
		return 0;
	if (b && *b && strcmp(b, "auto") != 0 && strcmp(b, "kernel") != 0) {
		fprintf(stderr, "ferry: FERRY_BACKEND=%s: expected auto, kernel or user\n", b);
		return -EINVAL;
	}
	r = ferry_kmod_open(ctx);
	if (r && b && strcmp(b, "kernel") == 0) {
		if (r == -ENODEV)
			fprintf(stderr, "ferry: FERRY_BACKEND=kernel, but ferry.ko's render node "
					"was not found (load the module: modprobe ferry)\n");
		return r;
	}
	if (r && r != -ENODEV)
		fprintf(stderr, "ferry: ferry.ko is not usable (%s); using the user-space driver\n",
			strerror(-r));
	return 0;
}

static int new_uffd(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |
			    UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
		if (fd < 0) {
			fprintf(stderr,
				"ferry: userfaultfd is not permitted for this process. Run as "
				"root, "
				"or `sysctl vm.unprivileged_userfaultfd=1`, or grant read/write "
				"access to /dev/userfaultfd.\n");
			return -EPERM;
		}
	}
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int e = errno;

		close(fd);
		fprintf(stderr,
			"ferry: this kernel's userfaultfd lacks shmem minor/write-protect "
			"faults (Linux >= 5.19 needed): %s\n",
			strerror(e));
		return -ENOTSUP;
	}
	return fd;
}

static int new_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* A 2 MiB-aligned free address range for the window. */
static uint64_t pick_base(uint64_t size)
{
	uint64_t len = size + FERRY_REGION_SIZE;
	uint8_t *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t a;

	if (p == MAP_FAILED)
		return 0;
	a = ((uint64_t)(uintptr_t)p + FERRY_REGION_SIZE - 1) & ~(FERRY_REGION_SIZE - 1);
	munmap(p, len);
	return a;
}

static int spawn_device(struct ferry_ctx *ctx, const char *path, int child_sock)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)"ferry-device", (char *)"3", NULL, NULL};
	int r, trace_fd = ferry_trace_host_init(); /* FERRY_TRACE: the device records too */

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, child_sock, 3);
	if (trace_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, trace_fd, 4);
		argv[2] = (char *)"--trace-fd=4";
	}
	r = posix_spawn(&ctx->pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	ctx->pidfd = (int)syscall(SYS_pidfd_open, ctx->pid, 0);
	return ctx->pidfd < 0 ? -errno : 0;
}

/*
 * The device process died: every page's data is in the memfd its state
 * names (the driver changes a state only once the destination holds a full
 * copy). Copy device-resident pages back into sysmem, then drop the
 * userfaultfd registration, which wakes any host thread blocked on a fault:
 * the window is plain shared memory from then on.
 */
static void recover(struct ferry_ctx *ctx)
{
	/* the managed part: the coherent region is not registered */
	struct uffdio_writeprotect wp = {
		.range = {.start = ctx->base, .len = ctx->size - ctx->fine_size}};
	struct uffdio_range rng = {.start = ctx->base, .len = ctx->size - ctx->fine_size};
	uint8_t *st = ctx->meta->state;

	for (uint64_t p = 0; p < ctx->npages; p++) {
		if (st[p] != FERRY_RES_DEVICE && st[p] != FERRY_RES_DUPLICATED)
			continue;
		if (st[p] == FERRY_RES_DEVICE)
			memcpy(ctx->sys_alias + p * PG, ctx->vram_alias + p * PG, PG);
		st[p] = FERRY_RES_HOST;
	}
	if (ioctl(ctx->uffd, UFFDIO_WRITEPROTECT, &wp))
		fprintf(stderr, "ferry: recovery: UFFDIO_WRITEPROTECT: %s\n", strerror(errno));
	if (ioctl(ctx->uffd, UFFDIO_UNREGISTER, &rng))
		fprintf(stderr, "ferry: recovery: UFFDIO_UNREGISTER: %s\n", strerror(errno));
	/*
	 * Unregistering wakes the faults it finds queued; a fault that was
	 * still on its way in (under the per-VMA lock) can queue just after.
	 * Wake the whole window for a while: every retry succeeds now.
	 */
	for (int i = 0; i < 20; i++) {
		struct uffd_msg msg[16];

		while (read(ctx->uffd, msg, sizeof(msg)) > 0)
			;
		ioctl(ctx->uffd, UFFDIO_WAKE, &rng);
		usleep(i < 10 ? 1000 : 10000);
	}
	atomic_store(&ctx->recovered, true);
	ferry_futex_wake(&ctx->meta->fence_futex);
}

/*
 * The host agent's mailbox: the driver asks this process to zap its own view
 * of a range (MADV_DONTNEED keeps the sysmem pages, which a punched hole
 * would free and the next migration would allocate again), or to map sysmem
 * pages into it (the driver copies the next piece of a migration meanwhile).
 * Served by the agent thread, or by a host thread that polls while it waits
 * for the device (ferry_agent_poll): that thread is already on a CPU,
 * and with one host thread running the zap's TLB flush stays on its CPU
 * where a second one costs an IPI (a 4 KiB fault's zap took 17 us instead
 * of 2 when the agent and a polling host thread ran on both CPUs).
 * Returns whether a request was served.
 */
bool ferry_agent_serve(struct ferry_ctx *ctx)
{
	struct ferry_meta *m = ctx->meta;
	uint32_t req;
	uint64_t a, len;
	int st = -EINVAL;

	if (__atomic_load_n(&m->zap_req, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&m->zap_ack, __ATOMIC_ACQUIRE))
		return false;
	if (pthread_mutex_trylock(&ctx->agent_lock))
		return false; /* the other one serves it */
	req = __atomic_load_n(&m->zap_req, __ATOMIC_ACQUIRE);
	if (req == __atomic_load_n(&m->zap_ack, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&ctx->agent_lock);
		return false;
	}
	a = m->zap_start;
	len = m->zap_len;
	if (a >= ctx->base && len && len <= ctx->size && a - ctx->base <= ctx->size - len &&
	    !(a % PG) && !(len % PG)) {
		if (m->zap_op == FERRY_AGENT_MAP)
			st = ferry_uffd_continue(ctx->uffd, a, len, UFFDIO_CONTINUE_MODE_DONTWAKE);
		else if (m->zap_op == FERRY_AGENT_ZAP)
			st = madvise((void *)(uintptr_t)a, len, MADV_DONTNEED) ? -errno : 0;
	}
	m->zap_status = st;
	__atomic_store_n(&m->zap_ack, req, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ctx->agent_lock);
	ferry_futex_wake(&m->zap_ack);
	return true;
}

bool ferry_agent_poll(struct ferry_ctx *ctx, bool (*ready)(struct ferry_ctx *, const void *),
		      const void *arg, uint64_t ns)
{
	uint64_t t0 = ferry_clock_ns();
	bool r;

	__atomic_add_fetch(&ctx->meta->host_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		r = ready(ctx, arg);
		if (r)
			break;
		if (ferry_agent_serve(ctx)) {
			t0 = ferry_clock_ns(); /* the device works: keep polling */
			continue;
		}
		if (ferry_clock_ns() - t0 >= ns)
			break;
		sched_yield(); /* let a runnable thread on this CPU go first */
	}
	__atomic_sub_fetch(&ctx->meta->host_waiters, 1, __ATOMIC_SEQ_CST);
	/*
	 * A request posted while we polled woke nobody: serve it (the
	 * device's zap_post bumps zap_req, then reads host_waiters).
	 */
	ferry_agent_serve(ctx);
	return r;
}

/*
 * The agent thread serves the mailbox when no polling host thread does.
 * Spins briefly after each request (all the while an explicit migration or
 * device work runs), then sleeps on the futex.
 */
static void *agent_main(void *arg)
{
	struct ferry_ctx *ctx = arg;
	struct ferry_meta *m = ctx->meta;
	struct timespec t0, t;

	ferry_trace_thread_name("ferry host agent");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&m->host_agent, __ATOMIC_ACQUIRE)) {
		uint32_t req = __atomic_load_n(&m->zap_req, __ATOMIC_ACQUIRE);

		if (ferry_agent_serve(ctx)) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (!__atomic_load_n(&m->host_waiters, __ATOMIC_RELAXED) &&
		    (__atomic_load_n(&m->zap_hot, __ATOMIC_RELAXED) ||
		     (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 50 * 1000)) {
			sched_yield(); /* spin, but let a runnable thread on this CPU go first */
			continue;
		}
		ferry_futex_wait(&m->zap_req, req, 100 * 1000 * 1000);
	}
	return NULL;
}

static void stop_agent(struct ferry_ctx *ctx)
{
	if (!ctx->agent_started)
		return;
	__atomic_store_n(&ctx->meta->host_agent, 0, __ATOMIC_RELEASE);
	__atomic_fetch_add(&ctx->meta->zap_req, 0, __ATOMIC_RELEASE);
	ferry_futex_wake(&ctx->meta->zap_req);
	pthread_join(ctx->agent, NULL);
	ctx->agent_started = false;
}

static void *monitor_main(void *arg)
{
	struct ferry_ctx *ctx = arg;
	struct pollfd p[2] = {
		{.fd = ctx->pidfd, .events = POLLIN},
		{.fd = ctx->stop_efd, .events = POLLIN},
	};

	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (p[1].revents)
		return NULL; /* ferry_close */
	atomic_store(&ctx->dead, true);
	if (ctx->kfd >= 0) {
		/* device memory belongs to this process's mm in ferry.ko: nothing is lost */
		fprintf(stderr, "ferry: the device process (pid %d) died\n", (int)ctx->pid);
		atomic_store(&ctx->recovered, true);
		ferry_futex_wake(&ctx->meta->launch_futex);
		return NULL;
	}
	/* nothing will ask the agent any more: let it exit (joined by ferry_close) */
	__atomic_store_n(&ctx->meta->host_agent, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&ctx->meta->zap_hot, 0, __ATOMIC_RELEASE);
	fprintf(stderr,
		"ferry: the device process (pid %d) died; device memory recovered to "
		"the host\n",
		(int)ctx->pid);
	recover(ctx);
	return NULL;
}

static void ctx_free(struct ferry_ctx *ctx)
{
	if (ctx->meta)
		munmap(ctx->meta, ferry_meta_size(ctx->npages));
	if (ctx->staging)
		munmap(ctx->staging, FERRY_STAGING_SIZE);
	if (ctx->sys_alias)
		munmap(ctx->sys_alias, ctx->size);
	if (ctx->vram_alias)
		munmap(ctx->vram_alias, ctx->size);
	if (ctx->base)
		munmap((void *)(uintptr_t)ctx->base, ctx->size);
	int fds[] = {ctx->sys_fd, ctx->vram_fd, ctx->meta_fd,  ctx->staging_fd, ctx->uffd,
		     ctx->sock,	  ctx->pidfd,	ctx->stop_efd, ctx->fine_fd,	ctx->kfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	while (ctx->free_list) {
		struct ferry_range *n = ctx->free_list->next;

		free(ctx->free_list);
		ctx->free_list = n;
	}
	while (ctx->fine_list) {
		struct ferry_range *n = ctx->fine_list->next;

		free(ctx->fine_list);
		ctx->fine_list = n;
	}
	while (ctx->used_list) {
		struct ferry_range *n = ctx->used_list->next;

		free(ctx->used_list);
		ctx->used_list = n;
	}
	free(ctx);
}

static void *map_shared(int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_DONTFORK);
	return p;
}

/*
 * Offer the window at @base to the device (INIT, with the descriptors the
 * first time only). Returns the device's answer: 0, -EEXIST when the address
 * is taken there, another negative errno.
 */
static int send_init(struct ferry_ctx *ctx, uint64_t base, int *fds, int nfds)
{
	struct ferry_msg m;
	int r;

	memset(&m, 0, sizeof(m));
	m.magic = FERRY_PROTO_MAGIC;
	m.op = FERRY_MSG_INIT;
	m.u.init.base = base;
	m.u.init.size = ctx->size;
	m.u.init.device_memory = ctx->device_memory;
	m.u.init.block_size = ctx->block_size;
	m.u.init.prefetch = ctx->prefetch;
	m.u.init.fine_size = ctx->fine_size;
	m.u.init.backend = ctx->kfd >= 0 ? FERRY_BACKEND_KERNEL : FERRY_BACKEND_USER;
	m.u.init.vaspace = ctx->vaspace;
	r = ferry_msg_send(ctx->sock, &m, fds, fds ? nfds : 0);
	if (!r)
		r = ferry_msg_recv(ctx->sock, &m, NULL, NULL, 0);
	return r ? r : (int)m.status;
}

/* The coherent region replaces the top of the (managed) window @w. */
static int map_coherent(struct ferry_ctx *ctx, void *w)
{
	if (mmap((char *)w + ctx->size - ctx->fine_size, ctx->fine_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED | MAP_NORESERVE, ctx->fine_fd, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

/* Map the window, register it, and hand everything to the device. */
static int bind_window(struct ferry_ctx *ctx)
{
	struct uffdio_register reg;
	int fds[6] = {ctx->sys_fd,     ctx->vram_fd, ctx->meta_fd,
		      ctx->staging_fd, ctx->uffd,    ctx->fine_fd};
	void *keep[4] = {0};
	int r = -EEXIST;

	/* The address must be free in both processes; retry elsewhere if not. */
	for (int attempt = 0; attempt < 4 && r == -EEXIST; attempt++) {
		uint64_t base = pick_base(ctx->size);
		void *w;

		if (!base)
			return -ENOMEM;
		w = mmap((void *)(uintptr_t)base, ctx->size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, ctx->sys_fd, 0);
		if (w == MAP_FAILED)
			return -errno;
		reg = (struct uffdio_register){
			.range = {.start = base, .len = ctx->size},
			.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR |
				UFFDIO_REGISTER_MODE_WP,
		};
		if (ioctl(ctx->uffd, UFFDIO_REGISTER, &reg)) {
			r = -errno;
			munmap(w, ctx->size);
			fprintf(stderr, "ferry: UFFDIO_REGISTER: %s\n", strerror(-r));
			return r;
		}
		r = send_init(ctx, base, attempt == 0 ? fds : NULL, 6);
		if (r == 0) {
			ctx->base = base;
			r = map_coherent(ctx, w);
			if (r)
				break;
			/*
			 * A child of fork() would get a mapping that nobody
			 * migrates for: it gets none rather than wrong data.
			 */
			madvise(w, ctx->size, MADV_DONTFORK);
			/* 2 MiB sysmem pages where shmem has them: udriver's whole regions */
			if (ferry_whole_regions_enabled())
				madvise(w, ctx->size, MADV_HUGEPAGE);
			break;
		}
		ioctl(ctx->uffd, UFFDIO_UNREGISTER, &reg.range);
		/* keep the clashing range reserved so that the next pick differs */
		keep[attempt] = w;
		mprotect(w, ctx->size, PROT_NONE);
	}
	for (int i = 0; i < 4; i++)
		if (keep[i])
			munmap(keep[i], ctx->size);
	return r == -EPIPE ? -ENODEV : r;
}

/*
 * The kernel backend: the window is anonymous private memory registered
 * with ferry.ko. The device first reserves the address (INIT), then maps the
 * render node there (MAP_DEVICE_VIEW) once the window is registered: a
 * VA space registers one window only, so the address must be settled first.
 */
static int bind_window_kernel(struct ferry_ctx *ctx)
{
	int fds[4] = {ctx->meta_fd, ctx->staging_fd, ctx->fine_fd, ctx->kfd};
	void *keep[4] = {0};
	struct ferry_msg m;
	int r = -EEXIST;

	for (int attempt = 0; attempt < 4 && r == -EEXIST; attempt++) {
		uint64_t base = pick_base(ctx->size);
		void *w;

		if (!base)
			return -ENOMEM;
		w = mmap((void *)(uintptr_t)base, ctx->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
		if (w == MAP_FAILED)
			return -errno;
		/* pages, not 2 MiB folios: first touch and migration work per page */
		madvise(w, ctx->size, MADV_NOHUGEPAGE);
		r = send_init(ctx, base, attempt == 0 ? fds : NULL, 4);
		if (r == 0) {
			struct ferry_register_window rw = {.base = base, .size = ctx->size};
			struct ferry_attr at[2] = {
				{.type = FERRY_ATTR_BLOCK_SIZE, .value = ctx->block_size},
				{.type = FERRY_ATTR_PREFETCH, .value = (uint64_t)ctx->prefetch},
			};
			struct ferry_attrs a = {.start = base,
						.size = FERRY_PAGE_SIZE,
						.attrs = (uint64_t)(uintptr_t)at,
						.nattrs = 2};

			ctx->base = base;
			r = map_coherent(ctx, w);
			if (r)
				break;
			if (ioctl(ctx->kfd, FERRY_IOCTL_REGISTER_WINDOW, &rw) ||
			    ioctl(ctx->kfd, FERRY_IOCTL_SET_ATTR, &a)) {
				r = -errno;
				break;
			}
			memset(&m, 0, sizeof(m));
			m.op = FERRY_MSG_IOCTL;
			m.cmd = FERRY_IOCTL_MAP_DEVICE_VIEW;
			r = ferry_request(ctx, &m);
			break;
		}
		keep[attempt] = w;
		mprotect(w, ctx->size, PROT_NONE);
	}
	for (int i = 0; i < 4; i++)
		if (keep[i])
			munmap(keep[i], ctx->size);
	return r == -EPIPE ? -ENODEV : r;
}

int ferry_open(const struct ferry_options *opt, struct ferry_ctx **out)
{
	struct ferry_ctx *ctx;
	const char *dev = NULL;
	int sv[2], r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->sys_fd = ctx->vram_fd = ctx->meta_fd = ctx->staging_fd = -1;
	ctx->uffd = ctx->sock = ctx->pidfd = ctx->stop_efd = ctx->fine_fd = ctx->kfd = -1;
	ctx->owner = getpid();
	pthread_mutex_init(&ctx->io, NULL);
	pthread_mutex_init(&ctx->alloc_lock, NULL);
	pthread_mutex_init(&ctx->agent_lock, NULL);
	r = resolve_options(opt, ctx, &dev);
	if (r)
		goto fail;
	ctx->npages = ctx->size / PG;
	/* 1/16 of the window, at least 2 MiB */
	ctx->fine_size = (ctx->size / 16) & ~(FERRY_REGION_SIZE - 1);
	if (ctx->fine_size < FERRY_REGION_SIZE)
		ctx->fine_size = FERRY_REGION_SIZE;

	r = choose_backend(ctx);
	if (r)
		goto fail;
	if (ctx->kfd < 0) {
		r = new_uffd();
		if (r < 0)
			goto fail;
		ctx->uffd = r;
		ctx->sys_fd = r = new_memfd("ferry-sysmem", ctx->size);
		if (r < 0)
			goto fail;
		ctx->vram_fd = r = new_memfd("ferry-vram", ctx->size);
		if (r < 0)
			goto fail;
	}
	ctx->meta_fd = r = new_memfd("ferry-meta", ferry_meta_size(ctx->npages));
	if (r < 0)
		goto fail;
	ctx->staging_fd = r = new_memfd("ferry-staging", FERRY_STAGING_SIZE);
	if (r < 0)
		goto fail;
	ctx->fine_fd = r = new_memfd("ferry-coherent", ctx->fine_size);
	if (r < 0)
		goto fail;
	ctx->meta = map_shared(ctx->meta_fd, ferry_meta_size(ctx->npages));
	ctx->staging = map_shared(ctx->staging_fd, FERRY_STAGING_SIZE);
	if (ctx->kfd < 0) {
		ctx->sys_alias = map_shared(ctx->sys_fd, ctx->size);
		ctx->vram_alias = map_shared(ctx->vram_fd, ctx->size);
	}
	r = -ENOMEM;
	if (!ctx->meta || !ctx->staging || (ctx->kfd < 0 && (!ctx->sys_alias || !ctx->vram_alias)))
		goto fail;
	ctx->meta->magic = FERRY_PROTO_MAGIC;
	ctx->meta->version = FERRY_UAPI_VERSION_MAJOR;
	ctx->meta->npages = ctx->npages;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		r = -errno;
		goto fail;
	}
	ctx->sock = sv[0];
	r = spawn_device(ctx, dev, sv[1]);
	close(sv[1]);
	if (r)
		goto fail;
	r = ctx->kfd >= 0 ? bind_window_kernel(ctx) : bind_window(ctx);
	if (r)
		goto fail_kill;
	if (ctx->kfd < 0 && !getenv("FERRY_NO_HOST_AGENT")) {
		ctx->meta->host_agent = 1;
		if (pthread_create(&ctx->agent, NULL, agent_main, ctx) == 0)
			ctx->agent_started = true;
		else
			ctx->meta->host_agent = 0;
	}
	ctx->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (ctx->stop_efd < 0) {
		r = -errno;
		goto fail_kill;
	}
	r = -pthread_create(&ctx->monitor, NULL, monitor_main, ctx);
	if (r)
		goto fail_kill;
	ctx->free_list = calloc(1, sizeof(*ctx->free_list));
	if (!ctx->free_list) {
		ferry_close(ctx);
		return -ENOMEM;
	}
	ctx->free_list->start = ctx->base;
	ctx->free_list->size = ctx->size - ctx->fine_size;
	ctx->fine_list = calloc(1, sizeof(*ctx->fine_list));
	if (!ctx->fine_list) {
		ferry_close(ctx);
		return -ENOMEM;
	}
	ctx->fine_list->start = ctx->base + ctx->size - ctx->fine_size;
	ctx->fine_list->size = ctx->fine_size;
	ferry_stats_start(ctx); /* for ferry-smi; best effort */
	*out = ctx;
	return 0;

fail_kill:
	stop_agent(ctx);
	if (r == -ENODEV) {
		int st = 0;

		waitpid(ctx->pid, &st, 0);
		if (WIFSIGNALED(st))
			fprintf(stderr, "ferry: ferry-device was killed by signal %d at start-up\n",
				WTERMSIG(st));
		else
			fprintf(stderr, "ferry: ferry-device exited with status %d at start-up\n",
				WEXITSTATUS(st));
	} else {
		kill(ctx->pid, SIGKILL);
		waitpid(ctx->pid, NULL, 0);
	}
fail:
	ctx_free(ctx);
	return r;
}

void ferry_close(struct ferry_ctx *ctx)
{
	struct ferry_msg m = {.op = FERRY_MSG_SHUTDOWN};
	uint64_t one = 1;

	if (!ctx)
		return;
	if (getpid() != ctx->owner) {
		/*
		 * A child of fork(): the device, the threads and the shared
		 * pages are the parent's and stay so; the child drops its
		 * copies of the mappings, descriptors and bookkeeping only
		 * (munmap of what MADV_DONTFORK left out is harmless).
		 */
		ctx_free(ctx);
		return;
	}
	ferry_stats_stop(ctx); /* first: its thread queries the driver */
	if (write(ctx->stop_efd, &one, sizeof(one)) == sizeof(one))
		pthread_join(ctx->monitor, NULL);
	if (!atomic_load(&ctx->dead))
		ferry_request(ctx, &m);
	stop_agent(ctx);
	/* The device exits after replying; never wait for a stuck one. */
	for (int i = 0; i < 100; i++) {
		if (waitpid(ctx->pid, NULL, WNOHANG) == ctx->pid)
			goto reaped;
		usleep(10000);
	}
	kill(ctx->pid, SIGKILL);
	waitpid(ctx->pid, NULL, 0);
reaped:
	if (FERRY_TRACE_ON())
		ferry_trace_vaspace_closed(); /* the device's records are final now */
	if (ctx->kfd < 0 && !atomic_load(&ctx->recovered)) {
		struct uffdio_range rng = {.start = ctx->base, .len = ctx->size - ctx->fine_size};

		ioctl(ctx->uffd, UFFDIO_UNREGISTER, &rng);
	}
	ctx_free(ctx);
}

void *ferry_window_base(const struct ferry_ctx *ctx)
{
	return ctx ? (void *)(uintptr_t)ctx->base : NULL;
}

uint64_t ferry_window_size(const struct ferry_ctx *ctx)
{
	return ctx ? ctx->size : 0;
}

pid_t ferry_device_pid(const struct ferry_ctx *ctx)
{
	return ctx ? ctx->pid : -1;
}

int ferry_device_alive(struct ferry_ctx *ctx)
{
	struct pollfd p;

	if (!ctx || atomic_load(&ctx->dead))
		return 0;
	p = (struct pollfd){.fd = ctx->pidfd, .events = POLLIN};
	return poll(&p, 1, 0) == 0;
}
