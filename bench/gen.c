/* Deterministic inventory batch generator; see gen.h. */
#include "gen.h"

#include "catalog.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define MS_PER_DAY   86400000LL
#define MIN_PROGRAMS 50
#define MAX_PROGRAMS 300
#define MAX_DISKS    3

typedef struct {
    uint16_t product; /* index in catalog_products */
    uint8_t version;  /* index in its versions */
    int32_t day;      /* install date, days since 1970-01-01 */
} installed_t;

typedef struct {
    char mount[8];
    const char *fs;
    uint64_t size_bytes;
    double used_pct;
} disk_t;

struct gen_device {
    const gen_config_t *cfg; /* borrowed */
    uint32_t index;
    uint32_t tenant;
    rng_t rng;        /* the report stream: everything after creation */
    uint64_t id_seed; /* agent id, batch ids, stable per-device hashes */
    char agent_id[37];
    const char *agent_version;
    unsigned profile; /* PROF_OFFICE, PROF_DEV or PROF_SERVER */
    char hostname[32];
    const catalog_domain_t *domain; /* NULL: WORKGROUP */
    char user[64];                  /* account name, also the profile folder */
    const catalog_hw_t *hw;
    char serial[64];
    char mac[2][18];
    int n_macs;
    uint64_t memory_bytes;
    disk_t disks[MAX_DISKS];
    int n_disks;
    unsigned char ip4[4];
    unsigned char vpn4[4]; /* [0] == 0: no VPN address */
    uint16_t ip6[4];       /* link-local interface id */
    const catalog_os_t *os;
    uint32_t build;   /* index in os->builds */
    bool previous_cu; /* also lists the previous cumulative update */
    int64_t boot_ms;  /* 0: not set yet */
    double cpu_base;
    installed_t *sw;
    size_t n_sw;
    size_t cap_sw;
    uint32_t n_entries; /* software entries including components */
    uint32_t reports;
};

void gen_config_init(gen_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->tenants = 1;
    cfg->interval_s = 60;
    cfg->full_every = 12;
    cfg->events = 7;
    cfg->clone_permille = 5;
}

/* --- small helpers -------------------------------------------------------- */

static void format_uuid(uint64_t hi, uint64_t lo, char out[37])
{
    hi = (hi & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
    lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* RFC 4122 variant */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)((hi >> 16) & 0xffff), (unsigned)(hi & 0xffff), (unsigned)(lo >> 48),
             (unsigned long long)(lo & 0xffffffffffffULL));
}

static void format_day(int64_t day, char out[16])
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, 16, "%Y-%m-%d", &tm) == 0)
        snprintf(out, 16, "1970-01-01");
}

/* RFC 3339 UTC with milliseconds: 2026-01-05T08:00:00.123Z */
static void format_ts(int64_t unix_ms, char out[40])
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03uZ", (unsigned)((uint64_t)unix_ms % 1000U));
}

static int64_t parse_day(const char *ymd)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(ymd, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) / 86400;
}

static void jw_ts(jw_t *w, int64_t unix_ms)
{
    char ts[40];
    format_ts(unix_ms, ts);
    jw_str(w, ts);
}

static void jw_day(jw_t *w, int64_t day)
{
    char d[16];
    format_day(day, d);
    jw_str(w, d);
}

/* 64 hex digits derived from h; a stable "digest" of whatever h names. */
static void jw_sha256(jw_t *w, uint64_t h, bool upper)
{
    char hex[65];
    uint64_t x = h;
    for (int i = 0; i < 4; i++)
        snprintf(hex + 16 * i, 17, upper ? "%016llX" : "%016llx",
                 (unsigned long long)splitmix64(&x));
    jw_str(w, hex);
}

/* Splits "display|name" into its two forms (name defaults to display). */
static void version_forms(const char *v, char *display, size_t dcap, char *name, size_t ncap)
{
    const char *bar = strchr(v, '|');
    if (bar == NULL) {
        snprintf(display, dcap, "%s", v);
        snprintf(name, ncap, "%s", v);
    } else {
        snprintf(display, dcap, "%.*s", (int)(bar - v), v);
        snprintf(name, ncap, "%s", bar + 1);
    }
}

static int version_count(const catalog_product_t *p)
{
    int n = 0;
    while (n < CATALOG_MAX_VERSIONS && p->versions[n] != NULL)
        n++;
    return n;
}

static uint32_t component_count(const catalog_product_t *p)
{
    if (p->components == NULL)
        return 0;
    uint32_t n = 1;
    for (const char *c = p->components; *c; c++)
        n += *c == ';';
    return n;
}

typedef struct {
    const char *v; /* version name form */
    const char *u; /* user folder */
    const char *f; /* document name */
    rng_t *rng;    /* for {r}; NULL: "0" */
} tmpl_t;

/* Appends template t[0..n) with its placeholders filled, JSON-escaped. */
static void put_template(buf_t *b, const char *t, size_t n, const tmpl_t *c)
{
    size_t i = 0;
    while (i < n) {
        const char *open = memchr(t + i, '{', n - i);
        size_t lit = open ? (size_t)(open - (t + i)) : n - i;
        buf_json_escape(b, t + i, lit);
        i += lit;
        if (open == NULL)
            break;
        if (i + 2 < n && t[i + 2] == '}') {
            char k = t[i + 1];
            char tmp[24];
            const char *val = NULL;
            if (k == 'v')
                val = c->v;
            else if (k == 'u')
                val = c->u;
            else if (k == 'f')
                val = c->f;
            else if (k == 'r') {
                snprintf(tmp, sizeof tmp, "%08X", c->rng ? (unsigned)(rng_next(c->rng) >> 32) : 0U);
                val = tmp;
            }
            if (val != NULL) {
                buf_json_escape(b, val, strlen(val));
                i += 3;
                continue;
            }
        }
        buf_json_escape(b, t + i, 1);
        i++;
    }
}

