/* common/db.c's TCP settings on a real connection to the fixture's
 * PostgreSQL (tests/integration/db_keepalive.sh passes the test's URL),
 * read back from the socket: keepalives after 10 s idle, every 5 s, 3
 * probes, and a 30 s user timeout; a URL's own keepalives_idle wins, the
 * application name stays ours. */
#include "common/db.h"
#include "tests/unit/check.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int option(PGconn *conn, int level, int name)
{
    int v = -1;
    socklen_t n = sizeof v;
    return getsockopt(PQsocket(conn), level, name, &v, &n) == 0 ? v : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATABASE_URL (over TCP)\n", argv[0]);
        return 2;
    }
    PGconn *conn = tly_db_connect(argv[1], "tally-test-db");
    CHECK(conn != NULL);
    if (conn != NULL) {
        CHECK(option(conn, SOL_SOCKET, SO_KEEPALIVE) == 1);
        CHECK(option(conn, IPPROTO_TCP, TCP_KEEPIDLE) == 10);
        CHECK(option(conn, IPPROTO_TCP, TCP_KEEPINTVL) == 5);
        CHECK(option(conn, IPPROTO_TCP, TCP_KEEPCNT) == 3);
        CHECK(option(conn, IPPROTO_TCP, TCP_USER_TIMEOUT) == 30000);
        CHECK_STR(PQparameterStatus(conn, "application_name"), "tally-test-db");
    }
    PQfinish(conn);

    char url[4096];
    snprintf(url, sizeof url, "%s%skeepalives_idle=60&application_name=theirs", argv[1],
             strchr(argv[1], '?') != NULL ? "&" : "?");
    conn = tly_db_connect(url, "tally-test-db");
    CHECK(conn != NULL);
    if (conn != NULL) {
        CHECK(option(conn, IPPROTO_TCP, TCP_KEEPIDLE) == 60);
        CHECK(option(conn, IPPROTO_TCP, TCP_KEEPINTVL) == 5);
        CHECK_STR(PQparameterStatus(conn, "application_name"), "tally-test-db");
    }
    PQfinish(conn);
    CHECK_DONE();
}
