/* log.c - the one logging function of zpar. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

static int log_level = -1;
static char log_role[64] = "zpar";

void zpar__log_set_level (int level)
{
    log_level = level;
}

int zpar__log_get_level (void)
{
    return log_level;
}

void zpar__log_set_role (const char *role)
{
    snprintf (log_role, sizeof (log_role), "%s", role ? role : "zpar");
}

void zpar__log (zpar_log_level_t level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    char buf[1024];
    int saved = errno;
    va_list ap;
    int n;

    if ((int)level > log_level)
        return;
    n = snprintf (buf, sizeof (buf), "zpar[%s %d] %s: ", log_role, (int)getpid (), names[level]);
    if (n < 0 || (size_t)n >= sizeof (buf))
        n = 0;
    va_start (ap, fmt);
    (void)vsnprintf (buf + n, sizeof (buf) - (size_t)n, fmt, ap);
    va_end (ap);
    fprintf (stderr, "%s\n", buf);
    errno = saved;
}

int zpar__log_level_parse (const char *s)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (!s || !*s)
        return -2;
    if (s[0] >= '0' && s[0] <= '9' && !s[1])
        return s[0] - '0' > 3 ? 3 : s[0] - '0';
    for (int i = 0; i < 4; i++)
        if (!strncasecmp (s, names[i], strlen (names[i])))
            return i;
    if (!strcasecmp (s, "none") || !strcasecmp (s, "off") || !strcasecmp (s, "quiet"))
        return -1;
    return -2;
}
