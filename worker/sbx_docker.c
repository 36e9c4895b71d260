
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_agent.h"
#include "sbx_docker.h"
#include "sbx_log.h"


#define SBX_DOCKER_CONNECT_MS   5000
#define SBX_DOCKER_CALL_MS      30000
#define SBX_DOCKER_RESPONSE_MAX (8 * 1024 * 1024)

#define SBX_CONFLICT            1   /* a container of that name exists */


/* What a container's /workspace is. */
typedef enum {
    SBX_WS_TMPFS,        /* its own tmpfs: a run's */
    SBX_WS_SHARED,       /* a tmpfs volume a helper may mount */
    SBX_WS_VOLUME        /* a persistent session's named volume */
} sbx_docker_ws_e;


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
    int      overflow;
} sbx_docker_buf_t;


void
sbx_docker_init(sbx_docker_t *dk, const sbx_config_t *conf)
{
    memset(dk, 0, sizeof(*dk));
    dk->conf = conf;
}


void
sbx_docker_cleanup(sbx_docker_t *dk)
{
    if (dk->curl != NULL) {
        curl_easy_cleanup(dk->curl);
        dk->curl = NULL;
    }
}


static size_t
sbx_docker_buf_sink(char *p, size_t size, size_t n, void *data)
{
    sbx_docker_buf_t  *b = data;
    size_t             len, want;
    char              *nd;

    len = size * n;

    if (b->len + len > SBX_DOCKER_RESPONSE_MAX) {
        b->overflow = 1;
        return 0;
    }

    if (b->len + len + 1 > b->cap) {
        want = b->cap ? b->cap * 2 : 4096;
        while (want < b->len + len + 1) {
            want *= 2;
        }

        nd = realloc(b->data, want);
        if (nd == NULL) {
            b->overflow = 1;
            return 0;
        }

        b->data = nd;
        b->cap = want;
    }

    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';

    return len;
}


