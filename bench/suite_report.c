/* SPDX-License-Identifier: MIT */
/*
 * suite_report.c - ferry-bench-suite's output: the table row of each result
 * as it comes, the summary of time ratios, and the JSON (--json) that
 * tools/plot-bench.py reads.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "suite.h"

void suite_print_header(void)
{
	printf("\n%-8s %5s %6s  %-8s %10s %9s %-7s %7s %9s %9s %8s %8s %6s  %s\n", "workload",
	       "size", "MiB", "variant", "time ms", "rate", "unit", "xPoCL", "H2D MiB", "D2H MiB",
	       "flt-host", "flt-dev", "evict", "check");
	printf("%-8s %5s %6s  %-8s %10s %9s %-7s %7s %9s %9s %8s %8s %6s  %s\n", "--------",
	       "-----", "---", "-------", "-------", "----", "----", "-----", "-------", "-------",
	       "--------", "-------", "-----", "-----");
}

void suite_print_row(const struct result *x)
{
	const struct workload *w = suite_workloads[x->wl];
	char ratio[16] = "-", h2d[16] = "-", d2h[16] = "-", fh[24] = "-", fd[24] = "-",
	     ev[24] = "-";

	if (!isnan(x->ratio))
		snprintf(ratio, sizeof(ratio), "%.2f", x->ratio);
	if (x->var != VAR_POCL) {
		snprintf(h2d, sizeof(h2d), "%.1f", x->d.bytes_to_device / (double)MIB);
		snprintf(d2h, sizeof(d2h), "%.1f", x->d.bytes_to_host / (double)MIB);
		snprintf(fh, sizeof(fh), "%" PRIu64, (uint64_t)x->d.faults_host);
		snprintf(fd, sizeof(fd), "%" PRIu64, (uint64_t)x->d.faults_device);
		snprintf(ev, sizeof(ev), "%" PRIu64, (uint64_t)x->d.evictions);
	}
	printf("%-8s %4.1fx %6.1f  %-8s %10.2f %9.2f %-7s %7s %9s %9s %8s %8s %6s  %s\n", w->name,
	       x->factor, x->bytes / (double)MIB, suite_var_names[x->var], x->time_ns / 1e6,
	       x->rate, w->rate_unit, ratio, h2d, d2h, fh, fd, ev, x->ok ? "ok" : "FAILED");
	fflush(stdout);
}

void suite_print_summary(const struct result *res, size_t n)
{
	printf("\ntime relative to PoCL (explicit buffers on PoCL directly = 1.00; lower is "
	       "better)\n");
	printf("%-8s %5s", "workload", "size");
	for (int v = VAR_EXPLICIT; v < VAR_N; v++)
		printf(" %9s", suite_var_names[v]);
	printf("   %s\n", "PoCL ms");
	for (size_t i = 0; i < n; i++) {
		const struct result *x = &res[i];
		double cell[VAR_N];
		double pocl_ms = NAN;

		if (i > 0 && res[i - 1].wl == x->wl && res[i - 1].size_idx == x->size_idx)
			continue;
		for (int v = 0; v < VAR_N; v++)
			cell[v] = NAN;
		for (size_t j = i; j < n && res[j].wl == x->wl && res[j].size_idx == x->size_idx;
		     j++) {
			cell[res[j].var] = res[j].ratio;
			if (res[j].var == VAR_POCL)
				pocl_ms = res[j].time_ns / 1e6;
		}
		printf("%-8s %4.1fx", suite_workloads[x->wl]->name, x->factor);
		for (int v = VAR_EXPLICIT; v < VAR_N; v++)
			if (isnan(cell[v]))
				printf(" %9s", "-");
			else
				printf(" %9.2f", cell[v]);
		printf("   %.2f\n", pocl_ms);
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

void suite_write_json(const char *path, const struct suite_info *info, const struct result *res,
		      size_t n)
{
	FILE *f = fopen(path, "w");
	struct utsname u;
	char host[256] = "", date[64] = "";
	time_t now = time(NULL);

	if (!f)
		bench_fatal("cannot write %s: %s", path, strerror(errno));
	uname(&u);
	gethostname(host, sizeof(host) - 1);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "{\n  \"tool\": \"ferry-bench-suite\",\n  \"format\": 1,\n  \"date\": ");
	json_str(f, date);
	fprintf(f, ",\n  \"quick\": %s,\n  \"reps\": %u,\n", info->quick ? "true" : "false",
		info->reps);
	fprintf(f, "  \"timing\": \"wall time from host data ready to results in host memory; "
		   "host initialisation excluded; best of reps\",\n");
	fprintf(f, "  \"machine\": {\"hostname\": ");
	json_str(f, host);
	fprintf(f, ", \"kernel\": ");
	json_str(f, u.release);
	fprintf(f, ", \"cpus\": %ld, \"load_average_end\": ", sysconf(_SC_NPROCESSORS_ONLN));
	json_num(f, load_average());
	fprintf(f, ", \"pocl_platform\": ");
	json_str(f, info->pocl_version);
	fprintf(f, ", \"pocl_device\": ");
	json_str(f, info->pocl_device);
	fprintf(f, ", \"ferry_platform\": ");
	json_str(f, info->ferry_version);
	fprintf(f, ", \"backend\": ");
	json_str(f, getenv("FERRY_BACKEND") ? getenv("FERRY_BACKEND") : "auto");
	fprintf(f, "},\n  \"capacity_bytes\": %zu,\n  \"device_global_mem_size\": %zu,\n",
		info->capacity, info->device_mem);
	fprintf(f, "  \"migration_block_bytes\": %zu,\n  \"total_seconds\": %.3f,\n", info->block,
		info->total_s);
	fprintf(f, "  \"failures\": %d,\n  \"results\": [\n", bench_failures);
	for (size_t i = 0; i < n; i++) {
		const struct result *x = &res[i];
		const struct workload *w = suite_workloads[x->wl];
		int ferry = x->var != VAR_POCL;

		fprintf(f, "    {\"workload\": \"%s\", \"size_factor\": %.2f, \"bytes\": %zu, ",
			w->name, x->factor, x->bytes);
		fprintf(f, "\"shape\": ");
		json_str(f, x->desc);
		fprintf(f,
			", \"variant\": \"%s\", \"platform\": \"%s\", \"time_ns\": %" PRIu64 ", ",
			suite_var_names[x->var], ferry ? "Ferry" : "PoCL", x->time_ns);
		fprintf(f, "\"rate\": ");
		json_num(f, x->rate);
		fprintf(f, ", \"rate_unit\": \"%s\", \"ratio_to_pocl\": ", w->rate_unit);
		json_num(f, x->ratio);
		if (ferry)
			fprintf(f,
				", \"bytes_h2d\": %" PRIu64 ", \"bytes_d2h\": %" PRIu64
				", \"faults_host\": %" PRIu64 ", \"faults_device\": %" PRIu64
				", \"evictions\": %" PRIu64 ", \"pages_evicted\": %" PRIu64
				", \"pages_prefetched\": %" PRIu64 ", \"thrashing\": %" PRIu64
				", \"thrashing_pins\": %" PRIu64 ", \"fault_ns\": %" PRIu64
				", \"migrate_ns\": %" PRIu64,
				(uint64_t)x->d.bytes_to_device, (uint64_t)x->d.bytes_to_host,
				(uint64_t)x->d.faults_host, (uint64_t)x->d.faults_device,
				(uint64_t)x->d.evictions, (uint64_t)x->d.pages_evicted,
				(uint64_t)x->d.pages_prefetched, (uint64_t)x->d.thrashing,
				(uint64_t)x->d.thrashing_pins, (uint64_t)x->d.fault_ns,
				(uint64_t)x->d.migrate_ns);
		else
			fprintf(f, ", \"bytes_h2d\": null, \"bytes_d2h\": null, \"faults_host\": "
				   "null, \"faults_device\": null, \"evictions\": null");
		fprintf(f, ", \"checked\": true, \"correct\": %s}%s\n", x->ok ? "true" : "false",
			i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f))
		bench_fatal("cannot write %s: %s", path, strerror(errno));
	printf("\nJSON: %s\n", path);
}
