
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
 * message for the client in err.  The version is left out: sandboxd is
 * asked for any, and the range is checked against the answer.
 */
cJSON *sbx_piston_to_run(const cJSON *piston, char *err, size_t err_len);

/*
 * Whether version satisfies a Piston (semver) range: "*", "3", "3.11",
 * "3.x", "3.11.2", "=3.11.2", "^3.8", "~3.11", ">=3", ">3", "<=4", "<4".
 */
int sbx_piston_version_match(const char *range, const char *version);


#endif /* SBX_PISTON_H */
