/* test_route.c - engine routing identities: layout, randomness, the
 * table, constant-time check, bad parameters. */
#include <errno.h>
#include <string.h>

#include "route.h"
#include "tap.h"

int main (void)
{
    zpar_route_t a, b, c;
    zpar_routes_t *t;
    uint8_t junk[ZPAR_ROUTE_LEN];

    /* bad parameters */
    struct {
        const char *what;
        int rc;
    } bad[] = {
        {"make with NULL", zpar__route_make (zpar__eid (1), NULL)},
        {"make for engine 0", zpar__route_make (zpar__eid (0), &a)},
        {"parse NULL data", zpar__route_parse (NULL, ZPAR_ROUTE_LEN, &a)},
        {"parse into NULL", zpar__route_parse ("x", 1, NULL)},
        {"set NULL table", zpar__routes_set (NULL, &a)},
        {"del engine 0", zpar__routes_del (NULL, zpar__eid (0))},
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
        ok (bad[i].rc == -1, "%s is refused", bad[i].what);
    ok (zpar__route_parse ("e3", 2, &a) < 0 && errno == EPROTO, "\"e3\" is no routing identity");
    ok (zpar__route_engine ("e3", 2).v == 0, "\"e3\" names no engine");
    ok (zpar__routes_get (NULL, zpar__eid (1)) == NULL, "get on NULL table");
    ok (zpar__routes_check (NULL, "x", 1).v == 0, "check on NULL table");
    zpar__routes_destroy (NULL);

    /* layout and randomness */
    ok (zpar__route_make (zpar__eid (3), &a) == 0 && zpar__route_make (zpar__eid (3), &b) == 0,
        "two identities for engine 3");
    ok (a.b[0] == ZPAR_ROUTE_TAG && zpar__route_engine (a.b, sizeof (a.b)).v == 3,
        "the identity names engine 3");
    ok (memcmp (a.b, b.b, ZPAR_ROUTE_LEN) != 0, "two draws differ");
    ok (zpar__route_engine (a.b, ZPAR_ROUTE_LEN - 1).v == 0, "a short identity names no engine");
    ok (zpar__route_parse (a.b, sizeof (a.b), &c) == 0 && memcmp (a.b, c.b, ZPAR_ROUTE_LEN) == 0,
        "parse copies");

    /* the table */
    ok ((t = zpar__routes_create ()) != NULL, "table created");
    ok (zpar__routes_check (t, a.b, sizeof (a.b)).v == 0, "unknown before set");
    ok (zpar__routes_set (t, &a) == 0, "set engine 3");
    ok (zpar__routes_get (t, zpar__eid (3)) &&
            !memcmp (zpar__routes_get (t, zpar__eid (3))->b, a.b, ZPAR_ROUTE_LEN),
        "get returns it");
    ok (zpar__routes_check (t, a.b, sizeof (a.b)).v == 3, "its identity checks");
    ok (zpar__routes_check (t, b.b, sizeof (b.b)).v == 0, "a guess with the right id does not");
    memcpy (junk, a.b, sizeof (junk));
    junk[ZPAR_ROUTE_LEN - 1] ^= 1;
    ok (zpar__routes_check (t, junk, sizeof (junk)).v == 0, "one bit off does not");
    ok (zpar__routes_check (t, "e3", 2).v == 0, "the old name e3 does not");
    ok (zpar__routes_set (t, &b) == 0 && zpar__routes_check (t, b.b, sizeof (b.b)).v == 3 &&
            zpar__routes_check (t, a.b, sizeof (a.b)).v == 0,
        "replaced: the new identity checks, the old one no longer");
    ok (zpar__routes_del (t, zpar__eid (3)) == 0 && zpar__routes_get (t, zpar__eid (3)) == NULL &&
            zpar__routes_check (t, b.b, sizeof (b.b)).v == 0,
        "deleted: nothing checks");
    ok (zpar__routes_del (t, zpar__eid (9)) == 0, "deleting an unknown engine is fine");
    for (uint32_t i = 1; i <= 1000; i++) {
        zpar_route_t r;
        if (zpar__route_make (zpar__eid (i), &r) < 0 || zpar__routes_set (t, &r) < 0)
            break;
    }
    ok (zpar__routes_get (t, zpar__eid (1000)) != NULL && zpar__routes_get (t, zpar__eid (1)),
        "a thousand engines");
    zpar__routes_destroy (t);
    return done_testing ();
}
