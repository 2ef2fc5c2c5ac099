/* SPDX-License-Identifier: MIT */
/*
 * ferry_stats.h - the shared statistics page that every open VA space
 * publishes for ferry-smi.
 *
 * libferry creates one POSIX shared-memory object per VA space (ferry_open),
 * named "/ferry-<pid>-<n>" (so /dev/shm/ferry-<pid>-<n>), mode 0600, and
 * unlinks it in ferry_close. A thread of that process answers requests: a
 * reader bumps @request (a futex word; FUTEX_WAKE it), the thread takes a
 * snapshot through the normal driver path (counters, and the residency of
 * every live allocation), publishes it under the seqlock @seq and then sets
 * @answered to the request it served (and FUTEX_WAKEs it). Idle, the thread
 * sleeps on @request with no timeout.
 *
 * Rules:
 *  - all fields are fixed width and naturally aligned; a layout change bumps
 *    FERRY_STATS_VERSION (readers refuse other versions);
 *  - libferry writes every field except @request and never reads any field
 *    back except @request, so a reader cannot confuse it;
 *  - snapshot: read @seq (acquire), retry while it is odd, copy @snap, fence
 *    (acquire), read @seq again: the copy is consistent when both equal;
 *  - requests and answers compare as wrapping 32-bit counters:
 *    (int32_t)(answered - request) >= 0 means "served";
 *  - @closed is set once ferry_close started: no further answers.
 *
 * Not inherited by fork(): the page is MADV_DONTFORK (as is the window) and
 * the answering thread does not exist in a child.
 */
#ifndef FERRY_STATS_H
#define FERRY_STATS_H

#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/ferry_uapi.h"

#define FERRY_STATS_MAGIC 0x54534d46u /* "FMST" */
#define FERRY_STATS_VERSION 1
/* shm_open() name prefix: "/ferry-<pid>-<n>", /dev/shm/ferry-<pid>-<n> */
#define FERRY_STATS_SHM_PREFIX "ferry-"
/* Allocations listed per snapshot; more are counted in total_allocs only. */
#define FERRY_STATS_MAX_ALLOCS 1024

#define FERRY_STATS_KIND_MANAGED 1
#define FERRY_STATS_KIND_COHERENT 2 /* fine-grained: the coherent region */

/* One live allocation and where its pages are (enum ferry_residency). */
struct ferry_stats_alloc {
	__u64 base;
	__u64 size;	/* bytes, whole pages */
	__u32 kind;	/* FERRY_STATS_KIND_* */
	__s32 status;	/* 0, or the residency query's negative errno */
	__u64 pages[4]; /* pages per enum ferry_residency */
};

struct ferry_stats_snapshot {
	__u64 timestamp_ns;	     /* CLOCK_MONOTONIC when the snapshot was taken */
	__u32 request;		     /* the request it answered (0: published at open) */
	__s32 status;		     /* 0, or the first negative errno met while taking it */
	__u32 device_alive;	     /* 1 while ferry-device is alive */
	__u32 nallocs;		     /* entries used in allocs[] */
	__u64 total_allocs;	     /* live allocations (> nallocs: the list was truncated) */
	__u64 device_resident_bytes; /* counters.device_resident_pages in bytes */
	struct ferry_counters counters;
	struct ferry_stats_alloc allocs[FERRY_STATS_MAX_ALLOCS];
};

struct ferry_stats_page {
	__u32 magic;	       /* FERRY_STATS_MAGIC */
	__u32 version;	       /* FERRY_STATS_VERSION */
	__u32 size;	       /* sizeof(struct ferry_stats_page) */
	__s32 pid;	       /* the process that opened the VA space */
	__u64 pid_start;       /* its start time (/proc/<pid>/stat field 22), 0 unknown */
	__s32 device_pid;      /* ferry-device */
	__u32 backend;	       /* FERRY_BACKEND_KERNEL or FERRY_BACKEND_USER */
	__u64 vaspace;	       /* kernel backend: ferry.ko's VA space id, else 0 */
	__u64 window_base;     /* the SVM window */
	__u64 window_size;     /* bytes, coherent region included */
	__u64 coherent_size;   /* the coherent region at the window's top */
	__u64 device_capacity; /* device memory, bytes */
	__u64 block_size;      /* migration block at open, bytes */
	__u32 request;	       /* futex: bumped by readers */
	__u32 answered;	       /* futex: the last request served */
	__u32 seq;	       /* seqlock of @snap: odd while it is written */
	__u32 closed;	       /* 1 once the VA space is closing */
	struct ferry_stats_snapshot snap;
};

/*
 * What pid_start holds: field 22 of /proc/<pid>/stat (the process's start
 * time in clock ticks since boot), 0 when unknown. A page whose pid is alive
 * with another start time belongs to a dead process whose pid was reused.
 */
static inline __u64 ferry_stats_pid_start(int pid)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
#ifdef O_CLOEXEC /* strict ISO C builds do not see it */
	fd = open(path, O_RDONLY | O_CLOEXEC);
#else
	fd = open(path, O_RDONLY);
#endif
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	errno = 0;
	v = strtoull(p + 1, &end, 10);
	return errno || end == p + 1 ? 0 : v;
}

#endif /* FERRY_STATS_H */
