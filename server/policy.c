#include "server/policy.h"

json_t *tly_policy_effective(const tly_config_t *cfg, const char *tenant_id, const char *agent_id)
{
    (void)tenant_id;
    (void)agent_id;
    return json_pack("{s:i, s:{s:{s:b, s:i}, s:{s:b, s:i}, s:{s:b, s:i}, s:{s:b}, s:{s:b}, "
                     "s:{s:b}, s:{s:b, s:i}},"
                     " s:{s:i, s:I, s:b}}",
                     "policy_version", 1, "collectors", "inventory", "enabled", 1, "interval_s",
                     86400, "software", "enabled", 1, "interval_s", 86400, "patches", "enabled", 1,
                     "interval_s", 86400, "process_events", "enabled", 1, "network_events",
                     "enabled", 1, "file_events", "enabled", 0, "metrics", "enabled", 1,
                     "interval_s", 60, "upload", "interval_s", (int)cfg->policy_checkin_s,
                     "max_batch_bytes", (json_int_t)cfg->max_body_bytes, "gzip", 1);
}

int64_t tly_policy_next_checkin_s(const tly_config_t *cfg)
{
    uint32_t r = 0;
    if (!tly_random_bytes(&r, sizeof r))
        r = (uint32_t)tly_now_monotonic_ns(); /* spread still matters more than quality */
    double spread = (double)cfg->policy_checkin_s * (double)cfg->policy_jitter_pct / 100.0;
    double unit = (double)r / 4294967295.0; /* [0, 1] */
    int64_t s = (int64_t)((double)cfg->policy_checkin_s - spread + 2.0 * spread * unit + 0.5);
    return s < 1 ? 1 : s;
}
