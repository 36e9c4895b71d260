/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Version ranges, as Piston's clients send them (npm semver's common
 * forms): what POST /run's "version" may be.
 */


#ifndef SBX_SEMVER_H
#define SBX_SEMVER_H


/*
 * Whether version satisfies range: "*", "3", "3.11", "3.x", "3.11.2",
 * "=3.11.2", "^3.8", "~3.11", ">=3", ">3", "<=4", "<4".
 */
int sbx_semver_match(const char *range, const char *version);


#endif /* SBX_SEMVER_H */
