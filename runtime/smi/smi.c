/* SPDX-License-Identifier: MIT */
/*
 * ferry-smi - show every Ferry VA space on this machine: its device, device
 * memory in use against the capacity, the driver's counters and where the
 * pages of each allocation are, on either backend.
 *
 * Each VA space publishes a statistics page, /dev/shm/ferry-<pid>-<n>
 * (include/ferry/ferry_stats.h). ferry-smi bumps its request word, waits up to
 * a second for the owning process to publish a fresh snapshot, and otherwise
 * shows the last one with its age (a stopped process cannot answer). With
 * ferry.ko loaded, the module's device-wide memory comes from
 * /sys/kernel/debug/ferry/memory when that is readable.
 *
 * Exit status: 0; 1 when no Ferry process was found (or none could be read);
 * 2 for bad arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/futex.h"
#include "ferry/ferry_stats.h"

#define SHM_DIR "/dev/shm"
#define MODULE_MEMORY "/sys/kernel/debug/ferry/memory"
#define ANSWER_TIMEOUT_NS 1000000000ULL
#define JSON_SCHEMA_VERSION 1

static const char *prog = "ferry-smi";

struct options {
	int pid;	 /* 0: every process */
	bool json;	 /* one JSON document (JSON lines with --watch) */
	bool watch;	 /* refresh until interrupted */
	double interval; /* --watch seconds */
};

/* One VA space: a copy of its page, taken under the seqlock. */
struct vas {
	char name[NAME_MAX + 1]; /* file name under SHM_DIR */
	int pid;
	unsigned int index;
	struct ferry_stats_page *map; /* the shared page, while open */
	struct ferry_stats_page *copy;
	bool writable;	 /* could ask for a fresh snapshot */
	uint32_t req;	 /* the request sent */
	bool answered;	 /* a fresh snapshot arrived */
	bool consistent; /* the copy is not torn */
	bool closing;	 /* ferry_close started meanwhile */
	char comm[64];
};

struct module_memory {
	bool present;
	uint64_t capacity_pages, chunk_pages, free_pages, used_pages;
};

struct scan {
	struct vas *v;
	size_t n;
	int denied; /* pages we were not allowed to open */
	char denied_name[NAME_MAX + 1];
	int other_errno;  /* first other error opening a page */
	bool shm_missing; /* SHM_DIR could not be read */
	int shm_errno;
	struct module_memory mod;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--pid PID] [--json] [--watch [SECONDS]] [-h]\n"
		"Show Ferry's device, its memory, the driver's counters and the residency of\n"
		"each managed allocation, for every process with an open Ferry VA space.\n"
		"  --pid PID          only that process\n"
		"  --json             one JSON document (with --watch: one document a line)\n"
		"  --watch [SECONDS]  refresh every SECONDS (default 1) until interrupted\n"
		"  -h, --help         this text\n"
		"Exit status: 0; 1 when no Ferry process was found or none could be read;\n"
		"2 for bad arguments.\n",
		prog);
}

static int bad_args(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

/* A positive decimal pid, strictly. */
static bool parse_pid(const char *s, int *pid)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return false;
	*pid = (int)v;
	return true;
}

static bool parse_seconds(const char *s, double *sec)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.1 && v <= 86400.0))
		return false;
	*sec = v;
	return true;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->interval = 1.0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--pid") == 0 || strncmp(a, "--pid=", 6) == 0) {
			const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v)
				return bad_args("--pid needs a process id");
			if (!parse_pid(v, &o->pid))
				return bad_args("--pid %s: not a process id", v);
		} else if (strcmp(a, "--watch") == 0 || strncmp(a, "--watch=", 8) == 0) {
			o->watch = true;
			if (a[7] == '=') {
				if (!parse_seconds(a + 8, &o->interval))
					return bad_args(
						"--watch %s: expected seconds (0.1 to 86400)",
						a + 8);
			} else if (i + 1 < argc && argv[i + 1][0] != '-') {
				if (!parse_seconds(argv[i + 1], &o->interval))
					return bad_args(
						"--watch %s: expected seconds (0.1 to 86400)",
						argv[i + 1]);
				i++;
			}
		} else {
			return bad_args("unknown argument '%s'", a);
		}
	}
	return 0;
}

