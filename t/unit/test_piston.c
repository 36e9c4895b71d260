
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Piston v2 execute bodies as POST /run bodies (the version ranges are
 * sandboxd's: test_worker_semver.c).
 */


#include <stdlib.h>

#include "tap.h"
#include "sbx_piston.h"


/* The /run body for a Piston body, printed; NULL (and err) if refused. */

static char *
to_run(const char *body, char *err, size_t err_len)
{
    char   *s;
    cJSON  *piston, *run;

    err[0] = '\0';
    piston = cJSON_Parse(body);
    run = sbx_piston_to_run(piston, err, err_len);
    cJSON_Delete(piston);

    if (run == NULL) {
        return NULL;
    }

    s = cJSON_PrintUnformatted(run);
    cJSON_Delete(run);

    return s;
}


static void
test_accepted(void)
{
    char  *s, err[256];

    s = to_run("{\"language\": \"python\", \"version\": \"*\", "
               "\"files\": [{\"content\": \"print(1)\"}], \"args\": [], "
               "\"compile_memory_limit\": -1, \"run_memory_limit\": -1, "
               "\"run_timeout\": 3000, \"compile_timeout\": 10000}",
               err, sizeof(err));
    is_str(s, "{\"language\":\"python\",\"files\":[{\"content\":"
              "\"print(1)\"}],\"timeout\":3,\"compile_timeout\":10,"
              "\"version\":\"*\",\"args\":[]}",
           "piston-client's body, its version passed on");
    free(s);

    s = to_run("{\"language\": \"c\", \"files\": [{\"name\": \"m.c\", "
               "\"content\": \"x\", \"encoding\": \"utf8\"}, {\"content\": "
               "\"eQ==\", \"encoding\": \"base64\"}], \"stdin\": \"in\", "
               "\"run_memory_limit\": 1048576}", err, sizeof(err));
    is_str(s, "{\"language\":\"c\",\"files\":[{\"content\":\"x\","
              "\"name\":\"m.c\"},{\"content\":\"eQ==\",\"name\":"
              "\"file1.code\",\"encoding\":\"base64\"}],"
              "\"memory_limit\":1048576,\"stdin\":\"in\"}",
           "names, encodings, stdin, memory");
    free(s);
}


static void
test_refused(void)
{
    char  *s, err[256];

    s = to_run("[]", err, sizeof(err));
    ok(s == NULL && strstr(err, "object"), "not an object");
    free(s);

    s = to_run("{\"files\": [{\"content\": \"\"}]}", err, sizeof(err));
    ok(s == NULL && strstr(err, "language"), "no language");
    free(s);

    s = to_run("{\"language\": \"python\"}", err, sizeof(err));
    ok(s == NULL && strstr(err, "files"), "no files");
    free(s);

    s = to_run("{\"language\": \"python\", \"files\": [{}]}", err,
               sizeof(err));
    ok(s == NULL && strstr(err, "files[0].content"), "no content");
    free(s);

    s = to_run("{\"language\": \"python\", \"files\": [{\"content\": \"\", "
               "\"encoding\": \"hex\"}]}", err, sizeof(err));
    ok(s == NULL && strstr(err, "encoding"), "hex");
    free(s);

    s = to_run("{\"language\": \"python\", \"files\": [{\"content\": \"\"}],"
               " \"run_timeout\": \"1s\"}", err, sizeof(err));
    ok(s == NULL && strstr(err, "run_timeout"), "a timeout not a number");
    free(s);

    s = to_run("{\"language\": \"python\", \"files\": [{\"content\": \"\"}],"
               " \"run_memory_limit\": 0}", err, sizeof(err));
    ok(s == NULL && strstr(err, "run_memory_limit"), "a memory limit of 0");
    free(s);
}


int
main(void)
{
    test_accepted();
    test_refused();

    return done_testing();
}
