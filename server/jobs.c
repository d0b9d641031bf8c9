#include "server/jobs.h"
#include "common/db.h"
#include "common/log.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    tly_job_fn fn;
    void *arg;
} job_t;

struct tly_jobs {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t nonempty;
    job_t *ring;
    size_t cap, head, count;
    bool stopping;

    const char *db_url; /* borrowed from the config, outlives the pool */
    pthread_t *threads;
    int nthreads;
};

static void *worker_main(void *p)
{
    tly_jobs_t *jobs = p;
    PGconn *conn = NULL;
    for (;;) {
        pthread_mutex_lock(&jobs->lock);
        while (jobs->count == 0 && !jobs->stopping)
            pthread_cond_wait(&jobs->nonempty, &jobs->lock);
        if (jobs->count == 0) { /* stopping and drained */
            pthread_mutex_unlock(&jobs->lock);
            break;
        }
        job_t job = jobs->ring[jobs->head];
        jobs->head = (jobs->head + 1) % jobs->cap;
        jobs->count--;
        pthread_mutex_unlock(&jobs->lock);

        if (conn != NULL && !tly_db_ensure(conn)) {
            PQfinish(conn);
            conn = NULL;
        }
        if (conn == NULL)
            conn = tly_db_connect(jobs->db_url, "tally-serve");
        job.fn(conn, job.arg);
    }
    PQfinish(conn);
    return NULL;
}

bool tly_jobs_create(int workers, int queue_len, const char *db_url, tly_jobs_t **out)
{
    tly_jobs_t *jobs = tly_xcalloc(1, sizeof *jobs);
    pthread_mutex_init(&jobs->lock, NULL);
    pthread_cond_init(&jobs->nonempty, NULL);
    jobs->ring = tly_xcalloc((size_t)queue_len, sizeof *jobs->ring);
    jobs->cap = (size_t)queue_len;
    jobs->db_url = db_url;
    jobs->threads = tly_xcalloc((size_t)workers, sizeof *jobs->threads);
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&jobs->threads[i], NULL, worker_main, jobs) != 0) {
            TLY_ERROR(NULL, "cannot start worker thread %d", i);
            tly_jobs_destroy(jobs);
            return false;
        }
        jobs->nthreads++;
    }
    *out = jobs;
    return true;
}

bool tly_jobs_submit(tly_jobs_t *jobs, tly_job_fn fn, void *arg)
{
    pthread_mutex_lock(&jobs->lock);
    bool ok = !jobs->stopping && jobs->count < jobs->cap;
    if (ok) {
        jobs->ring[(jobs->head + jobs->count) % jobs->cap] = (job_t){fn, arg};
        jobs->count++;
        pthread_cond_signal(&jobs->nonempty);
    }
    pthread_mutex_unlock(&jobs->lock);
    return ok;
}

void tly_jobs_destroy(tly_jobs_t *jobs)
{
    if (jobs == NULL)
        return;
    pthread_mutex_lock(&jobs->lock);
    jobs->stopping = true;
    pthread_cond_broadcast(&jobs->nonempty);
    pthread_mutex_unlock(&jobs->lock);
    for (int i = 0; i < jobs->nthreads; i++)
        pthread_join(jobs->threads[i], NULL);
    pthread_cond_destroy(&jobs->nonempty);
    pthread_mutex_destroy(&jobs->lock);
    free(jobs->threads);
    free(jobs->ring);
    free(jobs);
}
