/* tally-fleet: a fleet of simulated Windows agents against Tally.
 *
 * One thread, one epoll loop, a pool of HTTP/1.1 keep-alive connections.
 * Devices (gen.h) make reports on their schedule; each report is gzipped
 * into a batch and queued on its device (store-and-forward, bounded); a
 * device with a batch due waits in a FIFO for a free connection. Answers
 * follow the agent protocol (docs/agent-protocol.md): 202 moves on, 429/503
 * back off honouring Retry-After and resend the same bytes (same batch_id),
 * 401/403 pause the device (the key, not the batch), other 4xx drop the
 * batch, network failures back off and retry. Policy is
 * fetched with If-None-Match every --policy-every reports; a 404 turns it
 * off for the run.
 *
 * Modes: steady (every device at its interval), storm (every device comes
 * back at once with --backlog batches), max (every connection sends as fast
 * as the server answers). --dump writes documents instead of sending.
 *
 * Output: a progress line on stderr each second; a table on stdout and,
 * with --json-out, the same figures plus a per-second timeline as JSON. */
#include "buf.h"
#include "cli.h"
#include "gen.h"
#include "hist.h"
#include "server.h"
#include "httpc.h"
#include "rng.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FLEET_VERSION   "0.1.0"
#define MAX_KEY_LEN     512
#define BACKOFF_BASE_MS 500
#define BACKOFF_CAP_MS  60000
#define KEY_PAUSE_S     600 /* after a 401/403: the key is wrong, not the batch */
#define DRAIN_MAX_NS    (10 * NS_PER_S)
#define READ_CHUNK      16384

typedef enum { MODE_STEADY, MODE_STORM, MODE_MAX } run_mode_t;
static const char *const mode_names[] = {"steady", "storm", "max"};

typedef struct {
    char url[512];
    char host[256]; /* for the Host header */
    char port[8];
    char prefix[256]; /* path prefix, "" or "/something" */
    char **keys;
    size_t n_keys;
    run_mode_t mode;
    uint32_t devices;
    uint32_t connections;
    double duration_s;
    double interval_s;
    double jitter;
    uint64_t seed;
    uint64_t run_id;
    bool run_id_set;
    uint32_t full_every;
    uint32_t events;
    uint32_t backlog;
    uint64_t max_batches; /* max mode: 0 = until --duration */
    uint32_t queue_max;
    double timeout_s;
    uint32_t policy_every;
    int gzip_level;
    uint32_t tenants; /* for --dump without keys */
    int64_t epoch_s;  /* report clock of --dump */
    const char *json_out;
    const char *database_url;  /* server figures from PostgreSQL; NULL: none */
    int pids[SERVER_MAX_PIDS]; /* server processes to measure */
    int n_pids;
    double drain_wait_s;
    long dump_n;
    const char *dump_dir;
    bool quiet;
} options_t;

/* One queued batch: the gzipped document, resent byte for byte. */
typedef struct batch {
    struct batch *next;
    char batch_id[37];
    uint32_t seq;
    bool backlog; /* storm: part of the initial backlog */
    unsigned char *gz;
    size_t gz_len;
} batch_t;

enum { DEV_WAITING, DEV_READY, DEV_BUSY };

typedef struct {
    gen_device_t *gen;
    uint32_t key; /* index into options.keys */
    batch_t *head;
    batch_t *tail;
    uint32_t queued;
    uint8_t state;
    bool policy_due;
    uint32_t failures; /* consecutive, for the back-off */
    uint32_t reports_since_policy;
    int64_t next_report_ns; /* monotonic */
    int64_t retry_at_ns;
    int64_t interval_ns;
    char *etag;
} device_t;

enum { REQ_INVENTORY, REQ_POLICY };
enum { C_CLOSED, C_CONNECTING, C_IDLE, C_BUSY };
enum { ERR_CONNECT, ERR_RESET, ERR_TIMEOUT, ERR_PROTOCOL, ERR_COUNT };
static const char *const err_names[] = {"connect", "reset", "timeout", "protocol"};

typedef struct {
    int fd;
    int state;
    uint32_t events; /* registered epoll events */
    uint32_t dev;
    int kind;
    batch_t *batch; /* borrowed from the device's queue */
    char head[1024];
    size_t head_len;
    size_t sent;
    int64_t start_ns;
    buf_t in;
    uint32_t exchanges;
    bool retried_stale;
} conn_t;

typedef struct {
    int64_t wake_ns;
    uint32_t dev;
} heap_item_t;

typedef struct {
    double t_s;
    uint64_t sent, accepted, errors;
    double p50_ms, p99_ms;
    uint32_t inflight;
    uint64_t queued;
} tick_t;

typedef struct {
    options_t opt;
    gen_config_t gcfg;
    struct addrinfo *addr;
    int ep;
    rng_t rng; /* behaviour: jitter and back-off, not documents */
    device_t *devs;
    conn_t *conns;
    uint32_t *free_conns;
    uint32_t n_free;
    heap_item_t *heap;
    size_t heap_len;
    uint32_t *ready; /* ring of device indices */
    size_t ready_head, ready_len;
    buf_t raw; /* scratch for generation */
    bool policy_enabled;
    int policy_absent_status;
    bool stopping;
    int64_t start_ns, stop_ns, end_ns;
    /* figures */
    uint64_t status[600];
    uint64_t policy_status[600];
    uint64_t errors[ERR_COUNT];
    uint64_t requests_inventory, requests_policy;
    uint64_t accepted, duplicates, retries, rejected, dropped, stale_retries;
    uint64_t key_refusals; /* 401/403: the device pauses for KEY_PAUSE_S */
    uint64_t generated, generated_full, raw_bytes, gz_bytes, gz_full_bytes;
    uint64_t wire_bytes;
    uint64_t backlog_total, backlog_left;
    int64_t backlog_drained_ns;
    hist_t lat, win;
    uint64_t win_sent, win_accepted, win_errors;
    tick_t *ticks;
    size_t n_ticks, cap_ticks;
    int64_t next_tick_ns;
    uint64_t queued_total;
    server_figures_t server;
} fleet_t;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        cli_die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

/* --- options ---------------------------------------------------------------- */

static void add_key(options_t *o, const char *key, size_t len)
{
    if (len == 0)
        return;
    if (len > MAX_KEY_LEN)
        cli_die("an API key is longer than %d bytes", MAX_KEY_LEN);
    for (size_t i = 0; i < len; i++)
        if (key[i] <= ' ' || key[i] > '~')
            cli_die("an API key contains a space or a control character");
    char **k = realloc(o->keys, (o->n_keys + 1) * sizeof *k);
    if (k == NULL)
        cli_die("out of memory");
    o->keys = k;
    o->keys[o->n_keys] = xcalloc(len + 1, 1);
    memcpy(o->keys[o->n_keys], key, len);
    o->n_keys++;
}

static void read_keys_file(options_t *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        cli_die("%s: %s", path, strerror(errno));
    char line[MAX_KEY_LEN + 4];
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        if (n > 0 && line[0] != '#')
            add_key(o, line, n);
    }
    fclose(f);
}