static void read_comm(int pid, char *out, size_t room)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, room - 1);
	close(fd);
	if (n < 0)
		n = 0;
	out[n] = '\0';
	if (n && out[n - 1] == '\n')
		out[n - 1] = '\0';
}

/* 1 alive, 0 gone, -1 unknown (no permission to ask: treat as alive). */
static int pid_alive(int pid)
{
	if (kill(pid, 0) == 0)
		return 1;
	return errno == ESRCH ? 0 : -1;
}

/* "ferry-<pid>-<n>", strictly. */
static bool parse_name(const char *name, int *pid, unsigned int *index)
{
	const char *p = name + strlen(FERRY_STATS_SHM_PREFIX);
	char *end;
	unsigned long a, b;

	if (strncmp(name, FERRY_STATS_SHM_PREFIX, strlen(FERRY_STATS_SHM_PREFIX)) != 0)
		return false;
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	a = strtoul(p, &end, 10);
	if (errno || *end != '-' || a == 0 || a > INT_MAX)
		return false;
	p = end + 1;
	if (*p < '0' || *p > '9')
		return false;
	b = strtoul(p, &end, 10);
	if (errno || *end || b > UINT_MAX)
		return false;
	*pid = (int)a;
	*index = (unsigned int)b;
	return true;
}

static void read_module_memory(struct module_memory *m)
{
	char key[64];
	unsigned long long v;
	FILE *f = fopen(MODULE_MEMORY, "re");

	memset(m, 0, sizeof(*m));
	if (!f)
		return;
	while (fscanf(f, "%63s %llu", key, &v) == 2) {
		m->present = true;
		if (strcmp(key, "capacity_pages") == 0)
			m->capacity_pages = v;
		else if (strcmp(key, "chunk_pages") == 0)
			m->chunk_pages = v;
		else if (strcmp(key, "free_pages") == 0)
			m->free_pages = v;
		else if (strcmp(key, "used_pages") == 0)
			m->used_pages = v;
	}
	fclose(f);
}

/* Open and check one page; 0, or -errno (-EPROTO: not a page we understand). */
static int open_page(struct vas *v)
{
	char path[sizeof(SHM_DIR) + NAME_MAX + 2];
	struct ferry_stats_page *p;
	struct stat st;
	int fd, prot = PROT_READ | PROT_WRITE;

	snprintf(path, sizeof(path), SHM_DIR "/%s", v->name);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && (errno == EACCES || errno == EROFS)) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		prot = PROT_READ;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < sizeof(struct ferry_stats_page)) {
		close(fd);
		return -EPROTO;
	}
	p = mmap(NULL, sizeof(*p), prot, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	if (__atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) != FERRY_STATS_MAGIC ||
	    p->version != FERRY_STATS_VERSION || p->size != sizeof(*p) || p->pid != v->pid) {
		munmap(p, sizeof(*p));
		return -EPROTO;
	}
	v->map = p;
	v->writable = prot & PROT_WRITE;
	return 0;
}

/* Copy the page, the snapshot under its seqlock; false if it stayed torn. */
static bool copy_page(struct vas *v)
{
	struct ferry_stats_page *p = v->map;

	memcpy(v->copy, p, offsetof(struct ferry_stats_page, snap));
	/* a writer stopped in the middle leaves it odd: give up after ~100 ms */
	for (int i = 0; i < 1000; i++) {
		uint32_t s1 = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1) {
			if (i < 100)
				sched_yield();
			else
				usleep(100);
			continue;
		}
		memcpy(&v->copy->snap, &p->snap, sizeof(p->snap));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&p->seq, __ATOMIC_RELAXED);
		if (s1 == s2) {
			if (v->copy->snap.nallocs > FERRY_STATS_MAX_ALLOCS)
				v->copy->snap.nallocs = FERRY_STATS_MAX_ALLOCS;
			return true;
		}
	}
	return false;
}

static int by_pid(const void *a, const void *b)
{
	const struct vas *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].map)
			munmap(s->v[i].map, sizeof(*s->v[i].map));
		free(s->v[i].copy);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/*
 * Find the live VA spaces (of @pid, or all), ask each for a fresh snapshot,
 * wait up to ANSWER_TIMEOUT_NS for all of them together, then copy them.
 */
