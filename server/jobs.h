/* A fixed pool of worker threads, each owning one PostgreSQL connection, fed
 * by a bounded FIFO. HTTP poll threads never block: they suspend the
 * connection, submit a job, and the job resumes it when done.
 *
 * Thread-safety: tly_jobs_submit may be called from any thread; create and
 * destroy from one thread. */
#ifndef TLY_SERVER_JOBS_H
#define TLY_SERVER_JOBS_H

#include "common/util.h"

#include <libpq-fe.h>

typedef struct tly_jobs tly_jobs_t;

/* Runs on a worker thread. conn is the worker's connection, or NULL when
 * PostgreSQL is unreachable right now (the job must answer accordingly). */
typedef void (*tly_job_fn)(PGconn *conn, void *arg);

/* Starts `workers` threads connecting with db_url (lazily, reconnecting on
 * failure). queue_len bounds the jobs waiting. */
bool tly_jobs_create(int workers, int queue_len, const char *db_url,
                     tly_jobs_t **out) TLY_MUSTCHECK;

/* Queues fn(conn, arg); false when the queue is full or stopping (the caller
 * answers 503 and still owns arg). */
bool tly_jobs_submit(tly_jobs_t *jobs, tly_job_fn fn, void *arg) TLY_MUSTCHECK;

/* Runs every queued job, stops the threads and frees. NULL is a no-op. */
void tly_jobs_destroy(tly_jobs_t *jobs);

#endif
