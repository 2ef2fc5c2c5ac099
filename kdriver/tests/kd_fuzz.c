// SPDX-License-Identifier: MIT
/*
 * kd_fuzz - a bounded, reproducible fuzzer of ferry.ko's driver interface.
 *
 * FERRY_KD_FUZZ_N calls (default 20000) from the host process and a tenth as
 * many from the device process, generated from a fixed seed
 * (FERRY_KD_FUZZ_SEED, default 0x5eed): every 'F' command plus unknown
 * numbers, with the right or a garbled size and direction; arguments that
 * are valid, misaligned, zero, outside or straddling the window, wrapping,
 * kernel addresses; argument pointers that are valid, NULL, unmapped,
 * kernel, read-only, straddling a guard page or inside the window (whose
 * pages may be on the device); attribute arrays and residency buffers
 * likewise; fences issued or never issued (the latter always with a short
 * timeout). The window mixes anonymous memory, shmem, an mlocked part and
 * a hole, so every refusal path is reached; a second opener comes and goes
 * with windows of its own, some overlapping the first.
 *
 * The test passes when nothing crashes, every call returns 0 or a documented
 * errno (EINVAL ERANGE EFAULT EBUSY ENOENT EOPNOTSUPP ENOMEM; ENOTTY only for
 * an unknown or garbled command; ETIMEDOUT only from WAIT; ENOSPC only from
 * CREATE_VASPACE; EPERM only from the device process), VERSION and COUNTERS
 * with valid arguments succeed, and afterwards the VA space still works
 * exactly (a fresh pattern migrates both ways intact, device residency
 * agrees with the counters and stays within capacity). The guest script
 * fails the run on any kernel splat. A watchdog names the call that does not
 * return.
 */
#include "kd_common.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define WINDOW KD_MIB(8)
#define CAPACITY KD_MIB(4)
#define NCMD 10

static const unsigned long cmds[NCMD] = {
	FERRY_IOCTL_VERSION,	     FERRY_IOCTL_CREATE_VASPACE, FERRY_IOCTL_REGISTER_WINDOW,
	FERRY_IOCTL_MIGRATE,	     FERRY_IOCTL_WAIT,		 FERRY_IOCTL_SET_ATTR,
	FERRY_IOCTL_GET_ATTR,	     FERRY_IOCTL_RESIDENCY,	 FERRY_IOCTL_COUNTERS,
	FERRY_IOCTL_MAP_DEVICE_VIEW,
};

static const int errs[] = {0,	       EINVAL, ERANGE, EFAULT,	  EBUSY,  ENOENT,
			   EOPNOTSUPP, ENOTTY, ENOMEM, ETIMEDOUT, ENOSPC, EPERM};
#define NERR (KD_ARRAY_SIZE(errs) + 1) /* + "other" */

struct fuzz {
	struct kd_ctx ctx;
	int fd2;    /* a second opener */
	char *win2; /* a window of its own */
	uint64_t rng;
	uint8_t *args;		  /* 2 pages for argument structures */
	uint8_t *ro;		  /* a read-only page */
	uint8_t *edge;		  /* a page followed by a PROT_NONE guard */
	uint8_t *res;		  /* residency output: window pages, then a guard */
	struct ferry_attr *attrs; /* 64 attributes, then a guard */
	uint64_t fences[16];
	unsigned int nfences;
	unsigned long stats[NCMD + 1][NERR];
	unsigned long violations;
	char last[320];
	bool sane; /* this call: plausible arguments (valid fields, pointer, command) */
	atomic_ulong progress;
	atomic_bool watching; /* the watchdog's eye is on the host calls */
};

static struct fuzz *Z;

