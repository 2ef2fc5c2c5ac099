/* SPDX-License-Identifier: MIT */
/*
 * image_cmd.c - the image commands (image.c has the objects): reads and
 * writes through staging (ferry_image_transfer()), copies, fills and copies
 * to and from buffers as one request each, maps and unmaps; all in queue
 * order through ferry_enqueue(), as the buffers' commands.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static struct ferry_ctx *vas_or_null(void)
{
	return ferry_api_vaspace(NULL);
}

/* Is @region at @origin inside image @m (a 1D array's layers its rows, a 2D array's its slices)? */
static cl_int check_region(cl_mem m, const size_t *origin, const size_t *region)
{
	size_t whole_region[3];

	FERRY_RETURN_ERROR_ON(!origin || !region, CL_INVALID_VALUE);
	ferry_image_whole(&m->image->desc, whole_region);
	for (int i = 0; i < 3; i++)
		FERRY_RETURN_ERROR_ON(!region[i] || origin[i] > whole_region[i] ||
					      region[i] > whole_region[i] - origin[i],
				      CL_INVALID_VALUE);
	return CL_SUCCESS;
}

/* Checks shared by the image commands. */
static cl_int check_cmd(cl_command_queue q, cl_mem m, const size_t *origin, const size_t *region,
			cl_uint num_events, const cl_event *events)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(m) || !m->image, CL_INVALID_MEM_OBJECT);
	FERRY_RETURN_ERROR_ON(m->context != q->context, CL_INVALID_CONTEXT);
	FERRY_RETURN_ERROR_ON(check_region(m, origin, region), CL_INVALID_VALUE);
	return ferry_check_wait_list(q->context, num_events, events);
}

/* An image command: a transfer with host memory, or one request. */
struct img_arg {
	struct ferry_cmd_head h;
	cl_mem m, m2; /* retained */
	struct ferry_image_req r;
	char *host;
	size_t origin[3], region[3], row, slice;
	struct ferry_image_map *map;
};

static void img_cleanup(void *p)
{
	struct img_arg *a = p;

	ferry_clReleaseMemObject(a->m);
	if (a->m2)
		ferry_clReleaseMemObject(a->m2);
}

static struct img_arg *img_arg(cl_mem m, cl_mem m2, const size_t *origin, const size_t *region)
{
	struct img_arg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->h.cleanup = img_cleanup;
	a->m = m;
	a->m2 = m2;
	ferry_clRetainMemObject(m);
	if (m2)
		ferry_clRetainMemObject(m2);
	a->r.id = m->image->id;
	for (int i = 0; i < 3; i++) {
		a->origin[i] = a->r.origin[i] = origin[i];
		a->region[i] = a->r.region[i] = region[i];
	}
	return a;
}

static cl_int read_run(void *p)
{
	struct img_arg *a = p;

	return ferry_image_transfer(a->m, 0, a->origin, a->region, a->host, a->row, a->slice);
}

static cl_int write_run(void *p)
{
	struct img_arg *a = p;

	return ferry_image_transfer(a->m, 1, a->origin, a->region, a->host, a->row, a->slice);
}

static cl_int request_run(void *p)
{
	struct img_arg *a = p;
	struct ferry_ctx *vas = vas_or_null();

	return vas ? ferry_image_call(vas, &a->r, NULL, 0, NULL, 0) : CL_DEVICE_NOT_AVAILABLE;
}

/*
 * The host memory's steps of a read or a write (a 1D array's layers are
 * rows, @slice_pitch apart), pitches defaulted and checked as the
 * specification says.
 */
