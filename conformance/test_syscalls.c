/* SPDX-License-Identifier: MIT */
/*
 * test_syscalls.c - system calls on managed memory.
 *
 * The kernel itself touches the window (copy_to_user / copy_from_user) when
 * a read() lands in it or a write() comes from it. The fault is resolved like
 * any host touch: the call waits, the data is right, and the pages end on the
 * host.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "test_common.h"

#define SIZE (4 * FERRY_DEFAULT_BLOCK_SIZE)
#define SEED 0x5eedULL

static uint8_t pattern_byte(uint64_t seed, const uint8_t *addr)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;

	return (uint8_t)(ferry_pattern(seed, a & ~7ULL) >> (8 * (a & 7)));
}

/* Bytes of [p, p + len) that differ from the pattern. */
static uint64_t pattern_bad_bytes(const uint8_t *p, uint64_t len, uint64_t seed)
{
	uint64_t i, bad = 0;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(seed, p + i))
			bad++;
	return bad;
}

static void random_bytes(uint8_t *b, uint64_t len, uint64_t *rng)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(ft_splitmix(rng) >> 13);
}

/* The pages of [addr, addr + len) are host-resident. */
static void assert_pages_host(struct ferry_ctx *ctx, const uint8_t *addr, uint64_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)addr & ~(FT_PAGE - 1);
	uint64_t e = ((uint64_t)(uintptr_t)addr + len + FT_PAGE - 1) & ~(FT_PAGE - 1);

	ft_assert_resident(ctx, (const void *)(uintptr_t)a, e - a, FERRY_RES_HOST);
}

/*
 * @p (SIZE bytes) holds SEED's pattern except [off, off + len), which holds
 * @data; both views agree.
 */
static void assert_buffer(struct ferry_ctx *ctx, uint8_t *p, uint64_t off, uint64_t len,
			  const uint8_t *data)
{
	uint8_t *copy = malloc(SIZE);
	uint64_t bad;

	assert_non_null(copy);
	ft_assert_ok(ferry_dev_read(ctx, p, copy, SIZE));
	if (memcmp(copy, p, SIZE))
		fail_msg("device and host views of the buffer differ");
	free(copy);
	bad = pattern_bad_bytes(p, off, SEED) +
	      pattern_bad_bytes(p + off + len, SIZE - off - len, SEED);
	if (bad)
		fail_msg("%" PRIu64 " bytes outside the syscall's range were changed", bad);
	assert_memory_equal(p + off, data, len);
}

/* Fresh context with SIZE bytes of pattern, all device-resident. */
static struct ferry_ctx *open_device_buffer(uint8_t **p, const char *test)
{
	struct ferry_ctx *ctx = ft_open_at(NULL, test);

	*p = ft_alloc(ctx, SIZE, FT_REGION);
	ft_host_fill(*p, SIZE, SEED);
	ft_migrate(ctx, *p, SIZE, FERRY_LOC_DEVICE);
	ft_assert_resident(ctx, *p, SIZE, FERRY_RES_DEVICE);
	return ctx;
}

/* read() from a pipe into device-resident pages. */
static void test_pipe_read_into_device(void **state)
{
	const uint64_t off1 = FT_PAGE + 100, len1 = 3000;
	const uint64_t off2 = 2 * FERRY_DEFAULT_BLOCK_SIZE - 500, len2 = 2 * FT_PAGE + 1000;
	struct ferry_ctx *ctx;
	uint8_t *p, *data;
	uint64_t rng;
	int fd[2];

	(void)state;
	rng = ft_rng_init(__func__);
	ctx = open_device_buffer(&p, __func__);
	data = malloc(len2);
	assert_non_null(data);
	assert_int_equal(pipe(fd), 0);

	/* Inside one page. */
	random_bytes(data, len1, &rng);
	assert_int_equal(write(fd[1], data, len1), (ssize_t)len1);
	ft_step("read() from a pipe into a device page");
	assert_int_equal(read(fd[0], p + off1, len1), (ssize_t)len1);
	assert_pages_host(ctx, p + off1, len1);
	assert_memory_equal(p + off1, data, len1);

	/* Across pages and a block boundary (both blocks on the device). */
	ft_migrate(ctx, p, SIZE, FERRY_LOC_DEVICE);
	random_bytes(data, len2, &rng);
	assert_int_equal(write(fd[1], data, len2), (ssize_t)len2);
	ft_step("read() from a pipe across a block boundary");
	assert_int_equal(read(fd[0], p + off2, len2), (ssize_t)len2);
	assert_pages_host(ctx, p + off2, len2);
	assert_memory_equal(p + off2, data, len2);

	/* The first write landed too, and nothing else changed. */
	{
		uint8_t *all = malloc(SIZE);

		assert_non_null(all);
		assert_int_equal(pattern_bad_bytes(p, off1, SEED), 0);
		assert_int_equal(pattern_bad_bytes(p + off1 + len1, off2 - off1 - len1, SEED), 0);
		assert_int_equal(pattern_bad_bytes(p + off2 + len2, SIZE - off2 - len2, SEED), 0);
		ft_assert_ok(ferry_dev_read(ctx, p, all, SIZE));
		assert_memory_equal(all, p, SIZE);
		free(all);
	}
	close(fd[0]);
	close(fd[1]);
	free(data);
	ft_close(ctx);
}

