/* local_relay.h - the relay of a local cluster's engines (`zpar cluster
 * start`): whether they go through one, and its process.
 *
 * The rule is that of `zpar run` for the controller's node (relay_node.h):
 * with o->relay (else $ZPAR_RELAY) auto, the default, the engines go
 * through one relay from ZPAR_RELAY_CONTROLLER_NODE engines (256); always;
 * never; the `pure` scheme never.  A direct engine costs the controller 7
 * connections and files and ~6.5 KiB; through the relay the controller
 * holds the relay's 7 connections and a few KiB per engine
 * (doc/benchmarks.md, "Issue 11: scale").  The relay is `zpar relay
 * --keep`: a process that runs the relay in a child tied to it and starts
 * it again when it dies (relay_node.h), until SIGTERM.
 *
 * Errors: 0 / -1 with errno and err.
 */
#ifndef ZPAR__LOCAL_RELAY_H
#define ZPAR__LOCAL_RELAY_H

#include <stddef.h>
#include <sys/types.h>

#include "launcher.h"
#include "zpar/error.h"

/* The relay's directory for the cluster of o whose engine connection file
 * is engine_path: "" (the engines connect directly), else DIR/relay, or
 * the node's relay directory (zpar__relay_dir) when DIR/relay is too long
 * for an ipc endpoint.  -1 EINVAL (a bad relay mode, with err), or what
 * reading engine_path failed with. */
int zpar__local_relay_dir (const zpar_launch_opts_t *o, const char *engine_path, char *rdir,
                           size_t size, zpar_error_t *err);

/* Start `self relay --keep` for rdir in the background, its output in
 * o->dir/relay.log, tied to tie_fd when > 0 (subproc.h).  Its pid, or -1
 * with err. */
pid_t zpar__local_relay_spawn (const char *self, const zpar_launch_opts_t *o,
                               const char *engine_path, const char *rdir, int tie_fd,
                               zpar_error_t *err);

/* Wait until the relay pid has bound its registrar endpoint in rdir.
 * -1 with ECHILD (it exited), ECANCELED (o->cancel), ETIMEDOUT (deadline,
 * zpar__mono_s, passed). */
int zpar__local_relay_wait (pid_t pid, const char *rdir, double deadline,
                            const zpar_launch_opts_t *o, zpar_error_t *err);

#endif
