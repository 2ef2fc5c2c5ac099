/* SPDX-License-Identifier: MIT */
/*
 * Command queues and events through ocl-icd (OCL_ICD_VENDORS points at the
 * build tree's ferry.icd, set by CTest): creation with and without
 * properties, queries, reference counts, flush and finish, the events of
 * enqueued commands, profiling, clWaitForEvents and event wait lists.
 *
 * The expected values are the OpenCL 3.0 API specification's; where the
 * specification allows several answers the test accepts all of them.
 */
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/cl_fixture.h"

static cl_platform_id platform;
static cl_device_id device;
static cl_context ctx;
static cl_program prog;

static const char *source = "__kernel void inc(__global int *p)\n"
			    "{\n"
			    "	p[get_global_id(0)] += 1;\n"
			    "}\n"
			    "__kernel void spin(__global int *p, int n)\n"
			    "{\n"
			    "	int x = p[get_global_id(0)];\n"
			    "	for (int i = 0; i < n; i++)\n"
			    "		x = x * 1103515245 + 12345;\n"
			    "	p[get_global_id(0)] = x;\n"
			    "}\n";

static int setup(void **state)
{
	cl_int err;

	(void)state;
	if (ft_cl_context(&platform, &device, &ctx))
		return -1;
	prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
	if (!prog || clBuildProgram(prog, 1, &device, "", NULL, NULL) != CL_SUCCESS)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	clReleaseProgram(prog);
	clReleaseContext(ctx);
	return 0;
}

static cl_command_queue queue_with(cl_command_queue_properties p)
{
	cl_queue_properties props[] = {CL_QUEUE_PROPERTIES, (cl_queue_properties)p, 0};
	cl_int err = 1;
	cl_command_queue q = clCreateCommandQueueWithProperties(ctx, device, props, &err);

	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(q);
	return q;
}

/* clCreateCommandQueueWithProperties with @props must fail with @expected. */
#define refused(props, expected)                                                                   \
	do {                                                                                       \
		cl_int e_ = 1;                                                                     \
		assert_null(clCreateCommandQueueWithProperties(ctx, device, (props), &e_));        \
		assert_int_equal(e_, (expected));                                                  \
	} while (0)

static cl_command_queue_properties queue_props(cl_command_queue q)
{
	cl_command_queue_properties p = ~(cl_command_queue_properties)0;

	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof(p), &p, NULL),
			 CL_SUCCESS);
	return p;
}

static cl_uint queue_refs(cl_command_queue q)
{
	cl_uint r = 0;

	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof(r), &r, NULL),
			 CL_SUCCESS);
	return r;
}

static void test_create_with_properties(void **state)
{
	cl_queue_properties prof[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
	cl_queue_properties zero[] = {CL_QUEUE_PROPERTIES, 0, 0};
	cl_queue_properties empty[] = {0};
	cl_queue_properties got[8];
	size_t ret = 99;
	cl_int err = 1;
	cl_command_queue q;

	(void)state;
	/* NULL properties: an in-order queue without profiling, no property list. */
	q = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(q);
	assert_int_equal(queue_props(q), 0);
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES_ARRAY, 0, NULL, &ret),
			 CL_SUCCESS);
	assert_int_equal(ret, 0);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);

	/* Profiling is accepted and the list reads back as given. */
	q = clCreateCommandQueueWithProperties(ctx, device, prof, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(queue_props(q), CL_QUEUE_PROFILING_ENABLE);
	assert_int_equal(
		clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES_ARRAY, sizeof(got), got, &ret),
		CL_SUCCESS);
	assert_int_equal(ret, sizeof(prof));
	assert_memory_equal(got, prof, sizeof(prof));
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);

	/* Explicit 0, and an empty list; errcode_ret may be NULL. */
	q = clCreateCommandQueueWithProperties(ctx, device, zero, NULL);
	assert_non_null(q);
	assert_int_equal(queue_props(q), 0);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	q = clCreateCommandQueueWithProperties(ctx, device, empty, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(queue_props(q), 0);
	assert_int_equal(
		clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES_ARRAY, sizeof(got), got, &ret),
		CL_SUCCESS);
	assert_int_equal(ret, sizeof(empty));
	assert_int_equal(got[0], 0);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

