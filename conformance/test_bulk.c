/* SPDX-License-Identifier: MIT */
/*
 * test_bulk.c - requests larger than the 4 MiB staging buffer
 * (transport/proto.h: FERRY_MSG_BULK_PUT, FERRY_MSG_BULK_GET, the
 * FERRY_MSG_BULK_IN mark), spoken to ferry-device directly: pieces out of
 * order, past their total, over staging or over FERRY_BULK_MAX are refused
 * and drop the buffer; a marked request without all of its input is
 * refused; a complete one reads its input from the bulk buffer, once;
 * ferry_transact() moves a large input in pieces, and reports the device's
 * death in the middle of a series as -ENODEV rather than hanging.
 *
 * The OpenCL side (programs and binaries over 4 MiB) is test_api_bulk.c.
 */
#include "test_common.h"

#include <pthread.h>
#include <signal.h>

#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>

#include "host/host.h"

#define STAGING ((uint64_t)FERRY_STAGING_SIZE)

/* One message and its reply, flags as given: the reply's status, or a transport error. */
static int raw(struct ferry_ctx *ctx, struct ferry_msg *m)
{
	int r;

	pthread_mutex_lock(&ctx->io);
	m->magic = FERRY_PROTO_MAGIC;
	m->seq = ++ctx->seq;
	r = ferry_msg_send(ctx->sock, m, NULL, 0);
	if (!r)
		r = ferry_msg_recv(ctx->sock, m, NULL, NULL, 0);
	pthread_mutex_unlock(&ctx->io);
	return r ? r : (int)m->status;
}

/* FERRY_MSG_BULK_PUT or _GET of @len bytes at @offset of @total. */
static int bulk(struct ferry_ctx *ctx, uint32_t op, uint64_t offset, uint64_t len, uint64_t total)
{
	struct ferry_msg m = {.op = op};

	m.u.bulk.offset = offset;
	m.u.bulk.len = len;
	m.u.bulk.total = total;
	return raw(ctx, &m);
}

static int put(struct ferry_ctx *ctx, uint64_t offset, uint64_t len, uint64_t total)
{
	return bulk(ctx, FERRY_MSG_BULK_PUT, offset, len, total);
}

/* A FERRY_MSG_CL_KERNEL request (of no program) with @flags and @bulk_size: its status. */
static int kernel_request(struct ferry_ctx *ctx, uint32_t op, uint32_t flags, uint64_t bulk_size)
{
	struct ferry_msg m = {.op = op, .flags = flags, .bulk_size = bulk_size};

	return raw(ctx, &m);
}

static void test_bulk_put_checks(void **state)
{
	struct ferry_ctx *ctx = ft_open(NULL);

	(void)state;
	ft_assert_rc(put(ctx, 4096, 16, 8192), -EINVAL); /* no first piece */
	ft_assert_rc(put(ctx, 0, 16, (uint64_t)FERRY_BULK_MAX + 1), -EFBIG);
	ft_assert_rc(put(ctx, 0, 16, UINT64_MAX), -EFBIG);
	ft_assert_rc(put(ctx, 0, 0, 0), -EINVAL);
	ft_assert_rc(put(ctx, 0, 0, 32), -EINVAL);
	ft_assert_rc(put(ctx, 0, STAGING + 1, 2 * STAGING), -EINVAL);
	ft_assert_rc(put(ctx, 0, 200, 100), -EINVAL);
	/* out of order: refused, and the buffer is gone */
	ft_assert_ok(put(ctx, 0, STAGING, 2 * STAGING));
	ft_assert_rc(put(ctx, STAGING + 1, 1, 2 * STAGING), -EINVAL);
	ft_assert_rc(put(ctx, STAGING, STAGING, 2 * STAGING), -EINVAL);
	/* a total that changes, offsets and lengths that would wrap */
	ft_assert_ok(put(ctx, 0, 16, 32));
	ft_assert_rc(put(ctx, 16, 16, 33), -EINVAL);
	ft_assert_ok(put(ctx, 0, 16, 32));
	ft_assert_rc(put(ctx, UINT64_MAX - 7, 16, 32), -EINVAL);
	ft_assert_ok(put(ctx, 0, 16, 32));
	ft_assert_rc(put(ctx, 16, UINT64_MAX, 32), -EINVAL);
	ft_assert_ok(put(ctx, 0, 16, 32));
	ft_assert_rc(put(ctx, 16, 17, 32), -EINVAL);
	/* no value kept to fetch */
	ft_assert_rc(bulk(ctx, FERRY_MSG_BULK_GET, 0, 16, 16), -EINVAL);
	ft_assert_rc(bulk(ctx, FERRY_MSG_BULK_GET, UINT64_MAX, 16, 16), -EINVAL);
	ft_close(ctx);
}

