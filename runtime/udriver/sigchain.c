/* SPDX-License-Identifier: MIT */
/*
 * sigchain.c - ferry-device keeps the signals its driver handles.
 *
 * The udriver resolves device faults in a SIGBUS handler (fault.c) and
 * guards remaps with a SIGSEGV one (udriver.c). Other code in this process
 * installs handlers for the same signals: LLVM, which PoCL runs to compile
 * kernels, installs its crash handlers (SA_RESETHAND) for a compile and
 * leaves them there. A device fault then ran LLVM's handler, which put ours
 * back; but a second thread faulting at the same moment found SIGBUS reset
 * to its default action, and the device process died (1 start in 3 of
 * test_api_buffer under ASan).
 *
 * As HotSpot's libjsig does for the JVM, ferry-device interposes sigaction()
 * (the executable exports it, so calls from its libraries land here): once
 * Ferry owns a signal, a handler another library sets for it is recorded,
 * not installed, and Ferry's handler passes that one every signal that is
 * not its own. signal() is not interposed: glibc's calls sigaction inside
 * libc, and neither PoCL nor LLVM uses it for these signals.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "udriver/udriver.h"

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static struct {
	bool owned;
	struct sigaction chained; /* what the process would have without Ferry */
} chain[_NSIG];
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;

static sigaction_fn real_sigaction(void)
{
	static sigaction_fn real;

	if (!real)
		real = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
	return real;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn real = real_sigaction();

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (sig <= 0 || sig >= _NSIG || !__atomic_load_n(&chain[sig].owned, __ATOMIC_ACQUIRE))
		return real(sig, act, old);
	pthread_mutex_lock(&chain_lock);
	if (old)
		*old = chain[sig].chained;
	if (act)
		chain[sig].chained = *act;
	pthread_mutex_unlock(&chain_lock);
	return 0;
}

int udrv_signal_own(int sig, void (*handler)(int, siginfo_t *, void *))
{
	struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
	sigaction_fn real = real_sigaction();
	int r;

	if (!real)
		return -ENOSYS;
	/* the libraries' calls land here only if the executable exports it */
	if (dlsym(RTLD_DEFAULT, "sigaction") != (void *)sigaction) {
		fprintf(stderr, "ferry-device: sigaction() is not interposed (link with "
				"-Wl,--export-dynamic-symbol=sigaction)\n");
		return -ENOTSUP;
	}
	sigemptyset(&sa.sa_mask);
	pthread_mutex_lock(&chain_lock);
	/* once per signal: a second call would chain our own handler */
	r = chain[sig].owned ? 0 : real(sig, &sa, &chain[sig].chained);
	if (!r)
		__atomic_store_n(&chain[sig].owned, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&chain_lock);
	return r ? -errno : 0;
}

void udrv_signal_forward(int sig, siginfo_t *si, void *uctx)
{
	struct sigaction h = chain[sig].chained;

	if (h.sa_handler == SIG_DFL || h.sa_handler == SIG_IGN) {
		/*
		 * The default action: put it in place and return; the fault
		 * happens again and takes it (a synchronous SIGBUS or SIGSEGV
		 * that is ignored kills the process all the same).
		 */
		__atomic_store_n(&chain[sig].owned, false, __ATOMIC_RELEASE);
		real_sigaction()(sig, &h, NULL);
		return;
	}
	if (h.sa_flags & SA_RESETHAND) {
		chain[sig].chained.sa_handler = SIG_DFL;
		chain[sig].chained.sa_flags &= ~SA_SIGINFO;
	}
	if (h.sa_flags & SA_SIGINFO)
		h.sa_sigaction(sig, si, uctx);
	else
		h.sa_handler(sig);
}
