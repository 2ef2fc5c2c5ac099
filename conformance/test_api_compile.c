/* SPDX-License-Identifier: MIT */
/*
 * Separate compilation and linking, and the entry points around programs,
 * kernels, contexts and the device that OpenCL 3.0 asks for, through
 * ocl-icd (OCL_ICD_VENDORS points at the build tree's ferry.icd, set by
 * CTest): clCompileProgram with embedded headers, clLinkProgram of objects
 * and libraries (-create-library, link options, failures), binaries of
 * objects and libraries created again, clCreateKernelsInProgram,
 * clCloneKernel and kernel attributes; api_device_entries.c has the device
 * and host timers, clSetContextDestructorCallback, the program-scope
 * constructor queries, and what a device without images and native kernels
 * answers. Kernels run on SVM to check what a compile and a link produced.
 *
 * The expected values are the OpenCL 3.0 API specification's.
 */
#include "api_compile.h"
#include "support/cl_fixture.h"

cl_platform_id platform;
cl_device_id device;
cl_context ctx;
cl_command_queue queue;
cl_int *out; /* N ints of SVM */

/* An embedded header: a macro and a declaration of what the library defines. */
static const char *header_source = "#define SCALE 3\n"
				   "int helper(int x);\n";

/* Includes the header by its include name; helper() comes from the library. */
static const char *main_source = "#include \"ferry/helper.h\"\n"
				 "__kernel void linked(__global int *out, int base)\n"
				 "{\n"
				 "	int i = (int)get_global_id(0);\n"
				 "	out[i] = helper(SCALE) + base + i;\n"
				 "}\n";

/* OFFSET comes from the compile options. */
static const char *library_source = "int helper(int x)\n"
				    "{\n"
				    "	return x * 7 + OFFSET;\n"
				    "}\n";

const char *three_kernels = "__kernel void one(__global int *out)\n"
			    "{ out[get_global_id(0)] = 1; }\n"
			    "__kernel void two(__global int *out)\n"
			    "{ out[get_global_id(0)] = 2; }\n"
			    "__kernel void fill(__global int *out, int base)\n"
			    "{ out[get_global_id(0)] = base + (int)get_global_id(0); }\n";

static int setup(void **state)
{
	(void)state;
	return ft_cl_queue_svm(&platform, &device, &ctx, &queue, (void **)&out, N * sizeof(*out));
}

static int teardown(void **state)
{
	(void)state;
	ft_cl_release(ctx, queue, out);
	return 0;
}

cl_program create(const char *src)
{
	cl_int err = 1;
	cl_program p = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);

	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(p);
	return p;
}

cl_program compiled(const char *src, const char *options)
{
	cl_program p = create(src);

	assert_int_equal(clCompileProgram(p, 1, &device, options, 0, NULL, NULL, NULL, NULL),
			 CL_SUCCESS);
	return p;
}

/* The main source compiled with its embedded header. */
static cl_program compiled_main(void)
{
	cl_program h = create(header_source), p = create(main_source);
	const char *name = "ferry/helper.h";

	assert_int_equal(clCompileProgram(p, 0, NULL, "-DUNUSED=1", 1, &h, &name, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clReleaseProgram(h), CL_SUCCESS);
	return p;
}

static cl_program link2(cl_program a, cl_program b, const char *options, cl_int expected)
{
	cl_program in[2] = {a, b};
	cl_int err = 1;
	cl_program p = clLinkProgram(ctx, 1, &device, options, b ? 2 : 1, in, NULL, NULL, &err);

	assert_int_equal(err, expected);
	return p;
}

/* A build information value of four bytes: the status, or the binary type. */
static cl_int build_value(cl_program p, cl_program_build_info what)
{
	cl_int v = 12345;
	size_t size = 0;

	assert_int_equal(clGetProgramBuildInfo(p, device, what, sizeof(v), &v, &size), CL_SUCCESS);
	assert_int_equal(size, sizeof(v));
	return v;
}

#define status(p) build_value(p, CL_PROGRAM_BUILD_STATUS)
#define binary_type(p) (cl_program_binary_type) build_value(p, CL_PROGRAM_BINARY_TYPE)

/* A build information string, checked for size and termination; free() it. */
char *build_string(cl_program p, cl_program_build_info what)
{
	size_t size = 0;
	char *s;

	assert_int_equal(clGetProgramBuildInfo(p, device, what, 0, NULL, &size), CL_SUCCESS);
	assert_true(size >= 1);
	s = malloc(size);
	assert_non_null(s);
	assert_int_equal(clGetProgramBuildInfo(p, device, what, size, s, NULL), CL_SUCCESS);
	assert_int_equal(strlen(s) + 1, size);
	return s;
}

static void assert_options(cl_program p, const char *expected)
{
	char *s = build_string(p, CL_PROGRAM_BUILD_OPTIONS);

	assert_string_equal(s, expected);
	free(s);
}

void assert_log_has(cl_program p, const char *what)
{
	char *s = build_string(p, CL_PROGRAM_BUILD_LOG);

	if (!strstr(s, what))
		fail_msg("the log does not say \"%s\":\n%s", what, s);
	free(s);
}

/* Neither kernels nor their names: no executable. */
static void assert_no_executable(cl_program p)
{
	size_t n;
	cl_int err = 1;

	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_NUM_KERNELS, sizeof(n), &n, NULL),
			 CL_INVALID_PROGRAM_EXECUTABLE);
	assert_null(clCreateKernel(p, "linked", &err));
	assert_int_equal(err, CL_INVALID_PROGRAM_EXECUTABLE);
}

