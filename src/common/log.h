/* log.h - the one logging function of zpar (internal).
 *
 * Library code (libzpar) never prints: it logs only when the program has
 * installed a sink with zpar__log_set_level() (the zpar program does).
 * Messages go to stderr as "zpar[<role> <pid>] <level>: text".
 */
#ifndef ZPAR__LOG_H
#define ZPAR__LOG_H

typedef enum {
    ZPAR_LOG_ERR = 0,
    ZPAR_LOG_WARN = 1,
    ZPAR_LOG_INFO = 2,
    ZPAR_LOG_DEBUG = 3,
} zpar_log_level_t;

/* Set the level; messages above it are dropped.  Default: no output at all
 * (level -1) so that libzpar stays silent inside user programs. */
void zpar__log_set_level (int level);
int zpar__log_get_level (void);

/* A level from its name, as ZPAR_LOG gives it: "error", "warn", "info",
 * "debug" (a prefix match, any case), a digit 0-3 (higher: 3), or "none" /
 * "off" / "quiet" (-1).  Returns -2 for anything else. */
int zpar__log_level_parse (const char *s);

/* Name printed in front of each line ("controller", "engine 3", ...). */
void zpar__log_set_role (const char *role);

void zpar__log (zpar_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#define zpar__err(...)   zpar__log (ZPAR_LOG_ERR, __VA_ARGS__)
#define zpar__warn(...)  zpar__log (ZPAR_LOG_WARN, __VA_ARGS__)
#define zpar__info(...)  zpar__log (ZPAR_LOG_INFO, __VA_ARGS__)
#define zpar__debug(...) zpar__log (ZPAR_LOG_DEBUG, __VA_ARGS__)

#endif
