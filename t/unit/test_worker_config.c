
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * sandboxd's pure logic: sizes, configuration lines, names the protocol
 * defines, container names and the Docker stream demultiplexer.
 */


#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "sbx_config.h"
#include "sbx_demux.h"
#include "sbx_log.h"
#include "sbx_util.h"


static void
test_sizes(void)
{
    uint64_t  v;

    ok(sbx_parse_size("0", &v) == SBX_OK && v == 0, "0 is a size");
    ok(sbx_parse_size("1024", &v) == SBX_OK && v == 1024, "plain bytes");
    ok(sbx_parse_size("64k", &v) == SBX_OK && v == 65536, "k suffix");
    ok(sbx_parse_size("256M", &v) == SBX_OK && v == 268435456,
       "M suffix, any case");
    ok(sbx_parse_size("2g", &v) == SBX_OK && v == 2147483648ULL,
       "g suffix");
    ok(sbx_parse_size("", &v) == SBX_ERR, "empty is refused");
    ok(sbx_parse_size("m", &v) == SBX_ERR, "a bare suffix is refused");
    ok(sbx_parse_size("1.5m", &v) == SBX_ERR, "fractions are refused");
    ok(sbx_parse_size("-1", &v) == SBX_ERR, "negatives are refused");
    ok(sbx_parse_size("12t", &v) == SBX_ERR, "unknown suffix");
    ok(sbx_parse_size("99999999999999999999", &v) == SBX_ERR,
       "overflow is refused");
    ok(sbx_parse_size("17179869184g", &v) == SBX_ERR,
       "overflow by the suffix is refused");
}


static void
test_config_lines(void)
{
    sbx_config_t  *c;
    char           err[256];

    c = malloc(sizeof(*c));
    sbx_config_defaults(c);

    is_int(c->redis_port, 6379, "default redis_port");
    is_int(c->output_limit, 1024 * 1024, "default output_limit 1m");
    is_int(c->socket_mode, 0660, "default socket_mode 0660");
    is_str(c->listen, "unix:/run/sandboxd/sandboxd.sock", "default listen");
    is_str(c->container_image, "ngx-sandbox/runtime:latest",
           "default image");

    ok(sbx_config_parse_line(c, "", err, sizeof(err)) == SBX_OK,
       "blank line");
    ok(sbx_config_parse_line(c, "   # comment = 1\n", err, sizeof(err))
       == SBX_OK, "comment line");
    ok(sbx_config_parse_line(c, "  redis_port =  6399 \n", err, sizeof(err))
       == SBX_OK && c->redis_port == 6399, "spaces around key and value");
    ok(sbx_config_parse_line(c, "container_memory=512m", err, sizeof(err))
       == SBX_OK && c->container_memory == 512ULL * 1024 * 1024,
       "sizes with a suffix");
    ok(sbx_config_parse_line(c, "workspace_persist_volumes = true", err,
                             sizeof(err)) == SBX_OK
       && c->workspace_persist_volumes == 1, "a boolean: true");
    ok(sbx_config_parse_line(c, "workspace_persist_volumes = Off", err,
                             sizeof(err)) == SBX_OK
       && c->workspace_persist_volumes == 0, "a boolean: off, any case");
    ok(sbx_config_parse_line(c, "workspace_persist_volumes = maybe", err,
                             sizeof(err)) == SBX_ERR
       && strstr(err, "true or false") != NULL, "not a boolean");
    ok(sbx_config_parse_line(c, "container_cpus = 0.5", err, sizeof(err))
       == SBX_OK && c->container_cpus == 0.5, "fractional cpus");
    ok(sbx_config_parse_line(c, "socket_mode = 0600", err, sizeof(err))
       == SBX_OK && c->socket_mode == 0600, "octal mode");
    ok(sbx_config_parse_line(c, "log_level = debug", err, sizeof(err))
       == SBX_OK && c->log_level == 3, "log level");
    ok(sbx_config_parse_line(c, "redis_prefix = a#b  # note", err,
                             sizeof(err)) == SBX_OK
       && strcmp(c->redis_prefix, "a#b") == 0,
       "a # after white space starts a comment");
    ok(sbx_config_parse_line(c, "listen_tcp =", err, sizeof(err)) == SBX_OK
       && c->listen_tcp[0] == '\0', "an empty value");

    ok(sbx_config_parse_line(c, "no_such_key = 1", err, sizeof(err))
       == SBX_ERR, "unknown key is refused");
    is_str(err, "unknown key \"no_such_key\"", "and named");
    ok(sbx_config_parse_line(c, "redis_port", err, sizeof(err)) == SBX_ERR,
       "a line without =");
    ok(sbx_config_parse_line(c, "redis_port = 70000", err, sizeof(err))
       == SBX_ERR, "out of range port");
    ok(sbx_config_parse_line(c, "redis_port = 12ab", err, sizeof(err))
       == SBX_ERR, "not a number");
    ok(sbx_config_parse_line(c, "container_cpus = 0", err, sizeof(err))
       == SBX_ERR, "zero cpus");
    ok(sbx_config_parse_line(c, "log_level = loud", err, sizeof(err))
       == SBX_ERR, "unknown log level");
    ok(sbx_config_parse_line(c, "socket_mode = 0999", err, sizeof(err))
       == SBX_ERR, "not octal");
    ok(sbx_config_parse_line(c, "output_limit = 1g", err, sizeof(err))
       == SBX_ERR, "output_limit above 256m");

    free(c);
}


