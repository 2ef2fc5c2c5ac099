/* SPDX-License-Identifier: MIT */
/*
 * linked_list - pointers inside SVM, followed on both sides: the host builds
 * a list, a kernel walks it and sums it, a second kernel appends nodes
 * (writing pointers into SVM), and the host walks the longer list.
 */
#include "../common/sample.h"

struct node {
	cl_long value;
	struct node *next; /* an SVM address: valid on the host and on the device */
};

static const char *src =
	"typedef struct node { long value; __global struct node *next; } node;\n"
	"__kernel void sum(__global node *head, __global long *out)\n"
	"{\n"
	"	long s = 0;\n"
	"	for (__global node *n = head; n; n = n->next)\n"
	"		s += n->value;\n"
	"	*out = s;\n"
	"}\n"
	"__kernel void append(__global node *head, __global node *pool, int count)\n"
	"{\n"
	"	__global node *tail = head;\n"
	"	while (tail->next)\n"
	"		tail = tail->next;\n"
	"	for (int i = 0; i < count; i++) {\n"
	"		pool[i].value = 1000 + i;\n"
	"		pool[i].next = 0;\n"
	"		tail->next = &pool[i];\n"
	"		tail = &pool[i];\n"
	"	}\n"
	"}\n";

int main(void)
{
	const int n = 10000, extra = 500;
	struct sample s;
	struct node *nodes, *pool;
	cl_long *out, expect = 0, host_sum = 0;
	cl_kernel sum, append;
	size_t one = 1;
	int count = extra, len = 0;

	sample_open(&s);
	sum = sample_kernel(&s, src, "sum");
	append = sample_kernel(&s, src, "append");
	nodes = clSVMAlloc(s.ctx, CL_MEM_READ_WRITE, n * sizeof(*nodes), 0);
	pool = clSVMAlloc(s.ctx, CL_MEM_READ_WRITE, extra * sizeof(*pool), 0);
	out = clSVMAlloc(s.ctx, CL_MEM_READ_WRITE, sizeof(*out), 0);
	if (!nodes || !pool || !out)
		return 1;
	/* Built on the host in a scrambled order, so that the walk jumps around. */
	for (int i = 0; i < n; i++) {
		int at = (int)(((long)i * 7919) % n), nx = (int)(((long)(i + 1) * 7919) % n);

		nodes[at].value = i;
		nodes[at].next = i + 1 < n ? &nodes[nx] : NULL;
		expect += i;
	}
	CHECK(clSetKernelArgSVMPointer(sum, 0, &nodes[0]));
	CHECK(clSetKernelArgSVMPointer(sum, 1, out));
	CHECK(clEnqueueNDRangeKernel(s.q, sum, 1, NULL, &one, NULL, 0, NULL, NULL));
	CHECK(clFinish(s.q));
	printf("device walked the host's list: sum %lld (expected %lld)\n", (long long)*out,
	       (long long)expect);
	if (*out != expect)
		return 1;

	CHECK(clSetKernelArgSVMPointer(append, 0, &nodes[0]));
	CHECK(clSetKernelArgSVMPointer(append, 1, pool));
	CHECK(clSetKernelArg(append, 2, sizeof(count), &count));
	CHECK(clEnqueueNDRangeKernel(s.q, append, 1, NULL, &one, NULL, 0, NULL, NULL));
	CHECK(clFinish(s.q));
	for (int i = 0; i < extra; i++)
		expect += 1000 + i;
	for (struct node *p = &nodes[0]; p; p = p->next, len++)
		host_sum += p->value;
	printf("host walked the device-extended list: %d nodes, sum %lld (expected %d, %lld)\n",
	       len, (long long)host_sum, n + extra, (long long)expect);
	clSVMFree(s.ctx, nodes);
	clSVMFree(s.ctx, pool);
	clSVMFree(s.ctx, out);
	CHECK(clReleaseKernel(sum));
	CHECK(clReleaseKernel(append));
	sample_close(&s);
	return !(len == n + extra && host_sum == expect);
}
