/* SPDX-License-Identifier: MIT */
/*
 * Out-of-order command queues (CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
 * through ocl-icd: a command runs as soon as its wait list allows, not after
 * the commands enqueued before it; wait lists are honoured; a barrier waits
 * for what it should and holds later commands back; a marker without a wait
 * list completes after every earlier command; clFinish waits for all; a
 * failed command fails the commands that wait for it; statuses, callbacks
 * and profiling times stay right.
 *
 * Commands are held back with user events, never with sleeps: "still
 * blocked" means that the user event it waits for is not set yet.
 */
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/cl_fixture.h"

static cl_platform_id platform;
static cl_device_id device;
static cl_context ctx;
static cl_program prog;
static cl_kernel inc;

static const char *source = "__kernel void inc(__global int *p)\n"
			    "{\n"
			    "	p[get_global_id(0)] += 1;\n"
			    "}\n";

#define WORDS 1024 /* a buffer's ints */
#define BYTES (WORDS * sizeof(cl_int))

static int setup(void **state)
{
	cl_int err;

	(void)state;
	if (ft_cl_context(&platform, &device, &ctx))
		return -1;
	prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
	if (!prog || clBuildProgram(prog, 1, &device, "", NULL, NULL) != CL_SUCCESS)
		return -1;
	inc = clCreateKernel(prog, "inc", &err);
	return inc ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	clReleaseKernel(inc);
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

static cl_command_queue ooo_queue(void)
{
	return queue_with(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
}

static cl_event gate_event(void)
{
	cl_int err = 1;
	cl_event e = clCreateUserEvent(ctx, &err);

	assert_int_equal(err, CL_SUCCESS);
	return e;
}

static cl_int status(cl_event e)
{
	cl_int s = 1;

	assert_int_equal(clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(s), &s, NULL),
			 CL_SUCCESS);
	return s;
}

static cl_int *buffer(void)
{
	cl_int *p = clSVMAlloc(ctx, CL_MEM_READ_WRITE, BYTES, 0);

	assert_non_null(p);
	memset(p, 0, BYTES);
	return p;
}

/* Fill @p with @v after @n events of @wait. */
static cl_event fill(cl_command_queue q, cl_int *p, cl_int v, cl_uint n, const cl_event *wait)
{
	cl_event e = NULL;

	assert_int_equal(clEnqueueSVMMemFill(q, p, &v, sizeof(v), BYTES, n, wait, &e), CL_SUCCESS);
	return e;
}

/* Add 1 to each int of @p after @n events of @wait. */
static cl_event bump(cl_command_queue q, cl_int *p, cl_uint n, const cl_event *wait)
{
	size_t global = WORDS;
	cl_event e = NULL;

	assert_int_equal(clSetKernelArgSVMPointer(inc, 0, p), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(q, inc, 1, NULL, &global, NULL, n, wait, &e),
			 CL_SUCCESS);
	return e;
}

static void expect_all(const cl_int *p, cl_int v)
{
	for (int i = 0; i < WORDS; i++)
		assert_int_equal(p[i], v);
}

static void release_all(cl_event *e, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(clReleaseEvent(e[i]), CL_SUCCESS);
}

static void free_buffers(cl_int **p, int n)
{
	for (int i = 0; i < n; i++)
		clSVMFree(ctx, p[i]);
}

/* Completion order: each CL_COMPLETE callback takes the next number. */
static atomic_int order_next;

static void CL_CALLBACK record_order(cl_event e, cl_int st, void *user)
{
	(void)e;
	(void)st;
	*(int *)user = atomic_fetch_add(&order_next, 1);
}

static void test_ooo_create(void **state)
{
	const cl_command_queue_properties both =
		CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_PROFILING_ENABLE;
	cl_queue_properties props[] = {CL_QUEUE_PROPERTIES, both, 0}, got[4];
	cl_command_queue_properties p = 0, host = 0;
	size_t ret = 0;
	cl_int err = 1;
	cl_command_queue q;

	(void)state;
	assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_QUEUE_ON_HOST_PROPERTIES, sizeof(host),
					 &host, NULL),
			 CL_SUCCESS);
	assert_int_equal(host & both, both);

	q = clCreateCommandQueueWithProperties(ctx, device, props, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof(p), &p, NULL),
			 CL_SUCCESS);
	assert_int_equal(p, both);
	assert_int_equal(
		clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES_ARRAY, sizeof(got), got, &ret),
		CL_SUCCESS);
	assert_int_equal(ret, sizeof(props));
	assert_memory_equal(got, props, sizeof(props));
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);

	q = clCreateCommandQueue(ctx, device, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof(p), &p, NULL),
			 CL_SUCCESS);
	assert_int_equal(p, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
}

