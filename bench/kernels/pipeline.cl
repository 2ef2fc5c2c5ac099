/* SPDX-License-Identifier: MIT */
/*
 * The element-wise pipeline of an array library (numpy-style, float64): a zero-fill, a
 * fill, then b = 2 * a - 3, each one launch over the whole array.
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

__kernel void fill(__global double *a, double v, uint n)
{
	size_t i = get_global_id(0);

	if (i < n)
		a[i] = v;
}

__kernel void axpb(__global double *b, __global const double *a, uint n)
{
	size_t i = get_global_id(0);

	if (i < n)
		b[i] = 2.0 * a[i] - 3.0;
}
