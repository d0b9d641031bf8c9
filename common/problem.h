/* RFC 9457 problem details: the one error model of the HTTP API.
 *
 * A tly_problem_t is a plain value (no heap) filled where an error is found
 * and rendered to application/problem+json at the edge. `type` is a stable
 * URN "urn:tally:problem:<slug>" listed in docs/architecture.md. */
#ifndef TLY_COMMON_PROBLEM_H
#define TLY_COMMON_PROBLEM_H

#include "common/util.h"

typedef struct {
    int status;        /* HTTP status code; 0 means "no problem" */
    const char *slug;  /* static string, e.g. "unauthorized" */
    const char *title; /* static, short human summary of the type */
    char detail[512];  /* this occurrence, human readable */
    char pointer[256]; /* 422 only: JSON pointer of the offending value ("" = root) */
    char rule[64];     /* the rule broken (schema keyword or limit name), or "" */
    int retry_after_s; /* > 0: send Retry-After */
} tly_problem_t;

/* Fills *p (detail printf-style). slug and title must be static strings. */
void tly_problem_set(tly_problem_t *p, int status, const char *slug, const char *title,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Renders the problem as JSON into a heap string (free()); `instance` is the
 * request path and `request_id` the request's id (both may be NULL). */
char *tly_problem_json(const tly_problem_t *p, const char *instance, const char *request_id,
                       size_t *len_out);

#endif
