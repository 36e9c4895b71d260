
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The listeners and the connections: a thread per connection reading
 * request frames and writing response frames; the main thread accepts.
 */


#ifndef SBX_SERVER_H
#define SBX_SERVER_H


#include <stddef.h>

#include "sbx_config.h"


/* Opens the unix (and TCP) listeners.  On error writes a message to err. */
int sbx_server_listen(const sbx_config_t *conf, char *err, size_t errlen);

/*
 * Accepts until sbx_server_stop(), then stops accepting, removes the unix
 * socket and waits up to shutdown_grace for connections in the middle of an
 * operation.
 */
int sbx_server_run(void);

/* Async-signal-safe: asks sbx_server_run() to return. */
void sbx_server_stop(void);


#endif /* SBX_SERVER_H */
