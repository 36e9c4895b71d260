
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbx_config.h"
#include "sbx_log.h"
#include "sbx_util.h"


typedef enum {
    SBX_CONF_STR,
    SBX_CONF_UINT,
    SBX_CONF_SIZE,
    SBX_CONF_CPUS,
    SBX_CONF_MODE,
    SBX_CONF_LEVEL,
    SBX_CONF_BOOL
} sbx_conf_type_e;


typedef struct {
    const char       *name;
    const char       *env;        /* the seeds' variable, or NULL */
    sbx_conf_type_e   type;
    size_t            offset;
    const char       *dflt;
    uint64_t          min;
    uint64_t          max;
} sbx_conf_key_t;


#define SBX_OFF(f)  offsetof(sbx_config_t, f)
#define SBX_U32     0xffffffffULL


static const sbx_conf_key_t  sbx_conf_keys[] = {
    { "listen", NULL, SBX_CONF_STR, SBX_OFF(listen),
      "unix:/run/sandboxd/sandboxd.sock", 0, 0 },
    { "listen_tcp", NULL, SBX_CONF_STR, SBX_OFF(listen_tcp), "", 0, 0 },
    { "socket_group", NULL, SBX_CONF_STR, SBX_OFF(socket_group),
      "www-data", 0, 0 },
    { "socket_mode", NULL, SBX_CONF_MODE, SBX_OFF(socket_mode), "0660",
      0, 0777 },
    { "instance", NULL, SBX_CONF_STR, SBX_OFF(instance), "default", 0, 0 },
    { "docker_host", "DOCKER_HOST", SBX_CONF_STR, SBX_OFF(docker_host),
      "unix:///var/run/docker.sock", 0, 0 },
    /* empty: no Redis, the sessions are kept in memory (one sandboxd) */
    { "redis_host", "REDIS_HOST", SBX_CONF_STR, SBX_OFF(redis_host), "",
      0, 0 },
    { "redis_port", "REDIS_PORT", SBX_CONF_UINT, SBX_OFF(redis_port),
      "6379", 1, 65535 },
    { "redis_password", "REDIS_PASSWORD", SBX_CONF_STR,
      SBX_OFF(redis_password), "", 0, 0 },
    { "redis_db", "REDIS_DB", SBX_CONF_UINT, SBX_OFF(redis_db), "0",
      0, 65535 },
    { "redis_prefix", NULL, SBX_CONF_STR, SBX_OFF(redis_prefix), "sbx:",
      0, 0 },
    { "session_ttl", "SESSION_TTL_SECONDS", SBX_CONF_UINT,
      SBX_OFF(session_ttl), "600", 1, 365 * 86400 },
    { "container_image", "CONTAINER_IMAGE", SBX_CONF_STR,
      SBX_OFF(container_image), "ngx-sandbox/runtime:latest", 0, 0 },
    { "container_memory", "CONTAINER_MEM_LIMIT", SBX_CONF_SIZE,
      SBX_OFF(container_memory), "256m", 6 * 1024 * 1024, UINT64_MAX },
    { "container_cpus", "CONTAINER_CPU_LIMIT", SBX_CONF_CPUS,
      SBX_OFF(container_cpus), "1.0", 0, 0 },
    { "container_pids", "CONTAINER_PIDS_LIMIT", SBX_CONF_UINT,
      SBX_OFF(container_pids), "128", 1, SBX_U32 },
    { "container_nofile", NULL, SBX_CONF_UINT, SBX_OFF(container_nofile),
      "1024", 1, SBX_U32 },
    { "container_nproc", NULL, SBX_CONF_UINT, SBX_OFF(container_nproc),
      "4096", 1, SBX_U32 },
    { "container_fsize", NULL, SBX_CONF_SIZE, SBX_OFF(container_fsize),
      "128m", 1, UINT64_MAX },
    { "tmpfs_tmp_size", NULL, SBX_CONF_SIZE, SBX_OFF(tmpfs_tmp_size),
      "64m", 4096, UINT64_MAX },
    { "tmpfs_workspace_size", NULL, SBX_CONF_SIZE,
      SBX_OFF(tmpfs_workspace_size), "256m", 4096, UINT64_MAX },
    { "workspace_persist_volumes", "WORKSPACE_PERSIST_VOLUMES",
      SBX_CONF_BOOL, SBX_OFF(workspace_persist_volumes), "false", 0, 1 },
    { "output_limit", "EXEC_OUTPUT_LIMIT_BYTES", SBX_CONF_SIZE,
      SBX_OFF(output_limit), "1m", 0, 256 * 1024 * 1024 },
    { "exec_timeout_max", "EXEC_TIMEOUT_MAX_SECONDS", SBX_CONF_UINT,
      SBX_OFF(exec_timeout_max), "300", 1, 3600 },
    { "run_pool_size", "RUN_POOL_SIZE", SBX_CONF_UINT,
      SBX_OFF(run_pool_size), "2", 0, 64 },
    { "agent", NULL, SBX_CONF_STR, SBX_OFF(agent),
      "/usr/local/lib/ngx-sandbox/sbx-agent", 0, 0 },
    { "agent_dir", NULL, SBX_CONF_STR, SBX_OFF(agent_dir),
      "/run/sandboxd/agent", 0, 0 },
    { "max_connections", NULL, SBX_CONF_UINT, SBX_OFF(max_connections),
      "256", 1, 65536 },
    { "max_request_body", NULL, SBX_CONF_SIZE, SBX_OFF(max_request_body),
      "64m", 0, 1024 * 1024 * 1024 },
    { "idle_timeout", NULL, SBX_CONF_UINT, SBX_OFF(idle_timeout), "75",
      1, 86400 },
    { "shutdown_grace", NULL, SBX_CONF_UINT, SBX_OFF(shutdown_grace), "10",
      0, 86400 },
    { "cleanup_interval", "CLEANUP_INTERVAL_SECONDS", SBX_CONF_UINT,
      SBX_OFF(cleanup_interval), "60", 0, 86400 },
    { "cleanup_grace", NULL, SBX_CONF_UINT, SBX_OFF(cleanup_grace), "30",
      0, 86400 },
    { "cleanup_max_container_age", "CLEANUP_MAX_CONTAINER_AGE_SECONDS",
      SBX_CONF_UINT, SBX_OFF(cleanup_max_container_age), "900", 0,
      365 * 86400 },
    { "cleanup_volume_max_idle", NULL, SBX_CONF_UINT,
      SBX_OFF(cleanup_volume_max_idle), "604800", 0, 3650 * 86400 },
    { "max_sessions_per_user", "MAX_SESSIONS_PER_USER", SBX_CONF_UINT,
      SBX_OFF(max_sessions_per_user), "16", 0, 1000000 },
    { "max_concurrent_execs_per_user", "MAX_CONCURRENT_EXECS_PER_USER",
      SBX_CONF_UINT, SBX_OFF(max_concurrent_execs_per_user), "8", 0,
      1000000 },
    { "max_containers", "MAX_CONTAINERS", SBX_CONF_UINT,
      SBX_OFF(max_containers), "256", 0, 1000000 },
    { "task_workers", "TASK_WORKERS", SBX_CONF_UINT, SBX_OFF(task_workers),
      "4", 1, 64 },
    { "max_tasks_per_user", "MAX_TASKS_PER_USER", SBX_CONF_UINT,
      SBX_OFF(max_tasks_per_user), "16", 0, SBX_U32 },
    { "task_ttl", "TASK_TTL_SECONDS", SBX_CONF_UINT, SBX_OFF(task_ttl),
      "86400", 60, 30 * 86400 },
    { "callback_allow", "CALLBACK_ALLOW", SBX_CONF_STR,
      SBX_OFF(callback_allow), "", 0, 0 },
    { "callback_secret", "CALLBACK_SECRET", SBX_CONF_STR,
      SBX_OFF(callback_secret), "", 0, 0 },
    { "callback_retries", NULL, SBX_CONF_UINT, SBX_OFF(callback_retries),
      "5", 0, 20 },
    { "callback_timeout", NULL, SBX_CONF_UINT, SBX_OFF(callback_timeout),
      "10", 1, 300 },
    { "install_image", NULL, SBX_CONF_STR, SBX_OFF(install_image), "",
      0, 0 },
    { "install_network", NULL, SBX_CONF_STR,
      SBX_OFF(install_network), "none", 0, 0 },
    { "install_proxy", NULL, SBX_CONF_STR, SBX_OFF(install_proxy),
      "", 0, 0 },
    { "install_pip_index_url", NULL, SBX_CONF_STR,
      SBX_OFF(install_pip_index_url), "", 0, 0 },
    { "install_npm_registry", NULL, SBX_CONF_STR,
      SBX_OFF(install_npm_registry), "", 0, 0 },
    { "install_wheelhouse", NULL, SBX_CONF_STR, SBX_OFF(install_wheelhouse),
      "", 0, 0 },
    { "install_npm_cache", NULL, SBX_CONF_STR, SBX_OFF(install_npm_cache),
      "", 0, 0 },
    { "install_timeout", NULL, SBX_CONF_UINT, SBX_OFF(install_timeout),
      "300", 1, 3600 },
    { "install_memory", NULL, SBX_CONF_SIZE, SBX_OFF(install_memory), "1g",
      64 * 1024 * 1024, UINT64_MAX },
    { "audit_log", "AUDIT_LOG", SBX_CONF_STR, SBX_OFF(audit_log), "stderr",
      0, 0 },
    { "log_level", "LOG_LEVEL", SBX_CONF_LEVEL, SBX_OFF(log_level), "info",
      0, 0 },
    { "log_file", NULL, SBX_CONF_STR, SBX_OFF(log_file), "", 0, 0 },
    { "pid_file", NULL, SBX_CONF_STR, SBX_OFF(pid_file), "", 0, 0 },
    { NULL, NULL, 0, 0, NULL, 0, 0 }
};


