/* SPDX-License-Identifier: MIT */
/*
 * Fine-grained SVM: one copy seen by host and device at once. A kernel and a
 * host thread increment the same words with atomics at the same time, and
 * every increment of both sides is counted; a host store becomes visible to
 * a running kernel that polls for it. OpenCL C 3.0's all-devices scope
 * (__opencl_c_atomic_scope_all_devices) is reported, and kernels that use it
 * build and count alongside the host.
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext_ferry.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static cl_platform_id platform;
static cl_device_id device;
static cl_context ctx;
static cl_command_queue q;
static cl_program prog;

static const char *src = "__kernel void count(__global volatile int *c, int reps)\n"
			 "{\n"
			 "	for (int r = 0; r < reps; r++)\n"
			 "		atomic_inc(&c[r & 7]);\n"
			 "}\n"
			 "__kernel void wait_flag(__global volatile int *flag, __global int *out)\n"
			 "{\n"
			 "	long spins = 0;\n"
			 "	while (atomic_add(&flag[0], 0) == 0 && spins < 2000000000L)\n"
			 "		spins++;\n"
			 "	out[0] = flag[0];\n"
			 "}\n";

static int setup(void **state)
{
	cl_int err;

	(void)state;
	if (clGetPlatformIDs(1, &platform, NULL) ||
	    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL))
		return -1;
	ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	if (err)
		return -1;
	q = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	if (err)
		return -1;
	prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
	if (err || clBuildProgram(prog, 1, &device, "", NULL, NULL))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	clReleaseProgram(prog);
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	return 0;
}

static void test_capabilities(void **state)
{
	cl_device_svm_capabilities caps = 0;

	(void)state;
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_SVM_CAPABILITIES, sizeof(caps), &caps, NULL),
		CL_SUCCESS);
	assert_true(caps & CL_DEVICE_SVM_COARSE_GRAIN_BUFFER);
	assert_true(caps & CL_DEVICE_SVM_FINE_GRAIN_BUFFER);
	assert_true(caps & CL_DEVICE_SVM_ATOMICS);
	assert_false(caps & CL_DEVICE_SVM_FINE_GRAIN_SYSTEM);
}

struct host_arg {
	volatile int *c;
	int reps;
};

static void *host_counter(void *p)
{
	struct host_arg *a = p;

	for (int r = 0; r < a->reps; r++)
		__atomic_fetch_add((int *)&a->c[r & 7], 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * count(c, dev_reps) from @prog over @items work-items while a host thread
 * adds @host_reps to the same eight words: every increment of both is there.
 */
static void count_beside_host(cl_program from, size_t items, int dev_reps, int host_reps)
{
	volatile int *c;
	struct host_arg ha;
	pthread_t t;
	cl_kernel k;
	cl_int err;
	long total = 0;

	c = clSVMAlloc(ctx, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER | CL_MEM_SVM_ATOMICS,
		       8 * sizeof(int), 0);
	assert_non_null((void *)c);
	for (int i = 0; i < 8; i++)
		c[i] = 0;
	k = clCreateKernel(from, "count", &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, (void *)c), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(dev_reps), &dev_reps), CL_SUCCESS);
	/* the launch returns at once; the host counts while the kernel does */
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &items, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	ha.c = c;
	ha.reps = host_reps;
	assert_int_equal(pthread_create(&t, NULL, host_counter, &ha), 0);
	pthread_join(t, NULL);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	for (int i = 0; i < 8; i++)
		total += c[i];
	assert_int_equal(total, (long)items * dev_reps + host_reps);
	clReleaseKernel(k);
	clSVMFree(ctx, (void *)c);
}

/* The scope is a feature of OpenCL C 3.0, which has the macro; 1.2 has neither. */
static void test_all_devices_scope(void **state)
{
	static const char *src30 =
		"#ifndef __opencl_c_atomic_scope_all_devices\n"
		"#error no all-devices scope\n"
		"#endif\n"
		"__kernel void count(__global atomic_int *c, int reps)\n"
		"{\n"
		"	for (int r = 0; r < reps; r++)\n"
		"		atomic_fetch_add_explicit(&c[r & 7], 1, memory_order_seq_cst,\n"
		"					  memory_scope_all_svm_devices);\n"
		"	atomic_work_item_fence(CLK_GLOBAL_MEM_FENCE, memory_order_seq_cst,\n"
		"			       memory_scope_all_devices);\n"
		"}\n";
	static const char *src12 = "#ifdef __opencl_c_atomic_scope_all_devices\n"
				   "#error a 3.0 feature macro in OpenCL C 1.2\n"
				   "#endif\n"
				   "__kernel void nop(__global int *c) { c[0] = 1; }\n";
	cl_name_version *f;
	size_t size = 0;
	cl_program p30, p12;
	cl_int err;
	int found = 0;

	(void)state;
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_OPENCL_C_FEATURES, 0, NULL, &size),
			 CL_SUCCESS);
	f = malloc(size);
	assert_non_null(f);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_OPENCL_C_FEATURES, size, f, NULL),
			 CL_SUCCESS);
	for (size_t i = 0; i < size / sizeof(*f); i++)
		found += !strcmp(f[i].name, "__opencl_c_atomic_scope_all_devices");
	free(f);
	assert_int_equal(found, 1);

	p12 = clCreateProgramWithSource(ctx, 1, &src12, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clBuildProgram(p12, 1, &device, "-cl-std=CL1.2", NULL, NULL), CL_SUCCESS);
	clReleaseProgram(p12);

	p30 = clCreateProgramWithSource(ctx, 1, &src30, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clBuildProgram(p30, 1, &device, "-cl-std=CL3.0", NULL, NULL), CL_SUCCESS);
	count_beside_host(p30, 32, 10000, 200000);
	clReleaseProgram(p30);
}

static void test_concurrent_atomics(void **state)
{
	(void)state;
	count_beside_host(prog, 64, 20000, 400000);
}

static void test_store_seen_by_running_kernel(void **state)
{
	volatile int *flag;
	int *out;
	cl_kernel k;
	cl_int err;
	size_t one = 1;

	(void)state;
	flag = clSVMAlloc(ctx,
			  CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER | CL_MEM_SVM_ATOMICS,
			  sizeof(int), 0);
	out = clSVMAlloc(ctx, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER, sizeof(int), 0);
	assert_non_null((void *)flag);
	assert_non_null(out);
	*flag = 0;
	*out = -1;
	k = clCreateKernel(prog, "wait_flag", &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, (void *)flag), CL_SUCCESS);
	assert_int_equal(clSetKernelArgSVMPointer(k, 1, out), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &one, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	usleep(20000); /* let the kernel start polling (correct either way) */
	__atomic_store_n((int *)flag, 42, __ATOMIC_SEQ_CST);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_int_equal(*out, 42);
	clReleaseKernel(k);
	clSVMFree(ctx, (void *)flag);
	clSVMFree(ctx, out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_concurrent_atomics),
		cmocka_unit_test(test_all_devices_scope),
		cmocka_unit_test(test_store_seen_by_running_kernel),
	};

	return cmocka_run_group_tests_name("api_fine_grain", tests, setup, teardown);
}
