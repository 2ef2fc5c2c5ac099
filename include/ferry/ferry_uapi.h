/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * ferry_uapi.h - the Ferry driver interface.
 *
 * One set of operations implemented by both backends: the kernel module
 * (ferry.ko, reached through its DRM render node with ioctl()) and the
 * user-space driver (udriver, reached through ferry-device's control socket).
 * The runtime talks to either through the same command numbers and argument
 * structures.
 *
 * Rules shared by every operation:
 *  - all fields are fixed width and naturally aligned; structures never change
 *    size within one major version;
 *  - every field named "reserved*" or "pad" must be zero on input, otherwise
 *    the operation fails with EINVAL;
 *  - unknown flag bits fail with EINVAL;
 *  - addresses and sizes of ranges must be page aligned (4 KiB), sizes nonzero,
 *    and the range must lie inside the registered window, otherwise EINVAL
 *    (misaligned, zero) or ERANGE (outside the window);
 *  - FERRY_IOCTL_VERSION may be called first and at any time; a runtime must
 *    refuse a driver whose major version differs from FERRY_UAPI_VERSION_MAJOR.
 */
#ifndef FERRY_UAPI_H
#define FERRY_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FERRY_UAPI_VERSION_MAJOR 1
#define FERRY_UAPI_VERSION_MINOR 0

#define FERRY_PAGE_SHIFT 12
#define FERRY_PAGE_SIZE (1ULL << FERRY_PAGE_SHIFT)

/* Default migration block and prefetch region (docs/design.md, residency model). */
#define FERRY_DEFAULT_BLOCK_SIZE (64ULL << 10)
#define FERRY_REGION_SIZE (2ULL << 20)
#define FERRY_MIN_BLOCK_SIZE FERRY_PAGE_SIZE
#define FERRY_MAX_BLOCK_SIZE FERRY_REGION_SIZE

/* Per-page residency, as reported by FERRY_IOCTL_RESIDENCY (one byte a page). */
enum ferry_residency {
	FERRY_RES_UNTOUCHED = 0, /* no data anywhere; first touch zero-fills */
	FERRY_RES_HOST = 1,	 /* data in system memory */
	FERRY_RES_DEVICE = 2,	 /* data in device memory */
	FERRY_RES_DUPLICATED = 3 /* read-only copies on both sides */
};

/* Locations, for migration targets and the preferred-location attribute. */
enum ferry_location {
	FERRY_LOC_NONE = 0, /* attribute unset */
	FERRY_LOC_HOST = 1,
	FERRY_LOC_DEVICE = 2
};

/* FERRY_IOCTL_VERSION */
struct ferry_version {
	__u32 major;	  /* out */
	__u32 minor;	  /* out */
	__u32 backend;	  /* out: FERRY_BACKEND_* */
	__u32 reserved;	  /* in: 0 */
	__u64 features;	  /* out: FERRY_FEATURE_* */
	__u64 reserved2;  /* in: 0 */
};

#define FERRY_BACKEND_KERNEL 1
#define FERRY_BACKEND_USER 2

#define FERRY_FEATURE_PREFETCHER (1ULL << 0)
#define FERRY_FEATURE_EVICTION (1ULL << 1)
#define FERRY_FEATURE_ASYNC_MIGRATE (1ULL << 2)
#define FERRY_FEATURE_READ_MOSTLY (1ULL << 3)

/*
 * FERRY_IOCTL_CREATE_VASPACE: bind the opener's address space (the host
 * process) to a new VA space. One per opener; a second call fails with EBUSY.
 */
struct ferry_create_vaspace {
	__u32 flags;	 /* in: 0 */
	__u32 reserved;	 /* in: 0 */
	__u64 device_memory; /* in: device capacity in bytes, 0 = default */
	__u64 id;	 /* out: VA space id */
};

/*
 * FERRY_IOCTL_REGISTER_WINDOW: the SVM window [base, base + size), reserved
 * at the same address in the host and the device process. Both page aligned;
 * size a multiple of FERRY_REGION_SIZE. One window per VA space (EBUSY).
 * The kernel backend also needs base aligned to FERRY_REGION_SIZE and size at
 * most 1 TiB (EINVAL), and the window to be anonymous private memory of the
 * host process (the runtime maps it so).
 */
struct ferry_register_window {
	__u64 base;	/* in */
	__u64 size;	/* in */
	__u32 flags;	/* in: 0 */
	__u32 reserved; /* in: 0 */
};

/*
 * FERRY_IOCTL_MIGRATE: move [start, start + size) to target.
 *
 * FERRY_MIGRATE_DISCARD: contents become undefined and no bytes are copied:
 * the old contents are dropped on both sides; with target FERRY_LOC_DEVICE
 * the pages then become device-resident zero-filled pages (the next kernel
 * does not fault), with FERRY_LOC_HOST they become untouched.
 * FERRY_MIGRATE_ASYNC: return at once with a fence in @fence;
 * FERRY_IOCTL_WAIT waits for it. Migrations of one VA space complete in the
 * order they were issued.
 */
struct ferry_migrate {
	__u64 start;	/* in */
	__u64 size;	/* in */
	__u32 target;	/* in: FERRY_LOC_HOST or FERRY_LOC_DEVICE */
	__u32 flags;	/* in: FERRY_MIGRATE_* */
	__u64 fence;	/* out: with FERRY_MIGRATE_ASYNC */
	__u64 reserved; /* in: 0 */
};

/*
 * Pages that cannot move (pinned, busy) stay where they are, as with
 * cudaMemPrefetchAsync. Errors besides the argument checks: ENOMEM (device
 * memory full, nothing evictable), ENODEV (the device process is gone);
 * kernel backend: EFAULT (part of the range is not mapped), EOPNOTSUPP
 * (file-backed, shared or VM_PFNMAP/VM_IO memory), EBUSY (mlock()ed memory),
 * and in those cases nothing in the range changes.
 */
#define FERRY_MIGRATE_DISCARD (1U << 0)
#define FERRY_MIGRATE_ASYNC (1U << 1)
#define FERRY_MIGRATE_FLAGS (FERRY_MIGRATE_DISCARD | FERRY_MIGRATE_ASYNC)

/* FERRY_IOCTL_WAIT: wait until @fence (from an async migration) completed. */
struct ferry_wait {
	__u64 fence;	 /* in */
	__s32 status;	 /* out: 0 or the migration's negative errno */
	__u32 reserved;	 /* in: 0 */
	__u64 timeout_ns; /* in: 0 = forever */
};

/* Range attributes (FERRY_IOCTL_SET_ATTR / FERRY_IOCTL_GET_ATTR). */
enum ferry_attr_type {
	FERRY_ATTR_PREFERRED_LOC = 1, /* value: enum ferry_location */
	FERRY_ATTR_ACCESSED_BY = 2,   /* value: bit mask of 1 << ferry_location */
	FERRY_ATTR_READ_MOSTLY = 3,   /* value: 0 or 1 */
	FERRY_ATTR_BLOCK_SIZE = 4,    /* value: bytes, power of two, 4 KiB..2 MiB */
	FERRY_ATTR_PREFETCH = 5	      /* value: 0 (off) or 1 (density prefetcher) */
};

struct ferry_attr {
	__u32 type;	/* enum ferry_attr_type */
	__u32 reserved; /* 0 */
	__u64 value;
};

/*
 * SET_ATTR applies each attribute to the whole range. GET_ATTR returns, for
 * each requested type, the value if it is the same on the whole range, or
 * FERRY_ATTR_MIXED. FERRY_ATTR_BLOCK_SIZE and FERRY_ATTR_PREFETCH apply to the
 * whole VA space whatever the range (start/size still checked).
 */
struct ferry_attrs {
	__u64 start;	/* in */
	__u64 size;	/* in */
	__u64 attrs;	/* in: user pointer to struct ferry_attr[nattrs] */
	__u32 nattrs;	/* in: 1..FERRY_MAX_ATTRS */
	__u32 reserved; /* in: 0 */
};

#define FERRY_MAX_ATTRS 16
#define FERRY_ATTR_MIXED (~0ULL)

/*
 * FERRY_IOCTL_RESIDENCY: one byte a page (enum ferry_residency) for the
 * range, written to the user buffer @out of size / FERRY_PAGE_SIZE bytes.
 * Counts of each state are returned as well.
 */
struct ferry_residency_query {
	__u64 start;	      /* in */
	__u64 size;	      /* in */
	__u64 out;	      /* in: user pointer, may be 0 for counts only */
	__u64 count[4];	      /* out: pages per enum ferry_residency */
	__u64 reserved;	      /* in: 0 */
};

/* FERRY_IOCTL_COUNTERS: cumulative since the VA space was created. */
struct ferry_counters {
	__u64 faults_host;	   /* fault events raised by host touches */
	__u64 faults_device;	   /* fault events raised by device touches */
	__u64 fault_batches;	   /* times the fault handler woke */
	__u64 pages_to_device;	   /* pages migrated host -> device */
	__u64 pages_to_host;	   /* pages migrated device -> host */
	__u64 bytes_to_device;
	__u64 bytes_to_host;
	__u64 zero_fill_host;	   /* untouched pages first touched on the host */
	__u64 zero_fill_device;	   /* untouched pages first touched on the device */
	__u64 evictions;	   /* blocks evicted for capacity */
	__u64 pages_evicted;
	__u64 pages_prefetched;	   /* pages moved by the density prefetcher */
	__u64 thrashing;	   /* regions that came back within the window */
	__u64 fault_ns;		   /* time spent resolving faults */
	__u64 migrate_ns;	   /* time spent in explicit migrations */
	__u64 device_resident_pages;	/* now */
	__u64 device_capacity_pages;	/* capacity */
	__u64 device_peak_pages;	/* high-water mark of device residency */
	__u64 device_cached_pages;	/* held: resident + kept for reuse */
	__u64 whole_regions;	/* user backend: regions handed whole to a 2 MiB mapping */
	__u64 thrashing_pins;	/* regions pinned on the host for thrashing (events) */
	__u64 thrashing_pinned;	/* regions pinned now */
	__u64 reserved[2];
};

/*
 * FERRY_IOCTL_MAP_DEVICE_VIEW: called by the device process; establishes the
 * device view of the window at @base and @size (must equal the window's).
 * With the kernel backend the caller then mmaps the render node at @base
 * with offset @offset. The user backend maps the device view itself when
 * ferry-device starts and refuses this call with EBUSY.
 */
struct ferry_map_device_view {
	__u64 vaspace; /* in: id from CREATE_VASPACE */
	__u64 base;    /* in */
	__u64 size;    /* in */
	__u64 offset;  /* out: mmap offset for the render node */
	__u64 reserved; /* in: 0 */
};

#define FERRY_IOCTL_BASE 'F'
#define FERRY_IOCTL_VERSION _IOWR(FERRY_IOCTL_BASE, 0x00, struct ferry_version)
#define FERRY_IOCTL_CREATE_VASPACE \
	_IOWR(FERRY_IOCTL_BASE, 0x01, struct ferry_create_vaspace)
#define FERRY_IOCTL_REGISTER_WINDOW \
	_IOW(FERRY_IOCTL_BASE, 0x02, struct ferry_register_window)
#define FERRY_IOCTL_MIGRATE _IOWR(FERRY_IOCTL_BASE, 0x03, struct ferry_migrate)
#define FERRY_IOCTL_WAIT _IOWR(FERRY_IOCTL_BASE, 0x04, struct ferry_wait)
#define FERRY_IOCTL_SET_ATTR _IOW(FERRY_IOCTL_BASE, 0x05, struct ferry_attrs)
#define FERRY_IOCTL_GET_ATTR _IOWR(FERRY_IOCTL_BASE, 0x06, struct ferry_attrs)
#define FERRY_IOCTL_RESIDENCY \
	_IOWR(FERRY_IOCTL_BASE, 0x07, struct ferry_residency_query)
#define FERRY_IOCTL_COUNTERS _IOR(FERRY_IOCTL_BASE, 0x08, struct ferry_counters)
#define FERRY_IOCTL_MAP_DEVICE_VIEW \
	_IOWR(FERRY_IOCTL_BASE, 0x09, struct ferry_map_device_view)

#endif /* FERRY_UAPI_H */
