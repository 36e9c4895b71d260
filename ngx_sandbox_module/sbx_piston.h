
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Piston v2 compatibility, the plain-C half: a Piston execute body as a
 * POST /run body, and Piston's version ranges.  Unit tested without nginx.
 */


#ifndef SBX_PISTON_H
#define SBX_PISTON_H


#include <stddef.h>
#include <cjson/cJSON.h>


/*
 * The POST /run body for a parsed Piston execute body, or NULL with a
 * message for the client in err.  The version (a range) is passed on:
 * sandboxd resolves it.
 */
cJSON *sbx_piston_to_run(const cJSON *piston, char *err, size_t err_len);


#endif /* SBX_PISTON_H */