int
sbx_docker_request(sbx_docker_t *dk, const char *method, const char *path,
    const char *json, long timeout_ms, sbx_docker_sink_pt sink,
    void *sink_data, sbx_error_t *err)
{
    char               url[2048];
    int                n;
    CURLcode           rc;
    struct curl_slist *hdrs;

    dk->status = 0;
    dk->timed_out = 0;

    if (dk->curl == NULL) {
        dk->curl = curl_easy_init();
        if (dk->curl == NULL) {
            sbx_error_set(err, SBX_E_INTERNAL, "cannot create a curl handle");
            return SBX_ERR;
        }
    }

    n = snprintf(url, sizeof(url), "%s%s", dk->conf->docker_base, path);
    if (n < 0 || (size_t) n >= sizeof(url)) {
        sbx_log_error("docker request URL too long: %.200s...", url);
        sbx_error_set(err, SBX_E_INTERNAL, "request URL too long");
        return SBX_ERR;
    }

    /* a reset keeps the live connection to dockerd */
    curl_easy_reset(dk->curl);

    if (dk->conf->docker_socket[0] != '\0') {
        curl_easy_setopt(dk->curl, CURLOPT_UNIX_SOCKET_PATH,
                         dk->conf->docker_socket);
    }

    curl_easy_setopt(dk->curl, CURLOPT_URL, url);
    curl_easy_setopt(dk->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(dk->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) SBX_DOCKER_CONNECT_MS);
    curl_easy_setopt(dk->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(dk->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(dk->curl, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(dk->curl, CURLOPT_WRITEDATA, sink_data);

    hdrs = NULL;

    if (json != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(dk->curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(dk->curl, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(dk->curl, CURLOPT_POSTFIELDSIZE,
                         (long) strlen(json));

    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(dk->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(dk->curl, CURLOPT_POSTFIELDSIZE, 0L);
    }

    rc = curl_easy_perform(dk->curl);

    curl_easy_getinfo(dk->curl, CURLINFO_RESPONSE_CODE, &dk->status);
    curl_slist_free_all(hdrs);

    if (rc == CURLE_OK) {
        return SBX_OK;
    }

    if (rc == CURLE_OPERATION_TIMEDOUT) {
        dk->timed_out = 1;
    }

    if (rc == CURLE_WRITE_ERROR && dk->status != 0) {
        sbx_error_set(err, SBX_E_SANDBOX_ERROR,
                      "docker response too large");
        return SBX_ERR;
    }

    sbx_error_set(err, SBX_E_DOCKER_UNAVAILABLE, "docker: %s",
                  curl_easy_strerror(rc));

    return SBX_ERR;
}


int
sbx_docker_call(sbx_docker_t *dk, const char *method, const char *path,
    cJSON *body, long timeout_ms, cJSON **out, sbx_error_t *err)
{
    char              *json;
    cJSON             *res, *msg;
    sbx_docker_buf_t   buf;
    int                rc, level;

    json = NULL;
    if (body != NULL) {
        json = cJSON_PrintUnformatted(body);
        if (json == NULL) {
            sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
            return SBX_ERR;
        }
    }

    memset(&buf, 0, sizeof(buf));

    rc = sbx_docker_request(dk, method, path, json, timeout_ms,
                            sbx_docker_buf_sink, &buf, err);
    free(json);

    if (rc != SBX_OK) {
        free(buf.data);
        return SBX_ERR;
    }

    res = buf.len ? cJSON_ParseWithLength(buf.data, buf.len) : NULL;
    free(buf.data);

    if (dk->status < 200 || dk->status > 299) {
        msg = cJSON_GetObjectItemCaseSensitive(res, "message");

        /* 304, 404 and 409 are answers callers expect and act upon */
        level = (dk->status == 304 || dk->status == 404
                 || dk->status == 409) ? SBX_LOG_DEBUG : SBX_LOG_WARN;

        if (sbx_log_level >= level) {
            sbx_log_write(level, "docker: %s %s: HTTP %ld: %.500s "
                          "(request %s)", method, path, dk->status,
                          cJSON_IsString(msg) ? msg->valuestring
                                              : "no message",
                          dk->req_id ? dk->req_id : "-");
        }

        sbx_error_set(err, SBX_E_SANDBOX_ERROR,
                      "the sandbox could not be used");
        cJSON_Delete(res);
        return SBX_ERR;
    }

    if (out != NULL) {
        *out = res;
    } else {
        cJSON_Delete(res);
    }

    return SBX_OK;
}


int
sbx_docker_path(char *buf, size_t len, sbx_error_t *err, const char *fmt,
    ...)
{
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);

    if (n < 0 || (size_t) n >= len) {
        sbx_log_error("docker request path too long: %.200s...", buf);
        sbx_error_set(err, SBX_E_INTERNAL, "request path too long");
        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_docker_ping(sbx_docker_t *dk, long timeout_ms, sbx_error_t *err)
{
    sbx_docker_buf_t  buf;
    int               rc;

    memset(&buf, 0, sizeof(buf));

    rc = sbx_docker_request(dk, "GET", "/_ping", NULL, timeout_ms,
                            sbx_docker_buf_sink, &buf, err);
    free(buf.data);

    if (rc == SBX_OK && dk->status != 200) {
        sbx_error_set(err, SBX_E_DOCKER_UNAVAILABLE,
                      "docker answered HTTP %ld", dk->status);
        rc = SBX_ERR;
    }

    return rc;
}


static cJSON *
sbx_docker_str_array(const char **items)
{
    cJSON  *a;

    a = cJSON_CreateArray();

    for (; a != NULL && *items != NULL; items++) {
        cJSON_AddItemToArray(a, cJSON_CreateString(*items));
    }

    return a;
}


static void
sbx_docker_add_ulimit(cJSON *ulimits, const char *name, uint64_t v)
{
    cJSON  *u;

    u = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "Name", name);
    cJSON_AddNumberToObject(u, "Soft", (double) v);
    cJSON_AddNumberToObject(u, "Hard", (double) v);
    cJSON_AddItemToArray(ulimits, u);
}


/* The HostConfig: every isolation setting of DESIGN.md. */
static cJSON *
sbx_docker_host_config(const sbx_config_t *conf)
{
    static const char  *cap_drop[] = { "ALL", NULL };
    static const char  *sec_opt[] = { "no-new-privileges", NULL };
    cJSON              *hc, *ul, *tmpfs, *o;
    char                opt[256];

    hc = cJSON_CreateObject();
    cJSON_AddBoolToObject(hc, "ReadonlyRootfs", 1);
    cJSON_AddStringToObject(hc, "NetworkMode", "none");
    cJSON_AddItemToObject(hc, "CapDrop", sbx_docker_str_array(cap_drop));
    cJSON_AddItemToObject(hc, "SecurityOpt", sbx_docker_str_array(sec_opt));
    cJSON_AddNumberToObject(hc, "Memory", (double) conf->container_memory);
    cJSON_AddNumberToObject(hc, "MemorySwap",
                            (double) conf->container_memory);
    cJSON_AddNumberToObject(hc, "NanoCpus",
                            (double) (int64_t) (conf->container_cpus * 1e9));
    cJSON_AddNumberToObject(hc, "PidsLimit", (double) conf->container_pids);

    ul = cJSON_AddArrayToObject(hc, "Ulimits");
    sbx_docker_add_ulimit(ul, "nofile", conf->container_nofile);
    sbx_docker_add_ulimit(ul, "nproc", conf->container_nproc);
    sbx_docker_add_ulimit(ul, "fsize", conf->container_fsize);

    tmpfs = cJSON_AddObjectToObject(hc, "Tmpfs");
    snprintf(opt, sizeof(opt), "rw,nosuid,nodev,size=%" PRIu64,
             conf->tmpfs_tmp_size);
    cJSON_AddStringToObject(tmpfs, "/tmp", opt);
    snprintf(opt, sizeof(opt), "rw,nosuid,nodev,exec,size=%" PRIu64
             ",uid=1000,gid=1000,mode=0755", conf->tmpfs_workspace_size);
    cJSON_AddStringToObject(tmpfs, "/workspace", opt);

    o = cJSON_AddObjectToObject(hc, "LogConfig");
    cJSON_AddStringToObject(o, "Type", "none");
    o = cJSON_AddObjectToObject(hc, "RestartPolicy");
    cJSON_AddStringToObject(o, "Name", "no");
    cJSON_AddBoolToObject(hc, "AutoRemove", 0);

    return hc;
}


/* what an install put in the workspace comes first (sbx_ops_install.c) */
const char  *sbx_container_env[] = {
    "HOME=/workspace", "LANG=C.UTF-8",
    "PATH=/workspace/.venv/bin:/workspace/node_modules/.bin:"
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    NULL
};


static void
sbx_docker_add_bind(cJSON *mounts, const char *source, const char *target)
{
    cJSON  *m;

    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "Type", "bind");
    cJSON_AddStringToObject(m, "Source", source);
    cJSON_AddStringToObject(m, "Target", target);
    cJSON_AddBoolToObject(m, "ReadOnly", 1);
    cJSON_AddItemToArray(mounts, m);
}


/*
 * With an agent, it is the container's PID 1 (it reaps orphans as Docker's
 * init would); without, tini runs "sleep infinity" for docker exec.
 */
static void
sbx_docker_add_entrypoint(cJSON *b, cJSON *hc, const char *agent_run)
{
    static const char  *sleep_cmd[] = { "sleep", "infinity", NULL };
    static const char  *agent_cmd[] = {
        SBX_AGENT_MOUNT_BIN, SBX_AGENT_MOUNT_RUN "/" SBX_AGENT_SOCKET, NULL
    };
    cJSON              *mounts;

    if (agent_run == NULL) {
        cJSON_AddBoolToObject(hc, "Init", 1);
        cJSON_AddItemToObject(b, "Cmd", sbx_docker_str_array(sleep_cmd));
        return;
    }

    cJSON_AddBoolToObject(hc, "Init", 0);
    cJSON_AddItemToObject(b, "Entrypoint", sbx_docker_str_array(agent_cmd));
    cJSON_AddItemToObject(b, "Cmd", cJSON_CreateArray());

    mounts = cJSON_AddArrayToObject(hc, "Mounts");
    sbx_docker_add_bind(mounts, sbx_agent_binary(), SBX_AGENT_MOUNT_BIN);
    sbx_docker_add_bind(mounts, agent_run, SBX_AGENT_MOUNT_RUN);
}


/* Moves /workspace from the Tmpfs list to a volume mount, returned. */
static cJSON *
sbx_docker_workspace_mount(cJSON *hc, const char *source)
{
    cJSON  *mounts, *m;

    cJSON_DeleteItemFromObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(hc, "Tmpfs"), "/workspace");

    mounts = cJSON_GetObjectItemCaseSensitive(hc, "Mounts");
    if (mounts == NULL) {
        mounts = cJSON_AddArrayToObject(hc, "Mounts");
    }

    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "Type", "volume");
    if (source != NULL) {
        cJSON_AddStringToObject(m, "Source", source);
    }
    cJSON_AddStringToObject(m, "Target", "/workspace");
    cJSON_AddItemToArray(mounts, m);

    return m;
}


/* The labels a session's workspace volume is made with. */
static cJSON *
sbx_docker_volume_labels(cJSON *m, const sbx_config_t *conf,
    const char *user, const char *session_id)
{
    cJSON  *o, *labels;

    o = cJSON_AddObjectToObject(m, "VolumeOptions");
    labels = cJSON_AddObjectToObject(o, "Labels");
    cJSON_AddStringToObject(labels, SBX_LABEL_MANAGED, "true");
    cJSON_AddStringToObject(labels, SBX_LABEL_INSTANCE, conf->instance);
    cJSON_AddStringToObject(labels, SBX_LABEL_USER, user);
    cJSON_AddStringToObject(labels, SBX_LABEL_SESSION, session_id);

    return o;
}


/*
 * A persistent session's /workspace is its named volume
 * (made by Docker on first use, with the session's labels) instead of a
 * tmpfs: it outlives the container.
 */
static void
sbx_docker_add_volume(cJSON *hc, const sbx_config_t *conf, const char *user,
    const char *session_id)
{
    char    name[SBX_CONTAINER_NAME_LEN + 1], vol[SBX_CONTAINER_NAME_LEN + 4];

    if (sbx_container_name(conf->instance, user, session_id, name)
        != SBX_OK)
    {
        return;
    }

    snprintf(vol, sizeof(vol), "%s-ws", name);

    (void) sbx_docker_volume_labels(sbx_docker_workspace_mount(hc, vol),
                                    conf, user, session_id);
}


/*
 * Any other session's /workspace is a tmpfs all the same, but made as an
 * anonymous volume of the local driver: an install helper can mount it
 * too (sbx_ops_install.c).  It goes with the container (DELETE ?v=true);
 * one a helper still held then is swept by the cleanup loop.  Docker
 * adds neither nosuid nor nodev to such a tmpfs unless asked.
 */
static void
sbx_docker_add_shared_tmpfs(cJSON *hc, const sbx_config_t *conf,
    const char *user, const char *session_id)
{
    cJSON  *o, *driver, *opts;
    char    opt[256];

    o = sbx_docker_volume_labels(sbx_docker_workspace_mount(hc, NULL),
                                 conf, user, session_id);

    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(o, "Labels"),
                            SBX_LABEL_WORKSPACE, "tmpfs");

    driver = cJSON_AddObjectToObject(o, "DriverConfig");
    cJSON_AddStringToObject(driver, "Name", "local");
    opts = cJSON_AddObjectToObject(driver, "Options");
    cJSON_AddStringToObject(opts, "type", "tmpfs");
    cJSON_AddStringToObject(opts, "device", "tmpfs");
    snprintf(opt, sizeof(opt), "size=%" PRIu64 ",uid=1000,gid=1000,"
             "mode=0755,nosuid,nodev", conf->tmpfs_workspace_size);
    cJSON_AddStringToObject(opts, "o", opt);
}


static cJSON *
sbx_docker_create_body(const sbx_config_t *conf, const char *user,
    const char *session_id, const char *agent_run, sbx_docker_ws_e ws)
{
    cJSON  *b, *labels, *hc;
    char    now[32];

    b = cJSON_CreateObject();
    if (b == NULL) {
        return NULL;
    }

    hc = sbx_docker_host_config(conf);

    cJSON_AddStringToObject(b, "Image", conf->container_image);
    sbx_docker_add_entrypoint(b, hc, agent_run);
    cJSON_AddStringToObject(b, "User", "1000:1000");
    cJSON_AddStringToObject(b, "WorkingDir", "/workspace");
    cJSON_AddItemToObject(b, "Env", sbx_docker_str_array(sbx_container_env));
    cJSON_AddBoolToObject(b, "NetworkDisabled", 1);
    cJSON_AddNumberToObject(b, "StopTimeout", 1);

    snprintf(now, sizeof(now), "%" PRId64, sbx_time_now());

    labels = cJSON_AddObjectToObject(b, "Labels");
    cJSON_AddStringToObject(labels, SBX_LABEL_MANAGED, "true");
    cJSON_AddStringToObject(labels, SBX_LABEL_INSTANCE, conf->instance);
    cJSON_AddStringToObject(labels, SBX_LABEL_USER, user);
    cJSON_AddStringToObject(labels, SBX_LABEL_SESSION, session_id);
    cJSON_AddStringToObject(labels, SBX_LABEL_CREATED, now);

    if (ws == SBX_WS_VOLUME) {
        sbx_docker_add_volume(hc, conf, user, session_id);

    } else if (ws == SBX_WS_SHARED) {
        sbx_docker_add_shared_tmpfs(hc, conf, user, session_id);
    }

    cJSON_AddItemToObject(b, "HostConfig", hc);

    return b;
}


static int
sbx_docker_member_is(cJSON *labels, const char *name, const char *value)
{
    cJSON  *l;

    l = cJSON_GetObjectItemCaseSensitive(labels, name);

    return cJSON_IsString(l) && strcmp(l->valuestring, value) == 0;
}


static int
sbx_docker_copy_id(cJSON *obj, char *id, sbx_error_t *err)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, "Id");

    if (!cJSON_IsString(v) || !sbx_valid_docker_id(v->valuestring)) {
        sbx_log_warn("docker returned no container id");
        sbx_error_set(err, SBX_E_SANDBOX_ERROR,
                      "the sandbox container could not be created");
        return SBX_ERR;
    }

    strcpy(id, v->valuestring);

    return SBX_OK;
}


