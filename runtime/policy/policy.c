/* SPDX-License-Identifier: MIT */
#include "policy/policy.h"

#ifdef __KERNEL__
#include <linux/bitops.h>
#define ferry_popcount64(x) hweight64(x)
#else
#define ferry_popcount64(x) __builtin_popcountll(x)
#endif

bool ferry_policy_block_size_valid(uint64_t bytes)
{
	return bytes >= FERRY_MIN_BLOCK_SIZE && bytes <= FERRY_MAX_BLOCK_SIZE &&
	       (bytes & (bytes - 1)) == 0;
}

static uint32_t count_bits(const uint64_t *bits, uint32_t first, uint32_t n)
{
	uint32_t c = 0;

	for (uint32_t i = first; i < first + n;) {
		if ((i & 63) == 0 && first + n - i >= 64) {
			c += (uint32_t)ferry_popcount64(bits[i / 64]);
			i += 64;
		} else {
			c += (bits[i / 64] >> (i & 63)) & 1;
			i++;
		}
	}
	return c;
}

void ferry_policy_prefetch(const uint64_t resident[FERRY_REGION_PAGES / 64], uint32_t fault_page,
			   uint32_t block_pages, uint32_t threshold, uint32_t *first,
			   uint32_t *count)
{
	uint32_t bfirst = fault_page & ~(block_pages - 1);
	uint32_t in_block = count_bits(resident, bfirst, block_pages);

	*first = bfirst;
	*count = block_pages;
	/* Walk up the tree: subtree sizes block_pages * 2^k up to the region. */
	for (uint32_t size = block_pages * 2; size <= FERRY_REGION_PAGES; size *= 2) {
		uint32_t sfirst = fault_page & ~(size - 1);
		/* The faulting block counts as resident. */
		uint32_t occ = count_bits(resident, sfirst, size) - in_block + block_pages;

		if ((uint64_t)occ * 100 > (uint64_t)threshold * size) {
			*first = sfirst;
			*count = size;
		}
	}
}

bool ferry_policy_stream(uint32_t prev_resident, uint32_t fault_page, uint32_t block_pages)
{
	return prev_resident == FERRY_REGION_PAGES && fault_page < block_pages;
}

void ferry_lru_init(struct ferry_lru *lru, struct ferry_lru_node *storage, uint32_t nregions)
{
	lru->node = storage;
	lru->nregions = nregions;
	lru->head = lru->tail = FERRY_LRU_NONE;
	lru->count = 0;
	for (uint32_t i = 0; i < nregions; i++)
		storage[i].prev = storage[i].next = FERRY_LRU_NONE;
}

bool ferry_lru_linked(const struct ferry_lru *lru, uint32_t r)
{
	return lru->head == r || lru->node[r].prev != FERRY_LRU_NONE;
}

void ferry_lru_remove(struct ferry_lru *lru, uint32_t r)
{
	struct ferry_lru_node *n = &lru->node[r];

	if (!ferry_lru_linked(lru, r))
		return;
	if (n->prev != FERRY_LRU_NONE)
		lru->node[n->prev].next = n->next;
	else
		lru->head = n->next;
	if (n->next != FERRY_LRU_NONE)
		lru->node[n->next].prev = n->prev;
	else
		lru->tail = n->prev;
	n->prev = n->next = FERRY_LRU_NONE;
	lru->count--;
}

void ferry_lru_touch(struct ferry_lru *lru, uint32_t r)
{
	struct ferry_lru_node *n = &lru->node[r];

	if (lru->tail == r)
		return;
	ferry_lru_remove(lru, r);
	n->prev = lru->tail;
	n->next = FERRY_LRU_NONE;
	if (lru->tail != FERRY_LRU_NONE)
		lru->node[lru->tail].next = r;
	else
		lru->head = r;
	lru->tail = r;
	lru->count++;
}

uint32_t ferry_lru_victim(const struct ferry_lru *lru, uint32_t pinned)
{
	for (uint32_t r = lru->head; r != FERRY_LRU_NONE; r = lru->node[r].next)
		if (r != pinned)
			return r;
	return FERRY_LRU_NONE;
}

void ferry_thrash_arrived(struct ferry_thrash *t, uint64_t now_ns)
{
	t->arrived_ns = now_ns;
}

static void thrash_pin(struct ferry_thrash *t, const struct ferry_thrash_config *cfg,
		       uint64_t now_ns)
{
	t->pinned_until_ns = now_ns + cfg->pin_ns;
	if (t->pinned_until_ns == 0)
		t->pinned_until_ns = 1;
}

enum ferry_thrash_verdict ferry_thrash_full(struct ferry_thrash *t,
					    const struct ferry_thrash *victim,
					    const struct ferry_thrash_config *cfg, uint64_t now_ns)
{
	if (cfg->threshold == 0 || now_ns < victim->arrived_ns ||
	    now_ns - victim->arrived_ns >= cfg->window_ns)
		return FERRY_THRASH_NONE;
	thrash_pin(t, cfg, now_ns);
	return FERRY_THRASH_PIN;
}

void ferry_thrash_evicted(struct ferry_thrash *t, uint64_t now_ns)
{
	t->evicted_ns = now_ns ? now_ns : 1;
}

bool ferry_thrash_pinned(const struct ferry_thrash *t, uint64_t now_ns)
{
	return t->pinned_until_ns != 0 && now_ns < t->pinned_until_ns;
}

enum ferry_thrash_verdict
ferry_thrash_return(struct ferry_thrash *t, const struct ferry_thrash_config *cfg, uint64_t now_ns)
{
	uint64_t evicted = t->evicted_ns;

	if (ferry_thrash_pinned(t, now_ns))
		return FERRY_THRASH_PIN;
	if (evicted == 0)
		return FERRY_THRASH_NONE; /* never evicted, or this return was seen */
	t->evicted_ns = 0;
	if (now_ns < evicted || now_ns - evicted >= cfg->window_ns) {
		t->events = 0; /* a quiet return: the history starts again */
		return FERRY_THRASH_NONE;
	}
	t->events++;
	if (cfg->threshold == 0 || t->events < cfg->threshold)
		return FERRY_THRASH_EVENT;
	thrash_pin(t, cfg, now_ns);
	return FERRY_THRASH_PIN;
}

bool ferry_thrash_release(struct ferry_thrash *t, const struct ferry_thrash_config *cfg,
			  uint64_t now_ns)
{
	if (t->pinned_until_ns == 0 || now_ns < t->pinned_until_ns)
		return false;
	t->pinned_until_ns = 0;
	t->evicted_ns = 0;
	/* one more thrashing return pins it again */
	t->events = cfg->threshold ? cfg->threshold - 1 : 0;
	return true;
}
