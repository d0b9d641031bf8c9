#include "common/bus.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_disconnected(natsConnection *nc, void *closure)
{
    if (!natsConnection_IsClosed(nc)) /* closing it ourselves is no news */
        TLY_WARN(NULL, "NATS disconnected");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    TLY_INFO(NULL, "NATS reconnected");
}

/* One attempt at the first connection (each server once); on success nc
 * and js are set and up becomes true. */
static bool connect_once(tly_bus_t *bus, natsStatus *why)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsStatus s = natsConnection_Connect(&nc, bus->opts);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, bus->has_jo ? &bus->jo : NULL);
    *why = s;
    if (s != NATS_OK) {
        natsConnection_Destroy(nc);
        return false;
    }
    bus->nc = nc;
    bus->js = js;
    atomic_store(&bus->up, true); /* publishes nc and js to the other threads */
    return true;
}

static void *connector_main(void *arg)
{
    tly_bus_t *bus = arg;
    natsStatus why;
    do
        tly_sleep_unless(500, &bus->stop);
    while (!atomic_load(&bus->stop) && !connect_once(bus, &why));
    if (atomic_load(&bus->up))
        TLY_INFO(NULL, "NATS connected");
    nats_ReleaseThreadMemory();
    return NULL;
}

bool tly_bus_connect(const char *url, const char *client_name, jsOptions *jo, tly_bus_t **out)
{
    /* nats.c spins up to 2,000 times on a contended mutex before it sleeps
     * (gLockSpinCount). Where its threads outnumber the cores, as serve's,
     * ingest's, PostgreSQL's and NATS's do on a small node, the spinning
     * burns a core the lock's holder may need: 0 blocks at once
     * (bench/README.md, sixteenth session). Only the library's first opening
     * sets it, and no tally process calls nats.c before connecting. */
    if (nats_Open(0) != NATS_OK) {
        TLY_ERROR(NULL, "the NATS client library failed to start");
        return false;
    }
    tly_bus_t *bus = tly_xcalloc(1, sizeof *bus);
    if (jo != NULL) {
        bus->jo = *jo;
        bus->has_jo = true;
    }
    natsStatus s = natsOptions_Create(&bus->opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(bus->opts, url);
    if (s == NATS_OK)
        s = natsOptions_SetName(bus->opts, client_name);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(bus->opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(bus->opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(bus->opts, 100, 1000);
    /* Publishes made while disconnected are buffered up to this size and
     * then time out at the PubAck wait; they are never assumed delivered. */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(bus->opts, 64 * 1024 * 1024);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(bus->opts, on_disconnected, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(bus->opts, on_reconnected, NULL);
    if (s != NATS_OK) {
        TLY_ERROR(NULL, "NATS options for %s refused: %s", url, natsStatus_GetText(s));
        tly_bus_destroy(bus, 0);
        return false;
    }
    natsStatus why;
    if (!connect_once(bus, &why)) {
        TLY_WARN(NULL, "NATS at %s is not reachable yet (%s); retrying in the background", url,
                 natsStatus_GetText(why));
        if (pthread_create(&bus->connector, NULL, connector_main, bus) != 0) {
            TLY_ERROR(NULL, "cannot start a thread to connect to NATS");
            tly_bus_destroy(bus, 0);
            return false;
        }
        bus->connector_started = true;
    }
    *out = bus;
    return true;
}

void tly_bus_destroy(tly_bus_t *bus, int64_t timeout_ms)
{
    if (bus == NULL)
        return;
    atomic_store(&bus->stop, true);
    if (bus->connector_started)
        pthread_join(bus->connector, NULL); /* an attempt under way takes up to 2 s */
    jsCtx_Destroy(bus->js);
    if (bus->nc != NULL) {
        if (timeout_ms > 0 && tly_bus_connected(bus))
            natsConnection_DrainTimeout(bus->nc, timeout_ms);
        natsConnection_Close(bus->nc);
        natsConnection_Destroy(bus->nc);
    }
    natsOptions_Destroy(bus->opts);
    free(bus);
}

void tly_bus_unsubscribe(natsConnection *nc, natsSubscription *sub)
{
    if (sub == NULL)
        return;
    (void)natsSubscription_Unsubscribe(sub);
    (void)natsConnection_FlushTimeout(nc, 1000); /* disconnected: nothing is being read */
    natsSubscription_Destroy(sub);
}

bool tly_bus_up(const tly_bus_t *bus)
{
    return atomic_load(&bus->up);
}

bool tly_bus_connected(const tly_bus_t *bus)
{
    return tly_bus_up(bus) && natsConnection_Status(bus->nc) == NATS_CONN_STATUS_CONNECTED;
}

void tly_bus_subject(const tly_config_t *cfg, const char *tenant_id, char out[TLY_SUBJECT_MAX])
{
    snprintf(out, TLY_SUBJECT_MAX, "%s.%s", cfg->subject_prefix, tenant_id);
}

void tly_bus_control_subject(const tly_config_t *cfg, const char *what, char out[TLY_SUBJECT_MAX])
{
    snprintf(out, TLY_SUBJECT_MAX, "control.%s.%s", cfg->subject_prefix, what);
}

bool tly_bus_subject_tenant(const tly_config_t *cfg, const char *subject, char out[37])
{
    size_t n = strlen(cfg->subject_prefix);
    if (strncmp(subject, cfg->subject_prefix, n) != 0 || subject[n] != '.' ||
        !tly_is_uuid(subject + n + 1))
        return false;
    tly_uuid_lower(subject + n + 1, out);
    return true;
}

/* Creates the stream or updates it to this configuration (idempotent). */
static bool ensure(tly_bus_t *bus, const tly_config_t *cfg, const char *name, const char *subject)
{
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subjects[] = {subject};
    sc.Name = name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    sc.Replicas = (int)cfg->stream_replicas;
    sc.Duplicates = cfg->stream_dedup_window_s * 1000000000LL;
    sc.MaxAge = cfg->stream_max_age_s * 1000000000LL;
    sc.Discard = js_DiscardOld;

    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddStream(&si, bus->js, &sc, NULL, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr)
        s = js_UpdateStream(&si, bus->js, &sc, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK) {
        TLY_WARN(NULL, "JetStream stream %s not ready: %s (code %d)", name, natsStatus_GetText(s),
                 (int)jerr);
        return false;
    }
    return true;
}

bool tly_bus_ensure_stream(tly_bus_t *bus, const tly_config_t *cfg)
{
    char wildcard[TLY_SUBJECT_MAX];
    snprintf(wildcard, sizeof wildcard, "%s.>", cfg->subject_prefix);
    return ensure(bus, cfg, cfg->stream_name, wildcard);
}

void tly_bus_dlq(const tly_config_t *cfg, char stream[TLY_SUBJECT_MAX],
                 char subject[TLY_SUBJECT_MAX])
{
    snprintf(stream, TLY_SUBJECT_MAX, "%s_DLQ", cfg->stream_name);
    snprintf(subject, TLY_SUBJECT_MAX, "dlq.%s", cfg->subject_prefix);
}

bool tly_bus_ensure_dlq_stream(tly_bus_t *bus, const tly_config_t *cfg)
{
    char stream[TLY_SUBJECT_MAX], subject[TLY_SUBJECT_MAX];
    tly_bus_dlq(cfg, stream, subject);
    return ensure(bus, cfg, stream, subject);
}

uint64_t tly_bus_stream_seq(natsMsg *msg)
{
    jsMsgMetaData *meta = NULL;
    uint64_t seq = 0;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK)
        seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    return seq;
}
