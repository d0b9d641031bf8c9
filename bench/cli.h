/* Command-line plumbing the bench tools (tally-fleet, tally-jspub, tally-nullhttp) share:
 * fatal errors prefixed with the program's name, a declarative option
 * table that getopt_long parses and --help lists, strict value parsers that
 * die naming the option, the monotonic clock, the SIGINT/SIGTERM flag and
 * random bytes for run ids.
 *
 * Threads: cli_set_program, cli_getopt and cli_catch_signals belong to main
 * before any other thread starts (getopt's state is global); everything
 * else may be called from any thread. cli_die writes its line whole and
 * ends the process. */
#ifndef BENCH_CLI_H
#define BENCH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The prefix of cli_die's messages, e.g. "tally-fleet". Borrowed: a string
 * literal, or anything that lives until exit. Until set: "bench". */
void cli_set_program(const char *name);

/* Prints "<program>: <message>\n" on stderr and exits with status 1. */
void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The value of option `name` (for the message), all of s a number in
 * [lo, hi]; anything else dies. */
double cli_parse_double(const char *name, const char *s, double lo, double hi);
/* The same for a decimal integer in [lo, hi]; a minus sign dies. */
uint64_t cli_parse_u64(const char *name, const char *s, uint64_t lo, uint64_t hi);

/* --- option table ------------------------------------------------------------ */

typedef enum {
    CLI_CUSTOM, /* handed back by cli_getopt */
    CLI_FLAG,   /* bool, set to true */
    CLI_STRING, /* const char *, pointing into argv */
    CLI_DOUBLE,
    CLI_TO_INT, /* the integer kinds: cli_parse_u64 into the target's type */
    CLI_TO_UINT,
    CLI_TO_LONG,
    CLI_TO_ULONG,
    CLI_TO_LLONG,
    CLI_TO_ULLONG,
} cli_kind_t;

/* One option of a program's table. Built with the CLI_OPT_* macros below,
 * which check the target's type at compile time. */
typedef struct {
    const char *name; /* "duration" for --duration */
    const char *arg;  /* its value in --help ("S"); NULL: the option takes none */
    const char *help; /* the rest of its --help line; NULL: none */
    cli_kind_t kind;
    void *target;      /* borrowed: where the value goes */
    double lo, hi;     /* CLI_DOUBLE's bounds */
    uint64_t min, max; /* the integer kinds' bounds; max must fit the target */
    int id;            /* CLI_CUSTOM: what cli_getopt returns */
} cli_option_t;

/* Table entries. FLAG: bool; STRING: const char *; DOUBLE: a number in
 * [lo, hi]; UINT: a decimal integer in [min, max] into int, unsigned, long,
 * unsigned long or their long long forms (so uint32_t, int64_t, size_t...);
 * CUSTOM: handed back to the caller as id. --help shows
 * "  --name ARG" padded to 22 characters, a space, then help. */

/* The target's type, checked: another pointer type fails to compile. */
#define CLI_CHECK(type_, ptr_) (1 ? (ptr_) : (type_ *)NULL)
/* The kind that stores into *ptr_'s integer type; no other type compiles. */
#define CLI_INT_KIND(ptr_)                                                                         \
    _Generic((ptr_),                                                                               \
        int *: CLI_TO_INT,                                                                         \
        unsigned *: CLI_TO_UINT,                                                                   \
        long *: CLI_TO_LONG,                                                                       \
        unsigned long *: CLI_TO_ULONG,                                                             \
        long long *: CLI_TO_LLONG,                                                                 \
        unsigned long long *: CLI_TO_ULLONG)

#define CLI_OPT_FLAG(name_, help_, ptr_)                                                           \
    ((cli_option_t){                                                                               \
        .name = (name_), .help = (help_), .kind = CLI_FLAG, .target = CLI_CHECK(bool, ptr_)})
#define CLI_OPT_STRING(name_, arg_, help_, ptr_)                                                   \
    ((cli_option_t){.name = (name_),                                                               \
                    .arg = (arg_),                                                                 \
                    .help = (help_),                                                               \
                    .kind = CLI_STRING,                                                            \
                    .target = CLI_CHECK(const char *, ptr_)})
#define CLI_OPT_DOUBLE(name_, arg_, help_, ptr_, lo_, hi_)                                         \
    ((cli_option_t){.name = (name_),                                                               \
                    .arg = (arg_),                                                                 \
                    .help = (help_),                                                               \
                    .kind = CLI_DOUBLE,                                                            \
                    .target = CLI_CHECK(double, ptr_),                                             \
                    .lo = (lo_),                                                                   \
                    .hi = (hi_)})
#define CLI_OPT_UINT(name_, arg_, help_, ptr_, min_, max_)                                         \
    ((cli_option_t){.name = (name_),                                                               \
                    .arg = (arg_),                                                                 \
                    .help = (help_),                                                               \
                    .kind = CLI_INT_KIND(ptr_),                                                    \
                    .target = (ptr_),                                                              \
                    .min = (min_),                                                                 \
                    .max = (max_)})
#define CLI_OPT_CUSTOM(name_, arg_, help_, id_)                                                    \
    ((cli_option_t){                                                                               \
        .name = (name_), .arg = (arg_), .help = (help_), .kind = CLI_CUSTOM, .id = (id_)})

/* A program's options, borrowed by cli_getopt and cli_usage. */
typedef struct {
    const char *intro; /* what --help prints before the options */
    const cli_option_t *opt;
    size_t n_opt;  /* at most CLI_MAX_OPTIONS */
    bool in_order; /* stop at the first operand (getopt's "+") */
} cli_options_t;

#define CLI_MAX_OPTIONS 62

/* Parses argv from optind on with getopt_long. An option of a storing kind
 * goes to its target, in argument order; a CLI_CUSTOM option is returned as
 * its id, its value in optarg (the caller may take more arguments by
 * advancing optind). -1: the options are over, optind is the first operand.
 * --help (added to every table) prints the usage on stdout and exits 0; an
 * unknown option or a missing value, after getopt's message, prints it on
 * stderr and exits 2. Not reentrant (getopt's state is global). */
int cli_getopt(const cli_options_t *set, int argc, char **argv);

/* The intro, then a line per option and "--help". */
void cli_usage(FILE *out, const cli_options_t *set);
/* cli_usage on stdout when status is 0, on stderr otherwise; exits. */
void cli_usage_exit(const cli_options_t *set, int status) __attribute__((noreturn));

/* --- time, signals, randomness ---------------------------------------------- */

#define NS_PER_MS 1000000LL
#define NS_PER_S  1000000000LL

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t cli_mono_ns(void);
/* Microseconds as milliseconds, for reports. */
double cli_us_to_ms(uint64_t us);

/* Installs handlers that make SIGINT and SIGTERM set the flag that
 * cli_interrupted reports, instead of ending the process. */
void cli_catch_signals(void);
bool cli_interrupted(void);

/* Fills out[0..len) from /dev/urandom; false when it cannot (out may then
 * hold part of the bytes), so the caller picks its own fallback. */
bool cli_random_bytes(void *out, size_t len);

#endif