static void parse_url(options_t *o, const char *url)
{
    snprintf(o->url, sizeof o->url, "%s", url);
    if (strncmp(url, "https://", 8) == 0)
        cli_die("%s: https is not supported; tally-fleet speaks plain HTTP (run it next to the "
                "server or behind a TLS-terminating proxy)",
                url);
    if (strncmp(url, "http://", 7) != 0)
        cli_die("%s: the URL must start with http://", url);
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    size_t hostport = slash ? (size_t)(slash - h) : strlen(h);
    const char *colon = memchr(h, ':', hostport);
    size_t host_len = colon ? (size_t)(colon - h) : hostport;
    if (host_len == 0 || host_len >= sizeof o->host)
        cli_die("%s: bad host", url);
    memcpy(o->host, h, host_len);
    o->host[host_len] = '\0';
    if (colon) {
        size_t plen = hostport - host_len - 1;
        if (plen == 0 || plen >= sizeof o->port)
            cli_die("%s: bad port", url);
        memcpy(o->port, colon + 1, plen);
        o->port[plen] = '\0';
        cli_parse_u64("port", o->port, 1, 65535);
    } else {
        snprintf(o->port, sizeof o->port, "80");
    }
    snprintf(o->prefix, sizeof o->prefix, "%s", slash ? slash : "");
    size_t pl = strlen(o->prefix);
    while (pl > 0 && o->prefix[pl - 1] == '/')
        o->prefix[--pl] = '\0';
}

/* The options parse_options handles itself; the table stores the others. */
enum { OPT_URL = 1, OPT_KEY, OPT_KEYS_FILE, OPT_MODE, OPT_RUN_ID, OPT_DUMP, OPT_PID };

static void parse_options(options_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    const char *env_url = getenv("TALLY_URL");
    parse_url(o, env_url && *env_url ? env_url : "http://127.0.0.1:18080");
    o->mode = MODE_STEADY;
    o->devices = 100;
    o->connections = 16;
    o->duration_s = 10;
    o->drain_wait_s = 60;
    o->interval_s = 60;
    o->jitter = 0.1;
    o->seed = 1;
    o->full_every = 12;
    o->events = 7;
    o->backlog = 10;
    o->queue_max = 64;
    o->timeout_s = 30;
    o->policy_every = 10;
    o->gzip_level = 6;
    o->epoch_s = 1767600000;
    o->dump_n = -1;

    const cli_option_t opts[] = {
        CLI_OPT_CUSTOM("url", "URL", "server (default $TALLY_URL or http://127.0.0.1:18080)",
                       OPT_URL),
        CLI_OPT_CUSTOM("key", "KEY", "an agent API key; repeat once per tenant", OPT_KEY),
        CLI_OPT_CUSTOM("keys-file", "FILE", "API keys, one per line (default: $TALLY_AGENT_KEY)",
                       OPT_KEYS_FILE),
        CLI_OPT_CUSTOM("mode", "MODE", "steady | storm | max (default steady)", OPT_MODE),
        CLI_OPT_UINT("devices", "N", "simulated devices, spread over the keys (default 100)",
                     &o->devices, 1, 10000000),
        CLI_OPT_UINT("connections", "N", "keep-alive connections (default 16, at most N devices)",
                     &o->connections, 1, 100000),
        CLI_OPT_DOUBLE("duration", "S", "seconds to run (default 10)", &o->duration_s, 0.1,
                       30 * 86400.0),
        CLI_OPT_DOUBLE("interval", "S", "report interval per device (default 60)", &o->interval_s,
                       0.01, 86400.0),
        CLI_OPT_DOUBLE("jitter", "F", "interval jitter, fraction (default 0.1)", &o->jitter, 0.0,
                       0.9),
        CLI_OPT_UINT("seed", "N", "fleet seed: same seed, same devices and bytes (default 1)",
                     &o->seed, 0, UINT64_MAX),
        CLI_OPT_CUSTOM("run-id", "N", "mixed into batch ids (default: random; 0 with --dump)",
                       OPT_RUN_ID),
        CLI_OPT_UINT("full-every", "K",
                     "the first report and every Kth after it (at the device's own phase) carry "
                     "the software list (default 12)",
                     &o->full_every, 1, 1000000),
        CLI_OPT_UINT("events", "N", "mean process events per report (default 7)", &o->events, 0,
                     GEN_MAX_EVENTS / 2),
        CLI_OPT_UINT("backlog", "N", "storm: queued batches per device (default 10)", &o->backlog,
                     1, 100000),
        CLI_OPT_UINT("batches", "N", "max: stop after N batches are answered (default: no limit)",
                     &o->max_batches, 0, UINT64_MAX),
        CLI_OPT_UINT("queue-max", "N", "store-and-forward queue per device (default 64)",
                     &o->queue_max, 1, 1000000),
        CLI_OPT_DOUBLE("timeout", "S", "per request (default 30)", &o->timeout_s, 0.1, 3600.0),
        CLI_OPT_UINT("policy-every", "N", "fetch policy every N reports, 0 = never (default 10)",
                     &o->policy_every, 0, 1000000),
        CLI_OPT_UINT("gzip-level", "N", "1..9 (default 6)", &o->gzip_level, 1, 9),
        CLI_OPT_STRING("json-out", "FILE", "write the figures as JSON", &o->json_out),
        CLI_OPT_STRING("database-url", "URL",
                       "PostgreSQL (a role that sees every tenant) for batches and rows landed and"
                       " freshness (default $TALLY_OWNER_DATABASE_URL; '' for none)",
                       &o->database_url),
        CLI_OPT_CUSTOM("pid", "PID",
                       "a server process (serve, ingest) whose CPU and RSS to report;"
                       " repeat",
                       OPT_PID),
        CLI_OPT_DOUBLE("drain-wait", "S",
                       "with --database-url: wait up to S for ingest to store the accepted"
                       " batches (default 60)",
                       &o->drain_wait_s, 0, 3600.0),
        CLI_OPT_CUSTOM("dump", "N DIR",
                       "write the first N documents (uncompressed) to DIR and exit", OPT_DUMP),
        CLI_OPT_UINT("tenants", "M", "tenants for --dump when no keys are given (default 1)",
                     &o->tenants, 1, 100000),
        CLI_OPT_UINT("epoch", "S", "report clock of --dump, Unix seconds (default 1767600000)",
                     &o->epoch_s, 0, 253402300799ULL),
        CLI_OPT_FLAG("quiet", "no progress line", &o->quiet),
    };
    const cli_options_t set = {
        .intro = "usage: tally-fleet [options]\n"
                 "Simulates a fleet of Windows agents posting inventory batches to Tally.\n"
                 "\n",
        .opt = opts,
        .n_opt = sizeof opts / sizeof opts[0],
        /* Stop at the first operand, so --dump N DIR can take DIR. */
        .in_order = true,
    };
    int id;
    while ((id = cli_getopt(&set, argc, argv)) != -1) {
        switch (id) {
        case OPT_URL:
            parse_url(o, optarg);
            break;
        case OPT_KEY:
            add_key(o, optarg, strlen(optarg));
            break;
        case OPT_KEYS_FILE:
            read_keys_file(o, optarg);
            break;
        case OPT_MODE:
            if (strcmp(optarg, "steady") == 0)
                o->mode = MODE_STEADY;
            else if (strcmp(optarg, "storm") == 0)
                o->mode = MODE_STORM;
            else if (strcmp(optarg, "max") == 0)
                o->mode = MODE_MAX;
            else
                cli_die("--mode: '%s' is not steady, storm or max", optarg);
            break;
        case OPT_RUN_ID:
            o->run_id = cli_parse_u64("--run-id", optarg, 0, UINT64_MAX);
            o->run_id_set = true;
            break;
        case OPT_PID:
            if (o->n_pids == SERVER_MAX_PIDS)
                cli_die("--pid: at most %d processes", SERVER_MAX_PIDS);
            o->pids[o->n_pids++] = (int)cli_parse_u64("--pid", optarg, 1, INT32_MAX);
            break;
        case OPT_DUMP:
            o->dump_n = (long)cli_parse_u64("--dump", optarg, 1, 10000000);
            if (optind >= argc)
                cli_die("--dump N DIR: DIR is missing");
            o->dump_dir = argv[optind++];
            break;
        }
    }
    if (optind < argc)
        cli_die("unexpected argument '%s' (see --help)", argv[optind]);
    if (o->dump_n < 0 && o->n_keys == 0) {
        const char *k = getenv("TALLY_AGENT_KEY");
        if (k != NULL && *k)
            add_key(o, k, strlen(k));
    }
    if (o->database_url == NULL)
        o->database_url = getenv("TALLY_OWNER_DATABASE_URL");
    if (o->database_url != NULL && *o->database_url == '\0')
        o->database_url = NULL; /* --database-url '' (or an empty variable): not measured */
    if (o->dump_n < 0 && o->n_keys == 0)
        cli_die("no API key: give --key (once per tenant), --keys-file or $TALLY_AGENT_KEY");
    if (o->connections > o->devices)
        o->connections = o->devices;
    if (o->mode == MODE_STORM && o->queue_max < o->backlog)
        o->queue_max = o->backlog;
    /* Devices belong to tenants round-robin, one tenant per key. */
    if (o->n_keys > 0)
        o->tenants = (uint32_t)o->n_keys;
    else if (o->tenants == 0)
        o->tenants = 1;
}