/*
 * A command without a wait list is not held back by an earlier command that
 * cannot run: a fill, a kernel and a blocking copy complete while a
 * migration and a kernel enqueued before them wait for a user event. On an
 * in-order queue the command after a blocked one stays queued.
 */
static void test_ooo_not_held_back(void **state)
{
	cl_command_queue q = ooo_queue(), inorder = queue_with(0);
	cl_int *a = buffer(), *b = buffer(), *c = buffer(), *d = buffer();
	cl_event gate = gate_event(), e[6];
	const void *mig[1] = {a};

	(void)state;
	assert_int_equal(clEnqueueSVMMigrateMem(q, 1, mig, NULL, 0, 1, &gate, &e[0]), CL_SUCCESS);
	e[1] = bump(q, a, 1, &gate);
	e[2] = fill(q, b, 2, 0, NULL);
	e[3] = bump(q, c, 0, NULL);
	assert_int_equal(clWaitForEvents(2, &e[2]), CL_SUCCESS);
	assert_int_equal(clEnqueueSVMMemcpy(q, CL_TRUE, d, b, BYTES, 0, NULL, NULL), CL_SUCCESS);
	expect_all(b, 2);
	expect_all(c, 1);
	expect_all(d, 2);
	/* the blocked ones have not started */
	assert_int_equal(status(e[0]), CL_QUEUED);
	assert_int_equal(status(e[1]), CL_QUEUED);
	expect_all(a, 0);

	/* In order, the fill after a blocked kernel waits with it. */
	e[4] = bump(inorder, d, 1, &gate);
	e[5] = fill(inorder, c, 5, 0, NULL);
	assert_int_equal(clEnqueueSVMMemcpy(q, CL_TRUE, d, b, BYTES, 0, NULL, NULL), CL_SUCCESS);
	assert_int_equal(status(e[5]), CL_QUEUED);

	assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(6, e), CL_SUCCESS);
	expect_all(a, 1);
	expect_all(d, 3);
	expect_all(c, 5);
	release_all(e, 6);
	assert_int_equal(clReleaseEvent(gate), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(inorder), CL_SUCCESS);
	free_buffers((cl_int *[]){a, b, c, d}, 4);
}

/*
 * Wait lists are honoured: a kernel after a blocked fill waits for it, a
 * kernel after two commands for both, and a chain of kernels, each after
 * the one before, adds up.
 */
static void test_ooo_wait_list(void **state)
{
	cl_command_queue q = ooo_queue();
	cl_int *a = buffer(), *b = buffer(), *c = buffer();
	cl_event gate = gate_event(), e[5], link, next;

	(void)state;
	e[0] = fill(q, a, 5, 1, &gate);
	e[1] = bump(q, a, 1, &e[0]);
	e[2] = fill(q, b, 7, 0, NULL);
	e[3] = bump(q, b, 2, &e[1]); /* after the fill of b too: it was enqueued first */
	e[4] = bump(q, c, 0, NULL);
	assert_int_equal(clWaitForEvents(1, &e[4]), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e[2]), CL_SUCCESS);
	assert_int_equal(status(e[0]), CL_QUEUED);
	assert_int_equal(status(e[1]), CL_QUEUED);
	assert_int_equal(status(e[3]), CL_QUEUED);
	expect_all(a, 0);
	expect_all(b, 7);

	assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e[3]), CL_SUCCESS);
	for (int i = 0; i < 5; i++)
		assert_int_equal(status(e[i]), CL_COMPLETE);
	expect_all(a, 6);
	expect_all(b, 8);
	expect_all(c, 1);

	/* a chain: each kernel after the one before */
	link = fill(q, c, 0, 0, NULL);
	for (int i = 0; i < 100; i++) {
		next = bump(q, c, 1, &link);
		assert_int_equal(clReleaseEvent(link), CL_SUCCESS);
		link = next;
	}
	assert_int_equal(clWaitForEvents(1, &link), CL_SUCCESS);
	expect_all(c, 100);
	assert_int_equal(clReleaseEvent(link), CL_SUCCESS);

	release_all(e, 5);
	assert_int_equal(clReleaseEvent(gate), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	free_buffers((cl_int *[]){a, b, c}, 3);
}

