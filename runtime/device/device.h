/* SPDX-License-Identifier: MIT */
#ifndef FERRY_DEVICE_H
#define FERRY_DEVICE_H

#include "ferry/ferry.h"

/*
 * Run device work over the device view (threads touch window memory, faults
 * are resolved by the driver). @staging is the shared bulk-data buffer.
 */
int ferry_device_run(struct ferry_dev_work *w, uint8_t *staging);

#endif