static int scan(const struct options *o, struct scan *s)
{
	DIR *d;
	struct dirent *e;
	size_t room = 0;
	uint64_t deadline;

	memset(s, 0, sizeof(*s));
	read_module_memory(&s->mod);
	d = opendir(SHM_DIR);
	if (!d) {
		s->shm_missing = true;
		s->shm_errno = errno;
		return 0;
	}
	while ((e = readdir(d))) {
		bool stale = false;
		struct vas v;
		int r;

		memset(&v, 0, sizeof(v));
		if (!parse_name(e->d_name, &v.pid, &v.index))
			continue;
		if (o->pid && v.pid != o->pid)
			continue;
		if (pid_alive(v.pid) == 0)
			continue; /* left by a process that died without ferry_close */
		snprintf(v.name, sizeof(v.name), "%s", e->d_name);
		r = open_page(&v);
		if (r == -EACCES || r == -EPERM) {
			if (!s->denied++)
				snprintf(s->denied_name, sizeof(s->denied_name), "%s", v.name);
			continue;
		}
		if (r == -ENOENT)
			continue; /* closed meanwhile */
		if (r) {
			if (!s->other_errno)
				s->other_errno = -r;
			continue;
		}
		/* the pid was reused since that process died */
		if (v.map->pid_start) {
			uint64_t t = ferry_stats_pid_start(v.pid);

			stale = t && t != v.map->pid_start;
		}
		if (stale) {
			munmap(v.map, sizeof(*v.map));
			continue;
		}
		if (__atomic_load_n(&v.map->closed, __ATOMIC_ACQUIRE)) {
			munmap(v.map, sizeof(*v.map));
			continue;
		}
		v.copy = malloc(sizeof(*v.copy));
		if (!v.copy) {
			munmap(v.map, sizeof(*v.map));
			closedir(d);
			return -ENOMEM;
		}
		if (s->n == room) {
			struct vas *nv;

			room = room ? 2 * room : 8;
			nv = realloc(s->v, room * sizeof(*nv));
			if (!nv) {
				munmap(v.map, sizeof(*v.map));
				free(v.copy);
				closedir(d);
				return -ENOMEM;
			}
			s->v = nv;
		}
		read_comm(v.pid, v.comm, sizeof(v.comm));
		s->v[s->n++] = v;
	}
	closedir(d);
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), by_pid);

	for (size_t i = 0; i < s->n; i++) {
		struct vas *v = &s->v[i];

		if (!v->writable)
			continue;
		v->req = __atomic_add_fetch(&v->map->request, 1, __ATOMIC_ACQ_REL);
		ferry_futex_wake(&v->map->request);
	}
	deadline = ferry_clock_ns() + ANSWER_TIMEOUT_NS;
	for (size_t i = 0; i < s->n; i++) {
		struct vas *v = &s->v[i];

		while (v->writable) {
			uint32_t a = __atomic_load_n(&v->map->answered, __ATOMIC_ACQUIRE);
			uint64_t now = ferry_clock_ns();

			if ((int32_t)(a - v->req) >= 0) {
				v->answered = true;
				break;
			}
			if (__atomic_load_n(&v->map->closed, __ATOMIC_ACQUIRE)) {
				v->closing = true;
				break;
			}
			if (now >= deadline || interrupted)
				break;
			ferry_futex_wait(&v->map->answered, a, deadline - now);
		}
		v->consistent = copy_page(v);
	}
	/* VA spaces closed while we asked are gone: drop them */
	size_t kept = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (!s->v[i].closing) {
			s->v[kept++] = s->v[i];
			continue;
		}
		munmap(s->v[i].map, sizeof(*s->v[i].map));
		free(s->v[i].copy);
	}
	s->n = kept;
	return 0;
}

/* ---- formatting ---------------------------------------------------------- */

static const struct {
	const char *name;
	size_t off;
} counter_fields[] = {
#define C(f)                                                                                       \
	{                                                                                          \
#f, offsetof(struct ferry_counters, f)                                             \
	}
	C(faults_host),
	C(faults_device),
	C(fault_batches),
	C(pages_to_device),
	C(pages_to_host),
	C(bytes_to_device),
	C(bytes_to_host),
	C(zero_fill_host),
	C(zero_fill_device),
	C(evictions),
	C(pages_evicted),
	C(pages_prefetched),
	C(thrashing),
	C(fault_ns),
	C(migrate_ns),
	C(device_resident_pages),
	C(device_capacity_pages),
	C(device_peak_pages),
	C(device_cached_pages),
	C(whole_regions),
#undef C
};

