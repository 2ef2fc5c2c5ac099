/* SPDX-License-Identifier: MIT */
/*
 * command.h - what the queues (queue.c), their workers (worker.c) and the
 * events (event.c) share: a queued command, the event lock, spinning before
 * a wait.
 */
#ifndef FERRY_API_COMMAND_H
#define FERRY_API_COMMAND_H

#include <sched.h>

#include "common/clock.h"
#include "common/settings.h"
#include "api/api.h"

/* A command in its queue, from ferry_enqueue() until its worker retired it. */
struct ferry_cmd {
	struct ferry_cmd *next, *prev; /* prev: out of order only */
	struct ferry_cmd *flight;      /* the next launch its worker has in flight */
	cl_event event;		       /* the queue's reference */
	cl_uint nwait;
	cl_uint ndone;	/* out of order: the first @ndone of @wait are complete */
	cl_event *wait; /* retained */
	ferry_cmd_fn fn;
	void *arg;
	/* out of order */
	bool taken;	/* a worker runs it */
	bool barrier;	/* no later command runs before it retired */
	bool after_all; /* a marker or barrier without a wait list: after every earlier command */
};

/* An out-of-order queue's workers at the most. */
#define FERRY_OOO_WORKERS 4

static inline bool ferry_queue_ooo(cl_command_queue q)
{
	return q->props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE;
}

/*
 * Every event's status changes under this lock and is announced on this
 * condition (event.c). Lock order: a queue's lock, then this one.
 */
extern pthread_mutex_t ferry_ev_lock;
extern pthread_cond_t ferry_ev_cond;

/*
 * Poll @cond for up to FERRY_SPIN_US before a caller blocks on a condition
 * variable: a command completes or arrives sooner than waking a thread on an
 * idle CPU would take (an empty kernel's launch: 38-44 us -> 33-35 us). @cond
 * reads shared state without its lock, as a hint only: the caller decides
 * again under the lock.
 */
#define SPIN_UNTIL(cond)                                                                           \
	do {                                                                                       \
		uint64_t _spin = ferry_spin_ns(), _t0 = _spin ? ferry_clock_ns() : 0;              \
		while (_spin && !(cond) && ferry_clock_ns() - _t0 < _spin)                         \
			sched_yield();                                                             \
	} while (0)

/* event.c: a command's event (@q NULL: a user event) in @status, its QUEUED time stamped. */
cl_event ferry_event_new(cl_context ctx, cl_command_queue q, cl_command_type type, cl_int status);
/* Set a status and run the callbacks it triggers, outside the lock. */
void ferry_event_set_status(cl_event e, cl_int status);
/* Wait until @e is complete or failed; returns its final status. */
cl_int ferry_event_wait(cl_event e);

/* worker.c: an in-order queue's worker; an out-of-order queue's first one */
void *ferry_worker_main(void *queue);
void *ferry_ooo_main(void *queue);
/*
 * Out of order, with the queue's lock held: wake an idle worker for a
 * command that may run, or start one (up to FERRY_OOO_WORKERS); with @all
 * (the queue was released), every idle worker.
 */
void ferry_ooo_wake(cl_command_queue q, bool all);
/* A command was enqueued: SVM frees wait for it (ferry_defer_svm_free()). */
void ferry_inflight_add(void);
/* Clean up and free a command's argument (struct ferry_cmd_head). */
void ferry_drop_arg(void *arg);

#endif /* FERRY_API_COMMAND_H */
