
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sbx_callback.h"
#include "sbx_confgen.h"
#include "sbx_ctx.h"
#include "sbx_log.h"
#include "sbx_render.h"
#include "sbx_task.h"
#include "sbx_task_store.h"


#define SBX_CALLBACK_BACKOFF_MS      1000
#define SBX_CALLBACK_BACKOFF_MAX_MS  60000
#define SBX_CALLBACK_QUEUE_MAX       10000


typedef struct sbx_callback_s  sbx_callback_t;

struct sbx_callback_s {
    sbx_callback_t  *next;
    char            *user;
    char             id[SBX_TASK_ID_LEN + 1];
    int64_t          due;              /* monotonic ms */
    int64_t          attempts;
};


typedef struct {
    long             status;           /* HTTP status, 0: none */
    char             error[160];       /* "" when delivered */
    int              retry;
} sbx_callback_outcome_t;


static pthread_mutex_t   sbx_callback_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t    sbx_callback_cond = PTHREAD_COND_INITIALIZER;
static sbx_callback_t   *sbx_callback_list;    /* by due time */
static size_t            sbx_callback_n;
static int               sbx_callback_stopping;
static int               sbx_callback_running;
static pthread_t         sbx_callback_tid;


/* scheme, host and port of url (the port defaulted); SBX_ERR if none. */
static int
sbx_callback_origin(const char *url, char *out, size_t len)
{
    int         rc;
    CURLU      *u;
    char       *scheme, *host, *port;
    CURLUcode   c1, c2, c3;

    u = curl_url();
    if (u == NULL) {
        return SBX_ERR;
    }

    scheme = host = port = NULL;
    rc = SBX_ERR;

    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        c1 = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        c2 = curl_url_get(u, CURLUPART_HOST, &host, 0);
        c3 = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);

        if (c1 == CURLUE_OK && c2 == CURLUE_OK && c3 == CURLUE_OK
            && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)
            && (size_t) snprintf(out, len, "%s://%s:%s", scheme, host, port)
               < len)
        {
            rc = SBX_OK;
        }
    }

    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);

    return rc;
}


int
sbx_callback_allowed(const sbx_config_t *conf, const char *url,
    sbx_error_t *err)
{
    char         origin[SBX_TASK_URL_MAX + 32], entry[SBX_CONF_STR_MAX];
    char         allowed[SBX_TASK_URL_MAX + 32];
    const char  *p;
    size_t       n;

    if (conf->callback_allow[0] == '\0') {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "callbacks are not "
                      "enabled on this server (callback_allow is empty)");
        return SBX_ERR;
    }

    if (strlen(url) > SBX_TASK_URL_MAX
        || sbx_callback_origin(url, origin, sizeof(origin)) != SBX_OK)
    {
        sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"callback_url\" must "
                      "be an http:// or https:// URL of at most %d bytes",
                      SBX_TASK_URL_MAX);
        return SBX_ERR;
    }

    for (p = conf->callback_allow; *p; p += n) {
        p += strspn(p, " \t,");
        n = strcspn(p, " \t,");

        if (n == 0 || n >= sizeof(entry)) {
            continue;
        }

        memcpy(entry, p, n);
        entry[n] = '\0';

        if (sbx_callback_origin(entry, allowed, sizeof(allowed)) == SBX_OK
            && strcasecmp(allowed, origin) == 0)
        {
            return SBX_OK;
        }
    }

    sbx_error_set(err, SBX_E_INVALID_ARGUMENT, "\"callback_url\": %.160s is "
                  "not in the server's callback_allow", origin);

    return SBX_ERR;
}


int
sbx_callback_sign(const char *secret, const char *ts, const char *body,
    size_t len, char *out)
{
    char           *msg;
    size_t          i, n;
    unsigned int    mdlen;
    unsigned char   md[EVP_MAX_MD_SIZE];

    n = strlen(ts);

    msg = malloc(n + 1 + len);
    if (msg == NULL) {
        return SBX_ERR;
    }

    memcpy(msg, ts, n);
    msg[n] = '.';
    memcpy(msg + n + 1, body, len);

    if (HMAC(EVP_sha256(), secret, (int) strlen(secret),
             (const unsigned char *) msg, n + 1 + len, md, &mdlen)
        == NULL || mdlen != 32)
    {
        free(msg);
        return SBX_ERR;
    }

    free(msg);

    out += sprintf(out, "sha256=");

    for (i = 0; i < mdlen; i++) {
        out += sprintf(out, "%02x", md[i]);
    }

    return SBX_OK;
}


static size_t
sbx_callback_discard(char *p, size_t size, size_t n, void *data)
{
    (void) p;
    (void) data;

    return size * n;
}


