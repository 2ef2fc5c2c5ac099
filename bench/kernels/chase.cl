/* SPDX-License-Identifier: MIT */
/*
 * Pointer chasing over a linked structure the host built in SVM memory:
 * work-item w walks the list whose head is nodes[w], following the absolute
 * SVM pointers in `next`, and stores the sum of the values it met.
 * The node layout (64 bytes) matches struct chase_node in suite_workloads.c.
 */
typedef struct node {
	__global struct node *next;
	float val;
	uint pad[13];
} node;

__kernel void chase(__global const node *nodes, __global float *out, uint lists)
{
	const uint w = get_global_id(0);
	__global const node *p;
	float s = 0.0f;

	if (w >= lists)
		return;
	for (p = &nodes[w]; p; p = p->next)
		s += p->val;
	out[w] = s;
}
