/* SPDX-License-Identifier: MIT */
/*
 * vecadd_svm - vector add on coarse-grained SVM: the host writes a and b,
 * a kernel on the Ferry device computes c = a + b (the pages fault over to
 * the device), the host reads c (they fault back), no buffer and no copy.
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		cl_int e_ = (x);                                                                   \
		if (e_ != CL_SUCCESS) {                                                            \
			fprintf(stderr, "%s:%d: %s = %d\n", __FILE__, __LINE__, #x, e_);           \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

static const char *source = "__kernel void vadd(__global const float *a, __global const float *b,\n"
			    "                   __global float *c)\n"
			    "{\n"
			    "	size_t i = get_global_id(0);\n"
			    "	c[i] = a[i] + b[i];\n"
			    "}\n";

int main(int argc, char **argv)
{
	size_t n = (argc > 1 ? strtoull(argv[1], NULL, 0) : 4) << 20, bad = 0;
	cl_platform_id platform;
	cl_device_id device;
	cl_context ctx;
	cl_command_queue q;
	cl_program prog;
	cl_kernel k;
	cl_int err;
	float *a, *b, *c;

	CHECK(clGetPlatformIDs(1, &platform, NULL));
	CHECK(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL));
	ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
	CHECK(err);
	q = clCreateCommandQueueWithProperties(ctx, device, NULL, &err);
	CHECK(err);
	prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
	CHECK(err);
	err = clBuildProgram(prog, 1, &device, "", NULL, NULL);
	if (err != CL_SUCCESS) {
		char log[8192] = "";

		clGetProgramBuildInfo(prog, device, CL_PROGRAM_BUILD_LOG, sizeof(log), log, NULL);
		fprintf(stderr, "build failed (%d):\n%s\n", err, log);
		return 1;
	}
	k = clCreateKernel(prog, "vadd", &err);
	CHECK(err);

	a = clSVMAlloc(ctx, CL_MEM_READ_ONLY, n * sizeof(float), 0);
	b = clSVMAlloc(ctx, CL_MEM_READ_ONLY, n * sizeof(float), 0);
	c = clSVMAlloc(ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), 0);
	if (!a || !b || !c) {
		fprintf(stderr, "clSVMAlloc failed\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		a[i] = (float)i;
		b[i] = (float)(2 * i + 1);
	}
	CHECK(clSetKernelArgSVMPointer(k, 0, a));
	CHECK(clSetKernelArgSVMPointer(k, 1, b));
	CHECK(clSetKernelArgSVMPointer(k, 2, c));
	CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, NULL, NULL));
	CHECK(clFinish(q));
	for (size_t i = 0; i < n; i++)
		bad += c[i] != (float)(3 * i + 1);
	printf("vecadd_svm: %zu elements, %zu wrong\n", n, bad);

	clSVMFree(ctx, a);
	clSVMFree(ctx, b);
	clSVMFree(ctx, c);
	CHECK(clReleaseKernel(k));
	CHECK(clReleaseProgram(prog));
	CHECK(clReleaseCommandQueue(q));
	CHECK(clReleaseContext(ctx));
	return bad != 0;
}
