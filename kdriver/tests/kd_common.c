// SPDX-License-Identifier: MIT
/*
 * kd_common.c - the render node, the driver interface, the window, the device
 * server and the data patterns shared by the guest-side suites of ferry.ko.
 * See kd_common.h.
 */
#include "kd_common.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <xf86drm.h>

/* ---- reporting ------------------------------------------------------------ */

const char *kd_errname(long v)
{
	const char *n;

	if (v == 0)
		return "0";
	if (v > 0 || v < -4095)
		return "-";
	n = strerrorname_np((int)-v);
	return n ? n : "?";
}

long kd_timeout_s(void)
{
	const char *e = getenv("FERRY_KD_TIMEOUT");
	long t = e ? strtol(e, NULL, 0) : 0;

	return t > 0 ? t : 300;
}

static double kd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- data patterns -------------------------------------------------------- */

uint64_t kd_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t kd_pattern_word(uintptr_t addr, uint64_t seed)
{
	uint64_t s = addr ^ (seed * 0xd1b54a32d192ed03ULL);
	uint64_t v = kd_rand(&s);

	return v ? v : 1; /* never zero: zero is what untouched memory reads */
}

void kd_fill_pattern_at(void *buf, uintptr_t addr, size_t len, uint64_t seed)
{
	uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = kd_pattern_word(addr + i * 8, seed);
}

ssize_t kd_check_pattern_at(const void *buf, uintptr_t addr, size_t len, uint64_t seed)
{
	const uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != kd_pattern_word(addr + i * 8, seed))
			return (ssize_t)(i * 8);
	return -1;
}

void kd_fill_pattern(void *addr, size_t len, uint64_t seed)
{
	kd_fill_pattern_at(addr, (uintptr_t)addr, len, seed);
}

ssize_t kd_check_pattern(const void *addr, size_t len, uint64_t seed)
{
	return kd_check_pattern_at(addr, (uintptr_t)addr, len, seed);
}

ssize_t kd_check_bytes(const void *addr, size_t len, unsigned char byte)
{
	const unsigned char *p = addr;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != byte)
			return (ssize_t)i;
	return -1;
}

/* ---- the render node and the driver interface ----------------------------- */

int kd_open_node(void)
{
	DIR *d = opendir("/dev/dri");
	struct dirent *e;
	int found = -ENODEV;

	if (!d)
		return -ENODEV;
	while ((e = readdir(d)) != NULL && found < 0) {
		char path[300];
		drmVersionPtr v;
		int fd;

		if (strncmp(e->d_name, "renderD", 7) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/dri/%s", e->d_name);
		fd = open(path, O_RDWR);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && strcmp(v->name, "ferry") == 0)
			found = fd;
		else
			close(fd);
		if (v)
			drmFreeVersion(v);
	}
	closedir(d);
	return found;
}

int kd_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r == -1 && errno == EINTR);
	return r == -1 ? -errno : r;
}

int kd_create_vaspace(int fd, uint64_t device_memory, uint64_t *id)
{
	struct ferry_create_vaspace a = {.device_memory = device_memory};
	int r = kd_ioctl(fd, FERRY_IOCTL_CREATE_VASPACE, &a);

	if (!r && id)
		*id = a.id;
	return r;
}

int kd_register_window(int fd, void *base, size_t size)
{
	struct ferry_register_window a = {.base = (uintptr_t)base, .size = size};

	return kd_ioctl(fd, FERRY_IOCTL_REGISTER_WINDOW, &a);
}

int kd_migrate(int fd, void *start, size_t size, uint32_t target, uint32_t flags, uint64_t *fence)
{
	struct ferry_migrate a = {
		.start = (uintptr_t)start, .size = size, .target = target, .flags = flags};
	int r = kd_ioctl(fd, FERRY_IOCTL_MIGRATE, &a);

	if (!r && fence)
		*fence = a.fence;
	return r;
}

int kd_wait(int fd, uint64_t fence, uint64_t timeout_ns, int32_t *status)
{
	struct ferry_wait a = {.fence = fence, .timeout_ns = timeout_ns, .status = -12345};
	int r = kd_ioctl(fd, FERRY_IOCTL_WAIT, &a);

	if (!r && status)
		*status = a.status;
	return r;
}

