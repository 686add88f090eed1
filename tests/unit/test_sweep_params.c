/* test_sweep_params.c - parameters, spaces and the lazy point generator. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "params.h"
#include "tap.h"

/* Time bounds are multiplied by $ZPAR_TEST_TIME_SCALE (e.g. under valgrind). */
static double time_scale (void)
{
    const char *s = getenv ("ZPAR_TEST_TIME_SCALE");
    double v = s ? atof (s) : 1.;
    return v > 0 ? v : 1.;
}

static void test_number_format (void)
{
    static const struct {
        double v;
        const char *want;
    } t[] = {
        {0.1, "0.1"},
        {0.25, "0.25"},
        {1.0, "1"},
        {-0.0, "0"},
        {1e-3, "0.001"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e22, "1e+22"},
        {123456789., "123456789"},
        {1.0 / 3, "0.3333333333333333"},
        {-2.5, "-2.5"},
        {5e-324, "5e-324"},
    };
    char buf[ZPAR_SWEEP_NUM_MAX];
    for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++) {
        zpar__sweep_number_format (t[i].v, buf, sizeof (buf));
        is_str (buf, t[i].want, "format %.17g -> %s", t[i].v, t[i].want);
    }
}

static void test_number_parse (void)
{
    static const struct {
        const char *in;
        int ok;
        const char *canon;
        zpar_sweep_vtype_t type;
    } t[] = {
        {"42", 1, "42", ZPAR_SWEEP_INT},
        {"-7", 1, "-7", ZPAR_SWEEP_INT},
        {"+3", 1, "3", ZPAR_SWEEP_INT},
        {"007", 1, "7", ZPAR_SWEEP_INT},
        {"0.10", 1, "0.1", ZPAR_SWEEP_FLOAT},
        {".5", 1, "0.5", ZPAR_SWEEP_FLOAT},
        {"1e3", 1, "1000", ZPAR_SWEEP_FLOAT},
        {"2.", 1, "2", ZPAR_SWEEP_FLOAT},
        {"1E-2", 1, "0.01", ZPAR_SWEEP_FLOAT},
        {"abc", 0, NULL, 0},
        {"0x10", 0, NULL, 0},
        {"inf", 0, NULL, 0},
        {"1_000", 0, NULL, 0},
        {"", 0, NULL, 0},
        {"1e", 0, NULL, 0},
        {"99999999999999999999", 0, NULL, 0},
        {"-", 0, NULL, 0},
        {"1.5.2", 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++) {
        char canon[ZPAR_SWEEP_NUM_MAX];
        zpar_sweep_vtype_t type;
        int rc = zpar__sweep_number_parse (t[i].in, canon, sizeof (canon), &type, NULL);
        if (t[i].ok) {
            ok (rc == 0 && strcmp (canon, t[i].canon) == 0 && type == t[i].type,
                "parse '%s' -> %s (%s)", t[i].in, t[i].canon,
                t[i].type == ZPAR_SWEEP_INT ? "int" : "float");
        } else
            ok (rc < 0 && errno == EINVAL, "parse '%s' is not a number", t[i].in);
    }
}

/* All values of p joined with spaces. */
static char *values (const zpar_sweep_param_t *p)
{
    static char out[4096];
    char buf[ZPAR_SWEEP_NUM_MAX];
    zpar_sweep_vtype_t t;
    out[0] = '\0';
    for (uint64_t i = 0; i < zpar__sweep_param_count (p); i++) {
        if (i)
            strcat (out, " ");
        strcat (out, zpar__sweep_param_value (p, i, buf, sizeof (buf), &t));
    }
    return out;
}

static void test_forms (void)
{
    zpar_error_t err = {{0}};
    zpar_sweep_param_t *p;
    zpar_sweep_vtype_t t;
    char buf[ZPAR_SWEEP_NUM_MAX];
    static const struct {
        const char *a, *b, *c, *want;
    } ranges[] = {
        {"0", "5", NULL, "0 1 2 3 4"},
        {"1", "10", "3", "1 4 7"},
        {"10", "0", "-3", "10 7 4 1"},
        {"0", "1", "0.1", "0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9"},
        {"1", "0", "-0.25", "1 0.75 0.5 0.25"},
        {"0.5", "2", "0.5", "0.5 1 1.5"},
        {"-1", "1", "0.5", "-1 -0.5 0 0.5"},
        {"0", "3e-3", "1e-3", "0 0.001 0.002"},
    };
    for (size_t i = 0; i < sizeof (ranges) / sizeof (ranges[0]); i++) {
        p = zpar__sweep_param_range_create ("x", ranges[i].a, ranges[i].b, ranges[i].c, &err);
        ok (p != NULL, "range [%s, %s, %s] created", ranges[i].a, ranges[i].b,
            ranges[i].c ? ranges[i].c : "-");
        if (p)
            is_str (values (p), ranges[i].want, "range [%s, %s, %s] = %s", ranges[i].a, ranges[i].b,
                    ranges[i].c ? ranges[i].c : "-", ranges[i].want);
        zpar__sweep_param_destroy (p);
    }
    p = zpar__sweep_param_range_create ("x", "0", "10", "1", &err);
    zpar__sweep_param_value (p, 3, buf, sizeof (buf), &t);
    ok (t == ZPAR_SWEEP_INT, "integer range gives ints");
    zpar__sweep_param_destroy (p);
    p = zpar__sweep_param_range_create ("x", "0", "1", "0.5", &err);
    zpar__sweep_param_value (p, 1, buf, sizeof (buf), &t);
    ok (t == ZPAR_SWEEP_FLOAT, "float range gives floats");
    ok (zpar__sweep_param_value (p, 2, buf, sizeof (buf), &t) == NULL && errno == ERANGE,
        "value past the end fails with ERANGE");
    zpar__sweep_param_destroy (p);

    /* a huge range costs nothing */
    p = zpar__sweep_param_range_create ("x", "0", "1000000000000", NULL, &err);
    ok (p && zpar__sweep_param_count (p) == 1000000000000ULL, "range of 10^12 values is lazy");
    is_str (zpar__sweep_param_value (p, 999999999999ULL, buf, sizeof (buf), &t), "999999999999",
            "its last value");
    zpar__sweep_param_destroy (p);

    /* bad ranges */
    static const struct {
        const char *a, *b, *c, *msg;
    } bad[] = {
        {"0", "10", "0", "step is 0"},    {"0", "10", "0.0", "step is 0"},
        {"5", "1", NULL, "is empty"},     {"0", "1", "-0.1", "is empty"},
        {"a", "1", NULL, "not a number"}, {"0", "1", "x", "not a number"},
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        err.text[0] = '\0';
        p = zpar__sweep_param_range_create ("x", bad[i].a, bad[i].b, bad[i].c, &err);
        ok (p == NULL && errno == EINVAL && strstr (err.text, bad[i].msg),
            "range [%s, %s, %s] fails: %s", bad[i].a, bad[i].b, bad[i].c ? bad[i].c : "-",
            err.text);
    }

    p = zpar__sweep_param_linspace_create ("x", 0, 1, 5, &err);
    is_str (values (p), "0 0.25 0.5 0.75 1", "linspace [0, 1, 5]");
    zpar__sweep_param_destroy (p);
    p = zpar__sweep_param_linspace_create ("x", 0, 1, 11, &err);
    is_str (values (p), "0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1",
            "linspace [0, 1, 11] has short decimals");
    zpar__sweep_param_destroy (p);
    p = zpar__sweep_param_linspace_create ("x", 2, 2, 1, &err);
    is_str (values (p), "2", "linspace with one value");
    zpar__sweep_param_destroy (p);
    p = zpar__sweep_param_logspace_create ("x", -3, 2, 6, &err);
    is_str (values (p), "0.001 0.01 0.1 1 10 100", "logspace [-3, 2, 6]");
    zpar__sweep_param_destroy (p);
    ok (zpar__sweep_param_linspace_create ("x", 0, 1, 0, &err) == NULL && errno == EINVAL &&
            strstr (err.text, "at least 1"),
        "linspace count 0 fails: %s", err.text);
    ok (zpar__sweep_param_logspace_create ("x", 0, 400, 3, &err) == NULL && errno == EINVAL,
        "logspace exponent 400 fails: %s", err.text);

    p = zpar__sweep_param_list_create ("s");
    ok (zpar__sweep_param_list_append (p, "a b", ZPAR_SWEEP_STRING) == 0 &&
            zpar__sweep_param_list_append (p, "2", ZPAR_SWEEP_INT) == 0,
        "list append");
    is_str (zpar__sweep_param_value (p, 0, buf, sizeof (buf), &t), "a b", "list value 0");
    ok (t == ZPAR_SWEEP_STRING, "list value 0 is a string");
    zpar__sweep_param_value (p, 1, buf, sizeof (buf), &t);
    ok (t == ZPAR_SWEEP_INT, "list value 1 is an int");
    zpar__sweep_param_destroy (p);
    zpar__sweep_param_destroy (NULL);
    ok (1, "destroy (NULL) is harmless");
}

static zpar_sweep_param_t *list (const char *name, const char *csv)
{
    zpar_sweep_param_t *p = zpar__sweep_param_list_create (name);
    char *copy = strdup (csv), *save = NULL;
    for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
        zpar__sweep_param_list_append (p, tok, ZPAR_SWEEP_STRING);
    free (copy);
    return p;
}

/* All points of s as "v1/v2@index;..." */
static char *points (const zpar_sweep_space_t *s)
{
    static char out[4096];
    zpar_sweep_iter_t *it = zpar__sweep_iter_create (s);
    const zpar_sweep_point_t *pt;
    out[0] = '\0';
    while ((pt = zpar__sweep_iter_next (it))) {
        char one[128] = "";
        for (size_t i = 0; i < pt->nvalues; i++) {
            strcat (one, i ? "/" : "");
            strcat (one, pt->values[i]);
        }
        snprintf (out + strlen (out), sizeof (out) - strlen (out), "%s%s@%llu", out[0] ? ";" : "",
                  one, (unsigned long long)pt->index);
    }
    zpar__sweep_iter_destroy (it);
    return out;
}

static void test_spaces (void)
{
    zpar_error_t err = {{0}};
    zpar_sweep_space_t *s;
    zpar_sweep_param_t *p;
    zpar_sweep_iter_t *it;
    const zpar_sweep_point_t *pt;
    int excl;

    s = zpar__sweep_space_create (ZPAR_SWEEP_PRODUCT);
    p = list ("a", "1,2");
    ok (zpar__sweep_space_add (s, &p, &err) == 0 && p == NULL, "add takes ownership");
    p = list ("b", "x,y,z");
    zpar__sweep_space_add (s, &p, &err);
    p = list ("a", "9");
    ok (zpar__sweep_space_add (s, &p, &err) < 0 && errno == EEXIST && p != NULL,
        "duplicate name refused, caller keeps the parameter");
    zpar__sweep_param_destroy (p);
    ok (zpar__sweep_iter_create (s) == NULL && errno == EBUSY, "iterating before seal: EBUSY");
    ok (zpar__sweep_space_seal (s, &err) == 0, "seal");
    is_int (zpar__sweep_space_size (s), 6, "product size 2x3");
    is_str (points (s), "1/x@0;1/y@1;1/z@2;2/x@3;2/y@4;2/z@5", "product: last varies fastest");
    p = list ("c", "q");
    ok (zpar__sweep_space_add (s, &p, &err) < 0 && errno == EBUSY, "add after seal: EBUSY");
    zpar__sweep_param_destroy (p);
    ok (zpar__sweep_space_exclude (s, 1, (size_t[]){0}, (const char *[]){"1"}, &err) < 0 &&
            errno == EBUSY,
        "exclude after seal: EBUSY");
    zpar__sweep_space_destroy (s);

    /* exclusions */
    s = zpar__sweep_space_create (ZPAR_SWEEP_PRODUCT);
    p = list ("a", "1,2,3");
    zpar__sweep_space_add (s, &p, &err);
    p = list ("b", "x,y");
    zpar__sweep_space_add (s, &p, &err);
    ok (zpar__sweep_space_exclude (s, 2, (size_t[]){0, 1}, (const char *[]){"2", "y"}, &err) == 0 &&
            zpar__sweep_space_exclude (s, 1, (size_t[]){0}, (const char *[]){"3"}, &err) == 0,
        "add two exclusions");
    ok (zpar__sweep_space_exclude (s, 0, NULL, NULL, &err) < 0 && errno == EINVAL,
        "empty exclusion refused");
    zpar__sweep_space_seal (s, &err);
    is_str (points (s), "1/x@0;1/y@1;2/x@2", "exclude skips points, indexes stay stable");
    is_int (zpar__sweep_space_count (s), 3, "count after exclusion");
    is_int (zpar__sweep_space_size (s), 6, "size before exclusion");
    it = zpar__sweep_iter_create (s);
    pt = zpar__sweep_iter_at (it, 3, &excl);
    ok (pt && excl && strcmp (pt->values[0], "2") == 0 && strcmp (pt->values[1], "y") == 0,
        "iter_at reaches an excluded point and says so");
    ok (zpar__sweep_iter_at (it, 6, NULL) == NULL && errno == ERANGE, "iter_at past the end");
    zpar__sweep_iter_seek (it, 2);
    pt = zpar__sweep_iter_next (it);
    ok (pt && pt->index == 2, "seek then next");
    ok (zpar__sweep_iter_next (it) == NULL, "then the end (3..5 excluded)");
    zpar__sweep_iter_destroy (it);
    zpar__sweep_space_destroy (s);

    /* zip */
    s = zpar__sweep_space_create (ZPAR_SWEEP_ZIP);
    p = list ("a", "1,2,3");
    zpar__sweep_space_add (s, &p, &err);
    p = zpar__sweep_param_range_create ("b", "10", "40", "10", &err);
    zpar__sweep_space_add (s, &p, &err);
    ok (zpar__sweep_space_seal (s, &err) == 0, "zip of equal lengths seals");
    is_str (points (s), "1/10@0;2/20@1;3/30@2", "zip pairs values");
    zpar__sweep_space_destroy (s);

    s = zpar__sweep_space_create (ZPAR_SWEEP_ZIP);
    p = list ("a", "1,2,3");
    zpar__sweep_space_add (s, &p, &err);
    p = list ("b", "1,2");
    zpar__sweep_space_add (s, &p, &err);
    ok (zpar__sweep_space_seal (s, &err) < 0 && errno == EINVAL &&
            strstr (err.text, "equal length") && strstr (err.text, "'b' has 2"),
        "zip of unequal lengths fails: %s", err.text);
    zpar__sweep_space_destroy (s);

    s = zpar__sweep_space_create (ZPAR_SWEEP_PRODUCT);
    ok (zpar__sweep_space_seal (s, &err) < 0 && strstr (err.text, "no parameters"),
        "no parameters fails: %s", err.text);
    zpar__sweep_space_destroy (s);

    s = zpar__sweep_space_create (ZPAR_SWEEP_PRODUCT);
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf (name, sizeof (name), "p%d", i);
        p = zpar__sweep_param_range_create (name, "0", "100000000000", NULL, &err);
        zpar__sweep_space_add (s, &p, &err);
    }
    ok (zpar__sweep_space_seal (s, &err) < 0 && errno == EOVERFLOW, "10^55 points: EOVERFLOW");
    zpar__sweep_space_destroy (s);
    ok (zpar__sweep_space_create ((zpar_sweep_combine_t)7) == NULL && errno == EINVAL,
        "bad combine refused");
    zpar__sweep_space_destroy (NULL);
    zpar__sweep_iter_destroy (NULL);
    ok (zpar__sweep_iter_next (NULL) == NULL, "NULL iterator is harmless");
}

