/* SPDX-License-Identifier: MIT */
/*
 * pocl.h - what pocl.c and image.c share inside ferry-device: PoCL's
 * objects, reached through its dispatch table.
 */
#ifndef FERRY_DEVICE_POCL_H
#define FERRY_DEVICE_POCL_H

#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_icd.h>
#include <stdint.h>

/*
 * PoCL's dispatch table, device, context and in-order queue (made on first
 * use): CL_SUCCESS, or why they cannot be had.
 */
cl_int ferry_pocl_get(const struct _cl_icd_dispatch **dispatch, cl_device_id *device,
		      cl_context *context, cl_command_queue *queue);

/* image.c: the PoCL image or sampler of an id, NULL when there is none. */
cl_mem ferry_pocl_image(uint64_t id);
cl_sampler ferry_pocl_sampler(uint64_t id);

#endif