static void test_create_refused(void **state)
{
	cl_command_queue_properties host = 0;
	cl_queue_properties on_dev[] = {CL_QUEUE_PROPERTIES,
					CL_QUEUE_ON_DEVICE | CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE,
					0};
	cl_queue_properties on_dev_default[] = {CL_QUEUE_PROPERTIES,
						CL_QUEUE_ON_DEVICE | CL_QUEUE_ON_DEVICE_DEFAULT |
							CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE,
						0};
	cl_queue_properties size_only[] = {CL_QUEUE_SIZE, 16384, 0};
	cl_queue_properties on_dev_size[] = {
		CL_QUEUE_PROPERTIES, CL_QUEUE_ON_DEVICE | CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE,
		CL_QUEUE_SIZE, 16384, 0};
	cl_int err = 1;

	(void)state;
	/* The device offers host queues, in order or not, with profiling (test_api_ooo). */
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_QUEUE_ON_HOST_PROPERTIES, sizeof(host),
					 &host, NULL),
			 CL_SUCCESS);
	assert_int_equal(host, CL_QUEUE_PROFILING_ENABLE | CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);

	/* Valid values the device does not support: CL_INVALID_QUEUE_PROPERTIES. */
	refused(on_dev, CL_INVALID_QUEUE_PROPERTIES);
	refused(on_dev_default, CL_INVALID_QUEUE_PROPERTIES);
	refused(size_only, CL_INVALID_QUEUE_PROPERTIES);
	/*
	 * An on-device queue with a size: the size exceeds
	 * CL_DEVICE_QUEUE_ON_DEVICE_MAX_SIZE (0 here), so the CTS accepts
	 * CL_INVALID_VALUE as well as CL_INVALID_QUEUE_PROPERTIES.
	 */
	assert_null(clCreateCommandQueueWithProperties(ctx, device, on_dev_size, &err));
	assert_true(err == CL_INVALID_QUEUE_PROPERTIES || err == CL_INVALID_VALUE);
}

