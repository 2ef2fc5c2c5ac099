/* SPDX-License-Identifier: MIT */
#include "transport/proto.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/settings.h"

/* One datagram of @len bytes: 0, -EPIPE when the peer is gone, another negative errno. */
static int send_all(int sock, const struct msghdr *mh, size_t len)
{
	for (;;) {
		ssize_t n = sendmsg(sock, mh, MSG_NOSIGNAL);

		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return -EPIPE;
		return n < 0 ? -errno : -EIO;
	}
}

int ferry_msg_send(int sock, const struct ferry_msg *m, const int *fds, int nfds)
{
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds < 0 || nfds > 8)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return send_all(sock, &mh, sizeof(*m));
}

int ferry_msg_recv(int sock, struct ferry_msg *m, int *fds, int *nfds, int maxfds)
{
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (nfds)
		*nfds = 0;
	if (maxfds > 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
	}
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	if (maxfds > 0) {
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int k;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (k > maxfds) {
				/* more than asked for: keep none of the extra ones open */
				int extra[8]; /* the control buffer holds 8 */

				memcpy(extra, CMSG_DATA(c), sizeof(int) * k);
				for (int i = maxfds; i < k; i++)
					close(extra[i]);
				k = maxfds;
			}
			memcpy(fds, CMSG_DATA(c), sizeof(int) * k);
			if (nfds)
				*nfds = k;
		}
	}
	if (n != (ssize_t)sizeof(*m) || m->magic != FERRY_PROTO_MAGIC)
		return -EPROTO;
	return 0;
}

int ferry_msg_send_with(int sock, const struct ferry_msg *m, const void *payload, size_t n)
{
	struct iovec iov[2] = {{.iov_base = (void *)m, .iov_len = sizeof(*m)},
			       {.iov_base = (void *)payload, .iov_len = n}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n ? 2 : 1};

	return send_all(sock, &mh, sizeof(*m) + n);
}

int ferry_msg_recv_with(int sock, struct ferry_msg *m, void *payload, size_t room, size_t *got,
			int *fd)
{
	struct iovec iov[2] = {{.iov_base = m, .iov_len = sizeof(*m)},
			       {.iov_base = payload, .iov_len = room}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov,
			    .msg_iovlen = 2,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;

	*got = 0;
	*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n < (ssize_t)sizeof(*m) ||
	    m->magic != FERRY_PROTO_MAGIC) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EPROTO;
	}
	*got = (size_t)n - sizeof(*m);
	return 0;
}

int ferry_check_range(uint64_t base, uint64_t wsize, uint64_t start, uint64_t size)
{
	if (size == 0 || (start & (FERRY_PAGE_SIZE - 1)) || (size & (FERRY_PAGE_SIZE - 1)))
		return -EINVAL;
	if (start < base || start - base > wsize || size > wsize - (start - base))
		return -ERANGE;
	return 0;
}

int ferry_spin_readable(int sock)
{
	return ferry_spin_readable_for(sock, ferry_spin_ns());
}

int ferry_spin_readable_for(int sock, uint64_t spin)
{
	uint64_t t0 = spin ? ferry_clock_ns() : 0;

	while (spin) {
		struct pollfd p = {.fd = sock, .events = POLLIN};

		if (poll(&p, 1, 0) > 0)
			return 1;
		if (ferry_clock_ns() - t0 >= spin)
			break;
		sched_yield();
	}
	return 0;
}
