/* SPDX-License-Identifier: MIT */
/*
 * buffer.c - buffers and sub-buffers, implemented on managed memory: a
 * buffer is an allocation in the window, passed to kernels as its address,
 * so its pages migrate exactly as SVM pages do.
 *
 * CL_MEM_USE_HOST_PTR with memory outside the window: the buffer keeps its
 * own managed copy; the host pointer is updated when the buffer is mapped
 * (and read back at unmap), as the specification's synchronisation points
 * require. With a pointer into an SVM allocation (clSVMAlloc), the buffer
 * *is* that memory, as OpenCL 2.0 on says: no copy, CL_MEM_USES_SVM_POINTER,
 * and its size must fit in the allocation.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

/* Live buffers, for recognising a cl_mem passed to clSetKernelArg. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static cl_mem *live;
static size_t nlive, live_room;

static int track(cl_mem m)
{
	pthread_mutex_lock(&live_lock);
	if (nlive == live_room) {
		size_t room = live_room ? 2 * live_room : 64;
		cl_mem *n = realloc(live, room * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&live_lock);
			return -1;
		}
		live = n;
		live_room = room;
	}
	live[nlive++] = m;
	pthread_mutex_unlock(&live_lock);
	return 0;
}

static void untrack(cl_mem m)
{
	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < nlive; i++)
		if (live[i] == m) {
			live[i] = live[--nlive];
			break;
		}
	pthread_mutex_unlock(&live_lock);
}

int ferry_valid_mem(cl_mem m)
{
	int found = 0;

	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < nlive && !found; i++)
		found = live[i] == m;
	pthread_mutex_unlock(&live_lock);
	return found && atomic_load(&m->refcount) > 0;
}

static const cl_mem_flags ACCESS = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY;
static const cl_mem_flags HOST_ACCESS =
	CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS;
static const cl_mem_flags HOST_PTR =
	CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR;

cl_mem ferry_mem_new(cl_context ctx, cl_mem_flags flags, size_t size)
{
	cl_mem m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->dispatch = &ferry_dispatch;
	m->magic = FERRY_MAGIC_MEM;
	atomic_init(&m->refcount, 1);
	atomic_init(&m->maps, 0);
	m->context = ctx;
	m->flags = flags;
	m->size = size;
	if (track(m)) {
		free(m);
		return NULL;
	}
	return m;
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateBufferWithProperties(
	cl_context context, const cl_mem_properties *properties, cl_mem_flags flags, size_t size,
	void *host_ptr, cl_int *errcode_ret)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	uint64_t abase = 0, asize = 0;
	cl_ulong cap = 0;
	bool svm;
	cl_mem m;

	FERRY_RETURN_NULL_ON(!ferry_valid_context(context), CL_INVALID_CONTEXT);
	FERRY_RETURN_NULL_ON(properties && properties[0], CL_INVALID_PROPERTY);
	FERRY_RETURN_NULL_ON(flags & ~(ACCESS | HOST_ACCESS | HOST_PTR), CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(__builtin_popcountll(flags & ACCESS) > 1, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(__builtin_popcountll(flags & HOST_ACCESS) > 1, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((flags & CL_MEM_USE_HOST_PTR) &&
				     (flags & (CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR)),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(!host_ptr != !(flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR)),
			     CL_INVALID_HOST_PTR);
	ferry_clGetDeviceInfo(context->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(cap), &cap,
			      NULL);
	FERRY_RETURN_NULL_ON(size == 0 || size > cap, CL_INVALID_BUFFER_SIZE);
	FERRY_RETURN_NULL_ON(!vas, CL_DEVICE_NOT_AVAILABLE);
	svm = (flags & CL_MEM_USE_HOST_PTR) && !ferry_alloc_find(vas, host_ptr, &abase, &asize);
	FERRY_RETURN_NULL_ON(svm && size > abase + asize - (uint64_t)(uintptr_t)host_ptr,
			     CL_INVALID_BUFFER_SIZE);

	m = ferry_mem_new(context, (flags & ACCESS) ? flags : flags | CL_MEM_READ_WRITE, size);
	FERRY_RETURN_NULL_ON(!m, CL_OUT_OF_HOST_MEMORY);
	m->has_properties = properties != NULL; /* and empty: {0} */
	if (svm) {
		m->ptr = host_ptr;
		m->uses_svm = true;
		goto done;
	}
	m->ptr = ferry_alloc(vas, size, 128);
	if (!m->ptr) {
		untrack(m);
		free(m);
		FERRY_RETURN_NULL_ON(1, CL_MEM_OBJECT_ALLOCATION_FAILURE);
	}
	if (flags & CL_MEM_USE_HOST_PTR)
		m->host_ptr = host_ptr;
	if (host_ptr)
		memcpy(m->ptr, host_ptr, size);