static uint64_t counter(const struct ferry_counters *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *backend_name(uint32_t b)
{
	return b == FERRY_BACKEND_KERNEL ? "kernel" : b == FERRY_BACKEND_USER ? "user" : "unknown";
}

static const char *kind_name(uint32_t k)
{
	return k == FERRY_STATS_KIND_COHERENT  ? "coherent"
	       : k == FERRY_STATS_KIND_MANAGED ? "managed"
					       : "unknown";
}

/* The snapshot's problem in words, or NULL. */
static const char *snapshot_error(const struct vas *v, char *buf, size_t room)
{
	const struct ferry_stats_snapshot *sn = &v->copy->snap;

	if (!v->consistent)
		return "the snapshot was being written and the process stopped";
	if (sn->status) {
		snprintf(buf, room, "%s", strerror(sn->status < 0 ? -sn->status : sn->status));
		return buf;
	}
	if (!sn->device_alive)
		return "the device process is gone";
	return NULL;
}

/* JSON writer: pretty (indented) or one line. */
struct jw {
	FILE *f;
	bool pretty;
	int depth;
	bool first[16];
};

static void jw_sep(struct jw *w, const char *key)
{
	if (w->depth > 0 && !w->first[w->depth])
		fputc(',', w->f);
	if (w->depth > 0)
		w->first[w->depth] = false;
	if (w->pretty && w->depth > 0)
		fprintf(w->f, "\n%*s", 2 * w->depth, "");
	if (key)
		fprintf(w->f, w->pretty ? "\"%s\": " : "\"%s\":", key);
}

static void jw_open(struct jw *w, const char *key, char c)
{
	jw_sep(w, key);
	fputc(c, w->f);
	w->depth++;
	w->first[w->depth] = true;
}

static void jw_close(struct jw *w, char c)
{
	bool empty = w->first[w->depth];

	w->depth--;
	if (w->pretty && !empty)
		fprintf(w->f, "\n%*s", 2 * w->depth, "");
	fputc(c, w->f);
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	jw_sep(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

static void jw_i64(struct jw *w, const char *key, int64_t v)
{
	jw_sep(w, key);
	fprintf(w->f, "%" PRId64, v);
}

static void jw_pct(struct jw *w, const char *key, double v)
{
	jw_sep(w, key);
	fprintf(w->f, "%.2f", v);
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
	jw_sep(w, key);
	fputs(v ? "true" : "false", w->f);
}

/* A string; NULL prints null. Bytes outside printable ASCII are escaped or replaced. */
static void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_sep(w, key);
	if (!s) {
		fputs("null", w->f);
		return;
	}
	fputc('"', w->f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(w->f, "\\%c", c);
		else if (c < 0x20)
			fprintf(w->f, "\\u%04x", c);
		else if (c >= 0x7f)
			fputc('?', w->f);
		else
			fputc(c, w->f);
	}
	fputc('"', w->f);
}

static void json_vas(struct jw *w, const struct vas *v, uint64_t now)
{
	const struct ferry_stats_page *p = v->copy;
	const struct ferry_stats_snapshot *sn = &p->snap;
	char path[sizeof(SHM_DIR) + NAME_MAX + 2], err[128];
	const char *e = snapshot_error(v, err, sizeof(err));

	snprintf(path, sizeof(path), SHM_DIR "/%s", v->name);
	jw_open(w, NULL, '{');
	jw_u64(w, "index", v->index);
	jw_str(w, "stats_page", path);
	jw_str(w, "backend", backend_name(p->backend));
	jw_u64(w, "vaspace_id", p->vaspace);
	jw_i64(w, "device_pid", p->device_pid);
	jw_bool(w, "device_alive", sn->device_alive != 0);
	jw_u64(w, "window_base", p->window_base);
	jw_u64(w, "window_size", p->window_size);
	jw_u64(w, "coherent_size", p->coherent_size);
	jw_u64(w, "block_size", p->block_size);
	jw_u64(w, "device_capacity_bytes", p->device_capacity);
	jw_u64(w, "device_used_bytes", sn->device_resident_bytes);
	jw_pct(w, "device_used_percent", percent(sn->device_resident_bytes, p->device_capacity));
	jw_u64(w, "device_peak_bytes", sn->counters.device_peak_pages * FERRY_PAGE_SIZE);
	jw_u64(w, "device_cached_bytes", sn->counters.device_cached_pages * FERRY_PAGE_SIZE);
	jw_open(w, "snapshot", '{');
	jw_bool(w, "fresh", v->answered);
	jw_u64(w, "age_ms",
	       sn->timestamp_ns && now > sn->timestamp_ns ? (now - sn->timestamp_ns) / 1000000 : 0);
	jw_u64(w, "request", sn->request);
	jw_i64(w, "status", sn->status);
	jw_str(w, "error", e);
	jw_close(w, '}');
	jw_open(w, "counters", '{');
	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++)
		jw_u64(w, counter_fields[i].name, counter(&sn->counters, counter_fields[i].off));
	jw_close(w, '}');
	jw_u64(w, "allocations_total", sn->total_allocs);
	jw_bool(w, "allocations_truncated", sn->total_allocs > sn->nallocs);
	jw_open(w, "allocations", '[');
	for (uint32_t i = 0; i < sn->nallocs; i++) {
		const struct ferry_stats_alloc *a = &sn->allocs[i];
		uint64_t pages = a->size / FERRY_PAGE_SIZE;

		jw_open(w, NULL, '{');
		jw_u64(w, "base", a->base);
		jw_u64(w, "size", a->size);
		jw_str(w, "kind", kind_name(a->kind));
		jw_u64(w, "pages", pages);
		jw_u64(w, "untouched", a->pages[FERRY_RES_UNTOUCHED]);
		jw_u64(w, "host", a->pages[FERRY_RES_HOST]);
		jw_u64(w, "device", a->pages[FERRY_RES_DEVICE]);
		jw_u64(w, "duplicated", a->pages[FERRY_RES_DUPLICATED]);
		jw_pct(w, "untouched_percent", percent(a->pages[FERRY_RES_UNTOUCHED], pages));
		jw_pct(w, "host_percent", percent(a->pages[FERRY_RES_HOST], pages));
		jw_pct(w, "device_percent", percent(a->pages[FERRY_RES_DEVICE], pages));
		jw_pct(w, "duplicated_percent", percent(a->pages[FERRY_RES_DUPLICATED], pages));
		jw_i64(w, "status", a->status);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	jw_close(w, '}');
}

static void print_json(const struct scan *s, bool pretty)
{
	struct jw w = {.f = stdout, .pretty = pretty};
	uint64_t now = ferry_clock_ns();

	jw_open(&w, NULL, '{');
	jw_u64(&w, "version", JSON_SCHEMA_VERSION);
	jw_u64(&w, "timestamp_ns", now);
	if (s->mod.present) {
		jw_open(&w, "module", '{');
		jw_u64(&w, "capacity_pages", s->mod.capacity_pages);
		jw_u64(&w, "chunk_pages", s->mod.chunk_pages);
		jw_u64(&w, "free_pages", s->mod.free_pages);
		jw_u64(&w, "used_pages", s->mod.used_pages);
		jw_close(&w, '}');
	} else {
		jw_str(&w, "module", NULL);
	}
	jw_open(&w, "processes", '[');
	for (size_t i = 0; i < s->n;) {
		size_t j = i;

		jw_open(&w, NULL, '{');
		jw_i64(&w, "pid", s->v[i].pid);
		jw_str(&w, "command", s->v[i].comm);
		jw_open(&w, "vaspaces", '[');
		for (; j < s->n && s->v[j].pid == s->v[i].pid; j++)
			json_vas(&w, &s->v[j], now);
		jw_close(&w, ']');
		jw_close(&w, '}');
		i = j;
	}
	jw_close(&w, ']');
	jw_close(&w, '}');
	fputc('\n', stdout);
}

/* "1.5 GiB" */
static const char *human(uint64_t bytes, char *buf, size_t room)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, room, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, room, "%.1f %s", v, unit[u]);
	return buf;
}

