/* SPDX-License-Identifier: MIT */
/*
 * features.h - the OpenCL C 3.0 features Ferry adds to PoCL's. PoCL's clang
 * takes no -cl-ext option, so a feature can only be one that its header
 * decides by the macro: ferry-device defines each one's macro when it builds
 * or compiles a program for OpenCL C 3.0 (clang defines them all for 2.0 and
 * none for 1.x), and CL_DEVICE_OPENCL_C_FEATURES lists them.
 *
 * __opencl_c_atomic_scope_all_devices declares memory_scope_all_svm_devices
 * and memory_scope_all_devices. It holds: atomics on the coherent region
 * (CL_MEM_SVM_FINE_GRAIN_BUFFER | CL_MEM_SVM_ATOMICS) are CPU atomics on
 * memory that the application and ferry-device map alike, and the compiler
 * lowers that scope to the CPU's system scope.
 */
#ifndef FERRY_FEATURES_H
#define FERRY_FEATURES_H

static const char *const ferry_added_c_features[] = {"__opencl_c_atomic_scope_all_devices"};

#define FERRY_ADDED_C_FEATURES (sizeof(ferry_added_c_features) / sizeof(ferry_added_c_features[0]))

#endif
