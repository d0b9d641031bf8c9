/* Devices whose software lists a worker of this process is storing.
 *
 * A worker compares a device's software lists with the set it reads at the
 * device's revision, without a lock (ingest/softset.h); if another worker
 * commits a list of the same device in between, the comparison is stale
 * and the whole fetch is rolled back and stored again (TLY_STAGE_STALE).
 * A device's lists can come close together in a backlog (an agent's queue
 * flushed): in one where some devices had sent far more than others, two
 * workers draining it raced that way 9-14 times a 100,000-batch drain,
 * each time throwing a fetch's work away. A worker claims the (tenant,
 * agent) keys of the lists in its fetch before reading their revisions, and
 * releases them when its fetch is stored. The devices whose keys a worker
 * that claimed earlier holds wait for that one's release, in a transaction
 * of their own; the rest of the fetch goes ahead (waiting with the whole
 * fetch, a worker idled 0.2-0.7 s of a 100,000-batch drain, where a
 * backlog's full inventories come together). An earlier claim never waits
 * for a later one, so claims cannot deadlock. Workers of other processes
 * still race, and the retry still handles that.
 *
 * Thread-safety: all calls may come from any thread. */
#ifndef TLY_INGEST_CLAIMS_H
#define TLY_INGEST_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tly_claims tly_claims_t;

/* A device's key: its tenant and agent ids, lower-case UUIDs. */
typedef struct {
    char tenant[37];
    char agent[37];
} tly_claim_key_t;

tly_claims_t *tly_claims_new(void);
void tly_claims_free(tly_claims_t *c); /* no claim may be held */

/* Claims keys[0..n) (copied; any order, repeats allowed) and returns its
 * ticket (0 when n == 0) at once. held, unless NULL, gets one flag per key:
 * whether an earlier claim of another holder shares it now. The holder may
 * go ahead with the devices of the keys not held; a key free now stays
 * free of earlier claims, and later ones wait for this one. Before reading
 * the devices of held keys, it calls tly_claims_wait. */
uint64_t tly_claims_take(tly_claims_t *c, const tly_claim_key_t *keys, size_t n, bool *held);
/* Returns when no earlier claim shares a key with ticket's (at once for 0). */
void tly_claims_wait(tly_claims_t *c, uint64_t ticket);
/* Releases a ticket of tly_claims_take (0: nothing). */
void tly_claims_release(tly_claims_t *c, uint64_t ticket);

#endif
