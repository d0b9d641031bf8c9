#include "ingest/ingest.h"
#include "common/bus.h"
#include "common/db.h"
#include "common/jsonschema.h"
#include "common/log.h"
#include "common/ops.h"
#include "ingest/metrics.h"
#include "ingest/pull.h"
#include "ingest/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const tly_config_t *cfg;
    tly_bus_t *bus;
    tly_swcache_t *sets;      /* the software sets the workers wrote or read, shared */
    tly_claims_t *claims;     /* the devices whose lists a worker is storing */
    tly_json_limits_t limits; /* a message's parse: serve's bounds */
    atomic_bool stop;
    tly_ingest_metrics_t metrics;
} ingest_t;

static void count(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* Creates or updates the durable consumer; idempotent across replicas. */
static bool ensure_consumer(ingest_t *in)
{
    const tly_config_t *cfg = in->cfg;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = TLY_INGEST_CONSUMER;
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = cfg->ingest_ack_wait_s * 1000000000LL;
    cc.MaxDeliver = cfg->ingest_max_deliver;
    cc.MaxAckPending = cfg->ingest_max_ack_pending;
    /* JetStream's back-off is the wait of each delivery in turn (the last
     * repeating), and replaces AckWait: the 1st is the ack wait, then ours. */
    const tly_config_list_t *steps = &cfg->ingest_redelivery_backoff_s;
    int64_t backoff[1 + TLY_CONFIG_LIST_MAX];
    if (steps->n > 0) {
        backoff[0] = cc.AckWait;
        for (size_t i = 0; i < steps->n; i++)
            backoff[1 + i] = steps->v[i] * 1000000000LL;
        cc.BackOff = backoff;
        cc.BackOffLen = (int)steps->n + 1;
    }
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddConsumer(&ci, in->bus->js, cfg->stream_name, &cc, NULL, &jerr);
    if (s != NATS_OK)
        s = js_UpdateConsumer(&ci, in->bus->js, cfg->stream_name, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK)
        TLY_WARN(NULL, "consumer %s not ready: %s (code %d)", TLY_INGEST_CONSUMER,
                 natsStatus_GetText(s), (int)jerr);
    return s == NATS_OK;
}

/* The stream, the dead-letter stream and the consumer, as at start-up. */
static bool ensure_streams_and_consumer(ingest_t *in)
{
    return tly_bus_connected(in->bus) && tly_bus_ensure_stream(in->bus, in->cfg) &&
           tly_bus_ensure_dlq_stream(in->bus, in->cfg) && ensure_consumer(in);
}

/* Creates the consumer (and the streams) again if they are gone: deleted
 * by an operator, or the stream recreated. A pull request to a missing
 * consumer gets no answer at all, so the workers would wait, silently,
 * while the stream fills. Once again, the consumer delivers the stream
 * from its start; the ledger skips what was stored. */
static void check_consumer(ingest_t *in)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, in->bus->js, in->cfg->stream_name, TLY_INGEST_CONSUMER,
                                      NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s == NATS_OK || (jerr != JSConsumerNotFoundErr && jerr != JSStreamNotFoundErr))
        return; /* there, or NATS away (the workers wait for it anyway) */
    TLY_WARN(NULL, "consumer %s of stream %s is gone (code %d); creating it again",
             TLY_INGEST_CONSUMER, in->cfg->stream_name, (int)jerr);
    if (ensure_streams_and_consumer(in))
        TLY_INFO(NULL, "consumer %s created again", TLY_INGEST_CONSUMER);
}

/* Calls a pruning function, fn(keep_days, chunk), until a chunk comes back
 * short, so that no transaction grows large; returns how many rows went. */