/* --- scheduling: a min-heap of waiting devices and a FIFO of ready ones --- */

static bool heap_less(const heap_item_t *a, const heap_item_t *b)
{
    return a->wake_ns < b->wake_ns || (a->wake_ns == b->wake_ns && a->dev < b->dev);
}

static void heap_push(fleet_t *f, uint32_t dev, int64_t wake_ns)
{
    size_t i = f->heap_len++;
    f->heap[i] = (heap_item_t){wake_ns, dev};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(&f->heap[i], &f->heap[parent]))
            break;
        heap_item_t t = f->heap[i];
        f->heap[i] = f->heap[parent];
        f->heap[parent] = t;
        i = parent;
    }
}

static heap_item_t heap_pop(fleet_t *f)
{
    heap_item_t top = f->heap[0];
    f->heap[0] = f->heap[--f->heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < f->heap_len && heap_less(&f->heap[l], &f->heap[m]))
            m = l;
        if (r < f->heap_len && heap_less(&f->heap[r], &f->heap[m]))
            m = r;
        if (m == i)
            break;
        heap_item_t t = f->heap[i];
        f->heap[i] = f->heap[m];
        f->heap[m] = t;
        i = m;
    }
    return top;
}

static void ready_push(fleet_t *f, uint32_t dev)
{
    f->ready[(f->ready_head + f->ready_len) % f->opt.devices] = dev;
    f->ready_len++;
    f->devs[dev].state = DEV_READY;
}

static uint32_t ready_pop(fleet_t *f)
{
    uint32_t dev = f->ready[f->ready_head];
    f->ready_head = (f->ready_head + 1) % f->opt.devices;
    f->ready_len--;
    return dev;
}

/* --- batches ---------------------------------------------------------------- */

static void batch_free(batch_t *b)
{
    if (b == NULL)
        return;
    free(b->gz);
    free(b);
}

/* A storm backlog batch left its queue (sent, rejected or pushed out). */
static void backlog_done(fleet_t *f)
{
    if (f->backlog_left > 0 && --f->backlog_left == 0)
        f->backlog_drained_ns = cli_mono_ns();
}

/* Makes the device's next report at wall time unix_ms and queues it. */
static void make_batch(fleet_t *f, uint32_t i, int64_t unix_ms, bool backlog)
{
    device_t *d = &f->devs[i];
    batch_t *b = xcalloc(1, sizeof *b);
    buf_t gz;
    buf_init(&gz);
    buf_reset(&f->raw);
    b->seq = gen_device_reports(d->gen);
    bool full = gen_device_is_full(d->gen, b->seq);
    if (!gen_device_report(d->gen, unix_ms, &f->raw, b->batch_id) ||
        !gen_gzip(f->raw.data, f->raw.len, f->opt.gzip_level, &gz))
        cli_die("out of memory while generating a batch");
    b->gz = (unsigned char *)gz.data;
    b->gz_len = gz.len;
    b->backlog = backlog;
    f->generated++;
    f->raw_bytes += f->raw.len;
    f->gz_bytes += gz.len;
    if (full) {
        f->generated_full++;
        f->gz_full_bytes += gz.len;
    }
    /* Bounded store-and-forward: the oldest unsent batch gives way. Never
     * the head while it is on the wire. */
    if (d->queued >= f->opt.queue_max) {
        batch_t **pp = &d->head;
        if (d->state == DEV_BUSY && *pp != NULL)
            pp = &(*pp)->next;
        batch_t *old = *pp;
        if (old != NULL) {
            *pp = old->next;
            if (d->tail == old) {
                d->tail = NULL;
                for (batch_t *t = d->head; t != NULL; t = t->next)
                    d->tail = t;
            }
            if (old->backlog)
                backlog_done(f);
            batch_free(old);
            d->queued--;
            f->queued_total--;
            f->dropped++;
        }
    }
    if (d->tail)
        d->tail->next = b;
    else
        d->head = b;
    d->tail = b;
    d->queued++;
    f->queued_total++;
}

static int64_t jittered(fleet_t *f, int64_t ns)
{
    double j = f->opt.jitter * (2.0 * rng_double(&f->rng) - 1.0);
    return (int64_t)((double)ns * (1.0 + j));
}

/* A device that is not on the wire decides what it waits for. */
static void device_settle(fleet_t *f, uint32_t i, int64_t now)
{
    device_t *d = &f->devs[i];
    d->state = DEV_WAITING;
    if (f->stopping)
        return;
    if (f->opt.mode == MODE_MAX && d->head == NULL &&
        (f->opt.max_batches == 0 || f->generated < f->opt.max_batches))
        make_batch(f, i, wall_ms(), false);
    /* The policy is fetched just before a report goes out, not on its own. */
    bool has_work = d->head != NULL;
    if (has_work && d->retry_at_ns <= now) {
        ready_push(f, i);
        return;
    }
    int64_t wake = INT64_MAX;
    if (f->opt.mode != MODE_MAX)
        wake = d->next_report_ns;
    if (has_work && d->retry_at_ns < wake)
        wake = d->retry_at_ns;
    heap_push(f, i, wake);
}

static void wake_devices(fleet_t *f, int64_t now)
{
    while (f->heap_len > 0 && f->heap[0].wake_ns <= now && !f->stopping) {
        uint32_t i = heap_pop(f).dev;
        device_t *d = &f->devs[i];
        if (f->opt.mode != MODE_MAX && now >= d->next_report_ns) {
            make_batch(f, i, wall_ms(), false);
            d->next_report_ns += jittered(f, d->interval_ns);
            if (d->next_report_ns < now) /* fell behind: skip, do not burst */
                d->next_report_ns = now + jittered(f, d->interval_ns);
        }
        device_settle(f, i, now);
    }
}

/* --- connections ------------------------------------------------------------ */

static void conn_watch(fleet_t *f, conn_t *c, uint32_t events)
{
    if (c->fd < 0 || c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)(c - f->conns)};
    if (epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        cli_die("epoll_ctl: %s", strerror(errno));
    c->events = events;
}

static void conn_close(fleet_t *f, conn_t *c)
{
    if (c->fd >= 0) {
        epoll_ctl(f->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->exchanges = 0;
    c->state = C_CLOSED;
    buf_reset(&c->in);
}

static void conn_release(fleet_t *f, conn_t *c)
{
    if (c->state == C_BUSY || c->state == C_CONNECTING)
        c->state = c->fd >= 0 ? C_IDLE : C_CLOSED;
    c->batch = NULL;
    f->free_conns[f->n_free++] = (uint32_t)(c - f->conns);
}

/* Starts a non-blocking connect. False when it failed at once. */
static bool conn_open(fleet_t *f, conn_t *c)
{
    int fd = socket(f->addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, f->addr->ai_addr, f->addr->ai_addrlen) != 0 && errno != EINPROGRESS) {
        close(fd);
        return false;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)(c - f->conns)};
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        cli_die("epoll_ctl: %s", strerror(errno));
    c->fd = fd;
    c->events = EPOLLOUT;
    c->state = C_CONNECTING;
    c->exchanges = 0;
    buf_reset(&c->in);
    return true;
}