static void text_vas(const struct vas *v, uint64_t now)
{
	const struct ferry_stats_page *p = v->copy;
	const struct ferry_stats_snapshot *sn = &p->snap;
	const struct ferry_counters *c = &sn->counters;
	char b1[32], b2[32], b3[32], b4[32], err[128];
	const char *e = snapshot_error(v, err, sizeof(err));
	uint64_t age = sn->timestamp_ns && now > sn->timestamp_ns ? now - sn->timestamp_ns : 0;

	printf("  VA space %u: backend %s", v->index, backend_name(p->backend));
	if (p->backend == FERRY_BACKEND_KERNEL)
		printf(" (ferry.ko VA space %" PRIu64 ")", (uint64_t)p->vaspace);
	printf(", device pid %d (%s)\n", p->device_pid, sn->device_alive ? "alive" : "gone");
	if (v->answered)
		printf("    snapshot   fresh\n");
	else if (sn->timestamp_ns)
		printf("    snapshot   %.1f s old (the process did not answer%s)\n",
		       (double)age / 1e9, v->writable ? "" : ": no write access to its page");
	else
		printf("    snapshot   none yet\n");
	if (e)
		printf("    error      %s\n", e);
	printf("    window     0x%" PRIx64 " + %s (coherent %s), block %s\n",
	       (uint64_t)p->window_base, human(p->window_size, b1, sizeof(b1)),
	       human(p->coherent_size, b2, sizeof(b2)), human(p->block_size, b3, sizeof(b3)));
	printf("    device     %s of %s in use (%.1f %%), peak %s, cached %s\n",
	       human(sn->device_resident_bytes, b1, sizeof(b1)),
	       human(p->device_capacity, b2, sizeof(b2)),
	       percent(sn->device_resident_bytes, p->device_capacity),
	       human(c->device_peak_pages * FERRY_PAGE_SIZE, b3, sizeof(b3)),
	       human(c->device_cached_pages * FERRY_PAGE_SIZE, b4, sizeof(b4)));
	printf("    faults     host %" PRIu64 ", device %" PRIu64 ", batches %" PRIu64
	       ", time %.3f ms\n",
	       (uint64_t)c->faults_host, (uint64_t)c->faults_device, (uint64_t)c->fault_batches,
	       (double)(uint64_t)c->fault_ns / 1e6);
	printf("    to device  %" PRIu64 " pages (%s), to host %" PRIu64 " pages (%s), "
	       "migrations %.3f ms\n",
	       (uint64_t)c->pages_to_device, human(c->bytes_to_device, b1, sizeof(b1)),
	       (uint64_t)c->pages_to_host, human(c->bytes_to_host, b2, sizeof(b2)),
	       (double)(uint64_t)c->migrate_ns / 1e6);
	printf("    zero-fill  host %" PRIu64 ", device %" PRIu64 " pages\n",
	       (uint64_t)c->zero_fill_host, (uint64_t)c->zero_fill_device);
	printf("    evictions  %" PRIu64 " regions of 2 MiB (%" PRIu64
	       " pages), prefetched %" PRIu64 " pages, thrashing %" PRIu64 "\n",
	       (uint64_t)c->evictions, (uint64_t)c->pages_evicted, (uint64_t)c->pages_prefetched,
	       (uint64_t)c->thrashing);
	printf("    allocations %" PRIu64 "%s\n", (uint64_t)sn->total_allocs,
	       (uint64_t)sn->total_allocs > sn->nallocs ? " (the most recent listed)" : "");
	if (!sn->nallocs)
		return;
	printf("      %-18s %10s %-8s %16s %16s %16s %16s\n", "base", "size", "kind", "device",
	       "host", "untouched", "duplicated");
	for (uint32_t i = 0; i < sn->nallocs; i++) {
		const struct ferry_stats_alloc *a = &sn->allocs[i];
		uint64_t pages = a->size / FERRY_PAGE_SIZE;
		char col[4][32];
		static const int order[4] = {FERRY_RES_DEVICE, FERRY_RES_HOST, FERRY_RES_UNTOUCHED,
					     FERRY_RES_DUPLICATED};

		for (int k = 0; k < 4; k++)
			snprintf(col[k], sizeof(col[k]), "%" PRIu64 " (%.1f%%)",
				 (uint64_t)a->pages[order[k]], percent(a->pages[order[k]], pages));
		printf("      0x%-16" PRIx64 " %10s %-8s %16s %16s %16s %16s\n", (uint64_t)a->base,
		       human(a->size, b1, sizeof(b1)), kind_name(a->kind), col[0], col[1], col[2],
		       col[3]);
	}
}