static uint64_t prune(PGconn *conn, const char *fn, const char *what, int64_t keep_days)
{
    char days[24], query[96];
    snprintf(days, sizeof days, "%lld", (long long)keep_days);
    snprintf(query, sizeof query, "SELECT %s($1::int, 10000)", fn);
    const char *params[] = {days};
    uint64_t total = 0;
    for (;;) {
        PGresult *res = PQexecParams(conn, query, 1, NULL, params, NULL, NULL, 0);
        uint64_t n = 0;
        if (tly_db_result_ok(res, PGRES_TUPLES_OK, what))
            n = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        total += n;
        if (n < 10000)
            break;
    }
    if (total > 0)
        TLY_INFO(NULL, "%s: pruned %llu rows older than %s days", what, (unsigned long long)total,
                 days);
    return total;
}

/* Partitions ahead and past retention, the ledger's and the dead letters'
 * old rows. */
static void maintain(ingest_t *in)
{
    const tly_config_t *cfg = in->cfg;
    PGconn *conn = tly_db_connect(cfg->ingest_database_url, "tally-ingest-maintenance");
    if (conn == NULL)
        return;
    int created = 0, dropped = 0;
    (void)tly_db_maintain_partitions(conn, cfg->partition_days_ahead, cfg->partition_retention_days,
                                     &created, &dropped);
    count(&in->metrics.partitions_created, (uint64_t)created);
    count(&in->metrics.partitions_dropped, (uint64_t)dropped);
    count(&in->metrics.ledger_pruned,
          prune(conn, "tally_prune_ledger", "ledger", cfg->ledger_retention_days));
    count(&in->metrics.dead_letters_pruned,
          prune(conn, "tally_prune_dead_letters", "dead letters", cfg->dead_letter_retention_days));
    PQfinish(conn);
}

/* Copies a poison message to the dead-letter stream (the dead_letters row
 * is already committed; this copy is for operators replaying from NATS). */
static void copy_to_dlq(ingest_t *in, natsMsg *msg)
{
    char stream[TLY_SUBJECT_MAX], subject[TLY_SUBJECT_MAX], seq[24];
    tly_bus_dlq(in->cfg, stream, subject);
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)tly_bus_stream_seq(msg));
    natsMsg *copy = NULL;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    char msg_id[TLY_SUBJECT_MAX + 24];
    snprintf(msg_id, sizeof msg_id, "%s:%s", natsMsg_GetSubject(msg), seq);
    po.MsgId = msg_id;
    natsStatus s =
        natsMsg_Create(&copy, subject, NULL, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(copy, "Tally-DLQ-Subject", natsMsg_GetSubject(msg));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(copy, "Tally-DLQ-Seq", seq);
    if (s == NATS_OK)
        s = js_PublishMsg(NULL, in->bus->js, copy, &po, NULL);
    natsMsg_Destroy(copy);
    if (s != NATS_OK)
        TLY_ERROR(NULL, "dead-letter stream copy of seq %s failed (%s); it is in dead_letters", seq,
                  natsStatus_GetText(s));
}

static void settle(ingest_t *in, natsMsg **msgs, int n, const tly_msg_outcome_t *outcomes)
{
    for (int i = 0; i < n; i++) {
        natsStatus s;
        count(&in->metrics.messages[outcomes[i]], 1);
        if (outcomes[i] == TLY_MSG_POISON) {
            copy_to_dlq(in, msgs[i]);
            s = tly_ack(in->bus->nc, msgs[i], TLY_ACK_TERM);
        } else {
            s = tly_ack(in->bus->nc, msgs[i], TLY_ACK);
        }
        if (s != NATS_OK) /* harmless: the message comes back and the ledger skips it */
            TLY_WARN(NULL, "ack failed: %s", natsStatus_GetText(s));
    }
}

/* Keeps fetched messages assigned to this worker while PostgreSQL is away:
 * InProgress resets their ack timer without counting a delivery (a NAK or a
 * redelivery would, and MaxDeliver would eventually strand them). */
static void hold(ingest_t *in, natsMsg **msgs, int n)
{
    for (int i = 0; i < n; i++)
        (void)tly_ack(in->bus->nc, msgs[i], TLY_ACK_PROGRESS);
}

