
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <string.h>

#include "sbx_runtimes.h"


/*
 * Versions are those of Debian bookworm's packages in the image; t/061
 * checks them against what the image runs.  TypeScript compiles to
 * .sbx-out/ and runs with Node.js.
 */
static const sbx_runtime_t  sbx_runtime_table[] = {

    { "python", "3.11.2", { "py", "python3", NULL }, "main.py", NULL,
      "python3 \"$SBX_MAIN\"" },

    { "javascript", "18.20.4", { "js", "node", "nodejs", NULL }, "main.js",
      NULL, "node \"$SBX_MAIN\"" },

    { "typescript", "4.8.4", { "ts", NULL }, "main.ts",
      "tsc --pretty false --target es2020 --module commonjs"
      " --outDir .sbx-out \"$SBX_MAIN\"",
      "node \".sbx-out/$(basename \"${SBX_MAIN%.*}\").js\"" },

    { "rust", "1.63.0", { "rs", NULL }, "main.rs",
      "rustc -o .sbx-main \"$SBX_MAIN\"", "./.sbx-main" },

    { "c", "12.2.0", { "gcc", NULL }, "main.c",
      "gcc -O2 -o .sbx-main \"$SBX_MAIN\" -lm", "./.sbx-main" },

    { "c++", "12.2.0", { "cpp", "g++", NULL }, "main.cpp",
      "g++ -O2 -o .sbx-main \"$SBX_MAIN\"", "./.sbx-main" },

    { "bash", "5.2.15", { "sh", NULL }, "main.sh", NULL,
      "bash \"$SBX_MAIN\"" },

    { NULL, NULL, { NULL }, NULL, NULL, NULL }
};


const sbx_runtime_t *
sbx_runtimes(void)
{
    return sbx_runtime_table;
}


const sbx_runtime_t *
sbx_runtime_find(const char *name)
{
    const sbx_runtime_t  *rt;
    const char * const   *a;

    for (rt = sbx_runtime_table; rt->language != NULL; rt++) {
        if (strcmp(rt->language, name) == 0) {
            return rt;
        }

        for (a = rt->aliases; *a != NULL; a++) {
            if (strcmp(*a, name) == 0) {
                return rt;
            }
        }
    }

    return NULL;
}
