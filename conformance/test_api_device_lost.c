/* SPDX-License-Identifier: MIT */
/*
 * The device process dies while a kernel runs (the kernel writes through a
 * bad pointer, as a GPU kernel can fault): the command fails with an error,
 * every later device command fails with an error too, nothing hangs, and
 * the host keeps all data that was in SVM, including the pages that were on
 * the device.
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext_ferry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

static const char *src = "__kernel void fill(__global int *p, int v)\n"
			 "{\n"
			 "	p[get_global_id(0)] = v;\n"
			 "}\n"
			 "__kernel void crash(__global int *p)\n"
			 "{\n"
			 "	__global volatile int *bad = (__global volatile int *)16;\n"
			 "	*bad = p[0];\n"
			 "}\n";

static void test_device_dies_in_kernel(void **state)
{
	const size_t n = 1 << 20;
	cl_platform_id platform;
	cl_device_id device;
	cl_context ctx;
	cl_command_queue q;
	cl_program prog;
	cl_kernel fill, crash;
	cl_event e = NULL;
	cl_int err, status = 0, v = 7;
	cl_bool avail = CL_TRUE;
	size_t one = 1, dev_pages = 0, npages = 0;
	cl_svm_residency_ferry res[8];
	clGetSVMResidencyFERRY_fn residency;
	int *p;

	(void)state;
	alarm(120); /* a hang fails the test */
	assert_int_equal(clGetPlatformIDs(1, &platform, NULL), CL_SUCCESS);
	assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL),
			 CL_SUCCESS);
	residency = (clGetSVMResidencyFERRY_fn)clGetExtensionFunctionAddressForPlatform(
		platform, "clGetSVMResidencyFERRY");
	assert_non_null(residency);
	ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	q = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clBuildProgram(prog, 1, &device, "", NULL, NULL), CL_SUCCESS);
	fill = clCreateKernel(prog, "fill", &err);
	assert_int_equal(err, CL_SUCCESS);
	crash = clCreateKernel(prog, "crash", &err);
	assert_int_equal(err, CL_SUCCESS);

	/* Data written by the device: its pages are on the device when it dies. */
	p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, n * sizeof(int), 0);
	assert_non_null(p);
	assert_int_equal(clSetKernelArgSVMPointer(fill, 0, p), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(fill, 1, sizeof(v), &v), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, fill, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_int_equal(residency(ctx, p, sizeof(res) * 4096, res, &npages), CL_SUCCESS);
	for (size_t i = 0; i < npages; i++)
		dev_pages += res[i] == CL_SVM_RESIDENCY_DEVICE_FERRY;
	assert_int_equal(dev_pages, npages);

	/* The kernel that takes the device down. */
	assert_int_equal(clSetKernelArgSVMPointer(crash, 0, p), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, crash, 1, NULL, &one, NULL, 0, NULL, &e),
			 CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	assert_int_equal(
		clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL),
		CL_SUCCESS);
	assert_true(status < 0);
	clReleaseEvent(e);

	/* Later device work fails with an error, and quickly. */
	assert_int_equal(clEnqueueNDRangeKernel(q, fill, 1, NULL, &n, NULL, 0, NULL, &e),
			 CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	clReleaseEvent(e);
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_AVAILABLE, sizeof(avail), &avail, NULL),
			 CL_SUCCESS);
	assert_false(avail);

	/* The host still has every value the device wrote: nothing was lost. */
	for (size_t i = 0; i < n; i++)
		if (p[i] != 7)
			fail_msg("p[%zu] = %d after the device died, expected 7", i, p[i]);
	p[0] = 8; /* and it is ordinary memory now */
	assert_int_equal(p[0], 8);

	clReleaseKernel(fill);
	clReleaseKernel(crash);
	clReleaseProgram(prog);
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_dies_in_kernel),
	};

	return cmocka_run_group_tests_name("api_device_lost", tests, NULL, NULL);
}
