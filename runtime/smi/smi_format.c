/* SPDX-License-Identifier: MIT */
/* smi_format.c - ferry-smi's output: a table for people, JSON for tools. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "smi/smi.h"

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
	C(thrashing_pins),
	C(thrashing_pinned),
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

void smi_print_json(const struct scan *s, bool pretty)
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
	       " pages), prefetched %" PRIu64 " pages\n",
	       (uint64_t)c->evictions, (uint64_t)c->pages_evicted, (uint64_t)c->pages_prefetched);
	printf("    thrashing  %" PRIu64 " returns, %" PRIu64 " pins, %" PRIu64
	       " regions pinned on the host now\n",
	       (uint64_t)c->thrashing, (uint64_t)c->thrashing_pins, (uint64_t)c->thrashing_pinned);
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

void smi_print_text(const struct scan *s)
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
