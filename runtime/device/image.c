/* SPDX-License-Identifier: MIT */
/*
 * image.c - images and samplers inside ferry-device: PoCL's own, in its
 * pthread device's context, by id (transport/proto.h, FERRY_MSG_CL_IMAGE).
 * Every command runs on PoCL's in-order queue, after the kernels queued
 * before it, and is waited for.
 */
#include <stdlib.h>
#include <string.h>

#include "device/device.h"
#include "device/pocl.h"
#include "transport/proto.h"

#define MAX_IMAGES 4096
static cl_mem images[MAX_IMAGES];
static cl_sampler samplers[MAX_IMAGES];

cl_mem ferry_pocl_image(uint64_t id)
{
	return id && id < MAX_IMAGES ? images[id] : NULL;
}

cl_sampler ferry_pocl_sampler(uint64_t id)
{
	return id && id < MAX_IMAGES ? samplers[id] : NULL;
}

static int free_slot(void **table)
{
	for (int i = 1; i < MAX_IMAGES; i++)
		if (!table[i])
			return i;
	return -1;
}

static const struct _cl_icd_dispatch *d;
static cl_device_id dev;
static cl_context ctx;
static cl_command_queue q;

static void to_size(size_t *out, const uint64_t *in)
{
	for (int i = 0; i < 3; i++)
		out[i] = (size_t)in[i];
}

/* The tightly packed bytes of @region of image @img (its element size), 0 if unknown. */
static size_t packed_size(cl_mem img, const uint64_t *region)
{
	size_t elem = 0;

	if (d->clGetImageInfo(img, CL_IMAGE_ELEMENT_SIZE, sizeof(elem), &elem, NULL))
		return 0;
	return elem * (size_t)region[0] * (size_t)region[1] * (size_t)region[2];
}

/*
 * FERRY_IMAGE_CREATE: with @in (the host's data in its pitches) as
 * CL_MEM_COPY_HOST_PTR; an image1d buffer's (or 2D image's) buffer is a
 * PoCL buffer over the window memory itself.
 */
static cl_int create(struct ferry_msg_image *im, const uint8_t *in, size_t size)
{
	cl_image_format fmt = {im->order, im->type};
	cl_image_desc desc = {.image_type = im->mem_type,
			      .image_width = im->desc[0],
			      .image_height = im->desc[1],
			      .image_depth = im->desc[2],
			      .image_array_size = im->desc[3],
			      .image_row_pitch = in ? im->desc[4] : 0,
			      .image_slice_pitch = in ? im->desc[5] : 0};
	cl_mem_flags flags =
		im->flags &
		~(cl_mem_flags)(CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR | CL_MEM_ALLOC_HOST_PTR);
	cl_mem buf = NULL, img;
	cl_int err = CL_SUCCESS;
	int slot = free_slot((void **)images);

	if (slot < 0)
		return CL_OUT_OF_RESOURCES;
	if (in && im->size > size)
		return CL_INVALID_VALUE;
	if (im->addr) {
		buf = d->clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR,
					(size_t)im->addr_size, (void *)(uintptr_t)im->addr, &err);
		if (!buf)
			return err;
		desc.buffer = buf;
		desc.image_row_pitch = im->desc[4];
	}
	img = d->clCreateImage(ctx, in ? flags | CL_MEM_COPY_HOST_PTR : flags, &fmt, &desc,
			       in ? (void *)in : NULL, &err);
	if (buf)
		d->clReleaseMemObject(buf);
	if (!img)
		return err;
	images[slot] = img;
	im->id = (uint64_t)slot;
	d->clGetMemObjectInfo(img, CL_MEM_SIZE, sizeof(size_t), &im->size, NULL);
	d->clGetImageInfo(img, CL_IMAGE_ROW_PITCH, sizeof(size_t), &im->row_pitch, NULL);
	d->clGetImageInfo(img, CL_IMAGE_SLICE_PITCH, sizeof(size_t), &im->slice_pitch, NULL);
	d->clGetImageInfo(img, CL_IMAGE_ELEMENT_SIZE, sizeof(size_t), &im->addr_size, NULL);
	return CL_SUCCESS;
}

/* FERRY_IMAGE_READ: the region, packed, as the reply's value. */
static cl_int read_region(struct ferry_msg *m, cl_mem img)
{
	struct ferry_msg_image *im = &m->u.image;
	size_t o[3], r[3], n = packed_size(img, im->region);
	uint8_t *buf;
	cl_int err;

	if (!n || n > FERRY_BULK_MAX)
		return CL_INVALID_VALUE;
	buf = ferry_reply_buffer(n);
	if (!buf)
		return CL_OUT_OF_HOST_MEMORY;
	to_size(o, im->origin);
	to_size(r, im->region);
	err = d->clEnqueueReadImage(q, img, CL_TRUE, o, r, 0, 0, buf, 0, NULL, NULL);
	im->size = n;
	return ferry_reply_done(m, buf, err, n);
}