static uint64_t rnd(void)
{
	return kd_rand(&Z->rng);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static uint64_t gen_addr(void)
{
	uint64_t b = (uintptr_t)Z->ctx.base, n = WINDOW;

	if (Z->sane)
		return below(10) ? b + below(n / KD_PAGE) * KD_PAGE
				 : (uintptr_t)Z->win2 + below(KD_MIB(4) / KD_PAGE) * KD_PAGE;
	switch (below(20)) {
	case 12:
		return b + below(n);
	case 13:
		return b - KD_PAGE * (1 + below(16));
	case 14:
		return b + n + KD_PAGE * below(16);
	case 15:
		return 0;
	case 16:
		return rnd();
	case 17:
		return 0xffff888000000000ULL + below(1 << 20) * KD_PAGE;
	case 18:
		return b + n - KD_PAGE;
	case 19:
		return (uintptr_t)Z->win2 + below(KD_MIB(4) / KD_PAGE) * KD_PAGE;
	default:
		return b + below(n / KD_PAGE) * KD_PAGE;
	}
}

static uint64_t gen_size(void)
{
	if (Z->sane)
		return below(8) ? KD_PAGE * (1 + below(64))
				: KD_PAGE * (1 + below(WINDOW / KD_PAGE));
	switch (below(20)) {
	case 0:
		return 0;
	case 11:
	case 12:
		return KD_PAGE * (1 + below(WINDOW / KD_PAGE));
	case 13:
		return WINDOW;
	case 14:
		return 1 + below(2 * KD_PAGE);
	case 15:
		return ~0ULL - below(KD_PAGE) * KD_PAGE;
	case 16:
		return 1ULL << below(64);
	case 17:
		return rnd() & ~(uint64_t)(KD_PAGE - 1);
	case 18:
		return KD_REGION * (1 + below(4));
	default:
		return KD_PAGE * (1 + below(64));
	}
}

static uint32_t gen_u32_small(uint32_t valid_max)
{
	if (Z->sane)
		return (uint32_t)below(valid_max + 1);
	switch (below(10)) {
	case 0:
		return (uint32_t)rnd();
	case 1:
		return valid_max + 1 + (uint32_t)below(8);
	default:
		return (uint32_t)below(valid_max + 1);
	}
}

static uint64_t gen_reserved(void)
{
	return Z->sane || below(10) ? 0 : rnd() | 1;
}

static uint64_t gen_fence(uint64_t *timeout)
{
	*timeout = 1 + below(1000000); /* never issued: never wait long */
	if (Z->nfences && below(3)) {
		*timeout = below(2) ? 0 : *timeout;
		return Z->fences[below(Z->nfences)];
	}
	switch (below(4)) {
	case 0:
		return 0;
	case 1:
		return Z->nfences ? Z->fences[Z->nfences - 1] + 1 + below(100) : 1 + below(100);
	default:
		return rnd();
	}
}

static void gen_attrs(uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n && i < 64; i++) {
		struct ferry_attr *a = &Z->attrs[i];

		a->type = Z->sane ? 1 + (uint32_t)below(5) : gen_u32_small(6);
		a->reserved = (uint32_t)gen_reserved();
		switch (Z->sane ? 5 : below(6)) {
		case 0:
			a->value = rnd();
			break;
		case 1:
			a->value = KD_PAGE << below(12);
			break;
		case 2:
			a->value = below(4);
			break;
		case 3:
			a->value = below(8);
			break;
		default:
			a->value = a->type == FERRY_ATTR_BLOCK_SIZE    ? KD_PAGE << below(10)
				   : a->type == FERRY_ATTR_ACCESSED_BY ? below(4) << 1
								       : below(3);
		}
	}
}

/* An inner user pointer (attrs, out): mostly valid, sometimes not. */
static uint64_t gen_inner(uint64_t valid, bool device_side)
{
	if (Z->sane && below(10))
		return valid;
	switch (below(16)) {
	case 0:
		return 0;
	case 1:
		return below(65536);
	case 2:
		return 0xffff888000000000ULL + below(1 << 20) * 8;
	case 3:
		return rnd() & 0x7ffffffff000ULL;
	case 4:
		return (uintptr_t)Z->ro;
	case 5:
		return (uintptr_t)Z->ctx.base + below(WINDOW);
	case 6:
		return (uintptr_t)Z->edge + KD_PAGE - 8 * (1 + below(8));
	default:
		(void)device_side;
		return valid;
	}
}