static void test_lazy (void)
{
    zpar_error_t err = {{0}};
    zpar_sweep_space_t *s = zpar__sweep_space_create (ZPAR_SWEEP_PRODUCT);
    zpar_sweep_param_t *p;
    zpar_sweep_iter_t *it;
    const zpar_sweep_point_t *pt;
    struct mallinfo2 m0, m1, m2;
    uint64_t n = 0, last = 0;
    int order = 1;
    clock_t c0;

    m0 = mallinfo2 ();
    p = zpar__sweep_param_range_create ("a", "0", "100", NULL, &err);
    zpar__sweep_space_add (s, &p, &err);
    p = zpar__sweep_param_linspace_create ("b", 0, 1, 100, &err);
    zpar__sweep_space_add (s, &p, &err);
    p = list ("c", "u,v,w,x,y,z,q,r,s,t");
    zpar__sweep_space_add (s, &p, &err);
    zpar__sweep_space_exclude (s, 1, (size_t[]){2}, (const char *[]){"q"}, &err);
    zpar__sweep_space_seal (s, &err);
    it = zpar__sweep_iter_create (s);
    m1 = mallinfo2 ();
    ok (m1.uordblks - m0.uordblks < 4096, "a 100,000-point space takes %zu bytes",
        (size_t)(m1.uordblks - m0.uordblks));
    is_int (zpar__sweep_space_size (s), 100000, "size 100,000");
    c0 = clock ();
    pt = zpar__sweep_iter_next (it);
    ok (pt && (double)(clock () - c0) / CLOCKS_PER_SEC < 0.01, "first point at once");
    while (pt) {
        if (n && pt->index <= last)
            order = 0;
        last = pt->index;
        n++;
        pt = zpar__sweep_iter_next (it);
    }
    m2 = mallinfo2 ();
    is_int (n, 90000, "90,000 points after excluding c=q");
    ok (order, "indexes increase");
    ok (m2.uordblks == m1.uordblks, "iterating allocated nothing");
    ok ((double)(clock () - c0) / CLOCKS_PER_SEC < 1.0 * time_scale (), "iterated in %.3f s",
        (double)(clock () - c0) / CLOCKS_PER_SEC);
    pt = zpar__sweep_iter_at (it, 12345, NULL);
    ok (pt && strcmp (pt->values[0], "12") == 0 &&
            strcmp (pt->values[1], "0.3434343434343434") == 0 && strcmp (pt->values[2], "z") == 0,
        "point 12345 = (12, 34/99, z) by mixed-radix digits: %s %s %s", pt->values[0],
        pt->values[1], pt->values[2]);
    zpar__sweep_iter_destroy (it);
    zpar__sweep_space_destroy (s);
}

/* interpolated values print as the decimals a user expects, while true
 * fractions keep every digit */
static void test_linspace_noise (void)
{
    zpar_sweep_param_t *p = zpar__sweep_param_linspace_create ("r", 2.8, 4.0, 25, NULL);
    zpar_sweep_param_t *q = zpar__sweep_param_linspace_create ("t", 0, 1, 4, NULL);
    char buf[64];
    zpar_sweep_vtype_t t;
    is_str (zpar__sweep_param_value (p, 1, buf, sizeof (buf), &t), "2.85",
            "linspace 2.8..4 step 1 is 2.85");
    is_str (zpar__sweep_param_value (p, 5, buf, sizeof (buf), &t), "3.05",
            "linspace 2.8..4 step 5 is 3.05");
    is_str (zpar__sweep_param_value (q, 1, buf, sizeof (buf), &t), "0.3333333333333333",
            "1/3 keeps full precision");
    zpar__sweep_param_destroy (p);
    zpar__sweep_param_destroy (q);
}

int main (void)
{
    plan (NO_PLAN);
    test_linspace_noise ();
    test_number_format ();
    test_number_parse ();
    test_forms ();
    test_spaces ();
    test_lazy ();
    return done_testing ();
}