/* POSTs body to url with the signature headers; fills out. */
static void
sbx_callback_post(const sbx_config_t *conf, const char *url, const char *id,
    const char *body, size_t len, sbx_callback_outcome_t *out)
{
    CURL               *curl;
    CURLcode            rc;
    struct curl_slist  *h, *l;
    char                ts[24], sig[80], line[128];

    memset(out, 0, sizeof(*out));

    snprintf(ts, sizeof(ts), "%lld", (long long) sbx_time_now());

    curl = curl_easy_init();

    if (curl == NULL
        || sbx_callback_sign(conf->callback_secret, ts, body, len, sig)
           != SBX_OK)
    {
        curl_easy_cleanup(curl);
        snprintf(out->error, sizeof(out->error), "out of memory");
        out->retry = 1;
        return;
    }

    h = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(line, sizeof(line), "User-Agent: ngx-sandbox/%s", SBX_VERSION);
    h = (l = curl_slist_append(h, line)) ? l : h;
    snprintf(line, sizeof(line), "X-Sandbox-Task: %s", id);
    h = (l = curl_slist_append(h, line)) ? l : h;
    snprintf(line, sizeof(line), "X-Sandbox-Timestamp: %s", ts);
    h = (l = curl_slist_append(h, line)) ? l : h;
    snprintf(line, sizeof(line), "X-Sandbox-Signature: %s", sig);
    h = (l = curl_slist_append(h, line)) ? l : h;
    h = (l = curl_slist_append(h, "Expect:")) ? l : h;

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     (long) conf->callback_timeout * 1000);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sbx_callback_discard);

    rc = curl_easy_perform(curl);

    if (rc != CURLE_OK) {
        snprintf(out->error, sizeof(out->error), "%s",
                 curl_easy_strerror(rc));
        out->retry = 1;

    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);

        if (out->status < 200 || out->status > 299) {
            snprintf(out->error, sizeof(out->error), "HTTP %ld",
                     out->status);
            out->retry = out->status == 408 || out->status == 429
                         || out->status >= 500;
        }
    }

    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
}


/*
 * One attempt at cb: the task is read and rendered as GET shows it, and
 * sent.  Returns the delay before the next attempt, or -1 when done.
 */
static long
sbx_callback_attempt(sbx_ctx_t *ctx, sbx_callback_t *cb)
{
    int                      found, rc;
    long                     delay;
    cJSON                   *json;
    sbx_text_t               text;
    sbx_error_t              err;
    sbx_task_rec_t           rec;
    sbx_callback_outcome_t   out;
    const char              *status;

    if (sbx_task_store_get(&ctx->store, cb->user, cb->id, &rec, &found, &err)
        != SBX_OK)
    {
        sbx_log_warn("task %s: callback delayed: %s", cb->id, err.msg);
        return SBX_CALLBACK_BACKOFF_MS;
    }

    if (!found || rec.callback_url[0] == '\0') {
        return -1;
    }

    memset(&out, 0, sizeof(out));

    json = sbx_task_json(&rec, 0);
    rc = json ? sbx_render_task(json, (const uint8_t *) rec.body,
                                rec.body_len, &text)
              : SBX_RENDER_NOMEM;
    cJSON_Delete(json);

    if (rc != SBX_RENDER_OK) {
        snprintf(out.error, sizeof(out.error), "the task cannot be "
                 "rendered");

    } else if (sbx_callback_allowed(ctx->conf, rec.callback_url, &err)
               != SBX_OK)
    {
        snprintf(out.error, sizeof(out.error), "%.150s", err.msg);
        free(text.data);

    } else {
        sbx_callback_post(ctx->conf, rec.callback_url, cb->id, text.data,
                          text.len, &out);
        free(text.data);
    }

    cb->attempts++;

    delay = -1;
    status = out.error[0] == '\0' ? "delivered" : "failed";

    if (out.retry && cb->attempts <= (int64_t) ctx->conf->callback_retries) {
        delay = SBX_CALLBACK_BACKOFF_MS << (cb->attempts - 1);
        delay = delay > SBX_CALLBACK_BACKOFF_MAX_MS
                ? SBX_CALLBACK_BACKOFF_MAX_MS : delay;
        status = "pending";
    }

    sbx_log_info("task %s: callback attempt %lld: %s", cb->id,
                 (long long) cb->attempts,
                 out.error[0] ? out.error : "delivered");

    if (sbx_task_store_callback(&ctx->store, cb->user, cb->id, status,
                                cb->attempts, out.error, &err)
        != SBX_OK)
    {
        sbx_log_warn("task %s: callback state not stored: %s", cb->id,
                     err.msg);
    }

    sbx_task_rec_free(&rec);

    return delay;
}