static int errno_index(int r)
{
	size_t i;

	for (i = 0; i < KD_ARRAY_SIZE(errs); i++)
		if (-r == errs[i])
			return (int)i;
	return NERR - 1;
}

static bool allowed(int r, unsigned int nr, bool known, bool device_side)
{
	switch (-r) {
	case 0:
	case EINVAL:
	case ERANGE:
	case EFAULT:
	case EBUSY:
	case ENOENT:
	case EOPNOTSUPP:
	case ENOMEM:
		return true;
	case ENOTTY:
		return !known;
	case ETIMEDOUT:
		return known && nr == 0x04;
	case ENOSPC:
		return known && nr == 0x01;
	case EPERM:
		return device_side;
	default:
		return false;
	}
}

/* One call: its argument structure, command number and argument pointer. */
struct fuzz_call {
	union {
		struct ferry_version v;
		struct ferry_create_vaspace c;
		struct ferry_register_window w;
		struct ferry_migrate m;
		struct ferry_wait wt;
		struct ferry_attrs a;
		struct ferry_residency_query q;
		struct ferry_counters k;
		struct ferry_map_device_view d;
		uint8_t raw[256];
	} u;
	unsigned int nr;
	bool known;	/* nr is a command of the interface */
	bool exact_cmd; /* with its own size and direction */
	bool strict;	/* must succeed */
	bool valid_ptr; /* the argument pointer is ours and readable */
	unsigned long cmd;
	size_t size;
	uint8_t *ptr;
};

/* The fields of command c->nr's argument, plausible or not (Z->sane). */
static void gen_fields(struct fuzz_call *c, bool device_side)
{
	uint64_t timeout;
	unsigned int k;

	switch (c->nr) {
	case 0x00:
		c->u.v.reserved = (uint32_t)gen_reserved();
		c->u.v.reserved2 = gen_reserved();
		c->strict = !c->u.v.reserved && !c->u.v.reserved2;
		break;
	case 0x01:
		c->u.c.flags = (uint32_t)gen_reserved();
		c->u.c.reserved = (uint32_t)gen_reserved();
		c->u.c.device_memory = below(4) ? below(4) * KD_MIB(2) : rnd() >> below(64);
		break;
	case 0x02:
		c->u.w.base = below(3) ? (uintptr_t)Z->win2 : gen_addr();
		c->u.w.size = below(3) ? KD_MIB(2) * (1 + below(2)) : gen_size();
		c->u.w.flags = (uint32_t)gen_reserved();
		c->u.w.reserved = (uint32_t)gen_reserved();
		break;
	case 0x03:
		c->u.m.start = gen_addr();
		c->u.m.size = gen_size();
		c->u.m.target = below(8) ? 1 + (uint32_t)below(2) : gen_u32_small(3);
		k = (unsigned int)below(8);
		switch (Z->sane && k == 4 ? 5 : k) { /* plausible: no unknown flags */
		case 0:
			c->u.m.flags = FERRY_MIGRATE_DISCARD;
			break;
		case 1:
		case 2:
			c->u.m.flags = FERRY_MIGRATE_ASYNC;
			break;
		case 3:
			c->u.m.flags = FERRY_MIGRATE_ASYNC | FERRY_MIGRATE_DISCARD;
			break;
		case 4:
			c->u.m.flags = (uint32_t)rnd();
			break;
		default:
			c->u.m.flags = 0;
		}
		c->u.m.reserved = gen_reserved();
		break;
	case 0x04:
		c->u.wt.fence = gen_fence(&timeout);
		c->u.wt.timeout_ns = timeout;
		c->u.wt.reserved = (uint32_t)gen_reserved();
		break;
	case 0x05:
	case 0x06:
		c->u.a.start = gen_addr();
		c->u.a.size = gen_size();
		if (Z->sane)
			c->u.a.nattrs = 1 + (uint32_t)below(3);
		else
			c->u.a.nattrs = below(10) ? 1 + (uint32_t)below(FERRY_MAX_ATTRS)
						  : (below(2) ? (uint32_t)below(64) : (uint32_t)rnd());
		gen_attrs(c->u.a.nattrs);
		c->u.a.attrs = gen_inner((uintptr_t)Z->attrs, device_side);
		c->u.a.reserved = (uint32_t)gen_reserved();
		break;
	case 0x07:
		c->u.q.start = gen_addr();
		c->u.q.size = gen_size();
		c->u.q.out = below(6) ? gen_inner((uintptr_t)Z->res, device_side) : 0;
		c->u.q.reserved = gen_reserved();
		break;
	case 0x08:
		break;
	case 0x09:
		c->u.d.vaspace = below(2) ? Z->ctx.id : (below(2) ? Z->ctx.id + 1 : rnd());
		c->u.d.base = below(2) ? (uintptr_t)Z->ctx.base : gen_addr();
		c->u.d.size = below(2) ? WINDOW : gen_size();
		c->u.d.reserved = gen_reserved();
		break;
	}

	/* Plausible ranges end inside the window (start and size lead every range struct). */
	if (Z->sane && (c->nr == 0x03 || c->nr == 0x05 || c->nr == 0x06 || c->nr == 0x07)) {
		uint64_t *range = (uint64_t *)&c->u, end = (uintptr_t)Z->ctx.base + WINDOW;

		if (range[0] >= (uintptr_t)Z->ctx.base && range[0] < end &&
		    range[0] + range[1] > end)
			range[1] = end - range[0];
	}
}

