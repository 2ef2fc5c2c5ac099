// SPDX-License-Identifier: MIT
/*
 * kd_common.c - the render node, the driver interface, the window, the
 * fixture, child processes and the data patterns shared by the guest-side
 * suites of ferry.ko (the device server is kd_server.c). See kd_common.h.
 */
#include "kd_common.h"

#include <dirent.h>
#include <fcntl.h>
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

double kd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- signals -------------------------------------------------------------- */

void kd_default_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGALRM};
	size_t i;

	for (i = 0; i < KD_ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
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
