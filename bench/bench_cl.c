/* SPDX-License-Identifier: MIT */
/*
 * bench_cl.c - what the OpenCL benchmarks (ferry-bench-opencl,
 * ferry-bench-suite) share (bench_cl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_cl.h"

char bench_icd_dir[PATH_MAX];
static char icd_file[2][PATH_MAX + 32];

const char *cl_err_name(cl_int e)
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

void icd_cleanup(void)
{
	for (int i = 0; i < 2; i++)
		if (icd_file[i][0])
			unlink(icd_file[i]);
	if (bench_icd_dir[0])
		rmdir(bench_icd_dir);
	icd_file[0][0] = icd_file[1][0] = bench_icd_dir[0] = 0;
}

/* ------------------------------------------------------- vendors directory */

static void copy_file(const char *src, const char *dst)
{
	char buf[4096];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		bench_fatal("cannot read %s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0)
		bench_fatal("cannot create %s: %s", dst, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			bench_fatal("cannot write %s: %s", dst, strerror(errno));
	if (n < 0)
		bench_fatal("cannot read %s: %s", src, strerror(errno));
	close(in);
	if (close(out))
		bench_fatal("cannot write %s: %s", dst, strerror(errno));
}

const char *setup_vendors(void)
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
			bench_fatal("readlink /proc/self/exe: %s; set FERRY_BENCH_ICD",
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
		bench_fatal("Ferry's ICD file %s: %s; set FERRY_BENCH_ICD to the build tree's "
			    "ferry.icd",
			    ferry, strerror(errno));
	if (stat(POCL_ICD, &st) != 0)
		bench_fatal(
			"%s: %s; PoCL is the baseline (Debian: apt-get install pocl-opencl-icd)",
			POCL_ICD, strerror(errno));
	snprintf(bench_icd_dir, sizeof(bench_icd_dir), "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
		 bench_prog);
	if (!mkdtemp(bench_icd_dir)) {
		bench_icd_dir[0] = 0;
		bench_fatal("mkdtemp: %s", strerror(errno));
	}
	atexit(icd_cleanup);
	snprintf(icd_file[0], sizeof(icd_file[0]), "%s/ferry.icd", bench_icd_dir);
	copy_file(ferry, icd_file[0]);
	snprintf(icd_file[1], sizeof(icd_file[1]), "%s/pocl.icd", bench_icd_dir);
	copy_file(POCL_ICD, icd_file[1]);
	if (setenv("OCL_ICD_VENDORS", bench_icd_dir, 1))
		bench_fatal("setenv: %s", strerror(errno));
	return ferry;
}

cl_svm_counters_ferry counters_delta(const cl_svm_counters_ferry *c0,
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
	D(thrashing_pins);
	D(fault_ns);
	D(migrate_ns);
#undef D
	d.device_resident_pages = c1->device_resident_pages;
	d.device_capacity_pages = c1->device_capacity_pages;
	return d;
}

/* ---------------------------------------------------------------- platforms */

void find_platforms(cl_platform_id *ferry, cl_platform_id *pocl)
{
	cl_platform_id ids[16], fid = NULL, pid = NULL;
	cl_uint n = 0;
	cl_int err = clGetPlatformIDs(16, ids, &n);

	if (err != CL_SUCCESS || n == 0)
		bench_fatal("clGetPlatformIDs = %d (%s): no platform in %s", err, cl_err_name(err),
			    bench_icd_dir);
	if (n > 16)
		n = 16;
	for (cl_uint i = 0; i < n; i++) {
		char name[256] = "";

		CK(clGetPlatformInfo(ids[i], CL_PLATFORM_NAME, sizeof(name), name, NULL));
		if (!strcmp(name, PLATFORM_FERRY))
			fid = ids[i];
		else if (!strcmp(name, PLATFORM_POCL))
			pid = ids[i];
	}
	/* The loader has read the vendors directory: it is no longer needed. */
	icd_cleanup();
	if (!fid)
		bench_fatal("no \"%s\" platform: is FERRY_BENCH_ICD the build tree's ferry.icd?",
			    PLATFORM_FERRY);
	if (!pid)
		bench_fatal("no \"%s\" platform: is pocl-opencl-icd installed?", PLATFORM_POCL);
	*ferry = fid;
	*pocl = pid;
}

void open_context(const char *label, cl_device_id dev, cl_device_svm_capabilities svm,
		  cl_context *ctx, cl_command_queue *q)
{
	cl_int err;

	if (!(svm & CL_DEVICE_SVM_COARSE_GRAIN_BUFFER))
		bench_fatal("%s: the device has no coarse-grained SVM", label);
	*ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
	if (!*ctx)
		bench_fatal("%s: clCreateContext = %d (%s)", label, err, cl_err_name(err));
	*q = clCreateCommandQueueWithProperties(*ctx, dev, NULL, &err);
	if (!*q)
		bench_fatal("%s: clCreateCommandQueueWithProperties = %d (%s)", label, err,
			    cl_err_name(err));
}

cl_program build_program(const char *label, const char *what, cl_context ctx, cl_device_id dev,
			 const char *src, const char *options)
{
	char w[96] = "";
	cl_program prog;
	cl_int err;

	if (what)
		snprintf(w, sizeof(w), "(%s)", what);
	prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
	if (!prog)
		bench_fatal("%s: clCreateProgramWithSource%s = %d (%s)", label, w, err,
			    cl_err_name(err));
	err = clBuildProgram(prog, 1, &dev, options, NULL, NULL);
	if (err != CL_SUCCESS) {
		static char log[65536];

		log[0] = 0;
		clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, sizeof(log) - 1, log, NULL);
		bench_fatal("%s: clBuildProgram%s = %d (%s):\n%s", label, w, err, cl_err_name(err),
			    log);
	}
	return prog;
}

cl_kernel make_kernel(const char *label, cl_program prog, const char *name)
{
	cl_int err;
	cl_kernel k = clCreateKernel(prog, name, &err);

	if (!k)
		bench_fatal("%s: clCreateKernel(%s) = %d (%s)", label, name, err, cl_err_name(err));
	return k;
}