static void test_bulk_marked_checks(void **state)
{
	struct ferry_ctx *ctx = ft_open(NULL);

	(void)state;
	/* no input put, or not all of it, or not as much as the request says */
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_KERNEL, FERRY_MSG_BULK_IN, 32),
		     CL_INVALID_VALUE);
	ft_assert_ok(put(ctx, 0, 16, 32));
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_KERNEL, FERRY_MSG_BULK_IN, 32),
		     CL_INVALID_VALUE);
	ft_assert_ok(put(ctx, 0, 16, 16));
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_KERNEL, FERRY_MSG_BULK_IN, 17),
		     CL_INVALID_VALUE);
	/* a request that takes no bulk input, a flag that is not a request's */
	ft_assert_ok(put(ctx, 0, 16, 16));
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_DEVWORK, FERRY_MSG_BULK_IN, 16), -EPROTO);
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_KERNEL, FERRY_MSG_BULK_OUT, 0),
		     CL_INVALID_VALUE);
	/* a name that the input does not terminate */
	memset(ctx->staging, 'k', 16);
	ft_assert_ok(put(ctx, 0, 16, 16));
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_KERNEL, FERRY_MSG_BULK_IN, 16),
		     CL_INVALID_VALUE);
	/* a complete input is read (no program 0), then dropped */
	memcpy(ctx->staging, "kernel_name", 12);
	ft_assert_ok(put(ctx, 0, 12, 12));
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_KERNEL, FERRY_MSG_BULK_IN, 12),
		     CL_INVALID_PROGRAM);
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_KERNEL, FERRY_MSG_BULK_IN, 12),
		     CL_INVALID_VALUE);
	/* another request drops it too */
	ft_assert_ok(put(ctx, 0, 12, 12));
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_RELEASE, 0, 0), CL_INVALID_VALUE);
	ft_assert_rc(kernel_request(ctx, FERRY_MSG_CL_KERNEL, FERRY_MSG_BULK_IN, 12),
		     CL_INVALID_VALUE);
	ft_close(ctx);
}

/* A FERRY_MSG_CL_KERNEL request with a name of @len bytes (and its NUL) through ferry_transact. */
static int transact_kernel(struct ferry_ctx *ctx, char *name, size_t len, struct ferry_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->op = FERRY_MSG_CL_KERNEL;
	memset(name, 'k', len);
	name[len] = '\0';
	return ferry_transact(ctx, m, name, len + 1, NULL, 0, NULL, false);
}

static void test_bulk_transact(void **state)
{
	struct ferry_ctx *ctx = ft_open(NULL);
	size_t len = 5 * STAGING / 2;
	char *name = malloc(len + 1);
	struct ferry_msg m;

	(void)state;
	assert_non_null(name);
	/* in three pieces, and the request read it: no program 0, not an unterminated name */
	ft_assert_ok(transact_kernel(ctx, name, len, &m));
	ft_assert_rc(m.status, CL_INVALID_PROGRAM);
	/* exactly staging: no pieces; one more byte: two */
	ft_assert_ok(transact_kernel(ctx, name, STAGING - 1, &m));
	ft_assert_rc(m.status, CL_INVALID_PROGRAM);
	ft_assert_ok(transact_kernel(ctx, name, STAGING, &m));
	ft_assert_rc(m.status, CL_INVALID_PROGRAM);
	/* over the bulk maximum: refused before anything is sent (nothing is read) */
	ft_assert_rc(
		ferry_transact(ctx, &m, name, (size_t)FERRY_BULK_MAX + 1, NULL, 0, NULL, false),
		-EFBIG);
	free(name);
	ft_close(ctx);
}

static void *kill_later(void *arg)
{
	usleep(20 * 1000);
	kill(*(pid_t *)arg, SIGKILL);
	return NULL;
}

static void test_bulk_device_dies(void **state)
{
	struct ferry_ctx *ctx = ft_open(NULL);
	size_t len = FERRY_BULK_MAX - 1;
	char *name = malloc(len + 1);
	pid_t dev = ferry_device_pid(ctx);
	struct ferry_msg m;
	pthread_t t;

	(void)state;
	assert_non_null(name);
	assert_true(dev > 0);
	memset(name, 'k', len);
	name[len] = '\0';
	memset(&m, 0, sizeof(m));
	m.op = FERRY_MSG_CL_KERNEL;
	/* killed while the pieces go: 64 of them take longer than 20 ms */
	assert_int_equal(pthread_create(&t, NULL, kill_later, &dev), 0);
	ft_assert_rc(ferry_transact(ctx, &m, name, len + 1, NULL, 0, NULL, false), -ENODEV);
	pthread_join(t, NULL);
	ft_assert_rc(transact_kernel(ctx, name, STAGING * 2, &m), -ENODEV);
	ft_assert_rc(transact_kernel(ctx, name, 16, &m), -ENODEV);
	free(name);
	ft_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_put_checks),
		cmocka_unit_test(test_bulk_marked_checks),
		cmocka_unit_test(test_bulk_transact),
		cmocka_unit_test(test_bulk_device_dies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
