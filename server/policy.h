/* Effective agent policy: the one place that decides what a device's agent
 * collects and how often it calls back. Today every device of a tenant gets
 * the built-in default (from configuration); policy management will plug
 * its targeting (tag, device, priority) in here.
 *
 * Pure and thread-safe. */
#ifndef TLY_SERVER_POLICY_H
#define TLY_SERVER_POLICY_H

#include "common/config.h"

#include <jansson.h>

/* Returns a new reference to the effective policy document for the device
 * (agent_id may be NULL when the agent did not say). The document excludes
 * next_checkin_s, which the caller adds per response with jitter, so it is
 * stable for ETag purposes. */
json_t *tly_policy_effective(const tly_config_t *cfg, const char *tenant_id, const char *agent_id);

/* Seconds until the next check-in: TALLY_POLICY_CHECKIN_S spread uniformly
 * by +/- TALLY_POLICY_JITTER_PCT percent, so a fleet never calls in step. */
int64_t tly_policy_next_checkin_s(const tly_config_t *cfg);

#endif