static void print_text(const struct scan *s)
{
	uint64_t now = ferry_clock_ns();
	size_t nproc = 0;

	for (size_t i = 0; i < s->n; i++)
		nproc += i == 0 || s->v[i].pid != s->v[i - 1].pid;
	printf("Ferry: %zu process%s, %zu VA space%s\n", nproc, nproc == 1 ? "" : "es", s->n,
	       s->n == 1 ? "" : "s");
	if (s->mod.present) {
		char b1[32], b2[32];

		printf("ferry.ko device memory: %s of %s in use (%.1f %%), %" PRIu64
		       " pages allocated in chunks, %" PRIu64 " free\n",
		       human(s->mod.used_pages * FERRY_PAGE_SIZE, b1, sizeof(b1)),
		       human(s->mod.capacity_pages * FERRY_PAGE_SIZE, b2, sizeof(b2)),
		       percent(s->mod.used_pages, s->mod.capacity_pages), s->mod.chunk_pages,
		       s->mod.free_pages);
	}
	for (size_t i = 0; i < s->n; i++) {
		if (i == 0 || s->v[i].pid != s->v[i - 1].pid)
			printf("\nPID %d (%s)\n", s->v[i].pid,
			       s->v[i].comm[0] ? s->v[i].comm : "?");
		text_vas(&s->v[i], now);
	}
}

