/* opt.c - the table-driven option parser of every subcommand (cli.h,
 * "options"): builds the getopt_long table and the help text from one
 * zpar_cli_opt_t table per command. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrpick.h"
#include "cli.h"
#include "error.h"
#include "sweep/duration.h"
#include "sweep/spec.h"

#define MAX_OPTS     40
#define HELP_COL_MIN 19 /* the option names column is at least this wide */
#define HELP_COL_MAX 22 /* names wider than this overflow it, then two spaces */

int zpar__cli_set_conn (const char *arg, void *dst)
{
    (void)dst;
    if (!arg || !*arg)
        return zpar__cli_usage ("--connection-file needs a file name");
    zpar__cli.connection_file = arg;
    return -1;
}

int zpar__cli_set_interface (const char *arg, void *dst)
{
    zpar_ifspec_t spec;
    zpar_error_t err;
    if (zpar__ifspec_parse (arg, &spec, &err) < 0)
        return zpar__cli_usage ("--interface %s", err.text);
    *(const char **)dst = arg;
    return -1;
}

const char *const zpar__cli_schemes[] = {"leastload", "pure", NULL};

const zpar_cli_opt_t zpar__cli_conn_opt = {
    "connection-file",       0, "F", "the cluster's client.json", ZPAR_CLI_CALL,
    .fn = zpar__cli_set_conn};
const zpar_cli_opt_t zpar__cli_help_opt = {"help", 'h', NULL, "this help", ZPAR_CLI_HELP};

/* Accepted by every command; shown in a help only where the command's table
 * lists them too. */
static const zpar_cli_opt_t common[] = {
    {"connection-file", 0, "F", NULL, ZPAR_CLI_CALL, .fn = zpar__cli_set_conn},
    {"help", 'h', NULL, NULL, ZPAR_CLI_HELP},
    {"verbose", 'v', NULL, NULL, ZPAR_CLI_FLAG, &zpar__cli.verbose},
    {NULL},
};

/* A non-negative integer no larger than max. */
static int parse_uint (const char *s, unsigned long max, unsigned long *v, zpar_error_t *err)
{
    char *end;
    unsigned long x;
    if (!s || !isdigit ((unsigned char)s[0]))
        return zpar__errnoprintf (err, EINVAL, "'%s' is not a non-negative integer", s ? s : "");
    errno = 0;
    x = strtoul (s, &end, 10);
    if (*end)
        return zpar__errnoprintf (err, EINVAL, "'%s' is not a non-negative integer", s);
    if (errno == ERANGE || x > max)
        return zpar__errnoprintf (err, ERANGE, "%s is too large (at most %lu)", s, max);
    *v = x;
    return 0;
}

int zpar__cli_set_resubmit (const char *arg, void *dst)
{
    zpar_error_t err = {{0}};
    unsigned long v = ZPAR_SWEEP_RESUBMIT_DEFAULT;
    if (arg && parse_uint (arg, ZPAR_SWEEP_RESUBMIT_MAX, &v, &err) < 0)
        return zpar__cli_usage ("--resubmit=%s: %s", arg, err.text);
    *(int *)dst = v ? (int)v : -1;
    return -1;
}

static int left_width (const zpar_cli_opt_t *o)
{
    return (o->shrt ? 4 : 0) + (o->name ? 2 + (int)strlen (o->name) : -2) +
           (o->arg ? 1 + (int)strlen (o->arg) : 0);
}

void zpar__cli_help (const zpar_cli_spec_t *spec, FILE *f)
{
    int col = HELP_COL_MIN;
    fputs (spec->usage, f);
    for (const zpar_cli_opt_t *o = spec->opts; o->name || o->shrt; o++)
        if (o->help && left_width (o) <= HELP_COL_MAX && left_width (o) > col)
            col = left_width (o);
    if (spec->opts[0].name || spec->opts[0].shrt)
        fputs (spec->options_title ? spec->options_title : "\nOptions:\n", f);
    for (const zpar_cli_opt_t *o = spec->opts; o->name || o->shrt; o++) {
        const char *h = o->help, *nl;
        int w = left_width (o);
        if (!h)
            continue; /* documented in the usage text */
        fputs ("  ", f);
        if (o->shrt)
            fprintf (f, "-%c%s", o->shrt, o->name ? ", " : "");
        if (o->name)
            fprintf (f, "--%s", o->name);
        if (o->arg)
            fprintf (f, "%s%s", o->arg[0] == '[' ? "" : " ", o->arg);
        fprintf (f, "%*s", w < col ? col - w + 2 : 2, "");
        while ((nl = strchr (h, '\n'))) {
            fprintf (f, "%.*s\n%*s", (int)(nl - h), h, col + 4, "");
            h = nl + 1;
        }
        fprintf (f, "%s\n", h);
    }
    if (spec->tail)
        fputs (spec->tail, f);
}

