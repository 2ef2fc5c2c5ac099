/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - managed allocations inside the window: first fit over a sorted
 * free list, whole pages, allocations of 2 MiB or more aligned to 2 MiB so
 * that they start on a prefetch region.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>

#include "host/host.h"

#define PG FERRY_PAGE_SIZE

static void *alloc_from(struct ferry_ctx *ctx, struct ferry_range **list, uint64_t size,
			uint64_t align)
{
	struct ferry_range **pp, *f, *used;
	uint64_t start = 0, asked = size;

	if (!ctx || size == 0 || size > ctx->size || (align & (align - 1)) ||
	    align > FERRY_REGION_SIZE || atomic_load(&ctx->dead))
		return NULL;
	size = (size + PG - 1) & ~(PG - 1);
	if (align < PG)
		align = PG;
	if (size >= FERRY_REGION_SIZE)
		align = FERRY_REGION_SIZE;
	used = malloc(sizeof(*used));
	if (!used)
		return NULL;
	pthread_mutex_lock(&ctx->alloc_lock);
	for (pp = list; (f = *pp); pp = &f->next) {
		uint64_t a = (f->start + align - 1) & ~(align - 1);

		if (a - f->start + size > f->size)
			continue;
		start = a;
		if (a > f->start) { /* keep the head, split off the tail */
			struct ferry_range *tail = NULL;
			uint64_t tail_size = f->start + f->size - (a + size);

			if (tail_size) {
				tail = malloc(sizeof(*tail));
				if (!tail) {
					start = 0;
					break;
				}
				tail->start = a + size;
				tail->size = tail_size;
				tail->next = f->next;
				f->next = tail;
			}
			f->size = a - f->start;
		} else {
			f->start += size;
			f->size -= size;
			if (f->size == 0) {
				*pp = f->next;
				free(f);
			}
		}
		break;
	}
	if (start) {
		used->start = start;
		used->size = size;
		used->asked = asked;
		used->next = ctx->used_list;
		ctx->used_list = used;
	} else {
		free(used);
	}
	pthread_mutex_unlock(&ctx->alloc_lock);
	return (void *)(uintptr_t)start;
}

void *ferry_alloc(struct ferry_ctx *ctx, uint64_t size, uint64_t align)
{
	return ctx ? alloc_from(ctx, &ctx->free_list, size, align) : NULL;
}

void *ferry_alloc_coherent(struct ferry_ctx *ctx, uint64_t size, uint64_t align)
{
	return ctx ? alloc_from(ctx, &ctx->fine_list, size, align) : NULL;
}

int ferry_is_coherent(const struct ferry_ctx *ctx, const void *ptr)
{
	uint64_t a = (uint64_t)(uintptr_t)ptr;

	return ctx && a >= ctx->base + ctx->size - ctx->fine_size && a < ctx->base + ctx->size;
}

int ferry_free(struct ferry_ctx *ctx, void *ptr)
{
	struct ferry_range **pp, *u, *f, *prev = NULL;
	uint64_t a = (uint64_t)(uintptr_t)ptr;
	int r, coherent;

	if (!ctx || !ptr)
		return -EINVAL;
	pthread_mutex_lock(&ctx->alloc_lock);
	for (pp = &ctx->used_list; (u = *pp); pp = &u->next)
		if (u->start == a)
			break;
	if (!u) {
		pthread_mutex_unlock(&ctx->alloc_lock);
		return -EINVAL; /* not an allocation, or freed twice */
	}
	*pp = u->next;
	pthread_mutex_unlock(&ctx->alloc_lock);

	/* Discard the contents so that the next user starts from zeroed pages. */
	coherent = ferry_is_coherent(ctx, ptr);
	if (coherent) {
		uint64_t off = a - (ctx->base + ctx->size - ctx->fine_size);

		r = fallocate(ctx->fine_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)u->size)
			    ? -errno
			    : 0;
	} else {
		/* advice belongs to the allocation: the next one starts without it */
		struct ferry_attr none[] = {
			{.type = FERRY_ATTR_PREFERRED_LOC, .value = FERRY_LOC_NONE},
			{.type = FERRY_ATTR_ACCESSED_BY, .value = 0},
			{.type = FERRY_ATTR_READ_MOSTLY, .value = 0}};
		struct ferry_attrs h = {.start = a,
					.size = u->size,
					.attrs = (uint64_t)(uintptr_t)none,
					.nattrs = sizeof(none) / sizeof(*none)};

		r = ferry_migrate(ctx, ptr, u->size, FERRY_LOC_HOST, FERRY_MIGRATE_DISCARD, NULL);
		if (!r)
			r = ferry_ioctl(ctx, FERRY_IOCTL_SET_ATTR, &h);
		if (r == -ENODEV)
			r = 0;
	}

	pthread_mutex_lock(&ctx->alloc_lock);
	for (pp = coherent ? &ctx->fine_list : &ctx->free_list; (f = *pp) && f->start < u->start;
	     pp = &f->next)
		prev = f;
	u->next = f;
	*pp = u;
	if (f && u->start + u->size == f->start) {
		u->size += f->size;
		u->next = f->next;
		free(f);
	}
	if (prev && prev->start + prev->size == u->start) {
		prev->size += u->size;
		prev->next = u->next;
		free(u);
	}
	pthread_mutex_unlock(&ctx->alloc_lock);
	return r;
}

int ferry_alloc_find(struct ferry_ctx *ctx, const void *ptr, uint64_t *base, uint64_t *size)
{
	uint64_t a = (uint64_t)(uintptr_t)ptr;
	int r = -ENOENT;

	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&ctx->alloc_lock);
	for (struct ferry_range *u = ctx->used_list; u; u = u->next)
		if (a >= u->start && a - u->start < u->asked) {
			*base = u->start;
			*size = u->asked;
			r = 0;
			break;
		}
	pthread_mutex_unlock(&ctx->alloc_lock);
	return r;
}

size_t ferry_alloc_list(struct ferry_ctx *ctx, struct ferry_range *out, size_t max)
{
	size_t n = 0;

	if (!ctx)
		return 0;
	pthread_mutex_lock(&ctx->alloc_lock);
	for (struct ferry_range *u = ctx->used_list; u; u = u->next, n++)
		if (n < max)
			out[n] = (struct ferry_range){.start = u->start, .size = u->size};
	pthread_mutex_unlock(&ctx->alloc_lock);
	return n;
}
