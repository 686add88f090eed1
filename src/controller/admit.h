/* admit.h - whether the controller accepts new tasks.
 *
 * The hub decides (it refuses new tasks while its records cannot be saved
 * and their backlog reached its bound, records.h); the schedulers, in their
 * own threads, ask at each submission and answer a refused one at once
 * with an error result that carries the reason, without recording it.
 *
 * One controller per process: the state is process-wide (a controller's
 * threads share it).  Thread-safe; asking costs one atomic load while new
 * tasks are accepted.
 */
#ifndef ZPAR__ADMIT_H
#define ZPAR__ADMIT_H

#include <stddef.h>

/* Refuse new tasks, saying why (copied, truncated to 255 bytes); NULL:
 * accept them again. */
void zpar__admit_refuse (const char *why);

/* 0 while new tasks are accepted; 1 when they are refused, the reason
 * copied into buf (size bytes, NUL-terminated; buf may be NULL). */
int zpar__admit_refused (char *buf, size_t size);

#endif
