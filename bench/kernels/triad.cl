/* SPDX-License-Identifier: MIT */
/* STREAM triad: a = b + s * c, one element per work-item. */
__kernel void triad(__global float *a, __global const float *b, __global const float *c,
		    float s, uint n)
{
	size_t i = get_global_id(0);

	if (i < n)
		a[i] = b[i] + s * c[i];
}
