/* SPDX-License-Identifier: MIT */
/*
 * smi.h - ferry-smi's parts: smi.c (arguments, the main loop), smi_scan.c
 * (finding the statistics pages and asking for fresh snapshots) and
 * smi_format.c (text and JSON).
 */
#ifndef FERRY_SMI_H
#define FERRY_SMI_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "ferry/ferry_stats.h"

#define SHM_DIR "/dev/shm"
#define MODULE_MEMORY "/sys/kernel/debug/ferry/memory"
#define ANSWER_TIMEOUT_NS 1000000000ULL
#define JSON_SCHEMA_VERSION 1

struct options {
	int pid;	 /* 0: every process */
	bool json;	 /* one JSON document (JSON lines with --watch) */
	bool watch;	 /* refresh until smi_interrupted */
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

extern const char *smi_prog;		      /* for messages */
extern volatile sig_atomic_t smi_interrupted; /* SIGINT, SIGTERM, SIGHUP under --watch */

/*
 * smi_scan.c. smi_scan: find the live VA spaces (of o->pid, or all), ask
 * each for a fresh snapshot, wait up to ANSWER_TIMEOUT_NS for all of them
 * together, then copy them; 0 or -ENOMEM. smi_scan_free: release what it
 * found. smi_pid_alive: 1, 0 when no such process, -1 when unknown.
 */
int smi_scan(const struct options *o, struct scan *s);
void smi_scan_free(struct scan *s);
int smi_pid_alive(int pid);

/* smi_format.c: the scan as JSON (one document, or one line when !@pretty) or as text. */
void smi_print_json(const struct scan *s, bool pretty);
void smi_print_text(const struct scan *s);

#endif
