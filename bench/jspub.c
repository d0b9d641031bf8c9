/* tally-jspub: the raw JetStream limit, measured the way tally serve
 * publishes (server/publisher.c): one connection, async publishes of the
 * same payload with a unique Nats-Msg-Id each and two small headers, into
 * a file-storage stream with a dedup window, at most --max-pending publishes
 * waiting for their PubAck. It publishes flat out for --duration seconds,
 * waits for the last PubAcks, and reports acknowledged publishes/s and the
 * PubAck latency (publish call → ack handler). The stream is its own
 * (--stream, --subject); it is created fresh at start and deleted at the
 * end unless --keep-stream.
 *
 * Threads: main publishes and prints progress; nats.c's ack dispatcher
 * runs on_ack. They share the counters (atomics) and the histograms (under
 * a mutex). */
#include "cli.h"
#include "hist.h"

#include <nats/nats.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSPUB_VERSION "0.1.0"
#define HDR_SENT      "Bench-Sent-Ns"
#define HDR_REQUEST   "Bench-Request-Id"
#define MAX_PAYLOAD   (8 * 1024 * 1024)

typedef struct {
    const char *url;
    const char *stream;
    const char *subject;
    const char *payload_file;
    size_t size;
    double duration_s;
    int64_t max_pending;
    int64_t dedup_window_s;
    int64_t timeout_ms;
    bool keep_stream;
    const char *json_out;
    bool quiet;
} options_t;

typedef struct {
    options_t opt;
    char *payload;
    size_t payload_len;
    char run_id[37];

    atomic_uint_fast64_t acked, duplicates, ack_errors, timeouts;
    uint64_t published, publish_failures;

    pthread_mutex_t lock; /* guards lat, win */
    hist_t lat, win;      /* microseconds */

    int64_t start_ns, stop_ns, end_ns;
} jspub_t;

/* --- options ---------------------------------------------------------------- */

static void parse_options(options_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    const char *env_url = getenv("TALLY_NATS_URL");
    o->url = env_url && *env_url ? env_url : "nats://127.0.0.1:4222";
    o->stream = "BENCH_JSPUB";
    o->subject = "bench.jspub";
    o->size = 2048;
    o->duration_s = 10;
    o->max_pending = 4096;
    o->dedup_window_s = 900;
    o->timeout_ms = 5000;

    const cli_option_t opts[] = {
        CLI_OPT_STRING("url", "URL",
                       "NATS server (default $TALLY_NATS_URL or nats://127.0.0.1:4222)", &o->url),
        CLI_OPT_STRING("stream", "NAME", "stream to create, use and delete (default BENCH_JSPUB)",
                       &o->stream),
        CLI_OPT_STRING("subject", "SUBJ", "subject it captures (default bench.jspub)", &o->subject),
        CLI_OPT_DOUBLE("duration", "S", "seconds to publish (default 10)", &o->duration_s, 0.1,
                       86400),
        CLI_OPT_STRING("payload", "FILE",
                       "the bytes of every message (default: --size bytes of JSON)",
                       &o->payload_file),
        CLI_OPT_UINT("size", "N", "payload size without --payload (default 2048)", &o->size, 1,
                     MAX_PAYLOAD),
        CLI_OPT_UINT("max-pending", "N",
                     "publishes waiting for their PubAck, at most (default 4096)", &o->max_pending,
                     1, 1 << 20),
        CLI_OPT_UINT("dedup-window", "S", "stream duplicate window (default 900, as Tally's)",
                     &o->dedup_window_s, 1, 86400),
        CLI_OPT_UINT("timeout-ms", "MS", "PubAck wait per publish (default 5000, as Tally's)",
                     &o->timeout_ms, 100, 600000),
        CLI_OPT_FLAG("keep-stream", "do not delete the stream at the end", &o->keep_stream),
        CLI_OPT_STRING("json-out", "FILE", "write the figures as JSON", &o->json_out),
        CLI_OPT_FLAG("quiet", "no progress line", &o->quiet),
    };
    const cli_options_t set = {
        .intro = "usage: tally-jspub [options]\n"
                 "Publishes one payload to JetStream as fast as PubAcks come back (the raw\n"
                 "limit next to tally serve's accept rate) and reports publishes/s and latency.\n"
                 "\n",
        .opt = opts,
        .n_opt = sizeof opts / sizeof opts[0],
    };
    /* Every option has a target, so this returns once, at the end. */
    cli_getopt(&set, argc, argv);
    if (optind != argc)
        cli_usage_exit(&set, 2);
}

/* --- payload ---------------------------------------------------------------- */