static size_t body_len(const conn_t *c)
{
    return c->kind == REQ_INVENTORY && c->batch ? c->batch->gz_len : 0;
}

/* Writes what it can; when all is written, waits for the answer. */
static bool conn_send(fleet_t *f, conn_t *c)
{
    size_t total = c->head_len + body_len(c);
    while (c->sent < total) {
        struct iovec iov[2];
        int n = 0;
        if (c->sent < c->head_len) {
            iov[n].iov_base = c->head + c->sent;
            iov[n].iov_len = c->head_len - c->sent;
            n++;
        }
        size_t body_off = c->sent > c->head_len ? c->sent - c->head_len : 0;
        if (body_len(c) > body_off) {
            iov[n].iov_base = c->batch->gz + body_off;
            iov[n].iov_len = body_len(c) - body_off;
            n++;
        }
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* Also readable: a server may answer (413, 401) before it
                 * has read the whole body, and then stop reading. */
                conn_watch(f, c, EPOLLOUT | EPOLLIN);
                return true;
            }
            if (errno == EINTR)
                continue;
            return false;
        }
        c->sent += (size_t)w;
        f->wire_bytes += (uint64_t)w;
    }
    conn_watch(f, c, EPOLLIN);
    return true;
}

static void format_request(fleet_t *f, conn_t *c)
{
    device_t *d = &f->devs[c->dev];
    const options_t *o = &f->opt;
    int n;
    if (c->kind == REQ_POLICY) {
        char inm[200] = "";
        if (d->etag != NULL)
            snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", d->etag);
        n = snprintf(c->head, sizeof c->head,
                     "GET %s/v1/agent/policy?agent_id=%s HTTP/1.1\r\nHost: %s:%s\r\n"
                     "Authorization: Bearer %s\r\nUser-Agent: tally-fleet/" FLEET_VERSION "\r\n"
                     "%s\r\n",
                     o->prefix, gen_device_agent_id(d->gen), o->host, o->port, o->keys[d->key],
                     inm);
    } else {
        n = snprintf(c->head, sizeof c->head,
                     "POST %s/v1/agent/inventory HTTP/1.1\r\nHost: %s:%s\r\n"
                     "Authorization: Bearer %s\r\nUser-Agent: tally-fleet/" FLEET_VERSION "\r\n"
                     "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                     "Content-Length: %zu\r\nX-Request-Id: fleet-%08x-%u-%u\r\n\r\n",
                     o->prefix, o->host, o->port, o->keys[d->key], c->batch->gz_len,
                     (unsigned)(f->opt.run_id & 0xffffffffU), (unsigned)c->dev,
                     (unsigned)c->batch->seq);
    }
    if (n < 0 || (size_t)n >= sizeof c->head)
        cli_die("request head too long");
    c->head_len = (size_t)n;
    c->sent = 0;
}

static void finish(fleet_t *f, conn_t *c, int status, const httpc_response_t *r, int err,
                   int64_t now);
static void conn_lost(fleet_t *f, conn_t *c, int err, int64_t now);

/* Puts device `dev`'s next request on connection c. */
static void conn_start(fleet_t *f, conn_t *c, uint32_t dev, int64_t now)
{
    device_t *d = &f->devs[dev];
    d->state = DEV_BUSY;
    c->dev = dev;
    c->kind = d->policy_due && f->policy_enabled ? REQ_POLICY : REQ_INVENTORY;
    c->batch = c->kind == REQ_INVENTORY ? d->head : NULL;
    c->start_ns = now;
    c->retried_stale = false;
    if (c->kind == REQ_POLICY)
        f->requests_policy++;
    else
        f->requests_inventory++;
    f->win_sent++;
    format_request(f, c);
    if (c->state == C_CLOSED && !conn_open(f, c)) {
        finish(f, c, 0, NULL, ERR_CONNECT, now);
        return;
    }
    if (c->state == C_CONNECTING)
        return; /* conn_send once connected */
    c->state = C_BUSY;
    buf_reset(&c->in);
    if (!conn_send(f, c))
        conn_lost(f, c, ERR_RESET, now);
}

static void dispatch(fleet_t *f, int64_t now)
{
    while (!f->stopping && f->ready_len > 0 && f->n_free > 0) {
        uint32_t dev = ready_pop(f);
        conn_t *c = &f->conns[f->free_conns[--f->n_free]];
        conn_start(f, c, dev, now);
    }
}

static int64_t backoff_ns(fleet_t *f, device_t *d, int retry_after_s)
{
    uint32_t k = d->failures > 0 ? d->failures - 1 : 0;
    int64_t ms = (int64_t)BACKOFF_BASE_MS << (k < 16 ? k : 16);
    if (ms > BACKOFF_CAP_MS)
        ms = BACKOFF_CAP_MS;
    if (retry_after_s >= 0 && (int64_t)retry_after_s * 1000 > ms)
        ms = (int64_t)retry_after_s * 1000;
    /* Jitter only ever adds: never earlier than Retry-After. */
    ms += (int64_t)(rng_double(&f->rng) * (double)ms * 0.25);
    return ms * NS_PER_MS;
}

static void pop_head(fleet_t *f, device_t *d)
{
    batch_t *b = d->head;
    d->head = b->next;
    if (d->head == NULL)
        d->tail = NULL;
    d->queued--;
    f->queued_total--;
    if (b->backlog)
        backlog_done(f);
    batch_free(b);
}

/* True when the small JSON body has `key`: true (no JSON library here). */
static bool json_true(const char *body, size_t len, const char *key)
{
    size_t klen = strlen(key);
    const char *p = len >= klen ? memmem(body, len, key, klen) : NULL;
    if (p == NULL)
        return false;
    const char *end = body + len;
    p += klen;
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    return (size_t)(end - p) >= 4 && memcmp(p, "true", 4) == 0;
}

/* Parses "next_checkin_s": N out of a policy body (no JSON library here). */
static long policy_next_checkin(const char *body, size_t len)
{
    static const char key[] = "\"next_checkin_s\"";
    for (size_t i = 0; i + sizeof key - 1 < len; i++) {
        if (memcmp(body + i, key, sizeof key - 1) != 0)
            continue;
        size_t j = i + sizeof key - 1;
        while (j < len && (body[j] == ' ' || body[j] == ':'))
            j++;
        long v = 0;
        int digits = 0;
        while (j < len && body[j] >= '0' && body[j] <= '9' && digits < 9) {
            v = v * 10 + (body[j++] - '0');
            digits++;
        }
        return digits ? v : -1;
    }
    return -1;
}

