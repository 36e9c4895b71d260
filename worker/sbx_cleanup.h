
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The cleanup loop: removes this instance's containers whose session
 * record is gone (expired, or lost by a crash), once they are older than
 * cleanup_grace.  When Redis cannot be asked, nothing is removed.
 */


#ifndef SBX_CLEANUP_H
#define SBX_CLEANUP_H


#include "sbx_ctx.h"


/* One pass; returns the number of containers removed, or -1. */
int sbx_cleanup_pass(sbx_ctx_t *ctx);

/* Starts the cleanup thread (unless cleanup_interval is 0). */
int sbx_cleanup_start(const sbx_config_t *conf);

/* Asks the cleanup thread to stop; does not wait for a running pass. */
void sbx_cleanup_stop(void);


#endif /* SBX_CLEANUP_H */
