/* test_addrpick.c - the controller's candidate addresses: their text form
 * (and a bad-input table), subnets and interface specs, the controller's
 * order, the connecting side's ranking (a shared subnet first, then a
 * routed one, another host's copy of our own address last, an explicit
 * interface wins), Slurm host lists, the "candidates" connection field, and
 * the rewriting of endpoints. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrpick.h"
#include "conn.h"
#include "tap.h"

static uint32_t ip (const char *s)
{
    uint32_t v = 0;
    if (zpar__ip_parse (s, &v) < 0)
        diag ("bad test address %s", s);
    return v;
}

static void text_form (void)
{
    static const char *bad[] = {
        "10.0.0.1",
        "10.0.0.1/24",
        "10.0.0.1/24@",
        "10.0.0.1/33@eth0",
        "10.0.0/24@eth0",
        "10.0.0.256/24@eth0",
        "x.0.0.1/24@eth0",
        "10.0.0.1/@eth0",
        "10.0.0.1/24@eth 0",
        "10.0.0.1/24@eth0,",
        ",10.0.0.1/24@eth0",
        "10.0.0.1/2x@eth0",
        "10.0.0.1/24@abcdefghijklmnop",
        "010.0.0.1/24@eth0x/",
    };
    zpar_cands_t l;
    zpar_error_t err;
    char buf[ZPAR_CANDS_TEXT_MAX], big[2048];
    const char *t = "10.1.0.1/24@eth1,192.168.7.1/16@ib0,172.17.0.1/16@docker0";

    ok (zpar__cands_parse (t, &l, &err) == 0 && l.n == 3, "three candidates parse");
    ok (l.c[1].ip == ip ("192.168.7.1") && l.c[1].prefix == 16 && !strcmp (l.c[1].ifname, "ib0"),
        "the second is 192.168.7.1/16 on ib0");
    ok (zpar__cands_format (&l, buf, sizeof (buf)) == 0 && !strcmp (buf, t),
        "formatting gives the same text back");
    ok (zpar__cands_parse ("", &l, &err) == 0 && l.n == 0, "the empty text is no candidate");
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        errno = 0;
        ok (zpar__cands_parse (bad[i], &l, &err) < 0 && errno == EINVAL, "refused: '%s' (%s)",
            bad[i], err.text);
    }
    big[0] = '\0';
    for (int i = 0; i <= ZPAR_CAND_MAX; i++)
        snprintf (big + strlen (big), sizeof (big) - strlen (big), "%s10.0.%d.1/24@eth%d",
                  i ? "," : "", i, i);
    ok (zpar__cands_parse (big, &l, &err) < 0, "more than %d candidates refused", ZPAR_CAND_MAX);
    l.n = 2;
    ok (zpar__cands_format (&l, buf, 10) < 0 && errno == ENOSPC, "too small a buffer: ENOSPC");
}

static void subnets (void)
{
    zpar_cand_t a = {ip ("10.1.0.1"), 24, "eth0"}, b = {ip ("10.1.0.77"), 24, "br0"},
                c = {ip ("10.1.1.5"), 24, "eth0"}, d = {ip ("10.1.1.5"), 16, "x"},
                z = {ip ("10.1.0.2"), 0, "y"};
    zpar_ifspec_t s;
    zpar_error_t err;
    static const char *bad[] = {"",      "10.0.0.0/33",      "10.0.0.0/x",
                                "eth 0", "abcdefghijklmnop", "eth0;rm"};

    ok (zpar__cand_same_subnet (&a, &b), "10.1.0.1/24 and 10.1.0.77/24 share a subnet");
    ok (!zpar__cand_same_subnet (&a, &c), "10.1.0.1/24 and 10.1.1.5/24 do not");
    ok (zpar__cand_same_subnet (&a, &d), "under the shorter prefix (/16) they do");
    ok (!zpar__cand_same_subnet (&a, &z), "a /0 shares nothing");

    ok (zpar__ifspec_parse ("10.1.0.0/16", &s, &err) == 0 && s.is_net && s.prefix == 16,
        "a CIDR spec");
    ok (zpar__ifspec_match (&s, &a) && zpar__ifspec_match (&s, &c), "it matches both subnets");
    ok (zpar__ifspec_parse ("10.1.1.5", &s, &err) == 0 && s.is_net && s.prefix == 32 &&
            zpar__ifspec_match (&s, &c) && !zpar__ifspec_match (&s, &a),
        "a bare address is a /32");
    ok (zpar__ifspec_parse ("10.1.0.9/24", &s, &err) == 0 && zpar__ifspec_match (&s, &a),
        "host bits in a CIDR are ignored");
    ok (zpar__ifspec_parse ("eth0", &s, &err) == 0 && !s.is_net && zpar__ifspec_match (&s, &a) &&
            !zpar__ifspec_match (&s, &b),
        "an interface name matches its own addresses");
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
        ok (zpar__ifspec_parse (bad[i], &s, &err) < 0 && errno == EINVAL, "spec refused: '%s'",
            bad[i]);
    ok (zpar__ifname_virtual ("docker0") && zpar__ifname_virtual ("virbr0") &&
            zpar__ifname_virtual ("br-5f2a") && !zpar__ifname_virtual ("eth0") &&
            !zpar__ifname_virtual ("ib0") && !zpar__ifname_virtual ("bond0"),
        "container bridges are virtual, eth0/ib0/bond0 are not");
}

static void controller_order (void)
{
    zpar_cands_t l;
    zpar_error_t err;
    char buf[ZPAR_CANDS_TEXT_MAX];
    uint32_t routed[3];

    zpar__cands_parse ("172.17.0.1/16@docker0,10.99.0.1/24@dummy0,10.1.0.1/24@eth0,"
                       "10.2.0.1/24@ib0",
                       &l, &err);
    routed[0] = ip ("10.2.0.1");
    routed[1] = ip ("10.1.0.1");
    routed[2] = ip ("10.2.0.1");
    zpar__cands_order (&l, routed, 3, 0);
    zpar__cands_format (&l, buf, sizeof (buf));
    is_str (buf, "10.2.0.1/24@ib0,10.1.0.1/24@eth0,10.99.0.1/24@dummy0,172.17.0.1/16@docker0",
            "the route to most nodes first, then the others, container bridges last");
    zpar__cands_parse ("172.17.0.1/16@docker0,10.99.0.1/24@dummy0,10.1.0.1/24@eth0", &l, &err);
    zpar__cands_order (&l, NULL, 0, ip ("10.1.0.1"));
    zpar__cands_format (&l, buf, sizeof (buf));
    is_str (buf, "10.1.0.1/24@eth0,10.99.0.1/24@dummy0,172.17.0.1/16@docker0",
            "no node list: the default route's interface first");
    zpar__cands_order (&l, NULL, 0, 0);
    zpar__cands_format (&l, buf, sizeof (buf));
    is_str (buf, "10.1.0.1/24@eth0,10.99.0.1/24@dummy0,172.17.0.1/16@docker0",
            "nothing known: the order is kept (stable)");
}

static void ranking (void)
{
    zpar_cands_t remote, local;
    zpar_ifspec_t spec;
    zpar_error_t err;
    size_t order[ZPAR_CAND_MAX], n;
    char why[ZPAR_CAND_MAX][ZPAR_PICK_WHY_MAX];
    uint32_t kroute[ZPAR_CAND_MAX] = {0};

    /* the controller's host lists an unreachable dummy first; this engine
     * shares the second bridge only */
    zpar__cands_parse ("10.99.0.1/24@dummy0,10.1.0.1/24@eth0,10.2.0.1/24@eth1", &remote, &err);
    zpar__cands_parse ("10.2.0.13/24@eth0", &local, &err);
    n = zpar__cands_rank (&remote, &local, NULL, NULL, 0, order, why);
    ok (n == 3 && order[0] == 2, "the candidate on the shared subnet (10.2.0.1) first");
    ok (strstr (why[0], "shared") != NULL, "and why: %s", why[0]);
    ok (order[1] == 0 && order[2] == 1, "then the controller's order");

    /* no shared subnet: the one the kernel routes to */
    zpar__cands_parse ("192.168.5.7/24@eth0", &local, &err);
    kroute[1] = ip ("192.168.5.7");
    n = zpar__cands_rank (&remote, &local, NULL, kroute, 0, order, why);
    ok (n == 3 && order[0] == 1 && strstr (why[0], "routed"), "else the routed one: %s", why[0]);
    memset (kroute, 0, sizeof (kroute));
    n = zpar__cands_rank (&remote, &local, NULL, kroute, 0, order, why);
    ok (n == 3 && order[0] == 0, "else the controller's first choice: %s", why[0]);

    /* every host has docker0 172.17.0.1: that is us, not the controller */
    zpar__cands_parse ("172.17.0.1/16@docker0,10.1.0.1/24@eth0", &remote, &err);
    zpar__cands_parse ("172.17.0.1/16@docker0,10.1.0.12/24@eth0", &local, &err);
    n = zpar__cands_rank (&remote, &local, NULL, NULL, 0, order, why);
    ok (n == 2 && order[0] == 1 && order[1] == 0 && strstr (why[1], "this host"),
        "another host's copy of our own address comes last (%s)", why[1]);
    n = zpar__cands_rank (&remote, &local, NULL, NULL, 1, order, why);
    ok (n == 2 && order[0] == 0, "on the controller's own host it is fine");

    /* an explicit interface wins, a CIDR too; no match: nothing */
    zpar__cands_parse ("10.99.0.1/24@dummy0,10.1.0.1/24@eth0,10.2.0.1/24@eth1", &remote, &err);
    zpar__cands_parse ("10.1.0.12/24@eth0,10.2.0.12/24@ib0", &local, &err);
    zpar__ifspec_parse ("ib0", &spec, &err);
    n = zpar__cands_rank (&remote, &local, &spec, NULL, 0, order, why);
    ok (n == 1 && order[0] == 2, "--interface ib0: the candidate on ib0's subnet only (%s)",
        why[0]);
    zpar__ifspec_parse ("10.99.0.0/16", &spec, &err);
    n = zpar__cands_rank (&remote, &local, &spec, NULL, 0, order, why);
    ok (n == 1 && order[0] == 0, "a CIDR picks inside it, reachable or not");
    zpar__ifspec_parse ("eth1", &spec, &err);
    n = zpar__cands_rank (&remote, &local, &spec, NULL, 0, order, why);
    ok (n == 1 && order[0] == 2, "a name not here: the controller's interface of that name");
    zpar__ifspec_parse ("10.77.0.0/16", &spec, &err);
    ok (zpar__cands_rank (&remote, &local, &spec, NULL, 0, order, why) == 0,
        "a spec that matches no candidate ranks none");
}