/* Garble a known command: another direction, or another size. */
static void garble_cmd(struct fuzz_call *c)
{
	unsigned int dir = (unsigned int)below(4), sz;

	do {
		sz = below(2) ? (unsigned int)below(256) : (unsigned int)c->size + 8;
	} while (dir == _IOC_DIR(cmds[c->nr]) && sz == c->size);
	c->cmd = _IOC(dir, FERRY_IOCTL_BASE, c->nr, sz);
	c->size = sz;
	c->strict = false;
}

/* Where the argument structure lives, by @where (0..99). */
static void place_arg(struct fuzz_call *c, int where)
{
	if (where < 70) {
		c->ptr = Z->args + 8 * below((KD_PAGE - 256) / 8);
		memcpy(c->ptr, &c->u, c->size);
		c->valid_ptr = true;
	} else if (where < 74) {
		c->ptr = NULL;
	} else if (where < 78) {
		c->ptr = (uint8_t *)(uintptr_t)below(65536);
	} else if (where < 82) {
		c->ptr = (uint8_t *)(uintptr_t)(0xffff888000000000ULL + below(1 << 20) * 8);
	} else if (where < 86) {
		c->ptr = (uint8_t *)(uintptr_t)(rnd() & 0x7ffffffff000ULL);
	} else if (where < 90) {
		c->ptr = Z->ro;
	} else if (where < 94) {
		c->ptr = Z->edge + KD_PAGE - c->size / 2;
		memcpy(c->ptr, &c->u, c->size / 2);
	} else {
		/* Inside the window: host view on the host, device view on the device. */
		c->ptr = (uint8_t *)Z->ctx.base + 8 * below(KD_MIB(5) / 8 - 64);
	}
	if (!c->valid_ptr)
		c->strict = false;
}