static const sbx_conf_key_t *
sbx_config_find(const char *name, size_t len)
{
    const sbx_conf_key_t  *k;

    for (k = sbx_conf_keys; k->name; k++) {
        if (strlen(k->name) == len && strncmp(k->name, name, len) == 0) {
            return k;
        }
    }

    return NULL;
}


static int
sbx_config_parse_cpus(const char *value, double *out)
{
    char    *end;
    double   v;

    errno = 0;
    v = strtod(value, &end);

    if (errno != 0 || end == value || *end != '\0' || !(v >= 0.01)
        || v > 1024)
    {
        return SBX_ERR;
    }

    *out = v;

    return SBX_OK;
}


/*
 * Stores value into the key's field.  Returns SBX_ERR with a message in err
 * when the value does not parse or is out of range.
 */
static int
sbx_config_set(sbx_config_t *conf, const sbx_conf_key_t *k,
    const char *value, char *err, size_t errlen)
{
    char      *field, *end;
    uint64_t   v;
    int        rc, level;

    field = (char *) conf + k->offset;

    switch (k->type) {
    case SBX_CONF_STR:
        if (strlen(value) >= SBX_CONF_STR_MAX) {
            snprintf(err, errlen, "value of \"%s\" is too long", k->name);
            return SBX_ERR;
        }
        strcpy(field, value);
        return SBX_OK;

    case SBX_CONF_CPUS:
        if (sbx_config_parse_cpus(value, (double *) field) != SBX_OK) {
            snprintf(err, errlen, "invalid value \"%s\" of \"%s\" "
                     "(a number of CPUs, 0.01 .. 1024)", value, k->name);
            return SBX_ERR;
        }
        return SBX_OK;

    case SBX_CONF_LEVEL:
        level = sbx_log_level_parse(value);
        if (level < 0) {
            snprintf(err, errlen, "invalid value \"%s\" of \"%s\" "
                     "(error, warn, info or debug)", value, k->name);
            return SBX_ERR;
        }
        *(uint64_t *) field = (uint64_t) level;
        return SBX_OK;

    case SBX_CONF_BOOL:
        if (strcasecmp(value, "true") == 0 || strcasecmp(value, "on") == 0
            || strcasecmp(value, "yes") == 0 || strcmp(value, "1") == 0)
        {
            *(uint64_t *) field = 1;
            return SBX_OK;
        }

        if (strcasecmp(value, "false") == 0 || strcasecmp(value, "off") == 0
            || strcasecmp(value, "no") == 0 || strcmp(value, "0") == 0)
        {
            *(uint64_t *) field = 0;
            return SBX_OK;
        }

        snprintf(err, errlen, "invalid value \"%s\" of \"%s\" (true or "
                 "false)", value, k->name);
        return SBX_ERR;

    case SBX_CONF_MODE:
        errno = 0;
        v = strtoull(value, &end, 8);
        rc = (errno == 0 && end != value && *end == '\0') ? SBX_OK : SBX_ERR;
        break;

    case SBX_CONF_SIZE:
        rc = sbx_parse_size(value, &v);
        break;

    default:
        rc = sbx_parse_uint(value, &v);
        break;
    }

    if (rc != SBX_OK || v < k->min || v > k->max) {
        snprintf(err, errlen, "invalid value \"%s\" of \"%s\" (%llu .. %llu)",
                 value, k->name, (unsigned long long) k->min,
                 (unsigned long long) k->max);
        return SBX_ERR;
    }

    *(uint64_t *) field = v;

    return SBX_OK;
}