/*
 * A barrier without a wait list completes after every command before it
 * and holds every command after it back; one with a wait list waits for
 * its list only, and still holds later commands back.
 */
static void test_ooo_barrier(void **state)
{
	cl_command_queue q = ooo_queue(), other = ooo_queue();
	cl_int *a = buffer(), *b = buffer(), *c = buffer(), *d = buffer();
	cl_event gate = gate_event(), gate2 = gate_event(), e[8];
	int at[3] = {-1, -1, -1};

	(void)state;
	e[0] = fill(q, a, 1, 1, &gate);
	e[1] = fill(q, b, 2, 0, NULL);
	assert_int_equal(clWaitForEvents(1, &e[1]), CL_SUCCESS); /* before the barrier, not held */
	assert_int_equal(clEnqueueBarrierWithWaitList(q, 0, NULL, &e[2]), CL_SUCCESS);
	e[3] = fill(q, c, 3, 0, NULL);
	assert_int_equal(clSetEventCallback(e[0], CL_COMPLETE, record_order, &at[0]), CL_SUCCESS);
	assert_int_equal(clSetEventCallback(e[2], CL_COMPLETE, record_order, &at[1]), CL_SUCCESS);
	assert_int_equal(clSetEventCallback(e[3], CL_COMPLETE, record_order, &at[2]), CL_SUCCESS);
	/* time for a barrier that does not hold to let the fill run: another queue's command */
	e[4] = fill(other, d, 4, 0, NULL);
	assert_int_equal(clWaitForEvents(1, &e[4]), CL_SUCCESS);
	assert_int_equal(status(e[0]), CL_QUEUED);
	assert_int_equal(status(e[2]), CL_QUEUED);
	assert_int_equal(status(e[3]), CL_QUEUED);
	expect_all(c, 0);

	assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_true(at[0] >= 0 && at[0] < at[1] && at[1] < at[2]);
	expect_all(a, 1);
	expect_all(c, 3);

	/* With a wait list: it waits for the fill of d, not for the blocked one. */
	e[5] = fill(q, a, 5, 1, &gate2);
	e[6] = fill(q, d, 6, 0, NULL);
	assert_int_equal(clEnqueueBarrierWithWaitList(q, 1, &e[6], &e[7]), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e[7]), CL_SUCCESS);
	assert_int_equal(status(e[5]), CL_QUEUED);
	expect_all(d, 6);
	assert_int_equal(clSetUserEventStatus(gate2, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	expect_all(a, 5);

	release_all(e, 8);
	release_all((cl_event[]){gate, gate2}, 2);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(other), CL_SUCCESS);
	free_buffers((cl_int *[]){a, b, c, d}, 4);
}

/*
 * A barrier holds back what follows it while it waits (with a wait list of
 * a blocked command): a fill after it stays queued.
 */
static void test_ooo_barrier_holds(void **state)
{
	cl_command_queue q = ooo_queue(), other = ooo_queue();
	cl_int *a = buffer(), *b = buffer();
	cl_event gate = gate_event(), e[4];

	(void)state;
	e[0] = fill(q, a, 1, 1, &gate);
	assert_int_equal(clEnqueueBarrierWithWaitList(q, 1, &e[0], &e[1]), CL_SUCCESS);
	e[2] = fill(q, b, 2, 0, NULL);
	e[3] = fill(other, b, 9, 0, NULL);
	assert_int_equal(clWaitForEvents(1, &e[3]), CL_SUCCESS);
	assert_int_equal(status(e[2]), CL_QUEUED);
	expect_all(b, 9);
	assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e[2]), CL_SUCCESS);
	assert_int_equal(status(e[1]), CL_COMPLETE);
	expect_all(b, 2);

	release_all(e, 4);
	assert_int_equal(clReleaseEvent(gate), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(other), CL_SUCCESS);
	free_buffers((cl_int *[]){a, b}, 2);
}

/*
 * A marker without a wait list (clEnqueueMarkerWithWaitList and the 1.1
 * clEnqueueMarker) completes after every earlier command and holds nothing
 * back; a marker with a wait list waits for its list only.
 */
