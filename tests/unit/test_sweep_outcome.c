/* test_sweep_outcome.c - what a task's result means for its sweep point:
 * a table of statuses, signals, errors and truncations, and bad
 * parameters. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "outcome.h"
#include "tap.h"

int main (void)
{
    static const struct {
        const char *name;
        zpar_sweep_result_info_t in;
        zpar_jstate_t state;
        const char *what;  /* substring of out.what ("" : must be empty) */
        const char *error; /* exact out.error */
    } cases[] = {
        {"ok", {ZPAR_STATUS_OK, 0, 0, NULL, 0, 64, 0}, ZPAR_JSTATE_SUCCEEDED, "", ""},
        {"ok with a truncated stdout",
         {ZPAR_STATUS_OK, 0, 0, NULL, 1, 64, 0},
         ZPAR_JSTATE_SUCCEEDED,
         "",
         "stdout truncated at 64 MiB"},
        {"exit code 3",
         {ZPAR_STATUS_FAILED, 3, 0, NULL, 0, 64, 0},
         ZPAR_JSTATE_FAILED,
         "exit code 3",
         ""},
        {"killed by SIGSEGV",
         {ZPAR_STATUS_SIGNALED, -1, SIGSEGV, NULL, 0, 64, 0},
         ZPAR_JSTATE_FAILED,
         "killed by signal 11",
         ""},
        {"SIGTERM from outside: runs again",
         {ZPAR_STATUS_SIGNALED, -1, SIGTERM, NULL, 0, 64, 0},
         ZPAR_JSTATE_PENDING,
         "will run again",
         "aborted"},
        {"SIGINT from outside: runs again",
         {ZPAR_STATUS_SIGNALED, -1, SIGINT, NULL, 0, 64, 0},
         ZPAR_JSTATE_PENDING,
         "aborted before it finished",
         "aborted"},
        {"SIGHUP from outside: runs again",
         {ZPAR_STATUS_SIGNALED, -1, SIGHUP, NULL, 0, 64, 0},
         ZPAR_JSTATE_PENDING,
         "aborted",
         "aborted"},
        {"engine died: runs again, its error kept",
         {ZPAR_STATUS_ENGINE_DIED, -1, 0, "engine 3 died", 0, 64, 0},
         ZPAR_JSTATE_PENDING,
         "aborted",
         "engine 3 died"},
        {"aborted",
         {ZPAR_STATUS_ABORTED, -1, 0, NULL, 0, 64, 0},
         ZPAR_JSTATE_PENDING,
         "aborted",
         "aborted"},
        {"timeout",
         {ZPAR_STATUS_TIMEOUT, -1, SIGKILL, NULL, 0, 64, 2.5},
         ZPAR_JSTATE_FAILED,
         "timed out after 2.5s",
         "timed out after 2.5s"},
        {"timeout with an error of its own",
         {ZPAR_STATUS_TIMEOUT, -1, 0, "killed at its timeout", 0, 64, 2.5},
         ZPAR_JSTATE_FAILED,
         "timed out after 2.5s",
         "killed at its timeout"},
        {"both streams truncated and an error",
         {ZPAR_STATUS_FAILED, 1, 0, "boom", 3, 8, 0},
         ZPAR_JSTATE_FAILED,
         "exit code 1",
         "boom; stdout and stderr truncated at 8 MiB"},
        {"stderr truncated",
         {ZPAR_STATUS_FAILED, 2, 0, NULL, 2, 8, 0},
         ZPAR_JSTATE_FAILED,
         "exit code 2",
         "stderr truncated at 8 MiB"},
    };
    zpar_sweep_outcome_t out;
    zpar_sweep_result_info_t in = {0};

    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        memset (&out, 0x55, sizeof (out));
        ok (zpar__sweep_outcome (&cases[i].in, &out) == 0, "%s: 0", cases[i].name);
        ok (out.state == cases[i].state, "%s: state %s (%s)", cases[i].name,
            zpar__journal_state_name (cases[i].state), zpar__journal_state_name (out.state));
        if (cases[i].what[0])
            ok (strstr (out.what, cases[i].what) != NULL, "%s: what '%s'", cases[i].name, out.what);
        else
            ok (out.what[0] == '\0', "%s: no what ('%s')", cases[i].name, out.what);
        is_str (out.error, cases[i].error, "%s: error", cases[i].name);
    }

    /* a status with no special case: its name, and the error after it */
    in.status = ZPAR_STATUS_ERROR;
    in.error = "cannot run: no such file";
    ok (zpar__sweep_outcome (&in, &out) == 0 && out.state == ZPAR_JSTATE_FAILED &&
            strstr (out.what, zpar_status_name (ZPAR_STATUS_ERROR)) &&
            strstr (out.what, "no such file"),
        "other status: failed, what names the status and the error ('%s')", out.what);
    in.error = NULL;
    ok (zpar__sweep_outcome (&in, &out) == 0 &&
            strcmp (out.error, zpar_status_name (ZPAR_STATUS_ERROR)) == 0,
        "other status without an error: the journal's error is the status name ('%s')", out.error);

    /* a very long error is cut, not overflowed */
    {
        char big[2000];
        memset (big, 'x', sizeof (big) - 1);
        big[sizeof (big) - 1] = '\0';
        in.status = ZPAR_STATUS_FAILED;
        in.error = big;
        in.truncated = 3;
        ok (zpar__sweep_outcome (&in, &out) == 0 && strlen (out.error) < sizeof (out.error) &&
                strlen (out.what) < sizeof (out.what),
            "a 2000-byte error is cut to the buffers");
    }

    errno = 0;
    ok (zpar__sweep_outcome (NULL, &out) < 0 && errno == EINVAL, "NULL info: EINVAL");
    errno = 0;
    ok (zpar__sweep_outcome (&in, NULL) < 0 && errno == EINVAL, "NULL outcome: EINVAL");
    return done_testing ();
}