void
sbx_config_defaults(sbx_config_t *conf)
{
    const sbx_conf_key_t  *k;
    char                   err[256];

    memset(conf, 0, sizeof(*conf));

    for (k = sbx_conf_keys; k->name; k++) {
        (void) sbx_config_set(conf, k, k->dflt, err, sizeof(err));
    }
}


int
sbx_config_parse_line(sbx_config_t *conf, const char *line, char *err,
    size_t errlen)
{
    const sbx_conf_key_t  *k;
    const char            *p, *name, *eq, *value, *end;
    char                   buf[SBX_CONF_STR_MAX];
    size_t                 nlen, vlen;

    for (p = line; isspace((unsigned char) *p); p++) {
        /* skip */
    }

    if (*p == '\0' || *p == '#') {
        return SBX_OK;
    }

    name = p;
    eq = strchr(p, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "expected \"key = value\"");
        return SBX_ERR;
    }

    for (end = eq; end > name && isspace((unsigned char) end[-1]); end--) {
        /* trim */
    }

    nlen = (size_t) (end - name);

    for (value = eq + 1; isspace((unsigned char) *value); value++) {
        /* skip */
    }

    /* a "#" after white space starts a comment */
    for (end = value; *end; end++) {
        if (*end == '#' && end > value && isspace((unsigned char) end[-1])) {
            break;
        }
    }

    for ( /* void */ ; end > value && isspace((unsigned char) end[-1]);
         end--)
    {
        /* trim */
    }

    vlen = (size_t) (end - value);

    k = sbx_config_find(name, nlen);
    if (k == NULL) {
        snprintf(err, errlen, "unknown key \"%.*s\"", (int) nlen, name);
        return SBX_ERR;
    }

    if (vlen >= sizeof(buf)) {
        snprintf(err, errlen, "value of \"%s\" is too long", k->name);
        return SBX_ERR;
    }

    memcpy(buf, value, vlen);
    buf[vlen] = '\0';

    return sbx_config_set(conf, k, buf, err, errlen);
}


