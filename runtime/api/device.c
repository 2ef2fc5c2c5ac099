/* SPDX-License-Identifier: MIT */
/*
 * device.c - the Ferry device: ferry-device running PoCL's CPU device.
 *
 * What the compute engine decides (compute units, work-group and work-item
 * limits, OpenCL C version, vector widths, kernel-language extensions) is
 * PoCL's answer, asked inside ferry-device. What Ferry decides (type, names,
 * versions, memory sizes, SVM, images, native kernels, partitioning, API
 * extensions) is answered here, with the device's timers; the image limits
 * and CL_DEVICE_IMAGE_SUPPORT are PoCL's (images are PoCL's, image.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/features.h"
#include "api/api.h"
#include "common/settings.h"

struct _cl_device_id ferry_device = {.dispatch = &ferry_dispatch};

/* Kernel-language extensions of PoCL that hold for Ferry as they are. */
static const char *const kernel_extensions[] = {
	"cl_khr_byte_addressable_store",
	"cl_khr_global_int32_base_atomics",
	"cl_khr_global_int32_extended_atomics",
	"cl_khr_local_int32_base_atomics",
	"cl_khr_local_int32_extended_atomics",
	"cl_khr_int64_base_atomics",
	"cl_khr_int64_extended_atomics",
	"cl_khr_fp16",
	"cl_khr_fp64",
	"cl_khr_3d_image_writes",
};

static int kept_extension(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(kernel_extensions) / sizeof(kernel_extensions[0]); i++)
		if (strlen(kernel_extensions[i]) == len &&
		    !strncmp(kernel_extensions[i], name, len))
			return 1;
	return 0;
}

/* Fetch a PoCL value into malloc'd memory. */
static cl_int pocl_info(cl_device_info param, void **val, size_t *size)
{
	struct ferry_ctx *vas = ferry_api_vaspace(NULL);
	cl_int err;

	if (!vas)
		return CL_DEVICE_NOT_AVAILABLE;
	err = ferry_device_info(vas, param, 0, NULL, size);
	if (err)
		return err;
	*val = malloc(*size ? *size : 1);
	if (!*val)
		return CL_OUT_OF_HOST_MEMORY;
	err = ferry_device_info(vas, param, *size, *val, size);
	if (err)
		free(*val);
	return err;
}

static cl_int extensions_string(size_t pvs, void *pv, size_t *pvsr)
{
	char *in, *out;
	size_t size, o = 0;
	cl_int err = pocl_info(CL_DEVICE_EXTENSIONS, (void **)&in, &size);

	if (err)
		return err;
	out = calloc(1, size + sizeof(CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME) + 1);
	if (!out) {
		free(in);
		return CL_OUT_OF_HOST_MEMORY;
	}
	for (char *p = in; *p;) {
		size_t len = strcspn(p, " ");

		if (len && kept_extension(p, len)) {
			memcpy(out + o, p, len);
			o += len;
			out[o++] = ' ';
		}
		p += len;
		p += strspn(p, " ");
	}
	memcpy(out + o, CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME,
	       sizeof(CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME));
	err = ferry_api_info(pvs, pv, pvsr, out, strlen(out) + 1);
	free(in);
	free(out);
	return err;
}

static cl_int extensions_with_version(size_t pvs, void *pv, size_t *pvsr)
{
	cl_name_version *v, *more;
	size_t size, n = 0;
	cl_int err = pocl_info(CL_DEVICE_EXTENSIONS_WITH_VERSION, (void **)&v, &size);

	if (err)
		return err;
	more = realloc(v, size + sizeof(*v));
	if (!more) {
		free(v);
		return CL_OUT_OF_HOST_MEMORY;
	}
	v = more;
	for (size_t i = 0; i < size / sizeof(*v); i++)
		if (kept_extension(v[i].name, strnlen(v[i].name, CL_NAME_VERSION_MAX_NAME_SIZE)))
			v[n++] = v[i];
	v[n].version = CL_FERRY_MANAGED_MEMORY_EXTENSION_VERSION;
	strcpy(v[n++].name, CL_FERRY_MANAGED_MEMORY_EXTENSION_NAME);
	err = ferry_api_info(pvs, pv, pvsr, v, n * sizeof(*v));
	free(v);
	return err;
}

/*
 * OpenCL C 3.0 features: PoCL's, less those that need what Ferry does not
 * offer, plus those Ferry adds (common/features.h).
 */
