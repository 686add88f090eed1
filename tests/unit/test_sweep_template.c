/* test_sweep_template.c - placeholders, word splitting, shell quoting. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "template.h"

static const char *names[] = {"x", "y", "index", "name"};

static char *expand (const char *text, const char *const *vals, zpar_tmpl_quote_t q)
{
    zpar_error_t err = {{0}};
    zpar_tmpl_t *t = zpar__tmpl_compile (text, names, 4, NULL, &err);
    char *s;
    if (!t) {
        diag ("compile '%s': %s", text, err.text);
        return NULL;
    }
    s = zpar__tmpl_expand (t, vals, q);
    zpar__tmpl_destroy (t);
    return s;
}

static void test_expand (void)
{
    const char *vals[] = {"1", "two words", "7", "sw"};
    static const struct {
        const char *in, *want;
    } t[] = {
        {"plain", "plain"},
        {"", ""},
        {"{x}", "1"},
        {"--x={x} --y {y}", "--x=1 --y two words"},
        {"{name}-{index}.out", "sw-7.out"},
        {"{{x}}", "{x}"},
        {"{{{x}}}", "{1}"},
        {"awk '{{print $1}}'", "awk '{print $1}'"},
        {"{x}{x}{y}", "11two words"},
    };
    for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++) {
        char *s = expand (t[i].in, vals, ZPAR_TMPL_RAW);
        is_str (s, t[i].want, "expand '%s'", t[i].in);
        free (s);
    }
    /* values are never re-parsed */
    const char *tricky[] = {"{y}", "{{", "$(rm -rf /)", "n"};
    char *s = expand ("{x}|{y}|{index}", tricky, ZPAR_TMPL_RAW);
    is_str (s, "{y}|{{|$(rm -rf /)", "values holding braces or $() are copied verbatim");
    free (s);

    zpar_error_t err = {{0}};
    zpar_tmpl_t *tp = zpar__tmpl_compile ("a {y} b", names, 4, NULL, &err);
    ok (tp && zpar__tmpl_uses (tp, 1) && !zpar__tmpl_uses (tp, 0) && !zpar__tmpl_is_literal (tp),
        "uses/is_literal");
    zpar__tmpl_destroy (tp);
    zpar__tmpl_destroy (NULL);
}

static void test_compile_errors (void)
{
    static const struct {
        const char *in;
        size_t off;
        const char *msg;
    } t[] = {
        {"run {z}", 4, "placeholder '{z}' names no parameter"},
        {"run {xx}", 4, "(did you mean '{x}'?)"},
        {"a {indx}", 2, "did you mean '{index}'"},
        {"a {x", 2, "unterminated '{'"},
        {"a } b", 2, "lone '}'"},
        {"awk '{print $1}'", 5, "is not a placeholder"},
        {"{}", 0, "is not a placeholder"},
        {"{1x}", 0, "is not a placeholder"},
        {"{x{y}}", 0, "unterminated"},
    };
    for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++) {
        zpar_error_t err = {{0}};
        size_t off = 999;
        zpar_tmpl_t *tp = zpar__tmpl_compile (t[i].in, names, 4, &off, &err);
        ok (tp == NULL && errno == EINVAL && off == t[i].off && strstr (err.text, t[i].msg),
            "compile '%s' fails at %zu: %s", t[i].in, off, err.text);
        zpar__tmpl_destroy (tp);
    }
}

static char *joined (const char *s)
{
    static char out[1024];
    char **argv = NULL;
    size_t argc = 0;
    zpar_error_t err = {{0}};
    if (zpar__tmpl_split (s, &argv, &argc, NULL, &err) < 0) {
        snprintf (out, sizeof (out), "ERROR %s", err.text);
        return out;
    }
    out[0] = '\0';
    for (size_t i = 0; i < argc; i++) {
        strcat (out, "<");
        strcat (out, argv[i]);
        strcat (out, ">");
    }
    if (argv[argc] != NULL)
        strcat (out, "NOT-TERMINATED");
    zpar__argv_destroy (argv);
    return out;
}

