/* task_res.c - zpar_resources_set (the parser is in libzpar_common:
 * src/common/res_text.c, shared with the sweep). */
#include "config.h"

#include "proto_task.h"
#include "zpar.h"

ZPAR_API int zpar_resources_set (zpar_resources_t *r, const char *key, const char *value,
                                 zpar_error_t *err)
{
    return zpar__resources_set (r, key, value, err);
}