/*
 * POST or DELETE on a container; the tolerated status (304: already
 * started, 404: already gone) counts as done.
 */
static int
sbx_docker_container_op(sbx_docker_t *dk, const char *method,
    const char *fmt, const char *id, long tolerated, const char *message,
    sbx_error_t *err)
{
    char  path[256];

    if (sbx_docker_path(path, sizeof(path), err, fmt, id) != SBX_OK) {
        return SBX_ERR;
    }

    if (sbx_docker_call(dk, method, path, NULL, SBX_DOCKER_CALL_MS, NULL,
                        err)
        != SBX_OK && dk->status != tolerated)
    {
        sbx_docker_public_error(err, message);
        return SBX_ERR;
    }

    return SBX_OK;
}


static int
sbx_docker_start(sbx_docker_t *dk, const char *id, sbx_error_t *err)
{
    return sbx_docker_container_op(dk, "POST", "/containers/%s/start", id,
                                   304, "the sandbox container could not "
                                   "be started", err);
}


/*
 * The name is taken: reuses the container when its labels say it belongs
 * to this very (instance, user, session), starting it when it is stopped.
 */
static int
sbx_docker_adopt(sbx_docker_t *dk, const char *user, const char *session_id,
    const char *name, char *id, sbx_error_t *err)
{
    char    path[256];
    cJSON  *c, *labels, *running;
    int     rc, stopped;

    if (sbx_docker_path(path, sizeof(path), err, "/containers/%s/json",
                        name)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (sbx_docker_call(dk, "GET", path, NULL, SBX_DOCKER_CALL_MS, &c, err)
        != SBX_OK)
    {
        sbx_docker_public_error(err,
                                "the sandbox container could not be created");
        return SBX_ERR;
    }

    labels = cJSON_GetObjectItemCaseSensitive(
                 cJSON_GetObjectItemCaseSensitive(c, "Config"), "Labels");
    running = cJSON_GetObjectItemCaseSensitive(
                  cJSON_GetObjectItemCaseSensitive(c, "State"), "Running");

    if (!sbx_docker_member_is(labels, SBX_LABEL_INSTANCE, dk->conf->instance)
        || !sbx_docker_member_is(labels, SBX_LABEL_USER, user)
        || !sbx_docker_member_is(labels, SBX_LABEL_SESSION, session_id))
    {
        sbx_log_error("container name %s of session \"%s\" is taken by "
                      "another container", name, session_id);
        sbx_error_set(err, SBX_E_SANDBOX_ERROR,
                      "the sandbox container could not be created");
        cJSON_Delete(c);
        return SBX_ERR;
    }

    rc = sbx_docker_copy_id(c, id, err);
    stopped = !cJSON_IsTrue(running);
    cJSON_Delete(c);

    if (rc == SBX_OK && stopped) {
        rc = sbx_docker_start(dk, id, err);
    }

    if (rc == SBX_OK) {
        sbx_log_info("reusing container %s of session \"%s\"", name,
                     session_id);
    }

    return rc;
}


/*
 * Creates the container "name" from body and starts it; id gets its id.
 * SBX_CONFLICT when a container of that name exists (dk->status 409),
 * for the caller to decide; any other failure removes what may have been
 * made (a create that timed out may have happened all the same).
 */
static int
sbx_docker_create_started(sbx_docker_t *dk, const char *name, cJSON *body,
    char *id, sbx_error_t *err)
{
    char         path[256];
    cJSON       *res;
    sbx_error_t  rm_err;
    int          rc;

    if (sbx_docker_path(path, sizeof(path), err,
                        "/containers/create?name=%s", name)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    rc = sbx_docker_call(dk, "POST", path, body, SBX_DOCKER_CALL_MS, &res,
                         err);

    if (rc != SBX_OK) {
        if (dk->status == 409) {
            return SBX_CONFLICT;
        }

        if (dk->timed_out && sbx_docker_remove(dk, name, &rm_err) != SBX_OK)
        {
            sbx_log_warn("create of container %s timed out and it cannot be "
                         "removed (%s); the cleanup loop will", name,
                         rm_err.msg);
        }

        sbx_docker_public_error(err,
                                "the sandbox container could not be created");
        return SBX_ERR;
    }

    rc = sbx_docker_copy_id(res, id, err);
    cJSON_Delete(res);

    if (rc != SBX_OK || sbx_docker_start(dk, id, err) != SBX_OK) {
        if (sbx_docker_remove(dk, rc == SBX_OK ? id : name, &rm_err)
            != SBX_OK)
        {
            sbx_log_error("cannot remove container %s that failed to start: "
                          "%s", name, rm_err.msg);
        }

        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_docker_create_session(sbx_docker_t *dk, const char *user,
    const char *session_id, const char *name, const char *agent_run,
    int persist, char *id, sbx_error_t *err)
{
    cJSON  *body;
    int     rc;

    body = sbx_docker_create_body(dk->conf, user, session_id, agent_run,
                                  persist ? SBX_WS_VOLUME : SBX_WS_SHARED);
    if (body == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    rc = sbx_docker_create_started(dk, name, body, id, err);
    cJSON_Delete(body);

    if (rc == SBX_CONFLICT) {
        return sbx_docker_adopt(dk, user, session_id, name, id, err);
    }

    return rc;
}


/*
 * The body of a run's container: a session's, with the run label in
 * place of the session label and the run's own memory limit.  A warm
 * pool's container (user NULL) has no user yet: its pool label names the
 * sandboxd that made it (sbx_pool.c).
 */
static cJSON *
sbx_docker_run_body(const sbx_config_t *conf, const char *user,
    const char *run_id, const char *agent_run, uint64_t memory)
{
    cJSON  *b, *labels, *hc;

    b = sbx_docker_create_body(conf, user ? user : "", run_id, agent_run,
                               SBX_WS_TMPFS);
    if (b == NULL) {
        return NULL;
    }

    labels = cJSON_GetObjectItemCaseSensitive(b, "Labels");
    cJSON_DeleteItemFromObjectCaseSensitive(labels, SBX_LABEL_SESSION);
    cJSON_AddStringToObject(labels, SBX_LABEL_RUN, run_id);

    if (user == NULL) {
        cJSON_DeleteItemFromObjectCaseSensitive(labels, SBX_LABEL_USER);
        cJSON_AddStringToObject(labels, SBX_LABEL_POOL, run_id);
    }

    hc = cJSON_GetObjectItemCaseSensitive(b, "HostConfig");
    cJSON_ReplaceItemInObjectCaseSensitive(hc, "Memory",
                                           cJSON_CreateNumber(memory));
    cJSON_ReplaceItemInObjectCaseSensitive(hc, "MemorySwap",
                                           cJSON_CreateNumber(memory));

    return b;
}


/*
 * Turns a run's body into an install helper's: the helper's image and
 * network, the session's /workspace, the offline directories, and a /tmp
 * as large as its memory (pip and npm unpack there).
 */
static void
sbx_docker_helper_body(cJSON *b, const sbx_docker_helper_t *helper,
    uint64_t memory)
{
    cJSON  *hc, *mounts;
    char    opt[64];

    hc = cJSON_GetObjectItemCaseSensitive(b, "HostConfig");

    cJSON_ReplaceItemInObjectCaseSensitive(b, "Image",
                                           cJSON_CreateString(helper->image));
    cJSON_ReplaceItemInObjectCaseSensitive(b, "NetworkDisabled",
                                           cJSON_CreateBool(0));
    cJSON_ReplaceItemInObjectCaseSensitive(hc, "NetworkMode",
                                           cJSON_CreateString(
                                               helper->network));

    snprintf(opt, sizeof(opt), "rw,nosuid,nodev,size=%" PRIu64, memory);
    cJSON_ReplaceItemInObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(hc, "Tmpfs"), "/tmp",
        cJSON_CreateString(opt));

    (void) sbx_docker_workspace_mount(hc, helper->workspace);

    mounts = cJSON_GetObjectItemCaseSensitive(hc, "Mounts");

    if (helper->wheelhouse[0] != '\0') {
        sbx_docker_add_bind(mounts, helper->wheelhouse, "/wheels");
    }

    if (helper->npm_cache[0] != '\0') {
        sbx_docker_add_bind(mounts, helper->npm_cache, "/npm-cache");
    }
}


int
sbx_docker_create_run(sbx_docker_t *dk, const char *user,
    const char *run_id, const char *name, const char *agent_run,
    uint64_t memory, const sbx_docker_helper_t *helper, char *id,
    sbx_error_t *err)
{
    cJSON  *body;
    int     rc;

    body = sbx_docker_run_body(dk->conf, user, run_id, agent_run, memory);

    if (body != NULL && helper != NULL) {
        sbx_docker_helper_body(body, helper, memory);
    }

    if (body == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    rc = sbx_docker_create_started(dk, name, body, id, err);
    cJSON_Delete(body);

    if (rc == SBX_CONFLICT) {
        /* run names are random: a conflict is no run of ours */
        sbx_docker_public_error(err,
                                "the sandbox container could not be created");
        return SBX_ERR;
    }

    return rc;
}


/* GET /containers/{id}/json; a missing container is session_lost. */
static int
sbx_docker_inspect(sbx_docker_t *dk, const char *id, cJSON **c,
    sbx_error_t *err)
{
    char  path[256];

    if (sbx_docker_path(path, sizeof(path), err, "/containers/%s/json", id)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (sbx_docker_call(dk, "GET", path, NULL, SBX_DOCKER_CALL_MS, c, err)
        != SBX_OK)
    {
        if (dk->status == 404) {
            sbx_error_set(err, SBX_E_SESSION_LOST, "container is gone");
        } else {
            sbx_docker_public_error(err, "the sandbox container could not "
                                    "be inspected");
        }
        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_docker_inspect_init(sbx_docker_t *dk, const char *id, long *pid,
    int *agent, sbx_error_t *err)
{
    cJSON  *c, *state, *v;

    if (sbx_docker_inspect(dk, id, &c, err) != SBX_OK) {
        return SBX_ERR;
    }

    state = cJSON_GetObjectItemCaseSensitive(c, "State");
    v = cJSON_GetObjectItemCaseSensitive(state, "Pid");
    *pid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"))
           && cJSON_IsNumber(v) && v->valuedouble >= 1
           && v->valuedouble <= 4194304 ? (long) v->valuedouble : 0;

    v = cJSON_GetObjectItemCaseSensitive(c, "Path");
    *agent = cJSON_IsString(v)
             && strcmp(v->valuestring, SBX_AGENT_MOUNT_BIN) == 0;

    cJSON_Delete(c);

    return SBX_OK;
}


int
sbx_docker_workspace_volume(sbx_docker_t *dk, const char *id, char *vol,
    size_t len, sbx_error_t *err)
{
    cJSON       *c, *m;
    const char  *name;

    if (sbx_docker_inspect(dk, id, &c, err) != SBX_OK) {
        return SBX_ERR;
    }

    name = NULL;

    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(c, "Mounts")) {
        if (sbx_docker_member_is(m, "Destination", "/workspace")
            && sbx_docker_member_is(m, "Type", "volume"))
        {
            name = cJSON_GetStringValue(
                       cJSON_GetObjectItemCaseSensitive(m, "Name"));
        }
    }

    if (name == NULL || strlen(name) >= len) {
        cJSON_Delete(c);
        sbx_error_set(err, SBX_E_CONFLICT, "this session's workspace "
                      "cannot be shared with an installer (the session is "
                      "older than installs): delete it and start a new one");
        return SBX_ERR;
    }

    strcpy(vol, name);
    cJSON_Delete(c);

    return SBX_OK;
}


int
sbx_docker_delete_volume(sbx_docker_t *dk, const char *volume, int *removed,
    sbx_error_t *err)
{
    char  path[512];

    *removed = 0;

    if (sbx_docker_path(path, sizeof(path), err, "/volumes/%s", volume)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (sbx_docker_call(dk, "DELETE", path, NULL, SBX_DOCKER_CALL_MS, NULL,
                        err)
        != SBX_OK)
    {
        if (dk->status == 404) {
            return SBX_OK;
        }

        sbx_docker_public_error(err, "the session's workspace volume could "
                                "not be removed");
        return SBX_ERR;
    }

    *removed = 1;

    return SBX_OK;
}


int
sbx_docker_remove_volume(sbx_docker_t *dk, const char *name, int *removed,
    sbx_error_t *err)
{
    char  vol[SBX_CONTAINER_NAME_LEN + 4];

    snprintf(vol, sizeof(vol), "%s-ws", name);

    return sbx_docker_delete_volume(dk, vol, removed, err);
}


int
sbx_docker_remove(sbx_docker_t *dk, const char *id, sbx_error_t *err)
{
    return sbx_docker_container_op(dk, "DELETE",
                                   "/containers/%s?force=true&v=true", id,
                                   404, "the sandbox container could not "
                                   "be removed", err);
}


/*
 * {"label": ["<managed>=true", "<instance>=<instance>"]}, malloc'ed, with
 * "dangling": ["true"] when asked.
 */
static char *
sbx_docker_list_filter(const sbx_config_t *conf, int dangling)
{
    cJSON  *f, *labels;
    char    instance[SBX_CONF_STR_MAX + sizeof(SBX_LABEL_INSTANCE) + 1];
    char   *text;

    snprintf(instance, sizeof(instance), SBX_LABEL_INSTANCE "=%s",
             conf->instance);

    text = NULL;
    f = cJSON_CreateObject();
    labels = cJSON_AddArrayToObject(f, "label");

    if (labels != NULL
        && cJSON_AddItemToArray(labels,
                                cJSON_CreateString(SBX_LABEL_MANAGED
                                                   "=true"))
        && cJSON_AddItemToArray(labels, cJSON_CreateString(instance))
        && (!dangling
            || cJSON_AddItemToArray(cJSON_AddArrayToObject(f, "dangling"),
                                    cJSON_CreateString("true"))))
    {
        text = cJSON_PrintUnformatted(f);
    }

    cJSON_Delete(f);

    return text;
}


/*
 * GET of a list (fmt: a path with one %s, the query's filters) of what
 * this instance labelled.
 */
static int
sbx_docker_get_labelled(sbx_docker_t *dk, const char *fmt, int dangling,
    cJSON **res, sbx_error_t *err)
{
    char  path[4096], *filter, *esc;
    int   rc;

    if (dk->curl == NULL) {
        dk->curl = curl_easy_init();
    }

    filter = sbx_docker_list_filter(dk->conf, dangling);
    esc = (dk->curl && filter) ? curl_easy_escape(dk->curl, filter, 0)
                               : NULL;
    free(filter);

    if (esc == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    rc = sbx_docker_path(path, sizeof(path), err, fmt, esc);
    curl_free(esc);

    if (rc != SBX_OK) {
        return SBX_ERR;
    }

    return sbx_docker_call(dk, "GET", path, NULL, SBX_DOCKER_CALL_MS, res,
                           err);
}


int
sbx_docker_list_managed(sbx_docker_t *dk, cJSON **list, sbx_error_t *err)
{
    cJSON  *res;

    if (sbx_docker_get_labelled(dk, "/containers/json?all=true&filters=%s",
                                0, &res, err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    if (!cJSON_IsArray(res)) {
        cJSON_Delete(res);
        sbx_error_set(err, SBX_E_SANDBOX_ERROR, "docker sent no list");
        return SBX_ERR;
    }

    *list = res;

    return SBX_OK;
}


/*
 * The labelled workspace volumes of this instance (GET /volumes): the
 * answer's "Volumes" array, detached for the caller to free.
 */
int
sbx_docker_list_volumes(sbx_docker_t *dk, int dangling, cJSON **list,
    sbx_error_t *err)
{
    cJSON  *res, *vols;

    if (sbx_docker_get_labelled(dk, "/volumes?filters=%s", dangling, &res,
                                err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    vols = cJSON_DetachItemFromObjectCaseSensitive(res, "Volumes");
    cJSON_Delete(res);

    /* Docker answers "Volumes": null when there is none */
    if (vols == NULL || cJSON_IsNull(vols)) {
        cJSON_Delete(vols);
        vols = cJSON_CreateArray();
    }

    if (!cJSON_IsArray(vols)) {
        cJSON_Delete(vols);
        sbx_error_set(err, SBX_E_SANDBOX_ERROR, "docker sent no list");
        return SBX_ERR;
    }

    *list = vols;

    return SBX_OK;
}


/*
 * Docker's own error text may name host paths: sbx_docker_call() logs it,
 * and this replaces it with what an API user may read.  Errors of other
 * kinds (Docker unreachable) keep their message.
 */
void
sbx_docker_public_error(sbx_error_t *err, const char *message)
{
    if (strcmp(err->code, SBX_E_SANDBOX_ERROR) == 0) {
        sbx_error_set(err, SBX_E_SANDBOX_ERROR, "%s", message);
    }
}