/* Hands messages back when shutting down with them unstored. */
static void release(ingest_t *in, natsMsg **msgs, int n)
{
    for (int i = 0; i < n; i++)
        (void)tly_ack(in->bus->nc, msgs[i], TLY_ACK_NAK);
}

/* Stores a fetched batch; when a bulk-loaded section is refused, stores its
 * messages one by one so only the guilty one is dead-lettered. True once
 * every message has an outcome. */
static bool store(ingest_t *in, PGconn *conn, const tly_store_ctx_t *ctx, natsMsg **msgs, int n,
                  tly_msg_outcome_t *outcomes, bool *committed, tly_store_counts_t *counts)
{
    const tly_config_t *cfg = in->cfg;
    tly_store_status_t st = tly_store_batch(cfg, conn, ctx, msgs, n, outcomes, committed, counts);
    if (st != TLY_STORE_ISOLATE)
        return st == TLY_STORE_COMMITTED;
    TLY_WARN(NULL, "a batch of %d messages was refused as a whole; storing them one by one", n);
    count(&in->metrics.isolations, 1);
    for (int i = 0; i < n; i++) {
        if (tly_store_batch(cfg, conn, ctx, &msgs[i], 1, &outcomes[i], &committed[i], counts) !=
            TLY_STORE_COMMITTED)
            return false; /* the earlier ones are committed; the ledger skips them on retry */
    }
    return true;
}

static void count_redeliveries(ingest_t *in, natsMsg **msgs, int n)
{
    for (int i = 0; i < n; i++) {
        jsMsgMetaData *meta = NULL;
        if (natsMsg_GetMetaData(&meta, msgs[i]) == NATS_OK && meta->NumDelivered > 1)
            count(&in->metrics.redeliveries, 1);
        jsMsgMetaData_Destroy(meta);
    }
}

/* Fetches what the stream holds now, up to TALLY_INGEST_FETCH_BATCH messages
 * and TALLY_INGEST_FETCH_MAX_BYTES (so that a fetch of large batches cannot
 * take the worker's memory), or one message however large (single); if it
 * holds nothing, waits up to TALLY_INGEST_FETCH_WAIT_MS for more. */
static natsStatus fetch(tly_msgs_t *list, tly_pull_t *pull, const tly_config_t *cfg, bool single,
                        char *why, size_t why_len)
{
    return tly_pull_fetch(pull, single ? 1 : (int)cfg->ingest_fetch_batch,
                          single ? 0 : cfg->ingest_fetch_max_bytes, cfg->ingest_fetch_wait_ms, list,
                          why, why_len);
}

/* A worker's next fetch, pulled from JetStream while the worker stores the
 * one before when the stream holds more than the last fetch took (a
 * backlog): a fetch waits about 30 ms for JetStream's answer (a tenth of a
 * worker's round in a drain), during which the worker's PostgreSQL
 * connection would otherwise idle. Otherwise the puller fetches when the
 * worker asks, so that batches arriving while the worker stores go into
 * the very next fetch (pulled ahead, they would wait a round more), after
 * TALLY_INGEST_FETCH_LINGER_MS when the fetch before brought messages: at
 * an everyday load a fetch then carries more batches, and PostgreSQL pays
 * its fixed cost per fetch (some 5 ms of CPU) less often. A fetch that
 * found the stream empty waits in JetStream instead, where the next
 * message ends the wait at once. The puller thread owns the pull
 * subscription (nats.c allows one fetcher per subscription); the worker
 * acks what it stored (any thread may). At most one fetch waits here, and
 * it stays assigned to the worker (InProgress each second) until taken. */
typedef struct {
    ingest_t *in;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* next filled or emptied, or wanted set; CLOCK_MONOTONIC */
    tly_msgs_t next;   /* fetched, not yet taken; count 0: none (under mu) */
    int64_t next_ns;   /* when next was fetched (tly_now_monotonic_ns) */
    bool wanted;       /* the worker waits for a fetch (under mu) */
} puller_t;

