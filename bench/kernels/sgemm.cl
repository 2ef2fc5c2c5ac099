/* SPDX-License-Identifier: MIT */
/*
 * Dense matrix multiply C = A * B (row-major, A is M x K, B is K x N),
 * tiled through local memory: each 16 x 16 work-group computes one 16 x 16
 * tile of C. M, N and K are multiples of TS (the host guarantees it).
 */
#define TS 16

__kernel void sgemm(__global const float *A, __global const float *B, __global float *C, uint M,
		    uint N, uint K)
{
	const size_t col = get_global_id(0), row = get_global_id(1);
	const uint lc = get_local_id(0), lr = get_local_id(1);
	__local float As[TS][TS];
	__local float Bs[TS][TS];
	float acc = 0.0f;

	for (uint t = 0; t < K; t += TS) {
		As[lr][lc] = A[row * K + t + lc];
		Bs[lr][lc] = B[(size_t)(t + lr) * N + col];
		barrier(CLK_LOCAL_MEM_FENCE);
		for (uint k = 0; k < TS; k++)
			acc += As[lr][k] * Bs[k][lc];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (row < M)
		C[row * N + col] = acc;
}
