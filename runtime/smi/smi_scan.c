/* SPDX-License-Identifier: MIT */
/*
 * smi_scan.c - ferry-smi's view of the machine: the statistics pages in
 * /dev/shm of live processes, each asked for a fresh snapshot, and ferry.ko's
 * device memory from debugfs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/futex.h"
#include "smi/smi.h"

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
int smi_pid_alive(int pid)
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

void smi_scan_free(struct scan *s)
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
 * The page @name (of o->pid, or any) into @s, if it belongs to a live VA
 * space: 0 (added or passed over) or -ENOMEM.
 */
static int add_page(const struct options *o, struct scan *s, const char *name, size_t *room)
{
	bool stale = false;
	struct vas v;
	int r;

	memset(&v, 0, sizeof(v));
	if (!parse_name(name, &v.pid, &v.index))
		return 0;
	if (o->pid && v.pid != o->pid)
		return 0;
	if (smi_pid_alive(v.pid) == 0)
		return 0; /* left by a process that died without ferry_close */
	snprintf(v.name, sizeof(v.name), "%s", name);
	r = open_page(&v);
	if (r == -EACCES || r == -EPERM) {
		if (!s->denied++)
			snprintf(s->denied_name, sizeof(s->denied_name), "%s", v.name);
		return 0;
	}
	if (r == -ENOENT)
		return 0; /* closed meanwhile */
	if (r) {
		if (!s->other_errno)
			s->other_errno = -r;
		return 0;
	}
	/* the pid was reused since that process died */
	if (v.map->pid_start) {
		uint64_t t = ferry_stats_pid_start(v.pid);

		stale = t && t != v.map->pid_start;
	}
	if (stale || __atomic_load_n(&v.map->closed, __ATOMIC_ACQUIRE)) {
		munmap(v.map, sizeof(*v.map));
		return 0;
	}
	v.copy = malloc(sizeof(*v.copy));
	if (!v.copy) {
		munmap(v.map, sizeof(*v.map));
		return -ENOMEM;
	}
	if (s->n == *room) {
		struct vas *nv;

		*room = *room ? 2 * *room : 8;
		nv = realloc(s->v, *room * sizeof(*nv));
		if (!nv) {
			munmap(v.map, sizeof(*v.map));
			free(v.copy);
			return -ENOMEM;
		}
		s->v = nv;
	}
	read_comm(v.pid, v.comm, sizeof(v.comm));
	s->v[s->n++] = v;
	return 0;
}

/*
 * Ask every VA space found for a fresh snapshot, wait up to
 * ANSWER_TIMEOUT_NS for all of them together, copy them, and drop the ones
 * closed meanwhile.
 */
static void ask_fresh(struct scan *s)
{
	uint64_t deadline;
	size_t kept = 0;

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
			if (now >= deadline || smi_interrupted)
				break;
			ferry_futex_wait(&v->map->answered, a, deadline - now);
		}
		v->consistent = copy_page(v);
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!s->v[i].closing) {
			s->v[kept++] = s->v[i];
			continue;
		}
		munmap(s->v[i].map, sizeof(*s->v[i].map));
		free(s->v[i].copy);
	}
	s->n = kept;
}

int smi_scan(const struct options *o, struct scan *s)
{
	struct dirent *e;
	size_t room = 0;
	DIR *d;

	memset(s, 0, sizeof(*s));
	read_module_memory(&s->mod);
	d = opendir(SHM_DIR);
	if (!d) {
		s->shm_missing = true;
		s->shm_errno = errno;
		return 0;
	}
	while ((e = readdir(d))) {
		if (add_page(o, s, e->d_name, &room)) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), by_pid);
	ask_fresh(s);
	return 0;
}
