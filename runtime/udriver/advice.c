/* SPDX-License-Identifier: MIT */
/*
 * advice.c - attributes in the udriver (FERRY_IOCTL_SET_ATTR, GET_ATTR):
 * per-page advice (preferred location, accessed-by, read-mostly) and the
 * VA space's block size and prefetcher switch. Setting advice moves no data;
 * the fault path reads it (fault.c), eviction reads the preferred location
 * (migrate.c), and taking the device out of accessed-by ends remote mappings
 * (remote.c).
 */
#include "udriver/internal.h"

#include <errno.h>
#include <string.h>

static int attr_check(const struct ferry_attr *a)
{
	if (a->reserved)
		return -EINVAL;
	switch (a->type) {
	case FERRY_ATTR_PREFERRED_LOC:
		return a->value <= FERRY_LOC_DEVICE ? 0 : -EINVAL;
	case FERRY_ATTR_ACCESSED_BY:
		return a->value & ~(uint64_t)((1u << FERRY_LOC_HOST) | (1u << FERRY_LOC_DEVICE))
			       ? -EINVAL
			       : 0;
	case FERRY_ATTR_READ_MOSTLY:
	case FERRY_ATTR_PREFETCH:
		return a->value <= 1 ? 0 : -EINVAL;
	case FERRY_ATTR_BLOCK_SIZE:
		return ferry_policy_block_size_valid(a->value) ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static uint8_t *attr_array(struct udrv *u, uint32_t type)
{
	switch (type) {
	case FERRY_ATTR_PREFERRED_LOC:
		return u->attr_preferred_loc;
	case FERRY_ATTR_ACCESSED_BY:
		return u->attr_accessed_by;
	case FERRY_ATTR_READ_MOSTLY:
		return u->attr_read_mostly;
	default:
		return NULL;
	}
}

int udrv_attrs_ioctl(struct udrv *u, struct ferry_msg *m, bool set)
{
	struct ferry_attrs *h = &m->u.attrs.hdr;
	uint64_t first, n;
	int r;

	if (h->reserved || h->nattrs == 0 || h->nattrs > FERRY_MAX_ATTRS)
		return -EINVAL;
	r = ferry_check_range(u->base, u->size, h->start, h->size);
	if (r)
		return r;
	for (uint32_t i = 0; i < h->nattrs; i++) {
		struct ferry_attr a = m->u.attrs.attr[i];

		if (!set) /* only type and reserved matter for GET */
			r = a.reserved || a.type < FERRY_ATTR_PREFERRED_LOC ||
					    a.type > FERRY_ATTR_PREFETCH
				    ? -EINVAL
				    : 0;
		else
			r = attr_check(&a);
		if (r)
			return r;
	}
	first = (h->start - u->base) / PG;
	n = h->size / PG;
	udrv_lock(u);
	for (uint32_t i = 0; i < h->nattrs; i++) {
		struct ferry_attr *a = &m->u.attrs.attr[i];
		uint8_t *arr = attr_array(u, a->type);

		if (set) {
			if (a->type == FERRY_ATTR_ACCESSED_BY &&
			    !(a->value & (1u << FERRY_LOC_DEVICE)))
				udrv_remote_unmap(u, first, n);
			if (arr)
				memset(arr + first, (int)a->value, n);
			else if (a->type == FERRY_ATTR_BLOCK_SIZE)
				u->block_pages = (uint32_t)(a->value / PG);
			else
				u->prefetch = (int)a->value;
			continue;
		}
		if (a->type == FERRY_ATTR_BLOCK_SIZE) {
			a->value = (uint64_t)u->block_pages * PG;
		} else if (a->type == FERRY_ATTR_PREFETCH) {
			a->value = (uint64_t)u->prefetch;
		} else {
			a->value = arr[first];
			for (uint64_t p = first + 1; p < first + n; p++)
				if (arr[p] != arr[first]) {
					a->value = FERRY_ATTR_MIXED;
					break;
				}
		}
	}
	udrv_unlock(u);
	return 0;
}
