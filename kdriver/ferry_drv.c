// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * ferry.ko: the DRM driver of Ferry's software device.
 *
 * A platform device with a render node, found by user space through libdrm
 * by driver name ("ferry"). The driver interface of include/ferry/ferry_uapi.h
 * ('F' ioctls) is served next to DRM's own ioctls on the same file, so that
 * the runtime talks to this module and to the user-space driver with the same
 * command numbers and structures.
 *
 * This is the skeleton of issue 4: the device, the render node, per-opener
 * state and FERRY_IOCTL_VERSION. Device memory, migration and the device view
 * come next; their commands return -ENOTTY until then.
 *
 * Lock order: none yet (the per-file state is only read).
 */
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_ioctl.h>

#include "ferry/ferry_uapi.h"
#include "ferry_compat.h"

#define DRIVER_NAME "ferry"
#define DRIVER_DESC "Ferry software device (shared virtual memory)"
#define DRIVER_DATE "20261125"

struct ferry_device {
	struct drm_device drm;
	struct platform_device *pdev;
};

/* One VA space per opener: no process reaches another's memory. */
struct ferry_file {
	struct mm_struct *mm; /* the opener's address space, not pinned */
};

static struct ferry_device *ferry_dev;

/**
 * ferry_open() - set up the VA space of a new opener
 * @dev: the DRM device
 * @file: the new file
 *
 * Context: process context, may sleep.
 * Return: 0 or -ENOMEM.
 */
static int ferry_open(struct drm_device *dev, struct drm_file *file)
{
	struct ferry_file *ff = kzalloc(sizeof(*ff), GFP_KERNEL);

	if (!ff)
		return -ENOMEM;
	ff->mm = current->mm;
	file->driver_priv = ff;
	return 0;
}

/**
 * ferry_postclose() - release the VA space of a closing opener
 * @dev: the DRM device
 * @file: the file being closed
 *
 * Context: process context, may sleep.
 */
static void ferry_postclose(struct drm_device *dev, struct drm_file *file)
{
	kfree(file->driver_priv);
	file->driver_priv = NULL;
}

/**
 * ferry_ioctl_version() - FERRY_IOCTL_VERSION
 * @arg: user pointer to struct ferry_version
 *
 * Context: process context, may sleep (user copies).
 * Return: 0, -EFAULT or -EINVAL (nonzero reserved fields).
 */
static long ferry_ioctl_version(void __user *arg)
{
	struct ferry_version v;

	if (copy_from_user(&v, arg, sizeof(v)))
		return -EFAULT;
	if (v.reserved || v.reserved2)
		return -EINVAL;
	v.major = FERRY_UAPI_VERSION_MAJOR;
	v.minor = FERRY_UAPI_VERSION_MINOR;
	v.backend = FERRY_BACKEND_KERNEL;
	v.features = 0; /* migration features come with the device memory */
	if (copy_to_user(arg, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

/**
 * ferry_unlocked_ioctl() - the driver interface, then DRM's ioctls
 * @filp: the render node file
 * @cmd: the ioctl number
 * @arg: its argument
 *
 * Context: process context, may sleep.
 * Return: the command's result; -ENOTTY for a driver-interface command that
 * this module does not implement yet.
 */
static long ferry_unlocked_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	if (_IOC_TYPE(cmd) != FERRY_IOCTL_BASE)
		return drm_ioctl(filp, cmd, arg);
	switch (cmd) {
	case FERRY_IOCTL_VERSION:
		return ferry_ioctl_version((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations ferry_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = ferry_unlocked_ioctl,
	.compat_ioctl = drm_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	FERRY_FOP_FLAGS
};

static const struct drm_driver ferry_driver = {
	.driver_features = DRIVER_RENDER,
	.open = ferry_open,
	.postclose = ferry_postclose,
	.fops = &ferry_fops,
	.name = DRIVER_NAME,
	.desc = DRIVER_DESC,
	.date = DRIVER_DATE,
	.major = FERRY_UAPI_VERSION_MAJOR,
	.minor = FERRY_UAPI_VERSION_MINOR,
};

/**
 * ferry_init() - register the platform device and its DRM device
 *
 * Context: module load, process context.
 * Return: 0 or a negative errno; everything registered is unwound on failure.
 */
static int __init ferry_init(void)
{
	struct platform_device *pdev;
	int ret;

	pdev = platform_device_register_simple(DRIVER_NAME, -1, NULL, 0);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	if (!devres_open_group(&pdev->dev, NULL, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto err_unregister;
	}
	ferry_dev = devm_drm_dev_alloc(&pdev->dev, &ferry_driver, struct ferry_device, drm);
	if (IS_ERR(ferry_dev)) {
		ret = PTR_ERR(ferry_dev);
		goto err_devres;
	}
	ferry_dev->pdev = pdev;
	ret = drm_dev_register(&ferry_dev->drm, 0);
	if (ret)
		goto err_devres;
	return 0;

err_devres:
	devres_release_group(&pdev->dev, NULL);
err_unregister:
	platform_device_unregister(pdev);
	return ret;
}

/**
 * ferry_exit() - unregister the DRM device and the platform device
 *
 * Context: module unload, process context.
 */
static void __exit ferry_exit(void)
{
	struct platform_device *pdev = ferry_dev->pdev;

	drm_dev_unregister(&ferry_dev->drm);
	devres_release_group(&pdev->dev, NULL);
	platform_device_unregister(pdev);
}

module_init(ferry_init);
module_exit(ferry_exit);

MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("Dual MIT/GPL");
