/* tally: one binary, one subcommand per role (docs/architecture.md). */
#include "cmd/admin.h"
#include "cmd/migrate.h"
#include "common/config.h"
#include "common/log.h"
#include "ingest/ingest.h"
#include "server/server.h"

#include <jansson.h>
#include <nats/nats.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    unsigned cmd;
    const char *summary;
} subcommand_t;

static const subcommand_t subcommands[] = {
    {"serve", TLY_CMD_SERVE, "REST API: agents' batches to JetStream, queries from PostgreSQL"},
    {"ingest", TLY_CMD_INGEST, "JetStream consumer workers writing batches to PostgreSQL"},
    {"migrate", TLY_CMD_MIGRATE, "apply the database migrations (safe to run concurrently)"},
    {"admin", TLY_CMD_ADMIN, "create tenants, users and API keys; revoke keys"},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: tally COMMAND [--help]\n\nCommands:\n");
    for (size_t i = 0; i < TLY_ARRAY_LEN(subcommands); i++)
        fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\nConfiguration comes from TALLY_* environment variables; "
                 "`tally COMMAND --help` lists them.\n");
}

static void command_help(const subcommand_t *sc)
{
    printf("Usage: tally %s%s\n%s\n\n", sc->name,
           sc->cmd == TLY_CMD_ADMIN     ? " COMMAND [OPTIONS]"
           : sc->cmd == TLY_CMD_MIGRATE ? " [--to N]"
                                        : "",
           sc->summary);
    if (sc->cmd == TLY_CMD_ADMIN) {
        tly_admin_usage(stdout);
        putchar('\n');
    } else if (sc->cmd == TLY_CMD_MIGRATE) {
        tly_migrate_usage(stdout);
        putchar('\n');
    }
    tly_config_print_help(stdout, sc->cmd);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const subcommand_t *sc = NULL;
    for (size_t i = 0; i < TLY_ARRAY_LEN(subcommands); i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0)
            sc = &subcommands[i];
    }
    if (sc == NULL) {
        fprintf(stderr, "tally: unknown command \"%s\"\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            command_help(sc);
            return 0;
        }
    }

    /* Before any thread exists: signals go to sigwait, hash seeds are fixed. */
    tly_signals_block();
    json_object_seed(0);

    tly_config_t cfg;
    tly_strbuf_t errors;
    tly_strbuf_init(&errors, 16384);
    if (!tly_config_load(&cfg, sc->cmd, tly_config_getenv, NULL, &errors)) {
        fprintf(stderr, "tally %s: invalid configuration:\n%s(see `tally %s --help`)\n", sc->name,
                errors.data ? errors.data : "", sc->name);
        tly_strbuf_free(&errors);
        tly_config_free(&cfg);
        return 2;
    }
    tly_strbuf_free(&errors);
    tly_log_init(sc->name, (tly_log_level_t)tly_log_level_parse(cfg.log_level));

    int rc;
    switch (sc->cmd) {
    case TLY_CMD_SERVE:
        rc = tly_serve_main(&cfg);
        break;
    case TLY_CMD_INGEST:
        rc = tly_ingest_main(&cfg);
        break;
    case TLY_CMD_MIGRATE:
        rc = tly_migrate_main(&cfg, argc - 2, argv + 2);
        break;
    default:
        rc = tly_admin_main(&cfg, argc - 2, argv + 2);
        break;
    }
    tly_config_free(&cfg);
    /* Frees nats.c's global state so leak checkers see a clean exit. */
    nats_CloseAndWait(1000);
    return rc;
}