static void
test_config_load(void)
{
    sbx_config_t  *c;
    char           err[512];
    FILE          *f;
    char           path[] = "/tmp/test_worker_config.XXXXXX";
    int            fd;

    c = malloc(sizeof(*c));

    fd = mkstemp(path);
    f = fdopen(fd, "w");
    fprintf(f, "# test\ninstance = t1\n\nredis_port = 1\nbogus = 2\n");
    fclose(f);

    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_ERR,
       "a file with an unknown key fails");
    ok(strstr(err, ":5: unknown key \"bogus\"") != NULL,
       "the error names file:line");

    f = fopen(path, "w");
    fprintf(f, "instance = t1\nredis_port = 1\n"
               "docker_host = tcp://127.0.0.1:2375\n");
    fclose(f);

    setenv("REDIS_PORT", "6391", 1);
    setenv("SANDBOXD_INSTANCE", "t2", 1);

    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_OK, "a good file");
    is_int(c->redis_port, 6391, "the seeds' variable overrides the file");
    is_str(c->instance, "t2", "SANDBOXD_<KEY> overrides the file");
    is_str(c->docker_base, "http://127.0.0.1:2375/v1.41", "tcp docker");
    is_str(c->unix_path, "/run/sandboxd/sandboxd.sock", "unix path");

    setenv("SANDBOXD_REDIS_PORT", "x", 1);
    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_ERR
       && strstr(err, "SANDBOXD_REDIS_PORT") != NULL,
       "a bad environment value is refused and named");

    unsetenv("REDIS_PORT");
    unsetenv("SANDBOXD_INSTANCE");
    unsetenv("SANDBOXD_REDIS_PORT");

    f = fopen(path, "w");
    fprintf(f, "docker_host = /var/run/docker.sock\n");
    fclose(f);
    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_ERR,
       "docker_host needs a scheme");

    ok(sbx_config_load(c, "/nonexistent/sandboxd.conf", err, sizeof(err))
       == SBX_ERR, "a missing file fails");

    f = fopen(path, "w");
    fprintf(f, "session_ttl = 330\nexec_timeout_max = 300\n"
               "cleanup_grace = 30\n");
    fclose(f);
    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_ERR
       && strstr(err, "\"session_ttl\" (330) must be greater than") != NULL,
       "session_ttl not above exec_timeout_max + cleanup_grace is refused");

    f = fopen(path, "w");
    fprintf(f, "session_ttl = 331\nexec_timeout_max = 300\n"
               "cleanup_grace = 30\n");
    fclose(f);
    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_OK,
       "session_ttl just above exec_timeout_max + cleanup_grace");

    setenv("SESSION_TTL_SECONDS", "60", 1);
    ok(sbx_config_load(c, NULL, err, sizeof(err)) == SBX_ERR
       && strstr(err, "session_ttl") != NULL,
       "the rule holds for environment values too");
    unsetenv("SESSION_TTL_SECONDS");

    f = fopen(path, "w");
    fprintf(f, "instance = a_b.c-9\n");
    fclose(f);
    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_OK,
       "instance of [A-Za-z0-9_.-]");

    f = fopen(path, "w");
    fprintf(f, "instance = a\"b\n");
    fclose(f);
    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_ERR
       && strstr(err, "\"instance\"") != NULL,
       "instance with a quote is refused");

    f = fopen(path, "w");
    fprintf(f, "instance = %065d\n", 0);
    fclose(f);
    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_ERR,
       "instance of 65 characters is refused");

    f = fopen(path, "w");
    fprintf(f, "instance =\n");
    fclose(f);
    ok(sbx_config_load(c, path, err, sizeof(err)) == SBX_ERR,
       "an empty instance is refused");

    unlink(path);
    free(c);
}


