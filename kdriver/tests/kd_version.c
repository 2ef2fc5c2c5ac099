// SPDX-License-Identifier: MIT
/*
 * In the guest, with ferry.ko loaded: libdrm finds the render node by driver
 * name, FERRY_IOCTL_VERSION answers for the kernel backend, a nonzero
 * reserved field is refused with EINVAL, and an unknown command with ENOTTY.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xf86drm.h>

#include "ferry/ferry_uapi.h"

int main(void)
{
	struct ferry_version v;
	drmVersionPtr dv;
	int fd = drmOpenWithType("ferry", NULL, DRM_NODE_RENDER), bad = 0;

	if (fd < 0) {
		fprintf(stderr, "no ferry render node: %s\n", strerror(errno));
		return 1;
	}
	dv = drmGetVersion(fd);
	printf("driver %s %d.%d (%s)\n", dv->name, dv->version_major, dv->version_minor, dv->desc);
	bad |= strcmp(dv->name, "ferry") != 0;
	drmFreeVersion(dv);

	memset(&v, 0, sizeof(v));
	if (ioctl(fd, FERRY_IOCTL_VERSION, &v)) {
		perror("FERRY_IOCTL_VERSION");
		return 1;
	}
	printf("uapi %u.%u backend %u\n", v.major, v.minor, v.backend);
	bad |= v.major != FERRY_UAPI_VERSION_MAJOR || v.backend != FERRY_BACKEND_KERNEL;

	v.reserved = 1;
	bad |= !(ioctl(fd, FERRY_IOCTL_VERSION, &v) == -1 && errno == EINVAL);
	bad |= !(ioctl(fd, _IOWR(FERRY_IOCTL_BASE, 0x7f, struct ferry_version), &v) == -1 &&
		 errno == ENOTTY);
	close(fd);
	printf("%s\n", bad ? "FAIL" : "ok");
	return bad;
}
