/* SPDX-License-Identifier: MIT */
/* json.c - the tests' strict JSON reader (json.h). */
#include "support/json.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct jp {
	const char *p;
	const char *err;
	int depth;
};

void jfree(struct jv *v)
{
	while (v) {
		struct jv *n = v->next;

		jfree(v->child);
		free(v->s);
		free(v->key);
		free(v);
		v = n;
	}
}

static void jws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static struct jv *jparse_value(struct jp *j);

static char *jparse_string(struct jp *j)
{
	size_t room = 16, n = 0;
	char *out;

	if (*j->p != '"') {
		j->err = "expected a string";
		return NULL;
	}
	j->p++;
	out = malloc(room);
	assert_non_null(out);
	for (;;) {
		unsigned char c = (unsigned char)*j->p++;

		if (n + 2 >= room) {
			room *= 2;
			out = realloc(out, room);
			assert_non_null(out);
		}
		if (c == '"')
			break;
		if (c < 0x20) {
			j->err = c ? "control character in a string" : "unterminated string";
			free(out);
			return NULL;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		c = (unsigned char)*j->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			out[n++] = (char)c;
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'u': {
			unsigned int cp = 0;

			for (int i = 0; i < 4; i++) {
				char h = *j->p++;

				cp <<= 4;
				if (h >= '0' && h <= '9')
					cp |= (unsigned int)(h - '0');
				else if (h >= 'a' && h <= 'f')
					cp |= (unsigned int)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F')
					cp |= (unsigned int)(h - 'A' + 10);
				else {
					j->err = "bad \\u escape";
					free(out);
					return NULL;
				}
			}
			out[n++] = cp < 0x80 ? (char)cp : '?';
			break;
		}
		default:
			j->err = "bad escape";
			free(out);
			return NULL;
		}
	}
	out[n] = '\0';
	return out;
}

static bool jdigit(char c)
{
	return c >= '0' && c <= '9';
}

static struct jv *jparse_number(struct jp *j)
{
	const char *s = j->p;
	bool integer = true, neg = false;
	struct jv *v;

	if (*j->p == '-') {
		neg = true;
		j->p++;
	}
	if (*j->p == '0') {
		j->p++;
	} else if (jdigit(*j->p)) {
		while (jdigit(*j->p))
			j->p++;
	} else {
		j->err = "bad number";
		return NULL;
	}
	if (*j->p == '.') {
		integer = false;
		j->p++;
		if (!jdigit(*j->p)) {
			j->err = "bad fraction";
			return NULL;
		}
		while (jdigit(*j->p))
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		integer = false;
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!jdigit(*j->p)) {
			j->err = "bad exponent";
			return NULL;
		}
		while (jdigit(*j->p))
			j->p++;
	}
	v = calloc(1, sizeof(*v));
	assert_non_null(v);
	v->t = J_NUM;
	v->s = strndup(s, (size_t)(j->p - s));
	assert_non_null(v->s);
	if (integer && !neg) {
		errno = 0;
		v->u = strtoull(v->s, NULL, 10);
		v->is_uint = errno == 0;
	}
	return v;
}

static struct jv *jparse_container(struct jp *j, bool obj)
{
	struct jv *v = calloc(1, sizeof(*v)), **tail;

	assert_non_null(v);
	v->t = obj ? J_OBJ : J_ARR;
	tail = &v->child;
	j->p++;
	if (++j->depth > 32) {
		j->err = "nested too deep";
		jfree(v);
		return NULL;
	}
	jws(j);
	if (*j->p == (obj ? '}' : ']')) {
		j->p++;
		j->depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		struct jv *m;

		jws(j);
		if (obj) {
			key = jparse_string(j);
			if (!key)
				break;
			for (struct jv *o = v->child; o; o = o->next)
				if (strcmp(o->key, key) == 0)
					j->err = "duplicate key";
			jws(j);
			if (j->err || *j->p != ':') {
				if (!j->err)
					j->err = "expected ':'";
				free(key);
				break;
			}
			j->p++;
		}
		m = jparse_value(j);
		if (!m) {
			free(key);
			break;
		}
		m->key = key;
		*tail = m;
		tail = &m->next;
		jws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p == (obj ? '}' : ']')) {
			j->p++;
			j->depth--;
			return v;
		}
		j->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
		break;
	}
	jfree(v);
	return NULL;
}

static struct jv *jparse_value(struct jp *j)
{
	struct jv *v;

	jws(j);
	switch (*j->p) {
	case '{':
		return jparse_container(j, true);
	case '[':
		return jparse_container(j, false);
	case '"':
		v = calloc(1, sizeof(*v));
		assert_non_null(v);
		v->t = J_STR;
		v->s = jparse_string(j);
		if (!v->s) {
			free(v);
			return NULL;
		}
		return v;
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = {"true", "false", "null"};

		for (int i = 0; i < 3; i++)
			if (strncmp(j->p, lit[i], strlen(lit[i])) == 0) {
				j->p += strlen(lit[i]);
				v = calloc(1, sizeof(*v));
				assert_non_null(v);
				v->t = i == 2 ? J_NULL : J_BOOL;
				v->b = i == 0;
				return v;
			}
		j->err = "bad literal";
		return NULL;
	}
	default:
		return jparse_number(j);
	}
}

/* The whole text must be one JSON value (and whitespace). */
struct jv *jparse(const char *text)
{
	struct jp j = {.p = text};
	struct jv *v = jparse_value(&j);

	if (v) {
		jws(&j);
		if (*j.p) {
			j.err = "text after the document";
			jfree(v);
			v = NULL;
		}
	}
	if (!v)
		fail_msg("invalid JSON (%s at offset %zu):\n%s", j.err ? j.err : "?",
			 (size_t)(j.p - text), text);
	return v;
}

struct jv *jget(const struct jv *o, const char *key)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (struct jv *m = o->child; m; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

struct jv *jtype(const struct jv *o, const char *key, enum jt t)
{
	struct jv *m = jget(o, key);

	if (!m)
		fail_msg("JSON: no key \"%s\"", key);
	if (m->t != t)
		fail_msg("JSON: \"%s\" has type %d, expected %d", key, (int)m->t, (int)t);
	return m;
}

uint64_t ju64(const struct jv *o, const char *key)
{
	struct jv *m = jtype(o, key, J_NUM);

	if (!m->is_uint)
		fail_msg("JSON: \"%s\" = %s is not an unsigned integer", key, m->s);
	return m->u;
}

const char *jstr(const struct jv *o, const char *key)
{
	return jtype(o, key, J_STR)->s;
}

bool jbool(const struct jv *o, const char *key)
{
	return jtype(o, key, J_BOOL)->b;
}

size_t jlen(const struct jv *a)
{
	size_t n = 0;

	for (struct jv *m = a->child; m; m = m->next)
		n++;
	return n;
}