static int
sbx_config_read_file(sbx_config_t *conf, const char *path, char *err,
    size_t errlen)
{
    FILE    *f;
    char    *line, msg[512];
    size_t   cap;
    ssize_t  n;
    int      lineno, rc;

    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return SBX_ERR;
    }

    line = NULL;
    cap = 0;
    lineno = 0;
    rc = SBX_OK;

    while ((n = getline(&line, &cap, f)) != -1) {
        lineno++;

        if (sbx_config_parse_line(conf, line, msg, sizeof(msg)) != SBX_OK) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = SBX_ERR;
            break;
        }
    }

    free(line);
    fclose(f);

    return rc;
}


static int
sbx_config_read_env(sbx_config_t *conf, char *err, size_t errlen)
{
    const sbx_conf_key_t  *k;
    const char            *value;
    char                   var[128], msg[512];
    size_t                 i;

    for (k = sbx_conf_keys; k->name; k++) {
        /* the seeds' name first, the SANDBOXD_ name wins */
        if (k->env != NULL && (value = getenv(k->env)) != NULL) {
            if (sbx_config_set(conf, k, value, msg, sizeof(msg)) != SBX_OK) {
                snprintf(err, errlen, "environment %s: %s", k->env, msg);
                return SBX_ERR;
            }
        }

        snprintf(var, sizeof(var), "SANDBOXD_%s", k->name);
        for (i = 9; var[i]; i++) {
            var[i] = (char) toupper((unsigned char) var[i]);
        }

        value = getenv(var);
        if (value != NULL
            && sbx_config_set(conf, k, value, msg, sizeof(msg)) != SBX_OK)
        {
            snprintf(err, errlen, "environment %s: %s", var, msg);
            return SBX_ERR;
        }
    }

    return SBX_OK;
}