static void test_create_invalid(void **state)
{
	cl_queue_properties unknown_name[] = {0x7777, 1, 0};
	cl_queue_properties unknown_bit[] = {CL_QUEUE_PROPERTIES, (cl_queue_properties)1 << 20, 0};
	cl_queue_properties all_bits[] = {CL_QUEUE_PROPERTIES, ~(cl_queue_properties)0, 0};
	cl_queue_properties cts[] = {(cl_queue_properties)-1, (cl_queue_properties)-1, 0, 0, 0};
	cl_int err = 1;

	(void)state;
	refused(unknown_name, CL_INVALID_VALUE);
	refused(unknown_bit, CL_INVALID_VALUE);
	refused(all_bits, CL_INVALID_VALUE);
	refused(cts, CL_INVALID_VALUE);

	/* A device that is not the context's. */
	assert_null(clCreateCommandQueueWithProperties(ctx, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_DEVICE);
	err = 1;
	assert_null(clCreateCommandQueueWithProperties(ctx, (cl_device_id)platform, NULL, &err));
	assert_int_equal(err, CL_INVALID_DEVICE);

	/* No context. */
	err = 1;
	assert_null(clCreateCommandQueueWithProperties(NULL, device, NULL, &err));
	assert_int_equal(err, CL_INVALID_CONTEXT);
}

/*
 * CL_QUEUE_ON_DEVICE requires CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE and
 * CL_QUEUE_ON_DEVICE_DEFAULT requires CL_QUEUE_ON_DEVICE: without them the
 * values are not valid (CL_INVALID_VALUE), whatever the device supports.
 */
static void test_create_invalid_combinations(void **state)
{
	cl_queue_properties on_dev_in_order[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_ON_DEVICE, 0};
	cl_queue_properties default_only[] = {
		CL_QUEUE_PROPERTIES,
		CL_QUEUE_ON_DEVICE_DEFAULT | CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, 0};

	(void)state;
	refused(on_dev_in_order, CL_INVALID_VALUE);
	refused(default_only, CL_INVALID_VALUE);
}

static void test_create_command_queue_1x(void **state)
{
	cl_queue_properties got[4];
	size_t ret = 99;
	cl_int err = 1;
	cl_command_queue q;

	(void)state;
	q = clCreateCommandQueue(ctx, device, 0, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(queue_props(q), 0);
	/* Created by clCreateCommandQueue: no property array. */
	assert_int_equal(
		clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES_ARRAY, sizeof(got), got, &ret),
		CL_SUCCESS);
	assert_int_equal(ret, 0);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);

	q = clCreateCommandQueue(ctx, device, CL_QUEUE_PROFILING_ENABLE, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(queue_props(q), CL_QUEUE_PROFILING_ENABLE);
	ret = 99;
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES_ARRAY, 0, NULL, &ret),
			 CL_SUCCESS);
	assert_int_equal(ret, 0);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);

	q = clCreateCommandQueue(ctx, device, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(queue_props(q), CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	assert_null(clCreateCommandQueue(ctx, device, (cl_command_queue_properties)-1, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clCreateCommandQueue(ctx, device, (cl_command_queue_properties)1 << 20, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clCreateCommandQueue(ctx, NULL, 0, &err));
	assert_int_equal(err, CL_INVALID_DEVICE);
	assert_null(clCreateCommandQueue(NULL, device, 0, &err));
	assert_int_equal(err, CL_INVALID_CONTEXT);
}

static void test_queue_info(void **state)
{
	cl_command_queue q = queue_with(CL_QUEUE_PROFILING_ENABLE), dflt = (cl_command_queue)1;
	cl_context c = NULL;
	cl_device_id d = NULL;
	cl_uint size = 0;
	size_t ret = 0;

	(void)state;
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof(c), &c, &ret),
			 CL_SUCCESS);
	assert_ptr_equal(c, ctx);
	assert_int_equal(ret, sizeof(c));
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof(d), &d, NULL),
			 CL_SUCCESS);
	assert_ptr_equal(d, device);
	assert_int_equal(queue_refs(q), 1);
	assert_int_equal(queue_props(q), CL_QUEUE_PROFILING_ENABLE);
	ret = 0;
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, 0, NULL, &ret), CL_SUCCESS);
	assert_int_equal(ret, sizeof(cl_command_queue_properties));

	/* A host queue on a device without device-side enqueue: no default device queue. */
	assert_int_equal(
		clGetCommandQueueInfo(q, CL_QUEUE_DEVICE_DEFAULT, sizeof(dflt), &dflt, NULL),
		CL_SUCCESS);
	assert_null(dflt);
	/* CL_QUEUE_SIZE is for device queues only. */
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_SIZE, sizeof(size), &size, NULL),
			 CL_INVALID_COMMAND_QUEUE);

	/* Errors. */
	assert_int_equal(clGetCommandQueueInfo(q, 0x7777, sizeof(c), &c, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof(c) - 1, &c, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clGetCommandQueueInfo(NULL, CL_QUEUE_CONTEXT, sizeof(c), &c, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

static void test_queue_refcount(void **state)
{
	cl_command_queue q = queue_with(0);
	cl_context c2, got = NULL;
	cl_int err;

	(void)state;
	assert_int_equal(queue_refs(q), 1);
	assert_int_equal(clRetainCommandQueue(q), CL_SUCCESS);
	assert_int_equal(clRetainCommandQueue(q), CL_SUCCESS);
	assert_int_equal(queue_refs(q), 3);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	assert_int_equal(queue_refs(q), 2);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	assert_int_equal(queue_refs(q), 1);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);

	assert_int_equal(clRetainCommandQueue(NULL), CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(clReleaseCommandQueue(NULL), CL_INVALID_COMMAND_QUEUE);

	/* A queue keeps its context: the application may release it first. */
	c2 = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	q = clCreateCommandQueueWithProperties(c2, device, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clReleaseContext(c2), CL_SUCCESS);
	assert_int_equal(clFlush(q), CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof(got), &got, NULL),
			 CL_SUCCESS);
	assert_ptr_equal(got, c2);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

static void test_flush_finish(void **state)
{
	cl_command_queue q = queue_with(0);
	cl_int *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 0);
	cl_int v = 0x1234;

	(void)state;
	assert_non_null(p);
	assert_int_equal(clFlush(q), CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), 4096, 0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(clFlush(q), CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(p[i], v);
	assert_int_equal(clFlush(NULL), CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(clFinish(NULL), CL_INVALID_COMMAND_QUEUE);
	clSVMFree(ctx, p);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

static void check_event(cl_event e, cl_command_queue q, cl_command_type type)
{
	cl_int status = 1;
	cl_command_type t = 0;
	cl_context c = NULL;
	cl_command_queue eq = NULL;
	cl_uint refs = 0;
	size_t ret = 0;

	assert_non_null(e);
	assert_int_equal(clWaitForEvents(1, &e), CL_SUCCESS);
	/*
	 * Reference counts only once the queue is drained: until then the
	 * implementation may hold references of its own.
	 */
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_int_equal(
		clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, &ret),
		CL_SUCCESS);
	assert_int_equal(ret, sizeof(cl_int));
	assert_int_equal(status, CL_COMPLETE);
	assert_int_equal(clGetEventInfo(e, CL_EVENT_COMMAND_TYPE, sizeof(t), &t, NULL), CL_SUCCESS);
	assert_int_equal(t, type);
	assert_int_equal(clGetEventInfo(e, CL_EVENT_CONTEXT, sizeof(c), &c, NULL), CL_SUCCESS);
	assert_ptr_equal(c, ctx);
	assert_int_equal(clGetEventInfo(e, CL_EVENT_COMMAND_QUEUE, sizeof(eq), &eq, NULL),
			 CL_SUCCESS);
	assert_ptr_equal(eq, q);
	assert_int_equal(clGetEventInfo(e, CL_EVENT_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 1);
}

static void test_events(void **state)
{
	cl_command_queue q = queue_with(0);
	cl_int *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 8192, 0);
	cl_int *tmp = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 0);
	const void *mig[1];
	void *fr[1];
	cl_int v = 41, err;
	cl_uint refs = 0;
	cl_event e[8] = {0};
	cl_kernel k;
	size_t n = 1024;
	cl_context c = NULL;

	(void)state;
	assert_non_null(p);
	assert_non_null(tmp);
	k = clCreateKernel(prog, "inc", &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, p), CL_SUCCESS);

	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), 8192, 0, NULL, &e[0]),
			 CL_SUCCESS);
	check_event(e[0], q, CL_COMMAND_SVM_MEMFILL);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, NULL, &e[1]),
			 CL_SUCCESS);
	check_event(e[1], q, CL_COMMAND_NDRANGE_KERNEL);
	assert_int_equal(clEnqueueSVMMemcpy(q, CL_TRUE, p + 1024, p, 4096, 0, NULL, &e[2]),
			 CL_SUCCESS);
	check_event(e[2], q, CL_COMMAND_SVM_MEMCPY);
	assert_int_equal(clEnqueueSVMMap(q, CL_TRUE, CL_MAP_READ, p, 8192, 0, NULL, &e[3]),
			 CL_SUCCESS);
	check_event(e[3], q, CL_COMMAND_SVM_MAP);
	for (int i = 0; i < 2048; i++)
		assert_int_equal(p[i], 42);
	assert_int_equal(clEnqueueSVMUnmap(q, p, 0, NULL, &e[4]), CL_SUCCESS);
	check_event(e[4], q, CL_COMMAND_SVM_UNMAP);
	mig[0] = p;
	assert_int_equal(clEnqueueSVMMigrateMem(q, 1, mig, NULL, 0, 0, NULL, &e[5]), CL_SUCCESS);
	check_event(e[5], q, CL_COMMAND_SVM_MIGRATE_MEM);
	fr[0] = tmp;
	assert_int_equal(clEnqueueSVMFree(q, 1, fr, NULL, NULL, 0, NULL, &e[6]), CL_SUCCESS);
	check_event(e[6], q, CL_COMMAND_SVM_FREE);

	/* All of them at once, twice (waiting on complete events returns at once). */
	assert_int_equal(clWaitForEvents(7, e), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(7, e), CL_SUCCESS);

	/* Reference counts. */
	assert_int_equal(clRetainEvent(e[0]), CL_SUCCESS);
	assert_int_equal(clGetEventInfo(e[0], CL_EVENT_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 2);
	assert_int_equal(clReleaseEvent(e[0]), CL_SUCCESS);
	assert_int_equal(clGetEventInfo(e[0], CL_EVENT_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 1);

	/* Query errors. */
	assert_int_equal(clGetEventInfo(e[0], 0x7777, sizeof(refs), &refs, NULL), CL_INVALID_VALUE);
	assert_int_equal(clGetEventInfo(e[0], CL_EVENT_CONTEXT, sizeof(c) - 1, &c, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clGetEventInfo(NULL, CL_EVENT_CONTEXT, sizeof(c), &c, NULL),
			 CL_INVALID_EVENT);
	assert_int_equal(clRetainEvent(NULL), CL_INVALID_EVENT);
	assert_int_equal(clReleaseEvent(NULL), CL_INVALID_EVENT);

	/* Events outlive the application's queue handle. */
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(7, e), CL_SUCCESS);
	for (int i = 0; i < 7; i++) {
		cl_command_queue eq = NULL;

		assert_int_equal(clGetEventInfo(e[i], CL_EVENT_CONTEXT, sizeof(c), &c, NULL),
				 CL_SUCCESS);
		assert_ptr_equal(c, ctx);
		assert_int_equal(
			clGetEventInfo(e[i], CL_EVENT_COMMAND_QUEUE, sizeof(eq), &eq, NULL),
			CL_SUCCESS);
		assert_ptr_equal(eq, q);
		assert_int_equal(clReleaseEvent(e[i]), CL_SUCCESS);
	}
	clSVMFree(ctx, p);
}

/* @e's QUEUED, SUBMIT, START, END and COMPLETE, in order, into @t. */
static void check_profile_into(cl_event e, cl_ulong t[5])
{
	const cl_profiling_info names[5] = {CL_PROFILING_COMMAND_QUEUED,
					    CL_PROFILING_COMMAND_SUBMIT, CL_PROFILING_COMMAND_START,
					    CL_PROFILING_COMMAND_END,
					    CL_PROFILING_COMMAND_COMPLETE};
	size_t ret = 0;

	assert_int_equal(clWaitForEvents(1, &e), CL_SUCCESS);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(clGetEventProfilingInfo(e, names[i], sizeof(t[i]), &t[i], &ret),
				 CL_SUCCESS);
		assert_int_equal(ret, sizeof(cl_ulong));
	}
	assert_true(t[0] <= t[1]);
	assert_true(t[1] <= t[2]);
	assert_true(t[2] <= t[3]);
	assert_true(t[3] <= t[4]);
	assert_true(t[0] > 0);
}