static void test_ooo_marker(void **state)
{
	cl_command_queue q = ooo_queue();
	cl_int *a = buffer(), *b = buffer(), *c = buffer();
	cl_event gate = gate_event(), e[6];

	(void)state;
	e[0] = fill(q, a, 1, 1, &gate);
	e[1] = fill(q, b, 2, 0, NULL);
	assert_int_equal(clEnqueueMarkerWithWaitList(q, 1, &e[1], &e[2]), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e[2]), CL_SUCCESS); /* while the first is blocked */
	assert_int_equal(status(e[0]), CL_QUEUED);
	assert_int_equal(clEnqueueMarkerWithWaitList(q, 0, NULL, &e[3]), CL_SUCCESS);
	assert_int_equal(clEnqueueMarker(q, &e[4]), CL_SUCCESS);
	e[5] = fill(q, c, 3, 0, NULL);
	assert_int_equal(clWaitForEvents(1, &e[5]), CL_SUCCESS); /* not held back by the markers */
	assert_int_equal(status(e[3]), CL_QUEUED);
	assert_int_equal(status(e[4]), CL_QUEUED);

	assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e[3]), CL_SUCCESS);
	assert_int_equal(status(e[0]), CL_COMPLETE);
	assert_int_equal(status(e[1]), CL_COMPLETE);
	assert_int_equal(clWaitForEvents(1, &e[4]), CL_SUCCESS);
	assert_int_equal(status(e[3]), CL_COMPLETE);
	expect_all(a, 1);

	release_all(e, 6);
	assert_int_equal(clReleaseEvent(gate), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	free_buffers((cl_int *[]){a, b, c}, 3);
}

static void CL_CALLBACK open_gate(cl_event e, cl_int st, void *user)
{
	(void)e;
	(void)st;
	clSetUserEventStatus((cl_event)user, CL_COMPLETE);
}

/*
 * clFinish waits for every command, those that become ready while it waits
 * included: the gate of the first command opens when a later one completes.
 */
