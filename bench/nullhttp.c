/* tally-nullhttp: the raw HTTP limit of the benchmark suite. The same
 * libmicrohttpd set-up as tally serve (internal epoll threads, keep-alive,
 * the same connection memory), reading each request body in full and
 * answering 202 with a small JSON body, without any work: no auth, no
 * parsing, no JetStream. Runs until SIGINT or SIGTERM.
 *
 * Threads: libmicrohttpd's --threads poll threads call on_request; main
 * only waits for a signal. Nothing is shared between requests. */
#include "cli.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *addr;
    long port;
    long threads;
} options_t;

static const char ANSWER[] = "{\"batch_id\":\"00000000-0000-4000-8000-000000000000\","
                             "\"duplicate\":false}";

/* Reads the body (MHD hands it over in pieces: each call consumes one),
 * then answers 202 once it is all in. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (*state == NULL) {
        *state = conn; /* any non-NULL value: headers seen */
        return MHD_YES;
    }
    if (*upload_len > 0) {
        *upload_len = 0;
        return MHD_YES;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof ANSWER - 1, (void *)ANSWER, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_ACCEPTED, resp);
    MHD_destroy_response(resp);
    return r;
}

int main(int argc, char **argv)
{
    options_t o = {.addr = "127.0.0.1", .port = 18090, .threads = 2};
    const cli_option_t opts[] = {
        CLI_OPT_STRING("addr", "IP", "IPv4 address to listen on (default 127.0.0.1)", &o.addr),
        CLI_OPT_UINT("port", "N", "port (default 18090)", &o.port, 1, 65535),
        CLI_OPT_UINT("threads", "N", "poll threads (default 2, as tally serve)", &o.threads, 1,
                     256),
    };
    const cli_options_t set = {
        .intro = "usage: tally-nullhttp [options]\n"
                 "Answers every request with 202 after reading its body, doing nothing else:\n"
                 "the HTTP limit next to tally serve's accept rate. Stops on SIGINT/SIGTERM.\n"
                 "\n",
        .opt = opts,
        .n_opt = sizeof opts / sizeof opts[0],
    };
    cli_getopt(&set, argc, argv);
    if (optind != argc)
        cli_usage_exit(&set, 2);

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
    if (inet_pton(AF_INET, o.addr, &sa.sin_addr) != 1)
        cli_die("--addr %s is not an IPv4 address", o.addr);
    cli_catch_signals();
    /* tally serve's options (server/http.c), without its callbacks. */
    struct MHD_OptionItem mhd_opts[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)o.threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 10000, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &sa},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request,
                         NULL, MHD_OPTION_ARRAY, mhd_opts, MHD_OPTION_END);
    if (d == NULL)
        cli_die("cannot listen on %s:%lld", o.addr, (long long)o.port);
    fprintf(stderr, "tally-nullhttp: listening on http://%s:%lld\n", o.addr, (long long)o.port);
    while (!cli_interrupted())
        usleep(100 * 1000);
    MHD_stop_daemon(d);
    return 0;
}