/* Count the result, report an undocumented one, remember an issued fence. */
static void judge(const struct fuzz_call *c, int r, bool main_fd, bool device_side)
{
	Z->stats[c->known ? c->nr : NCMD][errno_index(r)]++;
	if (!allowed(r, c->nr, c->known && c->exact_cmd, device_side) ||
	    (c->strict && c->exact_cmd && r)) {
		Z->violations++;
		fprintf(stderr, "kd_fuzz: %s returned %s\n", Z->last, kd_errname(r));
	}
	if (!r && main_fd && c->valid_ptr && c->nr == 0x03 && c->exact_cmd &&
	    (c->u.m.flags & FERRY_MIGRATE_ASYNC)) {
		const struct ferry_migrate *m = (const struct ferry_migrate *)c->ptr;

		Z->fences[Z->nfences++ % KD_ARRAY_SIZE(Z->fences)] = m->fence;
		if (Z->nfences > KD_ARRAY_SIZE(Z->fences))
			Z->nfences = KD_ARRAY_SIZE(Z->fences);
	}
}

/* One call on @fd (@main_fd: the VA space with the window, not the second opener). */
static void fuzz_one(int fd, bool main_fd, bool device_side)
{
	struct fuzz_call c;
	int r, where;

	memset(&c, 0, sizeof(c));
	Z->sane = below(2);
	c.nr = Z->sane || below(20) ? (unsigned int)below(NCMD) : 10 + (unsigned int)below(246);
	c.known = c.nr < NCMD;
	c.exact_cmd = c.known && (Z->sane || below(100) >= 12);
	where = Z->sane ? (below(10) ? 0 : 95) : (int)below(100);
	c.size = c.known ? _IOC_SIZE(cmds[c.nr]) : 8 * below(32);
	if (!Z->sane && !below(20))
		for (r = 0; r < (int)sizeof(c.u.raw); r++)
			c.u.raw[r] = (uint8_t)rnd();
	gen_fields(&c, device_side);
	if (c.nr == 0x08)
		c.strict = main_fd;
	c.cmd = c.known ? cmds[c.nr] : _IOWR(FERRY_IOCTL_BASE, c.nr, char[8]);
	if (c.known && !c.exact_cmd)
		garble_cmd(&c);
	if (c.size > 256)
		c.size = 256;
	place_arg(&c, where);

	snprintf(Z->last, sizeof(Z->last),
		 "%s call: cmd %#lx (nr %#x, %s), arg %p, fields %016" PRIx64 " %016" PRIx64
		 " %016" PRIx64 " %016" PRIx64,
		 device_side ? "device" : "host", c.cmd, c.nr, c.exact_cmd ? "exact" : "garbled",
		 (void *)c.ptr, ((uint64_t *)&c.u)[0], ((uint64_t *)&c.u)[1],
		 ((uint64_t *)&c.u)[2], ((uint64_t *)&c.u)[3]);
	r = ioctl(fd, c.cmd, c.ptr) ? -errno : 0;
	atomic_fetch_add(&Z->progress, 1);
	judge(&c, r, main_fd, device_side);
}

/* A second opener, sometimes with a VA space and a window (maybe overlapping). */
static void reopen_second(void)
{
	if (Z->fd2 >= 0)
		close(Z->fd2);
	Z->fd2 = kd_open_node();
	if (Z->fd2 < 0 || below(4) == 0)
		return;
	if (kd_create_vaspace(Z->fd2, below(2) ? KD_MIB(2) * below(3) : rnd() >> below(64), NULL))
		return;
	switch (below(3)) {
	case 0:
		kd_register_window(Z->fd2, Z->win2, KD_MIB(4));
		break;
	case 1:
		kd_register_window(Z->fd2, Z->ctx.base + KD_MIB(6), KD_MIB(2));
		break;
	default:
		break;
	}
}

static void *watchdog(void *arg)
{
	unsigned long seen = ~0UL;
	int still = 0;

	(void)arg;
	for (;;) {
		unsigned long now;

		sleep(1);
		now = atomic_load(&Z->progress);
		still = now == seen && atomic_load(&Z->watching) ? still + 1 : 0;
		seen = now;
		if (still == 120) {
			fprintf(stderr, "kd_fuzz: no progress for 120 s; last %s\n", Z->last);
			fflush(stderr);
			_exit(3);
		}
	}
	return NULL;
}