/* "--name" (or "-c" for an option with no long name) for messages. */
static void opt_label (const zpar_cli_opt_t *o, char *buf, size_t size)
{
    if (o->name)
        snprintf (buf, size, "--%s", o->name);
    else
        snprintf (buf, size, "-%c", o->shrt);
}

/* Store one option's value; -1 to go on, else the exit code. */
static int store (const zpar_cli_spec_t *spec, const zpar_cli_opt_t *o, const char *arg)
{
    zpar_error_t err = {{0}};
    char label[64];
    unsigned long v = 0;
    double d;

    opt_label (o, label, sizeof (label));
    switch (o->kind) {
    case ZPAR_CLI_FLAG:
        (*(int *)o->dst)++;
        return -1;
    case ZPAR_CLI_STR:
        if (o->choices) {
            size_t i;
            for (i = 0; o->choices[i] && strcmp (o->choices[i], arg); i++)
                ;
            if (!o->choices[i])
                return zpar__cli_usage (o->bad, arg);
        }
        *(const char **)o->dst = arg;
        return -1;
    case ZPAR_CLI_DURATION:
        if (zpar__duration_parse_text (arg, &d, &err) < 0 || (o->min && d <= 0)) {
            if (o->bad)
                return zpar__cli_usage (o->bad, arg);
            return zpar__cli_usage ("%s: %s", label, err.text);
        }
        *(double *)o->dst = d;
        return -1;
    case ZPAR_CLI_UINT:
        if (parse_uint (arg, o->max, &v, &err) < 0 || v < o->min) {
            if (o->bad)
                return zpar__cli_usage (o->bad, arg, o->max);
            if (!err.text[0])
                snprintf (err.text, sizeof (err.text), "must be at least %lu", o->min);
            return zpar__cli_usage ("%s %s: %s", label, arg, err.text);
        }
        *(unsigned long *)o->dst = v;
        return -1;
    case ZPAR_CLI_CALL:
        return o->fn (arg, o->dst);
    case ZPAR_CLI_HELP:
        zpar__cli_help (spec, stdout);
        return ZPAR_EXIT_OK;
    }
    return ZPAR_EXIT_USAGE;
}

int zpar__cli_parse (const zpar_cli_spec_t *spec, int argc, char **argv, int *rc)
{
    struct option lopts[MAX_OPTS + 1];
    const zpar_cli_opt_t *all[MAX_OPTS];
    char shorts[3 * MAX_OPTS + 2], *sp = shorts;
    size_t n = 0;
    int c;

    if (spec->in_order)
        *sp++ = '+';
    for (int pass = 0; pass < 2; pass++)
        for (const zpar_cli_opt_t *o = pass ? common : spec->opts; o->name || o->shrt; o++) {
            int dup = 0;
            for (size_t i = 0; i < n; i++)
                dup |= (o->name && all[i]->name && !strcmp (o->name, all[i]->name)) ||
                       (o->shrt && o->shrt == all[i]->shrt);
            if (dup || n == MAX_OPTS)
                continue;
            all[n] = o;
            /* an argument named "[=N]" is optional: --name or --name=N */
            lopts[n] = (struct option){o->name,
                                       !o->arg            ? no_argument
                                       : o->arg[0] == '[' ? optional_argument
                                                          : required_argument,
                                       NULL, 0x1000 + (int)n};
            if (o->shrt) {
                *sp++ = (char)o->shrt;
                if (o->arg)
                    *sp++ = ':';
            }
            n++;
        }
    *sp = '\0';
    /* options with no long name are only reachable by their letter */
    {
        size_t k = 0;
        struct option tmp[MAX_OPTS + 1];
        for (size_t i = 0; i < n; i++)
            if (lopts[i].name)
                tmp[k++] = lopts[i];
        tmp[k] = (struct option){NULL, 0, NULL, 0};
        memcpy (lopts, tmp, sizeof (tmp));
    }
    optind = 0;
    while ((c = getopt_long (argc, argv, shorts, lopts, NULL)) != -1) {
        const zpar_cli_opt_t *o = NULL;
        if (c >= 0x1000 && (size_t)(c - 0x1000) < n)
            o = all[c - 0x1000];
        else
            for (size_t i = 0; i < n && !o; i++)
                if (all[i]->shrt == c)
                    o = all[i];
        if (!o) {
            /* getopt already said which option it did not understand */
            if (zpar__cli.cmd)
                fprintf (stderr, "Try 'zpar %s --help'.\n", zpar__cli.cmd);
            else
                fprintf (stderr, "Try 'zpar --help'.\n");
            *rc = ZPAR_EXIT_USAGE;
            return -1;
        }
        if ((*rc = store (spec, o, optarg)) >= 0)
            return -1;
    }
    if (spec->no_args && optind < argc) {
        *rc = zpar__cli_usage ("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    *rc = ZPAR_EXIT_OK;
    return optind;
}