static void check_profile(cl_event e)
{
	cl_ulong t[5] = {0};

	check_profile_into(e, t);
}

static void test_profiling(void **state)
{
	cl_command_queue q = queue_with(CL_QUEUE_PROFILING_ENABLE), plain = queue_with(0);
	cl_int *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 1 << 20, 0);
	cl_int v = 7, err;
	cl_ulong t = 0;
	cl_event e[4];
	size_t n = 1 << 18;
	cl_kernel k;

	(void)state;
	assert_non_null(p);
	k = clCreateKernel(prog, "inc", &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, p), CL_SUCCESS);

	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), 1 << 20, 0, NULL, &e[0]),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, NULL, &e[1]),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueSVMMemcpy(q, CL_FALSE, p, p + n / 2, n * 2, 0, NULL, &e[2]),
			 CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	for (int i = 0; i < 3; i++)
		check_profile(e[i]);
	assert_int_equal(p[0], 8);

	/* Errors on a profiling event. */
	assert_int_equal(clGetEventProfilingInfo(e[0], 0x7777, sizeof(t), &t, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(
		clGetEventProfilingInfo(e[0], CL_PROFILING_COMMAND_END, sizeof(t) - 1, &t, NULL),
		CL_INVALID_VALUE);
	assert_int_equal(
		clGetEventProfilingInfo(NULL, CL_PROFILING_COMMAND_END, sizeof(t), &t, NULL),
		CL_INVALID_EVENT);

	/* The profiling data survives the application's queue handle. */
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	check_profile(e[1]);

	/* Without CL_QUEUE_PROFILING_ENABLE: no profiling information. */
	assert_int_equal(clEnqueueNDRangeKernel(plain, k, 1, NULL, &n, NULL, 0, NULL, &e[3]),
			 CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e[3]), CL_SUCCESS);
	assert_int_equal(
		clGetEventProfilingInfo(e[3], CL_PROFILING_COMMAND_QUEUED, sizeof(t), &t, NULL),
		CL_PROFILING_INFO_NOT_AVAILABLE);
	assert_int_equal(
		clGetEventProfilingInfo(e[3], CL_PROFILING_COMMAND_START, sizeof(t), &t, NULL),
		CL_PROFILING_INFO_NOT_AVAILABLE);
	assert_int_equal(
		clGetEventProfilingInfo(e[3], CL_PROFILING_COMMAND_END, sizeof(t), &t, NULL),
		CL_PROFILING_INFO_NOT_AVAILABLE);
	assert_int_equal(p[0], 9);

	for (int i = 0; i < 4; i++)
		assert_int_equal(clReleaseEvent(e[i]), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(plain), CL_SUCCESS);
	clSVMFree(ctx, p);
}

