/* `tally migrate` and the migrations compiled into the binary
 * (migrations/NNNN_name.sql, embedded by cmake/embed_migrations.cmake). */
#ifndef TLY_CMD_MIGRATE_H
#define TLY_CMD_MIGRATE_H

#include "common/config.h"

#include <stddef.h>
#include <stdio.h>

typedef struct {
    int version;
    const char *name;
    const char *sql;
} tly_migration_t;

extern const tly_migration_t tly_migrations[];
extern const size_t tly_migrations_count;

/* Applies pending migrations in order, each once and in its own
 * transaction, under an advisory lock (safe from several replicas at once);
 * refuses to run if an applied migration's text changed. Then runs the
 * partition maintenance once. args (argc of them, after `migrate`):
 * `--to N` stops after migration N (one the binary has), so that an
 * upgrade can be staged; there is no going back. Returns the process exit
 * code (2: bad arguments). */
int tly_migrate_main(const tly_config_t *cfg, int argc, char **argv);

/* Prints the arguments tly_migrate_main takes. */
void tly_migrate_usage(FILE *out);

#endif