int kd_set_attr(int fd, void *start, size_t size, uint32_t type, uint64_t value)
{
	struct ferry_attr attr = {.type = type, .value = value};
	struct ferry_attrs a = {
		.start = (uintptr_t)start, .size = size, .attrs = (uintptr_t)&attr, .nattrs = 1};

	return kd_ioctl(fd, FERRY_IOCTL_SET_ATTR, &a);
}

int kd_get_attr(int fd, void *start, size_t size, uint32_t type, uint64_t *value)
{
	struct ferry_attr attr = {.type = type, .value = 0x5a5a5a5a};
	struct ferry_attrs a = {
		.start = (uintptr_t)start, .size = size, .attrs = (uintptr_t)&attr, .nattrs = 1};
	int r = kd_ioctl(fd, FERRY_IOCTL_GET_ATTR, &a);

	if (!r && value)
		*value = attr.value;
	return r;
}

int kd_residency(int fd, void *start, size_t size, uint8_t *out, uint64_t count[4])
{
	struct ferry_residency_query a = {
		.start = (uintptr_t)start, .size = size, .out = (uintptr_t)out};
	int r = kd_ioctl(fd, FERRY_IOCTL_RESIDENCY, &a);

	if (!r && count)
		memcpy(count, a.count, sizeof(a.count));
	return r;
}

int kd_counters(int fd, struct ferry_counters *c)
{
	memset(c, 0, sizeof(*c));
	return kd_ioctl(fd, FERRY_IOCTL_COUNTERS, c);
}

int kd_map_view(int fd, uint64_t id, void *base, size_t size, uint64_t *offset)
{
	struct ferry_map_device_view a = {.vaspace = id, .base = (uintptr_t)base, .size = size};
	int r = kd_ioctl(fd, FERRY_IOCTL_MAP_DEVICE_VIEW, &a);

	if (!r && offset)
		*offset = a.offset;
	return r;
}

uint64_t kd_default_capacity(void)
{
	FILE *f = fopen("/sys/module/ferry/parameters/device_memory_mb", "r");
	unsigned long mb = 256;

	if (f) {
		if (fscanf(f, "%lu", &mb) != 1)
			mb = 256;
		fclose(f);
	}
	return (uint64_t)mb << 20;
}

size_t kd_residency_not(int fd, void *start, size_t size, uint8_t state, const char *what)
{
	static const char *const names[] = {"untouched", "host", "device", "duplicated"};
	size_t npages = size / KD_PAGE, bad = 0, i, shown = 0;
	uint64_t count[4], sum = 0, bytes[4] = {0};
	uint8_t *out = malloc(npages ? npages : 1);
	int r;

	if (!out)
		return SIZE_MAX;
	memset(out, 0xee, npages);
	r = kd_residency(fd, start, size, out, count);
	if (r) {
		print_message("RESIDENCY(%s) failed: %s\n", what, kd_errname(r));
		free(out);
		return SIZE_MAX;
	}
	for (i = 0; i < npages; i++) {
		if (out[i] < 4)
			bytes[out[i]]++;
		if (out[i] == state)
			continue;
		if (shown++ < 6)
			print_message("  %s page %zu: %u (%s), expected %s\n", what, i, out[i],
				      out[i] < 4 ? names[out[i]] : "invalid", names[state & 3]);
		bad++;
	}
	for (i = 0; i < 4; i++)
		sum += count[i];
	if (sum != npages || memcmp(bytes, count, sizeof(bytes)) != 0) {
		print_message("RESIDENCY(%s): count[] = {%" PRIu64 ", %" PRIu64 ", %" PRIu64
			      ", %" PRIu64 "} disagrees with the %zu bytes\n",
			      what, count[0], count[1], count[2], count[3], npages);
		bad = SIZE_MAX;
	}
	free(out);
	return bad;
}

/* ---- the window ----------------------------------------------------------- */

char *kd_reserve(size_t size)
{
	size_t span = size + KD_REGION;
	char *p = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t base;

	if (p == MAP_FAILED)
		return NULL;
	base = ((uintptr_t)p + KD_REGION - 1) & ~(uintptr_t)(KD_REGION - 1);
	if (base > (uintptr_t)p)
		munmap(p, base - (uintptr_t)p);
	munmap((char *)base + size, (uintptr_t)p + span - (base + size));
	return (char *)base;
}