/*
 * START and END are when a command ran, not when it was handed on: on an
 * in-order queue two kernels enqueued back to back (the second is sent to
 * the device while the first runs) do not overlap, and a fill after them
 * starts after the second ended.
 */
static void test_profiling_start_end(void **state)
{
	cl_command_queue q = queue_with(CL_QUEUE_PROFILING_ENABLE);
	cl_int *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 0), n = 1 << 20, v = 3, err;
	cl_ulong t[3][5];
	cl_event e[3];
	size_t global = 64;
	cl_kernel k;

	(void)state;
	assert_non_null(p);
	memset(p, 0, 4096);
	k = clCreateKernel(prog, "spin", &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, p), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(n), &n), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, &e[0]),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, &e[1]),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), 4096, 0, NULL, &e[2]),
			 CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	for (int i = 0; i < 3; i++) {
		check_profile_into(e[i], t[i]);
		assert_true(t[i][3] >= t[i][2]);
	}
	assert_true(t[1][2] >= t[0][3]); /* the second kernel started after the first ended */
	assert_true(t[2][2] >= t[1][3]);
	assert_true(t[1][1] >= t[0][1]); /* submitted in order */
	assert_int_equal(p[0], v);

	for (int i = 0; i < 3; i++)
		assert_int_equal(clReleaseEvent(e[i]), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	clSVMFree(ctx, p);
}

