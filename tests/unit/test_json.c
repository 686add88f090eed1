/* test_json.c - JSON writer escaping and the strict flat-object reader,
 * and connection files. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "json.h"
#include "tap.h"

static char *emit (const char *s, size_t len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream (&buf, &n);
    zpar__json_put_str (f, s, len);
    fclose (f);
    return buf;
}

int main (void)
{
    char *s;
    zpar_jobj_t *o;
    zpar_error_t err;
    double v;
    static const char *bad[] = {
        "",
        "[]",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{\"a\":{}}",
        "{\"a\":\"x}",
        "{\"a\":1} x",
        "{\"a\":\"\\q\"}",
        "{\"a\":\"\\u00\"}",
        "{a:1}",
        NULL,
    };

    plan (NO_PLAN);
    s = emit ("a\"b\\c\nd\x01", 8);
    is_str (s, "\"a\\\"b\\\\c\\nd\\u0001\"", "escapes quotes, backslash, newline, control");
    free (s);
    s = emit ("h\xc3\xa9\xff", 4);
    is_str (s, "\"h\xc3\xa9\\ufffd\"", "valid UTF-8 kept, invalid byte replaced");
    free (s);

    o = zpar__jobj_parse ("{\"k\": \"v\\n\\u00e9\", \"n\": -2.5e1, \"t\": true, \"z\": null}", 53,
                          &err);
    ok (o != NULL, "flat object parsed");
    is_str (zpar__jobj_str (o, "k"), "v\n\xc3\xa9", "string with escapes");
    ok (zpar__jobj_num (o, "n", &v) == 0 && v == -25.0, "number");
    ok (zpar__jobj_num (o, "t", &v) == 0 && v == 1.0, "boolean");
    ok (zpar__jobj_str (o, "z") == NULL, "null is not a string");
    ok (zpar__jobj_num (o, "missing", &v) < 0 && errno == ENOENT, "missing key");
    zpar__jobj_destroy (o);
    for (int i = 0; bad[i]; i++)
        ok (zpar__jobj_parse (bad[i], strlen (bad[i]), &err) == NULL && errno == EINVAL,
            "malformed '%s' refused: %s", bad[i], err.text);

    /* connection files: write, mode, read back, broken files */
    {
        char dir[] = "/tmp/zpar-test-XXXXXX", path[256];
        zpar_conninfo_t ci, back;
        struct stat st;
        FILE *f;
        ok (mkdtemp (dir) != NULL, "temp dir");
        memset (&ci, 0, sizeof (ci));
        for (int i = 0; i < ZPAR_EP_COUNT; i++)
            snprintf (ci.addr[i], ZPAR_ADDR_MAX, "tcp://127.0.0.1:%d", 40000 + i);
        memset (ci.key, 0xab, sizeof (ci.key));
        snprintf (ci.host, sizeof (ci.host), "node\"1");
        snprintf (ci.scheme, sizeof (ci.scheme), "leastload");
        snprintf (path, sizeof (path), "%s/sub/client.json", dir);
        ok (zpar__conn_write (path, &ci, &err) == 0, "connection file written (parent created)");
        ok (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode is 0600");
        ok (zpar__conn_read (path, &back, &err) == 0, "read back");
        ok (memcmp (back.key, ci.key, sizeof (ci.key)) == 0, "key round trips");
        is_str (back.addr[ZPAR_EP_TASK_ENGINE], ci.addr[ZPAR_EP_TASK_ENGINE],
                "addresses round trip");
        is_str (back.host, "node\"1", "host with a quote round trips");
        f = fopen (path, "w");
        fputs ("{\"version\": 1, \"key\": \"zz\"}", f);
        fclose (f);
        ok (zpar__conn_read (path, &back, &err) < 0 && strstr (err.text, "key"),
            "bad key named: %s", err.text);
        f = fopen (path, "w");
        fputs ("not json", f);
        fclose (f);
        ok (zpar__conn_read (path, &back, &err) < 0 && strstr (err.text, path),
            "not JSON names the file: %s", err.text);
        unlink (path);
        ok (zpar__conn_read (path, &back, &err) < 0 && strstr (err.text, "cannot open"),
            "missing file: %s", err.text);
        snprintf (path, sizeof (path), "%s/sub", dir);
        rmdir (path);
        rmdir (dir);
    }
    return done_testing ();
}