static cl_int c_features(size_t pvs, void *pv, size_t *pvsr)
{
	cl_name_version *v, *more;
	size_t size, n = 0;
	cl_int err = pocl_info(CL_DEVICE_OPENCL_C_FEATURES, (void **)&v, &size);

	if (err)
		return err;
	more = realloc(v, size + FERRY_ADDED_C_FEATURES * sizeof(*v));
	if (!more) {
		free(v);
		return CL_OUT_OF_HOST_MEMORY;
	}
	v = more;
	n = size / sizeof(*v);
	for (size_t i = 0; i < FERRY_ADDED_C_FEATURES; i++) {
		v[n].version = CL_MAKE_VERSION(3, 0, 0);
		snprintf(v[n++].name, CL_NAME_VERSION_MAX_NAME_SIZE, "%s",
			 ferry_added_c_features[i]);
	}
	err = ferry_api_info(pvs, pv, pvsr, v, n * sizeof(*v));
	free(v);
	return err;
}

cl_device_type ferry_api_device_type(void)
{
	static const struct {
		const char *name;
		cl_device_type type;
	} types[] = {
		{"cpu", CL_DEVICE_TYPE_CPU},
		{"gpu", CL_DEVICE_TYPE_GPU},
		{"accelerator", CL_DEVICE_TYPE_ACCELERATOR},
	};
	static atomic_int warned;
	const char *e = getenv("FERRY_DEVICE_TYPE");

	if (!e || !*e)
		return CL_DEVICE_TYPE_CPU;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(e, types[i].name))
			return types[i].type;
	if (!atomic_exchange(&warned, 1))
		fprintf(stderr,
			"ferry: FERRY_DEVICE_TYPE=%s: expected cpu, gpu or accelerator; "
			"using cpu\n",
			e);
	return CL_DEVICE_TYPE_CPU;
}