static void load_payload(jspub_t *p)
{
    const options_t *o = &p->opt;
    if (o->payload_file == NULL) {
        /* A JSON object of the requested size: nothing here compresses it,
         * so its content does not matter, only its length. */
        p->payload = malloc(o->size + 1);
        if (p->payload == NULL)
            cli_die("out of memory");
        memset(p->payload, 'x', o->size);
        if (o->size >= 16) {
            memcpy(p->payload, "{\"filler\":\"", 11);
            memcpy(p->payload + o->size - 2, "\"}", 2);
        }
        p->payload_len = o->size;
        return;
    }
    FILE *f = fopen(o->payload_file, "rb");
    if (f == NULL)
        cli_die("%s: %s", o->payload_file, strerror(errno));
    p->payload = malloc(MAX_PAYLOAD + 1);
    if (p->payload == NULL)
        cli_die("out of memory");
    p->payload_len = fread(p->payload, 1, MAX_PAYLOAD + 1, f);
    if (ferror(f))
        cli_die("%s: read error", o->payload_file);
    fclose(f);
    if (p->payload_len == 0 || p->payload_len > MAX_PAYLOAD)
        cli_die("%s: the payload must be 1 to %d bytes", o->payload_file, MAX_PAYLOAD);
}

static void make_run_id(char out[37])
{
    unsigned char b[16] = {0};
    if (!cli_random_bytes(b, sizeof b)) {
        uint64_t x = (uint64_t)cli_mono_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(b, &x, sizeof x);
    }
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-4%01x%02x-8%01x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6] & 0xf, b[7], b[8] & 0xf, b[9], b[10], b[11],
             b[12], b[13], b[14], b[15]);
}

/* --- JetStream -------------------------------------------------------------- */

/* Runs on nats.c's ack dispatcher thread, once per publish that was handed
 * over: a PubAck, the server's refusal, or the MaxWait timeout. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    jspub_t *p = closure;
    int64_t now = cli_mono_ns();
    const char *sent = NULL;
    if (pae == NULL && pa != NULL) {
        if (natsMsgHeader_Get(msg, HDR_SENT, &sent) == NATS_OK) {
            int64_t start = strtoll(sent, NULL, 10);
            uint64_t us = now > start ? (uint64_t)(now - start) / 1000 : 0;
            pthread_mutex_lock(&p->lock);
            hist_record(&p->lat, us);
            hist_record(&p->win, us);
            pthread_mutex_unlock(&p->lock);
        }
        if (pa->Duplicate)
            atomic_fetch_add(&p->duplicates, 1);
        /* Counted last: main reads the histogram once every publish is. */
        atomic_fetch_add(&p->acked, 1);
    } else if (pae != NULL && pae->Err == NATS_TIMEOUT) {
        atomic_fetch_add(&p->timeouts, 1);
    } else {
        atomic_fetch_add(&p->ack_errors, 1);
    }
    natsMsg_Destroy(msg);
}

static uint64_t settled(jspub_t *p)
{
    return atomic_load(&p->acked) + atomic_load(&p->timeouts) + atomic_load(&p->ack_errors);
}

static natsStatus connect_js(jspub_t *p, natsConnection **nc, jsCtx **js)
{
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, p->opt.url);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, "tally-jspub");
    if (s == NATS_OK)
        s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK)
        return s;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = p;
    jo.PublishAsync.MaxPending = p->opt.max_pending;
    /* A full window blocks the publisher until an ack frees a place; it
     * fails only if nothing comes back within the PubAck wait. */
    jo.PublishAsync.StallWait = p->opt.timeout_ms;
    return natsConnection_JetStream(js, *nc, &jo);
}

/* Creates the stream fresh (Tally's settings: file storage, limits
 * retention, dedup window, 7 days max age, one replica). */
static natsStatus create_stream(jspub_t *p, jsCtx *js, jsErrCode *jerr)
{
    const char *subjects[] = {p->opt.subject};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = p->opt.stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    sc.Replicas = 1;
    sc.Duplicates = p->opt.dedup_window_s * NS_PER_S;
    sc.MaxAge = 7 * 86400 * NS_PER_S;
    sc.Discard = js_DiscardOld;
    jsErrCode ignored = 0;
    (void)js_DeleteStream(js, p->opt.stream, NULL, &ignored); /* a leftover of a killed run */
    jsStreamInfo *si = NULL;
    natsStatus s = js_AddStream(&si, js, &sc, NULL, jerr);
    jsStreamInfo_Destroy(si);
    return s;
}