/* read() / pread() from a regular file into device-resident pages. */
static void test_file_read_into_device(void **state)
{
	const uint64_t off = FT_PAGE + 24, len = 5 * FT_PAGE + 77;
	char path[] = "/tmp/ferry-syscalls-XXXXXX";
	struct ferry_ctx *ctx;
	uint8_t *p, *data;
	uint64_t rng;
	int fd;

	(void)state;
	rng = ft_rng_init(__func__);
	ctx = open_device_buffer(&p, __func__);
	data = malloc(len);
	assert_non_null(data);
	random_bytes(data, len, &rng);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, len), (ssize_t)len);

	ft_step("pread() from a file into device pages");
	assert_int_equal(pread(fd, p + off, len, 0), (ssize_t)len);
	assert_pages_host(ctx, p + off, len);
	assert_buffer(ctx, p, off, len, data);

	/* read() with the file offset, into pages the device just wrote. */
	ft_assert_ok(ferry_dev_fill(ctx, p, SIZE, SEED));
	ft_assert_resident(ctx, p, SIZE, FERRY_RES_DEVICE);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	ft_step("read() from a file into device pages");
	assert_int_equal(read(fd, p + SIZE - len, len), (ssize_t)len);
	assert_pages_host(ctx, p + SIZE - len, len);
	assert_buffer(ctx, p, SIZE - len, len, data);
	close(fd);
	free(data);
	ft_close(ctx);
}

/* write() from device-resident pages to a pipe and a file. */
static void test_write_from_device(void **state)
{
	const uint64_t off = 3 * FT_PAGE - 8, len = 2 * FT_PAGE + 300;
	char path[] = "/tmp/ferry-syscalls-XXXXXX";
	struct ferry_ctx *ctx;
	uint8_t *p, *back;
	int fd[2], ffd;
	uint64_t i;

	(void)state;
	ctx = open_device_buffer(&p, __func__);
	back = malloc(SIZE);
	assert_non_null(back);
	assert_int_equal(pipe(fd), 0);

	ft_step("write() from device pages to a pipe");
	assert_int_equal(write(fd[1], p + off, len), (ssize_t)len);
	assert_pages_host(ctx, p + off, len);
	memset(back, 0, len);
	assert_int_equal(read(fd[0], back, len), (ssize_t)len);
	for (i = 0; i < len; i++)
		if (back[i] != pattern_byte(SEED, p + off + i))
			fail_msg("byte %" PRIu64 " written to the pipe is %#x, expected %#x", i,
				 back[i], pattern_byte(SEED, p + off + i));

	/* A whole block, device-written, to a file. */
	ft_assert_ok(ferry_dev_fill(ctx, p, SIZE, SEED + 1));
	ft_assert_resident(ctx, p, SIZE, FERRY_RES_DEVICE);
	ffd = mkstemp(path);
	assert_true(ffd >= 0);
	unlink(path);
	ft_step("write() from device pages to a file");
	assert_int_equal(write(ffd, p + FERRY_DEFAULT_BLOCK_SIZE, FERRY_DEFAULT_BLOCK_SIZE),
			 (ssize_t)FERRY_DEFAULT_BLOCK_SIZE);
	assert_pages_host(ctx, p + FERRY_DEFAULT_BLOCK_SIZE, FERRY_DEFAULT_BLOCK_SIZE);
	assert_int_equal(pread(ffd, back, FERRY_DEFAULT_BLOCK_SIZE, 0),
			 (ssize_t)FERRY_DEFAULT_BLOCK_SIZE);
	assert_memory_equal(back, p + FERRY_DEFAULT_BLOCK_SIZE, FERRY_DEFAULT_BLOCK_SIZE);
	ft_assert_host_pattern(p, SIZE, SEED + 1);
	close(ffd);
	close(fd[0]);
	close(fd[1]);
	free(back);
	ft_close(ctx);
}

