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
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smi/smi.h"

const char *smi_prog = "ferry-smi";
volatile sig_atomic_t smi_interrupted;

static void on_signal(int sig)
{
	(void)sig;
	smi_interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--pid PID] [--json] [--watch [SECONDS]] [-h]\n"
		"Show Ferry's device, its memory, the driver's counters and the residency of\n"
		"each managed allocation, for every process with an open Ferry VA space.\n"
		"  --pid PID          only that process\n"
		"  --json             one JSON document (with --watch: one document a line)\n"
		"  --watch [SECONDS]  refresh every SECONDS (default 1) until smi_interrupted\n"
		"  -h, --help         this text\n"
		"Exit status: 0; 1 when no Ferry process was found or none could be read;\n"
		"2 for bad arguments.\n",
		smi_prog);
}

static int bad_args(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", smi_prog);
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

/* Why nothing was shown, on stderr. */
static void explain_empty(const struct options *o, const struct scan *s)
{
	if (s->shm_missing) {
		fprintf(stderr, "%s: cannot read %s: %s\n", smi_prog, SHM_DIR,
			strerror(s->shm_errno));
	} else if (s->denied) {
		fprintf(stderr,
			"%s: no permission to open %s/%s%s: run as the process's user or as "
			"root\n",
			smi_prog, SHM_DIR, s->denied_name, s->denied > 1 ? " (and others)" : "");
	} else if (o->pid && smi_pid_alive(o->pid) == 0) {
		fprintf(stderr, "%s: no process with pid %d\n", smi_prog, o->pid);
	} else if (o->pid) {
		fprintf(stderr, "%s: process %d is not a Ferry process (no open VA space in %s)\n",
			smi_prog, o->pid, SHM_DIR);
	} else {
		fprintf(stderr, "%s: no Ferry process found (no %s/ferry-* of a live process)\n",
			smi_prog, SHM_DIR);
	}
	if (s->other_errno)
		fprintf(stderr, "%s: (a statistics page could not be read: %s)\n", smi_prog,
			s->other_errno == EPROTO ? "not a version-1 statistics page"
						 : strerror(s->other_errno));
}

static void sleep_interval(double sec)
{
	struct timespec ts = {.tv_sec = (time_t)sec,
			      .tv_nsec = (long)((sec - (double)(time_t)sec) * 1e9)};

	while (!smi_interrupted && nanosleep(&ts, &ts) && errno == EINTR)
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
		r = smi_scan(&o, &s);
		if (r) {
			fprintf(stderr, "%s: %s\n", smi_prog, strerror(-r));
			smi_scan_free(&s);
			return 1;
		}
		if (o.json) {
			smi_print_json(&s, !o.watch);
		} else {
			if (o.watch && tty)
				fputs("\033[H\033[2J", stdout);
			else if (o.watch)
				fputs("\n", stdout);
			if (s.n)
				smi_print_text(&s);
			else if (o.watch)
				printf("Ferry: no process\n");
		}
		fflush(stdout);
		if (!s.n && !o.watch) {
			explain_empty(&o, &s);
			status = 1;
		}
		smi_scan_free(&s);
		if (!o.watch || smi_interrupted)
			break;
		sleep_interval(o.interval);
		if (smi_interrupted)
			break;
	}
	return status;
}
