/* SPDX-License-Identifier: MIT */
/*
 * sigchain_other.c - a shared library that sets signal handlers the way LLVM
 * does (its sigaction() call is resolved by the dynamic linker, so it lands
 * in the executable's interposed one). For test_sigchain.
 */
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t other_calls;

static void other_handler(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	(void)si;
	(void)uctx;
	other_calls++;
}

/* LLVM's flags: SA_NODEFER | SA_RESETHAND | SA_ONSTACK (plus SA_SIGINFO here). */
int other_install(int sig, struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = other_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESETHAND | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, old);
}

int other_query(int sig, struct sigaction *cur)
{
	return sigaction(sig, NULL, cur);
}

void *other_handler_address(void)
{
	return (void *)other_handler;
}

int other_handler_calls(void)
{
	return other_calls;
}