static size_t binary_size(cl_program p)
{
	size_t size = 0;

	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof(size), &size, NULL),
			 CL_SUCCESS);
	return size;
}

/* Run @k over N work-items with the arguments it has. */
void launch(cl_kernel k)
{
	size_t n = N;

	for (int i = 0; i < N; i++)
		out[i] = -12345;
	assert_int_equal(clEnqueueNDRangeKernel(queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(clFinish(queue), CL_SUCCESS);
}

/* Run @k with out as argument 0 (and @base as argument 1 if >= 0). */
void run(cl_kernel k, cl_int base)
{
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, out), CL_SUCCESS);
	if (base >= 0)
		assert_int_equal(clSetKernelArg(k, 1, sizeof(base), &base), CL_SUCCESS);
	launch(k);
}

static void assert_filled(cl_int first)
{
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], first + i);
}

/* Run linked(out, base) from @p: helper(SCALE) is 3 * 7 + OFFSET (5). */
static void run_linked(cl_program p, cl_int base)
{
	cl_int err = 1;
	cl_kernel k = clCreateKernel(p, "linked", &err);

	assert_int_equal(err, CL_SUCCESS);
	run(k, base);
	assert_filled(26 + base);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
}

static int notified;

static void CL_CALLBACK notify(cl_program p, void *user_data)
{
	assert_non_null(p);
	assert_ptr_equal(user_data, &notified);
	notified++;
}

static void test_compile_library_link_run(void **state)
{
	cl_program obj, lib_obj, lib, exe;
	cl_bool yes = CL_FALSE;
	char names[64] = "";
	size_t n = 0;

	(void)state;
	/* a device with a compiler and a linker */
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_COMPILER_AVAILABLE, sizeof(yes), &yes, NULL),
		CL_SUCCESS);
	assert_int_equal(yes, CL_TRUE);
	yes = CL_FALSE;
	assert_int_equal(
		clGetDeviceInfo(device, CL_DEVICE_LINKER_AVAILABLE, sizeof(yes), &yes, NULL),
		CL_SUCCESS);
	assert_int_equal(yes, CL_TRUE);

	/* an object: built status, its options, a binary, no executable */
	obj = compiled_main();
	assert_int_equal(status(obj), CL_BUILD_SUCCESS);
	assert_int_equal(binary_type(obj), CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT);
	assert_options(obj, "-DUNUSED=1");
	assert_true(binary_size(obj) > 0);
	assert_no_executable(obj);

	/* a library of one object, with the notification */
	lib_obj = compiled(library_source, "-DOFFSET=5");
	notified = 0;
	lib = clLinkProgram(ctx, 0, NULL, "-create-library", 1, &lib_obj, notify, &notified, NULL);
	assert_non_null(lib);
	assert_int_equal(notified, 1);
	assert_int_equal(status(lib), CL_BUILD_SUCCESS);
	assert_int_equal(binary_type(lib), CL_PROGRAM_BINARY_TYPE_LIBRARY);
	assert_options(lib, "-create-library");
	assert_true(binary_size(lib) > 0);
	assert_no_executable(lib);

	/* the object linked with the library: an executable that runs */
	exe = link2(obj, lib, NULL, CL_SUCCESS);
	assert_non_null(exe);
	assert_int_equal(status(exe), CL_BUILD_SUCCESS);
	assert_int_equal(binary_type(exe), CL_PROGRAM_BINARY_TYPE_EXECUTABLE);
	assert_options(exe, "");
	assert_int_equal(clGetProgramInfo(exe, CL_PROGRAM_NUM_KERNELS, sizeof(n), &n, NULL),
			 CL_SUCCESS);
	assert_int_equal(n, 1);
	assert_int_equal(clGetProgramInfo(exe, CL_PROGRAM_KERNEL_NAMES, sizeof(names), names, NULL),
			 CL_SUCCESS);
	assert_string_equal(names, "linked");
	run_linked(exe, 100);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);

	/* link options: an executable's math options, a library's with -enable-link-options */
	exe = link2(obj, lib, "-cl-fast-relaxed-math -cl-denorms-are-zero", CL_SUCCESS);
	assert_options(exe, "-cl-fast-relaxed-math -cl-denorms-are-zero");
	run_linked(exe, 0);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);
	exe = link2(obj, lib_obj, "-create-library -enable-link-options -cl-no-signed-zeros",
		    CL_SUCCESS);
	assert_int_equal(binary_type(exe), CL_PROGRAM_BINARY_TYPE_LIBRARY);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);

	/* the inputs may go before what was linked from them */
	exe = link2(obj, lib, "", CL_SUCCESS);
	assert_int_equal(clReleaseProgram(obj), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(lib), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(lib_obj), CL_SUCCESS);
	run_linked(exe, 7);
	/* nothing to build from: neither a source nor a binary */
	assert_int_equal(clBuildProgram(exe, 0, NULL, NULL, NULL, NULL), CL_INVALID_OPERATION);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);
}