/* One exchange is over: an answer (status > 0, r set) or a failure (err). */
static void finish(fleet_t *f, conn_t *c, int status, const httpc_response_t *r, int err,
                   int64_t now)
{
    device_t *d = &f->devs[c->dev];
    int kind = c->kind;
    if (status > 0) {
        c->exchanges++;
        if (r->close)
            conn_close(f, c);
        else
            buf_reset(&c->in);
    } else {
        f->errors[err]++;
        f->win_errors++;
        conn_close(f, c);
    }
    conn_release(f, c);

    if (status > 0 && kind == REQ_INVENTORY) {
        uint64_t us = (uint64_t)((now - c->start_ns) / 1000);
        hist_record(&f->lat, us);
        hist_record(&f->win, us);
        if (status < 600)
            f->status[status]++;
    }
    if (kind == REQ_POLICY) {
        if (status > 0 && status < 600)
            f->policy_status[status]++;
        if (status == 200 || status == 304) {
            d->failures = 0;
            d->policy_due = false;
            d->reports_since_policy = 0;
            if (status == 200 && r->etag[0] != '\0') {
                free(d->etag);
                d->etag = strdup(r->etag);
                if (d->etag == NULL)
                    cli_die("out of memory");
            }
            long next = status == 200 ? policy_next_checkin(r->body, r->body_len) : -1;
            if (next > 0 && f->opt.mode != MODE_MAX)
                d->interval_ns = (int64_t)(next > 86400 ? 86400 : next) * NS_PER_S;
        } else if (status == 404 || status == 405 || status == 501) {
            /* No policy endpoint on this server: stop asking. */
            f->policy_enabled = false;
            f->policy_absent_status = status;
            d->policy_due = false;
        } else if (status == 429 || status >= 500 || status == 0) {
            d->failures++;
            d->retry_at_ns = now + backoff_ns(f, d, status ? r->retry_after_s : -1);
        } else {
            d->policy_due = false; /* some other refusal: try again later */
            d->reports_since_policy = 0;
        }
        device_settle(f, c->dev, now);
        return;
    }

    if (status == 202) {
        f->accepted++;
        f->win_accepted++;
        if (json_true(r->body, r->body_len, "\"duplicate\""))
            f->duplicates++;
        d->failures = 0;
        d->retry_at_ns = 0;
        pop_head(f, d);
        if (f->opt.policy_every > 0 && ++d->reports_since_policy >= f->opt.policy_every)
            d->policy_due = true;
    } else if (status == 401 || status == 403) {
        /* About the key, not the batch (docs/agent-protocol.md): stop
         * uploading, keep the queue, and try again only after a long pause
         * (an operator fixes the key or the tenant). */
        f->win_errors++;
        f->key_refusals++;
        d->failures++;
        d->retry_at_ns = now + KEY_PAUSE_S * NS_PER_S;
    } else if (status == 429 || status >= 500 || status == 0) {
        /* Retry the same bytes, same batch_id, after the back-off. */
        if (status != 0)
            f->win_errors++;
        f->retries++;
        d->failures++;
        d->retry_at_ns = now + backoff_ns(f, d, status ? r->retry_after_s : -1);
    } else {
        /* The server refused this batch for good (400, 413, 415, 422): a
         * real agent logs it and drops it; resending would fail the same way. */
        f->win_errors++;
        f->rejected++;
        d->failures = 0;
        pop_head(f, d);
    }
    device_settle(f, c->dev, now);
}

/* The connection failed before any byte of the answer. On a reused
 * keep-alive connection that is the classic race (the server timed it out
 * as we wrote): retry once on a fresh connection, as HTTP clients do;
 * batch_id makes that safe. Otherwise the exchange failed with err. */
static void conn_lost(fleet_t *f, conn_t *c, int err, int64_t now)
{
    if (c->in.len == 0 && c->exchanges > 0 && !c->retried_stale) {
        f->stale_retries++;
        conn_close(f, c);
        c->retried_stale = true;
        c->sent = 0;
        if (conn_open(f, c))
            return;
        err = ERR_CONNECT;
    }
    finish(f, c, 0, NULL, err, now);
}

/* Reads what is there and finishes the exchange if the answer is whole. */
static void conn_readable(fleet_t *f, conn_t *c, int64_t now)
{
    bool eof = false;
    for (;;) {
        if (!buf_reserve(&c->in, READ_CHUNK))
            cli_die("out of memory reading a response");
        ssize_t n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            if (c->in.len > HTTPC_MAX_HEAD + (1U << 20))
                break;
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        eof = true; /* ECONNRESET and friends */
        break;
    }
    if (c->state == C_IDLE) {
        /* The server closed an idle keep-alive connection (its timeout). */
        if (eof || c->in.len > 0)
            conn_close(f, c);
        return;
    }
    httpc_response_t r;
    int rc = httpc_parse_response(c->in.data, c->in.len, eof, &r);
    if (rc == 1) {
        finish(f, c, r.status, &r, 0, now);
        return;
    }
    if (rc < 0) {
        finish(f, c, 0, NULL, ERR_PROTOCOL, now);
        return;
    }
    if (eof)
        conn_lost(f, c, c->in.len == 0 ? ERR_RESET : ERR_PROTOCOL, now);
}

static void conn_event(fleet_t *f, conn_t *c, uint32_t events, int64_t now)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 ||
            (events & (EPOLLERR | EPOLLHUP))) {
            finish(f, c, 0, NULL, ERR_CONNECT, now);
            return;
        }
        c->state = C_BUSY;
        if (!conn_send(f, c))
            conn_lost(f, c, ERR_RESET, now);
        return;
    }
    if (c->state == C_IDLE) {
        conn_readable(f, c, now);
        return;
    }
    if (c->state != C_BUSY)
        return;
    if (events & EPOLLOUT) {
        if (!conn_send(f, c)) {
            conn_lost(f, c, ERR_RESET, now);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        conn_readable(f, c, now);
}

static void check_timeouts(fleet_t *f, int64_t now)
{
    int64_t limit = (int64_t)(f->opt.timeout_s * (double)NS_PER_S);
    for (uint32_t i = 0; i < f->opt.connections; i++) {
        conn_t *c = &f->conns[i];
        if ((c->state == C_BUSY || c->state == C_CONNECTING) && now - c->start_ns > limit)
            finish(f, c, 0, NULL, ERR_TIMEOUT, now);
    }
}

/* --- progress, report --------------------------------------------------------- */

static uint32_t inflight(const fleet_t *f)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->opt.connections; i++)
        n += f->conns[i].state == C_BUSY || f->conns[i].state == C_CONNECTING;
    return n;
}

static void tick(fleet_t *f, int64_t now)
{
    if (f->n_ticks == f->cap_ticks) {
        size_t cap = f->cap_ticks ? f->cap_ticks * 2 : 64;
        tick_t *t = realloc(f->ticks, cap * sizeof *t);
        if (t == NULL)
            cli_die("out of memory");
        f->ticks = t;
        f->cap_ticks = cap;
    }
    tick_t *t = &f->ticks[f->n_ticks++];
    t->t_s = (double)(now - f->start_ns) / NS_PER_S;
    t->sent = f->win_sent;
    t->accepted = f->win_accepted;
    t->errors = f->win_errors;
    t->p50_ms = (double)hist_percentile(&f->win, 50) / 1000.0;
    t->p99_ms = (double)hist_percentile(&f->win, 99) / 1000.0;
    t->inflight = inflight(f);
    t->queued = f->queued_total;
    if (!f->opt.quiet)
        fprintf(stderr,
                "[%6.1fs] sent %6llu  accepted %6llu/s  errors %4llu  p99 %8.2f ms  inflight %4u  "
                "queued %llu\n",
                t->t_s, (unsigned long long)t->sent, (unsigned long long)t->accepted,
                (unsigned long long)t->errors, t->p99_ms, t->inflight,
                (unsigned long long)t->queued);
    f->win_sent = f->win_accepted = f->win_errors = 0;
    hist_reset(&f->win);
}