static void print_stats(struct fuzz *z, const char *title);

/* KD_OP_CUSTOM in the device server: req->len calls from the device process. */
static int device_fuzz(struct kd_ctx *ctx, const struct kd_req *req, struct kd_rep *rep)
{
	uint64_t i;

	Z->rng = req->seed;
	Z->violations = 0;
	for (i = 0; i < req->len; i++)
		fuzz_one(ctx->fd, true, true);
	print_stats(Z, "device calls");
	fflush(stdout);
	rep->value = Z->violations;
	return 0;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *e = getenv(name);

	return e && *e ? strtoull(e, NULL, 0) : def;
}

static int setup(void **state)
{
	static struct fuzz z;
	void *p;

	memset(&z, 0, sizeof(z));
	Z = &z;
	z.fd2 = -1;
	if (kd_prepare(&z.ctx, WINDOW, CAPACITY, 0) || kd_host_setup(&z.ctx))
		return -1;
	z.ctx.custom = device_fuzz;
	/* Buffers, before the fork so that the device process has them too. */
	z.args =
		mmap(NULL, 2 * KD_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	z.ro = mmap(NULL, KD_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	z.edge =
		mmap(NULL, 2 * KD_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	z.res = mmap(NULL, WINDOW / KD_PAGE + KD_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	z.attrs =
		mmap(NULL, 2 * KD_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (z.args == MAP_FAILED || z.ro == MAP_FAILED || z.edge == MAP_FAILED ||
	    z.res == MAP_FAILED || z.attrs == MAP_FAILED)
		return -1;
	mprotect(z.edge + KD_PAGE, KD_PAGE, PROT_NONE);
	mprotect(z.res + WINDOW / KD_PAGE, KD_PAGE, PROT_NONE);
	mprotect((char *)z.attrs + KD_PAGE, KD_PAGE, PROT_NONE);
	z.win2 = kd_reserve(KD_MIB(4));
	if (!z.win2 || kd_map_anon(z.win2, KD_MIB(4), false))
		return -1;
	if (kd_server_spawn(&z.ctx))
		return -1;

	/* The window: anonymous with a pattern, then shmem, an mlocked part, a hole. */
	kd_fill_pattern(z.ctx.base, WINDOW, 1);
	p = mmap(z.ctx.base + KD_MIB(5), KD_KIB(256), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0x11, KD_KIB(256));
	if (mlock(z.ctx.base + KD_MIB(5) + KD_KIB(512), KD_KIB(256)))
		return -1;
	if (munmap(z.ctx.base + KD_MIB(6) - KD_BLOCK, KD_BLOCK))
		return -1;
	*state = &z;
	return 0;
}

static int teardown(void **state)
{
	struct fuzz *z = *state;

	if (z->fd2 >= 0)
		close(z->fd2);
	munlock(z->ctx.base + KD_MIB(5) + KD_KIB(512), KD_KIB(256));
	kd_server_stop(&z->ctx);
	kd_teardown(&z->ctx);
	munmap(z->win2, KD_MIB(4));
	return 0;
}

static void print_stats(struct fuzz *z, const char *title)
{
	static const char *const names[NCMD + 1] = {
		"VERSION",  "CREATE_VASPACE",  "REGISTER_WINDOW", "MIGRATE",
		"WAIT",	    "SET_ATTR",	       "GET_ATTR",	  "RESIDENCY",
		"COUNTERS", "MAP_DEVICE_VIEW", "unknown"};
	unsigned int i, j;

	print_message("%-16s", title);
	for (j = 0; j < NERR; j++)
		print_message(" %8s", j < KD_ARRAY_SIZE(errs) ? kd_errname(-errs[j]) : "other");
	print_message("\n");
	for (i = 0; i <= NCMD; i++) {
		print_message("%-16s", names[i]);
		for (j = 0; j < NERR; j++)
			print_message(" %8lu", z->stats[i][j]);
		print_message("\n");
	}
}

static void fuzz(void **state)
{
	struct fuzz *z = *state;
	uint64_t n = env_u64("FERRY_KD_FUZZ_N", 20000);
	uint64_t seed = env_u64("FERRY_KD_FUZZ_SEED", 0x5eed), i;
	struct kd_req req = {.op = KD_OP_CUSTOM, .len = n / 10, .seed = seed ^ 0xdeface};
	struct ferry_counters c;
	struct kd_rep rep;
	pthread_t wd;
	int r;

	print_message("kd_fuzz: %" PRIu64 " host calls, %" PRIu64 " device calls, seed %#" PRIx64
		      "\n",
		      n, n / 10, seed);
	atomic_store(&z->watching, true);
	assert_int_equal(pthread_create(&wd, NULL, watchdog, NULL), 0);
	pthread_detach(wd);
	z->rng = seed;
	for (i = 0; i < n; i++) {
		if (i % 1000 == 0)
			reopen_second();
		if (z->fd2 >= 0 && below(5) == 0)
			fuzz_one(z->fd2, false, false);
		else
			fuzz_one(z->ctx.fd, true, false);
	}
	atomic_store(&z->watching, false);
	print_stats(z, "host calls");
	if (z->violations)
		fail_msg("%lu host calls returned what they must not (see above)", z->violations);

	/* From the device process. */
	r = kd_dev_cmd(&z->ctx, &req, &rep);
	if (r)
		fail_msg("device-side fuzzing: %s", kd_dev_strerror(&z->ctx, r));
	if (rep.value)
		fail_msg("%" PRIu64 " device-process calls returned what they must not", rep.value);

	/* The VA space still works exactly. */
	if (z->fd2 >= 0)
		close(z->fd2);
	z->fd2 = -1;
	kd_assert_ok(kd_set_attr(z->ctx.fd, z->ctx.base, WINDOW, FERRY_ATTR_BLOCK_SIZE,
				 FERRY_DEFAULT_BLOCK_SIZE));
	kd_assert_ok(kd_set_attr(z->ctx.fd, z->ctx.base, WINDOW, FERRY_ATTR_ACCESSED_BY, 0));
	kd_assert_ok(kd_set_attr(z->ctx.fd, z->ctx.base, WINDOW, FERRY_ATTR_READ_MOSTLY, 0));
	kd_assert_ok(kd_set_attr(z->ctx.fd, z->ctx.base, WINDOW, FERRY_ATTR_PREFERRED_LOC, 0));
	kd_fill_pattern(z->ctx.base, KD_MIB(2), 2);
	kd_assert_ok(kd_migrate(z->ctx.fd, z->ctx.base, KD_MIB(2), FERRY_LOC_DEVICE, 0, NULL));
	kd_assert_residency(z->ctx.fd, z->ctx.base, KD_MIB(2), FERRY_RES_DEVICE);
	kd_assert_dev_check(&z->ctx, z->ctx.base, KD_MIB(2), 2);
	kd_assert_ok(kd_migrate(z->ctx.fd, z->ctx.base, KD_MIB(1), FERRY_LOC_HOST, 0, NULL));
	kd_assert_host_check(z->ctx.base, KD_MIB(2), 2);
	kd_assert_dev(&z->ctx, kd_dev_pattern(&z->ctx, z->ctx.base + KD_MIB(2), KD_MIB(2), 3));
	kd_assert_host_check(z->ctx.base + KD_MIB(2), KD_MIB(2), 3);
	kd_assert_ok(kd_counters(z->ctx.fd, &c));
	assert_true(c.device_resident_pages <= CAPACITY / KD_PAGE);
	assert_true(c.device_peak_pages <= CAPACITY / KD_PAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(fuzz, setup, teardown),
	};

	return cmocka_run_group_tests_name("kd_fuzz", tests, NULL, NULL);
}