int kd_map_anon(void *base, size_t size, bool thp)
{
	void *p = mmap(base, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		       -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	if (madvise(p, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		return -errno;
	return 0;
}

/* ---- the device server ---------------------------------------------------- */

static _Thread_local sigjmp_buf *kd_jmp;
static _Thread_local uintptr_t kd_sigaddr;

static void kd_fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!kd_jmp) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	kd_sigaddr = (uintptr_t)si->si_addr;
	siglongjmp(*kd_jmp, sig);
}

/* Run fn(arg); a SIGBUS/SIGSEGV it raises returns the signal and its address. */
static int kd_guarded(void (*fn)(void *), void *arg, uintptr_t *fault_addr)
{
	sigjmp_buf env;
	int sig;

	kd_jmp = &env;
	sig = sigsetjmp(env, 1);
	if (sig) {
		kd_jmp = NULL;
		*fault_addr = kd_sigaddr;
		return sig;
	}
	fn(arg);
	kd_jmp = NULL;
	return 0;
}

struct kd_op_args {
	struct kd_ctx *ctx;
	const struct kd_req *req;
	struct kd_rep *rep;
};

static void kd_do_read(void *p)
{
	struct kd_op_args *a = p;

	memcpy(a->ctx->staging, (void *)(uintptr_t)a->req->addr, a->req->len);
}

static void kd_do_write(void *p)
{
	struct kd_op_args *a = p;

	memcpy((void *)(uintptr_t)a->req->addr, a->ctx->staging, a->req->len);
}

static void kd_do_fill(void *p)
{
	struct kd_op_args *a = p;

	memset((void *)(uintptr_t)a->req->addr, (int)a->req->arg, a->req->len);
}

static void kd_do_pattern(void *p)
{
	struct kd_op_args *a = p;

	kd_fill_pattern((void *)(uintptr_t)a->req->addr, a->req->len, a->req->seed);
}

static void kd_do_check(void *p)
{
	struct kd_op_args *a = p;
	const volatile uint64_t *w = (const volatile uint64_t *)(uintptr_t)a->req->addr;
	size_t i;

	a->rep->value = 0;
	a->rep->addr = 0;
	for (i = 0; i < a->req->len / 8; i++) {
		if (w[i] == kd_pattern_word((uintptr_t)&w[i], a->req->seed))
			continue;
		if (!a->rep->value++)
			a->rep->addr = (uintptr_t)&w[i];
	}
}

static void kd_do_touch(void *p)
{
	struct kd_op_args *a = p;
	volatile unsigned char *c = (volatile unsigned char *)(uintptr_t)a->req->addr;
	size_t i;

	for (i = 0; i < a->req->len; i += KD_PAGE) {
		unsigned char v = c[i];

		if (a->req->arg)
			c[i] = v;
	}
}

static void kd_do_custom(void *p)
{
	struct kd_op_args *a = p;

	a->rep->status = a->ctx->custom(a->ctx, a->req, a->rep);
}

struct kd_dev_worker {
	struct kd_worker w;
	int sig;
	uintptr_t fault_addr;
};

static void kd_worker_trampoline(void *p)
{
	kd_worker_run(p);
}

static void *kd_dev_worker_thread(void *p)
{
	struct kd_dev_worker *dw = p;

	dw->sig = kd_guarded(kd_worker_trampoline, &dw->w, &dw->fault_addr);
	return NULL;
}

static void kd_serve_workers(const struct kd_req *req, struct kd_rep *rep)
{
	unsigned int n = req->arg, i, started = 0;
	struct kd_dev_worker *dw = calloc(n ? n : 1, sizeof(*dw));
	pthread_t *t = calloc(n ? n : 1, sizeof(*t));

	rep->value = 0;
	rep->addr = 0;
	if (!dw || !t) {
		rep->status = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		dw[i].w.base = (char *)(uintptr_t)req->addr;
		dw[i].w.npages = req->len;
		dw[i].w.owner = (unsigned int)req->seed + i;
		dw[i].w.iters = (unsigned int)req->arg2;
		if (pthread_create(&t[i], NULL, kd_dev_worker_thread, &dw[i])) {
			rep->status = -EAGAIN;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		if (dw[i].sig && !rep->status) {
			rep->status = dw[i].sig;
			rep->addr = dw[i].fault_addr;
		}
		if (dw[i].w.errors && !rep->value && !dw[i].sig)
			rep->addr = dw[i].w.first_bad;
		rep->value += dw[i].w.errors;
	}
out:
	free(dw);
	free(t);
}

static void kd_serve(struct kd_ctx *ctx, const struct kd_req *req, struct kd_rep *rep)
{
	static void (*const ops[])(void *) = {
		[KD_OP_READ] = kd_do_read,     [KD_OP_WRITE] = kd_do_write,
		[KD_OP_FILL] = kd_do_fill,     [KD_OP_PATTERN] = kd_do_pattern,
		[KD_OP_CHECK] = kd_do_check,   [KD_OP_TOUCH] = kd_do_touch,
		[KD_OP_CUSTOM] = kd_do_custom,
	};
	struct kd_op_args a = {ctx, req, rep};
	uintptr_t fault = 0;

	memset(rep, 0, sizeof(*rep));
	if (req->op == KD_OP_WORKERS) {
		kd_serve_workers(req, rep);
		return;
	}
	if (req->op >= KD_ARRAY_SIZE(ops) || !ops[req->op] ||
	    (req->op == KD_OP_CUSTOM && !ctx->custom)) {
		rep->status = -EINVAL;
		return;
	}
	if ((req->op == KD_OP_READ || req->op == KD_OP_WRITE) && req->len > ctx->staging_size) {
		rep->status = -E2BIG;
		return;
	}
	rep->status = kd_guarded(ops[req->op], &a, &fault);
	if (rep->status > 0)
		rep->addr = fault;
}

static void kd_default_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGALRM};
	size_t i;

	for (i = 0; i < KD_ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
}

static void kd_send_rep(int s, const struct kd_rep *rep)
{
	if (send(s, rep, sizeof(*rep), MSG_NOSIGNAL) != (ssize_t)sizeof(*rep))
		_exit(3);
}

static __attribute__((noreturn)) void kd_server_main(struct kd_ctx *ctx, pid_t parent)
{
	struct sigaction sa;
	struct kd_rep hello = {0};
	int s = ctx->srv_sock;

	kd_default_signals();
	close(ctx->sock);
	if (!(ctx->flags & KD_ORPHAN)) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kd_fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	/* The device process: its own view of the window, at the same address. */
	if (munmap(ctx->base, ctx->size)) {
		hello.status = -errno;
	} else {
		hello.status = kd_map_view(ctx->fd, ctx->id, ctx->base, ctx->size, &hello.value);
		if (!hello.status) {
			void *p = mmap(ctx->base, ctx->size, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_FIXED, ctx->fd, (off_t)hello.value);

			if (p == MAP_FAILED)
				hello.status = -errno, hello.pad = 1;
			else if (p != ctx->base)
				hello.status = -EADDRNOTAVAIL, hello.pad = 1;
		}
	}
	kd_send_rep(s, &hello);
	if (hello.status)
		_exit(1);

	for (;;) {
		struct kd_req req;
		struct kd_rep rep;
		ssize_t n = recv(s, &req, sizeof(req), 0);

		if (n == 0)
			_exit(0); /* the host is gone */
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(req))
			_exit(2);
		if (req.op == KD_OP_EXIT) {
			memset(&rep, 0, sizeof(rep));
			kd_send_rep(s, &rep);
			_exit(0);
		}
		kd_serve(ctx, &req, &rep);
		kd_send_rep(s, &rep);
	}
}

