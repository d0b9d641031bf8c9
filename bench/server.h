/* The server side of a tally-fleet run, seen from outside: what landed in
 * PostgreSQL and what the server processes spent.
 *
 * PostgreSQL (--database-url, a role that sees every tenant: the owner URL
 * of `make run`'s demo.env): the batches received since the run started
 * (inventory_reports.received_at), the rows they brought (the report row,
 * its events and metrics), and freshness, from serve's receive time to the
 * ingest transaction that stored the batch (ingested_batches.ingested_at).
 * Processes (--pid): user + system CPU seconds over the run and peak RSS
 * (VmHWM), from /proc. Single-threaded; all figures are filled by
 * server_finish. */
#ifndef TLY_BENCH_SERVER_H
#define TLY_BENCH_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#define SERVER_MAX_PIDS 8

typedef struct {
    int pid;
    char name[64];  /* its command line, e.g. "tally serve" */
    double cpu0_s;  /* at the start */
    double cpu_s;   /* spent during the run (and the drain) */
    double rss_mib; /* VmHWM at the end */
    bool gone;      /* exited before the end */
} server_proc_t;

typedef struct {
    /* PostgreSQL */
    const char *database_url; /* NULL: not measured */
    char start_ts[40];        /* the database's clock at the start */
    bool pg_ok;
    char pg_error[256];
    uint64_t batches; /* stored batches received since the start */
    uint64_t rows;    /* their report rows + event and metric rows */
    double window_s;  /* start -> end of the run */
    double drain_s;   /* end of the run -> all expected batches stored (or gave up) */
    bool drained;
    double freshness_p50_ms, freshness_p99_ms;
    /* processes */
    server_proc_t procs[SERVER_MAX_PIDS];
    int nprocs;
} server_figures_t;

/* Adds a process to watch; false (with a message) if it cannot be read. */
bool server_watch_pid(server_figures_t *s, int pid);

/* At the start of the run: the database clock, the processes' CPU. */
void server_start(server_figures_t *s);

/* After the run: waits up to drain_max_s for `expected` stored batches
 * (no progress for 5 s also ends the wait), then reads every figure. */
void server_finish(server_figures_t *s, uint64_t expected, double run_s, double drain_max_s);

#endif
