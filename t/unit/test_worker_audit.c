
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * sandboxd's audit lines: JSON escaping, base64 for bytes that are not
 * UTF-8, nulls for a command that did not run, the time format; and the
 * configuration keys of quotas and the audit log.
 */


#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tap.h"
#include "sbx_audit.h"
#include "sbx_config.h"
#include "sbx_util.h"


static cJSON *
test_line(const sbx_audit_rec_t *rec, char **text)
{
    size_t  len;
    cJSON  *j;

    *text = sbx_audit_format(rec, &len);

    if (*text == NULL) {
        return NULL;
    }

    ok(len > 0 && (*text)[len - 1] == '\n'
       && strchr(*text, '\n') == *text + len - 1,
       "exactly one line, newline-terminated");
    ok(strlen(*text) == len, "the length is the line's");

    j = cJSON_ParseWithLength(*text, len);
    ok(cJSON_IsObject(j), "the line is a JSON object");

    return j;
}


static const char *
test_str(cJSON *j, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, name));
}


static void
test_exec_line(void)
{
    sbx_audit_rec_t   rec;
    cJSON            *j;
    char             *text;
    const char       *cmd = "echo \"a\\b\"\n\t\x01 \xc3\xa9 </script>";

    memset(&rec, 0, sizeof(rec));
    rec.time_ms = 1795435200123LL;           /* 2026-11-23T12:00:00.123Z */
    rec.instance = "default";
    rec.request_id = "3f9c0a5b2e7d41c8";
    rec.user = "alice";
    rec.op = "exec";
    rec.session = "s-1";
    rec.command = cmd;
    rec.outcome = "ok";
    rec.ran = 1;
    rec.exit_code = 3;
    rec.duration_ms = 12.3456;
    rec.op_ms = 15;

    j = test_line(&rec, &text);

    is_str(test_str(j, "time"), "2026-11-23T12:00:00.123Z",
           "time: RFC 3339 UTC with milliseconds");
    is_str(test_str(j, "request_id"), "3f9c0a5b2e7d41c8", "request_id");
    is_str(test_str(j, "user"), "alice", "user");
    is_str(test_str(j, "op"), "exec", "op");
    is_str(test_str(j, "session"), "s-1", "session");
    is_str(test_str(j, "command"), cmd, "command: escaped, read back whole");
    ok(strchr(text, '\t') == NULL && strchr(text, '\x01') == NULL,
       "no raw control character in the line");
    is_int(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "exit_code")), 3,
           "exit_code");
    ok(cJSON_IsNull(cJSON_GetObjectItem(j, "signal")), "signal null");
    ok(cJSON_IsFalse(cJSON_GetObjectItem(j, "timed_out")), "timed_out");
    ok(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "duration_ms")) == 12.346,
       "duration_ms, to the microsecond");
    is_str(test_str(j, "outcome"), "ok", "outcome");
    ok(cJSON_GetObjectItem(j, "path") == NULL, "no path for an exec");

    cJSON_Delete(j);
    free(text);

    rec.signal = "SIGKILL";
    rec.timed_out = 1;

    j = test_line(&rec, &text);
    ok(cJSON_IsNull(cJSON_GetObjectItem(j, "exit_code")),
       "killed: exit_code null");
    is_str(test_str(j, "signal"), "SIGKILL", "  the signal");
    ok(cJSON_IsTrue(cJSON_GetObjectItem(j, "timed_out")), "  timed out");

    cJSON_Delete(j);
    free(text);
}


static void
test_rejected_line(void)
{
    sbx_audit_rec_t   rec;
    cJSON            *j;
    char             *text;

    memset(&rec, 0, sizeof(rec));
    rec.time_ms = 0;
    rec.request_id = "r";
    rec.user = "bob\xff\xfe";
    rec.op = "session.create";
    rec.outcome = "session_quota_exceeded";

    j = test_line(&rec, &text);

    is_str(test_str(j, "time"), "1970-01-01T00:00:00.000Z", "the epoch");
    is_str(test_str(j, "outcome"), "session_quota_exceeded",
           "a refusal's outcome is its code");
    ok(cJSON_IsNull(cJSON_GetObjectItem(j, "session")), "session null");
    ok(cJSON_IsNull(cJSON_GetObjectItem(j, "exit_code"))
       && cJSON_IsNull(cJSON_GetObjectItem(j, "timed_out"))
       && cJSON_IsNull(cJSON_GetObjectItem(j, "duration_ms")),
       "nothing ran: exit_code, timed_out, duration_ms null");
    ok(cJSON_GetObjectItem(j, "command") == NULL, "no command member");
    is_str(test_str(j, "user"), "Ym9i//4=", "bytes that are not UTF-8: base64");
    is_str(test_str(j, "user_encoding"), "base64", "  said so");

    cJSON_Delete(j);
    free(text);
}


static void
test_config(void)
{
    sbx_config_t  *c;
    char           err[256];

    c = malloc(sizeof(*c));
    sbx_config_defaults(c);

    is_int(c->max_sessions_per_user, 16, "default max_sessions_per_user");
    is_int(c->max_concurrent_execs_per_user, 8,
           "default max_concurrent_execs_per_user");
    is_int(c->max_containers, 256, "default max_containers");
    is_str(c->audit_log, "stderr", "default audit_log");

    ok(sbx_config_parse_line(c, "max_containers = 0", err, sizeof(err))
       == SBX_OK && c->max_containers == 0, "0 is unlimited");
    ok(sbx_config_parse_line(c, "max_sessions_per_user = -1", err,
                             sizeof(err))
       == SBX_ERR, "a negative quota is refused");

    setenv("MAX_CONCURRENT_EXECS_PER_USER", "3", 1);
    setenv("SANDBOXD_AUDIT_LOG", "relative.log", 1);
    ok(sbx_config_load(c, NULL, err, sizeof(err)) == SBX_ERR
       && strstr(err, "audit_log") != NULL,
       "a relative audit_log is refused");

    setenv("SANDBOXD_AUDIT_LOG", "off", 1);
    ok(sbx_config_load(c, NULL, err, sizeof(err)) == SBX_OK,
       "audit_log off");
    is_int(c->max_concurrent_execs_per_user, 3, "the seed-style variable");

    unsetenv("MAX_CONCURRENT_EXECS_PER_USER");
    unsetenv("SANDBOXD_AUDIT_LOG");
    free(c);
}


int
main(void)
{
    test_exec_line();
    test_rejected_line();
    test_config();

    return done_testing();
}
