// SPDX-License-Identifier: MIT
/*
 * kd_server.c - the device server of the guest-side suites of ferry.ko: the
 * forked process that maps the device view and serves commands over the
 * socketpair (its side and the test's side), and the device commands built
 * on it. See kd_common.h.
 */
#include "kd_common.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

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