/* Scatter-gather and sockets: writev() from and readv() / recv() into device pages. */
static void test_vectored_and_sockets(void **state)
{
	struct ferry_ctx *ctx;
	struct iovec iov[3];
	uint8_t *p, *back;
	uint64_t rng, i;
	int sv[2];
	ssize_t n;

	(void)state;
	rng = ft_rng_init(__func__);
	ctx = open_device_buffer(&p, __func__);
	back = malloc(SIZE);
	assert_non_null(back);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

	/* writev() gathers from three device blocks. */
	iov[0].iov_base = p + 16;
	iov[0].iov_len = 1000;
	iov[1].iov_base = p + FERRY_DEFAULT_BLOCK_SIZE + 8;
	iov[1].iov_len = 2000;
	iov[2].iov_base = p + 3 * FERRY_DEFAULT_BLOCK_SIZE - 3000;
	iov[2].iov_len = 3000;
	ft_step("writev() from device pages");
	assert_int_equal(writev(sv[0], iov, 3), 6000);
	for (n = 0; n < 6000;) {
		ssize_t r = recv(sv[1], back + n, 6000 - n, 0);

		assert_true(r > 0);
		n += r;
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(pattern_bad_bytes(iov[i].iov_base, iov[i].iov_len, SEED), 0);
	assert_memory_equal(back, p + 16, 1000);
	assert_memory_equal(back + 1000, p + FERRY_DEFAULT_BLOCK_SIZE + 8, 2000);
	assert_memory_equal(back + 3000, p + 3 * FERRY_DEFAULT_BLOCK_SIZE - 3000, 3000);

	/* recv() into device pages. */
	ft_migrate(ctx, p, SIZE, FERRY_LOC_DEVICE);
	random_bytes(back, 5000, &rng);
	assert_int_equal(send(sv[0], back, 5000, 0), 5000);
	ft_step("recv() into device pages");
	for (n = 0; n < 5000;) {
		ssize_t r = recv(sv[1], p + 2 * FERRY_DEFAULT_BLOCK_SIZE + n, 5000 - n, 0);

		assert_true(r > 0);
		n += r;
	}
	assert_pages_host(ctx, p + 2 * FERRY_DEFAULT_BLOCK_SIZE, 5000);
	assert_buffer(ctx, p, 2 * FERRY_DEFAULT_BLOCK_SIZE, 5000, back);

	/* readv() scatters into device pages. */
	ft_host_fill(p, SIZE, SEED);
	ft_migrate(ctx, p, SIZE, FERRY_LOC_DEVICE);
	random_bytes(back, 5000, &rng);
	assert_int_equal(send(sv[0], back, 5000, 0), 5000);
	iov[0].iov_base = p + 4000;
	iov[0].iov_len = 2500;
	iov[1].iov_base = p + 6500;
	iov[1].iov_len = 2500;
	ft_step("readv() into device pages");
	assert_int_equal(readv(sv[1], iov, 2), 5000);
	assert_pages_host(ctx, p + 4000, 5000);
	assert_buffer(ctx, p, 4000, 5000, back);
	close(sv[0]);
	close(sv[1]);
	free(back);
	ft_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_read_into_device),
		cmocka_unit_test(test_file_read_into_device),
		cmocka_unit_test(test_write_from_device),
		cmocka_unit_test(test_vectored_and_sockets),
	};

	return cmocka_run_group_tests_name("syscalls", tests, NULL, NULL);
}