static void
test_names(void)
{
    char  big[200], name[SBX_CONTAINER_NAME_LEN + 1];

    ok(sbx_valid_docker_id("0123abcdef"), "hex docker id");
    ok(!sbx_valid_docker_id("0123ABCDEF"), "uppercase is not Docker's");
    ok(!sbx_valid_docker_id("../x"), "no path in an id");

    ok(sbx_container_name("default", "alice", "s1", name) == SBX_OK,
       "container name");
    is_str(name, "sbx-c439c3ace08363e2954c3e48",
           "sha256(instance NUL user NUL session), 24 hex digits");
    sbx_container_name("default", "alic", "es1", big);
    ok(strcmp(big, name) != 0, "the NUL separators keep names apart");
}


/* Docker frames for "hello" on stdout, "err" on stderr, "!" on stdout. */
static size_t
make_stream(uint8_t *buf)
{
    static const uint8_t  s[] =
        "\x01\x00\x00\x00\x00\x00\x00\x05hello"
        "\x02\x00\x00\x00\x00\x00\x00\x03" "err"
        "\x00\x00\x00\x00\x00\x00\x00\x02" "in"
        "\x01\x00\x00\x00\x00\x00\x00\x01!";

    memcpy(buf, s, sizeof(s) - 1);

    return sizeof(s) - 1;
}


static void
test_demux(void)
{
    sbx_demux_t  d;
    uint8_t      buf[128];
    size_t       n, i, step, all_ok;

    n = make_stream(buf);
    all_ok = 1;

    for (step = 1; step <= n; step++) {
        sbx_demux_init(&d, 1024);

        for (i = 0; i < n; i += step) {
            sbx_demux_feed(&d, buf + i, i + step <= n ? step : n - i);
        }

        if (d.out[0].len != 6 || memcmp(d.out[0].data, "hello!", 6) != 0
            || d.out[1].len != 3 || memcmp(d.out[1].data, "err", 3) != 0
            || d.out[0].truncated || d.out[1].truncated)
        {
            all_ok = 0;
            printf("# split by %zu failed\n", step);
        }

        sbx_demux_free(&d);
    }

    ok(all_ok, "the stream demultiplexes split at every chunk size");

    sbx_demux_init(&d, 4);
    sbx_demux_feed(&d, buf, n);
    ok(d.out[0].len == 4 && memcmp(d.out[0].data, "hell", 4) == 0
       && d.out[0].truncated, "stdout is cut at the limit and flagged");
    ok(d.out[1].len == 3 && !d.out[1].truncated,
       "stderr under the limit is whole");
    sbx_demux_free(&d);

    sbx_demux_init(&d, 0);
    sbx_demux_feed(&d, buf, n);
    ok(d.out[0].len == 0 && d.out[0].truncated && d.out[1].truncated,
       "a zero limit keeps nothing");
    sbx_demux_free(&d);

    sbx_demux_init(&d, 100);
    for (i = 0; i < n; i++) {
        sbx_demux_feed(&d, buf + i, 1);
    }
    ok(d.out[0].len == 6 && d.out[1].len == 3, "byte by byte");
    sbx_demux_free(&d);
}


static void
test_log_escape(void)
{
    char     path[] = "/tmp/test_worker_log.XXXXXX", buf[512];
    FILE    *f;
    size_t   n;
    int      fd;

    fd = mkstemp(path);
    close(fd);

    ok(sbx_log_open(path) == SBX_OK, "log to a file");
    sbx_log_write(SBX_LOG_INFO, "cmd: %s", "a\n2026-01-01 [error] x\x7f\tb");
    sbx_log_open(NULL);

    f = fopen(path, "r");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';

    ok(strstr(buf, "cmd: a\\x0a2026-01-01 [error] x\\x7f\\x09b\n")
       != NULL, "control characters are written as \\xNN");
    ok(strchr(buf, '\n') == buf + n - 1, "one line only");

    unlink(path);
}


int
main(void)
{
    test_sizes();
    test_config_lines();
    test_config_load();
    test_names();
    test_demux();
    test_log_escape();

    return done_testing();
}
