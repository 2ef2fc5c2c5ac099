/* SPDX-License-Identifier: MIT */
#ifndef FERRY_DEVICE_H
#define FERRY_DEVICE_H

#include "ferry/ferry.h"

/*
 * Run device work over the device view (threads touch window memory, faults
 * are resolved by the driver). @staging is the shared bulk-data buffer.
 */
int ferry_device_run(struct ferry_dev_work *w, uint8_t *staging);

/*
 * clGetDeviceInfo of PoCL's CPU device (loaded on first use). Returns a
 * cl_int error code (CL_DEVICE_NOT_AVAILABLE when PoCL cannot be loaded).
 */
int ferry_pocl_device_info(uint32_t param, uint64_t size, void *value, uint64_t *size_ret);

#endif
