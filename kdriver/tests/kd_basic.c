// SPDX-License-Identifier: MIT
/*
 * kd_basic - ferry.ko's render node, VA spaces and windows (hmm-tests'
 * open_close and the setup every other case depends on).
 *
 *   open_close              the node opens and closes, 50 times, with and
 *                           without a VA space
 *   version                 VERSION: kernel backend, major 1
 *   vaspace_default         CREATE_VASPACE 0 -> the module's default capacity
 *   vaspace_capacity        an explicit capacity is what COUNTERS reports
 *   vaspace_once            a second CREATE_VASPACE on a file: EBUSY
 *   vaspace_bad_fields      flags / reserved nonzero: EINVAL, and a failed
 *                           call does not use up the file's one VA space
 *   vaspace_ids             two openers (two processes) get distinct ids
 *   window_register         a 2 MiB aligned window registers once; EBUSY
 *   window_bad              misaligned, zero, not a multiple of 2 MiB,
 *                           flags, reserved: EINVAL; before a VA space: EINVAL
 *   fresh_state             a fresh window is untouched, counters zero
 */
#include "kd_common.h"

#include <sys/mman.h>
#include <sys/wait.h>

static void open_close(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		int fd = kd_open_node();

		assert_true(fd >= 0);
		if (i & 1)
			kd_assert_ok(kd_create_vaspace(fd, KD_MIB(8), NULL));
		assert_int_equal(close(fd), 0);
	}
}

static void version(void **state)
{
	struct ferry_version v;
	int fd = kd_open_node();

	(void)state;
	assert_true(fd >= 0);
	memset(&v, 0, sizeof(v));
	kd_assert_ok(kd_ioctl(fd, FERRY_IOCTL_VERSION, &v));
	assert_int_equal(v.major, FERRY_UAPI_VERSION_MAJOR);
	assert_int_equal(v.backend, FERRY_BACKEND_KERNEL);
	v.reserved2 = 1;
	kd_assert_rc(kd_ioctl(fd, FERRY_IOCTL_VERSION, &v), -EINVAL);
	close(fd);
}

static void vaspace_default(void **state)
{
	struct ferry_counters c;
	uint64_t id = 0;
	int fd = kd_open_node();

	(void)state;
	assert_true(fd >= 0);
	kd_assert_ok(kd_create_vaspace(fd, 0, &id));
	kd_assert_ok(kd_counters(fd, &c));
	assert_int_equal(c.device_capacity_pages, kd_default_capacity() / KD_PAGE);
	assert_int_equal(c.device_resident_pages, 0);
	close(fd);
}

static void vaspace_capacity(void **state)
{
	static const size_t caps[] = {KD_MIB(2), KD_MIB(8), KD_MIB(32)};
	struct ferry_counters c;
	size_t i;

	(void)state;
	for (i = 0; i < KD_ARRAY_SIZE(caps); i++) {
		int fd = kd_open_node();

		assert_true(fd >= 0);
		kd_assert_ok(kd_create_vaspace(fd, caps[i], NULL));
		kd_assert_ok(kd_counters(fd, &c));
		assert_int_equal(c.device_capacity_pages, caps[i] / KD_PAGE);
		close(fd);
	}
}

static void vaspace_once(void **state)
{
	uint64_t id1 = 0, id2 = 0;
	int fd = kd_open_node();

	(void)state;
	assert_true(fd >= 0);
	kd_assert_ok(kd_create_vaspace(fd, KD_MIB(8), &id1));
	kd_assert_rc(kd_create_vaspace(fd, KD_MIB(8), &id2), -EBUSY);
	kd_assert_rc(kd_create_vaspace(fd, 0, &id2), -EBUSY);
	close(fd);
}

static void vaspace_bad_fields(void **state)
{
	struct ferry_create_vaspace a;
	int fd = kd_open_node();

	(void)state;
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.flags = 1;
	kd_assert_rc(kd_ioctl(fd, FERRY_IOCTL_CREATE_VASPACE, &a), -EINVAL);
	memset(&a, 0, sizeof(a));
	a.flags = 0x80000000u;
	kd_assert_rc(kd_ioctl(fd, FERRY_IOCTL_CREATE_VASPACE, &a), -EINVAL);
	memset(&a, 0, sizeof(a));
	a.reserved = 1;
	kd_assert_rc(kd_ioctl(fd, FERRY_IOCTL_CREATE_VASPACE, &a), -EINVAL);
	/* Nothing was created: the file's one VA space is still available. */
	kd_assert_rc(kd_ioctl(fd, FERRY_IOCTL_CREATE_VASPACE, NULL), -EFAULT);
	kd_assert_ok(kd_create_vaspace(fd, KD_MIB(8), NULL));
	close(fd);
}

static int child_id(void *arg)
{
	int *pipefd = arg;
	uint64_t id = 0;
	int fd = kd_open_node();

	if (fd < 0 || kd_create_vaspace(fd, KD_MIB(2), &id))
		return 1;
	if (write(pipefd[1], &id, sizeof(id)) != sizeof(id))
		return 2;
	close(fd);
	return 0;
}

