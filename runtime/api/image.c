/* SPDX-License-Identifier: MIT */
/*
 * image.c - images and samplers: PoCL's own, inside ferry-device, by id
 * (host/compute.h, ferry_image_call()). An image is not managed memory: its
 * pixels move through staging (larger regions in pieces), and its commands
 * run in queue order like the buffers', each a request that ferry-device
 * performs on PoCL's queue and waits for. Copies between an image and a
 * buffer hand ferry-device the buffer's window address. Pipes stay
 * unsupported (CL_DEVICE_PIPE_SUPPORT is CL_FALSE).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

/* The largest piece of a region moved in one request. */
#define PIECE (16u << 20)

static struct ferry_ctx *vas_or_null(void)
{
	return ferry_api_vaspace(NULL);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetSupportedImageFormats(
	cl_context context, cl_mem_flags flags, cl_mem_object_type image_type, cl_uint num_entries,
	cl_image_format *image_formats, cl_uint *num_image_formats)
{
	const cl_mem_flags known =
		CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR |
		CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR | CL_MEM_HOST_WRITE_ONLY |
		CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS | CL_MEM_KERNEL_READ_AND_WRITE;
	struct ferry_image_req r = {.op = FERRY_IMG_FORMATS};
	struct ferry_ctx *vas = vas_or_null();
	cl_image_format all[512];
	cl_int err;
	cl_uint n;

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
	FERRY_RETURN_ERROR_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	r.flags = flags;
	r.mem_type = image_type;
	err = ferry_image_call(vas, &r, NULL, 0, all, sizeof(all));
	FERRY_RETURN_ERROR_ON(err, err);
	n = (cl_uint)(r.size / sizeof(cl_image_format));
	if (n > sizeof(all) / sizeof(all[0]))
		n = sizeof(all) / sizeof(all[0]);
	if (image_formats)
		memcpy(image_formats, all, (n < num_entries ? n : num_entries) * sizeof(*all));
	if (num_image_formats)
		*num_image_formats = n;
	return CL_SUCCESS;
}

bool ferry_image_is_array(cl_mem_object_type t)
{
	return t == CL_MEM_OBJECT_IMAGE1D_ARRAY || t == CL_MEM_OBJECT_IMAGE2D_ARRAY;
}

void ferry_image_whole(const cl_image_desc *d, size_t *region)
{
	region[0] = d->image_width;
	region[1] = 1;
	region[2] = 1;
	switch (d->image_type) {
	case CL_MEM_OBJECT_IMAGE1D_ARRAY:
		region[1] = d->image_array_size;
		break;
	case CL_MEM_OBJECT_IMAGE2D:
		region[1] = d->image_height;
		break;
	case CL_MEM_OBJECT_IMAGE2D_ARRAY:
		region[1] = d->image_height;
		region[2] = d->image_array_size;
		break;
	case CL_MEM_OBJECT_IMAGE3D:
		region[1] = d->image_height;
		region[2] = d->image_depth;
		break;
	default:
		break;
	}
}

/* In pieces of at most PIECE bytes: several slices, or rows of one slice. */
cl_int ferry_image_transfer(cl_mem m, int write, const size_t *origin, const size_t *region,
			    char *host, size_t row, size_t slice)
{
	struct ferry_ctx *vas = vas_or_null();
	const size_t rb = region[0] * m->image->elem;
	size_t ny = region[1], nz = 1, total;
	char *tmp;
	cl_int err = CL_SUCCESS;

	if (!vas)
		return CL_DEVICE_NOT_AVAILABLE;
	if (!rb)
		return CL_INVALID_VALUE;
	if (rb * region[1] <= PIECE)
		nz = PIECE / (rb * region[1]);
	else
		ny = PIECE / rb ? PIECE / rb : 1;
	total = rb * ny * nz;
	tmp = malloc(total);
	if (!tmp)
		return CL_OUT_OF_HOST_MEMORY;
	for (size_t z = 0; !err && z < region[2]; z += nz)
		for (size_t y = 0; !err && y < region[1]; y += ny) {
			struct ferry_image_req r = {.op = write ? FERRY_IMG_WRITE : FERRY_IMG_READ};
			size_t h = region[1] - y < ny ? region[1] - y : ny;
			size_t d = region[2] - z < nz ? region[2] - z : nz, n = rb * h * d;

			r.id = m->image->id;
			r.origin[0] = origin[0];
			r.origin[1] = origin[1] + y;
			r.origin[2] = origin[2] + z;
			r.region[0] = region[0];
			r.region[1] = h;
			r.region[2] = d;
			for (size_t k = 0; write && k < d; k++)
				for (size_t j = 0; j < h; j++)
					memcpy(tmp + (k * h + j) * rb,
					       host + (z + k) * slice + (y + j) * row, rb);
			err = write ? ferry_image_call(vas, &r, tmp, n, NULL, 0)
				    : ferry_image_call(vas, &r, NULL, 0, tmp, n);
			for (size_t k = 0; !err && !write && k < d; k++)
				for (size_t j = 0; j < h; j++)
					memcpy(host + (z + k) * slice + (y + j) * row,
					       tmp + (k * h + j) * rb, rb);
		}
	free(tmp);
	return err;
}

static const cl_mem_flags ACCESS = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY;
static const cl_mem_flags HOST_ACCESS =
	CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS;
static const cl_mem_flags HOST_PTR =
	CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR;

/*
 * The application's layout of a whole image at @host_ptr (desc's pitches,
 * or packed): the row and slice steps ferry_image_transfer() takes; CL_INVALID_IMAGE_DESCRIPTOR
 * for pitches that do not fit.
 */
static cl_int host_layout(const cl_image_desc *d, size_t elem, size_t *row, size_t *slice)
{
	size_t rp = d->image_row_pitch ? d->image_row_pitch : d->image_width * elem;
	size_t rows = d->image_type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? 1 : d->image_height;
	size_t sp;

	if (d->image_type == CL_MEM_OBJECT_IMAGE1D || d->image_type == CL_MEM_OBJECT_IMAGE1D_BUFFER)
		rows = 1;
	sp = d->image_slice_pitch ? d->image_slice_pitch : rp * (rows ? rows : 1);
	FERRY_RETURN_ERROR_ON(rp < d->image_width * elem || rp % elem, CL_INVALID_IMAGE_DESCRIPTOR);
	FERRY_RETURN_ERROR_ON(sp < rp * (rows ? rows : 1) || sp % rp, CL_INVALID_IMAGE_DESCRIPTOR);
	*row = d->image_type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? sp : rp;
	*slice = sp;
	return CL_SUCCESS;
}

/* The host object of a new PoCL image @r (made of @fmt and @d); NULL when out of memory. */
static cl_mem image_object(cl_context context, cl_mem_flags flags, const cl_image_format *fmt,
			   const cl_image_desc *d, const struct ferry_image_req *r)
{
	struct ferry_image *im = calloc(1, sizeof(*im));
	cl_mem m = im ? ferry_mem_new(context, flags, r->size) : NULL;

	if (!m) {
		free(im);
		return NULL;
	}
	im->id = r->id;
	im->format = *fmt;
	im->desc = *d;
	im->elem = r->addr_size;
	im->row_pitch = r->row_pitch;
	im->slice_pitch = r->slice_pitch;
	pthread_mutex_init(&im->lock, NULL);
	m->image = im;
	if (d->buffer)
		ferry_clRetainMemObject(d->buffer);
	ferry_clRetainContext(context);
	return m;
}

/* The request that makes PoCL's image. */
static void create_req(struct ferry_image_req *r, cl_mem_flags flags, const cl_image_format *fmt,
		       const cl_image_desc *d)
{
	r->op = FERRY_IMG_CREATE;
	r->flags = flags & ~(HOST_PTR | HOST_ACCESS);
	r->mem_type = d->image_type;
	r->order = fmt->image_channel_order;
	r->type = fmt->image_channel_data_type;
	r->desc[0] = d->image_width;
	r->desc[1] = d->image_height;
	r->desc[2] = d->image_depth;
	r->desc[3] = d->image_array_size;
	r->desc[4] = d->image_row_pitch;
	r->desc[5] = d->image_slice_pitch;
	if (d->buffer) {
		r->addr = (uint64_t)(uintptr_t)d->buffer->ptr;
		r->addr_size = d->buffer->size;
	}
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateImageWithProperties(
	cl_context context, const cl_mem_properties *properties, cl_mem_flags flags,
	const cl_image_format *image_format, const cl_image_desc *image_desc, void *host_ptr,
	cl_int *errcode_ret)
{
	struct ferry_ctx *vas = vas_or_null();
	struct ferry_image_req r = {0};
	cl_mem buf = image_desc ? image_desc->buffer : NULL, m;
	size_t row = 0, slice = 0, origin[3] = {0}, region[3];
	cl_int err;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(properties && properties[0], CL_INVALID_PROPERTY);
	FERRY_RETURN_NULL_ON(
		flags & ~(ACCESS | HOST_ACCESS | HOST_PTR | CL_MEM_KERNEL_READ_AND_WRITE),
		CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(__builtin_popcountll(flags & ACCESS) > 1, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(__builtin_popcountll(flags & HOST_ACCESS) > 1, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((flags & CL_MEM_USE_HOST_PTR) &&
				     (flags & (CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR)),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(!image_format, CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
	FERRY_RETURN_NULL_ON(!image_desc, CL_INVALID_IMAGE_DESCRIPTOR);
	FERRY_RETURN_NULL_ON(image_desc->num_mip_levels || image_desc->num_samples,
			     CL_INVALID_IMAGE_DESCRIPTOR);
	FERRY_RETURN_NULL_ON(buf && (!ferry_valid_mem(buf) || buf->image),
			     CL_INVALID_IMAGE_DESCRIPTOR);
	FERRY_RETURN_NULL_ON(buf && buf->context != context, CL_INVALID_IMAGE_DESCRIPTOR);
	FERRY_RETURN_NULL_ON(buf && (flags & HOST_PTR), CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(!host_ptr != !(flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR)),
			     CL_INVALID_HOST_PTR);
	FERRY_RETURN_NULL_ON(!host_ptr && !buf &&
				     (image_desc->image_row_pitch || image_desc->image_slice_pitch),
			     CL_INVALID_IMAGE_DESCRIPTOR);
	FERRY_RETURN_NULL_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	if (!(flags & ACCESS))
		flags |= buf ? buf->flags & ACCESS : CL_MEM_READ_WRITE;
	if (buf && !(flags & HOST_ACCESS))
		flags |= buf->flags & HOST_ACCESS;
	create_req(&r, flags, image_format, image_desc);
	err = ferry_image_call(vas, &r, NULL, 0, NULL, 0);
	FERRY_RETURN_NULL_ON(err, err);
	if (host_ptr)
		err = host_layout(image_desc, r.addr_size, &row, &slice);
	m = err ? NULL : image_object(context, flags, image_format, image_desc, &r);
	if (!m) {
		ferry_image_release(vas, r.id, 0);
		FERRY_RETURN_NULL_ON(1, err ? err : CL_OUT_OF_HOST_MEMORY);
	}
	/* the application's data, copied in; with USE_HOST_PTR its memory stays the map's */
	if (host_ptr) {
		ferry_image_whole(image_desc, region);
		err = ferry_image_transfer(m, 1, origin, region, host_ptr, row, slice);
		if (err) {
			ferry_clReleaseMemObject(m);
			FERRY_RETURN_NULL_ON(1, err);
		}
	}
	m->has_properties = properties != NULL; /* and empty: {0} */
	if (flags & CL_MEM_USE_HOST_PTR) {
		m->host_ptr = host_ptr;
		m->image->host_row = row;
		m->image->host_slice = slice;
	}
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return m;
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateImage(cl_context context, cl_mem_flags flags,
						    const cl_image_format *image_format,
						    const cl_image_desc *image_desc, void *host_ptr,
						    cl_int *errcode_ret)
{
	return ferry_clCreateImageWithProperties(context, NULL, flags, image_format, image_desc,
						 host_ptr, errcode_ret);
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateImage2D(cl_context context, cl_mem_flags flags,
						      const cl_image_format *image_format,
						      size_t image_width, size_t image_height,
						      size_t image_row_pitch, void *host_ptr,
						      cl_int *errcode_ret)
{
	const cl_image_desc d = {.image_type = CL_MEM_OBJECT_IMAGE2D,
				 .image_width = image_width,
				 .image_height = image_height,
				 .image_row_pitch = image_row_pitch};

	return ferry_clCreateImage(context, flags, image_format, &d, host_ptr, errcode_ret);
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateImage3D(cl_context context, cl_mem_flags flags,
						      const cl_image_format *image_format,
						      size_t image_width, size_t image_height,
						      size_t image_depth, size_t image_row_pitch,
						      size_t image_slice_pitch, void *host_ptr,
						      cl_int *errcode_ret)
{
	const cl_image_desc d = {.image_type = CL_MEM_OBJECT_IMAGE3D,
				 .image_width = image_width,
				 .image_height = image_height,
				 .image_depth = image_depth,
				 .image_row_pitch = image_row_pitch,
				 .image_slice_pitch = image_slice_pitch};

	return ferry_clCreateImage(context, flags, image_format, &d, host_ptr, errcode_ret);
}

void ferry_image_free(cl_mem m)
{
	struct ferry_image *im = m->image;
	struct ferry_ctx *vas = vas_or_null();

	/* queued commands may still use it: released once they drain */
	if (vas && !ferry_defer_release(im->id, 0))
		ferry_image_release(vas, im->id, 0);
	while (im->maps) {
		struct ferry_image_map *n = im->maps->next;

		if (im->maps->owned)
			free(im->maps->ptr);
		free(im->maps);
		im->maps = n;
	}
	if (im->desc.buffer)
		ferry_clReleaseMemObject(im->desc.buffer);
	pthread_mutex_destroy(&im->lock);
	free(im);
	m->image = NULL;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetImageInfo(cl_mem image, cl_image_info param_name,
						     size_t param_value_size, void *param_value,
						     size_t *param_value_size_ret)
{
	const struct ferry_image *im;
	cl_mem_object_type t;
	size_t v = 0;
	cl_uint zero = 0;

	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(image) || !image->image, CL_INVALID_MEM_OBJECT);
	im = image->image;
	t = im->desc.image_type;
#define RET(x) ferry_api_info(param_value_size, param_value, param_value_size_ret, &(x), sizeof(x))
	switch (param_name) {
	case CL_IMAGE_FORMAT:
		return RET(im->format);
	case CL_IMAGE_ELEMENT_SIZE:
		return RET(im->elem);
	case CL_IMAGE_ROW_PITCH:
		return RET(im->row_pitch);
	case CL_IMAGE_SLICE_PITCH:
		if (t == CL_MEM_OBJECT_IMAGE3D || ferry_image_is_array(t))
			v = im->slice_pitch;
		return RET(v);
	case CL_IMAGE_WIDTH:
		return RET(im->desc.image_width);
	case CL_IMAGE_HEIGHT:
		if (t == CL_MEM_OBJECT_IMAGE2D || t == CL_MEM_OBJECT_IMAGE2D_ARRAY ||
		    t == CL_MEM_OBJECT_IMAGE3D)
			v = im->desc.image_height;
		return RET(v);
	case CL_IMAGE_DEPTH:
		if (t == CL_MEM_OBJECT_IMAGE3D)
			v = im->desc.image_depth;
		return RET(v);
	case CL_IMAGE_ARRAY_SIZE:
		if (ferry_image_is_array(t))
			v = im->desc.image_array_size;
		return RET(v);
	case CL_IMAGE_BUFFER:
		return RET(im->desc.buffer);
	case CL_IMAGE_NUM_MIP_LEVELS:
	case CL_IMAGE_NUM_SAMPLES:
		return RET(zero);
	default:
		return CL_INVALID_VALUE;
	}
#undef RET
}

/* Live samplers, for recognising a cl_sampler handle. */
static pthread_mutex_t samplers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct _cl_sampler *samplers;

int ferry_valid_sampler(cl_sampler s)
{
	int found = 0;

	pthread_mutex_lock(&samplers_lock);
	for (struct _cl_sampler *i = samplers; i && !found; i = i->next)
		found = i == s && atomic_load(&s->refcount) > 0;
	pthread_mutex_unlock(&samplers_lock);
	return found;
}

/* A sampler's properties into @s: CL_INVALID_VALUE for one unknown, repeated or out of range. */
static cl_int sampler_props(cl_sampler s, const cl_sampler_properties *p)
{
	cl_sampler_properties seen[3] = {0};

	s->normalized = CL_TRUE;
	s->addressing = CL_ADDRESS_CLAMP;
	s->filter = CL_FILTER_NEAREST;
	for (size_t i = 0; p && p[i]; i += 2) {
		FERRY_RETURN_ERROR_ON(i + 2 >= sizeof(s->props) / sizeof(s->props[0]),
				      CL_INVALID_VALUE);
		s->props[i] = p[i];
		s->props[i + 1] = p[i + 1];
		s->nprops = i + 3;
		switch (p[i]) {
		case CL_SAMPLER_NORMALIZED_COORDS:
			FERRY_RETURN_ERROR_ON(seen[0]++ || p[i + 1] > CL_TRUE, CL_INVALID_VALUE);
			s->normalized = (cl_bool)p[i + 1];
			break;
		case CL_SAMPLER_ADDRESSING_MODE:
			FERRY_RETURN_ERROR_ON(seen[1]++ || p[i + 1] < CL_ADDRESS_NONE ||
						      p[i + 1] > CL_ADDRESS_MIRRORED_REPEAT,
					      CL_INVALID_VALUE);
			s->addressing = (cl_addressing_mode)p[i + 1];
			break;
		case CL_SAMPLER_FILTER_MODE:
			FERRY_RETURN_ERROR_ON(seen[2]++ || (p[i + 1] != CL_FILTER_NEAREST &&
							    p[i + 1] != CL_FILTER_LINEAR),
					      CL_INVALID_VALUE);
			s->filter = (cl_filter_mode)p[i + 1];
			break;
		default:
			return CL_INVALID_VALUE;
		}
	}
	if (p && !p[0])
		s->nprops = 1;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_sampler CL_API_CALL ferry_clCreateSamplerWithProperties(
	cl_context context, const cl_sampler_properties *sampler_properties, cl_int *errcode_ret)
{
	struct ferry_image_req r = {.op = FERRY_IMG_SAMPLER};
	struct ferry_ctx *vas = vas_or_null();
	cl_sampler s;
	cl_int err;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	s = calloc(1, sizeof(*s));
	FERRY_RETURN_NULL_ON(!s, CL_OUT_OF_HOST_MEMORY);
	err = sampler_props(s, sampler_properties);
	r.desc[0] = s->normalized;
	r.desc[1] = s->addressing;
	r.desc[2] = s->filter;
	if (!err)
		err = ferry_image_call(vas, &r, NULL, 0, NULL, 0);
	if (err) {
		free(s);
		FERRY_RETURN_NULL_ON(1, err);
	}
	s->dispatch = &ferry_dispatch;
	s->magic = FERRY_MAGIC_SAMPLER;
	atomic_init(&s->refcount, 1);
	s->context = context;
	s->id = r.id;
	ferry_clRetainContext(context);
	pthread_mutex_lock(&samplers_lock);
	s->next = samplers;
	samplers = s;
	pthread_mutex_unlock(&samplers_lock);
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return s;
}

CL_API_ENTRY cl_sampler CL_API_CALL ferry_clCreateSampler(cl_context context,
							  cl_bool normalized_coords,
							  cl_addressing_mode addressing_mode,
							  cl_filter_mode filter_mode,
							  cl_int *errcode_ret)
{
	const cl_sampler_properties p[] = {CL_SAMPLER_NORMALIZED_COORDS,
					   normalized_coords,
					   CL_SAMPLER_ADDRESSING_MODE,
					   addressing_mode,
					   CL_SAMPLER_FILTER_MODE,
					   filter_mode,
					   0};
	cl_sampler s = ferry_clCreateSamplerWithProperties(context, p, errcode_ret);

	if (s)
		s->nprops = 0; /* CL_SAMPLER_PROPERTIES: none given */
	return s;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainSampler(cl_sampler sampler)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_sampler(sampler), CL_INVALID_SAMPLER);
	atomic_fetch_add(&sampler->refcount, 1);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseSampler(cl_sampler sampler)
{
	struct ferry_ctx *vas = vas_or_null();

	FERRY_RETURN_ERROR_ON(!ferry_valid_sampler(sampler), CL_INVALID_SAMPLER);
	if (atomic_fetch_sub(&sampler->refcount, 1) != 1)
		return CL_SUCCESS;
	pthread_mutex_lock(&samplers_lock);
	for (struct _cl_sampler **pp = &samplers; *pp; pp = &(*pp)->next)
		if (*pp == sampler) {
			*pp = sampler->next;
			break;
		}
	pthread_mutex_unlock(&samplers_lock);
	if (vas && !ferry_defer_release(sampler->id, 1))
		ferry_image_release(vas, sampler->id, 1);
	ferry_clReleaseContext(sampler->context);
	sampler->dispatch = NULL;
	free(sampler);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetSamplerInfo(cl_sampler sampler,
						       cl_sampler_info param_name,
						       size_t param_value_size, void *param_value,
						       size_t *param_value_size_ret)
{
	cl_uint refs;

	FERRY_RETURN_ERROR_ON(!ferry_valid_sampler(sampler), CL_INVALID_SAMPLER);
#define RET(x) ferry_api_info(param_value_size, param_value, param_value_size_ret, &(x), sizeof(x))
	switch (param_name) {
	case CL_SAMPLER_REFERENCE_COUNT:
		refs = atomic_load(&sampler->refcount);
		return RET(refs);
	case CL_SAMPLER_CONTEXT:
		return RET(sampler->context);
	case CL_SAMPLER_NORMALIZED_COORDS:
		return RET(sampler->normalized);
	case CL_SAMPLER_ADDRESSING_MODE:
		return RET(sampler->addressing);
	case CL_SAMPLER_FILTER_MODE:
		return RET(sampler->filter);
	case CL_SAMPLER_PROPERTIES:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      sampler->props, sampler->nprops * sizeof(sampler->props[0]));
	default:
		return CL_INVALID_VALUE;
	}
#undef RET
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