static void hostlists (void)
{
    char **v;
    size_t n;
    static const char *bad[] = {"h[1-", "h[3-1]", "h[]", "h[1-3]x[2]", ",", "h[a-b]", "h1,,h2"};
    ok (zpar__hostlist_expand ("h[1-3,7],login,n[08-10]", 100, &v, &n) == 0 && n == 8,
        "h[1-3,7],login,n[08-10] is 8 names");
    if (n == 8) {
        is_str (v[0], "h1", "first h1");
        is_str (v[3], "h7", "then h7");
        is_str (v[4], "login", "a plain name");
        is_str (v[5], "n08", "leading zeros kept");
        is_str (v[7], "n10", "up to n10");
    }
    zpar__hostlist_free (v, n);
    ok (zpar__hostlist_expand ("a[1-100]-ib", 5, &v, &n) == 0 && n == 5 && !strcmp (v[4], "a5-ib"),
        "at most max names, a suffix kept");
    zpar__hostlist_free (v, n);
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
        ok (zpar__hostlist_expand (bad[i], 100, &v, &n) < 0 && errno == EINVAL,
            "host list refused: '%s'", bad[i]);
}

static void conn_field_and_pick (void)
{
    zpar_conninfo_t ci, back;
    zpar_error_t err;
    zpar_pick_t pick;
    char *text, ep[ZPAR_ADDR_MAX], desc[512];

    memset (&ci, 0, sizeof (ci));
    memset (ci.key, 7, sizeof (ci.key));
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "tcp://192.0.2.1:%d", 41000 + i);
    snprintf (ci.host, sizeof (ci.host), "no-such-host-here");
    snprintf (ci.candidates, sizeof (ci.candidates), "192.0.2.1/24@dummy0,198.51.100.1/24@eth0");
    text = zpar__conn_to_string (&ci);
    ok (text && strstr (text, "\"candidates\": \"192.0.2.1/24@dummy0,198.51.100.1/24@eth0\""),
        "the connection text carries the candidates");
    ok (text && zpar__conn_from_string (text, &back, &err) == 0 &&
            !strcmp (back.candidates, ci.candidates),
        "and reads them back");
    free (text);
    snprintf (back.candidates, sizeof (back.candidates), "192.0.2.1/24");
    text = zpar__conn_to_string (&back);
    ok (text && zpar__conn_from_string (text, &back, &err) < 0 && strstr (err.text, "candidates"),
        "a malformed field is refused: %s", err.text);
    free (text);

    setenv ("ZPAR_INTERFACE", "198.51.100.0/24", 1);
    ok (zpar__conn_pick (&ci, NULL, &pick, &err) == 0 && pick.n == 1 &&
            !strcmp (pick.ip[0], "198.51.100.1"),
        "ZPAR_INTERFACE picks the candidate in its network");
    is_str (ci.addr[ZPAR_EP_REGISTRAR], "tcp://198.51.100.1:41000", "and rewrites the endpoints");
    is_str (ci.addr[ZPAR_EP_IOPUB_ENGINE], "tcp://198.51.100.1:41011", "every one of them");
    snprintf (ep, sizeof (ep), "tcp://192.0.2.1:5555");
    zpar__conn_pick_rehost (&pick, ep, sizeof (ep));
    is_str (ep, "tcp://198.51.100.1:5555", "a reply's endpoint on a candidate is rewritten");
    snprintf (ep, sizeof (ep), "tcp://203.0.113.9:5555");
    zpar__conn_pick_rehost (&pick, ep, sizeof (ep));
    is_str (ep, "tcp://203.0.113.9:5555", "one elsewhere is left alone");
    zpar__conn_pick_describe (&pick, ci.addr[ZPAR_EP_REGISTRAR], 0, 1, desc, sizeof (desc));
    ok (strstr (desc, "tcp://198.51.100.1:41000 (") != NULL, "described: %s", desc);
    zpar__conn_pick_describe (&pick, ci.addr[ZPAR_EP_REGISTRAR], 0, 0, desc, sizeof (desc));
    is_str (desc, "tcp://198.51.100.1:41000", "or without the reasons");

    setenv ("ZPAR_INTERFACE", "203.0.113.0/24", 1);
    errno = 0;
    ok (zpar__conn_pick (&ci, NULL, &pick, &err) < 0 && errno == ENODEV &&
            strstr (err.text, "ZPAR_INTERFACE=203.0.113.0/24") &&
            strstr (err.text, "198.51.100.1/24@eth0"),
        "a spec no candidate matches: %s", err.text);
    ok (zpar__conn_pick (&ci, "bad name!", &pick, &err) < 0 && errno == EINVAL &&
            strstr (err.text, "--interface"),
        "a malformed --interface: %s", err.text);
    unsetenv ("ZPAR_INTERFACE");

    /* without a spec: both are tried in turn, the endpoints follow */
    ok (zpar__conn_pick (&ci, NULL, &pick, &err) == 0 && pick.n == 2, "no spec: two to try");
    {
        char first[16];
        snprintf (first, sizeof (first), "%s", pick.ip[0]);
        ok (zpar__conn_pick_next (&ci, &pick) == 1 && strstr (ci.addr[0], pick.ip[1]),
            "the next one: %s", ci.addr[0]);
        ok (zpar__conn_pick_next (&ci, &pick) == 0 && strstr (ci.addr[0], first),
            "then the first again: %s", ci.addr[0]);
    }
    {
        /* the attempts: the best three times, then each in turn */
        size_t want[] = {0, 0, 0, 1, 0, 1}, got_all = 1;
        for (unsigned a = 0; a < sizeof (want) / sizeof (want[0]); a++)
            got_all &= zpar__conn_pick_attempt (&ci, &pick, a) == want[a] &&
                       strstr (ci.addr[ZPAR_EP_TASK_ENGINE], pick.ip[want[a]]) != NULL;
        ok (got_all && pick.tried == 2, "attempts: the best 3 times, then each in turn");
    }
    /* endpoints that are not the controller's (a relay's): as they are */
    {
        zpar_conninfo_t rl = ci;
        for (int i = 0; i < ZPAR_EP_COUNT; i++)
            snprintf (rl.addr[i], ZPAR_ADDR_MAX, "ipc:///tmp/relay/%d", i);
        ok (zpar__conn_pick (&rl, NULL, &pick, &err) == 0 && pick.n == 1 &&
                !strcmp (rl.addr[0], "ipc:///tmp/relay/0"),
            "ipc endpoints are left alone");
        zpar__conn_pick_describe (&pick, rl.addr[0], 0, 0, desc, sizeof (desc));
        is_str (desc, "ipc:///tmp/relay/0", "and described as they are");
    }
    ci.candidates[0] = '\0';
    ok (zpar__conn_pick (&ci, NULL, &pick, &err) == 0 && pick.n == 1 &&
            strstr (ci.addr[0], pick.ip[0]),
        "no candidates: the endpoints as they are (%s)", pick.ip[0]);
}

int main (void)
{
    plan (NO_PLAN);
    text_form ();
    subnets ();
    controller_order ();
    ranking ();
    hostlists ();
    conn_field_and_pick ();
    return done_testing ();
}
