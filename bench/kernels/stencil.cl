/* SPDX-License-Identifier: MIT */
/*
 * One Jacobi sweep of the 2-D Laplace equation on an n x n grid: every
 * interior point becomes the mean of its four neighbours, the boundary is
 * copied. The host ping-pongs two grids.
 */
__kernel void jacobi(__global const float *in, __global float *out, uint n)
{
	const uint x = get_global_id(0), y = get_global_id(1);
	size_t i;

	if (x >= n || y >= n)
		return;
	i = (size_t)y * n + x;
	if (x == 0 || y == 0 || x == n - 1 || y == n - 1)
		out[i] = in[i];
	else
		out[i] = 0.25f * (in[i - 1] + in[i + 1] + in[i - n] + in[i + n]);
}