cl_ulong ferry_api_max_alloc(struct ferry_ctx *vas)
{
	struct ferry_counters c;
	const char *e = getenv("FERRY_MAX_ALLOC_SIZE");
	uint64_t window = ferry_window_size(vas) / 16 * 15; /* the managed part, less than this */
	uint64_t max;

	if (e && *e && (max = ferry_parse_size(e)) != 0)
		return max < window ? max : window;
	if (ferry_counters(vas, &c))
		return 0;
	return c.device_capacity_pages * FERRY_PAGE_SIZE;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetDeviceIDs(cl_platform_id platform,
						     cl_device_type device_type,
						     cl_uint num_entries, cl_device_id *devices,
						     cl_uint *num_devices)
{
	const cl_device_type known = CL_DEVICE_TYPE_DEFAULT | CL_DEVICE_TYPE_CPU |
				     CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR |
				     CL_DEVICE_TYPE_CUSTOM;
	int match;

	FERRY_RETURN_ERROR_ON(platform && platform != &ferry_platform, CL_INVALID_PLATFORM);
	FERRY_RETURN_ERROR_ON(device_type != CL_DEVICE_TYPE_ALL &&
				      (device_type == 0 || (device_type & ~known)),
			      CL_INVALID_DEVICE_TYPE);
	FERRY_RETURN_ERROR_ON(num_entries == 0 && devices, CL_INVALID_VALUE);
	FERRY_RETURN_ERROR_ON(!devices && !num_devices, CL_INVALID_VALUE);
	match = device_type == CL_DEVICE_TYPE_ALL ||
		(device_type & (CL_DEVICE_TYPE_DEFAULT | ferry_api_device_type()));
	if (num_devices)
		*num_devices = match ? 1 : 0;
	if (!match)
		return CL_DEVICE_NOT_FOUND;
	if (devices)
		devices[0] = &ferry_device;
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetDeviceInfo(cl_device_id device,
						      cl_device_info param_name,
						      size_t param_value_size, void *param_value,
						      size_t *param_value_size_ret)
{
	struct ferry_ctx *vas;
	cl_device_type type = ferry_api_device_type();
	cl_platform_id platform = &ferry_platform;
	cl_device_id none = NULL;
	cl_version numeric = CL_MAKE_VERSION(3, 0, 0);
	cl_bool no = CL_FALSE, yes = CL_TRUE;
	cl_uint zero = 0, one = 1;
	cl_ulong mem;
	cl_bitfield zero_bits = 0;
	const char *s = NULL;
	int err;

	FERRY_RETURN_ERROR_ON(device != &ferry_device, CL_INVALID_DEVICE);
	vas = ferry_api_vaspace(&err);

#define RET(v) ferry_api_info(param_value_size, param_value, param_value_size_ret, &(v), sizeof(v))
	switch (param_name) {
	case CL_DEVICE_TYPE:
		return RET(type);
	case CL_DEVICE_VENDOR_ID:
		return RET(zero);
	case CL_DEVICE_NAME:
		s = "Ferry SVM device (PoCL CPU)";
		break;
	case CL_DEVICE_VENDOR:
		s = "Ferry";
		break;
	case CL_DRIVER_VERSION:
		s = FERRY_VERSION_STRING;
		break;
	case CL_DEVICE_PROFILE:
		s = "FULL_PROFILE";
		break;
	case CL_DEVICE_VERSION:
		s = "OpenCL 3.0 Ferry " FERRY_VERSION_STRING;
		break;
	case CL_DEVICE_NUMERIC_VERSION:
		return RET(numeric);
	case CL_DEVICE_PLATFORM:
		return RET(platform);
	case CL_DEVICE_AVAILABLE:
		return vas && ferry_device_alive(vas) ? RET(yes) : RET(no);
	case CL_DEVICE_GLOBAL_MEM_SIZE: {
		struct ferry_counters c;

		if (!vas || ferry_counters(vas, &c))
			return CL_DEVICE_NOT_AVAILABLE;
		mem = c.device_capacity_pages * FERRY_PAGE_SIZE;
		return RET(mem);
	}
	case CL_DEVICE_MAX_MEM_ALLOC_SIZE:
		/* the device memory, or FERRY_MAX_ALLOC_SIZE to oversubscribe in one allocation */
		if (!vas || !(mem = ferry_api_max_alloc(vas)))
			return CL_DEVICE_NOT_AVAILABLE;
		return RET(mem);
	case CL_DEVICE_HOST_UNIFIED_MEMORY:
	case CL_DEVICE_PIPE_SUPPORT:
	case CL_DEVICE_GENERIC_ADDRESS_SPACE_SUPPORT:
	case CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT:
	case CL_DEVICE_WORK_GROUP_COLLECTIVE_FUNCTIONS_SUPPORT:
	case CL_DEVICE_SUB_GROUP_INDEPENDENT_FORWARD_PROGRESS:
		return RET(no);
	case CL_DEVICE_SVM_CAPABILITIES: {
		/* managed coarse-grained buffers; coherent fine-grained ones, with atomics */
		cl_device_svm_capabilities svm = CL_DEVICE_SVM_COARSE_GRAIN_BUFFER |
						 CL_DEVICE_SVM_FINE_GRAIN_BUFFER |
						 CL_DEVICE_SVM_ATOMICS;

		return RET(svm);
	}
	case CL_DEVICE_PARENT_DEVICE:
		return RET(none);
	case CL_DEVICE_PARTITION_MAX_SUB_DEVICES:
	case CL_DEVICE_MAX_NUM_SUB_GROUPS:
	case CL_DEVICE_MAX_PIPE_ARGS:
	case CL_DEVICE_PIPE_MAX_ACTIVE_RESERVATIONS:
	case CL_DEVICE_PIPE_MAX_PACKET_SIZE:
	case CL_DEVICE_QUEUE_ON_DEVICE_PREFERRED_SIZE:
	case CL_DEVICE_QUEUE_ON_DEVICE_MAX_SIZE:
	case CL_DEVICE_MAX_ON_DEVICE_QUEUES:
	case CL_DEVICE_MAX_ON_DEVICE_EVENTS:
		return RET(zero);
	case CL_DEVICE_EXECUTION_CAPABILITIES: {
		cl_device_exec_capabilities exec = CL_EXEC_KERNEL; /* no native kernels */

		return RET(exec);
	}
	case CL_DEVICE_REFERENCE_COUNT:
		return RET(one);
	case CL_DEVICE_PARTITION_PROPERTIES:
	case CL_DEVICE_PARTITION_TYPE:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, NULL, 0);
	case CL_DEVICE_PARTITION_AFFINITY_DOMAIN:
	case CL_DEVICE_QUEUE_ON_DEVICE_PROPERTIES:
	case CL_DEVICE_DEVICE_ENQUEUE_CAPABILITIES:
	case CL_DEVICE_ATOMIC_MEMORY_CAPABILITIES:
	case CL_DEVICE_ATOMIC_FENCE_CAPABILITIES:
		if (param_name == CL_DEVICE_ATOMIC_MEMORY_CAPABILITIES ||
		    param_name == CL_DEVICE_ATOMIC_FENCE_CAPABILITIES)
			break; /* PoCL's */
		return RET(zero_bits);
	case CL_DEVICE_SVM_PAGE_SIZE_FERRY: {
		size_t pg = FERRY_PAGE_SIZE;

		return RET(pg);
	}
	case CL_DEVICE_SVM_MIGRATION_BLOCK_FERRY: {
		uint64_t bs = 0;
		size_t v;

		if (!vas || !ferry_window_base(vas) ||
		    ferry_get_attr(vas, ferry_window_base(vas), FERRY_PAGE_SIZE,
				   FERRY_ATTR_BLOCK_SIZE, &bs))
			return CL_DEVICE_NOT_AVAILABLE;
		v = (size_t)bs;
		return RET(v);
	}
	case CL_DEVICE_LATEST_CONFORMANCE_VERSION_PASSED:
		/* none recorded: not through the conformance process (as rusticl says it) */
		s = "v0000-01-01-00";
		break;
	case CL_DEVICE_QUEUE_ON_HOST_PROPERTIES: {
		cl_command_queue_properties q =
			CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_PROFILING_ENABLE;

		return RET(q);
	}
	case CL_DEVICE_IL_VERSION:
	case CL_DEVICE_BUILT_IN_KERNELS:
		s = "";
		break;
	case CL_DEVICE_ILS_WITH_VERSION:
	case CL_DEVICE_BUILT_IN_KERNELS_WITH_VERSION:
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, NULL, 0);
	case CL_DEVICE_EXTENSIONS:
		return extensions_string(param_value_size, param_value, param_value_size_ret);
	case CL_DEVICE_EXTENSIONS_WITH_VERSION:
		return extensions_with_version(param_value_size, param_value, param_value_size_ret);
	case CL_DEVICE_OPENCL_C_FEATURES:
		return c_features(param_value_size, param_value, param_value_size_ret);
	default:
		break;
	}
#undef RET
	if (s)
		return ferry_api_info(param_value_size, param_value, param_value_size_ret, s,
				      strlen(s) + 1);

	/* The compute engine's own answer; PoCL checks the parameter. */
	if (!vas)
		return CL_DEVICE_NOT_AVAILABLE;
	return ferry_device_info(vas, param_name, param_value_size, param_value,
				 param_value_size_ret);
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clRetainDevice(cl_device_id device)
{
	FERRY_RETURN_ERROR_ON(device != &ferry_device, CL_INVALID_DEVICE);
	return CL_SUCCESS; /* a root device: retain and release do nothing */
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clReleaseDevice(cl_device_id device)
{
	FERRY_RETURN_ERROR_ON(device != &ferry_device, CL_INVALID_DEVICE);
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL
ferry_clCreateSubDevices(cl_device_id in_device, const cl_device_partition_property *properties,
			 cl_uint num_devices, cl_device_id *out_devices, cl_uint *num_devices_ret)
{
	FERRY_RETURN_ERROR_ON(in_device != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_ERROR_ON(!properties, CL_INVALID_VALUE);
	/* CL_DEVICE_PARTITION_PROPERTIES is empty: the device cannot be partitioned. */
	return CL_INVALID_VALUE;
}

/* The host's and the device's clock are one: CLOCK_MONOTONIC, the events' profiling clock. */
CL_API_ENTRY cl_int CL_API_CALL ferry_clGetDeviceAndHostTimer(cl_device_id device,
							      cl_ulong *device_timestamp,
							      cl_ulong *host_timestamp)
{
	FERRY_RETURN_ERROR_ON(device != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_ERROR_ON(!device_timestamp || !host_timestamp, CL_INVALID_VALUE);
	*device_timestamp = *host_timestamp = ferry_clock_ns();
	return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL ferry_clGetHostTimer(cl_device_id device, cl_ulong *host_timestamp)
{
	FERRY_RETURN_ERROR_ON(device != &ferry_device, CL_INVALID_DEVICE);
	FERRY_RETURN_ERROR_ON(!host_timestamp, CL_INVALID_VALUE);
	*host_timestamp = ferry_clock_ns();
	return CL_SUCCESS;
}