/* Receive one reply within the timeout: 0, -ETIMEDOUT or -EPIPE (server gone). */
static int kd_recv_rep(struct kd_ctx *ctx, struct kd_rep *rep, long timeout_s)
{
	struct pollfd p = {.fd = ctx->sock, .events = POLLIN};
	double deadline = kd_now() + timeout_s;
	ssize_t n;
	int r;

	for (;;) {
		double left = deadline - kd_now();

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		n = recv(ctx->sock, rep, sizeof(*rep), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == (ssize_t)sizeof(*rep))
			return 0;
		return -EPIPE;
	}
}

static void kd_reap_server(struct kd_ctx *ctx, int timeout_s)
{
	int st;

	if (ctx->server <= 0)
		return;
	st = kd_wait_pid(ctx->server, timeout_s);
	if (st == -ETIMEDOUT) {
		kill(ctx->server, SIGKILL);
		st = kd_wait_pid(ctx->server, 30);
	}
	ctx->server_status = st;
	ctx->server = 0;
}

int kd_server_spawn(struct kd_ctx *ctx)
{
	pid_t parent = getpid(), pid;
	struct kd_rep hello;
	int r;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		kd_server_main(ctx, parent);
	ctx->server = pid;
	close(ctx->srv_sock);
	ctx->srv_sock = -1;
	r = kd_recv_rep(ctx, &hello, kd_timeout_s());
	if (r) {
		print_message("device server: no answer (%s)\n", kd_errname(r));
		kd_server_kill(ctx);
		return r;
	}
	if (hello.status) {
		print_message("device server: %s failed: %s\n",
			      hello.pad ? "mmap of the device view" : "MAP_DEVICE_VIEW",
			      kd_errname(hello.status));
		kd_reap_server(ctx, 30);
		return hello.status;
	}
	ctx->view_offset = hello.value;
	return 0;
}