static natsStatus publish_one(jspub_t *p, jsCtx *js, uint64_t n)
{
    char msg_id[128], sent[24], request_id[37];
    /* As long as Tally's tenant:agent:batch, unique per message. */
    snprintf(msg_id, sizeof msg_id,
             "%s:00000000-0000-4000-8000-000000000000:%08x-0000-4000-8000-%012" PRIx64, p->run_id,
             (unsigned)getpid(), n);
    snprintf(request_id, sizeof request_id, "%08x-0000-4000-8000-%012" PRIx64, (unsigned)getpid(),
             n);
    snprintf(sent, sizeof sent, "%" PRId64, cli_mono_ns());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = p->opt.timeout_ms;
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, p->opt.subject, NULL, p->payload, (int)p->payload_len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, HDR_SENT, sent);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, HDR_REQUEST, request_id);
    if (s == NATS_OK)
        s = js_PublishMsgAsync(js, &msg, &po);
    natsMsg_Destroy(msg); /* NULL after a successful hand-over */
    return s;
}

static void progress(jspub_t *p, int64_t now, uint64_t *last_acked)
{
    uint64_t acked = atomic_load(&p->acked);
    pthread_mutex_lock(&p->lock);
    double p99 = (double)hist_percentile(&p->win, 99) / 1000.0;
    hist_reset(&p->win);
    pthread_mutex_unlock(&p->lock);
    if (!p->opt.quiet)
        fprintf(stderr, "[%6.1fs] published %8" PRIu64 "  acked %7" PRIu64 "/s  p99 %8.2f ms\n",
                (double)(now - p->start_ns) / NS_PER_S, p->published, acked - *last_acked, p99);
    *last_acked = acked;
}

/* --- report ----------------------------------------------------------------- */

static void report(jspub_t *p, FILE *out, bool json)
{
    const options_t *o = &p->opt;
    double elapsed = (double)(p->end_ns - p->start_ns) / NS_PER_S;
    double window = (double)(p->stop_ns - p->start_ns) / NS_PER_S;
    uint64_t acked = atomic_load(&p->acked);
    double rate = elapsed > 0 ? (double)acked / elapsed : 0;
    double mb_s = rate * (double)p->payload_len / (1024.0 * 1024.0);
    if (!json) {
        fprintf(out,
                "\ntally-jspub %s  url=%s  stream=%s  payload=%zu bytes  max-pending=%" PRId64
                "\n\n",
                JSPUB_VERSION, o->url, o->stream, p->payload_len, o->max_pending);
        fprintf(out, "%-34s %s\n", "figure", "value");
        fprintf(out, "%-34s %.1f (publishing %.1f)\n", "elapsed (s)", elapsed, window);
        fprintf(out, "%-34s %.1f\n", "acknowledged publishes/s", rate);
        fprintf(out, "%-34s %.1f\n", "payload MiB/s", mb_s);
        fprintf(out, "%-34s %.2f / %.2f / %.2f / %.2f\n", "PubAck ms p50 / p95 / p99 / max",
                cli_us_to_ms(hist_percentile(&p->lat, 50)),
                cli_us_to_ms(hist_percentile(&p->lat, 95)),
                cli_us_to_ms(hist_percentile(&p->lat, 99)), cli_us_to_ms(p->lat.max));
        fprintf(out, "%-34s %" PRIu64 "\n", "published", p->published);
        fprintf(out, "%-34s %" PRIu64 " (duplicate: %" PRIu64 ")\n", "acknowledged", acked,
                (uint64_t)atomic_load(&p->duplicates));
        fprintf(out, "%-34s %" PRIu64 "\n", "PubAck timeouts", (uint64_t)atomic_load(&p->timeouts));
        fprintf(out, "%-34s %" PRIu64 "\n", "refused by the server",
                (uint64_t)atomic_load(&p->ack_errors));
        fprintf(out, "%-34s %" PRIu64 "\n", "publish calls failed", p->publish_failures);
        return;
    }
    fprintf(out,
            "{\"tool\":\"tally-jspub\",\"version\":\"%s\",\"config\":{\"stream\":\"%s\","
            "\"subject\":\"%s\",\"payload_bytes\":%zu,\"max_pending\":%" PRId64
            ",\"duration_s\":%.3f,\"dedup_window_s\":%" PRId64 ",\"timeout_ms\":%" PRId64 "},",
            JSPUB_VERSION, o->stream, o->subject, p->payload_len, o->max_pending, o->duration_s,
            o->dedup_window_s, o->timeout_ms);
    fprintf(out,
            "\"elapsed_s\":%.3f,\"publishing_s\":%.3f,\"published\":%" PRIu64 ",\"acked\":%" PRIu64
            ",\"duplicates\":%" PRIu64 ",\"timeouts\":%" PRIu64 ",\"refused\":%" PRIu64
            ",\"publish_failures\":%" PRIu64 ",\"acked_per_s\":%.1f,\"payload_mib_per_s\":%.2f,",
            elapsed, window, p->published, acked, (uint64_t)atomic_load(&p->duplicates),
            (uint64_t)atomic_load(&p->timeouts), (uint64_t)atomic_load(&p->ack_errors),
            p->publish_failures, rate, mb_s);
    fprintf(out,
            "\"latency_ms\":{\"count\":%" PRIu64
            ",\"mean\":%.3f,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f}}\n",
            p->lat.n, p->lat.n ? (double)p->lat.sum / (double)p->lat.n / 1000.0 : 0,
            cli_us_to_ms(hist_percentile(&p->lat, 50)), cli_us_to_ms(hist_percentile(&p->lat, 95)),
            cli_us_to_ms(hist_percentile(&p->lat, 99)), cli_us_to_ms(p->lat.max));
}

