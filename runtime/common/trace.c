/* SPDX-License-Identifier: MIT */
/* FERRY_TRACE: the shared record buffer and the Chrome trace-event writer (see trace.h). */
#include "common/clock.h"
#include "common/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TRACE_MAGIC 0x4543415254595246ULL /* "FRYTRACE" */
#define TRACE_HEADER 4096
#define TRACE_DEFAULT_EVENTS (1u << 20) /* 128 MiB of records, allocated as used */
#define META_PROCESS 254
#define META_THREAD 255

struct trace_rec {
	uint32_t ready; /* set last: the record is complete */
	uint8_t cat;
	uint8_t pad[3];
	uint32_t pid;
	uint32_t tid;
	uint64_t ts;
	uint64_t dur;
	uint64_t a[4];
	char name[48];
	uint8_t pad2[16];
};
_Static_assert(sizeof(struct trace_rec) == 128, "trace record size");

struct trace_buf {
	uint64_t magic;
	uint64_t cap; /* records */
	uint64_t next;
	uint64_t dropped;
};

int ferry_trace_enabled;

static struct trace_buf *g_buf;
static struct trace_rec *g_recs;
static int g_fd = -1;
static char *g_path;  /* the host writes the file */
static pid_t g_owner; /* the process that does (not a child of its fork()) */
static int g_open;    /* VA spaces traced and not closed yet */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static struct trace_rec *reserve(uint8_t cat, const char *name)
{
	uint64_t i;
	struct trace_rec *r;

	if (!g_buf)
		return NULL;
	i = __atomic_fetch_add(&g_buf->next, 1, __ATOMIC_RELAXED);
	if (i >= g_buf->cap) {
		__atomic_fetch_add(&g_buf->dropped, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	r = &g_recs[i];
	r->cat = cat;
	r->pid = (uint32_t)getpid();
	/*
	 * No __thread cache: libferry is dlopen()ed, and LeakSanitizer (GCC 12)
	 * crashes scanning the dynamic TLS of such a library at exit.
	 */
	r->tid = (uint32_t)syscall(SYS_gettid);
	if (name) { /* truncated to the record's field */
		size_t n = strnlen(name, sizeof(r->name) - 1);

		memcpy(r->name, name, n);
		r->name[n] = 0;
	} else {
		r->name[0] = 0;
	}
	return r;
}

static void commit(struct trace_rec *r)
{
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
}

void ferry_trace_event(enum ferry_trace_cat cat, const char *name, uint64_t ts_ns, uint64_t dur_ns,
		       uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct trace_rec *r = reserve((uint8_t)cat, name);

	if (!r)
		return;
	r->ts = ts_ns;
	r->dur = dur_ns;
	r->a[0] = a0;
	r->a[1] = a1;
	r->a[2] = a2;
	r->a[3] = a3;
	commit(r);
}

static void meta(uint8_t kind, const char *name)
{
	struct trace_rec *r = reserve(kind, name);

	if (!r)
		return;
	r->ts = ferry_clock_ns();
	commit(r);
}

void ferry_trace_thread_name(const char *name)
{
	if (FERRY_TRACE_ON())
		meta(META_THREAD, name);
}

static int map_buf(int fd)
{
	void *p = mmap(NULL, TRACE_HEADER, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct trace_buf *b = p;
	uint64_t len;

	if (p == MAP_FAILED)
		return -errno;
	if (b->magic != TRACE_MAGIC || !b->cap) {
		munmap(p, TRACE_HEADER);
		return -EINVAL;
	}
	len = TRACE_HEADER + b->cap * sizeof(struct trace_rec);
	munmap(p, TRACE_HEADER);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	g_buf = p;
	g_recs = (struct trace_rec *)((char *)p + TRACE_HEADER);
	return 0;
}

/*
 * Process exit (or libferry unloaded) with VA spaces still open: the last
 * write of the file. Once every VA space is closed the file is complete
 * already, and is not written again (its owner may have moved or removed it).
 */
__attribute__((destructor)) static void trace_exit(void)
{
	if (g_path && getpid() == g_owner && __atomic_load_n(&g_open, __ATOMIC_ACQUIRE) > 0)
		ferry_trace_flush();
}

void ferry_trace_vaspace_closed(void)
{
	if (!g_path)
		return;
	__atomic_sub_fetch(&g_open, 1, __ATOMIC_ACQ_REL);
	ferry_trace_flush();
}

int ferry_trace_host_init(void)
{
	const char *path = getenv("FERRY_TRACE"), *ev = getenv("FERRY_TRACE_EVENTS");
	char pname[96];
	uint64_t cap = TRACE_DEFAULT_EVENTS;
	int fd, r;

	pthread_mutex_lock(&g_lock);
	if (g_fd >= 0 || !path || !*path) {
		r = g_fd >= 0 ? g_fd : -1;
		if (r >= 0)
			__atomic_add_fetch(&g_open, 1, __ATOMIC_ACQ_REL);
		pthread_mutex_unlock(&g_lock);
		return r;
	}
	if (ev && *ev) {
		char *end;
		unsigned long long v = strtoull(ev, &end, 0);

		if (*end || v < 16 || v > (1ULL << 26)) {
			fprintf(stderr,
				"ferry: FERRY_TRACE_EVENTS=%s: expected a number of events "
				"from 16 to %llu; using %u\n",
				ev, 1ULL << 26, TRACE_DEFAULT_EVENTS);
		} else {
			cap = v;
		}
	}
	fd = memfd_create("ferry-trace", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(TRACE_HEADER + cap * sizeof(struct trace_rec)))) {
		r = -errno;
		goto fail;
	}
	{
		struct trace_buf b = {.magic = TRACE_MAGIC, .cap = cap};

		if (pwrite(fd, &b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
			r = -EIO;
			goto fail;
		}
	}
	r = map_buf(fd);
	if (r)
		goto fail;
	g_path = strdup(path);
	if (!g_path) {
		r = -ENOMEM;
		goto fail;
	}
	g_fd = fd;
	g_owner = getpid();
	__atomic_store_n(&g_open, 1, __ATOMIC_RELEASE);
	/* the file exists (and is valid) from now on: an unwritable path fails here */
	pthread_mutex_unlock(&g_lock);
	ferry_trace_enabled = 1;
	snprintf(pname, sizeof(pname), "%s (libferry)", program_invocation_short_name);
	meta(META_PROCESS, pname);
	r = ferry_trace_flush();
	if (r) {
		fprintf(stderr, "ferry: FERRY_TRACE=%s: cannot write the trace: %s\n", path,
			strerror(-r));
		ferry_trace_enabled = 0;
		pthread_mutex_lock(&g_lock);
		free(g_path);
		g_path = NULL;
		goto fail;
	}
	return fd;
fail:
	if (g_buf)
		munmap(g_buf, TRACE_HEADER + g_buf->cap * sizeof(struct trace_rec));
	g_buf = NULL;
	g_recs = NULL;
	g_fd = -1;
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&g_lock);
	return r;
}

int ferry_trace_device_init(int fd)
{
	char pname[64];
	int r = map_buf(fd);

	if (r)
		return r;
	g_fd = fd;
	ferry_trace_enabled = 1;
	snprintf(pname, sizeof(pname), "ferry-device %d", (int)getpid());
	meta(META_PROCESS, pname);
	return 0;
}

/* ---- the writer ---- */

static const char *const cat_names[FERRY_TR_NCAT] = {
	"kernel", "copy", "prefetch", "migration", "fault", "eviction", "command", "thrashing",
};

static const char *const cause_names[] = {"prefetch", "fault", "eviction", "advice"};

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c); /* names are ASCII; anything else stays valid */
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_args(FILE *f, const struct trace_rec *r)
{
	const uint64_t *a = r->a;

	switch (r->cat) {
	case FERRY_TR_KERNEL:
		fprintf(f, "{\"work_items\":%" PRIu64 ",\"work_dim\":%" PRIu64 "}", a[0], a[1]);
		break;
	case FERRY_TR_COPY:
		fprintf(f, "{\"addr\":\"0x%" PRIx64 "\",\"bytes\":%" PRIu64 "}", a[0], a[1]);
		break;
	case FERRY_TR_PREFETCH:
		fprintf(f,
			"{\"addr\":\"0x%" PRIx64 "\",\"bytes\":%" PRIu64
			",\"target\":\"%s\",\"flags\":%" PRIu64 "}",
			a[0], a[1], a[2] ? "device" : "host", a[3]);
		break;
	case FERRY_TR_MIGRATION:
		fprintf(f,
			"{\"addr\":\"0x%" PRIx64 "\",\"pages\":%" PRIu64 ",\"bytes\":%" PRIu64
			",\"cause\":\"%s\"}",
			a[0], a[1], a[1] * 4096,
			a[2] < sizeof(cause_names) / sizeof(*cause_names) ? cause_names[a[2]]
									  : "?");
		break;
	case FERRY_TR_FAULT:
		fprintf(f,
			"{\"faults\":%" PRIu64 ",\"host_faults\":%" PRIu64
			",\"device_faults\":%" PRIu64 ",\"blocks\":%" PRIu64 "}",
			a[0], a[1], a[2], a[3]);
		break;
	case FERRY_TR_EVICTION:
		fprintf(f,
			"{\"addr\":\"0x%" PRIx64 "\",\"pages\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			a[0], a[1], a[1] * 4096);
		break;
	case FERRY_TR_THRASHING:
		fprintf(f, "{\"addr\":\"0x%" PRIx64 "\",\"pages\":%" PRIu64 ",\"action\":\"%s\"}",
			a[0], a[1], a[2] ? "release" : "pin");
		break;
	case FERRY_TR_COMMAND:
		fprintf(f, "{\"command_type\":\"0x%" PRIx64 "\",\"status\":%" PRId64 "}", a[0],
			(int64_t)a[1]);
		break;
	default:
		fputs("{}", f);
	}
}

static void put_rec(FILE *f, const struct trace_rec *r)
{
	if (r->cat == META_PROCESS || r->cat == META_THREAD) {
		fprintf(f,
			"{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
			r->cat == META_PROCESS ? "process_name" : "thread_name", r->pid, r->tid);
		put_string(f, r->name);
		fputs("}}", f);
		return;
	}
	if (r->cat >= FERRY_TR_NCAT)
		return;
	fputs("{\"ph\":\"X\",\"name\":", f);
	put_string(f, r->name);
	fprintf(f,
		",\"cat\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":%" PRIu64 ".%03u,\"dur\":%" PRIu64
		".%03u,\"args\":",
		cat_names[r->cat], r->pid, r->tid, r->ts / 1000, (unsigned)(r->ts % 1000),
		r->dur / 1000, (unsigned)(r->dur % 1000));
	put_args(f, r);
	fputc('}', f);
}

int ferry_trace_flush(void)
{
	uint64_t n, written = 0, dropped;
	char *tmp;
	FILE *f;
	int r = 0;

	pthread_mutex_lock(&g_lock);
	if (!g_path || !g_buf) {
		pthread_mutex_unlock(&g_lock);
		return 0;
	}
	if (asprintf(&tmp, "%s.tmp.%d", g_path, (int)getpid()) < 0) {
		pthread_mutex_unlock(&g_lock);
		return -ENOMEM;
	}
	f = fopen(tmp, "w");
	if (!f) {
		r = -errno;
		goto out;
	}
	n = __atomic_load_n(&g_buf->next, __ATOMIC_ACQUIRE);
	if (n > g_buf->cap)
		n = g_buf->cap;
	dropped = __atomic_load_n(&g_buf->dropped, __ATOMIC_RELAXED);
	fputs("{\"traceEvents\":[\n", f);
	for (uint64_t i = 0; i < n; i++) {
		const struct trace_rec *rec = &g_recs[i];

		if (!__atomic_load_n(&rec->ready, __ATOMIC_ACQUIRE))
			continue; /* still being written: the next flush has it */
		if (rec->cat >= FERRY_TR_NCAT && rec->cat != META_PROCESS &&
		    rec->cat != META_THREAD)
			continue;
		if (written++)
			fputs(",\n", f);
		put_rec(f, rec);
	}
	fprintf(f,
		"\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"ferry\","
		"\"clock\":\"CLOCK_MONOTONIC\",\"events\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"capacity\":%" PRIu64 "}}\n",
		written, dropped, g_buf->cap);
	if (fflush(f) || ferror(f))
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, g_path))
		r = -errno;
	if (r)
		unlink(tmp);
out:
	free(tmp);
	pthread_mutex_unlock(&g_lock);
	return r;
}