/* Computes the unix listener path and the Docker endpoint. */
static int
sbx_config_derive(sbx_config_t *conf, char *err, size_t errlen)
{
    const char  *p;

    p = conf->listen;
    if (strncmp(p, "unix:", 5) == 0) {
        p += 5;
    }

    if (p[0] != '/') {
        snprintf(err, errlen, "\"listen\" must be unix:/absolute/path");
        return SBX_ERR;
    }

    snprintf(conf->unix_path, sizeof(conf->unix_path), "%s", p);

    if (strncmp(conf->docker_host, "unix://", 7) == 0
        && conf->docker_host[7] == '/')
    {
        snprintf(conf->docker_socket, sizeof(conf->docker_socket), "%s",
                 conf->docker_host + 7);
        snprintf(conf->docker_base, sizeof(conf->docker_base),
                 "http://localhost/v1.41");

    } else if (strncmp(conf->docker_host, "tcp://", 6) == 0
               && conf->docker_host[6] != '\0'
               && strchr(conf->docker_host + 6, '/') == NULL)
    {
        conf->docker_socket[0] = '\0';
        snprintf(conf->docker_base, sizeof(conf->docker_base),
                 "http://%.900s/v1.41", conf->docker_host + 6);

    } else {
        snprintf(err, errlen, "\"docker_host\" must be unix:///path or "
                 "tcp://host:port");
        return SBX_ERR;
    }

    if (conf->container_image[0] == '\0') {
        snprintf(err, errlen, "\"container_image\" must not be empty");
        return SBX_ERR;
    }

    return SBX_OK;
}


