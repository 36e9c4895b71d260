
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The languages of one-shot runs (docs/LANGUAGES.md): one table entry per
 * language, each backed by Debian packages of the runtime image
 * (scripts/build-image).  Commands are shell text run in /workspace, where
 * $SBX_MAIN names the entry file; the run command gets the user's
 * arguments appended, quoted.
 */


#ifndef SBX_RUNTIMES_H
#define SBX_RUNTIMES_H


#include <stddef.h>


#define SBX_RUNTIME_ALIASES_MAX  4


typedef struct {
    const char  *language;
    const char  *version;       /* of the image's Debian package */
    const char  *aliases[SBX_RUNTIME_ALIASES_MAX + 1];
    const char  *source;        /* the file name "code" is written to */
    const char  *compile;       /* NULL: nothing to compile */
    const char  *run;
} sbx_runtime_t;


/* The runtime a language name or alias names, NULL when none does. */
const sbx_runtime_t *sbx_runtime_find(const char *name);

/* The table, ended by an entry whose language is NULL. */
const sbx_runtime_t *sbx_runtimes(void);


#endif /* SBX_RUNTIMES_H */
