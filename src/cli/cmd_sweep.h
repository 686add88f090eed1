/* cmd_sweep.h - the `zpar sweep` subcommand (run, status, report).
 * Internal to src/cli; the function follows cli.h's subcommand contract
 * (argv[0] is "sweep", returns the exit code). */
#ifndef ZPAR__CMD_SWEEP_H
#define ZPAR__CMD_SWEEP_H

int zpar__cmd_sweep (int argc, char **argv);

#endif