/* Why nothing was shown, on stderr. */
static void explain_empty(const struct options *o, const struct scan *s)
{
	if (s->shm_missing) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, SHM_DIR, strerror(s->shm_errno));
	} else if (s->denied) {
		fprintf(stderr,
			"%s: no permission to open %s/%s%s: run as the process's user or as "
			"root\n",
			prog, SHM_DIR, s->denied_name, s->denied > 1 ? " (and others)" : "");
	} else if (o->pid && pid_alive(o->pid) == 0) {
		fprintf(stderr, "%s: no process with pid %d\n", prog, o->pid);
	} else if (o->pid) {
		fprintf(stderr, "%s: process %d is not a Ferry process (no open VA space in %s)\n",
			prog, o->pid, SHM_DIR);
	} else {
		fprintf(stderr, "%s: no Ferry process found (no %s/ferry-* of a live process)\n",
			prog, SHM_DIR);
	}
	if (s->other_errno)
		fprintf(stderr, "%s: (a statistics page could not be read: %s)\n", prog,
			s->other_errno == EPROTO ? "not a version-1 statistics page"
						 : strerror(s->other_errno));
}

static void sleep_interval(double sec)
{
	struct timespec ts = {.tv_sec = (time_t)sec,
			      .tv_nsec = (long)((sec - (double)(time_t)sec) * 1e9)};

	while (!interrupted && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct options o;
	struct scan s;
	int r, status = 0;
	bool tty = isatty(STDOUT_FILENO);

	r = parse_args(argc, argv, &o);
	if (r)
		return r;
	if (o.watch) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	signal(SIGPIPE, SIG_DFL);
	for (;;) {
		r = scan(&o, &s);
		if (r) {
			fprintf(stderr, "%s: %s\n", prog, strerror(-r));
			scan_free(&s);
			return 1;
		}
		if (o.json) {
			print_json(&s, !o.watch);
		} else {
			if (o.watch && tty)
				fputs("\033[H\033[2J", stdout);
			else if (o.watch)
				fputs("\n", stdout);
			if (s.n)
				print_text(&s);
			else if (o.watch)
				printf("Ferry: no process\n");
		}
		fflush(stdout);
		if (!s.n && !o.watch) {
			explain_empty(&o, &s);
			status = 1;
		}
		scan_free(&s);
		if (!o.watch || interrupted)
			break;
		sleep_interval(o.interval);
		if (interrupted)
			break;
	}
	return status;
}