/* Inserts cb in due order; under the mutex. */
static void
sbx_callback_insert(sbx_callback_t *cb)
{
    sbx_callback_t  **pp;

    for (pp = &sbx_callback_list; *pp != NULL && (*pp)->due <= cb->due;
         pp = &(*pp)->next)
    {
        /* void */
    }

    cb->next = *pp;
    *pp = cb;
    sbx_callback_n++;

    pthread_cond_signal(&sbx_callback_cond);
}


void
sbx_callback_queue(const char *user, const char *id)
{
    sbx_callback_t  *cb;

    cb = calloc(1, sizeof(sbx_callback_t));

    if (cb == NULL || (cb->user = strdup(user)) == NULL) {
        free(cb);
        sbx_log_error("task %s: no memory for its callback", id);
        return;
    }

    snprintf(cb->id, sizeof(cb->id), "%s", id);
    cb->due = sbx_time_mono_ms();

    pthread_mutex_lock(&sbx_callback_mutex);

    if (sbx_callback_stopping || sbx_callback_n >= SBX_CALLBACK_QUEUE_MAX) {
        pthread_mutex_unlock(&sbx_callback_mutex);
        sbx_log_error("task %s: callback dropped (%s)", id,
                      sbx_callback_stopping ? "stopping" : "queue full");
        free(cb->user);
        free(cb);
        return;
    }

    sbx_callback_insert(cb);

    pthread_mutex_unlock(&sbx_callback_mutex);
}


/* The first callback that is due, or NULL to stop; waits for one. */
static sbx_callback_t *
sbx_callback_next(void)
{
    int64_t          now;
    sbx_callback_t  *cb;
    struct timespec  ts;

    pthread_mutex_lock(&sbx_callback_mutex);

    for ( ;; ) {
        if (sbx_callback_stopping) {
            cb = NULL;
            break;
        }

        cb = sbx_callback_list;
        now = sbx_time_mono_ms();

        if (cb != NULL && cb->due <= now) {
            sbx_callback_list = cb->next;
            sbx_callback_n--;
            break;
        }

        if (cb == NULL) {
            pthread_cond_wait(&sbx_callback_cond, &sbx_callback_mutex);
            continue;
        }

        sbx_time_after(CLOCK_REALTIME, (long) (cb->due - now), &ts);
        (void) pthread_cond_timedwait(&sbx_callback_cond,
                                      &sbx_callback_mutex, &ts);
    }

    pthread_mutex_unlock(&sbx_callback_mutex);

    return cb;
}


static void *
sbx_callback_thread(void *data)
{
    const sbx_config_t  *boot = data, *conf;
    sbx_callback_t      *cb;
    sbx_ctx_t            ctx;
    long                 delay;

    sbx_ctx_init(&ctx, boot);

    while ((cb = sbx_callback_next()) != NULL) {
        conf = sbx_confgen_acquire();
        sbx_ctx_use(&ctx, conf);

        delay = sbx_callback_attempt(&ctx, cb);

        sbx_ctx_use(&ctx, boot);
        sbx_confgen_release(conf);

        if (delay < 0) {
            free(cb->user);
            free(cb);
            continue;
        }

        cb->due = sbx_time_mono_ms() + delay;

        pthread_mutex_lock(&sbx_callback_mutex);
        sbx_callback_insert(cb);
        pthread_mutex_unlock(&sbx_callback_mutex);
    }

    sbx_store_cleanup(&ctx.store);
    sbx_docker_cleanup(&ctx.docker);

    return NULL;
}


int
sbx_callbacks_start(const sbx_config_t *conf)
{
    if (pthread_create(&sbx_callback_tid, NULL, sbx_callback_thread,
                       (void *) conf) != 0)
    {
        sbx_log_error("cannot start the callback thread: %s",
                      strerror(errno));
        return SBX_ERR;
    }

    sbx_callback_running = 1;

    return SBX_OK;
}


void
sbx_callbacks_stop(void)
{
    sbx_callback_t  *cb;

    pthread_mutex_lock(&sbx_callback_mutex);
    sbx_callback_stopping = 1;
    pthread_cond_broadcast(&sbx_callback_cond);
    pthread_mutex_unlock(&sbx_callback_mutex);

    if (sbx_callback_running) {
        (void) pthread_join(sbx_callback_tid, NULL);
        sbx_callback_running = 0;
    }

    while ((cb = sbx_callback_list) != NULL) {
        sbx_callback_list = cb->next;
        sbx_log_warn("task %s: callback not delivered: sandboxd stopped",
                     cb->id);
        free(cb->user);
        free(cb);
    }

    sbx_callback_n = 0;
}
