
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The install op: packages from pip or npm into a session's workspace (a
 * venv at /workspace/.venv, node_modules under /workspace), put there by
 * a short-lived helper container that mounts the session's /workspace.
 * The helper has the network the operator gave installs; the session
 * keeps none.  Neither installer runs code of the packages it installs:
 * pip takes wheels only, npm runs no scripts.  The names reach the shell
 * single-quoted; they cannot hold a quote (sbx_install_names.c).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_install_names.h"
#include "sbx_op.h"
#include "sbx_quota.h"
#include "sbx_run_box.h"
#include "sbx_session.h"


#define SBX_INSTALL_MAKE_GRACE_MS  30000L   /* making the helper */
#define SBX_INSTALL_ENV_MAX        16
#define SBX_INSTALL_VARS_MAX       7        /* those made from settings */


typedef struct {
    const char  *sid;
    const char  *manager;
    cJSON       *packages;
} sbx_install_t;


/*
 * The environment of the installer: the system's PATH (a session's has the
 * workspace's bin directories first), a writable HOME, no user config.
 */
typedef struct {
    const char  *env[SBX_INSTALL_ENV_MAX];
    size_t       n;
    char         vars[SBX_INSTALL_VARS_MAX][SBX_CONF_STR_MAX + 32];
    size_t       nvars;
} sbx_install_env_t;


/*
 * pip is the image's own, run by the system's python3 in isolated mode
 * from /tmp: nothing of the workspace runs, not even the venv's python
 * (a user may have put anything there).  It installs into the venv's
 * prefix, also what the system has already (--ignore-installed), in
 * Debian's layout (lib/python3/dist-packages and bin/, both on the venv's
 * paths).
 */
static const char  *sbx_install_pip =
    "cd /tmp && { [ -d /workspace/.venv ]"
    " || /usr/bin/python3 -I -m venv --without-pip /workspace/.venv; }"
    " && touch /tmp/.sbx-before"
    " && DEB_PYTHON_INSTALL_LAYOUT=deb_system /usr/bin/python3 -I -m pip"
    " install --prefix /workspace/.venv --ignore-installed"
    " --only-binary :all: --no-input --progress-bar off"
    " --no-warn-script-location";

/* the scripts pip wrote name the python that ran it: the venv's instead */
static const char  *sbx_install_pip_after =
    " && find /workspace/.venv/bin -maxdepth 1 -type f"
    " -newer /tmp/.sbx-before -exec sed -i"
    " '1s|^#!/usr/bin/python3[0-9.]*$|#!/workspace/.venv/bin/python3|' {} +";

/*
 * npm runs in /workspace (where node_modules goes), so it reads the
 * workspace's package.json and .npmrc: the command line overrides what
 * could run code there (scripts, git).
 */
static const char  *sbx_install_npm =
    "cd /workspace && { [ ! -d /npm-cache ]"
    " || cp -R /npm-cache/. /tmp/npm-cache; }"
    " && exec /usr/bin/npm install --ignore-scripts --git=/bin/false"
    " --no-audit --no-fund --no-update-notifier --loglevel=warn";


/*
 * An install lasts no longer than the longest exec, which the session's
 * TTL is made to outlive: the session cannot expire under it.
 */
static long
sbx_install_timeout_ms(const sbx_config_t *conf)
{
    uint64_t  s;

    s = conf->install_timeout < conf->exec_timeout_max
        ? conf->install_timeout : conf->exec_timeout_max;

    return (long) s * 1000;
}


static int
sbx_install_args(sbx_op_req_t *req, sbx_install_t *in, sbx_error_t *err)
{
    static const char  *allowed[] = {
        "session_id", "manager", "packages", NULL
    };
    cJSON              *m, *p;
    int                 i, n;

    if (sbx_ops_check_args(req->args, allowed, err) != SBX_OK
        || sbx_ops_session_arg(req, 1, &in->sid, err) != SBX_OK)
    {
        return SBX_ERR;
    }

    m = cJSON_GetObjectItemCaseSensitive(req->args, "manager");
    in->manager = cJSON_GetStringValue(m);

    if (in->manager == NULL
        || (strcmp(in->manager, "pip") != 0
            && strcmp(in->manager, "npm") != 0))
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT,
                      "\"manager\" must be \"pip\" or \"npm\"");
        return SBX_ERR;
    }

    in->packages = cJSON_GetObjectItemCaseSensitive(req->args, "packages");
    n = cJSON_GetArraySize(in->packages);

    if (!cJSON_IsArray(in->packages) || n < 1
        || n > SBX_INSTALL_PACKAGES_MAX)
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"packages\" must be "
                      "an array of 1..%d package names",
                      SBX_INSTALL_PACKAGES_MAX);
        return SBX_ERR;
    }

    i = 0;

    cJSON_ArrayForEach(p, in->packages) {
        if (!cJSON_IsString(p)
            || !sbx_install_name_ok(in->manager, p->valuestring))
        {
            sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "packages[%d] "
                          "(\"%.64s\") is not a %s package name with an "
                          "optional version: options, paths, URLs and "
                          "archives are not taken", i,
                          cJSON_IsString(p) ? p->valuestring : "",
                          in->manager);
            return SBX_ERR;
        }
        i++;
    }

    return SBX_OK;
}


