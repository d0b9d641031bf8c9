#include "common/util.h"
#include "common/log.h"

#include <openssl/rand.h>

#include <ctype.h>
#include <signal.h>
#include <pthread.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void tly_strbuf_init_fixed(tly_strbuf_t *b, char *storage, size_t cap)
{
    *b = (tly_strbuf_t){.data = storage, .cap = cap, .max_len = cap - 1};
    storage[0] = '\0';
}

void tly_strbuf_init(tly_strbuf_t *b, size_t max_len)
{
    *b = (tly_strbuf_t){.max_len = max_len, .heap = true};
}

void tly_strbuf_free(tly_strbuf_t *b)
{
    if (b->heap)
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *tly_strbuf_steal(tly_strbuf_t *b)
{
    char *d = b->data;
    if (d == NULL)
        d = tly_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

/* Makes room for n more bytes plus the NUL; false (and truncated) if the
 * content would exceed max_len or memory runs out. */
static bool reserve(tly_strbuf_t *b, size_t n)
{
    if (b->truncated)
        return false;
    if (n > b->max_len || b->len > b->max_len - n) {
        b->truncated = true;
        return false;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return true;
    if (!b->heap) {
        b->truncated = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *d = realloc(b->data, cap);
    if (d == NULL) {
        b->truncated = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void tly_strbuf_append(tly_strbuf_t *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tly_strbuf_puts(tly_strbuf_t *b, const char *s)
{
    tly_strbuf_append(b, s, strlen(s));
}

void tly_strbuf_append_int(tly_strbuf_t *b, int64_t v)
{
    char digits[24];
    size_t i = sizeof digits;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        digits[--i] = '-';
    tly_strbuf_append(b, digits + i, sizeof digits - i);
}

void tly_strbuf_printf(tly_strbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tly_strbuf_json_string(tly_strbuf_t *b, const char *s, size_t n)
{
    tly_strbuf_append(b, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        tly_strbuf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            tly_strbuf_append(b, "\\\"", 2);
            break;
        case '\\':
            tly_strbuf_append(b, "\\\\", 2);
            break;
        case '\n':
            tly_strbuf_append(b, "\\n", 2);
            break;
        case '\r':
            tly_strbuf_append(b, "\\r", 2);
            break;
        case '\t':
            tly_strbuf_append(b, "\\t", 2);
            break;
        default:
            tly_strbuf_printf(b, "\\u%04x", c);
            break;
        }
    }
    tly_strbuf_append(b, s + run, n - run);
    tly_strbuf_append(b, "\"", 1);
}

void *tly_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        TLY_ERROR(NULL, "out of memory allocating %zu x %zu bytes", n, size);
        abort();
    }
    return p;
}

void *tly_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (q == NULL) {
        TLY_ERROR(NULL, "out of memory allocating %zu bytes", size);
        abort();
    }
    return q;
}

char *tly_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = tly_xcalloc(1, n);
    memcpy(p, s, n);
    return p;
}

uint64_t tly_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

bool tly_random_bytes(void *buf, size_t n)
{
    return n <= INT32_MAX && RAND_bytes(buf, (int)n) == 1;
}

void tly_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* splitmix64 (Steele, Lea, Flood 2014): a per-thread counter through a
 * bijective mixer. Seeded once per thread from the CSPRNG. */
static uint64_t fast_random(void)
{
    static _Thread_local uint64_t state;
    static _Thread_local bool seeded;
    if (!seeded) {
        if (!tly_random_bytes(&state, sizeof state)) /* no entropy: still distinct per thread */
            state = (uint64_t)tly_now_realtime_us() ^ ((uint64_t)(uintptr_t)&state << 16);
        seeded = true;
    }
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tly_uuid_v4(char out[37])
{
    unsigned char r[16];
    uint64_t a = fast_random(), b = fast_random();
    memcpy(r, &a, 8);
    memcpy(r + 8, &b, 8);
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    char hex[33];
    tly_hex_encode(r, sizeof r, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

bool tly_is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return s[36] == '\0';
}

void tly_uuid_lower(const char *s, char out[37])
{
    for (int i = 0; i < 36; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[36] = '\0';
}

int64_t tly_now_realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tly_now_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tly_format_rfc3339_us(int64_t us, char out[32])
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06dZ", (int)(us % 1000000));
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool tly_calendar_day_ok(int y, int m, int d)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap);
}

int tly_fixed_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool tly_parse_date(const char *s, size_t n, int64_t *days)
{
    if (n < 10 || s[4] != '-' || s[7] != '-')
        return false;
    int y = tly_fixed_digits(s, 4), m = tly_fixed_digits(s + 5, 2), d = tly_fixed_digits(s + 8, 2);
    if (y < 1 || !tly_calendar_day_ok(y, m, d))
        return false;
    *days = days_from_civil(y, m, d);
    return true;
}

bool tly_parse_rfc3339_us(const char *s, size_t n, int64_t *us)
{
    int64_t days;
    if (n < 20 || s[13] != ':' || s[16] != ':' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !tly_parse_date(s, n, &days))
        return false;
    int h = tly_fixed_digits(s + 11, 2), mi = tly_fixed_digits(s + 14, 2),
        sec = tly_fixed_digits(s + 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return false;
    size_t i = 19;
    int64_t frac_us = 0;
    if (i < n && s[i] == '.') {
        /* As PostgreSQL: the fraction as a double, times 10^6, rint(); up
         * to 6 digits that is the digits scaled, exactly. */
        char buf[32] = "0.";
        size_t k = 2;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (k < sizeof buf - 1)
                buf[k++] = s[i];
        if (k == 2)
            return false;
        if (k <= 8) {
            for (size_t j = 2; j < 8; j++)
                frac_us = frac_us * 10 + (j < k ? buf[j] - '0' : 0);
        } else {
            buf[k] = '\0';
            frac_us = (int64_t)rint(strtod(buf, NULL) * 1e6);
        }
    }
    int64_t offset_s = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = tly_fixed_digits(s + i + 1, 2), om = tly_fixed_digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
        offset_s = (s[i] == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
        i += 6;
    }
    if (i != n)
        return false;
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *us = secs * 1000000 + frac_us;
    return true;
}

void tly_sleep_unless(int64_t ms, const atomic_bool *stop)
{
    while (ms > 0 && !atomic_load(stop)) {
        int64_t step = ms < 50 ? ms : 50;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static sigset_t shutdown_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

void tly_signals_block(void)
{
    sigset_t set = shutdown_signals();
    /* A shell starts background jobs with SIGINT ignored; an ignored signal
     * is discarded even while blocked, so restore the default first. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* A client vanishing mid-write must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
}

int tly_signals_wait(void)
{
    sigset_t set = shutdown_signals();
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}

int tly_signals_wait_ms(int64_t timeout_ms)
{
    sigset_t set = shutdown_signals();
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000};
    int sig = sigtimedwait(&set, NULL, &ts);
    return sig > 0 ? sig : 0;
}