static void test_compile_errors(void **state)
{
	cl_program p = create(main_source), h = create(header_source), exe, bad;
	const char *name = "ferry/helper.h", *null_name = NULL;
	cl_device_id other = (cl_device_id)&p;
	cl_kernel k;
	cl_int err;

	(void)state;
	assert_int_equal(clCompileProgram(NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL),
			 CL_INVALID_PROGRAM);
	assert_int_equal(clCompileProgram(p, 1, NULL, NULL, 0, NULL, NULL, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clCompileProgram(p, 0, &device, NULL, 0, NULL, NULL, NULL, NULL),
			 CL_INVALID_VALUE);
	/* headers: a count, their programs and their names go together */
	assert_int_equal(clCompileProgram(p, 0, NULL, NULL, 1, NULL, &name, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clCompileProgram(p, 0, NULL, NULL, 1, &h, NULL, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clCompileProgram(p, 0, NULL, NULL, 0, &h, NULL, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clCompileProgram(p, 0, NULL, NULL, 0, NULL, &name, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(
		clCompileProgram(p, 0, NULL, NULL, 1, (cl_program *)&other, &name, NULL, NULL),
		CL_INVALID_PROGRAM);
	assert_int_equal(clCompileProgram(p, 0, NULL, NULL, 1, &h, &null_name, NULL, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clCompileProgram(p, 0, NULL, NULL, 1, &h, &name, NULL, &notified),
			 CL_INVALID_VALUE);
	assert_int_equal(clCompileProgram(p, 1, &other, NULL, 1, &h, &name, NULL, NULL),
			 CL_INVALID_DEVICE);
	assert_int_equal(status(p), CL_BUILD_NONE);

	/* without its header: a failure to compile, with a log that says why */
	assert_int_equal(clCompileProgram(p, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL),
			 CL_COMPILE_PROGRAM_FAILURE);
	assert_int_equal(status(p), CL_BUILD_ERROR);
	assert_int_equal(binary_type(p), CL_PROGRAM_BINARY_TYPE_NONE);
	assert_log_has(p, "ferry/helper.h");
	assert_int_equal(binary_size(p), 0);
	assert_int_equal(clCompileProgram(p, 0, NULL, "-no-such-option", 1, &h, &name, NULL, NULL),
			 CL_INVALID_COMPILER_OPTIONS);
	assert_int_equal(status(p), CL_BUILD_ERROR);
	/* and once more, with the header: as good as new */
	notified = 0;
	assert_int_equal(clCompileProgram(p, 0, NULL, NULL, 1, &h, &name, notify, &notified),
			 CL_SUCCESS);
	assert_int_equal(notified, 1);
	assert_int_equal(binary_type(p), CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT);

	bad = create("__kernel void bad(__global int *o) { o[0] = ferry_undeclared; }\n");
	assert_int_equal(clCompileProgram(bad, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL),
			 CL_COMPILE_PROGRAM_FAILURE);
	assert_log_has(bad, "ferry_undeclared");
	assert_int_equal(clReleaseProgram(bad), CL_SUCCESS);

	/* a program with kernels cannot be compiled again */
	exe = create(three_kernels);
	assert_int_equal(clBuildProgram(exe, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	k = clCreateKernel(exe, "one", &err);
	assert_non_null(k);
	assert_int_equal(clCompileProgram(exe, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL),
			 CL_INVALID_OPERATION);
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clCompileProgram(exe, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL),
			 CL_SUCCESS);
	assert_int_equal(binary_type(exe), CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT);
	assert_no_executable(exe);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(h), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void test_link_errors(void **state)
{
	cl_program obj = compiled_main(), source = create(library_source), exe, failed, lib;
	cl_program bogus = (cl_program)&obj;
	cl_device_id other = (cl_device_id)&obj;
	cl_int err = 1;

	(void)state;
	assert_null(clLinkProgram(NULL, 0, NULL, NULL, 1, &obj, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_CONTEXT);
	assert_null(clLinkProgram(ctx, 1, NULL, NULL, 1, &obj, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clLinkProgram(ctx, 0, &device, NULL, 1, &obj, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clLinkProgram(ctx, 0, NULL, NULL, 0, &obj, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clLinkProgram(ctx, 0, NULL, NULL, 1, NULL, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clLinkProgram(ctx, 0, NULL, NULL, 1, &bogus, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_PROGRAM);
	assert_null(clLinkProgram(ctx, 0, NULL, NULL, 1, &obj, NULL, &notified, &err));
	assert_int_equal(err, CL_INVALID_VALUE);
	assert_null(clLinkProgram(ctx, 1, &other, NULL, 1, &obj, NULL, NULL, &err));
	assert_int_equal(err, CL_INVALID_DEVICE);
	/* not link options; -enable-link-options needs -create-library, a library's math it */
	assert_null(link2(obj, NULL, "-DX=1", CL_INVALID_LINKER_OPTIONS));
	assert_null(link2(obj, NULL, "-cl-kernel-arg-info", CL_INVALID_LINKER_OPTIONS));
	assert_null(link2(obj, NULL, "-enable-link-options", CL_INVALID_LINKER_OPTIONS));
	assert_null(link2(obj, NULL, "-create-library -cl-finite-math-only",
			  CL_INVALID_LINKER_OPTIONS));
	/* an input that is no object or library: never compiled, or an executable */
	assert_null(link2(obj, source, NULL, CL_INVALID_OPERATION));
	assert_int_equal(clBuildProgram(source, 0, NULL, "-DOFFSET=1", NULL, NULL), CL_SUCCESS);
	assert_null(link2(obj, source, NULL, CL_INVALID_OPERATION));

	/* helper() is nowhere: the link fails, and its program says why */
	notified = 0;
	failed = clLinkProgram(ctx, 0, NULL, NULL, 1, &obj, notify, &notified, &err);
	assert_int_equal(err, CL_LINK_PROGRAM_FAILURE);
	assert_non_null(failed);
	assert_int_equal(notified, 1);
	assert_int_equal(status(failed), CL_BUILD_ERROR);
	assert_int_equal(binary_type(failed), CL_PROGRAM_BINARY_TYPE_NONE);
	assert_log_has(failed, "helper");
	assert_no_executable(failed);
	/* a failed link is no input either */
	assert_null(link2(obj, failed, NULL, CL_INVALID_OPERATION));
	assert_int_equal(clReleaseProgram(failed), CL_SUCCESS);
	/* released twice (PyOpenCL 2022.3 does): refused, not a use after free */
	assert_int_equal(clReleaseProgram(failed), CL_INVALID_PROGRAM);

	/* the object is still good */
	lib = compiled(library_source, "-DOFFSET=5");
	exe = link2(obj, lib, NULL, CL_SUCCESS);
	assert_non_null(exe);
	run_linked(exe, 1);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(lib), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(source), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(obj), CL_SUCCESS);
}

/* A program from @p's binary: its status and binary type as loaded. */
static cl_program reload(cl_program p, cl_program_binary_type expected)
{
	size_t size = binary_size(p);
	unsigned char *bin = malloc(size);
	cl_int st = 1, err = 1;
	cl_program r;

	assert_non_null(bin);
	assert_int_equal(clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof(bin), &bin, NULL),
			 CL_SUCCESS);
	r = clCreateProgramWithBinary(ctx, 1, &device, &size, (const unsigned char **)&bin, &st,
				      &err);
	free(bin);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(st, CL_SUCCESS);
	assert_int_equal(status(r), CL_BUILD_NONE);
	assert_int_equal(binary_type(r), expected);
	return r;
}

static void test_binaries_again(void **state)
{
	cl_program obj = compiled_main(), lib_obj = compiled(library_source, "-DOFFSET=5");
	cl_program lib, obj2, lib2, exe;
	const unsigned char junk[] = "not a binary", *j = junk;
	size_t jsize = sizeof(junk);
	cl_int st = 1, err = 1;

	(void)state;
	lib = link2(lib_obj, NULL, "-create-library", CL_SUCCESS);
	obj2 = reload(obj, CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT);
	lib2 = reload(lib, CL_PROGRAM_BINARY_TYPE_LIBRARY);
	/* a program from a binary has no source to compile */
	assert_int_equal(clCompileProgram(obj2, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL),
			 CL_INVALID_OPERATION);
	exe = link2(obj2, lib2, NULL, CL_SUCCESS);
	assert_non_null(exe);
	run_linked(exe, 3);
	assert_int_equal(clReleaseProgram(exe), CL_SUCCESS);
	/* a library from a binary builds too: an executable (of no kernels) */
	assert_int_equal(clBuildProgram(lib2, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	assert_int_equal(binary_type(lib2), CL_PROGRAM_BINARY_TYPE_EXECUTABLE);

	assert_null(clCreateProgramWithBinary(ctx, 1, &device, &jsize, &j, &st, &err));
	assert_int_equal(err, CL_INVALID_BINARY);
	assert_int_equal(st, CL_INVALID_BINARY);
	assert_int_equal(clReleaseProgram(lib2), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(obj2), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(lib), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(lib_obj), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(obj), CL_SUCCESS);
}

static void test_create_kernels_in_program(void **state)
{
	cl_program p = create(three_kernels), obj;
	cl_kernel k[4] = {NULL, NULL, NULL, NULL};
	cl_uint n = 0;
	int seen = 0;

	(void)state;
	assert_int_equal(clCreateKernelsInProgram(NULL, 0, NULL, &n), CL_INVALID_PROGRAM);
	assert_int_equal(clCreateKernelsInProgram(p, 0, NULL, &n), CL_INVALID_PROGRAM_EXECUTABLE);
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	assert_int_equal(clCreateKernelsInProgram(p, 0, NULL, &n), CL_SUCCESS);
	assert_int_equal(n, 3);
	assert_int_equal(clCreateKernelsInProgram(p, 2, k, &n), CL_INVALID_VALUE);
	assert_null(k[0]);
	assert_int_equal(clCreateKernelsInProgram(p, 0, k, NULL), CL_INVALID_VALUE);
	n = 0;
	assert_int_equal(clCreateKernelsInProgram(p, 4, k, &n), CL_SUCCESS);
	assert_int_equal(n, 3);
	assert_null(k[3]);
	for (int i = 0; i < 3; i++) {
		char name[16] = "";
		cl_program kp = NULL;

		assert_int_equal(
			clGetKernelInfo(k[i], CL_KERNEL_FUNCTION_NAME, sizeof(name), name, NULL),
			CL_SUCCESS);
		assert_int_equal(clGetKernelInfo(k[i], CL_KERNEL_PROGRAM, sizeof(kp), &kp, NULL),
				 CL_SUCCESS);
		assert_ptr_equal(kp, p);
		seen |= (!strcmp(name, "one")) | (!strcmp(name, "two")) << 1 |
			(!strcmp(name, "fill")) << 2;
		if (!strcmp(name, "two")) {
			run(k[i], -1);
			for (int j = 0; j < N; j++)
				assert_int_equal(out[j], 2);
		}
	}
	assert_int_equal(seen, 7);
	/* kernels hold the program: it cannot be built again */
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_INVALID_OPERATION);
	for (int i = 0; i < 3; i++)
		assert_int_equal(clReleaseKernel(k[i]), CL_SUCCESS);
	/* an object has no kernels to create */
	obj = compiled(three_kernels, NULL);
	assert_int_equal(clCreateKernelsInProgram(obj, 4, k, &n), CL_INVALID_PROGRAM_EXECUTABLE);
	assert_int_equal(clReleaseProgram(obj), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

/* CL_KERNEL_ATTRIBUTES: the attributes as the source wrote them, for each kernel. */
static void test_kernel_attributes(void **state)
{
	static const char *src =
		"__kernel __attribute__((vec_type_hint(float4))) void hinted(__global int *p)\n"
		"{ p[0] = 1; }\n"
		"__kernel void plain(__global int *p) { p[0] = 2; }\n";
	cl_program p = create(src);
	cl_kernel h, n;
	char attrs[256] = "?", squeezed[256] = "";
	size_t size = 0;
	cl_int err;

	(void)state;
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	h = clCreateKernel(p, "hinted", &err);
	assert_int_equal(err, CL_SUCCESS);
	n = clCreateKernel(p, "plain", &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_int_equal(clGetKernelInfo(h, CL_KERNEL_ATTRIBUTES, sizeof(attrs), attrs, &size),
			 CL_SUCCESS);
	assert_int_equal(size, strlen(attrs) + 1);
	/* PoCL writes "__attribute__ ((vec_type_hint (float4)))": compare without spaces */
	for (size_t i = 0, o = 0; i < size; i++)
		if (attrs[i] != ' ')
			squeezed[o++] = attrs[i];
	if (!strstr(squeezed, "vec_type_hint(float4)"))
		fail_msg("CL_KERNEL_ATTRIBUTES is \"%s\"", attrs);
	assert_int_equal(clGetKernelInfo(n, CL_KERNEL_ATTRIBUTES, sizeof(attrs), attrs, NULL),
			 CL_SUCCESS);
	assert_string_equal(attrs, "");
	assert_int_equal(clGetKernelInfo(h, CL_KERNEL_ATTRIBUTES, 1, attrs, NULL),
			 CL_INVALID_VALUE);
	assert_int_equal(clReleaseKernel(h), CL_SUCCESS);
	assert_int_equal(clReleaseKernel(n), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

static void test_clone_kernel(void **state)
{
	cl_program p = create(three_kernels);
	cl_kernel k, c;
	cl_uint refs = 0, nargs = 0;
	cl_int err = 1, base = 10;
	char name[16] = "";

	(void)state;
	assert_null(clCloneKernel(NULL, &err));
	assert_int_equal(err, CL_INVALID_KERNEL);
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_SUCCESS);
	k = clCreateKernel(p, "fill", &err);
	assert_non_null(k);
	assert_int_equal(clSetKernelArgSVMPointer(k, 0, out), CL_SUCCESS);
	assert_int_equal(clSetKernelArg(k, 1, sizeof(base), &base), CL_SUCCESS);
	c = clCloneKernel(k, &err);
	assert_int_equal(err, CL_SUCCESS);
	assert_non_null(c);
	assert_ptr_not_equal(c, k);
	assert_int_equal(clGetKernelInfo(c, CL_KERNEL_FUNCTION_NAME, sizeof(name), name, NULL),
			 CL_SUCCESS);
	assert_string_equal(name, "fill");
	assert_int_equal(clGetKernelInfo(c, CL_KERNEL_NUM_ARGS, sizeof(nargs), &nargs, NULL),
			 CL_SUCCESS);
	assert_int_equal(nargs, 2);
	assert_int_equal(clGetKernelInfo(c, CL_KERNEL_REFERENCE_COUNT, sizeof(refs), &refs, NULL),
			 CL_SUCCESS);
	assert_int_equal(refs, 1);

	/* the clone runs with the arguments it was cloned with */
	launch(c);
	assert_filled(10);
	/* its arguments are its own: changing them leaves the original's */
	run(c, 20);
	assert_filled(20);
	launch(k);
	assert_filled(10);
	/* the clone outlives its original, and holds the program */
	assert_int_equal(clReleaseKernel(k), CL_SUCCESS);
	assert_int_equal(clBuildProgram(p, 0, NULL, NULL, NULL, NULL), CL_INVALID_OPERATION);
	run(c, 30);
	assert_filled(30);
	assert_int_equal(clReleaseKernel(c), CL_SUCCESS);
	assert_int_equal(clReleaseProgram(p), CL_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_library_link_run),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_link_errors),
		cmocka_unit_test(test_binaries_again),
		cmocka_unit_test(test_create_kernels_in_program),
		cmocka_unit_test(test_kernel_attributes),
		cmocka_unit_test(test_clone_kernel),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_context_destructor),
		cmocka_unit_test(test_global_ctors_dtors),
		cmocka_unit_test(test_image_device),
		cmocka_unit_test(test_image_objects),
		cmocka_unit_test(test_image_kernel),
		cmocka_unit_test(test_image_errors),
		cmocka_unit_test(test_no_native_kernels),
	};

	return cmocka_run_group_tests_name("api_compile", tests, setup, teardown);
}
