/* SPDX-License-Identifier: MIT */
/*
 * Programs larger than ferry's 4 MiB staging buffer, through ocl-icd (as
 * hashcat's, whose binaries are 5+ MB): a source of megabytes (a constant
 * table) built, its binary (also over 4 MiB) read with clGetProgramInfo
 * twice, a program created from it and built, its kernel run; the same
 * table as an embedded header of clCompileProgram (over 4 MiB of input),
 * linked and run.
 *
 * The expected values are the OpenCL 3.0 API specification's and the
 * table's own.
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/cl_fixture.h"

#define N 256
#define STAGING (4u << 20)  /* ferry's staging buffer (FERRY_STAGING_SIZE) */
#define TABLE (600u * 1000) /* entries: about 7 MB of source, a 5.5 MB binary */
#define STRIDE (TABLE / N)

static cl_platform_id platform;
static cl_device_id device;
static cl_context ctx;
static cl_command_queue queue;
static cl_uint *out; /* N of SVM */
static cl_uint *table;
static char *table_src; /* "__constant uint table[TABLE] = {...};" */

/* The kernel that reads the table: entry TABLE - 1 - i * STRIDE into out[i]. */
static const char *look_src =
	"__kernel void look(__global uint *out, uint stride)\n"
	"{\n"
	"	size_t i = get_global_id(0);\n"
	"	out[i] = table[sizeof(table) / sizeof(table[0]) - 1 - i * stride];\n"
	"}\n";

/* The table's values and its definition in OpenCL C. */
static int make_table(void)
{
	size_t room = (size_t)TABLE * 13 + 256, o;
	uint32_t x = 20240611u;

	table = malloc(TABLE * sizeof(*table));
	table_src = malloc(room);
	if (!table || !table_src)
		return -1;
	o = (size_t)snprintf(table_src, room, "__constant uint table[%u] = {\n", TABLE);
	for (uint32_t i = 0; i < TABLE; i++) {
		x = x * 1664525u + 1013904223u;
		table[i] = x;
		o += (size_t)snprintf(table_src + o, room - o, "%uu,%s", x, i % 8 == 7 ? "\n" : "");
	}
	o += (size_t)snprintf(table_src + o, room - o, "};\n");
	return o < room ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	if (make_table())
		return -1;
	return ft_cl_queue_svm(&platform, &device, &ctx, &queue, (void **)&out, N * sizeof(*out));
}

static int teardown(void **state)
{
	(void)state;
	ft_cl_release(ctx, queue, out);
	free(table);
	free(table_src);
	return 0;
}

/* Run look() of @p and check what it read. */
static void run_look(cl_program p)
{
	cl_int err = 1;
	cl_kernel k = clCreateKernel(p, "look", &err);
	cl_uint stride = STRIDE;
	size_t n = N;

	assert_int_equal(err, CL_SUCCESS);
	for (int i = 0; i < N; i++)
		out[i] = 0;
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, out), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(stride), &stride), CL_SUCCESS);
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], table[TABLE - 1 - (size_t)i * STRIDE]);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
}

/* @p's one binary (malloc'd), its size in *@size. */
static unsigned char *get_binary(cl_program p, size_t *size)
{
	unsigned char *bin;
	size_t ret = 0;

	*size = 0;
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof(*size), size, &ret),
			 CL_SUCCESS);
	assert_int_equal(ret, sizeof(*size));
	bin = malloc(*size);
	assert_non_null(bin);
	memset(bin, 0xa5, *size);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof(bin), &bin, &ret),
			 CL_SUCCESS);
	assert_int_equal(ret, sizeof(bin));
	return bin;
}

/* A program from @size bytes of @bin, built. */
static cl_program from_binary(const unsigned char *bin, size_t size)
{
	cl_int st = 1, err = 1;
	cl_program p = clCreateProgramWithBinary(ctx, 1, &device, &size, &bin, &st, &err);

	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(st, CL_SUCCESS);
	assert_non_null(p);
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_SUCCESS);
	return p;
}

static void test_large_source_and_binary(void **state)
{
	size_t len = strlen(table_src) + strlen(look_src), size = 0, size2 = 0;
	char *src = malloc(len + 1);
	const char *s = src;
	unsigned char *bin, *bin2;
	cl_program p, q;
	cl_int err = 1;

	(void)state;
	assert_non_null(src);
	strcpy(src, table_src);
	strcat(src, look_src);
	assert_true(len > STAGING);
	p = clCreateProgramWithSource(ctx, 1, &s, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clBuildProgram(p, 1, &device, NULL, NULL, NULL), CL_SUCCESS);
	run_look(p);

	bin = get_binary(p, &size);
	print_message("source %zu bytes, binary %zu bytes\n", len, size);
	assert_true(size > STAGING);
	bin2 = get_binary(p, &size2);
	assert_int_equal(size2, size);
	assert_memory_equal(bin, bin2, size);
	free(bin2);

	q = from_binary(bin, size);
	run_look(q);
	/* and its binary is the one it was made from, or one as large */
	bin2 = get_binary(q, &size2);
	assert_true(size2 > STAGING);
	free(bin2);
	assert_int_equal(clReleaseProgram(q), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
	free(bin);
	free(src);
}

static void test_large_header(void **state)
{
	static const char *main_src = "#include \"table.h\"\n";
	char *src = malloc(strlen(main_src) + strlen(look_src) + 1);
	const char *s = src, *name = "table.h";
	cl_program hdr, obj, exe, q;
	unsigned char *bin;
	cl_int err = 1;
	size_t size = 0;

	(void)state;
	assert_non_null(src);
	strcpy(src, main_src);
	strcat(src, look_src);
	assert_true(strlen(table_src) > STAGING);
	hdr = clCreateProgramWithSource(ctx, 1, (const char **)&table_src, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	obj = clCreateProgramWithSource(ctx, 1, &s, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clCompileProgram(obj, 1, &device, NULL, 1, &hdr, &name, NULL, NULL),
			 CL_SUCCESS);
	exe = clLinkProgram(ctx, 1, &device, NULL, 1, &obj, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	run_look(exe);
	/* the compiled object (its bitcode, under 4 MiB), loaded and linked again */
	bin = get_binary(obj, &size);
	assert_true(size > 0);
	q = clCreateProgramWithBinary(ctx, 1, &device, &size, (const unsigned char **)&bin, NULL,
				      &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);
	exe = clLinkProgram(ctx, 1, &device, NULL, 1, &q, NULL, NULL, &err);
	assert_int_equal(err, CL_SUCCESS);
	run_look(exe);
	free(bin);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(q), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(obj), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(hdr), CL_SUCCESS);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_source_and_binary),
		cmocka_unit_test(test_large_header),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