int
sbx_op_install_check(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_error_t *err)
{
    sbx_install_t  in;

    (void) ctx;

    return sbx_install_args(req, &in, err);
}


/*
 * The command: the manager's line, the source the operator set up (an
 * offline directory; an index or registry comes in the environment),
 * "--" before the single-quoted names, and what follows a success.
 * Malloc'ed, or NULL.
 */
static char *
sbx_install_command(const sbx_config_t *conf, const sbx_install_t *in)
{
    size_t       len;
    char        *cmd, *p;
    const char  *base, *source, *after;
    cJSON       *pkg;
    int          pip;

    pip = strcmp(in->manager, "pip") == 0;
    base = pip ? sbx_install_pip : sbx_install_npm;
    after = pip ? sbx_install_pip_after : "";

    if (pip) {
        source = conf->install_wheelhouse[0] == '\0' ? ""
                 : conf->install_pip_index_url[0] == '\0'
                   ? " --no-index --find-links /wheels"
                   : " --find-links /wheels";
    } else {
        source = conf->install_npm_cache[0] == '\0' ? ""
                 : conf->install_npm_registry[0] == '\0' ? " --offline"
                   : " --prefer-offline";
    }

    len = strlen(base) + strlen(source) + sizeof(" --") + strlen(after);

    cJSON_ArrayForEach(pkg, in->packages) {
        len += strlen(pkg->valuestring) + 3;
    }

    cmd = malloc(len);
    if (cmd == NULL) {
        return NULL;
    }

    p = cmd + sprintf(cmd, "%s%s --", base, source);

    cJSON_ArrayForEach(pkg, in->packages) {
        p += sprintf(p, " '%s'", pkg->valuestring);
    }

    strcpy(p, after);

    return cmd;
}


static void
sbx_install_setenv(sbx_install_env_t *e, const char *name, const char *value)
{
    char  *v;

    if (value[0] == '\0' || e->nvars == SBX_INSTALL_VARS_MAX
        || e->n == SBX_INSTALL_ENV_MAX)
    {
        return;
    }

    v = e->vars[e->nvars++];
    snprintf(v, sizeof(e->vars[0]), "%s=%s", name, value);
    e->env[e->n++] = v;
}


/*
 * pip takes an http:// index only from a host it is told to trust: the
 * operator's index is.  Its host[:port], or "" for https.
 */
static void
sbx_install_trusted_host(const char *url, char *host, size_t len)
{
    const char  *p, *end, *at;

    host[0] = '\0';

    if (strncmp(url, "http://", 7) != 0) {
        return;
    }

    p = url + 7;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t) (end - p));

    if (at != NULL) {
        p = at + 1;
    }

    snprintf(host, len, "%.*s", (int) (end - p), p);
}


static void
sbx_install_env(const sbx_config_t *conf, sbx_install_env_t *e)
{
    char  host[SBX_CONF_STR_MAX];

    static const char  *fixed[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/tmp", "PIP_CONFIG_FILE=/dev/null", "PIP_NO_CACHE_DIR=1",
        "PIP_DISABLE_PIP_VERSION_CHECK=1", "npm_config_cache=/tmp/npm-cache",
        NULL
    };
    const char         **f;

    memset(e, 0, sizeof(*e));

    for (f = fixed; *f != NULL; f++) {
        e->env[e->n++] = *f;
    }

    sbx_install_setenv(e, "PIP_INDEX_URL", conf->install_pip_index_url);
    sbx_install_trusted_host(conf->install_pip_index_url, host,
                             sizeof(host));
    sbx_install_setenv(e, "PIP_TRUSTED_HOST", host);
    /* set here, it wins over a registry in the workspace's .npmrc */
    sbx_install_setenv(e, "npm_config_registry",
                       conf->install_npm_registry[0]
                       ? conf->install_npm_registry
                       : "https://registry.npmjs.org/");
    sbx_install_setenv(e, "http_proxy", conf->install_proxy);
    sbx_install_setenv(e, "https_proxy", conf->install_proxy);
    sbx_install_setenv(e, "HTTP_PROXY", conf->install_proxy);
    sbx_install_setenv(e, "HTTPS_PROXY", conf->install_proxy);
}