/* An http(s) URL the install helper is handed, or "". */
static int
sbx_config_url_ok(const char *url)
{
    const char  *p;

    if (url[0] == '\0') {
        return 1;
    }

    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    {
        return 0;
    }

    for (p = url; *p; p++) {
        if ((unsigned char) *p <= 0x20 || *p == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/*
 * The install helper: never the host's network (every service on the
 * host's loopback would be in reach) nor another container's; host paths
 * absolute.
 */
static int
sbx_config_check_install(const sbx_config_t *conf, char *err, size_t errlen)
{
    const char  *net = conf->install_network;

    if (net[0] == '\0' || strcmp(net, "host") == 0
        || strncmp(net, "container:", 10) == 0)
    {
        snprintf(err, errlen, "\"install_network\" must be \"none\" or "
                 "the name of a Docker network (not host or container:)");
        return SBX_ERR;
    }

    if (!sbx_config_url_ok(conf->install_proxy)
        || !sbx_config_url_ok(conf->install_pip_index_url)
        || !sbx_config_url_ok(conf->install_npm_registry))
    {
        snprintf(err, errlen, "\"install_proxy\", "
                 "\"install_pip_index_url\" and \"install_npm_registry\" "
                 "must be http:// or https:// URLs");
        return SBX_ERR;
    }

    if ((conf->install_wheelhouse[0] != '\0'
         && conf->install_wheelhouse[0] != '/')
        || (conf->install_npm_cache[0] != '\0'
            && conf->install_npm_cache[0] != '/'))
    {
        snprintf(err, errlen, "\"install_wheelhouse\" and "
                 "\"install_npm_cache\" must be absolute paths");
        return SBX_ERR;
    }

    return SBX_OK;
}


/*
 * Rules between keys, and the syntax of instance (a Docker label value and
 * part of every log line, so kept to a safe alphabet).
 */
static int
sbx_config_check(const sbx_config_t *conf, char *err, size_t errlen)
{
    const char  *p;
    size_t       len;

    len = strlen(conf->instance);

    for (p = conf->instance; *p; p++) {
        if (!isalnum((unsigned char) *p) && *p != '_' && *p != '.'
            && *p != '-')
        {
            break;
        }
    }

    if (len == 0 || len > SBX_INSTANCE_MAX || *p != '\0') {
        snprintf(err, errlen, "invalid value \"%.64s\" of \"instance\" "
                 "(1..%d characters of [A-Za-z0-9_.-])", conf->instance,
                 SBX_INSTANCE_MAX);
        return SBX_ERR;
    }

    /*
     * The record of a session is refreshed when an exec starts (and again
     * when it ends); were it to expire during the longest exec, the cleanup
     * loop would remove the container under the running command.
     */
    if (conf->session_ttl <= conf->exec_timeout_max + conf->cleanup_grace) {
        snprintf(err, errlen, "\"session_ttl\" (%llu) must be greater than "
                 "\"exec_timeout_max\" + \"cleanup_grace\" (%llu + %llu), "
                 "or the cleanup loop may remove a container while a "
                 "command runs in it",
                 (unsigned long long) conf->session_ttl,
                 (unsigned long long) conf->exec_timeout_max,
                 (unsigned long long) conf->cleanup_grace);
        return SBX_ERR;
    }

    /* Docker bind-mounts the agent from there: host paths, absolute */
    if ((strcmp(conf->agent, "off") != 0 && conf->agent[0] != '/')
        || conf->agent_dir[0] != '/')
    {
        snprintf(err, errlen, "\"agent\" (or off) and \"agent_dir\" must "
                 "be absolute paths");
        return SBX_ERR;
    }

    /* a callback nobody can verify would be worse than none */
    if (conf->callback_allow[0] != '\0'
        && strlen(conf->callback_secret) < 16)
    {
        snprintf(err, errlen, "\"callback_allow\" needs a "
                 "\"callback_secret\" of at least 16 bytes to sign the "
                 "callbacks with");
        return SBX_ERR;
    }

    if (strcmp(conf->audit_log, "off") != 0
        && strcmp(conf->audit_log, "stderr") != 0
        && conf->audit_log[0] != '/')
    {
        snprintf(err, errlen, "\"audit_log\" must be an absolute path, "
                 "\"stderr\" or \"off\"");
        return SBX_ERR;
    }

    return sbx_config_check_install(conf, err, errlen);
}


int
sbx_config_load(sbx_config_t *conf, const char *path, char *err,
    size_t errlen)
{
    sbx_config_defaults(conf);

    if (path != NULL && sbx_config_read_file(conf, path, err, errlen)
                        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (sbx_config_read_env(conf, err, errlen) != SBX_OK) {
        return SBX_ERR;
    }

    if (sbx_config_derive(conf, err, errlen) != SBX_OK) {
        return SBX_ERR;
    }

    return sbx_config_check(conf, err, errlen);
}


void
sbx_config_diff(const sbx_config_t *a, const sbx_config_t *b,
    sbx_config_diff_pt handler, void *data)
{
    const sbx_conf_key_t  *k;
    const char            *fa, *fb;
    size_t                 size;
    int                    differ;

    for (k = sbx_conf_keys; k->name; k++) {
        fa = (const char *) a + k->offset;
        fb = (const char *) b + k->offset;

        if (k->type == SBX_CONF_STR) {
            size = SBX_CONF_STR_MAX;
            differ = strcmp(fa, fb) != 0;

        } else {
            size = k->type == SBX_CONF_CPUS ? sizeof(double)
                                            : sizeof(uint64_t);
            differ = memcmp(fa, fb, size) != 0;
        }

        if (differ) {
            handler(k->name, k->offset, size, data);
        }
    }
}