static void vaspace_ids(void **state)
{
	uint64_t id = 0, other = 0;
	int pipefd[2];
	int fd = kd_open_node();

	(void)state;
	assert_true(fd >= 0);
	kd_assert_ok(kd_create_vaspace(fd, KD_MIB(2), &id));
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(kd_run_child(child_id, pipefd, 60), 0);
	assert_int_equal(read(pipefd[0], &other, sizeof(other)), sizeof(other));
	assert_true(id != other);
	close(pipefd[0]);
	close(pipefd[1]);
	close(fd);
}

static void window_register(void **state)
{
	struct kd_ctx ctx;

	(void)state;
	kd_assert_ok(kd_setup(&ctx, KD_MIB(4), KD_MIB(8), KD_NO_SERVER | KD_NO_WINDOW));
	ctx.base = kd_reserve(KD_MIB(4));
	assert_non_null(ctx.base);
	kd_assert_ok(kd_map_anon(ctx.base, KD_MIB(4), false));
	kd_assert_ok(kd_register_window(ctx.fd, ctx.base, KD_MIB(4)));
	kd_assert_rc(kd_register_window(ctx.fd, ctx.base, KD_MIB(4)), -EBUSY);
	kd_assert_rc(kd_register_window(ctx.fd, ctx.base, KD_MIB(2)), -EBUSY);
	munmap(ctx.base, KD_MIB(4));
	ctx.base = NULL;
	kd_teardown(&ctx);
}

static void window_bad(void **state)
{
	struct ferry_register_window w;
	char *base = kd_reserve(KD_MIB(8));
	int fd = kd_open_node();

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(base);
	kd_assert_ok(kd_map_anon(base, KD_MIB(8), false));

	/* No VA space yet. */
	kd_assert_rc(kd_register_window(fd, base, KD_MIB(4)), -EINVAL);
	kd_assert_ok(kd_create_vaspace(fd, KD_MIB(8), NULL));

	kd_assert_rc(kd_register_window(fd, base + 1, KD_MIB(4)), -EINVAL);
	kd_assert_rc(kd_register_window(fd, base + KD_PAGE, KD_MIB(4)), -EINVAL);
	kd_assert_rc(kd_register_window(fd, base, 0), -EINVAL);
	kd_assert_rc(kd_register_window(fd, base, KD_PAGE), -EINVAL);
	kd_assert_rc(kd_register_window(fd, base, KD_MIB(2) + KD_PAGE), -EINVAL);
	kd_assert_rc(kd_register_window(fd, base, KD_MIB(3)), -EINVAL);
	memset(&w, 0, sizeof(w));
	w.base = (uintptr_t)base;
	w.size = KD_MIB(4);
	w.flags = 1;
	kd_assert_rc(kd_ioctl(fd, FERRY_IOCTL_REGISTER_WINDOW, &w), -EINVAL);
	w.flags = 0;
	w.reserved = 1;
	kd_assert_rc(kd_ioctl(fd, FERRY_IOCTL_REGISTER_WINDOW, &w), -EINVAL);
	kd_assert_rc(kd_ioctl(fd, FERRY_IOCTL_REGISTER_WINDOW, NULL), -EFAULT);
	/* None of these registered anything. */
	kd_assert_ok(kd_register_window(fd, base, KD_MIB(8)));
	close(fd);
	munmap(base, KD_MIB(8));
}

static void fresh_state(void **state)
{
	struct ferry_counters c, zero = {0};
	struct kd_ctx ctx;
	uint64_t count[4];

	(void)state;
	kd_assert_ok(kd_setup(&ctx, KD_MIB(4), KD_MIB(8), KD_NO_SERVER));
	kd_assert_residency(ctx.fd, ctx.base, ctx.size, FERRY_RES_UNTOUCHED);
	kd_assert_ok(kd_residency(ctx.fd, ctx.base, ctx.size, NULL, count));
	assert_int_equal(count[FERRY_RES_UNTOUCHED], ctx.size / KD_PAGE);
	kd_assert_ok(kd_counters(ctx.fd, &c));
	/* Every cumulative counter starts at zero; nothing is on the device. */
	assert_memory_equal(&c, &zero, offsetof(struct ferry_counters, device_resident_pages));
	assert_int_equal(c.device_resident_pages, 0);
	assert_int_equal(c.device_capacity_pages, KD_MIB(8) / KD_PAGE);
	assert_int_equal(c.device_peak_pages, 0);
	/* A host touch makes a page host-resident. */
	ctx.base[5 * KD_PAGE] = 1;
	kd_assert_residency(ctx.fd, ctx.base + 5 * KD_PAGE, KD_PAGE, FERRY_RES_HOST);
	kd_assert_residency(ctx.fd, ctx.base, 5 * KD_PAGE, FERRY_RES_UNTOUCHED);
	kd_teardown(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_close),	   cmocka_unit_test(version),
		cmocka_unit_test(vaspace_default), cmocka_unit_test(vaspace_capacity),
		cmocka_unit_test(vaspace_once),	   cmocka_unit_test(vaspace_bad_fields),
		cmocka_unit_test(vaspace_ids),	   cmocka_unit_test(window_register),
		cmocka_unit_test(window_bad),	   cmocka_unit_test(fresh_state),
	};

	return cmocka_run_group_tests_name("kd_basic", tests, NULL, NULL);
}