static cl_int host_steps(cl_mem m, const size_t *region, size_t row_pitch, size_t slice_pitch,
			 size_t *row, size_t *slice)
{
	cl_mem_object_type t = m->image->desc.image_type;
	size_t rb = region[0] * m->image->elem;
	bool layers = t == CL_MEM_OBJECT_IMAGE1D_ARRAY;

	FERRY_RETURN_ERROR_ON(row_pitch && row_pitch < rb, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(slice_pitch && t != CL_MEM_OBJECT_IMAGE3D && !ferry_image_is_array(t),
			      CL_INVALID_VALUE);
	if (!row_pitch)
		row_pitch = rb;
	if (!slice_pitch)
		slice_pitch = layers ? row_pitch : row_pitch * region[1];
	FERRY_RETURN_ERROR_ON(slice_pitch < (layers ? row_pitch : row_pitch * region[1]),
			      CL_INVALID_VALUE);
	*row = layers ? slice_pitch : row_pitch;
	*slice = slice_pitch;
	return CL_SUCCESS;
}

/* clEnqueueReadImage and clEnqueueWriteImage. */
static cl_int host_cmd(cl_command_queue q, cl_mem m, int write, cl_bool blocking,
		       const size_t *origin, const size_t *region, size_t row_pitch,
		       size_t slice_pitch, const void *ptr, cl_uint num_events,
		       const cl_event *events, cl_event *event)
{
	const cl_mem_flags forbidden =
		CL_MEM_HOST_NO_ACCESS | (write ? CL_MEM_HOST_READ_ONLY : CL_MEM_HOST_WRITE_ONLY);
	cl_int err = check_cmd(q, m, origin, region, num_events, events);
	size_t row, slice;
	struct img_arg *a;

	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(!ptr, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(m->flags & forbidden, CL_INVALID_OPERATION);
	err = host_steps(m, region, row_pitch, slice_pitch, &row, &slice);
	FERRY_RETURN_ERROR_ON(err, err);
	a = img_arg(m, NULL, origin, region);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->host = (char *)ptr;
	a->row = row;
	a->slice = slice;
	return ferry_enqueue(q, write ? CL_COMMAND_WRITE_IMAGE : CL_COMMAND_READ_IMAGE, num_events,
			     events, event, blocking, write ? write_run : read_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueReadImage(
	cl_command_queue q, cl_mem image, cl_bool blocking_read, const size_t *origin,
	const size_t *region, size_t row_pitch, size_t slice_pitch, void *ptr,
	cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *event)
{
	return host_cmd(q, image, 0, blocking_read, origin, region, row_pitch, slice_pitch, ptr,
			num_events_in_wait_list, event_wait_list, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueWriteImage(
	cl_command_queue q, cl_mem image, cl_bool blocking_write, const size_t *origin,
	const size_t *region, size_t input_row_pitch, size_t input_slice_pitch, const void *ptr,
	cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *event)
{
	return host_cmd(q, image, 1, blocking_write, origin, region, input_row_pitch,
			input_slice_pitch, ptr, num_events_in_wait_list, event_wait_list, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueCopyImage(
	cl_command_queue q, cl_mem src_image, cl_mem dst_image, const size_t *src_origin,
	const size_t *dst_origin, const size_t *region, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event)
{
	cl_int err = check_cmd(q, src_image, src_origin, region, num_events_in_wait_list,
			       event_wait_list);
	struct img_arg *a;
	bool overlap = src_image == dst_image;

	FERRY_RETURN_ERROR_ON(err, err);
	err = check_cmd(q, dst_image, dst_origin, region, 0, NULL);
	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(memcmp(&src_image->image->format, &dst_image->image->format,
				     sizeof(cl_image_format)),
			      CL_IMAGE_FORMAT_MISMATCH);
	for (int i = 0; overlap && i < 3; i++)
		overlap = src_origin[i] < dst_origin[i] + region[i] &&
			  dst_origin[i] < src_origin[i] + region[i];
	FERRY_RETURN_ERROR_ON(overlap, CL_MEM_COPY_OVERLAP);
	a = img_arg(src_image, dst_image, src_origin, region);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->r.op = FERRY_IMG_COPY;
	a->r.id2 = dst_image->image->id;
	for (int i = 0; i < 3; i++)
		a->r.origin2[i] = dst_origin[i];
	return ferry_enqueue(q, CL_COMMAND_COPY_IMAGE, num_events_in_wait_list, event_wait_list,
			     event, 0, request_run, a);
}

/* clEnqueueCopyImageToBuffer and clEnqueueCopyBufferToImage: @buf's window address. */
static cl_int buffer_cmd(cl_command_queue q, cl_mem img, cl_mem buf, int to_buffer,
			 const size_t *origin, const size_t *region, size_t offset,
			 cl_uint num_events, const cl_event *events, cl_event *event)
{
	cl_int err = check_cmd(q, img, origin, region, num_events, events);
	struct img_arg *a;
	size_t n;

	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(buf) || buf->image, CL_INVALID_MEM_OBJECT);
	FERRY_RETURN_ERROR_ON(buf->context != q->context, CL_INVALID_CONTEXT);
	n = region[0] * region[1] * region[2] * img->image->elem;
	FERRY_RETURN_ERROR_ON(offset > buf->size || n > buf->size - offset, CL_INVALID_VALUE);
	a = img_arg(img, buf, origin, region);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->r.op = to_buffer ? FERRY_IMG_TO_BUFFER : FERRY_IMG_FROM_BUFFER;
	a->r.addr = (uint64_t)(uintptr_t)buf->ptr + offset;
	return ferry_enqueue(
		q, to_buffer ? CL_COMMAND_COPY_IMAGE_TO_BUFFER : CL_COMMAND_COPY_BUFFER_TO_IMAGE,
		num_events, events, event, 0, request_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueCopyImageToBuffer(
	cl_command_queue q, cl_mem src_image, cl_mem dst_buffer, const size_t *src_origin,
	const size_t *region, size_t dst_offset, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event)
{
	return buffer_cmd(q, src_image, dst_buffer, 1, src_origin, region, dst_offset,
			  num_events_in_wait_list, event_wait_list, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueCopyBufferToImage(
	cl_command_queue q, cl_mem src_buffer, cl_mem dst_image, size_t src_offset,
	const size_t *dst_origin, const size_t *region, cl_uint num_events_in_wait_list,
	const cl_event *event_wait_list, cl_event *event)
{
	return buffer_cmd(q, dst_image, src_buffer, 0, dst_origin, region, src_offset,
			  num_events_in_wait_list, event_wait_list, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueFillImage(
	cl_command_queue q, cl_mem image, const void *fill_color, const size_t origin[3],
	const size_t region[3], cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
	cl_event *event)
{
	cl_int err = check_cmd(q, image, origin, region, num_events_in_wait_list, event_wait_list);
	struct img_arg *a;

	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(!fill_color, CL_INVALID_VALUE);
	a = img_arg(image, NULL, origin, region);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->r.op = FERRY_IMG_FILL;
	memcpy(a->r.color, fill_color, sizeof(a->r.color));
	return ferry_enqueue(q, CL_COMMAND_FILL_IMAGE, num_events_in_wait_list, event_wait_list,
			     event, 0, request_run, a);
}

/* A map: the region read into the mapped memory, unless it is to be overwritten. */
static cl_int map_run(void *p)
{
	struct img_arg *a = p;

	if (a->map->flags & CL_MAP_WRITE_INVALIDATE_REGION)
		return CL_SUCCESS;
	return ferry_image_transfer(a->m, 0, a->origin, a->region, a->map->ptr, a->map->row,
				    a->map->slice);
}

/* An unmap: what was mapped for writing written back, the map dropped. */
static cl_int unmap_run(void *p)
{
	struct img_arg *a = p;
	cl_int err = CL_SUCCESS;

	if (a->map->flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION))
		err = ferry_image_transfer(a->m, 1, a->origin, a->region, a->map->ptr, a->map->row,
					   a->map->slice);
	if (a->map->owned)
		free(a->map->ptr);
	free(a->map);
	atomic_fetch_sub(&a->m->maps, 1);
	return err;
}

/*
 * The memory a map of @region at @origin gets: the application's own with
 * CL_MEM_USE_HOST_PTR, else a packed copy. NULL when out of memory.
 */
static struct ferry_image_map *new_map(cl_mem m, const size_t *origin, const size_t *region,
				       cl_map_flags flags)
{
	struct ferry_image_map *map = calloc(1, sizeof(*map));
	size_t rb = region[0] * m->image->elem;

	if (!map)
		return NULL;
	map->flags = flags;
	memcpy(map->origin, origin, sizeof(map->origin));
	memcpy(map->region, region, sizeof(map->region));
	if (m->host_ptr) {
		map->row = m->image->host_row;
		map->slice = m->image->host_slice;
		map->ptr = (char *)m->host_ptr + origin[2] * map->slice + origin[1] * map->row +
			   origin[0] * m->image->elem;
		return map;
	}
	map->row = rb;
	map->slice = rb * region[1];
	map->owned = true;
	map->ptr = malloc(map->slice * region[2]);
	if (!map->ptr) {
		free(map);
		return NULL;
	}
	return map;
}

CL_API_ENTRY void *CL_API_CALL ferry_clEnqueueMapImage(
	cl_command_queue q, cl_mem image, cl_bool blocking_map, cl_map_flags map_flags,
	const size_t *origin, const size_t *region, size_t *image_row_pitch,
	size_t *image_slice_pitch, cl_uint num_events_in_wait_list, const cl_event *event_wait_list,
	cl_event *event, cl_int *errcode_ret)
{
	cl_int err = check_cmd(q, image, origin, region, num_events_in_wait_list, event_wait_list);
	struct ferry_image_map *map;
	struct img_arg *a;
	cl_mem_object_type t;

	FERRY_RETURN_NULL_ON(err, err);
	t = image->image->desc.image_type;
	FERRY_RETURN_NULL_ON(!image_row_pitch, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(!image_slice_pitch &&
				     (t == CL_MEM_OBJECT_IMAGE3D || ferry_image_is_array(t)),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(map_flags & ~(cl_map_flags)(CL_MAP_READ | CL_MAP_WRITE |
							 CL_MAP_WRITE_INVALIDATE_REGION),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((map_flags & CL_MAP_WRITE_INVALIDATE_REGION) &&
				     (map_flags & (CL_MAP_READ | CL_MAP_WRITE)),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((map_flags & CL_MAP_READ) && (image->flags & (CL_MEM_HOST_WRITE_ONLY |
									   CL_MEM_HOST_NO_ACCESS)),
			     CL_INVALID_OPERATION);
	FERRY_RETURN_NULL_ON(
		(map_flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION)) &&
			(image->flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS)),
		CL_INVALID_OPERATION);
	map = new_map(image, origin, region, map_flags);
	FERRY_RETURN_NULL_ON(!map, CL_OUT_OF_HOST_MEMORY);
	a = img_arg(image, NULL, origin, region);
	if (!a) {
		if (map->owned)
			free(map->ptr);
		free(map);
		FERRY_RETURN_NULL_ON(1, CL_OUT_OF_HOST_MEMORY);
	}
	a->map = map;
	/* a 1D array's layers are its rows (map->row apart), each its own slice */
	*image_row_pitch = map->row;
	if (image_slice_pitch)
		*image_slice_pitch = t == CL_MEM_OBJECT_IMAGE1D_ARRAY ? map->row
				     : t == CL_MEM_OBJECT_IMAGE3D || ferry_image_is_array(t)
					     ? map->slice
					     : 0;
	pthread_mutex_lock(&image->image->lock);
	map->next = image->image->maps;
	image->image->maps = map;
	pthread_mutex_unlock(&image->image->lock);
	atomic_fetch_add(&image->maps, 1);
	err = ferry_enqueue(q, CL_COMMAND_MAP_IMAGE, num_events_in_wait_list, event_wait_list,
			    event, blocking_map, map_run, a);
	if (errcode_ret)
		*errcode_ret = err;
	return err ? NULL : map->ptr;
}

cl_int ferry_image_unmap(cl_command_queue q, cl_mem m, void *mapped, cl_uint num_events,
			 const cl_event *events, cl_event *event)
{
	struct ferry_image_map **pp, *map = NULL;
	struct img_arg *a;
	cl_int err;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(m->context != q->context, CL_INVALID_CONTEXT);
	err = ferry_check_wait_list(q->context, num_events, events);
	FERRY_RETURN_ERROR_ON(err, err);
	pthread_mutex_lock(&m->image->lock);
	for (pp = &m->image->maps; *pp; pp = &(*pp)->next)
		if ((*pp)->ptr == mapped) {
			map = *pp;
			*pp = map->next;
			break;
		}
	pthread_mutex_unlock(&m->image->lock);
	FERRY_RETURN_ERROR_ON(!map, CL_INVALID_VALUE);
	a = img_arg(m, NULL, map->origin, map->region);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->map = map;
	return ferry_enqueue(q, CL_COMMAND_UNMAP_MEM_OBJECT, num_events, events, event, 0,
			     unmap_run, a);
}