static void test_ooo_finish(void **state)
{
	cl_command_queue q = ooo_queue();
	cl_int *a = buffer(), *b = buffer();
	cl_event gate = gate_event(), e[4];

	(void)state;
	e[0] = fill(q, a, 1, 1, &gate);
	e[1] = bump(q, a, 1, &e[0]);
	e[2] = bump(q, a, 1, &e[1]);
	e[3] = fill(q, b, 2, 0, NULL);
	assert_int_equal(clSetEventCallback(e[3], CL_COMPLETE, open_gate, gate), CL_SUCCESS);
	assert_int_equal(clFlush(q), CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	for (int i = 0; i < 4; i++)
		assert_int_equal(status(e[i]), CL_COMPLETE);
	expect_all(a, 3);
	expect_all(b, 2);

	release_all(e, 4);
	assert_int_equal(clReleaseEvent(gate), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	free_buffers((cl_int *[]){a, b}, 2);
}

static void CL_CALLBACK record_status(cl_event e, cl_int st, void *user)
{
	(void)e;
	*(cl_int *)user = st;
}

/*
 * An error fails the commands that wait for it, transitively, and they do
 * not run; a command that does not wait for it runs; callbacks see the error.
 */
static void test_ooo_error(void **state)
{
	cl_command_queue q = ooo_queue();
	cl_int *a = buffer(), *b = buffer(), seen = 1;
	cl_event gate = gate_event(), e[4];

	(void)state;
	e[0] = fill(q, a, 7, 1, &gate);
	e[1] = bump(q, a, 1, &e[0]);
	assert_int_equal(clEnqueueMarkerWithWaitList(q, 1, &e[1], &e[2]), CL_SUCCESS);
	assert_int_equal(clSetEventCallback(e[1], CL_COMPLETE, record_status, &seen), CL_SUCCESS);
	e[3] = fill(q, b, 2, 0, NULL);
	assert_int_equal(clSetUserEventStatus(gate, -1234), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &e[2]), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	for (int i = 0; i < 3; i++)
		assert_int_equal(status(e[i]), CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	assert_int_equal(clWaitForEvents(1, &e[3]), CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS); /* the callbacks have run */
	assert_int_equal(seen, CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
	expect_all(a, 0);
	expect_all(b, 2);

	release_all(e, 4);
	assert_int_equal(clReleaseEvent(gate), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	free_buffers((cl_int *[]){a, b}, 2);
}

static const cl_int states[3] = {CL_SUBMITTED, CL_RUNNING, CL_COMPLETE};
static atomic_int transitions[3];

/* The callback for states[@user]: when it was called (from 1), or -1 with another status. */
static void CL_CALLBACK record_transition(cl_event e, cl_int st, void *user)
{
	(void)e;
	transitions[(intptr_t)user] =
		st == states[(intptr_t)user] ? 1 + atomic_fetch_add(&order_next, 1) : -1;
}

/*
 * A blocked command stays CL_QUEUED and calls none of its callbacks; once
 * its gate opens it goes through CL_SUBMITTED, CL_RUNNING and CL_COMPLETE,
 * each callback called once, in that order. Profiling times are in order.
 */
static void test_ooo_status_and_profiling(void **state)
{
	cl_command_queue q =
		queue_with(CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_PROFILING_ENABLE);
	const cl_profiling_info names[5] = {CL_PROFILING_COMMAND_QUEUED,
					    CL_PROFILING_COMMAND_SUBMIT, CL_PROFILING_COMMAND_START,
					    CL_PROFILING_COMMAND_END,
					    CL_PROFILING_COMMAND_COMPLETE};
	cl_int *a = buffer(), *b = buffer();
	cl_event gate = gate_event(), e[2];
	cl_ulong t[5];

	(void)state;
	e[0] = bump(q, a, 1, &gate);
	for (intptr_t i = 0; i < 3; i++) {
		transitions[i] = 0;
		assert_int_equal(clSetEventCallback(e[0], states[i], record_transition, (void *)i),
				 CL_SUCCESS);
	}
	e[1] = fill(q, b, 1, 0, NULL);
	assert_int_equal(clWaitForEvents(1, &e[1]), CL_SUCCESS);
	assert_int_equal(status(e[0]), CL_QUEUED);
	for (int i = 0; i < 3; i++)
		assert_int_equal(transitions[i], 0);
	assert_int_equal(
		clGetEventProfilingInfo(e[0], CL_PROFILING_COMMAND_END, sizeof(t[0]), &t[0], NULL),
		CL_PROFILING_INFO_NOT_AVAILABLE);

	assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clFinish(q), CL_SUCCESS);
	assert_true(transitions[0] > 0 && transitions[0] < transitions[1] &&
		    transitions[1] < transitions[2]);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 5; i++)
			assert_int_equal(
				clGetEventProfilingInfo(e[k], names[i], sizeof(t[i]), &t[i], NULL),
				CL_SUCCESS);
		for (int i = 0; i < 4; i++)
			assert_true(t[i] <= t[i + 1]);
	}
	expect_all(a, 1);

	release_all(e, 2);
	assert_int_equal(clReleaseEvent(gate), CL_SUCCESS);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	free_buffers((cl_int *[]){a, b}, 2);
}

/*
 * Many independent chains at once (fill, then two kernels, each after the
 * one before) and a marker after all of them: every chain adds up. Then the
 * queue is released with a command still blocked: it runs when its gate
 * opens, and its event outlives the queue.
 */
static void test_ooo_many_and_release(void **state)
{
	enum { CHAINS = 32 };
	cl_command_queue q = ooo_queue();
	cl_int *p[CHAINS];
	cl_event gate = gate_event(), e[3], marker, last;

	(void)state;
	for (int i = 0; i < CHAINS; i++) {
		p[i] = buffer();
		e[0] = fill(q, p[i], i, 0, NULL);
		e[1] = bump(q, p[i], 1, &e[0]);
		e[2] = bump(q, p[i], 1, &e[1]);
		release_all(e, 3);
	}
	assert_int_equal(clEnqueueMarkerWithWaitList(q, 0, NULL, &marker), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &marker), CL_SUCCESS);
	for (int i = 0; i < CHAINS; i++)
		expect_all(p[i], i + 2);
	assert_int_equal(clReleaseEvent(marker), CL_SUCCESS);

	last = bump(q, p[0], 1, &gate);
	assert_int_equal(clReleaseCommandQueue(q), CL_SUCCESS);
	assert_int_equal(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
	assert_int_equal(clWaitForEvents(1, &last), CL_SUCCESS);
	expect_all(p[0], 3);
	assert_int_equal(clReleaseEvent(last), CL_SUCCESS);
	assert_int_equal(clReleaseEvent(gate), CL_SUCCESS);
	for (int i = 0; i < CHAINS; i++)
		clSVMFree(ctx, p[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ooo_create),
		cmocka_unit_test(test_ooo_not_held_back),
		cmocka_unit_test(test_ooo_wait_list),
		cmocka_unit_test(test_ooo_barrier),
		cmocka_unit_test(test_ooo_barrier_holds),
		cmocka_unit_test(test_ooo_marker),
		cmocka_unit_test(test_ooo_finish),
		cmocka_unit_test(test_ooo_error),
		cmocka_unit_test(test_ooo_status_and_profiling),
		cmocka_unit_test(test_ooo_many_and_release),
	};

	return cmocka_run_group_tests_name("api_ooo", tests, setup, teardown);
}
