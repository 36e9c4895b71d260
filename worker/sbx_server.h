
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The listeners and the connections: a thread per connection reading
 * request frames and writing response frames; the main thread accepts.
 */


#ifndef SBX_SERVER_H
#define SBX_SERVER_H


#include <stddef.h>
#include <time.h>

#include "sbx_config.h"


/* Opens the unix (and TCP) listeners.  On error writes a message to err. */
int sbx_server_listen(const sbx_config_t *conf, char *err, size_t errlen);

typedef void (*sbx_server_hook_pt)(void);

/*
 * Accepts until sbx_server_stop(); calls on_reload, on this thread, after
 * each sbx_server_reload().
 */
int sbx_server_run(sbx_server_hook_pt on_reload);

/*
 * Closes the listeners, removes the unix socket, wakes idle connections
 * and waits until every connection thread has exited or deadline (an
 * absolute CLOCK_REALTIME time) passes.  Then the operations still
 * running are answered "busy" (a 503 for the client) and SBX_ERR says
 * that threads are left.
 */
int sbx_server_shutdown(const struct timespec *deadline);

/* Async-signal-safe: asks sbx_server_run() to return. */
void sbx_server_stop(void);

/* Async-signal-safe: asks sbx_server_run() to call its on_reload. */
void sbx_server_reload(void);


#endif /* SBX_SERVER_H */
