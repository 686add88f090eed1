/* cmd_status.c - `zpar status`: the engines and task counts of a cluster. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "log.h"

static void put_str (const char *s)
{
    zpar__json_put_str (stdout, s, strlen (s));
}

/* bytes as "812 B", "4.0 KiB", "1.3 MiB", "2.0 GiB" */
static const char *human (uint64_t bytes, char *buf, size_t size)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf (buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf (buf, size, "%.1f %s", v, unit[u]);
    return buf;
}

/* The records lines: nothing while they are saved. */
static void print_records (const zpar_queue_status_t *qs)
{
    time_t since = (time_t)(qs->records_unsaved_since_us / 1000000u), now = time (NULL);
    char when[64] = "?", used[32], limit[32];
    struct tm tm;
    if (!qs->records_unsaved_since_us)
        return;
    if (gmtime_r (&since, &tm))
        strftime (when, sizeof (when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf ("records: NOT SAVED since %s (%lld s): %llu waiting in the controller's memory "
            "(%s of a %s bound): %s\n",
            when, (long long)(now > since ? now - since : 0),
            (unsigned long long)qs->records_unsaved,
            human (qs->records_unsaved_bytes, used, sizeof (used)),
            human (qs->records_limit_bytes, limit, sizeof (limit)),
            qs->records_error[0] ? qs->records_error : "?");
    if (qs->records_refusing)
        printf ("records: new submissions are refused until the records can be saved again "
                "(free space for the task database)\n");
    else
        printf ("records: they are written by themselves as soon as there is space again\n");
}

static void put_records_json (const zpar_queue_status_t *qs)
{
    if (!qs->records_unsaved_since_us) {
        fputs (",\"records\":{\"saved\":true}", stdout);
        return;
    }
    printf (",\"records\":{\"saved\":false,\"since_us\":%llu,\"unsaved\":%llu,"
            "\"unsaved_bytes\":%llu,\"limit_bytes\":%llu,\"refusing\":%s,\"error\":",
            (unsigned long long)qs->records_unsaved_since_us,
            (unsigned long long)qs->records_unsaved, (unsigned long long)qs->records_unsaved_bytes,
            (unsigned long long)qs->records_limit_bytes, qs->records_refusing ? "true" : "false");
    put_str (qs->records_error);
    fputs ("}", stdout);
}

int zpar__cmd_status (int argc, char **argv)
{
    int as_json = 0, rc;
    const zpar_cli_opt_t opts[] = {
        {"json", 0, NULL,
         "one JSON object: {\"connection_file\", \"client_id\",\n"
         "\"engines\": [{\"id\",\"host\",\"pid\",\"rank\",\"state\",\n"
         "\"outstanding\"}], \"tasks\": {\"pending\",\"running\",\n"
         "\"completed\",\"failed\"}, \"dropped\", \"records\": {\"saved\",\n"
         "\"since_us\",\"unsaved\",\"unsaved_bytes\",\"limit_bytes\",\n"
         "\"refusing\",\"error\"}}",
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
        "messages the controller dropped (malformed, forged or replayed).  While the\n"
        "controller cannot save its task records (disk full), a \"records: NOT SAVED\"\n"
        "line says since when, how many wait and why.\n",
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
                "\"failed\":%llu},\"dropped\":%llu",
                (unsigned long long)qs.pending, (unsigned long long)qs.running,
                (unsigned long long)qs.completed, (unsigned long long)qs.failed,
                (unsigned long long)qs.dropped);
        put_records_json (&qs);
        fputs ("}\n", stdout);
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
        print_records (&qs);
    }
    fflush (stdout);
    free (info);
    zpar_client_destroy (c);
    return ZPAR_EXIT_OK;
}
