
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The API bodies made from op results (sbx_render.c): the same text for
 * the module's answers and sandboxd's task callbacks.
 */


#include <stdlib.h>

#include "tap.h"
#include "sbx_render.h"


/* Renders with fn from a result's JSON text: the body, or NULL (*rc). */
static char *
render(int (*fn)(cJSON *, const uint8_t *, size_t, sbx_text_t *),
    const char *result, const char *body, size_t len, int *rc)
{
    cJSON       *json;
    sbx_text_t   text;

    json = cJSON_Parse(result);
    *rc = fn(json, (const uint8_t *) body, len, &text);
    cJSON_Delete(json);

    return *rc == SBX_RENDER_OK ? text.data : NULL;
}


static const char  exec_result[] =
    "{\"session_id\":\"s1\",\"session_created\":false,\"exit_code\":0,"
    "\"signal\":null,\"timed_out\":false,\"oom_killed\":false,"
    "\"stdout_len\":3,\"stderr_len\":2,\"stdout_truncated\":false,"
    "\"stderr_truncated\":true,\"duration_ms\":1.5,\"cpu_ms\":null,"
    "\"max_rss_kb\":null,\"via\":\"agent\"}";


int
main(void)
{
    int    rc;
    char  *s;

    s = render(sbx_render_exec, exec_result, "hi\n\xff\xfe", 5, &rc);
    is_str(s, "{\"session_id\":\"s1\",\"session_created\":false,"
              "\"exit_code\":0,\"signal\":null,\"timed_out\":false,"
              "\"oom_killed\":false,\"truncated\":true,"
              "\"stdout_truncated\":false,\"stderr_truncated\":true,"
              "\"duration_ms\":1.5,\"cpu_ms\":null,\"max_rss_kb\":null,"
              "\"via\":\"agent\",\"stdout_encoding\":\"utf8\","
              "\"stdout\":\"hi\\n\",\"stderr_encoding\":\"base64\","
              "\"stderr\":\"//4=\"}",
           "exec: scalars, then the streams, non-UTF-8 as base64");
    free(s);

    s = render(sbx_render_exec, exec_result, "hi\n", 3, &rc);
    ok(s == NULL && rc == SBX_RENDER_MALFORMED,
       "exec: lengths that do not add up to the body are malformed");

    s = render(sbx_render_run,
               "{\"language\":\"c\",\"version\":\"12\",\"run_id\":\"r\","
               "\"status\":\"ok\",\"compile\":{\"exit_code\":0,"
               "\"signal\":null,\"timed_out\":false,\"truncated\":false,"
               "\"wall_ms\":2,\"stdout_len\":0,\"stderr_len\":1},"
               "\"run\":{\"exit_code\":0,\"signal\":null,\"timed_out\":false,"
               "\"truncated\":false,\"wall_ms\":1,\"stdout_len\":2,"
               "\"stderr_len\":0}}", "wok", 3, &rc);
    is_str(s, "{\"language\":\"c\",\"version\":\"12\",\"run_id\":\"r\","
              "\"compile\":{\"exit_code\":0,\"signal\":null,"
              "\"timed_out\":false,\"oom_killed\":null,\"truncated\":false,"
              "\"cpu_ms\":null,\"wall_ms\":2,\"memory_peak_bytes\":null,"
              "\"stdout_encoding\":\"utf8\",\"stdout\":\"\","
              "\"stderr_encoding\":\"utf8\",\"stderr\":\"w\"},"
              "\"run\":{\"exit_code\":0,\"signal\":null,\"timed_out\":false,"
              "\"oom_killed\":null,\"truncated\":false,\"cpu_ms\":null,"
              "\"wall_ms\":1,\"memory_peak_bytes\":null,"
              "\"stdout_encoding\":\"utf8\",\"stdout\":\"ok\","
              "\"stderr_encoding\":\"utf8\",\"stderr\":\"\"},"
              "\"status\":\"ok\"}",
           "run: each step with its slice of the body");
    free(s);

    s = render(sbx_render_task,
               "{\"task_id\":\"t\",\"kind\":\"execute\",\"status\":\"queued\","
               "\"created_at\":1795430400123,\"started_at\":null,"
               "\"status_url\":\"/api/tasks/t\"}", NULL, 0, &rc);
    is_str(s, "{\"task_id\":\"t\",\"kind\":\"execute\",\"status\":\"queued\","
              "\"status_url\":\"/api/tasks/t\","
              "\"created_at\":\"2026-11-23T10:40:00.123Z\","
              "\"started_at\":null,\"finished_at\":null}",
           "task: times in ISO 8601 with milliseconds, null until reached");
    free(s);

    s = render(sbx_render_task,
               "{\"task_id\":\"t\",\"kind\":\"execute\",\"status\":\"failed\","
               "\"created_at\":0,\"session_id\":\"s1\","
               "\"error\":{\"code\":\"interrupted\",\"message\":\"m\"},"
               "\"callback\":{\"url\":\"http://h\",\"status\":\"failed\","
               "\"attempts\":1}}", NULL, 0, &rc);
    is_str(s, "{\"task_id\":\"t\",\"kind\":\"execute\",\"status\":\"failed\","
              "\"created_at\":\"1970-01-01T00:00:00.000Z\","
              "\"started_at\":null,\"finished_at\":null,"
              "\"session_id\":\"s1\",\"error\":{\"code\":\"interrupted\","
              "\"message\":\"m\"},\"callback\":{\"url\":\"http://h\","
              "\"status\":\"failed\",\"attempts\":1}}",
           "task: its error and callback");
    free(s);

    s = render(sbx_render_task,
               "{\"task_id\":\"t\",\"kind\":\"execute\",\"status\":\"failed\","
               "\"created_at\":1,\"result\":{\"stdout_len\":9}}", NULL, 0,
               &rc);
    ok(s == NULL && rc == SBX_RENDER_MALFORMED,
       "task: a malformed result is malformed");

    s = render(sbx_render_task, "{\"task_id\":\"t\",\"status\":\"queued\"}",
               NULL, 0, &rc);
    ok(s == NULL && rc == SBX_RENDER_MALFORMED, "task: no kind, malformed");

    s = render(sbx_render_task,
               "{\"task_id\":\"t\",\"kind\":\"run\",\"status\":\"queued\","
               "\"created_at\":-5}", NULL, 0, &rc);
    ok(s == NULL && rc == SBX_RENDER_MALFORMED,
       "task: a negative time is malformed");

    return done_testing();
}