/* Whether the stream held more for the consumer after list's last message. */
static bool more_pending(const tly_msgs_t *list)
{
    jsMsgMetaData *meta = NULL;
    bool more =
        natsMsg_GetMetaData(&meta, list->msgs[list->count - 1]) == NATS_OK && meta->NumPending > 0;
    jsMsgMetaData_Destroy(meta);
    return more;
}

/* Waits on p->cv (p->mu held) for at most ms. */
static void puller_wait(puller_t *p, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    int64_t ns = until.tv_nsec + ms * 1000000;
    until.tv_sec += ns / 1000000000;
    until.tv_nsec = ns % 1000000000;
    (void)pthread_cond_timedwait(&p->cv, &p->mu, &until);
}

static void *puller_main(void *arg)
{
    puller_t *p = arg;
    ingest_t *in = p->in;
    const tly_config_t *cfg = in->cfg;
    tly_pull_t *pull = NULL;
    bool alone = false;   /* the next fetch takes one message, whatever its size */
    bool backlog = false; /* the last fetch left more in the stream: pull ahead */
    bool busy = false;    /* the last fetch brought messages: linger before the next */

    while (!atomic_load(&in->stop)) {
        pthread_mutex_lock(&p->mu);
        if (p->next.count > 0) {
            puller_wait(p, 1000);
            if (p->next.count > 0 && tly_now_monotonic_ns() - p->next_ns >= 1000000000)
                hold(in, p->next.msgs, p->next.count); /* the worker is held up (PostgreSQL) */
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        if (!backlog && !p->wanted) {
            puller_wait(p, 1000);
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        if (busy && !backlog && cfg->ingest_fetch_linger_ms > 0) {
            tly_sleep_unless(cfg->ingest_fetch_linger_ms, &in->stop);
            if (atomic_load(&in->stop))
                continue;
        }
        if (pull == NULL &&
            (pull = tly_pull_new(in->bus->nc, cfg->stream_name, TLY_INGEST_CONSUMER)) == NULL) {
            tly_sleep_unless(1000, &in->stop);
            continue;
        }
        tly_msgs_t list = {0};
        bool single = alone;
        char why[200];
        natsStatus s = fetch(&list, pull, cfg, single, why, sizeof why);
        alone = false;
        busy = list.count > 0;
        backlog = busy && more_pending(&list);
        if (list.count == 0) {
            if (s != NATS_TIMEOUT && s != NATS_NOT_FOUND) {
                /* JetStream refuses the request (409) when the next message
                 * alone is larger than MaxBytes: ask for that one by itself.
                 * If that fails too, something else is wrong: wait. */
                alone = !single;
                if (single) {
                    TLY_WARN(NULL, "fetch failed: %s%s%s", natsStatus_GetText(s),
                             why[0] != '\0' ? ": " : "", why);
                    tly_sleep_unless(500, &in->stop);
                }
            }
            continue;
        }
        if (single && natsMsg_GetDataLength(list.msgs[0]) > cfg->ingest_fetch_max_bytes)
            TLY_WARN(NULL,
                     "a message of %d bytes is larger than TALLY_INGEST_FETCH_MAX_BYTES (%lld): "
                     "fetched alone",
                     natsMsg_GetDataLength(list.msgs[0]), (long long)cfg->ingest_fetch_max_bytes);
        pthread_mutex_lock(&p->mu);
        p->next = list;
        p->next_ns = tly_now_monotonic_ns();
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    /* Stopping: what the worker did not take goes back to the stream. */
    pthread_mutex_lock(&p->mu);
    release(in, p->next.msgs, p->next.count);
    tly_msgs_free(&p->next);
    pthread_mutex_unlock(&p->mu);
    tly_pull_free(pull);
    nats_ReleaseThreadMemory();
    return NULL;
}

/* Takes the puller's next fetch into list, waiting for it; false when
 * ingest is stopping (the puller then releases what it holds). */
static bool take(puller_t *p, tly_msgs_t *list, int64_t *fetched_ns)
{
    bool got = false;
    pthread_mutex_lock(&p->mu);
    p->wanted = true;
    pthread_cond_broadcast(&p->cv);
    while (!atomic_load(&p->in->stop) && !got) {
        if (p->next.count == 0) {
            puller_wait(p, 100); /* a stop is not signalled: look again */
            continue;
        }
        *list = p->next;
        *fetched_ns = p->next_ns;
        p->next = (tly_msgs_t){0};
        pthread_cond_broadcast(&p->cv);
        got = true;
    }
    p->wanted = false;
    pthread_mutex_unlock(&p->mu);
    return got;
}

/* A worker's loop; arg is its puller, whose thread runs beside it. */
static void *worker_main(void *arg)
{
    puller_t *p = arg;
    ingest_t *in = p->in;
    const tly_config_t *cfg = in->cfg;
    PGconn *conn = NULL;
    tly_msg_outcome_t *outcomes = tly_xcalloc((size_t)cfg->ingest_fetch_batch, sizeof *outcomes);
    bool *committed = tly_xcalloc((size_t)cfg->ingest_fetch_batch, sizeof *committed);
    tly_store_counts_t counts = {0}; /* this worker's, logged when it stops */
    tly_store_ctx_t ctx = {in->limits, tly_catalog_new(TLY_INGEST_CATALOG_CACHE),
                           tly_devids_new(TLY_INGEST_DEVICE_CACHE), in->sets, in->claims};

    tly_msgs_t list = {0};
    int64_t fetched_ns = 0;
    while (take(p, &list, &fetched_ns)) {
        count_redeliveries(in, list.msgs, list.count);
        memset(committed, 0, (size_t)list.count * sizeof *committed);
        /* Store, retrying on whole-transaction failures (PostgreSQL down or
         * restarting) for as long as it takes; nothing was written then. */
        tly_store_counts_t before = counts;
        for (;;) {
            if (conn != NULL && !tly_db_ensure(conn)) {
                PQfinish(conn);
                conn = NULL;
            }
            if (conn == NULL)
                conn = tly_db_connect(cfg->ingest_database_url, "tally-ingest");
            if (conn != NULL &&
                store(in, conn, &ctx, list.msgs, list.count, outcomes, committed, &counts)) {
                settle(in, list.msgs, list.count, outcomes);
                count(&in->metrics.fetches, 1);
                for (size_t t = 0; t < TLY_STORE_TABLES; t++)
                    count(&in->metrics.rows[t], (uint64_t)(counts.rows[t] - before.rows[t]));
                count(&in->metrics.software_sets[0],
                      (uint64_t)(counts.sets_cached - before.sets_cached));
                count(&in->metrics.software_sets[1],
                      (uint64_t)(counts.sets_read - before.sets_read));
                count(&in->metrics.deferred, (uint64_t)(counts.deferred - before.deferred));
                tly_histogram_observe(&in->metrics.fetch_duration,
                                      tly_now_monotonic_ns() - fetched_ns);
                break;
            }
            if (atomic_load(&in->stop)) {
                release(in, list.msgs, list.count);
                break;
            }
            hold(in, list.msgs, list.count);
            count(&in->metrics.store_retries, 1);
            tly_sleep_unless(1000, &in->stop);
        }
        tly_msgs_free(&list);
    }
    TLY_INFO(NULL, "worker stopping: stored %lld batches, %lld dead letters",
             (long long)counts.batches, (long long)counts.dead_letters);
    PQfinish(conn);
    tly_catalog_free(ctx.catalog);
    tly_devids_free(ctx.devices);
    free(outcomes);
    free(committed);
    nats_ReleaseThreadMemory();
    return NULL;
}

static char *render_metrics(void *ctx, size_t *len)
{
    ingest_t *in = ctx;
    return tly_ingest_metrics_render(in->cfg, &in->metrics, in->bus, len);
}

/* The bounds serve parses a body within: TALLY_MAX_JSON_DEPTH, and no more
 * values than a valid batch can have. */
static bool parse_limits(const tly_config_t *cfg, tly_json_limits_t *limits)
{
    tly_schema_t *schema = NULL;
    char err[256];
    if (!tly_schema_compile(tly_batch_schema_json, tly_batch_schema_json_len, &schema, err,
                            sizeof err)) {
        TLY_ERROR(NULL, "batch schema: %s", err);
        return false;
    }
    *limits = tly_schema_json_limits(schema, (unsigned)cfg->max_json_depth);
    tly_schema_destroy(schema);
    return true;
}

int tly_ingest_main(const tly_config_t *cfg)
{
    ingest_t in = {.cfg = cfg,
                   .sets = tly_swcache_new((size_t)cfg->ingest_software_cache_mb << 20),
                   .claims = tly_claims_new()};
    int workers = cfg->ingest_workers;
    /* pullers[i] is worker i's slot; threads[2i] runs its puller and
     * threads[2i + 1] the worker. Both start here, so that ingest never
     * runs a worker short: a thread that cannot start stops the process. */
    puller_t *pullers = tly_xcalloc((size_t)workers, sizeof *pullers);
    pthread_t *threads = tly_xcalloc(2 * (size_t)workers, sizeof *threads);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    for (int i = 0; i < workers; i++) {
        pullers[i].in = &in;
        pthread_mutex_init(&pullers[i].mu, NULL);
        pthread_cond_init(&pullers[i].cv, &attr);
    }
    pthread_condattr_destroy(&attr);
    int started = 0, rc = 1;
    tly_ops_t *ops = NULL;

    if (!parse_limits(cfg, &in.limits) ||
        !tly_bus_connect(cfg->nats_url, "tally-ingest", NULL, &in.bus))
        goto failed;
    /* Wait for NATS (serve may not have created the stream yet either). */
    while (!ensure_streams_and_consumer(&in)) {
        if (tly_signals_wait_ms(1000) != 0) {
            rc = 0;
            goto failed;
        }
    }
    maintain(&in);
    if (cfg->ingest_metrics_port > 0 &&
        (ops = tly_ops_start(cfg->ingest_metrics_addr, cfg->ingest_metrics_port, render_metrics,
                             &in)) == NULL)
        goto failed;
    for (; started < 2 * workers; started++) {
        if (pthread_create(&threads[started], NULL, started % 2 ? worker_main : puller_main,
                           &pullers[started / 2]) != 0) {
            TLY_ERROR(NULL, "cannot start a %s thread", started % 2 ? "worker" : "puller");
            goto failed;
        }
    }
    TLY_INFO(NULL, "%d workers consuming %s", workers, cfg->stream_name);

    /* Maintenance hourly; the consumer checked every 10 s. */
    int sig;
    int64_t maintained_ns = tly_now_monotonic_ns();
    while ((sig = tly_signals_wait_ms(10 * 1000)) == 0) {
        check_consumer(&in);
        if (tly_now_monotonic_ns() - maintained_ns >= 3600 * INT64_C(1000000000)) {
            maintain(&in);
            maintained_ns = tly_now_monotonic_ns();
        }
    }
    TLY_INFO(NULL, "%s received, finishing the current batches", strsignal(sig));
    rc = 0;
failed:
    atomic_store(&in.stop, true);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < workers; i++) {
        pthread_cond_destroy(&pullers[i].cv);
        pthread_mutex_destroy(&pullers[i].mu);
    }
    free(pullers);
    free(threads);
    tly_ops_stop(ops);
    tly_bus_destroy(in.bus, cfg->shutdown_grace_ms);
    tly_swcache_free(in.sets);
    tly_claims_free(in.claims);
    TLY_INFO(NULL, "stopped");
    return rc;
}
