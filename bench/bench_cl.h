/* SPDX-License-Identifier: MIT */
/*
 * What the OpenCL benchmarks (ferry-bench-opencl, ferry-bench-suite) share:
 * OpenCL error names, a vendors directory holding exactly Ferry's and PoCL's
 * ICD files, and migration-counter deltas. The including file defines
 * BENCH_DIE as its fatal-error function (printf-like, does not return) and
 * BENCH_NAME as its program name before including this header.
 */
#ifndef FERRY_BENCH_CL_H
#define FERRY_BENCH_CL_H

#include <CL/cl.h>
#include <CL/cl_ext_ferry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(BENCH_DIE) || !defined(BENCH_NAME)
#error "define BENCH_DIE and BENCH_NAME before including bench_cl.h"
#endif

#define PLATFORM_FERRY "Ferry"
#define PLATFORM_POCL "Portable Computing Language"
#define POCL_ICD "/etc/OpenCL/vendors/pocl.icd"

static char g_icd_dir[PATH_MAX];
static char g_icd_file[2][PATH_MAX + 32];

static const char *cl_err_name(cl_int e)
{
	switch (e) {
#define E(x)                                                                                       \
	case x:                                                                                    \
		return #x
		E(CL_DEVICE_NOT_AVAILABLE);
		E(CL_OUT_OF_RESOURCES);
		E(CL_OUT_OF_HOST_MEMORY);
		E(CL_BUILD_PROGRAM_FAILURE);
		E(CL_MEM_OBJECT_ALLOCATION_FAILURE);
		E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
		E(CL_INVALID_VALUE);
		E(CL_INVALID_PLATFORM);
		E(CL_INVALID_DEVICE);
		E(CL_INVALID_CONTEXT);
		E(CL_INVALID_COMMAND_QUEUE);
		E(CL_INVALID_MEM_OBJECT);
		E(CL_INVALID_PROGRAM);
		E(CL_INVALID_PROGRAM_EXECUTABLE);
		E(CL_INVALID_KERNEL_NAME);
		E(CL_INVALID_KERNEL);
		E(CL_INVALID_ARG_INDEX);
		E(CL_INVALID_ARG_VALUE);
		E(CL_INVALID_ARG_SIZE);
		E(CL_INVALID_KERNEL_ARGS);
		E(CL_INVALID_WORK_DIMENSION);
		E(CL_INVALID_WORK_GROUP_SIZE);
		E(CL_INVALID_WORK_ITEM_SIZE);
		E(CL_INVALID_GLOBAL_OFFSET);
		E(CL_INVALID_EVENT_WAIT_LIST);
		E(CL_INVALID_EVENT);
		E(CL_INVALID_OPERATION);
		E(CL_INVALID_BUFFER_SIZE);
		E(CL_INVALID_GLOBAL_WORK_SIZE);
#undef E
	default:
		return "?";
	}
}

static void icd_cleanup(void)
{
	for (int i = 0; i < 2; i++)
		if (g_icd_file[i][0])
			unlink(g_icd_file[i]);
	if (g_icd_dir[0])
		rmdir(g_icd_dir);
	g_icd_file[0][0] = g_icd_file[1][0] = g_icd_dir[0] = 0;
}

/* ------------------------------------------------------- vendors directory */

static void copy_file(const char *src, const char *dst)
{
	char buf[4096];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		BENCH_DIE("cannot read %s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0)
		BENCH_DIE("cannot create %s: %s", dst, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			BENCH_DIE("cannot write %s: %s", dst, strerror(errno));
	if (n < 0)
		BENCH_DIE("cannot read %s: %s", src, strerror(errno));
	close(in);
	if (close(out))
		BENCH_DIE("cannot write %s: %s", dst, strerror(errno));
}

/*
 * A vendors directory with exactly Ferry and PoCL, made before any OpenCL
 * call (ocl-icd reads OCL_ICD_VENDORS once, at the first one): Ferry's ICD
 * file is FERRY_BENCH_ICD or the build tree's ferry.icd next to bench/.
 * Returns the path of Ferry's ICD file that was copied.
 */
static const char *setup_vendors(void)
{
	const char *ferry = getenv("FERRY_BENCH_ICD");
	const char *tmp = getenv("TMPDIR");
	static char def[PATH_MAX + 32];
	struct stat st;

	if (!ferry || !*ferry) {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *slash;

		if (n <= 0)
			BENCH_DIE("readlink /proc/self/exe: %s; set FERRY_BENCH_ICD",
				  strerror(errno));
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		/* <build>/bench/<benchmark> -> <build>/ferry.icd */
		snprintf(def, sizeof(def), "%s/../ferry.icd", exe);
		ferry = def;
	}
	if (stat(ferry, &st) != 0)
		BENCH_DIE("Ferry's ICD file %s: %s; set FERRY_BENCH_ICD to the build tree's "
			  "ferry.icd",
			  ferry, strerror(errno));
	if (stat(POCL_ICD, &st) != 0)
		BENCH_DIE("%s: %s; PoCL is the baseline (Debian: apt-get install pocl-opencl-icd)",
			  POCL_ICD, strerror(errno));
	snprintf(g_icd_dir, sizeof(g_icd_dir), "%s/" BENCH_NAME ".XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g_icd_dir)) {
		g_icd_dir[0] = 0;
		BENCH_DIE("mkdtemp: %s", strerror(errno));
	}
	atexit(icd_cleanup);
	snprintf(g_icd_file[0], sizeof(g_icd_file[0]), "%s/ferry.icd", g_icd_dir);
	copy_file(ferry, g_icd_file[0]);
	snprintf(g_icd_file[1], sizeof(g_icd_file[1]), "%s/pocl.icd", g_icd_dir);
	copy_file(POCL_ICD, g_icd_file[1]);
	if (setenv("OCL_ICD_VENDORS", g_icd_dir, 1))
		BENCH_DIE("setenv: %s", strerror(errno));
	return ferry;
}

/* c1 - c0, field by field (the fields that are running totals). */
static cl_svm_counters_ferry counters_delta(const cl_svm_counters_ferry *c0,
					    const cl_svm_counters_ferry *c1)
{
	cl_svm_counters_ferry d;

	memset(&d, 0, sizeof(d));
#define D(f) d.f = c1->f - c0->f
	D(faults_host);
	D(faults_device);
	D(pages_to_device);
	D(pages_to_host);
	D(bytes_to_device);
	D(bytes_to_host);
	D(pages_prefetched);
	D(evictions);
	D(pages_evicted);
	D(thrashing);
	D(fault_ns);
	D(migrate_ns);
#undef D
	d.device_resident_pages = c1->device_resident_pages;
	d.device_capacity_pages = c1->device_capacity_pages;
	return d;
}

#endif
