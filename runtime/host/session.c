/* SPDX-License-Identifier: MIT */
/*
 * session.c - opening a VA space: the options, the backend (ferry.ko, or
 * the user-space driver: host/kmod.c, host/backend_user.c), the shared
 * memfds, the ferry-device process, the window's address, and the monitor
 * that notices the process's death; closing it again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/settings.h"
#include "host/host.h"
#include "policy/policy.h"
#include "common/trace.h"

#define PG FERRY_PAGE_SIZE
#define DEFAULT_WINDOW (64ULL << 30)
#define DEFAULT_DEVICE_MEMORY (1ULL << 30)
#define MIN_DEVICE_MEMORY (2 * FERRY_REGION_SIZE)

extern char **environ;

static int env_size(const char *name, uint64_t *v)
{
	const char *s = getenv(name);

	if (!s)
		return 0;
	*v = ferry_parse_size(s);
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
 * its render node exists and falls back to the user-space driver. Sets
 * ctx->be and opens the backend.
 */
static int open_backend(struct ferry_ctx *ctx)
{
	const char *b = getenv("FERRY_BACKEND");
	int r;

	ctx->be = &ferry_backend_user;
	if (b && strcmp(b, "user") == 0)
		return ctx->be->open(ctx);
	if (b && *b && strcmp(b, "auto") != 0 && strcmp(b, "kernel") != 0) {
		fprintf(stderr, "ferry: FERRY_BACKEND=%s: expected auto, kernel or user\n", b);
		return -EINVAL;
	}
	r = ferry_backend_kmod.open(ctx);
	if (!r) {
		ctx->be = &ferry_backend_kmod;
		return 0;
	}
	if (b && strcmp(b, "kernel") == 0) {
		if (r == -ENODEV)
			fprintf(stderr, "ferry: FERRY_BACKEND=kernel, but ferry.ko's render node "
					"was not found (load the module: modprobe ferry)\n");
		return r;
	}
	if (r != -ENODEV)
		fprintf(stderr, "ferry: ferry.ko is not usable (%s); using the user-space driver\n",
			strerror(-r));
	return ctx->be->open(ctx);
}

int ferry_new_memfd(const char *name, uint64_t size)
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

int ferry_window_place(struct ferry_ctx *ctx,
		       int (*map_at)(struct ferry_ctx *, uint64_t, bool, void **))
{
	void *taken[4] = {0};
	int r = -EEXIST;

	/* The address must be free in both processes; retry elsewhere if not. */
	for (int attempt = 0; attempt < 4 && r == -EEXIST; attempt++) {
		uint64_t base = pick_base(ctx->size);

		if (!base) {
			r = -ENOMEM;
			break;
		}
		r = map_at(ctx, base, attempt == 0, &taken[attempt]);
		/* keep a clashing range reserved so that the next pick differs */
		if (taken[attempt])
			mprotect(taken[attempt], ctx->size, PROT_NONE);
	}
	for (int i = 0; i < 4; i++)
		if (taken[i])
			munmap(taken[i], ctx->size);
	return r == -EPIPE ? -ENODEV : r;
}

static int spawn_device(struct ferry_ctx *ctx, const char *path, int child_sock)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)"ferry-device", (char *)"3", NULL, NULL};
	int r, trace_fd = ferry_trace_host_init(); /* FERRY_TRACE: the device records too */
	struct stat out;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, child_sock, 3);
	if (trace_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, trace_fd, 4);
		argv[2] = (char *)"--trace-fd=4";
	}
	/* the device's standard output is ours (for kernels' printf): which file it is */
	if (!fstat(STDOUT_FILENO, &out)) {
		ctx->out_dev = out.st_dev;
		ctx->out_ino = out.st_ino;
	}
	r = posix_spawn(&ctx->pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	ctx->pidfd = (int)syscall(SYS_pidfd_open, ctx->pid, 0);
	return ctx->pidfd < 0 ? -errno : 0;
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
	ctx->be->device_died(ctx);
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

void *ferry_map_shared(int fd, uint64_t size)
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
int ferry_send_init(struct ferry_ctx *ctx, uint64_t base, int *fds, int nfds)
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
	m.u.init.backend = ctx->be->id;
	m.u.init.vaspace = ctx->vaspace;
	r = ferry_msg_send(ctx->sock, &m, fds, fds ? nfds : 0);
	if (!r)
		r = ferry_msg_recv(ctx->sock, &m, NULL, NULL, 0);
	return r ? r : (int)m.status;
}

int ferry_map_coherent(struct ferry_ctx *ctx, void *w)
{
	if (mmap((char *)w + ctx->size - ctx->fine_size, ctx->fine_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED | MAP_NORESERVE, ctx->fine_fd, 0) == MAP_FAILED)
		return -errno;
	return 0;
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

	r = open_backend(ctx);
	if (r)
		goto fail;
	ctx->meta_fd = r = ferry_new_memfd("ferry-meta", ferry_meta_size(ctx->npages));
	if (r < 0)
		goto fail;
	ctx->staging_fd = r = ferry_new_memfd("ferry-staging", FERRY_STAGING_SIZE);
	if (r < 0)
		goto fail;
	ctx->fine_fd = r = ferry_new_memfd("ferry-coherent", ctx->fine_size);
	if (r < 0)
		goto fail;
	ctx->meta = ferry_map_shared(ctx->meta_fd, ferry_meta_size(ctx->npages));
	ctx->staging = ferry_map_shared(ctx->staging_fd, FERRY_STAGING_SIZE);
	r = -ENOMEM;
	if (!ctx->meta || !ctx->staging)
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
	r = ctx->be->bind_window(ctx);
	if (r)
		goto fail_kill;
	if (ctx->be->start)
		ctx->be->start(ctx);
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
	if (ctx->be->stop)
		ctx->be->stop(ctx);
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
	if (ctx->be->stop)
		ctx->be->stop(ctx);
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
	if (ctx->be->release)
		ctx->be->release(ctx);
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