static void print_server(const server_figures_t *s)
{
    if (s->database_url == NULL) {
        printf("%-34s not measured (give --database-url)\n", "stored in PostgreSQL");
    } else if (!s->pg_ok) {
        printf("%-34s not measured: %s\n", "stored in PostgreSQL", s->pg_error);
    } else {
        double all_s = s->window_s + s->drain_s;
        printf("%-34s %llu batches, %llu rows\n", "stored in PostgreSQL",
               (unsigned long long)s->batches, (unsigned long long)s->rows);
        printf("%-34s %.2f s%s\n", "  drained after the run", s->drain_s,
               s->drained ? "" : " (not all: gave up)");
        printf("%-34s %.1f / %.1f\n", "  batches/s / rows/s stored",
               all_s > 0 ? (double)s->batches / all_s : 0, all_s > 0 ? (double)s->rows / all_s : 0);
        printf("%-34s %.1f / %.1f\n", "  freshness ms p50 / p99", s->freshness_p50_ms,
               s->freshness_p99_ms);
    }
    if (s->nprocs == 0)
        printf("%-34s not measured (give --pid)\n", "server CPU s / peak RSS");
    for (int i = 0; i < s->nprocs; i++) {
        char label[80];
        snprintf(label, sizeof label, "CPU s / peak RSS MiB: %.20s", s->procs[i].name);
        if (s->procs[i].gone)
            printf("%-34s exited during the run\n", label);
        else
            printf("%-34s %.2f / %.1f\n", label, s->procs[i].cpu_s, s->procs[i].rss_mib);
    }
}

static void print_table(const fleet_t *f)
{
    const options_t *o = &f->opt;
    double elapsed = (double)(f->end_ns - f->start_ns) / NS_PER_S;
    printf("\ntally-fleet %s  mode=%s  url=%s\n", FLEET_VERSION, mode_names[o->mode], o->url);
    printf("devices=%u tenants=%zu connections=%u duration=%.1fs interval=%.1fs seed=%llu\n\n",
           o->devices, o->n_keys, o->connections, o->duration_s, o->interval_s,
           (unsigned long long)o->seed);
    printf("%-34s %s\n", "figure", "value");
    printf("%-34s %.1f\n", "elapsed (s)", elapsed);
    printf("%-34s %.1f\n", "accepted batches/s", elapsed > 0 ? (double)f->accepted / elapsed : 0);
    printf("%-34s %llu (duplicate: %llu)\n", "accepted (202)", (unsigned long long)f->accepted,
           (unsigned long long)f->duplicates);
    printf("%-34s %.2f / %.2f / %.2f / %.2f\n", "latency ms p50 / p95 / p99 / max",
           cli_us_to_ms(hist_percentile(&f->lat, 50)), cli_us_to_ms(hist_percentile(&f->lat, 95)),
           cli_us_to_ms(hist_percentile(&f->lat, 99)), cli_us_to_ms(f->lat.max));
    for (int s = 100; s < 600; s++)
        if (f->status[s] > 0) {
            char label[32];
            snprintf(label, sizeof label, "status %d", s);
            printf("%-34s %llu\n", label, (unsigned long long)f->status[s]);
        }
    for (int e = 0; e < ERR_COUNT; e++)
        if (f->errors[e] > 0) {
            char label[40];
            snprintf(label, sizeof label, "errors (%s)", err_names[e]);
            printf("%-34s %llu\n", label, (unsigned long long)f->errors[e]);
        }
    printf("%-34s %llu\n", "retries (same batch_id)", (unsigned long long)f->retries);
    printf("%-34s %llu\n", "key refusals (401/403, paused)", (unsigned long long)f->key_refusals);
    printf("%-34s %llu\n", "rejected (dropped)", (unsigned long long)f->rejected);
    printf("%-34s %llu\n", "dropped (queue full)", (unsigned long long)f->dropped);
    printf("%-34s %llu\n", "queued at end (not sent)", (unsigned long long)f->queued_total);
    printf("%-34s %llu (%llu full)\n", "batches generated", (unsigned long long)f->generated,
           (unsigned long long)f->generated_full);
    uint64_t deltas = f->generated - f->generated_full;
    printf("%-34s %.0f / %.0f\n", "mean gzip bytes delta / full",
           deltas ? (double)(f->gz_bytes - f->gz_full_bytes) / (double)deltas : 0.0,
           f->generated_full ? (double)f->gz_full_bytes / (double)f->generated_full : 0.0);
    printf("%-34s %llu\n", "bytes sent (wire)", (unsigned long long)f->wire_bytes);
    if (o->mode == MODE_STORM) {
        if (f->backlog_drained_ns > 0)
            printf("%-34s %.2f\n", "storm backlog drained after (s)",
                   (double)(f->backlog_drained_ns - f->start_ns) / NS_PER_S);
        else
            printf("%-34s not drained (%llu of %llu left)\n", "storm backlog",
                   (unsigned long long)f->backlog_left, (unsigned long long)f->backlog_total);
    }
    if (f->policy_absent_status)
        printf("%-34s absent (%d): fetches skipped\n", "policy endpoint", f->policy_absent_status);
    else
        printf("%-34s %llu requests\n", "policy endpoint", (unsigned long long)f->requests_policy);
    print_server(&f->server);
}

static void json_counts(jw_t *w, const char *key, const uint64_t *counts)
{
    jw_key(w, key);
    jw_obj(w);
    for (int s = 100; s < 600; s++)
        if (counts[s] > 0) {
            char k[16];
            snprintf(k, sizeof k, "%d", s);
            jw_key(w, k);
            jw_uint(w, counts[s]);
        }
    jw_obj_end(w);
}