static void jw_template(jw_t *w, const char *t, const tmpl_t *c)
{
    jw_str_open(w);
    put_template(w->b, t, strlen(t), c);
    jw_str_close(w);
}

/* Picks an index by weight among n items; weight(i) == 0 excludes i.
 * Returns n when nothing qualifies. */
#define PICK_WEIGHTED(rng, n, weight_expr, out)                                                    \
    do {                                                                                           \
        uint32_t total_ = 0;                                                                       \
        for (size_t i = 0; i < (n); i++)                                                           \
            total_ += (weight_expr);                                                               \
        (out) = (n);                                                                               \
        if (total_ == 0)                                                                           \
            break;                                                                                 \
        uint32_t r_ = rng_below((rng), total_);                                                    \
        for (size_t i = 0; i < (n); i++) {                                                         \
            uint32_t w_ = (weight_expr);                                                           \
            if (r_ < w_) {                                                                         \
                (out) = i;                                                                         \
                break;                                                                             \
            }                                                                                      \
            r_ -= w_;                                                                              \
        }                                                                                          \
    } while (0)

/* --- device creation ------------------------------------------------------ */

static void random_alnum(rng_t *r, char *out, int n)
{
    static const char set[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    for (int i = 0; i < n; i++)
        out[i] = set[rng_below(r, sizeof set - 1)];
    out[n] = '\0';
}

static void make_serial(gen_device_t *d, rng_t *r)
{
    char a[16];
    switch (d->hw->serial_style) {
    case SERIAL_DELL:
        random_alnum(r, a, 7);
        snprintf(d->serial, sizeof d->serial, "%s", a);
        break;
    case SERIAL_HP:
        random_alnum(r, a, 3);
        snprintf(d->serial, sizeof d->serial, "5CG%04u%s", (unsigned)rng_below(r, 10000), a);
        break;
    case SERIAL_LENOVO:
        random_alnum(r, a, 6);
        snprintf(d->serial, sizeof d->serial, "PF%s", a);
        break;
    case SERIAL_SURFACE:
        snprintf(d->serial, sizeof d->serial, "0%05u%06u", (unsigned)rng_below(r, 100000),
                 (unsigned)rng_below(r, 1000000));
        break;
    case SERIAL_VMWARE: {
        uint64_t x = rng_next(r), y = rng_next(r);
        snprintf(d->serial, sizeof d->serial,
                 "VMware-42 %02x %02x %02x %02x %02x %02x %02x-%02x %02x %02x %02x %02x %02x %02x "
                 "%02x",
                 (unsigned)(x >> 56) & 0xff, (unsigned)(x >> 48) & 0xff, (unsigned)(x >> 40) & 0xff,
                 (unsigned)(x >> 32) & 0xff, (unsigned)(x >> 24) & 0xff, (unsigned)(x >> 16) & 0xff,
                 (unsigned)(x >> 8) & 0xff, (unsigned)(y >> 56) & 0xff, (unsigned)(y >> 48) & 0xff,
                 (unsigned)(y >> 40) & 0xff, (unsigned)(y >> 32) & 0xff, (unsigned)(y >> 24) & 0xff,
                 (unsigned)(y >> 16) & 0xff, (unsigned)(y >> 8) & 0xff, (unsigned)y & 0xff);
        break;
    }
    case SERIAL_HYPERV:
        snprintf(d->serial, sizeof d->serial, "%04u-%04u-%04u-%04u-%04u-%04u-%02u",
                 (unsigned)rng_below(r, 10000), (unsigned)rng_below(r, 10000),
                 (unsigned)rng_below(r, 10000), (unsigned)rng_below(r, 10000),
                 (unsigned)rng_below(r, 10000), (unsigned)rng_below(r, 10000),
                 (unsigned)rng_below(r, 100));
        break;
    case SERIAL_HPE:
        random_alnum(r, a, 7);
        snprintf(d->serial, sizeof d->serial, "CZJ%s", a);
        break;
    default:
        snprintf(d->serial, sizeof d->serial, "%s",
                 rng_below(r, 2) ? "To be filled by O.E.M." : "System Serial Number");
        break;
    }
}

/* Hardware facts come from their own stream so that a cloned device (a
 * re-imaged machine under a new agent id) can repeat another's. */
static void make_hardware(gen_device_t *d, uint32_t hw_index)
{
    const gen_config_t *cfg = d->cfg;
    rng_t r;
    rng_seed(&r, mix64(cfg->seed ^ 0x68617264ULL, hw_index));
    size_t pick;
    bool server = d->profile == PROF_SERVER;
    PICK_WEIGHTED(&r, catalog_hw_count,
                  ((catalog_hw[i].kind == HW_SERVER || catalog_hw[i].kind == HW_VM) == server
                       ? catalog_hw[i].percent
                       : 0U),
                  pick);
    d->hw = &catalog_hw[pick < catalog_hw_count ? pick : 0];
    make_serial(d, &r);

    int choices = 0;
    while (choices < 4 && d->hw->mem_gib[choices] != 0)
        choices++;
    d->memory_bytes = (uint64_t)d->hw->mem_gib[rng_below(&r, (uint32_t)choices)] << 30;

    d->n_macs = server && d->hw->kind == HW_SERVER ? 2 : 1;
    for (int m = 0; m < d->n_macs; m++)
        snprintf(d->mac[m], sizeof d->mac[m], "%s-%02X-%02X-%02X", d->hw->mac_oui,
                 (unsigned)rng_below(&r, 256), (unsigned)rng_below(&r, 256),
                 (unsigned)rng_below(&r, 256));
    for (int g = 0; g < 4; g++)
        d->ip6[g] = (uint16_t)rng_below(&r, 65536);

    static const uint64_t ws_sizes[] = {254721126400ULL, 511101108224ULL, 1023233798144ULL};
    disk_t *c = &d->disks[0];
    snprintf(c->mount, sizeof c->mount, "C:");
    c->fs = "NTFS";
    if (d->hw->kind == HW_VM)
        c->size_bytes = 136365211648ULL; /* 127 GiB, Hyper-V's and vSphere's template size */
    else if (d->hw->kind == HW_SERVER)
        c->size_bytes = 479559942144ULL;
    else
        c->size_bytes = ws_sizes[rng_below(&r, 3)];
    c->used_pct = 30.0 + rng_double(&r) * 45.0;
    d->n_disks = 1;
    if (server) {
        disk_t *data = &d->disks[d->n_disks++];
        snprintf(data->mount, sizeof data->mount, "D:");
        data->fs = rng_below(&r, 3) == 0 ? "ReFS" : "NTFS";
        data->size_bytes = (uint64_t)(1 + rng_below(&r, 8)) * 549755813888ULL;
        data->used_pct = 20.0 + rng_double(&r) * 60.0;
    } else if (d->hw->kind == HW_DESKTOP && rng_below(&r, 4) == 0) {
        disk_t *data = &d->disks[d->n_disks++];
        snprintf(data->mount, sizeof data->mount, "D:");
        data->fs = "NTFS";
        data->size_bytes = 2000381014016ULL;
        data->used_pct = 10.0 + rng_double(&r) * 70.0;
    }
}

static void make_hostname(gen_device_t *d)
{
    rng_t *r = &d->rng;
    uint32_t n = d->index / (d->cfg->tenants ? d->cfg->tenants : 1);
    char rnd[9];
    if (d->profile == PROF_SERVER) {
        const char *role = catalog_server_roles[n % catalog_server_role_count];
        snprintf(d->hostname, sizeof d->hostname, "SRV-%s-%02u", role,
                 (unsigned)(n / catalog_server_role_count % 99 + 1));
        return;
    }
    uint32_t style = rng_below(r, 100);
    const char *type = d->hw->kind == HW_LAPTOP ? "LT" : "DT";
    if (style < 15) {
        random_alnum(r, rnd, 7);
        snprintf(d->hostname, sizeof d->hostname, "DESKTOP-%s", rnd);
    } else if (style < 20 && d->hw->kind == HW_LAPTOP) {
        random_alnum(r, rnd, 8);
        snprintf(d->hostname, sizeof d->hostname, "LAPTOP-%s", rnd);
    } else if (d->profile == PROF_DEV) {
        snprintf(d->hostname, sizeof d->hostname, "ENG-%s-%04u", type, (unsigned)(n % 10000));
    } else {
        const char *dept = catalog_departments[rng_below(r, (uint32_t)catalog_department_count)];
        snprintf(d->hostname, sizeof d->hostname, "%s-%s-%04u", dept, type, (unsigned)(n % 10000));
    }
}

static bool add_product(gen_device_t *d, uint16_t product, int64_t today)
{
    if (d->n_sw == d->cap_sw) {
        size_t cap = d->cap_sw ? d->cap_sw * 2 : 64;
        installed_t *p = realloc(d->sw, cap * sizeof *p);
        if (p == NULL)
            return false;
        d->sw = p;
        d->cap_sw = cap;
    }
    const catalog_product_t *cp = &catalog_products[product];
    int nv = version_count(cp);
    /* Most machines run one of the two newest versions. */
    int v = nv - 1 -
            (int)(rng_below(&d->rng, 100) < 70 ? rng_below(&d->rng, nv > 1 ? 2 : 1)
                                               : rng_below(&d->rng, (uint32_t)nv));
    installed_t *s = &d->sw[d->n_sw++];
    s->product = product;
    s->version = (uint8_t)v;
    s->day = (int32_t)(today - rng_below(&d->rng, 900));
    d->n_entries += 1 + component_count(cp);
    return true;
}

static bool installed(const gen_device_t *d, size_t product)
{
    for (size_t i = 0; i < d->n_sw; i++)
        if (d->sw[i].product == product)
            return true;
    return false;
}

static bool product_fits(const gen_device_t *d, size_t i, bool any_profile)
{
    const catalog_product_t *p = &catalog_products[i];
    if (p->oem != NULL && strcmp(p->oem, d->hw->manufacturer) != 0)
        return false;
    if (!any_profile && (p->profiles & d->profile) == 0)
        return false;
    /* Two products of one name (e.g. workstation and server Chrome) never
     * land on one machine. */
    for (size_t k = 0; k < d->n_sw; k++)
        if (strcmp(catalog_products[d->sw[k].product].name, p->name) == 0)
            return false;
    return !installed(d, i);
}

/* Draws the initial software set: 50..300 entries by profile. */
static bool choose_software(gen_device_t *d, int64_t today)
{
    uint32_t lo = 60, hi = 180;
    if (d->profile == PROF_DEV) {
        lo = 150;
        hi = MAX_PROGRAMS;
    } else if (d->profile == PROF_SERVER) {
        lo = MIN_PROGRAMS;
        hi = 120;
    }
    uint32_t target = (uint32_t)rng_range(&d->rng, lo, hi);

    size_t n = catalog_product_count;
    uint16_t *order = malloc(n * sizeof *order);
    if (order == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        order[i] = (uint16_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_below(&d->rng, (uint32_t)(i + 1));
        uint16_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    bool ok = false;
    /* Pass 0: what this machine would have by chance; 1: more of its kind
     * up to the target; 2: anything, up to the schema-facing minimum. */
    for (int pass = 0; pass < 3; pass++) {
        uint32_t goal = pass < 2 ? target : MIN_PROGRAMS;
        for (size_t k = 0; k < n && d->n_entries < goal; k++) {
            size_t i = order[k];
            const catalog_product_t *p = &catalog_products[i];
            if (!product_fits(d, i, pass == 2))
                continue;
            if (pass == 0 && rng_below(&d->rng, 100) >= p->percent)
                continue;
            if (d->n_entries + 1 + component_count(p) > MAX_PROGRAMS)
                continue;
            if (!add_product(d, (uint16_t)i, today))
                goto done;
        }
    }
    ok = true;
done:
    free(order);
    return ok;
}

gen_device_t *gen_device_create(const gen_config_t *cfg, uint32_t index)
{
    gen_device_t *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->cfg = cfg;
    d->index = index;
    d->tenant = index % (cfg->tenants ? cfg->tenants : 1);
    d->id_seed = mix64(cfg->seed, 0x6167656e74ULL + index);
    format_uuid(mix64(d->id_seed, 1), mix64(d->id_seed, 2), d->agent_id);
    rng_seed(&d->rng, mix64(cfg->seed, index));
    rng_t *r = &d->rng;

    uint32_t kind = rng_below(r, 100);
    d->profile = kind < 12 ? PROF_SERVER : kind < 30 ? PROF_DEV : PROF_OFFICE;
    uint32_t av = rng_below(r, 100);
    d->agent_version = av < 85 ? "1.4.2" : av < 95 ? "1.4.1" : "1.3.9";

    /* A re-imaged or cloned machine: same hardware as an earlier device of
     * the same tenant, new agent id. */
    uint32_t hw_index = index;
    uint32_t t = cfg->tenants ? cfg->tenants : 1;
    if (index >= t && rng_permille(r, cfg->clone_permille))
        hw_index = index - t;
    make_hardware(d, hw_index);
    make_hostname(d);

    bool workgroup = d->profile != PROF_SERVER && rng_below(r, 100) < 3;
    d->domain = workgroup ? NULL : &catalog_domains[d->tenant % catalog_domain_count];
    const char *first = catalog_first_names[rng_below(r, (uint32_t)catalog_first_name_count)];
    const char *last = catalog_last_names[rng_below(r, (uint32_t)catalog_last_name_count)];
    if (d->profile == PROF_SERVER)
        snprintf(d->user, sizeof d->user, "adm.%.1s%s", first, last);
    else
        snprintf(d->user, sizeof d->user, "%s.%s", first, last);

    d->ip4[0] = 10;
    d->ip4[1] = (unsigned char)(20 + d->tenant % 200);
    d->ip4[2] =
        (unsigned char)(d->profile == PROF_SERVER ? rng_below(r, 4) : 16 + index / 250 % 200);
    d->ip4[3] = (unsigned char)(2 + rng_below(r, 250));
    if (d->hw->kind == HW_LAPTOP && rng_below(r, 4) == 0) {
        d->vpn4[0] = 172;
        d->vpn4[1] = (unsigned char)(16 + rng_below(r, 16));
        d->vpn4[2] = (unsigned char)rng_below(r, 256);
        d->vpn4[3] = (unsigned char)(2 + rng_below(r, 250));
    }

    size_t os;
    PICK_WEIGHTED(r, catalog_os_count,
                  ((catalog_os[i].profiles & d->profile) && (!d->hw->arm64 || catalog_os[i].arm64)
                       ? catalog_os[i].percent
                       : 0U),
                  os);
    d->os = &catalog_os[os < catalog_os_count ? os : 0];
    uint32_t nb = 0;
    while (d->os->builds[nb].build != NULL)
        nb++;
    /* Most machines are one or two updates behind the newest we know. */
    d->build = nb > 2 ? (uint32_t)rng_below(r, nb - 1) : 0;
    d->previous_cu = rng_below(r, 100) < 30;
    d->cpu_base =
        d->profile == PROF_SERVER ? 10.0 + rng_double(r) * 30.0 : 3.0 + rng_double(r) * 20.0;
    return d;
}

void gen_device_destroy(gen_device_t *d)
{
    if (d == NULL)
        return;
    free(d->sw);
    free(d);
}

uint32_t gen_device_reports(const gen_device_t *d)
{
    return d->reports;
}

bool gen_device_is_full(const gen_device_t *d, uint32_t seq)
{
    uint32_t k = d->cfg->full_every ? d->cfg->full_every : 1;
    return seq == 0 || (seq + (uint32_t)(mix64(d->id_seed, 4) % k)) % k == 0;
}

const char *gen_device_agent_id(const gen_device_t *d)
{
    return d->agent_id;
}

uint32_t gen_device_phase(const gen_device_t *d, uint32_t n)
{
    return n ? (uint32_t)(mix64(d->id_seed, 3) % n) : 0;
}

/* --- drift between full reports ------------------------------------------- */

static bool drift(gen_device_t *d, int64_t today)
{
    rng_t *r = &d->rng;
    /* Upgrades and uninstalls. */
    size_t keep = 0;
    for (size_t i = 0; i < d->n_sw; i++) {
        installed_t s = d->sw[i];
        const catalog_product_t *p = &catalog_products[s.product];
        uint32_t entries = 1 + component_count(p);
        if (p->percent < 100 && d->n_entries - entries >= MIN_PROGRAMS && rng_permille(r, 10)) {
            d->n_entries -= entries;
            continue;
        }
        if (s.version + 1 < version_count(p) && rng_permille(r, 80)) {
            s.version++;
            s.day = (int32_t)today;
        }
        d->sw[keep++] = s;
    }
    d->n_sw = keep;
    /* New installs. */
    if (rng_below(r, 100) < 30) {
        for (int tries = 0; tries < 20; tries++) {
            size_t i = rng_below(r, (uint32_t)catalog_product_count);
            const catalog_product_t *p = &catalog_products[i];
            if (!product_fits(d, i, false) || d->n_entries + 1 + component_count(p) > MAX_PROGRAMS)
                continue;
            if (!add_product(d, (uint16_t)i, today))
                return false;
            d->sw[d->n_sw - 1].day = (int32_t)today;
            break;
        }
    }
    /* Patch Tuesday came: the next cumulative update and a reboot. */
    if (d->os->builds[d->build + 1].build != NULL && rng_below(r, 100) < 20) {
        d->build++;
        d->boot_ms = 0;
    }
    return true;
}

/* --- document ------------------------------------------------------------- */

static void put_ip4(jw_t *w, const unsigned char ip[4])
{
    char s[16];
    snprintf(s, sizeof s, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
    jw_str(w, s);
}

static void put_user(jw_t *w, const gen_device_t *d, const char *name)
{
    jw_str_open(w);
    const char *dom = d->domain ? d->domain->netbios : d->hostname;
    buf_json_escape(w->b, dom, strlen(dom));
    buf_json_escape(w->b, "\\", 1);
    buf_json_escape(w->b, name, strlen(name));
    jw_str_close(w);
}

static void put_device(jw_t *w, gen_device_t *d, int64_t unix_ms, const double *used_pct)
{
    rng_t *r = &d->rng;
    const catalog_build_t *b = &d->os->builds[d->build];
    if (d->boot_ms == 0 || d->boot_ms > unix_ms)
        d->boot_ms = unix_ms - (int64_t)rng_range(r, 3600000LL, 14LL * MS_PER_DAY);
    else if (rng_below(r, 1000) < 5)
        d->boot_ms = unix_ms - (int64_t)rng_range(r, 60000LL, 3600000LL);

    jw_key(w, "device");
    jw_obj(w);
    jw_key(w, "hostname");
    jw_str(w, d->hostname);
    jw_key(w, "domain");
    jw_str(w, d->domain ? d->domain->dns : "WORKGROUP");
    jw_key(w, "os_name");
    jw_str(w, d->os->name);
    jw_key(w, "os_version");
    jw_str(w, d->os->version);
    jw_key(w, "os_build");
    jw_str(w, b->build);
    jw_key(w, "arch");
    jw_str(w, d->hw->arm64 ? "arm64" : "x64");
    jw_key(w, "serial");
    jw_str(w, d->serial);
    jw_key(w, "manufacturer");
    jw_str(w, d->hw->manufacturer);
    jw_key(w, "model");
    jw_str(w, d->hw->model);
    jw_key(w, "cpu_model");
    jw_str(w, d->hw->cpu_model);
    jw_key(w, "cpu_cores");
    jw_uint(w, d->hw->cpu_cores);
    jw_key(w, "memory_bytes");
    jw_uint(w, d->memory_bytes);
    jw_key(w, "disks");
    jw_arr(w);
    for (int i = 0; i < d->n_disks; i++) {
        const disk_t *k = &d->disks[i];
        jw_obj(w);
        jw_key(w, "mount");
        jw_str(w, k->mount);
        jw_key(w, "fs");
        jw_str(w, k->fs);
        jw_key(w, "size_bytes");
        jw_uint(w, k->size_bytes);
        jw_key(w, "free_bytes");
        /* Free space moves by whole 4 KiB clusters. */
        uint64_t free_bytes = (uint64_t)((double)k->size_bytes * (100.0 - used_pct[i]) / 100.0);
        jw_uint(w, free_bytes & ~4095ULL);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_key(w, "ip_addresses");
    jw_arr(w);
    put_ip4(w, d->ip4);
    if (d->vpn4[0] != 0)
        put_ip4(w, d->vpn4);
    char ip6[48];
    snprintf(ip6, sizeof ip6, "fe80::%x:%x:%x:%x", d->ip6[0], d->ip6[1], d->ip6[2], d->ip6[3]);
    jw_str(w, ip6);
    jw_arr_end(w);
    jw_key(w, "mac_addresses");
    jw_arr(w);
    for (int i = 0; i < d->n_macs; i++)
        jw_str(w, d->mac[i]);
    jw_arr_end(w);
    jw_key(w, "boot_time");
    jw_ts(w, d->boot_ms / 1000 * 1000);
    jw_key(w, "logged_in_users");
    jw_arr(w);
    if (d->profile != PROF_SERVER || rng_below(r, 3) == 0)
        put_user(w, d, d->user);
    jw_arr_end(w);
    jw_obj_end(w);
}

static void put_software(jw_t *w, const gen_device_t *d)
{
    jw_key(w, "software");
    jw_arr(w);
    for (size_t i = 0; i < d->n_sw; i++) {
        const installed_t *s = &d->sw[i];
        const catalog_product_t *p = &catalog_products[s->product];
        char display[64], name_form[64];
        version_forms(p->versions[s->version], display, sizeof display, name_form,
                      sizeof name_form);
        tmpl_t t = {.v = name_form, .u = d->user};
        jw_obj(w);
        jw_key(w, "name");
        jw_template(w, p->name, &t);
        jw_key(w, "version");
        jw_str(w, display);
        jw_key(w, "publisher");
        jw_str(w, p->publisher);
        jw_key(w, "install_date");
        jw_day(w, s->day);
        if (p->location != NULL) {
            jw_key(w, "install_location");
            jw_template(w, p->location, &t);
        }
        jw_key(w, "source");
        jw_str(w, catalog_source_names[p->source]);
        jw_obj_end(w);
        /* Components: "a;b;c", each an MSI entry of their own. */
        for (const char *c = p->components; c != NULL && *c;) {
            const char *end = strchr(c, ';');
            size_t n = end ? (size_t)(end - c) : strlen(c);
            jw_obj(w);
            jw_key(w, "name");
            jw_str_open(w);
            put_template(w->b, c, n, &t);
            jw_str_close(w);
            jw_key(w, "version");
            jw_str(w, display);
            jw_key(w, "publisher");
            jw_str(w, p->publisher);
            jw_key(w, "install_date");
            jw_day(w, s->day);
            jw_key(w, "source");
            jw_str(w, "msi");
            jw_obj_end(w);
            c = end ? end + 1 : c + n;
        }
    }
    jw_arr_end(w);
}

static void put_patch(jw_t *w, const gen_device_t *d, const char *kb, size_t kb_len,
                      const char *desc, size_t desc_len, int64_t day)
{
    char id[16];
    snprintf(id, sizeof id, "%.*s", (int)kb_len, kb);
    jw_obj(w);
    jw_key(w, "hotfix_id");
    jw_str(w, id);
    jw_key(w, "description");
    jw_strn(w, desc, desc_len);
    jw_key(w, "installed_on");
    /* Installed a few days after release, stable per device and update. */
    jw_day(w, day + (int64_t)(hash_str(id, d->id_seed) % 7));
    jw_obj_end(w);
}

static void put_patches(jw_t *w, const gen_device_t *d)
{
    jw_key(w, "patches");
    jw_arr(w);
    for (const char *const *e = d->os->extra_kbs; *e != NULL; e++) {
        const char *bar1 = strchr(*e, '|');
        const char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        if (bar2 == NULL)
            continue;
        put_patch(w, d, *e, (size_t)(bar1 - *e), bar1 + 1, (size_t)(bar2 - bar1 - 1),
                  parse_day(bar2 + 1));
    }
    const catalog_build_t *b = d->os->builds;
    if (d->previous_cu && d->build > 0)
        put_patch(w, d, b[d->build - 1].kb, strlen(b[d->build - 1].kb), "Security Update", 15,
                  parse_day(b[d->build - 1].date));
    put_patch(w, d, b[d->build].kb, strlen(b[d->build].kb), "Security Update", 15,
              parse_day(b[d->build].date));
    jw_arr_end(w);
}

static const char *run_as_user(const gen_device_t *d, unsigned run_as, char *buf, size_t cap)
{
    switch (run_as) {
    case RUN_SYSTEM:
        return "NT AUTHORITY\\SYSTEM";
    case RUN_LOCAL_SERVICE:
        return "NT AUTHORITY\\LOCAL SERVICE";
    case RUN_NETWORK_SERVICE:
        return "NT AUTHORITY\\NETWORK SERVICE";
    case RUN_SQL:
        return "NT Service\\MSSQLSERVER";
    case RUN_IIS:
        return "IIS APPPOOL\\DefaultAppPool";
    default:
        snprintf(buf, cap, "%s\\%s", d->domain ? d->domain->netbios : d->hostname, d->user);
        return buf;
    }
}

static uint32_t proc_weight(const gen_device_t *d, size_t i, bool need_net)
{
    const catalog_proc_t *p = &catalog_procs[i];
    if ((p->profiles & d->profile) == 0 || (need_net && p->net == NET_NONE))
        return 0;
    return p->percent;
}

static uint32_t random_pid(rng_t *r)
{
    return 4U * (uint32_t)rng_range(r, 100, 12000);
}

/* Event times: spread over the window the report covers, in order. */
static int64_t event_time(rng_t *r, int64_t unix_ms, int64_t window_ms, uint32_t i, uint32_t n)
{
    int64_t slot = window_ms / (int64_t)(n ? n : 1);
    int64_t t = unix_ms - window_ms + slot * (int64_t)i +
                (int64_t)rng_below(r, (uint32_t)(slot > 0 ? slot : 1));
    return t < unix_ms ? t : unix_ms;
}

static void put_process_events(jw_t *w, gen_device_t *d, int64_t unix_ms, int64_t window_ms,
                               uint32_t n)
{
    rng_t *r = &d->rng;
    jw_key(w, "process_events");
    jw_arr(w);
    for (uint32_t e = 0; e < n; e++) {
        size_t pi;
        PICK_WEIGHTED(r, catalog_proc_count, proc_weight(d, i, false), pi);
        if (pi >= catalog_proc_count)
            break;
        const catalog_proc_t *p = &catalog_procs[pi];
        bool system = p->path[0] == '\0';
        tmpl_t t = {.u = d->user, .rng = r};
        char who[320];
        jw_obj(w);
        jw_key(w, "ts");
        jw_ts(w, event_time(r, unix_ms, window_ms, e, n));
        jw_key(w, "op");
        jw_str(w, rng_below(r, 100) < 65 ? "start" : "stop");
        jw_key(w, "pid");
        jw_uint(w, system ? 4 : random_pid(r));
        jw_key(w, "ppid");
        jw_uint(w, system ? 0 : random_pid(r));
        jw_key(w, "name");
        jw_str(w, p->name);
        if (!system) {
            jw_key(w, "path");
            jw_template(w, p->path, &t);
            jw_key(w, "cmdline");
            jw_template(w, p->cmdline, &t);
        }
        jw_key(w, "user");
        jw_str(w, run_as_user(d, p->run_as, who, sizeof who));
        if (!system) {
            /* The image's digest: the same file gives the same hash on
             * every machine of that OS build. */
            jw_key(w, "sha256");
            jw_sha256(w, hash_str(p->path, hash_str(d->os->builds[d->build].build, 0)), true);
        }
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static void put_ip_in_tenant(jw_t *w, const gen_device_t *d, unsigned c, unsigned host)
{
    unsigned char ip[4] = {10, d->ip4[1], (unsigned char)c, (unsigned char)host};
    put_ip4(w, ip);
}

static void put_network_events(jw_t *w, gen_device_t *d, int64_t unix_ms, int64_t window_ms,
                               uint32_t n)
{
    static const char *const web_states[] = {"established", "established", "established",
                                             "established", "time_wait",   "time_wait",
                                             "close_wait",  "syn_sent",    "fin_wait2"};
    rng_t *r = &d->rng;
    jw_key(w, "network_events");
    jw_arr(w);
    for (uint32_t e = 0; e < n; e++) {
        size_t pi;
        PICK_WEIGHTED(r, catalog_proc_count, proc_weight(d, i, true), pi);
        if (pi >= catalog_proc_count)
            break;
        const catalog_proc_t *p = &catalog_procs[pi];
        unsigned kind = p->net;
        bool inbound = (kind == NET_SQL || kind == NET_IIS) && rng_below(r, 2) == 0;
        bool listen = kind == NET_LISTEN_SMB || kind == NET_LISTEN_RDP ||
                      ((kind == NET_SQL || kind == NET_IIS) && !inbound);
        bool v6 = listen ? rng_below(r, 2) == 0 : rng_below(r, 10) == 0 && kind == NET_WEB;
        bool udp = kind == NET_DNS;
        unsigned local_port = 49152 + rng_below(r, 16384);
        if (kind == NET_LISTEN_SMB)
            local_port = 445;
        else if (kind == NET_LISTEN_RDP)
            local_port = 3389;
        else if (kind == NET_SQL && (listen || inbound))
            local_port = 1433;
        else if (kind == NET_IIS && (listen || inbound))
            local_port = rng_below(r, 3) ? 443 : 80;

        jw_obj(w);
        jw_key(w, "ts");
        jw_ts(w, event_time(r, unix_ms, window_ms, e, n));
        jw_key(w, "protocol");
        jw_str(w, udp ? (v6 ? "udp6" : "udp") : (v6 ? "tcp6" : "tcp"));
        jw_key(w, "local_ip");
        if (listen)
            jw_str(w, v6 ? "::" : "0.0.0.0");
        else if (v6) {
            char ip6[48];
            snprintf(ip6, sizeof ip6, "2001:db8:%x::%x:%x", d->ip4[1], d->ip6[2], d->ip6[3]);
            jw_str(w, ip6);
        } else
            put_ip4(w, d->ip4);
        jw_key(w, "local_port");
        jw_uint(w, local_port);
        if (!listen) {
            jw_key(w, "remote_ip");
            unsigned remote_port = 443;
            if (kind == NET_WEB) {
                const catalog_peer_t *peer =
                    &catalog_web_peers[rng_below(r, (uint32_t)catalog_web_peer_count)];
                if (v6) {
                    char ip6[48];
                    snprintf(ip6, sizeof ip6, "2620:1ec:%x::%x", peer->b,
                             (unsigned)rng_below(r, 65535) + 1);
                    jw_str(w, ip6);
                } else {
                    unsigned char ip[4] = {peer->a, peer->b, (unsigned char)rng_below(r, 256),
                                           (unsigned char)(1 + rng_below(r, 254))};
                    put_ip4(w, ip);
                }
                remote_port = peer->port;
            } else if (kind == NET_DNS) {
                put_ip_in_tenant(w, d, 0, 10);
                remote_port = 53;
            } else if (kind == NET_SMB) {
                put_ip_in_tenant(w, d, 0, 20 + rng_below(r, 4));
                remote_port = 445;
            } else if (kind == NET_RDP_OUT) {
                put_ip_in_tenant(w, d, rng_below(r, 4), 30 + rng_below(r, 40));
                remote_port = 3389;
            } else if (kind == NET_SSH) {
                put_ip_in_tenant(w, d, 0, 15);
                remote_port = 22;
            } else {
                /* An inbound client of SQL Server or IIS. */
                put_ip_in_tenant(w, d, 16 + rng_below(r, 200), 2 + rng_below(r, 250));
                remote_port = 49152 + rng_below(r, 16384);
            }
            jw_key(w, "remote_port");
            jw_uint(w, remote_port);
        }
        if (!udp) {
            jw_key(w, "state");
            jw_str(w, listen ? "listen"
                             : web_states[rng_below(
                                   r, (uint32_t)(sizeof web_states / sizeof web_states[0]))]);
        }
        bool system = p->path[0] == '\0';
        jw_key(w, "pid");
        jw_uint(w, system ? 4 : random_pid(r));
        jw_key(w, "process_name");
        jw_str(w, p->name);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static void put_file_events(jw_t *w, gen_device_t *d, int64_t unix_ms, int64_t window_ms,
                            uint32_t n)
{
    rng_t *r = &d->rng;
    jw_key(w, "file_events");
    jw_arr(w);
    for (uint32_t e = 0; e < n; e++) {
        size_t fi;
        PICK_WEIGHTED(r, catalog_file_count, ((catalog_files[i].profiles & d->profile) ? 1U : 0U),
                      fi);
        if (fi >= catalog_file_count)
            break;
        const catalog_file_t *f = &catalog_files[fi];
        tmpl_t t = {
            .u = d->user,
            .rng = r,
            .f = catalog_documents[rng_below(r, (uint32_t)catalog_document_count)],
        };
        jw_obj(w);
        jw_key(w, "ts");
        jw_ts(w, event_time(r, unix_ms, window_ms, e, n));
        jw_key(w, "op");
        jw_str(w, catalog_file_op_names[f->op]);
        jw_key(w, "path");
        jw_template(w, f->path, &t);
        if (f->op == FOP_RENAME && f->old_path != NULL) {
            jw_key(w, "old_path");
            jw_template(w, f->old_path, &t);
        }
        if (f->op != FOP_REMOVE && f->max_kib > 0) {
            jw_key(w, "size_bytes");
            jw_uint(w, (uint64_t)rng_range(r, 1, (int64_t)f->max_kib * 1024));
        }
        if (f->op == FOP_CREATE && rng_below(r, 2) == 0) {
            jw_key(w, "sha256");
            jw_sha256(w, rng_next(r), false);
        }
        jw_key(w, "pid");
        jw_uint(w, random_pid(r));
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static double clamp_pct(double v)
{
    return v < 0.0 ? 0.0 : v > 100.0 ? 100.0 : v;
}

static void put_metrics(jw_t *w, gen_device_t *d, int64_t unix_ms, uint32_t n, double *used_pct)
{
    rng_t *r = &d->rng;
    jw_key(w, "metrics");
    jw_arr(w);
    bool busy = d->profile == PROF_SERVER;
    for (uint32_t i = 0; i < n; i++) {
        double cpu = d->cpu_base + (rng_double(r) - 0.3) * (busy ? 40.0 : 25.0);
        if (rng_below(r, 50) == 0)
            cpu = 85.0 + rng_double(r) * 15.0; /* a spike */
        double mem = 0.35 + rng_double(r) * 0.45;
        /* Disks fill slowly, and are sometimes cleaned up. */
        used_pct[0] = clamp_pct(used_pct[0] + (rng_double(r) - 0.45) * 0.02);
        uint64_t rx = busy ? (uint64_t)rng_range(r, 5000000, 900000000)
                           : (uint64_t)rng_range(r, 20000, 60000000);
        uint64_t tx = rx / (uint64_t)rng_range(r, 2, 12);
        jw_obj(w);
        jw_key(w, "ts");
        jw_ts(w, (unix_ms - (int64_t)(n - 1 - i) * 60000) / 1000 * 1000);
        jw_key(w, "cpu_pct");
        jw_fixed(w, clamp_pct(cpu), 1);
        jw_key(w, "mem_used_bytes");
        jw_uint(w, (uint64_t)((double)d->memory_bytes * mem) & ~4095ULL);
        jw_key(w, "disk_used_pct");
        jw_fixed(w, used_pct[0], 2);
        jw_key(w, "net_rx_bytes");
        jw_uint(w, rx);
        jw_key(w, "net_tx_bytes");
        jw_uint(w, tx);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static uint32_t around(rng_t *r, uint32_t mean, uint32_t cap)
{
    if (mean == 0)
        return 0;
    uint32_t n = mean / 2 + rng_below(r, mean + 1);
    return n > cap ? cap : n;
}

bool gen_device_report(gen_device_t *d, int64_t unix_ms, buf_t *out, char batch_id[37])
{
    const gen_config_t *cfg = d->cfg;
    uint32_t seq = d->reports++;
    int64_t today = unix_ms / MS_PER_DAY;
    bool full = gen_device_is_full(d, seq);
    if (seq == 0 && !choose_software(d, today))
        return false;
    if (full && seq > 0 && !drift(d, today))
        return false;

    uint64_t b = mix64(mix64(d->id_seed, cfg->run_id ^ 0x6261746368ULL), seq);
    format_uuid(mix64(b, 1), mix64(b, 2), batch_id);

    int64_t window_ms = (int64_t)(cfg->interval_s ? cfg->interval_s : 1) * 1000;
    uint32_t n_metrics = cfg->interval_s / 60;
    n_metrics = n_metrics < 1 ? 1 : n_metrics > GEN_MAX_METRICS ? GEN_MAX_METRICS : n_metrics;
    rng_t *r = &d->rng;
    uint32_t n_proc = around(r, cfg->events, GEN_MAX_EVENTS);
    uint32_t n_net = around(r, cfg->events * 4 / 5, GEN_MAX_EVENTS);
    uint32_t n_file = around(r, cfg->events * 2 / 5, GEN_MAX_EVENTS);

    /* Metrics move disk usage; the device facts report the result. */
    double used_pct[MAX_DISKS];
    for (int i = 0; i < d->n_disks; i++)
        used_pct[i] = d->disks[i].used_pct;

    buf_t metrics;
    buf_init(&metrics);
    jw_t mw;
    jw_init(&mw, &metrics);
    jw_obj(&mw);
    put_metrics(&mw, d, unix_ms, n_metrics, used_pct);
    jw_obj_end(&mw);
    for (int i = 0; i < d->n_disks; i++)
        d->disks[i].used_pct = used_pct[i];

    jw_t w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_key(&w, "schema_version");
    jw_str(&w, "1");
    jw_key(&w, "batch_id");
    jw_str(&w, batch_id);
    jw_key(&w, "sent_at");
    jw_ts(&w, unix_ms);
    jw_key(&w, "agent");
    jw_obj(&w);
    jw_key(&w, "id");
    jw_str(&w, d->agent_id);
    jw_key(&w, "version");
    jw_str(&w, d->agent_version);
    jw_obj_end(&w);
    put_device(&w, d, unix_ms, used_pct);
    if (full) {
        put_software(&w, d);
        put_patches(&w, d);
    }
    put_process_events(&w, d, unix_ms, window_ms, n_proc);
    put_network_events(&w, d, unix_ms, window_ms, n_net);
    put_file_events(&w, d, unix_ms, window_ms, n_file);
    /* Splice the metrics member in: {"metrics":[...]} without its braces. */
    if (!metrics.oom && metrics.len >= 2) {
        buf_putc(out, ',');
        buf_append(out, metrics.data + 1, metrics.len - 2);
    }
    jw_obj_end(&w);
    bool ok = !out->oom && !metrics.oom;
    buf_free(&metrics);
    return ok;
}

bool gen_gzip(const void *in, size_t len, int level, buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip wrapper with a zero mtime and no name. */
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    bool ok = false;
    uLong bound = deflateBound(&z, (uLong)len);
    if (!buf_reserve(out, bound))
        goto done;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        goto done;
    out->len += z.total_out;
    ok = true;
done:
    deflateEnd(&z);
    return ok;
}
