/* SPDX-License-Identifier: MIT */
/*
 * image.c - the memory objects the Ferry device does not have: images,
 * samplers and pipes (CL_DEVICE_IMAGE_SUPPORT and CL_DEVICE_PIPE_SUPPORT are
 * CL_FALSE), each entry point answering as the specification words it for a
 * device without them. docs/conformance.md lists the CTS subtests this skips.
 */
#include "api/api.h"

/*
 * Images and samplers: CL_DEVICE_IMAGE_SUPPORT is CL_FALSE, so a context
 * has no image formats, creating an image or a sampler is
 * CL_INVALID_OPERATION ("no devices in context that support images"), an
 * image command CL_INVALID_OPERATION ("the device associated with
 * command_queue does not support images"), and no handle is an image or a
 * sampler.
 */
CL_API_ENTRY cl_int CL_API_CALL ferry_clGetSupportedImageFormats(
	cl_context context, cl_mem_flags flags, cl_mem_object_type image_type, cl_uint num_entries,
	cl_image_format *image_formats, cl_uint *num_image_formats)
{
	const cl_mem_flags known =
		CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR |
		CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR | CL_MEM_HOST_WRITE_ONLY |
		CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS | CL_MEM_KERNEL_READ_AND_WRITE;

	FERRY_RETURN_ERROR_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_ERROR_ON(flags & ~known, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(image_type != CL_MEM_OBJECT_IMAGE1D &&
				      image_type != CL_MEM_OBJECT_IMAGE1D_BUFFER &&
				      image_type != CL_MEM_OBJECT_IMAGE1D_ARRAY &&
				      image_type != CL_MEM_OBJECT_IMAGE2D &&
				      image_type != CL_MEM_OBJECT_IMAGE2D_ARRAY &&
				      image_type != CL_MEM_OBJECT_IMAGE3D,
			      CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(num_entries == 0 && image_formats, CL_INVALID_VALUE);
	if (num_image_formats)
		*num_image_formats = 0;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateImage(cl_context context, cl_mem_flags flags,
						    const cl_image_format *image_format,
						    const cl_image_desc *image_desc, void *host_ptr,
						    cl_int *errcode_ret)
{
	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(1, CL_INVALID_OPERATION);
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateImageWithProperties(
	cl_context context, const cl_mem_properties *properties, cl_mem_flags flags,
	const cl_image_format *image_format, const cl_image_desc *image_desc, void *host_ptr,
	cl_int *errcode_ret)
{
	return ferry_clCreateImage(context, flags, image_format, image_desc, host_ptr, errcode_ret);
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateImage2D(cl_context context, cl_mem_flags flags,
						      const cl_image_format *image_format,
						      size_t image_width, size_t image_height,
						      size_t image_row_pitch, void *host_ptr,
						      cl_int *errcode_ret)
{
	return ferry_clCreateImage(context, flags, image_format, NULL, host_ptr, errcode_ret);
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateImage3D(cl_context context, cl_mem_flags flags,
						      const cl_image_format *image_format,
						      size_t image_width, size_t image_height,
						      size_t image_depth, size_t image_row_pitch,
						      size_t image_slice_pitch, void *host_ptr,
						      cl_int *errcode_ret)
{
	return ferry_clCreateImage(context, flags, image_format, NULL, host_ptr, errcode_ret);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetImageInfo(cl_mem image, cl_image_info param_name,
						     size_t param_value_size, void *param_value,
						     size_t *param_value_size_ret)
{
	return CL_INVALID_MEM_OBJECT; /* no memory object is an image */
}

/* An image command: CL_INVALID_OPERATION once the queue is one. */
static cl_int image_command(cl_command_queue q)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	return CL_INVALID_OPERATION;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueReadImage(
	cl_command_queue q, cl_mem image, cl_bool blocking_read, const size_t *origin,
	const size_t *region, size_t row_pitch, size_t slice_pitch, void *ptr,
	cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *event)
{
	return image_command(q);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueWriteImage(
	cl_command_queue q, cl_mem image, cl_bool blocking_write, const size_t *origin,
	const size_t *region, size_t input_row_pitch, size_t input_slice_pitch, const void *ptr,
	cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *event)
{
	return image_command(q);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueCopyImage(
	cl_command_queue q, cl_mem src_image, cl_mem dst_image, const size_t *src_origin,
	const size_t *dst_origin, const size_t *region, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event)
{
	return image_command(q);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueCopyImageToBuffer(
	cl_command_queue q, cl_mem src_image, cl_mem dst_buffer, const size_t *src_origin,
	const size_t *region, size_t dst_offset, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event)
{
	return image_command(q);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueCopyBufferToImage(
	cl_command_queue q, cl_mem src_buffer, cl_mem dst_image, size_t src_offset,
	const size_t *dst_origin, const size_t *region, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event)
{
	return image_command(q);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueFillImage(
	cl_command_queue q, cl_mem image, const void *fill_color, const size_t origin[3],
	const size_t region[3], cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
	cl_event *event)
{
	return image_command(q);
}

CL_API_ENTRY void *CL_API_CALL ferry_clEnqueueMapImage(
	cl_command_queue q, cl_mem image, cl_bool blocking_map, cl_map_flags map_flags,
	const size_t *origin, const size_t *region, size_t *image_row_pitch,
	size_t *image_slice_pitch, cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
	cl_event *event, cl_int *errcode_ret)
{
	cl_int err = image_command(q);

	FERRY_RETURN_NULL_ON(1, err);
}

CL_API_ENTRY cl_sampler CL_API_CALL ferry_clCreateSamplerWithProperties(
	cl_context context, const cl_sampler_properties *sampler_properties, cl_int *errcode_ret)
{
	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	/* "images are not supported by any device associated with context" */
	FERRY_RETURN_NULL_ON(1, CL_INVALID_OPERATION);
}

CL_API_ENTRY cl_sampler CL_API_CALL ferry_clCreateSampler(cl_context context,
							  cl_bool normalized_coords,
							  cl_addressing_mode addressing_mode,
							  cl_filter_mode filter_mode,
							  cl_int *errcode_ret)
{
	return ferry_clCreateSamplerWithProperties(context, NULL, errcode_ret);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainSampler(cl_sampler sampler)
{
	return CL_INVALID_SAMPLER; /* there are none */
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseSampler(cl_sampler sampler)
{
	return CL_INVALID_SAMPLER;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetSamplerInfo(cl_sampler sampler,
						       cl_sampler_info param_name,
						       size_t param_value_size, void *param_value,
						       size_t *param_value_size_ret)
{
	return CL_INVALID_SAMPLER;
}

/*
 * Pipes: CL_DEVICE_PIPE_SUPPORT is CL_FALSE, so creating one is
 * CL_INVALID_OPERATION ("no devices in context support pipes") and no memory
 * object is a pipe (CL_INVALID_MEM_OBJECT, as the CTS's
 * api/consistency_pipes checks).
 */
CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreatePipe(cl_context context, cl_mem_flags flags,
						   cl_uint pipe_packet_size,
						   cl_uint pipe_max_packets,
						   const cl_pipe_properties *properties,
						   cl_int *errcode_ret)
{
	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(1, CL_INVALID_OPERATION);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetPipeInfo(cl_mem pipe, cl_pipe_info param_name,
						    size_t param_value_size, void *param_value,
						    size_t *param_value_size_ret)
{
	return CL_INVALID_MEM_OBJECT; /* no memory object is a pipe */
}