static void test_split (void)
{
    static const struct {
        const char *in, *want;
    } t[] = {
        {"a b  c", "<a><b><c>"},
        {"  lead\t\ttab  ", "<lead><tab>"},
        {"'a b' c", "<a b><c>"},
        {"\"a b\" 'c d'", "<a b><c d>"},
        {"x'y z'w", "<xy zw>"},
        {"'' \"\"", "<><>"},
        {"a\\ b", "<a b>"},
        {"\"q\\\"uote\" '\\n'", "<q\"uote><\\n>"},
        {"\"$HOME\" $(x) `y` ; |", "<$HOME><$(x)><`y`><;><|>"},
        {"\"a\\b\"", "<a\\b>"},
        {"Grüße 🌍", "<Grüße><🌍>"},
        {"--opt={x}", "<--opt={x}>"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++)
        is_str (joined (t[i].in), t[i].want, "split '%s'", t[i].in);
    is_str (joined ("a\nb\r\nc \\\nd"), "<a><b><c><d>", "split at newlines; \\<newline> joins");

    static const struct {
        const char *in;
        size_t off;
        const char *msg;
    } bad[] = {
        {"a 'b", 2, "unterminated single quote"},
        {"a \"b c", 2, "unterminated double quote"},
        {"a b\\", 3, "trailing backslash"},
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        char **argv = NULL;
        size_t off = 999;
        zpar_error_t err = {{0}};
        ok (zpar__tmpl_split (bad[i].in, &argv, NULL, &off, &err) < 0 && errno == EINVAL &&
                off == bad[i].off && strstr (err.text, bad[i].msg) && argv == NULL,
            "split '%s' fails at %zu: %s", bad[i].in, off, err.text);
    }
}

/* Run /bin/sh -c script and return what it printed (static buffer). */
static char *sh_output (const char *script)
{
    static char out[4096];
    int fd[2];
    pid_t pid;
    size_t n = 0;
    ssize_t r;
    int status;
    if (pipe (fd) < 0)
        return NULL;
    if ((pid = fork ()) == 0) {
        dup2 (fd[1], 1);
        close (fd[0]);
        close (fd[1]);
        execl ("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit (127);
    }
    close (fd[1]);
    while ((r = read (fd[0], out + n, sizeof (out) - 1 - n)) > 0)
        n += (size_t)r;
    close (fd[0]);
    waitpid (pid, &status, 0);
    out[n] = '\0';
    return out;
}

static void test_shell_quote (void)
{
    static const char *hostile[] = {
        "; rm -rf /",
        "$(touch /tmp/zpar-pwned)",
        "`touch /tmp/zpar-pwned`",
        "it's",
        "a \"b\" c",
        "Grüße 🌍",
        "*",
        "",
        "'",
        "''\\''",
        "$HOME ${x:-y}",
        "a\nb\tc",
        "-n",
        "\\",
        "}{",
        "&& || | > < &",
    };
    char *q = zpar__tmpl_shell_quote ("it's");
    is_str (q, "'it'\\''s'", "quote of it's");
    free (q);
    unlink ("/tmp/zpar-pwned");
    for (size_t i = 0; i < sizeof (hostile) / sizeof (hostile[0]); i++) {
        const char *vals[] = {hostile[i], "", "0", "n"};
        char *script = expand ("printf %s {x}", vals, ZPAR_TMPL_SHELL);
        char *out = script ? sh_output (script) : NULL;
        ok (out && strcmp (out, hostile[i]) == 0, "sh -c round-trips hostile value %zu", i);
        free (script);
    }
    ok (access ("/tmp/zpar-pwned", F_OK) < 0, "no injected command ran");

    /* raw mode: the hostile value stays one literal argv element */
    const char *vals[] = {"; rm -rf / $(x) `y`", "", "0", "n"};
    char *w = expand ("--arg={x}", vals, ZPAR_TMPL_RAW);
    is_str (w, "--arg=; rm -rf / $(x) `y`", "argv element holds the literal value");
    free (w);
}

static void test_suggest (void)
{
    const char *keys[] = {"params", "name", "command", "combine", "exclude"};
    is_int (zpar__tmpl_edit_distance ("parms", "params"), 1, "distance parms/params");
    is_int (zpar__tmpl_edit_distance ("", "abc"), 3, "distance ''/abc");
    is_int (zpar__tmpl_edit_distance ("kitten", "sitting"), 3, "distance kitten/sitting");
    is_str (zpar__tmpl_suggest ("parms", keys, 5), "params", "suggest params");
    is_str (zpar__tmpl_suggest ("comand", keys, 5), "command", "suggest command");
    is_str (zpar__tmpl_suggest ("exlcude", keys, 5), "exclude", "suggest exclude (swap)");
    ok (zpar__tmpl_suggest ("zzzzzz", keys, 5) == NULL, "no suggestion for zzzzzz");
    ok (zpar__tmpl_suggest ("x", keys, 5) == NULL, "no suggestion for a 1-letter word");
}

int main (void)
{
    plan (NO_PLAN);
    test_expand ();
    test_compile_errors ();
    test_split ();
    test_shell_quote ();
    test_suggest ();
    return done_testing ();
}