static void test_wait_for_events_errors(void **state)
{
	cl_command_queue q = queue_with(0), q2;
	cl_context c2;
	cl_int *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 0), *p2;
	cl_int v = 1, err;
	cl_event e[2] = {0}, e2 = NULL, list[2];

	(void)state;
	assert_non_null(p);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), 4096, 0, NULL, &e[0]),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), 4096, 0, NULL, &e[1]),
			 CL_SUCCESS);

	assert_int_equal(clWaitForEvents(0, e), CL_INVALID_VALUE);
	assert_int_equal(clWaitForEvents(1, NULL), CL_INVALID_VALUE);
	assert_int_equal(clWaitForEvents(0, NULL), CL_INVALID_VALUE);
	list[0] = e[0];
	list[1] = NULL;
	assert_int_equal(clWaitForEvents(2, list), CL_INVALID_EVENT);
	assert_int_equal(clWaitForEvents(2, e), CL_SUCCESS);

	/* Events of two contexts. */
	c2 = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	q2 = clCreateCommandQueueWithProperties(c2, device, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	p2 = clSVMAlloc(c2, CL_MEM_READ_WRITE, 4096, 0);
	assert_non_null(p2);
	assert_int_equal(clEnqueueSVMMemFill(q2, p2, &v, sizeof(v), 4096, 0, NULL, &e2),
			 CL_SUCCESS);
	list[1] = e2;
	assert_int_equal(clWaitForEvents(2, list), CL_INVALID_CONTEXT);
	assert_int_equal(clWaitForEvents(1, &e2), CL_SUCCESS);

	assert_int_equal(clReleaseEvent(e2), CL_SUCCESS);
	clSVMFree(c2, p2);
	assert_int_equal(clReleaseCommandQueue(q2), CL_SUCCESS);
	assert_int_equal(clReleaseContext(c2), CL_SUCCESS);
	assert_int_equal(clReleaseEvent(e[0]), CL_SUCCESS);
	assert_int_equal(clReleaseEvent(e[1]), CL_SUCCESS);
	clSVMFree(ctx, p);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

static void test_wait_list_errors(void **state)
{
	cl_command_queue q = queue_with(0), q2;
	cl_context c2;
	cl_int *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 0), *p2;
	cl_int v = 5, w = 6, err;
	cl_event e = NULL, e2 = NULL, done = NULL, bad[2];
	size_t n = 1024;
	cl_kernel k;

	(void)state;
	assert_non_null(p);
	k = clCreateKernel(prog, "inc", &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, p), CL_SUCCESS);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), 4096, 0, NULL, &e), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e), CL_SUCCESS);

	/* n > 0 with a NULL list, n == 0 with a list, an invalid event in the list. */
	assert_int_equal(clEnqueueSVMMemFill(q, p, &w, sizeof(w), 4096, 1, NULL, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &w, sizeof(w), 4096, 0, &e, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	bad[0] = e;
	bad[1] = NULL;
	assert_int_equal(clEnqueueSVMMemFill(q, p, &w, sizeof(w), 4096, 2, bad, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 1, NULL, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, &e, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	assert_int_equal(clEnqueueSVMMemcpy(q, CL_TRUE, p, p + 512, 1024, 1, NULL, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	assert_int_equal(clEnqueueSVMMap(q, CL_TRUE, CL_MAP_READ, p, 4096, 0, &e, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	assert_int_equal(clEnqueueSVMUnmap(q, p, 1, NULL, NULL), CL_INVALID_EVENT_WAIT_LIST);
	/* None of the failed commands ran. */
	for (int i = 0; i < 1024; i++)
		assert_int_equal(p[i], v);

	/* An event of another context. */
	c2 = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	q2 = clCreateCommandQueueWithProperties(c2, device, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	p2 = clSVMAlloc(c2, CL_MEM_READ_WRITE, 4096, 0);
	assert_non_null(p2);
	assert_int_equal(clEnqueueSVMMemFill(q2, p2, &v, sizeof(v), 4096, 0, NULL, &e2),
			 CL_SUCCESS);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &w, sizeof(w), 4096, 1, &e2, NULL),
			 CL_INVALID_CONTEXT);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 1, &e2, NULL),
			 CL_INVALID_CONTEXT);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(p[i], v);

	/* A valid list: the commands run. */
	assert_int_equal(clEnqueueSVMMemFill(q, p, &w, sizeof(w), 4096, 1, &e, &done), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 1, &done, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(p[i], w + 1);

	assert_int_equal(clReleaseEvent(e2), CL_SUCCESS);
	clSVMFree(c2, p2);
	assert_int_equal(clReleaseCommandQueue(q2), CL_SUCCESS);
	assert_int_equal(clReleaseContext(c2), CL_SUCCESS);
	assert_int_equal(clReleaseEvent(e), CL_SUCCESS);
	assert_int_equal(clReleaseEvent(done), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	clSVMFree(ctx, p);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

/*
 * Handles of the wrong type (every Ferry object starts with the same
 * dispatch pointer, so ocl-icd forwards them): the specification's
 * CL_INVALID_<OBJECT> codes, not a reinterpretation of the object.
 */
static void test_wrong_type_as_context(void **state)
{
	cl_command_queue q = queue_with(0);
	cl_int err = 1;

	(void)state;
	assert_null(clCreateCommandQueueWithProperties((cl_context)q, device, NULL, &err));
	assert_int_equal(err, CL_INVALID_CONTEXT);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

static void test_wrong_type_as_queue(void **state)
{
	cl_uint refs = 0;

	(void)state;
	assert_int_equal(clGetCommandQueueInfo((cl_command_queue)ctx, CL_QUEUE_REFERENCE_COUNT,
					       sizeof(refs), &refs, NULL),
			 CL_INVALID_COMMAND_QUEUE);
	assert_int_equal(clFinish((cl_command_queue)ctx), CL_INVALID_COMMAND_QUEUE);
}

static void test_wrong_type_as_event(void **state)
{
	cl_command_queue q = queue_with(0);
	cl_int *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, 4096, 0);
	cl_int v = 3;
	cl_uint refs = 0;
	cl_event not_event = (cl_event)q;

	(void)state;
	assert_non_null(p);
	assert_int_equal(
		clGetEventInfo(not_event, CL_EVENT_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
		CL_INVALID_EVENT);
	assert_int_equal(clWaitForEvents(1, &not_event), CL_INVALID_EVENT);
	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), 4096, 1, &not_event, NULL),
			 CL_INVALID_EVENT_WAIT_LIST);
	clSVMFree(ctx, p);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_with_properties),
		cmocka_unit_test(test_create_refused),
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_create_invalid_combinations),
		cmocka_unit_test(test_create_command_queue_1x),
		cmocka_unit_test(test_queue_info),
		cmocka_unit_test(test_queue_refcount),
		cmocka_unit_test(test_flush_finish),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_profiling),
		cmocka_unit_test(test_profiling_start_end),
		cmocka_unit_test(test_wait_for_events_errors),
		cmocka_unit_test(test_wait_list_errors),
		cmocka_unit_test(test_wrong_type_as_context),
		cmocka_unit_test(test_wrong_type_as_queue),
		cmocka_unit_test(test_wrong_type_as_event),
	};

	return cmocka_run_group_tests_name("api_queue", tests, setup, teardown);
}
