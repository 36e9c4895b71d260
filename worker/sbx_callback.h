
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Task callbacks: when a task with a callback_url ends, its object (as
 * GET /tasks/{id} shows it, without "callback") is POSTed there, signed
 * with HMAC-SHA256 under callback_secret:
 *
 *   X-Sandbox-Timestamp: <unix seconds>
 *   X-Sandbox-Signature: sha256=<hex of HMAC(secret, "<ts>.<body>")>
 *
 * A 2xx is delivered; a network error, a timeout, 408, 429 and 5xx are
 * tried again after 1, 2, 4, ... seconds (60 at most), callback_retries
 * times; anything else fails at once.  Redirects are not followed.  Only
 * the origins of callback_allow are ever reached.  One thread delivers,
 * in the order the attempts fall due; the task's record shows progress.
 */


#ifndef SBX_CALLBACK_H
#define SBX_CALLBACK_H


#include "sbx_config.h"
#include "sbx_util.h"


/*
 * Whether url (http or https) may be called back: its origin is one of
 * callback_allow's.  invalid_argument says why not.
 */
int sbx_callback_allowed(const sbx_config_t *conf, const char *url,
    sbx_error_t *err);

/* Delivers the callback of user's task id, which has just ended. */
void sbx_callback_queue(const char *user, const char *id);

int sbx_callbacks_start(const sbx_config_t *conf);

/* Stops delivering; callbacks still due are dropped (and logged). */
void sbx_callbacks_stop(void);

/*
 * Writes "sha256=" and the hex HMAC-SHA256 of "<ts>.<body>" under secret
 * to out (7 + 64 + 1 bytes).
 */
int sbx_callback_sign(const char *secret, const char *ts, const char *body,
    size_t len, char *out);


#endif /* SBX_CALLBACK_H */
