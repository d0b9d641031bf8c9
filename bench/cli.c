/* Command-line plumbing of the bench tools; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Written once by main before other threads start, then only read. */
static const char *program = "bench";

/* Lock-free, so the handler may set it and any thread may read it. */
static atomic_int interrupted;

void cli_set_program(const char *name)
{
    program = name;
}

void cli_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fputs(program, stderr);
    fputs(": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
    exit(1);
}

double cli_parse_double(const char *name, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
        cli_die("%s: '%s' is not a number in [%g, %g]", name, s, lo, hi);
    return v;
}

uint64_t cli_parse_u64(const char *name, const char *s, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi)
        cli_die("%s: '%s' is not an integer in [%llu, %llu]", name, s, (unsigned long long)lo,
                (unsigned long long)hi);
    return v;
}

/* getopt_long's val for --help and for the table's first option: beyond
 * every character, so none is mistaken for a short option or '?'. */
enum { VAL_HELP = 256, VAL_FIRST };

void cli_usage(FILE *out, const cli_options_t *set)
{
    fputs(set->intro, out);
    for (size_t i = 0; i < set->n_opt; i++) {
        const cli_option_t *op = &set->opt[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", op->name, op->arg ? " " : "",
                 op->arg ? op->arg : "");
        if (op->help != NULL)
            fprintf(out, "  %-20s %s\n", left, op->help);
        else
            fprintf(out, "  %s\n", left);
    }
    fputs("  --help\n", out);
}

void cli_usage_exit(const cli_options_t *set, int status)
{
    cli_usage(status == 0 ? stdout : stderr, set);
    exit(status);
}

static void store(const cli_option_t *op, const char *value)
{
    char name[64];
    snprintf(name, sizeof name, "--%s", op->name);
    switch (op->kind) {
    case CLI_CUSTOM:
        break;
    case CLI_FLAG:
        *(bool *)op->target = true;
        break;
    case CLI_STRING:
        *(const char **)op->target = value;
        break;
    case CLI_DOUBLE:
        *(double *)op->target = cli_parse_double(name, value, op->lo, op->hi);
        break;
    case CLI_TO_INT:
        *(int *)op->target = (int)cli_parse_u64(name, value, op->min, op->max);
        break;
    case CLI_TO_UINT:
        *(unsigned *)op->target = (unsigned)cli_parse_u64(name, value, op->min, op->max);
        break;
    case CLI_TO_LONG:
        *(long *)op->target = (long)cli_parse_u64(name, value, op->min, op->max);
        break;
    case CLI_TO_ULONG:
        *(unsigned long *)op->target = (unsigned long)cli_parse_u64(name, value, op->min, op->max);
        break;
    case CLI_TO_LLONG:
        *(long long *)op->target = (long long)cli_parse_u64(name, value, op->min, op->max);
        break;
    case CLI_TO_ULLONG:
        *(unsigned long long *)op->target = cli_parse_u64(name, value, op->min, op->max);
        break;
    }
}

int cli_getopt(const cli_options_t *set, int argc, char **argv)
{
    /* Rebuilt on every call: getopt_long keeps no pointer to it. */
    struct option longopts[CLI_MAX_OPTIONS + 2];
    if (set->n_opt > CLI_MAX_OPTIONS)
        cli_die("%zu options; the table takes %d", set->n_opt, CLI_MAX_OPTIONS);
    for (size_t i = 0; i < set->n_opt; i++) {
        const cli_option_t *op = &set->opt[i];
        longopts[i] = (struct option){op->name, op->arg ? required_argument : no_argument, NULL,
                                      VAL_FIRST + (int)i};
    }
    longopts[set->n_opt] = (struct option){"help", no_argument, NULL, VAL_HELP};
    longopts[set->n_opt + 1] = (struct option){NULL, 0, NULL, 0};
    int c;
    while ((c = getopt_long(argc, argv, set->in_order ? "+" : "", longopts, NULL)) != -1) {
        if (c == VAL_HELP)
            cli_usage_exit(set, 0);
        if (c < VAL_FIRST || c >= VAL_FIRST + (int)set->n_opt)
            cli_usage_exit(set, 2);
        const cli_option_t *op = &set->opt[c - VAL_FIRST];
        if (op->kind == CLI_CUSTOM)
            return op->id;
        store(op, optarg);
    }
    return -1;
}

int64_t cli_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

double cli_us_to_ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&interrupted, 1);
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_interrupted(void)
{
    return atomic_load(&interrupted) != 0;
}

bool cli_random_bytes(void *out, size_t len)
{
    FILE *u = fopen("/dev/urandom", "rb");
    if (u == NULL)
        return false;
    size_t got = fread(out, 1, len, u);
    fclose(u);
    return got == len;
}
