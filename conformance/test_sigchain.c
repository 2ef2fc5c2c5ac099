/* SPDX-License-Identifier: MIT */
/*
 * test_sigchain.c - ferry-device keeps SIGBUS and SIGSEGV (udriver/sigchain.c).
 *
 * The executable is linked like ferry-device: sigchain.c's sigaction() is
 * exported, and a shared library it loads with dlopen() (as ferry-device
 * loads PoCL, and PoCL LLVM) sets handlers the way LLVM does. Checked: the kernel's disposition
 * stays the driver's; the library gets back what the process had before the driver; a signal the
 * driver declines reaches the library's handler, once (SA_RESETHAND), and then the default action,
 * which kills; other signals are untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "udriver/udriver.h"

/* support/sigchain_other.c, loaded with dlopen() as ferry-device loads PoCL */
static int (*other_install)(int sig, struct sigaction *old);
static int (*other_query)(int sig, struct sigaction *cur);
static void *(*other_handler_address)(void);
static int (*other_handler_calls)(void);

static volatile sig_atomic_t ours_calls;

/* The driver's handler: it declines every signal it is given here. */
static void ours(int sig, siginfo_t *si, void *uctx)
{
	ours_calls++;
	udrv_signal_forward(sig, si, uctx);
}

/* The handler the kernel has for @sig, bypassing every sigaction() wrapper. */
static void *kernel_handler(int sig)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} k;

	assert_int_equal(syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof(k.mask)), 0);
	return k.handler;
}

static void test_library_cannot_take_an_owned_signal(void **state)
{
	struct sigaction old, cur;
	void *before = kernel_handler(SIGBUS); /* SIG_DFL, or a sanitizer's */
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(udrv_signal_own(SIGBUS, ours), 0);
	assert_ptr_equal(kernel_handler(SIGBUS), (void *)ours);
	/* owning twice keeps what was there before the first time */
	assert_int_equal(udrv_signal_own(SIGBUS, ours), 0);

	assert_int_equal(other_install(SIGBUS, &old), 0);
	assert_ptr_equal((void *)old.sa_handler, before);
	assert_ptr_equal(kernel_handler(SIGBUS), (void *)ours);
	assert_int_equal(other_query(SIGBUS, &cur), 0);
	assert_ptr_equal((void *)cur.sa_sigaction, other_handler_address());

	/* a SIGBUS the driver declines reaches the library's handler */
	assert_int_equal(raise(SIGBUS), 0);
	assert_int_equal(ours_calls, 1);
	assert_int_equal(other_handler_calls(), 1);
	/* SA_RESETHAND: the library's handler is gone, the driver's stays */
	assert_int_equal(other_query(SIGBUS, &cur), 0);
	assert_ptr_equal((void *)cur.sa_handler, (void *)SIG_DFL);
	assert_ptr_equal(kernel_handler(SIGBUS), (void *)ours);

	/* the next fault the driver declines takes the default action */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a page beyond the end of an empty file: a real SIGBUS, retried after the handler
		 */
		int fd = memfd_create("sigchain", 0);
		volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

		if (p != MAP_FAILED)
			(void)p[0];
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGBUS);
}

static void test_other_signals_pass_through(void **state)
{
	struct sigaction old;

	(void)state;
	assert_int_equal(other_install(SIGUSR1, &old), 0);
	assert_ptr_equal(kernel_handler(SIGUSR1), other_handler_address());
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
	assert_ptr_equal(kernel_handler(SIGUSR1), (void *)old.sa_handler);
}

int main(void)
{
	void *lib = dlopen(SIGCHAIN_OTHER_PATH, RTLD_NOW | RTLD_LOCAL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_cannot_take_an_owned_signal),
		cmocka_unit_test(test_other_signals_pass_through),
	};

	if (!lib) {
		fprintf(stderr, "test_sigchain: %s\n", dlerror());
		return 1;
	}
	*(void **)&other_install = dlsym(lib, "other_install");
	*(void **)&other_query = dlsym(lib, "other_query");
	*(void **)&other_handler_address = dlsym(lib, "other_handler_address");
	*(void **)&other_handler_calls = dlsym(lib, "other_handler_calls");
	if (!other_install || !other_query || !other_handler_address || !other_handler_calls)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