done:
	ferry_clRetainContext(context);
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return m;
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateBuffer(cl_context context, cl_mem_flags flags,
						     size_t size, void *host_ptr,
						     cl_int *errcode_ret)
{
	return ferry_clCreateBufferWithProperties(context, NULL, flags, size, host_ptr,
						  errcode_ret);
}

CL_API_ENTRY cl_mem CL_API_CALL ferry_clCreateSubBuffer(cl_mem buffer, cl_mem_flags flags,
							cl_buffer_create_type type,
							const void *info, cl_int *errcode_ret)
{
	const cl_buffer_region *r = info;
	cl_mem m;

	FERRY_RETURN_NULL_ON(!ferry_valid_mem(buffer) || buffer->parent || buffer->image,
			     CL_INVALID_MEM_OBJECT);
	FERRY_RETURN_NULL_ON(flags & ~(ACCESS | HOST_ACCESS), CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(__builtin_popcountll(flags & ACCESS) > 1, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((buffer->flags & CL_MEM_WRITE_ONLY) &&
				     (flags & (CL_MEM_READ_WRITE | CL_MEM_READ_ONLY)),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((buffer->flags & CL_MEM_READ_ONLY) &&
				     (flags & (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY)),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(type != CL_BUFFER_CREATE_TYPE_REGION || !r, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(r->size == 0, CL_INVALID_BUFFER_SIZE);
	FERRY_RETURN_NULL_ON(r->origin > buffer->size || r->size > buffer->size - r->origin,
			     CL_INVALID_VALUE);
	/* CL_DEVICE_MEM_BASE_ADDR_ALIGN is PoCL's 1024 bits */
	FERRY_RETURN_NULL_ON(r->origin % 128, CL_MISALIGNED_SUB_BUFFER_OFFSET);
	if (!(flags & ACCESS))
		flags |= buffer->flags & ACCESS;
	if (!(flags & HOST_ACCESS))
		flags |= buffer->flags & HOST_ACCESS;
	/* a sub-buffer inherits how its parent's memory came to be */
	m = ferry_mem_new(buffer->context, flags | (buffer->flags & HOST_PTR), r->size);
	FERRY_RETURN_NULL_ON(!m, CL_OUT_OF_HOST_MEMORY);
	m->parent = buffer;
	m->origin = r->origin;
	m->ptr = (char *)buffer->ptr + r->origin;
	m->uses_svm = buffer->uses_svm;
	if (buffer->host_ptr)
		m->host_ptr = (char *)buffer->host_ptr + r->origin;
	ferry_clRetainMemObject(buffer);
	if (errcode_ret)
		*errcode_ret = CL_SUCCESS;
	return m;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainMemObject(cl_mem m)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(m), CL_INVALID_MEM_OBJECT);
	atomic_fetch_add(&m->refcount, 1);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseMemObject(cl_mem m)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(m), CL_INVALID_MEM_OBJECT);
	if (atomic_fetch_sub(&m->refcount, 1) == 1) {
		cl_context c = m->context;
		cl_mem parent = m->parent;

		untrack(m);
		/* destructor callbacks run in reverse order of registration */
		for (int i = m->ncallbacks - 1; i >= 0; i--)
			m->callbacks[i].fn(m, m->callbacks[i].user_data);
		/* queued commands may still use the memory: freed once they drain */
		if (m->image)
			ferry_image_free(m);
		else if (!parent && !m->uses_svm && !ferry_defer_svm_free(m->ptr))
			ferry_free(ferry_api_vaspace(NULL), m->ptr);
		m->dispatch = NULL;
		free(m);
		if (parent)
			ferry_clReleaseMemObject(parent);
		else
			ferry_clReleaseContext(c);
	}
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clSetMemObjectDestructorCallback(
	cl_mem m, void(CL_CALLBACK *fn)(cl_mem, void *), void *user_data)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(m), CL_INVALID_MEM_OBJECT);
	FERRY_RETURN_ERROR_ON(!fn, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(m->ncallbacks >= FERRY_MEM_CALLBACKS, CL_OUT_OF_RESOURCES);
	m->callbacks[m->ncallbacks].fn = fn;
	m->callbacks[m->ncallbacks++].user_data = user_data;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetMemObjectInfo(cl_mem m, cl_mem_info param_name,
							 size_t param_value_size, void *param_value,
							 size_t *param_value_size_ret)
{
	cl_mem_object_type type = CL_MEM_OBJECT_BUFFER;
	cl_uint refs, maps;
	cl_bool uses_svm;
	void *hp = NULL;

	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(m), CL_INVALID_MEM_OBJECT);
	hp = m->uses_svm && (m->flags & CL_MEM_USE_HOST_PTR) ? m->ptr : m->host_ptr;
	if (m->image)
		type = m->image->desc.image_type;
	uses_svm = m->uses_svm;
#define RET(v) ferry_api_info(param_value_size, param_value, param_value_size_ret, &(v), sizeof(v))
	switch (param_name) {
	case CL_MEM_TYPE:
		return RET(type);
	case CL_MEM_FLAGS:
		return RET(m->flags);
	case CL_MEM_SIZE:
		return RET(m->size);
	case CL_MEM_HOST_PTR:
		return RET(hp);
	case CL_MEM_MAP_COUNT:
		maps = atomic_load(&m->maps);
		return RET(maps);
	case CL_MEM_REFERENCE_COUNT:
		refs = atomic_load(&m->refcount);
		return RET(refs);
	case CL_MEM_CONTEXT:
		return RET(m->context);
	case CL_MEM_ASSOCIATED_MEMOBJECT:
		return m->image ? RET(m->image->desc.buffer) : RET(m->parent);
	case CL_MEM_OFFSET:
		return RET(m->origin);
	case CL_MEM_USES_SVM_POINTER:
		return RET(uses_svm);
	case CL_MEM_PROPERTIES: /* the list it was created with: none, or the empty {0} */
		return ferry_api_info(param_value_size, param_value, param_value_size_ret,
				      &(cl_mem_properties){0},
				      m->has_properties ? sizeof(cl_mem_properties) : 0);
	default:
		return CL_INVALID_VALUE;
	}
#undef RET
}

/* Checks shared by the buffer commands. */
static cl_int check_cmd(cl_command_queue q, cl_mem m, size_t offset, size_t size,
			cl_uint num_events, const cl_event *events)
{
	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(!ferry_valid_mem(m) || m->image, CL_INVALID_MEM_OBJECT);
	FERRY_RETURN_ERROR_ON(m->context != q->context, CL_INVALID_CONTEXT);
	FERRY_RETURN_ERROR_ON(offset > m->size || size > m->size - offset, CL_INVALID_VALUE);
	return ferry_check_wait_list(q->context, num_events, events);
}

/* A buffer command: bytes between a buffer and host memory (or another buffer). */
struct buf_arg {
	struct ferry_cmd_head h;
	cl_mem m, m2; /* retained */
	char *dst;
	const char *src;
	size_t size;
	size_t pattern_size;
	unsigned char pattern[128];
};

static void buf_cleanup(void *p)
{
	struct buf_arg *a = p;

	ferry_clReleaseMemObject(a->m);
	if (a->m2)
		ferry_clReleaseMemObject(a->m2);
}

static struct buf_arg *buf_arg(cl_mem m, cl_mem m2, void *dst, const void *src, size_t size)
{
	struct buf_arg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->h.cleanup = buf_cleanup;
	a->m = m;
	a->m2 = m2;
	a->dst = dst;
	a->src = src;
	a->size = size;
	ferry_clRetainMemObject(m);
	if (m2)
		ferry_clRetainMemObject(m2);
	return a;
}

static cl_int copy_run(void *p)
{
	struct buf_arg *a = p;

	if (a->size)
		memcpy(a->dst, a->src, a->size);
	return CL_SUCCESS;
}

/*
 * Is most of [p, p + size) on the device? Then a transfer is done by the
 * device through its view (a DMA, on a GPU) instead of faulting the pages
 * back to the host only to overwrite or read them there.
 */
static int mostly_on_device(struct ferry_ctx *vas, const void *p, size_t size)
{
	uint64_t a = (uint64_t)(uintptr_t)p & ~(FERRY_PAGE_SIZE - 1);
	uint64_t end =
		((uint64_t)(uintptr_t)p + size + FERRY_PAGE_SIZE - 1) & ~(FERRY_PAGE_SIZE - 1);
	uint64_t count[4];

	if (!vas || ferry_is_coherent(vas, p) ||
	    ferry_query_residency(vas, (void *)(uintptr_t)a, end - a, NULL, count))
		return 0;
	return count[FERRY_RES_DEVICE] > count[FERRY_RES_HOST] + count[FERRY_RES_UNTOUCHED];
}

static cl_int write_run(void *p)
{
	struct buf_arg *a = p;
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	if (mostly_on_device(vas, a->dst, a->size))
		return ferry_dev_write(vas, a->dst, a->src, a->size) ? CL_OUT_OF_RESOURCES
								     : CL_SUCCESS;
	return copy_run(p);
}

static cl_int read_run(void *p)
{
	struct buf_arg *a = p;
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);

	if (mostly_on_device(vas, a->src, a->size))
		return ferry_dev_read(vas, a->src, a->dst, a->size) ? CL_OUT_OF_RESOURCES
								    : CL_SUCCESS;
	return copy_run(p);
}

static cl_int fill_run(void *p)
{
	struct buf_arg *a = p;

	for (size_t o = 0; o < a->size; o += a->pattern_size)
		memcpy(a->dst + o, a->pattern, a->pattern_size);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueReadBuffer(cl_command_queue q, cl_mem m,
							  cl_bool blocking, size_t offset,
							  size_t size, void *ptr,
							  cl_uint num_events,
							  const cl_event *events, cl_event *event)
{
	cl_int err = check_cmd(q, m, offset, size, num_events, events);
	struct buf_arg *a;

	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(!ptr || size == 0, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(m->flags & (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS),
			      CL_INVALID_OPERATION);
	a = buf_arg(m, NULL, ptr, (char *)m->ptr + offset, size);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	return ferry_enqueue(q, CL_COMMAND_READ_BUFFER, num_events, events, event, blocking,
			     read_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueWriteBuffer(cl_command_queue q, cl_mem m,
							   cl_bool blocking, size_t offset,
							   size_t size, const void *ptr,
							   cl_uint num_events,
							   const cl_event *events, cl_event *event)
{
	cl_int err = check_cmd(q, m, offset, size, num_events, events);
	struct buf_arg *a;

	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(!ptr || size == 0, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(m->flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS),
			      CL_INVALID_OPERATION);
	a = buf_arg(m, NULL, (char *)m->ptr + offset, ptr, size);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	return ferry_enqueue(q, CL_COMMAND_WRITE_BUFFER, num_events, events, event, blocking,
			     write_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueCopyBuffer(cl_command_queue q, cl_mem src,
							  cl_mem dst, size_t src_offset,
							  size_t dst_offset, size_t size,
							  cl_uint num_events,
							  const cl_event *events, cl_event *event)
{
	cl_int err = check_cmd(q, src, src_offset, size, num_events, events);
	struct buf_arg *a;

	FERRY_RETURN_ERROR_ON(err, err);
	err = check_cmd(q, dst, dst_offset, size, 0, NULL);
	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(size == 0, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(
		(char *)src->ptr + src_offset < (char *)dst->ptr + dst_offset + size &&
			(char *)dst->ptr + dst_offset < (char *)src->ptr + src_offset + size,
		CL_MEM_COPY_OVERLAP);
	a = buf_arg(src, dst, (char *)dst->ptr + dst_offset, (char *)src->ptr + src_offset, size);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	return ferry_enqueue(q, CL_COMMAND_COPY_BUFFER, num_events, events, event, 0, copy_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueFillBuffer(cl_command_queue q, cl_mem m,
							  const void *pattern, size_t pattern_size,
							  size_t offset, size_t size,
							  cl_uint num_events,
							  const cl_event *events, cl_event *event)
{
	cl_int err = check_cmd(q, m, offset, size, num_events, events);
	struct buf_arg *a;

	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(!pattern || pattern_size == 0 || pattern_size > 128 ||
				      (pattern_size & (pattern_size - 1)),
			      CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(offset % pattern_size || size % pattern_size, CL_INVALID_VALUE);
	a = buf_arg(m, NULL, (char *)m->ptr + offset, NULL, size);
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->pattern_size = pattern_size;
	memcpy(a->pattern, pattern, pattern_size);
	return ferry_enqueue(q, CL_COMMAND_FILL_BUFFER, num_events, events, event, 0, fill_run, a);
}

CL_API_ENTRY void *CL_API_CALL ferry_clEnqueueMapBuffer(cl_command_queue q, cl_mem m,
							cl_bool blocking, cl_map_flags flags,
							size_t offset, size_t size,
							cl_uint num_events, const cl_event *events,
							cl_event *event, cl_int *errcode_ret)
{
	cl_int err = check_cmd(q, m, offset, size, num_events, events);
	struct buf_arg *a;
	char *p;

	FERRY_RETURN_NULL_ON(err, err);
	FERRY_RETURN_NULL_ON(size == 0, CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON(flags & ~(cl_map_flags)(CL_MAP_READ | CL_MAP_WRITE |
						     CL_MAP_WRITE_INVALIDATE_REGION),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((flags & CL_MAP_WRITE_INVALIDATE_REGION) &&
				     (flags & (CL_MAP_READ | CL_MAP_WRITE)),
			     CL_INVALID_VALUE);
	FERRY_RETURN_NULL_ON((flags & CL_MAP_READ) &&
				     (m->flags & (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS)),
			     CL_INVALID_OPERATION);
	FERRY_RETURN_NULL_ON((flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION)) &&
				     (m->flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS)),
			     CL_INVALID_OPERATION);
	if (m->host_ptr) {
		/* USE_HOST_PTR: the mapped region is the application's own memory, updated */
		p = (char *)m->host_ptr + offset;
		a = buf_arg(m, NULL, p, (char *)m->ptr + offset,
			    flags & CL_MAP_WRITE_INVALIDATE_REGION ? 0 : size);
	} else {
		p = (char *)m->ptr + offset; /* the host view of managed memory */
		a = buf_arg(m, NULL, NULL, NULL, 0);
	}
	FERRY_RETURN_NULL_ON(!a, CL_OUT_OF_HOST_MEMORY);
	atomic_fetch_add(&m->maps, 1);
	err = ferry_enqueue(q, CL_COMMAND_MAP_BUFFER, num_events, events, event, blocking, copy_run,
			    a);
	if (err)
		atomic_fetch_sub(&m->maps, 1);
	if (errcode_ret)
		*errcode_ret = err;
	return err ? NULL : p;
}

static cl_int unmap_run(void *p)
{
	struct buf_arg *a = p;

	copy_run(p);
	atomic_fetch_sub(&a->m->maps, 1);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueUnmapMemObject(cl_command_queue q, cl_mem m,
							      void *mapped, cl_uint num_events,
							      const cl_event *events,
							      cl_event *event)
{
	cl_int err;
	struct buf_arg *a;

	if (ferry_valid_mem(m) && m->image)
		return ferry_image_unmap(q, m, mapped, num_events, events, event);
	err = check_cmd(q, m, 0, 0, num_events, events);
	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(atomic_load(&m->maps) == 0, CL_INVALID_VALUE);
	if (m->host_ptr) {
		char *h = m->host_ptr;
		size_t off = (size_t)((char *)mapped - h);

		FERRY_RETURN_ERROR_ON((char *)mapped < h || (char *)mapped >= h + m->size,
				      CL_INVALID_VALUE);
		/* the whole tail from the mapped pointer: the map's size is not recorded */
		a = buf_arg(m, NULL, (char *)m->ptr + off, mapped, m->size - off);
	} else {
		FERRY_RETURN_ERROR_ON((char *)mapped < (char *)m->ptr ||
					      (char *)mapped >= (char *)m->ptr + m->size,
				      CL_INVALID_VALUE);
		a = buf_arg(m, NULL, NULL, NULL, 0);
	}
	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	return ferry_enqueue(q, CL_COMMAND_UNMAP_MEM_OBJECT, num_events, events, event, 0,
			     unmap_run, a);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueMigrateMemObjects(
	cl_command_queue q, cl_uint num_mem_objects, const cl_mem *mem_objects,
	cl_mem_migration_flags flags, cl_uint num_events, const cl_event *events, cl_event *event)
{
	const void *ptrs[64];
	size_t sizes[64];
	cl_uint n = 0;

	FERRY_RETURN_ERROR_ON(!ferry_valid_queue(q), CL_INVALID_COMMAND_QUEUE);
	FERRY_RETURN_ERROR_ON(num_mem_objects == 0 || !mem_objects, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(num_mem_objects > 64, CL_OUT_OF_RESOURCES);
	for (cl_uint i = 0; i < num_mem_objects; i++) {
		FERRY_RETURN_ERROR_ON(!ferry_valid_mem(mem_objects[i]), CL_INVALID_MEM_OBJECT);
		FERRY_RETURN_ERROR_ON(mem_objects[i]->context != q->context, CL_INVALID_CONTEXT);
		/* an image lives in ferry-device: nothing to move */
		if (mem_objects[i]->image)
			continue;
		ptrs[n] = mem_objects[i]->ptr;
		sizes[n++] = mem_objects[i]->size;
	}
	FERRY_RETURN_ERROR_ON(
		flags & ~(cl_mem_migration_flags)(CL_MIGRATE_MEM_OBJECT_HOST |
						  CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED),
		CL_INVALID_VALUE);
	if (n == 0 && ferry_check_wait_list(q->context, num_events, events))
		return ferry_check_wait_list(q->context, num_events, events);
	if (n == 0)
		return ferry_enqueue(q, CL_COMMAND_MIGRATE_MEM_OBJECTS, num_events, events, event,
				     0, NULL, NULL);
	/* The same pages move the same way as SVM's. */
	cl_int err =
		ferry_clEnqueueSVMMigrateMem(q, n, ptrs, sizes, flags, num_events, events, event);

	if (!err && event && *event)
		(*event)->type = CL_COMMAND_MIGRATE_MEM_OBJECTS;
	return err;
}

/* Rectangular transfers: rows of a 3D region, copied on the host in queue order. */
struct rect_arg {
	struct ferry_cmd_head h;
	cl_mem m, m2; /* retained */
	char *dst;
	const char *src;
	size_t region[3];
	size_t dst_row, dst_slice, src_row, src_slice;
};

static void rect_cleanup(void *p)
{
	struct rect_arg *a = p;

	ferry_clReleaseMemObject(a->m);
	if (a->m2)
		ferry_clReleaseMemObject(a->m2);
}

static cl_int rect_run(void *p)
{
	struct rect_arg *a = p;

	for (size_t z = 0; z < a->region[2]; z++)
		for (size_t y = 0; y < a->region[1]; y++)
			memcpy(a->dst + z * a->dst_slice + y * a->dst_row,
			       a->src + z * a->src_slice + y * a->src_row, a->region[0]);
	return CL_SUCCESS;
}

/* Pitches defaulted and checked as the specification says; the offset of the origin. */
static cl_int rect_layout(const size_t *origin, const size_t *region, size_t *row, size_t *slice,
			  size_t *offset)
{
	FERRY_RETURN_ERROR_ON(!origin || !region, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(!region[0] || !region[1] || !region[2], CL_INVALID_VALUE);
	if (*row == 0)
		*row = region[0];
	FERRY_RETURN_ERROR_ON(*row < region[0], CL_INVALID_VALUE);
	if (*slice == 0)
		*slice = region[1] * *row;
	FERRY_RETURN_ERROR_ON(*slice < region[1] * *row || *slice % *row, CL_INVALID_VALUE);
	*offset = origin[2] * *slice + origin[1] * *row + origin[0];
	return CL_SUCCESS;
}

static size_t rect_extent(const size_t *region, size_t row, size_t slice)
{
	return (region[2] - 1) * slice + (region[1] - 1) * row + region[0];
}

/*
 * Do two rectangles share a byte? Each is region[1] * region[2] rows of
 * region[0] bytes from @a (@b), in increasing order and apart (rect_layout():
 * a row pitch is at least a row, a slice pitch at least its rows), so one walk
 * over both lists, always stepping the one that ends first, finds it.
 */
static bool rects_overlap(uintptr_t a, size_t arow, size_t aslice, uintptr_t b, size_t brow,
			  size_t bslice, const size_t *region)
{
	const size_t rows = region[1] * region[2];
	size_t ia = 0, ib = 0;

	if (a >= b + rect_extent(region, brow, bslice) ||
	    b >= a + rect_extent(region, arow, aslice))
		return false;
	while (ia < rows && ib < rows) {
		uintptr_t ra = a + ia % region[1] * arow + ia / region[1] * aslice;
		uintptr_t rb = b + ib % region[1] * brow + ib / region[1] * bslice;

		if (ra < rb + region[0] && rb < ra + region[0])
			return true;
		if (ra < rb)
			ia++;
		else
			ib++;
	}
	return false;
}

static cl_int enqueue_rect(cl_command_queue q, cl_command_type type, cl_mem m, cl_mem m2, char *dst,
			   const char *src, const size_t *region, size_t dst_row, size_t dst_slice,
			   size_t src_row, size_t src_slice, int blocking, cl_uint num_events,
			   const cl_event *events, cl_event *event)
{
	struct rect_arg *a = calloc(1, sizeof(*a));

	FERRY_RETURN_ERROR_ON(!a, CL_OUT_OF_HOST_MEMORY);
	a->h.cleanup = rect_cleanup;
	a->m = m;
	a->m2 = m2;
	ferry_clRetainMemObject(m);
	if (m2)
		ferry_clRetainMemObject(m2);
	a->dst = dst;
	a->src = src;
	memcpy(a->region, region, sizeof(a->region));
	a->dst_row = dst_row;
	a->dst_slice = dst_slice;
	a->src_row = src_row;
	a->src_slice = src_slice;
	return ferry_enqueue(q, type, num_events, events, event, blocking, rect_run, a);
}

/* A rectangle between a buffer and host memory, either way (@to_host: a read). */
static cl_int host_rect(cl_command_queue q, cl_mem m, int to_host, cl_bool blocking,
			const size_t *buffer_origin, const size_t *host_origin,
			const size_t *region, size_t buffer_row_pitch, size_t buffer_slice_pitch,
			size_t host_row_pitch, size_t host_slice_pitch, void *ptr,
			cl_uint num_events, const cl_event *events, cl_event *event)
{
	const cl_mem_flags forbidden =
		CL_MEM_HOST_NO_ACCESS | (to_host ? CL_MEM_HOST_WRITE_ONLY : CL_MEM_HOST_READ_ONLY);
	size_t boff, hoff;
	char *b, *h;
	cl_int err = check_cmd(q, m, 0, 0, num_events, events);

	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(!ptr, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(m->flags & forbidden, CL_INVALID_OPERATION);
	err = rect_layout(buffer_origin, region, &buffer_row_pitch, &buffer_slice_pitch, &boff);
	FERRY_RETURN_ERROR_ON(err, err);
	err = rect_layout(host_origin, region, &host_row_pitch, &host_slice_pitch, &hoff);
	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(boff + rect_extent(region, buffer_row_pitch, buffer_slice_pitch) >
				      m->size,
			      CL_INVALID_VALUE);
	b = (char *)m->ptr + boff;
	h = (char *)ptr + hoff;
	if (to_host)
		return enqueue_rect(q, CL_COMMAND_READ_BUFFER_RECT, m, NULL, h, b, region,
				    host_row_pitch, host_slice_pitch, buffer_row_pitch,
				    buffer_slice_pitch, blocking, num_events, events, event);
	return enqueue_rect(q, CL_COMMAND_WRITE_BUFFER_RECT, m, NULL, b, h, region,
			    buffer_row_pitch, buffer_slice_pitch, host_row_pitch, host_slice_pitch,
			    blocking, num_events, events, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueReadBufferRect(
	cl_command_queue q, cl_mem m, cl_bool blocking, const size_t *buffer_origin,
	const size_t *host_origin, const size_t *region, size_t buffer_row_pitch,
	size_t buffer_slice_pitch, size_t host_row_pitch, size_t host_slice_pitch, void *ptr,
	cl_uint num_events, const cl_event *events, cl_event *event)
{
	return host_rect(q, m, 1, blocking, buffer_origin, host_origin, region, buffer_row_pitch,
			 buffer_slice_pitch, host_row_pitch, host_slice_pitch, ptr, num_events,
			 events, event);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clEnqueueWriteBufferRect(
	cl_command_queue q, cl_mem m, cl_bool blocking, const size_t *buffer_origin,
	const size_t *host_origin, const size_t *region, size_t buffer_row_pitch,
	size_t buffer_slice_pitch, size_t host_row_pitch, size_t host_slice_pitch, const void *ptr,
	cl_uint num_events, const cl_event *events, cl_event *event)
{
	return host_rect(q, m, 0, blocking, buffer_origin, host_origin, region, buffer_row_pitch,
			 buffer_slice_pitch, host_row_pitch, host_slice_pitch, (void *)ptr,
			 num_events, events, event);
}

CL_API_ENTRY cl_int CL_API_CALL
ferry_clEnqueueCopyBufferRect(cl_command_queue q, cl_mem src, cl_mem dst, const size_t *src_origin,
			      const size_t *dst_origin, const size_t *region, size_t src_row_pitch,
			      size_t src_slice_pitch, size_t dst_row_pitch, size_t dst_slice_pitch,
			      cl_uint num_events, const cl_event *events, cl_event *event)
{
	size_t soff, doff;
	cl_int err = check_cmd(q, src, 0, 0, num_events, events);

	FERRY_RETURN_ERROR_ON(err, err);
	err = check_cmd(q, dst, 0, 0, 0, NULL);
	FERRY_RETURN_ERROR_ON(err, err);
	err = rect_layout(src_origin, region, &src_row_pitch, &src_slice_pitch, &soff);
	FERRY_RETURN_ERROR_ON(err, err);
	err = rect_layout(dst_origin, region, &dst_row_pitch, &dst_slice_pitch, &doff);
	FERRY_RETURN_ERROR_ON(err, err);
	FERRY_RETURN_ERROR_ON(
		soff + rect_extent(region, src_row_pitch, src_slice_pitch) > src->size ||
			doff + rect_extent(region, dst_row_pitch, dst_slice_pitch) > dst->size,
		CL_INVALID_VALUE);
	/* the same memory (one buffer, sub-buffers of one): no byte in both rectangles */
	/* as the specification words it: both pitches differ */
	FERRY_RETURN_ERROR_ON(src == dst && src_row_pitch != dst_row_pitch &&
				      src_slice_pitch != dst_slice_pitch,
			      CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(rects_overlap((uintptr_t)src->ptr + soff, src_row_pitch,
					    src_slice_pitch, (uintptr_t)dst->ptr + doff,
					    dst_row_pitch, dst_slice_pitch, region),
			      CL_MEM_COPY_OVERLAP);
	return enqueue_rect(q, CL_COMMAND_COPY_BUFFER_RECT, src, dst, (char *)dst->ptr + doff,
			    (const char *)src->ptr + soff, region, dst_row_pitch, dst_slice_pitch,
			    src_row_pitch, src_slice_pitch, 0, num_events, events, event);
}
