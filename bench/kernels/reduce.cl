/* SPDX-License-Identifier: MIT */
/*
 * Sum reduction: work-group g sums its contiguous chunk of @chunk elements
 * (work-items stride by the group size, then a tree in local memory) into
 * partial[g]. The host adds the partial sums.
 */
__kernel void reduce(__global const float *in, __global float *partial, uint n, uint chunk,
		     __local float *scratch)
{
	const size_t g = get_group_id(0);
	const uint lid = get_local_id(0), ls = get_local_size(0);
	const size_t start = g * chunk;
	size_t end = start + chunk;
	float s = 0.0f;

	if (end > n)
		end = n;
	for (size_t i = start + lid; i < end; i += ls)
		s += in[i];
	scratch[lid] = s;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (uint o = ls / 2; o > 0; o >>= 1) {
		if (lid < o)
			scratch[lid] += scratch[lid + o];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (lid == 0)
		partial[g] = scratch[0];
}
