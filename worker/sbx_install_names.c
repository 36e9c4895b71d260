
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_install_names.h"
#include "sbx_log.h"
#include "sbx_validate.h"


#define SBX_PIP_NAME  "[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?"
#define SBX_PIP_SPEC  "(~=|==|!=|<=|>=|<|>)[0-9][A-Za-z0-9.+!_-]{0,62}" \
                      "(\\.\\*)?"
#define SBX_NPM_NAME  "[a-z0-9][a-z0-9._~-]{0,213}"


static const char  *sbx_install_patterns[] = {
    /* pip: NAME[EXTRA,...]SPEC,... without spaces, markers or URLs */
    "^" SBX_PIP_NAME "(\\[" SBX_PIP_NAME "(," SBX_PIP_NAME "){0,15}\\])?"
    "(" SBX_PIP_SPEC "(," SBX_PIP_SPEC "){0,7})?$",

    /* npm: [@scope/]name[@range-or-tag], no "/" or ":" in the range */
    "^(@" SBX_NPM_NAME "/)?" SBX_NPM_NAME
    "(@[0-9A-Za-z^~<>=*][0-9A-Za-z.^~<>=*|+-]{0,63})?$",

    /* either: a file in the installer's directory, taken for an archive */
    "\\.(whl|zip|tar|tgz|tbz|txz|tlz|tar\\.(gz|bz2|xz|lz|lzma)|egg)(@|$)"
};


static regex_t          sbx_install_re[3];
static int              sbx_install_re_ok;
static pthread_once_t   sbx_install_re_once = PTHREAD_ONCE_INIT;


static void
sbx_install_compile(void)
{
    int  i, flags;

    for (i = 0; i < 3; i++) {
        flags = REG_EXTENDED | REG_NOSUB | (i == 2 ? REG_ICASE : 0);

        if (regcomp(&sbx_install_re[i], sbx_install_patterns[i], flags)
            != 0)
        {
            sbx_log_error("cannot compile the package name pattern %d", i);
            return;
        }
    }

    sbx_install_re_ok = 1;
}


int
sbx_install_name_ok(const char *manager, const char *spec)
{
    const regex_t  *re;

    (void) pthread_once(&sbx_install_re_once, sbx_install_compile);

    if (!sbx_install_re_ok || strlen(spec) > SBX_INSTALL_PACKAGE_MAX) {
        return 0;
    }

    if (strcmp(manager, "pip") == 0) {
        re = &sbx_install_re[0];

    } else if (strcmp(manager, "npm") == 0) {
        re = &sbx_install_re[1];

        if (strstr(spec, "..") != NULL) {
            return 0;
        }

    } else {
        return 0;
    }

    return regexec(re, spec, 0, NULL, 0) == 0
           && regexec(&sbx_install_re[2], spec, 0, NULL, 0) != 0;
}
