
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The cleanup loop: removes this instance's containers whose session
 * record is gone (expired, or lost by a crash) or that are older than
 * cleanup_max_container_age, once they are older than cleanup_grace; drops
 * records whose container is gone; removes workspace volumes unused for
 * cleanup_volume_max_idle (sbx_cleanup_steps.h).  When Redis cannot be
 * asked, nothing is removed.
 */


#ifndef SBX_CLEANUP_H
#define SBX_CLEANUP_H


#include <time.h>

#include "sbx_ctx.h"


/*
 * One pass; returns the number of containers, records and volumes
 * removed, or -1 when Docker or Redis failed.  Stops early once
 * sbx_cleanup_stop() was called.
 */
int sbx_cleanup_pass(sbx_ctx_t *ctx);

/* Starts the cleanup thread (unless cleanup_interval is 0). */
int sbx_cleanup_start(const sbx_config_t *conf);

/*
 * Asks the cleanup thread to stop; a running pass stops before its next
 * container.  Does not wait.
 */
void sbx_cleanup_stop(void);

/*
 * Waits for the cleanup thread to exit until deadline (absolute,
 * CLOCK_REALTIME); SBX_ERR when it is still running then (in a Docker or
 * Redis call).
 */
int sbx_cleanup_join(const struct timespec *deadline);


#endif /* SBX_CLEANUP_H */
