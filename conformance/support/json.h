/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small strict JSON reader for the tests that read a tool's
 * JSON output (test_smi): the whole document must be valid JSON, with no
 * duplicate keys. Numbers keep their text; non-negative integers that fit
 * also as u64.
 */
#ifndef FERRY_TEST_JSON_H
#define FERRY_TEST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jt t;
	bool b;
	bool is_uint; /* a non-negative integer that fits in u64 */
	uint64_t u;
	char *s;   /* J_STR: the decoded string; J_NUM: the number's text */
	char *key; /* member name inside an object */
	struct jv *child, *next;
};

void jfree(struct jv *v);
/* The whole text must be one JSON value (and whitespace); a test failure otherwise. */
struct jv *jparse(const char *text);
struct jv *jget(const struct jv *o, const char *key);
struct jv *jtype(const struct jv *o, const char *key, enum jt t);
uint64_t ju64(const struct jv *o, const char *key);
const char *jstr(const struct jv *o, const char *key);
bool jbool(const struct jv *o, const char *key);
size_t jlen(const struct jv *a);

#endif
