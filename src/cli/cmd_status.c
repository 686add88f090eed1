/* cmd_status.c - `zpar status`: the engines and task counts of a cluster. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "log.h"

static void put_str (const char *s)
{
    zpar__json_put_str (stdout, s, strlen (s));
}

int zpar__cmd_status (int argc, char **argv)
{
    int as_json = 0, rc;
    const zpar_cli_opt_t opts[] = {
        {"json", 0, NULL,
         "one JSON object: {\"connection_file\", \"client_id\",\n"
         "\"engines\": [{\"id\",\"host\",\"pid\",\"rank\",\"state\",\n"
         "\"outstanding\"}], \"tasks\": {\"pending\",\"running\",\n"
         "\"completed\",\"failed\"}, \"dropped\"}",
         ZPAR_CLI_FLAG, &as_json},
        zpar__cli_conn_opt,
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar status [--json]\n"
        "\n"
        "Show the cluster's engines (id, host, pid, state, tasks outstanding) and its\n"
        "task counts (pending, running, completed ok, failed) and the number of\n"
        "messages the controller dropped (malformed, forged or replayed).\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, .no_args = 1};
    zpar_error_t err = {{0}};
    zpar_engine_info_t *info = NULL;
    zpar_queue_status_t qs;
    size_t n = 0, idle = 0, busy = 0, dead = 0;
    zpar_client_t *c;

    if (zpar__cli_parse (&spec, argc, argv, &rc) < 0)
        return rc;
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (!(c = zpar__cli_connect (&rc)))
        return rc;
    if (zpar_client_engines (c, &info, &n, &err) < 0 ||
        zpar_client_queue_status (c, &qs, &err) < 0) {
        zpar__cli_error ("the controller does not answer: %s", err.text);
        free (info);
        zpar_client_destroy (c);
        return ZPAR_EXIT_UNREACHABLE;
    }
    for (size_t i = 0; i < n; i++) {
        if (!strcmp (info[i].state, "dead"))
            dead++;
        else if (!strcmp (info[i].state, "busy") || info[i].outstanding)
            busy++;
        else
            idle++;
    }
    if (as_json) {
        fputs ("{\"connection_file\":", stdout);
        put_str (zpar_client_connection_file (c));
        printf (",\"client_id\":%u,\"engines\":[", zpar_client_id (c));
        for (size_t i = 0; i < n; i++) {
            printf ("%s{\"id\":%u,\"host\":", i ? "," : "", info[i].id.id);
            put_str (info[i].host);
            printf (",\"pid\":%d,\"rank\":%d,\"state\":", info[i].pid, info[i].rank);
            put_str (info[i].state);
            printf (",\"outstanding\":%u}", info[i].outstanding);
        }
        printf ("],\"tasks\":{\"pending\":%llu,\"running\":%llu,\"completed\":%llu,"
                "\"failed\":%llu},\"dropped\":%llu}\n",
                (unsigned long long)qs.pending, (unsigned long long)qs.running,
                (unsigned long long)qs.completed, (unsigned long long)qs.failed,
                (unsigned long long)qs.dropped);
    } else {
        printf ("cluster: %s\n", zpar_client_connection_file (c));
        printf ("engines: %zu (%zu idle, %zu busy, %zu dead)\n", n, idle, busy, dead);
        if (n) {
            printf ("  %6s  %-24s %8s  %-5s %11s\n", "ID", "HOST", "PID", "STATE", "OUTSTANDING");
            for (size_t i = 0; i < n; i++)
                printf ("  %6u  %-24s %8d  %-5s %11u\n", info[i].id.id, info[i].host, info[i].pid,
                        info[i].state, info[i].outstanding);
        }
        printf ("tasks: %llu pending, %llu running, %llu completed, %llu failed\n",
                (unsigned long long)qs.pending, (unsigned long long)qs.running,
                (unsigned long long)qs.completed, (unsigned long long)qs.failed);
        if (qs.dropped)
            printf ("dropped messages: %llu (malformed, forged or replayed; see the "
                    "controller's log)\n",
                    (unsigned long long)qs.dropped);
        if (qs.duplicates)
            printf ("duplicates dropped: %llu (a second result or submission of a task, or a "
                    "task an engine held that ran elsewhere; each task counts once)\n",
                    (unsigned long long)qs.duplicates);
    }
    fflush (stdout);
    free (info);
    zpar_client_destroy (c);
    return ZPAR_EXIT_OK;
}
