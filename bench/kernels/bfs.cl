/* SPDX-License-Identifier: MIT */
/*
 * One level of a level-synchronous breadth-first search over a CSR graph:
 * every vertex at level @cur visits its neighbours and gives the unvisited
 * ones level cur + 1 (racing writers store the same value), and raises
 * *flag when it did. The host launches levels until the flag stays down.
 */
__kernel void bfs_level(__global const uint *row, __global const uint *col, __global int *level,
			__global int *flag, int cur, uint nv)
{
	const uint v = get_global_id(0);

	if (v >= nv || level[v] != cur)
		return;
	for (uint e = row[v]; e < row[v + 1]; e++) {
		const uint u = col[e];

		if (level[u] < 0) {
			level[u] = cur + 1;
			*flag = 1;
		}
	}
}