/* FERRY_IMAGE_WRITE, _FILL, _COPY, _TO_BUFFER, _FROM_BUFFER: waited for. */
static cl_int command(struct ferry_msg_image *im, cl_mem img, const uint8_t *in, size_t size)
{
	size_t o[3], o2[3], r[3];
	void *addr = (void *)(uintptr_t)im->addr;
	cl_mem img2;

	to_size(o, im->origin);
	to_size(o2, im->origin2);
	to_size(r, im->region);
	switch (im->op) {
	case FERRY_IMAGE_WRITE:
		if (packed_size(img, im->region) > size)
			return CL_INVALID_VALUE;
		return d->clEnqueueWriteImage(q, img, CL_TRUE, o, r, 0, 0, in, 0, NULL, NULL);
	case FERRY_IMAGE_FILL:
		if (d->clEnqueueFillImage(q, img, im->color, o, r, 0, NULL, NULL))
			return CL_OUT_OF_RESOURCES;
		return d->clFinish(q);
	case FERRY_IMAGE_COPY:
		img2 = ferry_pocl_image(im->id2);
		if (!img2)
			return CL_INVALID_MEM_OBJECT;
		if (d->clEnqueueCopyImage(q, img, img2, o, o2, r, 0, NULL, NULL))
			return CL_OUT_OF_RESOURCES;
		return d->clFinish(q);
	case FERRY_IMAGE_TO_BUFFER:
		return d->clEnqueueReadImage(q, img, CL_TRUE, o, r, 0, 0, addr, 0, NULL, NULL);
	case FERRY_IMAGE_FROM_BUFFER:
		return d->clEnqueueWriteImage(q, img, CL_TRUE, o, r, 0, 0, addr, 0, NULL, NULL);
	default:
		return CL_INVALID_VALUE;
	}
}

static cl_int sampler(struct ferry_msg_image *im)
{
	const cl_sampler_properties props[] = {CL_SAMPLER_NORMALIZED_COORDS,
					       im->desc[0],
					       CL_SAMPLER_ADDRESSING_MODE,
					       im->desc[1],
					       CL_SAMPLER_FILTER_MODE,
					       im->desc[2],
					       0};
	int slot = free_slot((void **)samplers);
	cl_int err = CL_SUCCESS;
	cl_sampler s;

	if (slot < 0)
		return CL_OUT_OF_RESOURCES;
	s = d->clCreateSamplerWithProperties(ctx, props, &err);
	if (!s)
		return err;
	samplers[slot] = s;
	im->id = (uint64_t)slot;
	return CL_SUCCESS;
}

/* FERRY_IMAGE_FORMATS: PoCL's list for @flags and @mem_type, as the value. */
static cl_int formats(struct ferry_msg *m)
{
	struct ferry_msg_image *im = &m->u.image;
	cl_uint n = 0;
	cl_int err = d->clGetSupportedImageFormats(ctx, im->flags, im->mem_type, 0, NULL, &n);

	im->size = 0;
	if (err || !n)
		return err;
	if ((uint64_t)n * sizeof(cl_image_format) > FERRY_STAGING_SIZE)
		n = FERRY_STAGING_SIZE / sizeof(cl_image_format);
	err = d->clGetSupportedImageFormats(ctx, im->flags, im->mem_type, n,
					    (cl_image_format *)ferry_reply_buffer(0), NULL);
	im->size = (uint64_t)n * sizeof(cl_image_format);
	return err;
}

int ferry_pocl_image_request(struct ferry_msg *m, const uint8_t *in, size_t size)
{
	struct ferry_msg_image *im = &m->u.image;
	cl_int err = ferry_pocl_get(&d, &dev, &ctx, &q);
	cl_mem img;

	if (err)
		return err;
	switch (im->op) {
	case FERRY_IMAGE_CREATE:
		return create(im, im->size ? in : NULL, size);
	case FERRY_IMAGE_SAMPLER:
		return sampler(im);
	case FERRY_IMAGE_FORMATS:
		return formats(m);
	default:
		break;
	}
	img = ferry_pocl_image(im->id);
	if (!img)
		return CL_INVALID_MEM_OBJECT;
	if (im->op == FERRY_IMAGE_READ)
		return read_region(m, img);
	return command(im, img, in, size);
}

int ferry_pocl_release_image(uint64_t id, int sampler)
{
	void **table = sampler ? (void **)samplers : (void **)images;

	if (id == 0 || id >= MAX_IMAGES)
		return CL_INVALID_VALUE;
	if (!table[id])
		return CL_SUCCESS;
	if (sampler)
		d->clReleaseSampler(samplers[id]);
	else
		d->clReleaseMemObject(images[id]);
	table[id] = NULL;
	return CL_SUCCESS;
}
