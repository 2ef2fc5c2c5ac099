/* SPDX-License-Identifier: MIT */
/*
 * kmod.c - the driver client for the kernel backend (ferry.ko): ferry.ko's render
 * node, found through libdrm by driver name, and its 'F' ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xf86drm.h>

#include "host/host.h"
#include "ferry/ferry.h"

#define FERRY_DRM_NAME "ferry"

int ferry_kmod_find(void)
{
	drmDevicePtr devs[64];
	int n = drmGetDevices2(0, devs, 64), fd = -ENODEV;

	for (int i = 0; i < n && fd < 0; i++) {
		drmVersionPtr v;
		int f;

		if (!(devs[i]->available_nodes & (1 << DRM_NODE_RENDER)))
			continue;
		f = open(devs[i]->nodes[DRM_NODE_RENDER], O_RDWR | O_CLOEXEC);
		if (f < 0)
			continue;
		v = drmGetVersion(f);
		if (v && v->name && strcmp(v->name, FERRY_DRM_NAME) == 0)
			fd = f;
		else
			close(f);
		drmFreeVersion(v);
	}
	if (n > 0)
		drmFreeDevices(devs, n);
	return fd;
}

int ferry_kmod_open(struct ferry_ctx *ctx)
{
	struct ferry_version v = {0};
	struct ferry_create_vaspace c = {.device_memory = ctx->device_memory};
	int fd = ferry_kmod_find();

	if (fd < 0)
		return fd;
	if (ioctl(fd, FERRY_IOCTL_VERSION, &v) || v.major != FERRY_UAPI_VERSION_MAJOR) {
		fprintf(stderr, "ferry: ferry.ko speaks driver interface %u.%u, not %u.x\n",
			v.major, v.minor, FERRY_UAPI_VERSION_MAJOR);
		close(fd);
		return -EPROTO;
	}
	if (ioctl(fd, FERRY_IOCTL_CREATE_VASPACE, &c)) {
		int e = errno;

		if (e == EOPNOTSUPP)
			fprintf(stderr, "ferry: ferry.ko is loaded but this kernel has no "
					"device-private memory (CONFIG_DEVICE_PRIVATE)\n");
		close(fd);
		return -e;
	}
	ctx->kfd = fd;
	ctx->vaspace = c.id;
	return 0;
}

int ferry_kmod_ioctl(struct ferry_ctx *ctx, unsigned long cmd, void *arg)
{
	/*
	 * The data is safe in ferry.ko whatever happens to ferry-device, but
	 * the device is gone: commands for it fail as with the user backend.
	 */
	if (cmd != FERRY_IOCTL_RESIDENCY && cmd != FERRY_IOCTL_COUNTERS && !ferry_device_alive(ctx))
		return -ENODEV;
	switch (cmd) {
	case FERRY_IOCTL_VERSION:
	case FERRY_IOCTL_MIGRATE:
	case FERRY_IOCTL_WAIT:
	case FERRY_IOCTL_SET_ATTR:
	case FERRY_IOCTL_GET_ATTR:
	case FERRY_IOCTL_RESIDENCY:
	case FERRY_IOCTL_COUNTERS:
		for (;;) {
			if (ioctl(ctx->kfd, cmd, arg) == 0)
				return 0;
			if (errno != EINTR)
				return -errno;
		}
	case FERRY_IOCTL_CREATE_VASPACE:
	case FERRY_IOCTL_REGISTER_WINDOW:
	case FERRY_IOCTL_MAP_DEVICE_VIEW:
		return -EBUSY; /* done by ferry_open */
	default:
		return -ENOTTY;
	}
}