void kd_server_kill(struct kd_ctx *ctx)
{
	if (ctx->server > 0)
		kill(ctx->server, SIGKILL);
	kd_reap_server(ctx, 30);
	if (ctx->sock >= 0)
		close(ctx->sock);
	ctx->sock = -1;
}

int kd_server_stop(struct kd_ctx *ctx)
{
	struct kd_req req = {.op = KD_OP_EXIT};
	struct kd_rep rep;

	if (ctx->server <= 0)
		return ctx->sock >= 0 ? -EPIPE : 0;
	if (send(ctx->sock, &req, sizeof(req), MSG_NOSIGNAL) == (ssize_t)sizeof(req))
		kd_recv_rep(ctx, &rep, 30);
	kd_reap_server(ctx, 30);
	close(ctx->sock);
	ctx->sock = -1;
	return WIFEXITED(ctx->server_status) && WEXITSTATUS(ctx->server_status) == 0 ? 0 : -EPIPE;
}

/* ---- the fixture ---------------------------------------------------------- */

int kd_prepare(struct kd_ctx *ctx, size_t size, uint64_t capacity, unsigned int flags)
{
	int sv[2];

	memset(ctx, 0, sizeof(*ctx));
	ctx->fd = ctx->sock = ctx->srv_sock = -1;
	ctx->size = size;
	ctx->capacity = capacity;
	ctx->flags = flags;
	if (!(flags & (KD_NO_WINDOW | KD_NO_VASPACE))) {
		ctx->base = kd_reserve(size);
		if (!ctx->base)
			return -ENOMEM;
	}
	if (!(flags & (KD_NO_SERVER | KD_NO_WINDOW | KD_NO_VASPACE))) {
		ctx->staging = mmap(NULL, size, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (ctx->staging == MAP_FAILED) {
			ctx->staging = NULL;
			return -ENOMEM;
		}
		ctx->staging_size = size;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
			return -errno;
		ctx->sock = sv[0];
		ctx->srv_sock = sv[1];
	}
	return 0;
}

int kd_host_setup(struct kd_ctx *ctx)
{
	int r;

	if (ctx->fd < 0) {
		ctx->fd = kd_open_node();
		if (ctx->fd < 0) {
			print_message("no ferry render node: %s\n", kd_errname(ctx->fd));
			return ctx->fd;
		}
	}
	if (ctx->flags & KD_NO_VASPACE)
		return 0;
	r = kd_create_vaspace(ctx->fd, ctx->capacity, &ctx->id);
	if (r) {
		print_message("CREATE_VASPACE: %s\n", kd_errname(r));
		return r;
	}
	if (ctx->flags & KD_NO_WINDOW)
		return 0;
	r = kd_map_anon(ctx->base, ctx->size, ctx->flags & KD_THP);
	if (r) {
		print_message("window mmap: %s\n", kd_errname(r));
		return r;
	}
	r = kd_register_window(ctx->fd, ctx->base, ctx->size);
	if (r)
		print_message("REGISTER_WINDOW: %s\n", kd_errname(r));
	return r;
}

int kd_setup(struct kd_ctx *ctx, size_t size, uint64_t capacity, unsigned int flags)
{
	int r = kd_prepare(ctx, size, capacity, flags);

	if (!r)
		r = kd_host_setup(ctx);
	if (!r && ctx->srv_sock >= 0)
		r = kd_server_spawn(ctx);
	if (r)
		kd_teardown(ctx);
	return r;
}

void kd_teardown(struct kd_ctx *ctx)
{
	if (ctx->server > 0)
		kd_server_stop(ctx);
	if (ctx->sock >= 0)
		close(ctx->sock);
	if (ctx->srv_sock >= 0)
		close(ctx->srv_sock);
	ctx->sock = ctx->srv_sock = -1;
	if (ctx->base)
		munmap(ctx->base, ctx->size);
	ctx->base = NULL;
	if (ctx->staging)
		munmap(ctx->staging, ctx->staging_size);
	ctx->staging = NULL;
	if (ctx->fd >= 0)
		close(ctx->fd);
	ctx->fd = -1;
}

/* ---- device commands ------------------------------------------------------ */

int kd_dev_cmd(struct kd_ctx *ctx, const struct kd_req *req, struct kd_rep *rep)
{
	int r;

	if (ctx->sock < 0)
		return -EPIPE;
	if (send(ctx->sock, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req)) {
		kd_reap_server(ctx, 5);
		return -EPIPE;
	}
	r = kd_recv_rep(ctx, rep, kd_timeout_s());
	if (r == -EPIPE)
		kd_reap_server(ctx, 5);
	if (r)
		return r;
	if (rep->status > 0)
		ctx->fault_addr = rep->addr;
	return rep->status;
}

static int kd_dev_simple(struct kd_ctx *ctx, uint32_t op, const void *addr, size_t len,
			 uint32_t arg, uint64_t seed)
{
	struct kd_req req = {
		.op = op, .arg = arg, .addr = (uintptr_t)addr, .len = len, .seed = seed};
	struct kd_rep rep;
	int r = kd_dev_cmd(ctx, &req, &rep);

	if (op == KD_OP_CHECK) {
		ctx->mismatches = r ? 0 : rep.value;
		ctx->first_bad = r ? 0 : rep.addr;
	}
	return r;
}

int kd_dev_read(struct kd_ctx *ctx, const void *addr, size_t len)
{
	return kd_dev_simple(ctx, KD_OP_READ, addr, len, 0, 0);
}

int kd_dev_write(struct kd_ctx *ctx, void *addr, size_t len)
{
	return kd_dev_simple(ctx, KD_OP_WRITE, addr, len, 0, 0);
}

int kd_dev_fill(struct kd_ctx *ctx, void *addr, size_t len, unsigned char byte)
{
	return kd_dev_simple(ctx, KD_OP_FILL, addr, len, byte, 0);
}

int kd_dev_pattern(struct kd_ctx *ctx, void *addr, size_t len, uint64_t seed)
{
	return kd_dev_simple(ctx, KD_OP_PATTERN, addr, len, 0, seed);
}

int kd_dev_check(struct kd_ctx *ctx, const void *addr, size_t len, uint64_t seed)
{
	return kd_dev_simple(ctx, KD_OP_CHECK, addr, len, 0, seed);
}

int kd_dev_touch(struct kd_ctx *ctx, void *addr, size_t len, bool write)
{
	return kd_dev_simple(ctx, KD_OP_TOUCH, addr, len, write, 0);
}

const char *kd_dev_strerror(struct kd_ctx *ctx, int r)
{
	static char buf[256];

	if (r > 0)
		snprintf(buf, sizeof(buf), "device touch raised %s at %#lx (window + %#lx)",
			 sigabbrev_np(r) ? sigabbrev_np(r) : "a signal",
			 (unsigned long)ctx->fault_addr,
			 (unsigned long)(ctx->fault_addr - (uintptr_t)ctx->base));
	else if (r == -EPIPE)
		snprintf(buf, sizeof(buf), "the device server died (wait status %#x)",
			 ctx->server_status);
	else if (r == -ETIMEDOUT)
		snprintf(buf, sizeof(buf), "the device server did not answer within %ld s",
			 kd_timeout_s());
	else
		snprintf(buf, sizeof(buf), "%s", kd_errname(r));
	return buf;
}

/* ---- concurrent workers --------------------------------------------------- */

uint64_t kd_worker_value(unsigned int owner, size_t page, unsigned int iter)
{
	return ((uint64_t)iter << 48) | ((uint64_t)owner << 40) | (uint64_t)page;
}

void kd_worker_run(struct kd_worker *w)
{
	unsigned int k;
	size_t p;

	for (k = 1; k <= w->iters; k++) {
		for (p = 0; p < w->npages; p++) {
			volatile uint64_t *word =
				(volatile uint64_t *)(w->base + p * KD_PAGE) + w->owner;
			uint64_t want = k == 1 ? 0 : kd_worker_value(w->owner, p, k - 1);

			if (*word != want && !w->errors++)
				w->first_bad = (uintptr_t)word;
			*word = kd_worker_value(w->owner, p, k);
		}
	}
}

int kd_dev_workers(struct kd_ctx *ctx, void *addr, size_t npages, unsigned int first_owner,
		   unsigned int nthreads, unsigned int iters)
{
	struct kd_req req = {.op = KD_OP_WORKERS,
			     .arg = nthreads,
			     .addr = (uintptr_t)addr,
			     .len = npages,
			     .seed = first_owner,
			     .arg2 = iters};
	struct kd_rep rep;
	int r = kd_dev_cmd(ctx, &req, &rep);

	ctx->mismatches = r ? 0 : rep.value;
	ctx->first_bad = r ? 0 : rep.addr;
	return r;
}

/* ---- child processes ------------------------------------------------------ */

int kd_wait_pid(pid_t pid, int timeout_s)
{
	double deadline = kd_now() + timeout_s;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (kd_now() > deadline)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

int kd_run_child(int (*fn)(void *arg), void *arg, int timeout_s)
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		kd_default_signals();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fflush(stdout);
		_exit(fn(arg) & 0xff);
	}
	st = kd_wait_pid(pid, timeout_s);
	if (st == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		kd_wait_pid(pid, 30);
		return -ETIMEDOUT;
	}
	if (st < 0)
		return st;
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

int kd_check_full_capacity(void)
{
	uint64_t cap = kd_default_capacity();
	struct ferry_counters c;
	struct kd_ctx ctx;
	size_t npages = cap / KD_PAGE, p;
	int r, bad = 0;

	r = kd_setup(&ctx, cap, 0, KD_NO_SERVER);
	if (r) {
		print_message("full capacity: setup failed: %s\n", kd_errname(r));
		return -1;
	}
	for (p = 0; p < npages; p++)
		*(uint64_t *)(ctx.base + p * KD_PAGE) = kd_pattern_word(p, 77);
	r = kd_migrate(ctx.fd, ctx.base, cap, FERRY_LOC_DEVICE, 0, NULL);
	if (r) {
		print_message("full capacity: MIGRATE of %zu pages to the device: %s\n", npages,
			      kd_errname(r));
		bad = 1;
	}
	r = kd_counters(ctx.fd, &c);
	if (r) {
		print_message("full capacity: COUNTERS: %s\n", kd_errname(r));
		bad = 1;
	} else if (c.device_capacity_pages != npages || c.device_resident_pages != npages ||
		   c.evictions || c.pages_evicted) {
		print_message("full capacity: capacity %" PRIu64
			      " pages (want %zu), resident %" PRIu64 ", evictions %" PRIu64
			      " (%" PRIu64 " pages): device pages leaked?\n",
			      (uint64_t)c.device_capacity_pages, npages,
			      (uint64_t)c.device_resident_pages, (uint64_t)c.evictions,
			      (uint64_t)c.pages_evicted);
		bad = 1;
	}
	r = kd_migrate(ctx.fd, ctx.base, cap, FERRY_LOC_HOST, 0, NULL);
	if (r) {
		print_message("full capacity: MIGRATE back: %s\n", kd_errname(r));
		bad = 1;
	}
	for (p = 0; p < npages; p++) {
		if (*(uint64_t *)(ctx.base + p * KD_PAGE) != kd_pattern_word(p, 77)) {
			print_message("full capacity: page %zu lost its contents\n", p);
			bad = 1;
			break;
		}
	}
	kd_teardown(&ctx);
	return bad ? -1 : 0;
}
