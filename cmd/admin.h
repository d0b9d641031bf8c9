/* `tally admin`: non-interactive bootstrap and break-glass commands that
 * print JSON on stdout. Runs as the schema owner (TALLY_OWNER_DATABASE_URL). */
#ifndef TLY_CMD_ADMIN_H
#define TLY_CMD_ADMIN_H

#include "common/config.h"

/* argv[0] is the admin command ("create-tenant", ...). Returns the exit code. */
int tly_admin_main(const tly_config_t *cfg, int argc, char **argv);
void tly_admin_usage(FILE *out);

#endif