static void write_json(const fleet_t *f)
{
    const options_t *o = &f->opt;
    double elapsed = (double)(f->end_ns - f->start_ns) / NS_PER_S;
    buf_t b;
    buf_init(&b);
    jw_t w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_key(&w, "tool");
    jw_str(&w, "tally-fleet");
    jw_key(&w, "version");
    jw_str(&w, FLEET_VERSION);
    jw_key(&w, "config");
    jw_obj(&w);
    jw_key(&w, "url");
    jw_str(&w, o->url);
    jw_key(&w, "mode");
    jw_str(&w, mode_names[o->mode]);
    jw_key(&w, "devices");
    jw_uint(&w, o->devices);
    jw_key(&w, "tenants");
    jw_uint(&w, o->n_keys);
    jw_key(&w, "connections");
    jw_uint(&w, o->connections);
    jw_key(&w, "duration_s");
    jw_fixed(&w, o->duration_s, 3);
    jw_key(&w, "interval_s");
    jw_fixed(&w, o->interval_s, 3);
    jw_key(&w, "jitter");
    jw_fixed(&w, o->jitter, 3);
    jw_key(&w, "seed");
    jw_uint(&w, o->seed);
    jw_key(&w, "run_id");
    jw_uint(&w, o->run_id);
    jw_key(&w, "full_every");
    jw_uint(&w, o->full_every);
    jw_key(&w, "events");
    jw_uint(&w, o->events);
    jw_key(&w, "backlog");
    jw_uint(&w, o->backlog);
    jw_key(&w, "queue_max");
    jw_uint(&w, o->queue_max);
    jw_key(&w, "gzip_level");
    jw_int(&w, o->gzip_level);
    jw_obj_end(&w);
    jw_key(&w, "elapsed_s");
    jw_fixed(&w, elapsed, 3);
    jw_key(&w, "accepted");
    jw_uint(&w, f->accepted);
    jw_key(&w, "duplicates");
    jw_uint(&w, f->duplicates);
    jw_key(&w, "accepted_per_s");
    jw_fixed(&w, elapsed > 0 ? (double)f->accepted / elapsed : 0, 1);
    jw_key(&w, "requests");
    jw_obj(&w);
    jw_key(&w, "inventory");
    jw_uint(&w, f->requests_inventory);
    jw_key(&w, "policy");
    jw_uint(&w, f->requests_policy);
    jw_obj_end(&w);
    jw_key(&w, "latency_ms");
    jw_obj(&w);
    jw_key(&w, "count");
    jw_uint(&w, f->lat.n);
    jw_key(&w, "mean");
    jw_fixed(&w, f->lat.n ? (double)f->lat.sum / (double)f->lat.n / 1000.0 : 0, 3);
    static const double pcts[] = {50, 95, 99};
    static const char *const pct_names[] = {"p50", "p95", "p99"};
    for (int i = 0; i < 3; i++) {
        jw_key(&w, pct_names[i]);
        jw_fixed(&w, cli_us_to_ms(hist_percentile(&f->lat, pcts[i])), 3);
    }
    jw_key(&w, "max");
    jw_fixed(&w, cli_us_to_ms(f->lat.max), 3);
    jw_obj_end(&w);
    json_counts(&w, "status", f->status);
    jw_key(&w, "errors");
    jw_obj(&w);
    for (int e = 0; e < ERR_COUNT; e++) {
        jw_key(&w, err_names[e]);
        jw_uint(&w, f->errors[e]);
    }
    jw_obj_end(&w);
    jw_key(&w, "retries");
    jw_uint(&w, f->retries);
    jw_key(&w, "key_refusals");
    jw_uint(&w, f->key_refusals);
    jw_key(&w, "rejected");
    jw_uint(&w, f->rejected);
    jw_key(&w, "dropped_queue_full");
    jw_uint(&w, f->dropped);
    jw_key(&w, "unsent_at_end");
    jw_uint(&w, f->queued_total);
    jw_key(&w, "stale_connection_retries");
    jw_uint(&w, f->stale_retries);
    jw_key(&w, "batches");
    jw_obj(&w);
    jw_key(&w, "generated");
    jw_uint(&w, f->generated);
    jw_key(&w, "full");
    jw_uint(&w, f->generated_full);
    jw_key(&w, "raw_bytes");
    jw_uint(&w, f->raw_bytes);
    jw_key(&w, "gzip_bytes");
    jw_uint(&w, f->gz_bytes);
    jw_obj_end(&w);
    jw_key(&w, "bytes_sent");
    jw_uint(&w, f->wire_bytes);
    jw_key(&w, "policy");
    jw_obj(&w);
    jw_key(&w, "endpoint");
    jw_str(&w, f->policy_absent_status ? "absent" : "present");
    json_counts(&w, "status", f->policy_status);
    jw_obj_end(&w);
    const server_figures_t *sv = &f->server;
    jw_key(&w, "server");
    jw_obj(&w);
    if (sv->database_url != NULL && sv->pg_ok) {
        jw_key(&w, "pg");
        jw_obj(&w);
        jw_key(&w, "batches");
        jw_uint(&w, sv->batches);
        jw_key(&w, "rows");
        jw_uint(&w, sv->rows);
        jw_key(&w, "drain_s");
        jw_fixed(&w, sv->drain_s, 2);
        jw_key(&w, "drained");
        jw_bool(&w, sv->drained);
        double all_s = sv->window_s + sv->drain_s;
        jw_key(&w, "batches_per_s");
        jw_fixed(&w, all_s > 0 ? (double)sv->batches / all_s : 0, 1);
        jw_key(&w, "rows_per_s");
        jw_fixed(&w, all_s > 0 ? (double)sv->rows / all_s : 0, 1);
        jw_key(&w, "freshness_ms");
        jw_obj(&w);
        jw_key(&w, "p50");
        jw_fixed(&w, sv->freshness_p50_ms, 1);
        jw_key(&w, "p99");
        jw_fixed(&w, sv->freshness_p99_ms, 1);
        jw_obj_end(&w);
        jw_obj_end(&w);
    }
    jw_key(&w, "processes");
    jw_arr(&w);
    for (int i = 0; i < sv->nprocs; i++) {
        jw_obj(&w);
        jw_key(&w, "pid");
        jw_uint(&w, (uint64_t)sv->procs[i].pid);
        jw_key(&w, "name");
        jw_str(&w, sv->procs[i].name);
        jw_key(&w, "cpu_s");
        jw_fixed(&w, sv->procs[i].cpu_s, 2);
        jw_key(&w, "peak_rss_mib");
        jw_fixed(&w, sv->procs[i].rss_mib, 1);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    if (o->mode == MODE_STORM) {
        jw_key(&w, "storm");
        jw_obj(&w);
        jw_key(&w, "backlog_batches");
        jw_uint(&w, f->backlog_total);
        jw_key(&w, "drained_s");
        if (f->backlog_drained_ns > 0)
            jw_fixed(&w, (double)(f->backlog_drained_ns - f->start_ns) / NS_PER_S, 3);
        else
            jw_null(&w);
        jw_obj_end(&w);
    }
    jw_key(&w, "timeline");
    jw_arr(&w);
    for (size_t i = 0; i < f->n_ticks; i++) {
        const tick_t *t = &f->ticks[i];
        jw_obj(&w);
        jw_key(&w, "t_s");
        jw_fixed(&w, t->t_s, 3);
        jw_key(&w, "sent");
        jw_uint(&w, t->sent);
        jw_key(&w, "accepted");
        jw_uint(&w, t->accepted);
        jw_key(&w, "errors");
        jw_uint(&w, t->errors);
        jw_key(&w, "p50_ms");
        jw_fixed(&w, t->p50_ms, 3);
        jw_key(&w, "p99_ms");
        jw_fixed(&w, t->p99_ms, 3);
        jw_key(&w, "inflight");
        jw_uint(&w, t->inflight);
        jw_key(&w, "queued");
        jw_uint(&w, t->queued);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    buf_putc(&b, '\n');
    if (b.oom)
        cli_die("out of memory writing the JSON report");
    FILE *out = fopen(o->json_out, "w");
    if (out == NULL || fwrite(b.data, 1, b.len, out) != b.len || fclose(out) != 0)
        cli_die("%s: cannot write: %s", o->json_out, strerror(errno));
    buf_free(&b);
}

/* --- modes ------------------------------------------------------------------- */

/* --dump: the first N documents in the order a steady fleet would make them
 * from --epoch (each device at its phase, then every --interval), without
 * jitter, so the bytes depend on the options only. */
static int run_dump(fleet_t *f)
{
    const options_t *o = &f->opt;
    if (mkdir(o->dump_dir, 0777) != 0 && errno != EEXIST)
        cli_die("%s: %s", o->dump_dir, strerror(errno));
    int64_t interval_ms = (int64_t)(o->interval_s * 1000.0);
    if (interval_ms < 1)
        interval_ms = 1;
    int64_t epoch_ms = o->epoch_s * 1000;
    for (uint32_t i = 0; i < o->devices; i++)
        heap_push(f, i, epoch_ms + gen_device_phase(f->devs[i].gen, (uint32_t)interval_ms));
    char id[37];
    for (long n = 0; n < o->dump_n; n++) {
        heap_item_t it = heap_pop(f);
        buf_reset(&f->raw);
        if (!gen_device_report(f->devs[it.dev].gen, it.wake_ns, &f->raw, id))
            cli_die("out of memory while generating a batch");
        char path[4096];
        snprintf(path, sizeof path, "%s/batch-%05ld.json", o->dump_dir, n + 1);
        FILE *out = fopen(path, "w");
        if (out == NULL || fwrite(f->raw.data, 1, f->raw.len, out) != f->raw.len ||
            fclose(out) != 0)
            cli_die("%s: cannot write: %s", path, strerror(errno));
        heap_push(f, it.dev, it.wake_ns + interval_ms);
    }
    fprintf(stderr, "tally-fleet: wrote %ld documents to %s\n", o->dump_n, o->dump_dir);
    return 0;
}

static void prepare_run(fleet_t *f, int64_t now)
{
    const options_t *o = &f->opt;
    int64_t interval_ns = (int64_t)(o->interval_s * (double)NS_PER_S);
    for (uint32_t i = 0; i < o->devices; i++) {
        device_t *d = &f->devs[i];
        d->interval_ns = interval_ns > 0 ? interval_ns : 1;
        d->policy_due = o->policy_every > 0;
        uint32_t phase_ms = gen_device_phase(d->gen, (uint32_t)(d->interval_ns / NS_PER_MS) + 1);
        d->next_report_ns = now + (int64_t)phase_ms * NS_PER_MS;
    }
    if (o->mode == MODE_STORM) {
        /* The outage is over: every device has a backlog made while it was
         * cut off, and all of them call at once. */
        if (!o->quiet)
            fprintf(stderr, "tally-fleet: preparing %u x %u backlog batches\n", o->devices,
                    o->backlog);
        int64_t wall = wall_ms();
        int64_t interval_ms = interval_ns / NS_PER_MS;
        for (uint32_t i = 0; i < o->devices; i++)
            for (uint32_t k = 0; k < o->backlog; k++)
                make_batch(f, i, wall - (int64_t)(o->backlog - k) * interval_ms, true);
        f->backlog_total = f->backlog_left = (uint64_t)o->devices * o->backlog;
    }
}

static int run(fleet_t *f)
{
    const options_t *o = &f->opt;
    int64_t now = cli_mono_ns();
    prepare_run(f, now);
    f->server.database_url = o->database_url;
    for (int i = 0; i < o->n_pids; i++)
        if (!server_watch_pid(&f->server, o->pids[i]))
            cli_die("--pid %d: no such process", o->pids[i]);
    server_start(&f->server);
    now = cli_mono_ns();
    f->start_ns = now;
    f->stop_ns = now + (int64_t)(o->duration_s * (double)NS_PER_S);
    f->next_tick_ns = now + NS_PER_S;
    for (uint32_t i = 0; i < o->devices; i++)
        device_settle(f, i, now);

    struct epoll_event evs[256];
    int64_t drain_deadline = 0;
    for (;;) {
        now = cli_mono_ns();
        bool all_sent =
            o->max_batches > 0 && f->accepted + f->rejected + f->dropped >= o->max_batches;
        if ((cli_interrupted() || now >= f->stop_ns || all_sent) && !f->stopping) {
            f->stopping = true;
            drain_deadline = now + DRAIN_MAX_NS;
        }
        if (f->stopping && (inflight(f) == 0 || now >= drain_deadline))
            break;
        wake_devices(f, now);
        dispatch(f, now);
        if (now >= f->next_tick_ns) {
            tick(f, now);
            f->next_tick_ns += NS_PER_S;
        }

        int64_t wait_ns = f->next_tick_ns - now;
        if (f->heap_len > 0 && f->heap[0].wake_ns - now < wait_ns)
            wait_ns = f->heap[0].wake_ns - now;
        if (!f->stopping && f->stop_ns - now < wait_ns)
            wait_ns = f->stop_ns - now;
        if (wait_ns > 100 * NS_PER_MS)
            wait_ns = 100 * NS_PER_MS;
        int timeout_ms = wait_ns <= 0 ? 0 : (int)((wait_ns + NS_PER_MS - 1) / NS_PER_MS);
        int n = epoll_wait(f->ep, evs, (int)(sizeof evs / sizeof evs[0]), timeout_ms);
        if (n < 0 && errno != EINTR)
            cli_die("epoll_wait: %s", strerror(errno));
        now = cli_mono_ns();
        for (int i = 0; i < n; i++)
            conn_event(f, &f->conns[evs[i].data.u32], evs[i].events, now);
        check_timeouts(f, now);
    }
    f->end_ns = cli_mono_ns();
    /* Whatever is still on the wire after the drain is abandoned. */
    for (uint32_t i = 0; i < o->connections; i++)
        if (f->conns[i].state == C_BUSY || f->conns[i].state == C_CONNECTING)
            f->errors[ERR_TIMEOUT]++;
    if (f->win_sent > 0 || f->win_accepted > 0)
        tick(f, f->end_ns);
    if (!o->quiet && o->database_url != NULL)
        fprintf(stderr, "tally-fleet: waiting for ingest to store the accepted batches\n");
    server_finish(&f->server, f->accepted - f->duplicates,
                  (double)(f->end_ns - f->start_ns) / NS_PER_S, o->drain_wait_s);
    print_table(f);
    if (o->json_out)
        write_json(f);
    return 0;
}

static void fleet_destroy(fleet_t *f)
{
    if (f->devs != NULL)
        for (uint32_t i = 0; i < f->opt.devices; i++) {
            device_t *d = &f->devs[i];
            while (d->head != NULL) {
                batch_t *b = d->head;
                d->head = b->next;
                batch_free(b);
            }
            free(d->etag);
            gen_device_destroy(d->gen);
        }
    if (f->conns != NULL)
        for (uint32_t i = 0; i < f->opt.connections; i++) {
            if (f->conns[i].fd >= 0)
                close(f->conns[i].fd);
            buf_free(&f->conns[i].in);
        }
    if (f->ep >= 0)
        close(f->ep);
    if (f->addr != NULL)
        freeaddrinfo(f->addr);
    for (size_t i = 0; i < f->opt.n_keys; i++)
        free(f->opt.keys[i]);
    free(f->opt.keys);
    free(f->devs);
    free(f->conns);
    free(f->free_conns);
    free(f->heap);
    free(f->ready);
    free(f->ticks);
    buf_free(&f->raw);
}

static uint64_t random_run_id(void)
{
    uint64_t x = 0;
    if (!cli_random_bytes(&x, sizeof x))
        x = (uint64_t)wall_ms() ^ ((uint64_t)getpid() << 32);
    return x;
}

int main(int argc, char **argv)
{
    static fleet_t fleet;
    fleet_t *f = &fleet;
    f->ep = -1;
    cli_set_program("tally-fleet");
    parse_options(&f->opt, argc, argv);
    options_t *o = &f->opt;
    if (!o->run_id_set)
        o->run_id = o->dump_n >= 0 ? 0 : random_run_id();

    gen_config_init(&f->gcfg);
    f->gcfg.seed = o->seed;
    f->gcfg.run_id = o->run_id;
    f->gcfg.tenants = o->tenants;
    f->gcfg.interval_s = (uint32_t)(o->interval_s < 1.0 ? 1.0 : o->interval_s);
    f->gcfg.full_every = o->full_every;
    f->gcfg.events = o->events;
    rng_seed(&f->rng, mix64(o->seed, 0x6265686176ULL) ^ o->run_id);
    f->policy_enabled = o->policy_every > 0;
    buf_init(&f->raw);

    f->devs = xcalloc(o->devices, sizeof *f->devs);
    f->heap = xcalloc(o->devices, sizeof *f->heap);
    f->ready = xcalloc(o->devices, sizeof *f->ready);
    for (uint32_t i = 0; i < o->devices; i++) {
        f->devs[i].gen = gen_device_create(&f->gcfg, i);
        if (f->devs[i].gen == NULL)
            cli_die("out of memory creating %u devices", o->devices);
        f->devs[i].key = o->n_keys ? i % (uint32_t)o->n_keys : 0;
    }

    int rc;
    if (o->dump_n >= 0) {
        rc = run_dump(f);
        goto done;
    }

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int gai = getaddrinfo(o->host, o->port, &hints, &f->addr);
    if (gai != 0)
        cli_die("%s: %s", o->host, gai_strerror(gai));
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    if (f->ep < 0)
        cli_die("epoll_create1: %s", strerror(errno));
    f->conns = xcalloc(o->connections, sizeof *f->conns);
    f->free_conns = xcalloc(o->connections, sizeof *f->free_conns);
    for (uint32_t i = 0; i < o->connections; i++) {
        f->conns[i].fd = -1;
        f->conns[i].state = C_CLOSED;
        buf_init(&f->conns[i].in);
        f->free_conns[f->n_free++] = o->connections - 1 - i;
    }

    cli_catch_signals();
    signal(SIGPIPE, SIG_IGN);
    rc = run(f);
done:
    fleet_destroy(f);
    return rc;
}
