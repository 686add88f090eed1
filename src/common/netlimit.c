/* netlimit.c - size and queue limits of the sockets that face the network. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "log.h"
#include "netlimit.h"

int zpar__netlimit_parse (const char *s, int64_t *bytes)
{
    char *end;
    unsigned long long v;
    int shift = 0;

    if (!s || !bytes || !isdigit ((unsigned char)*s)) {
        errno = EINVAL;
        return -1;
    }
    errno = 0;
    v = strtoull (s, &end, 10);
    if (errno == ERANGE) {
        errno = ERANGE;
        return -1;
    }
    switch (toupper ((unsigned char)*end)) {
    case 'K':
        shift = 10;
        end++;
        break;
    case 'M':
        shift = 20;
        end++;
        break;
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (shift && strcasecmp (end, "iB") == 0)
        end += 2;
    else if (strcasecmp (end, "B") == 0)
        end++;
    if (*end) {
        errno = EINVAL;
        return -1;
    }
    if (v == 0 || v > (1ULL << (62 - shift))) {
        errno = ERANGE;
        return -1;
    }
    *bytes = (int64_t)(v << shift);
    return 0;
}

int64_t zpar__netlimit_data (void)
{
    const char *env = getenv ("ZPAR_MAX_MSG_SIZE");
    int64_t v;

    if (!env || !*env)
        return ZPAR_NETLIMIT_DATA_MAX;
    if (zpar__netlimit_parse (env, &v) < 0) {
        zpar__warn ("ZPAR_MAX_MSG_SIZE=%s is not a size: using %lld bytes", env,
                    (long long)ZPAR_NETLIMIT_DATA_MAX);
        return ZPAR_NETLIMIT_DATA_MAX;
    }
    if (v < ZPAR_NETLIMIT_DATA_MIN)
        return ZPAR_NETLIMIT_DATA_MIN;
    return v > ZPAR_NETLIMIT_DATA_MAX ? ZPAR_NETLIMIT_DATA_MAX : v;
}

int64_t zpar__netlimit_for (zpar_net_role_t role)
{
    int64_t data = zpar__netlimit_data ();
    int64_t v;

    switch (role) {
    case ZPAR_NET_DATA:
        return data;
    case ZPAR_NET_CONTROL:
        v = ZPAR_NETLIMIT_CONTROL;
        break;
    case ZPAR_NET_IOPUB:
        v = ZPAR_NETLIMIT_IOPUB;
        break;
    case ZPAR_NET_PUB:
        v = ZPAR_NETLIMIT_SUBSCRIBE;
        break;
    default:
        errno = EINVAL;
        return -1;
    }
    return v < data ? v : data;
}

int zpar__netlimit_apply (void *sock, zpar_net_role_t role)
{
    int64_t max = zpar__netlimit_for (role);
    int hwm = ZPAR_NETLIMIT_PUB_SNDHWM;

    if (!sock || max < 0) {
        errno = EINVAL;
        return -1;
    }
    if (zmq_setsockopt (sock, ZMQ_MAXMSGSIZE, &max, sizeof (max)) < 0)
        return -1;
    if (role == ZPAR_NET_PUB && zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof (hwm)) < 0)
        return -1;
    return 0;
}