/*
 * Runs the installer in a helper on the session's workspace volume.  The
 * helper's own failure (its agent, its container gone) is the install's
 * error, not the installer's outcome.
 */
static int
sbx_install_in_helper(sbx_ctx_t *ctx, const char *user, const char *volume,
    const char *command, sbx_exec_result_t *res, sbx_error_t *err)
{
    const sbx_config_t   *conf = ctx->conf;
    int                   rc;
    sbx_run_box_t         box;
    sbx_exec_req_t        ereq;
    sbx_install_env_t     env;
    sbx_docker_helper_t   helper;

    helper.image = conf->install_image[0] ? conf->install_image
                                          : conf->container_image;
    helper.network = conf->install_network;
    helper.workspace = volume;
    helper.wheelhouse = conf->install_wheelhouse;
    helper.npm_cache = conf->install_npm_cache;

    if (sbx_run_box_name(&box, err) != SBX_OK) {
        return SBX_ERR;
    }

    box.helper = &helper;

    if (sbx_run_box_start(ctx, user, NULL, conf->install_memory, &box, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    sbx_install_env(conf, &env);

    memset(&ereq, 0, sizeof(ereq));
    ereq.session = &box.rec;
    ereq.command = command;
    ereq.working_dir = "/tmp";
    ereq.env = env.env;
    ereq.nenv = env.n;
    ereq.timeout_ms = sbx_install_timeout_ms(conf);

    rc = sbx_exec_run(ctx, &ereq, res, err);

    if (rc != SBX_OK
        && (strcmp(err->code, SBX_E_AGENT_FAILED) == 0
            || strcmp(err->code, SBX_E_SESSION_LOST) == 0))
    {
        sbx_error_set(err, SBX_E_SANDBOX_ERROR, "the install helper "
                      "container failed");
    }

    sbx_run_box_release(ctx, &box);

    return rc;
}


/* Gets (or makes) the session, and installs into its workspace. */
static int
sbx_install_in_session(sbx_ctx_t *ctx, sbx_op_req_t *req,
    const sbx_install_t *in, const char *command, const char *slot,
    sbx_response_t *resp, sbx_error_t *err)
{
    char                volume[256];
    int                 created, rc;
    sbx_exec_result_t   res;
    sbx_session_rec_t   rec;

    if (sbx_session_acquire(ctx, req->user, in->sid, -1, &rec, &created,
                            err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (created) {
        sbx_quota_exec_renew(ctx, req->user, slot,
                             sbx_install_timeout_ms(ctx->conf)
                             + SBX_INSTALL_MAKE_GRACE_MS);
    }

    memset(&res, 0, sizeof(res));

    rc = sbx_docker_workspace_volume(&ctx->docker, rec.container_id, volume,
                                     sizeof(volume), err);

    if (rc != SBX_OK && strcmp(err->code, SBX_E_SESSION_LOST) == 0) {
        sbx_session_lost(ctx, req->user, &rec, err);
    }

    if (rc == SBX_OK) {
        rc = sbx_install_in_helper(ctx, req->user, volume, command, &res,
                                   err);
    }

    sbx_session_touch(ctx, req->user, rec.session_id);

    if (rc != SBX_OK) {
        sbx_exec_result_free(&res);
        cJSON_AddStringToObject(req->result, "session_id", rec.session_id);
        return SBX_ERR;
    }

    sbx_ops_exec_result(req, rec.session_id, created, &res, resp);

    return SBX_OK;
}


int
sbx_op_install(sbx_ctx_t *ctx, sbx_op_req_t *req, sbx_response_t *resp,
    sbx_error_t *err)
{
    char           *command, slot[SBX_QUOTA_SLOT_LEN + 1];
    int             rc;
    sbx_install_t   in;

    if (sbx_install_args(req, &in, err) != SBX_OK) {
        return SBX_ERR;
    }

    command = sbx_install_command(ctx->conf, &in);
    if (command == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    cJSON_AddStringToObject(req->result, "manager", in.manager);
    cJSON_AddItemToObject(req->result, "packages",
                          cJSON_Duplicate(in.packages, 1));

    rc = sbx_quota_exec_begin(ctx, req->user,
                              sbx_install_timeout_ms(ctx->conf)
                              + SBX_INSTALL_MAKE_GRACE_MS, slot, err);

    if (rc == SBX_OK) {
        rc = sbx_install_in_session(ctx, req, &in, command, slot, resp, err);
        sbx_quota_exec_end(ctx, req->user, slot);
    }

    free(command);

    return rc;
}
