#!/usr/bin/python3
"""A real client: PyOpenCL (Debian's python3-pyopencl) on the Ferry platform.

Allocates SVM arrays, migrates one to the device, runs a kernel over both,
migrates the result back to the host and checks it. Run by CTest with
OCL_ICD_VENDORS pointing at the build tree's ferry.icd.
"""
import sys

import numpy as np
import pyopencl as cl

platforms = [p for p in cl.get_platforms() if p.name == "Ferry"]
if not platforms:
    sys.exit("the Ferry platform is not visible (OCL_ICD_VENDORS?)")
dev = platforms[0].get_devices()[0]
assert dev.svm_capabilities & cl.device_svm_capabilities.COARSE_GRAIN_BUFFER
ctx = cl.Context([dev])
q = cl.CommandQueue(ctx)

n = 1 << 20
a = cl.svm_empty(ctx, cl.svm_mem_flags.READ_WRITE, n, np.float32)
b = cl.svm_empty(ctx, cl.svm_mem_flags.READ_WRITE, n, np.float32)
a[:] = np.arange(n, dtype=np.float32)

prg = cl.Program(ctx, """
__kernel void twice(__global const float *a, __global float *b)
{
    size_t i = get_global_id(0);
    b[i] = 2.0f * a[i] + 1.0f;
}
""").build()

# pyopencl 2022.3's enqueue_svm_migratemem calls a misnamed binding: use the binding.
migrate = getattr(cl._cl, "_enqueue_svm_migrate_mem", None) or cl._cl._enqueue_svm_migratemem
migrate(q, [cl.SVM(a)], 0, None)
prg.twice(q, (n,), None, cl.SVM(a), cl.SVM(b))
migrate(q, [cl.SVM(b)], cl.mem_migration_flags.HOST, None)
q.finish()

expect = 2.0 * np.arange(n, dtype=np.float32) + 1.0
if not np.array_equal(b, expect):
    sys.exit("wrong result: %d mismatches" % int(np.sum(b != expect)))
print("pyopencl on Ferry: %d-element SVM kernel with migrations: OK" % n)