/* --- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static jspub_t jspub;
    jspub_t *p = &jspub;
    cli_set_program("tally-jspub");
    parse_options(&p->opt, argc, argv);
    const options_t *o = &p->opt;
    load_payload(p);
    make_run_id(p->run_id);
    pthread_mutex_init(&p->lock, NULL);

    cli_catch_signals();
    /* nats.c without lock spinning, as tally opens it (tly_bus_connect). */
    if (nats_Open(0) != NATS_OK) {
        fprintf(stderr, "tally-jspub: the NATS client library failed to start\n");
        return 1;
    }

    int rc = 1;
    bool stream_made = false;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsErrCode jerr = 0;
    natsStatus s = connect_js(p, &nc, &js);
    if (s != NATS_OK) {
        fprintf(stderr, "tally-jspub: NATS %s: %s\n", o->url, natsStatus_GetText(s));
        goto done;
    }
    if ((int64_t)p->payload_len > natsConnection_GetMaxPayload(nc)) {
        fprintf(stderr, "tally-jspub: the payload (%zu bytes) exceeds the server's max_payload\n",
                p->payload_len);
        goto done;
    }
    s = create_stream(p, js, &jerr);
    if (s != NATS_OK) {
        fprintf(stderr, "tally-jspub: stream %s: %s (code %d)\n", o->stream, natsStatus_GetText(s),
                (int)jerr);
        goto done;
    }
    stream_made = true;

    p->start_ns = cli_mono_ns();
    int64_t deadline = p->start_ns + (int64_t)(o->duration_s * (double)NS_PER_S);
    int64_t next_tick = p->start_ns + NS_PER_S;
    uint64_t last_acked = 0;
    while (!cli_interrupted()) {
        /* The clock is read every 64 publishes: cheap next to a publish. */
        if ((p->published & 63) == 0) {
            int64_t now = cli_mono_ns();
            if (now >= deadline)
                break;
            if (now >= next_tick) {
                progress(p, now, &last_acked);
                next_tick += NS_PER_S;
            }
        }
        if (publish_one(p, js, p->published) == NATS_OK)
            p->published++;
        else if (++p->publish_failures > 1000) {
            fprintf(stderr, "tally-jspub: too many failed publishes, stopping\n");
            break;
        }
    }
    p->stop_ns = cli_mono_ns();

    /* The last PubAcks: each publish gets its ack or its timeout. */
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = o->timeout_ms + 1000;
    s = js_PublishAsyncComplete(js, &po);
    /* Complete returns when nothing is pending; the last handler may still
     * be running then. */
    for (int i = 0; i < 1000 && settled(p) < p->published; i++)
        usleep(1000);
    p->end_ns = cli_mono_ns();
    if (s != NATS_OK)
        fprintf(stderr, "tally-jspub: waiting for the last PubAcks: %s\n", natsStatus_GetText(s));
    progress(p, p->end_ns, &last_acked);

    report(p, stdout, false);
    if (o->json_out != NULL) {
        FILE *out = fopen(o->json_out, "w");
        if (out == NULL)
            cli_die("%s: %s", o->json_out, strerror(errno));
        report(p, out, true);
        if (fclose(out) != 0)
            cli_die("%s: %s", o->json_out, strerror(errno));
    }
    rc = atomic_load(&p->acked) > 0 ? 0 : 1;

done:
    if (stream_made && !o->keep_stream) {
        jerr = 0;
        s = js_DeleteStream(js, o->stream, NULL, &jerr);
        if (s != NATS_OK) {
            fprintf(stderr, "tally-jspub: deleting stream %s: %s (code %d)\n", o->stream,
                    natsStatus_GetText(s), (int)jerr);
            rc = 1;
        }
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    pthread_mutex_destroy(&p->lock);
    free(p->payload);
    return rc;
}
