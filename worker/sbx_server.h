
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

/* Accepts until sbx_server_stop(). */
int sbx_server_run(void);

/*
 * Closes the listeners, removes the unix socket, wakes idle connections
 * and waits until every connection thread has exited or deadline (an
 * absolute CLOCK_REALTIME time) passes; SBX_ERR when threads are left.
 */
int sbx_server_shutdown(const struct timespec *deadline);

/* Async-signal-safe: asks sbx_server_run() to return. */
void sbx_server_stop(void);


#endif /* SBX_SERVER_H */
