
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The warm pool of one-shot runs: run containers made ahead (started,
 * agent connected) by a few filler threads, so that a run takes one in
 * O(1) instead of waiting for Docker's create and start.  One image, so
 * one pool of run_pool_size containers of container_memory; a pool per
 * image would key these by the image and its size (a small table of
 * pools), the take choosing by the run's runtime.
 *
 * Labels: a pool container is a run container (io.ngx-sandbox.run) with
 * no user and io.ngx-sandbox.pool=<this sandboxd's pool id>, which stays
 * when a run takes it.  The memory-store rebuild skips it (no session
 * label); the cleanup loop keeps this sandboxd's and removes those of
 * another (one that crashed).
 */


#ifndef SBX_POOL_H
#define SBX_POOL_H


#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "sbx_ctx.h"
#include "sbx_run_box.h"


/* Starts the filler threads when conf->run_pool_size is not 0. */
int sbx_pool_start(const sbx_config_t *conf);

/*
 * Hands a pool container to box (named already: its run id stays) when
 * one of memory bytes is ready and its agent up, counted as a hit;
 * SBX_ERR otherwise, counted as a miss when the pool is on.  Dead and
 * stale containers met on the way are removed.
 */
int sbx_pool_take(sbx_ctx_t *ctx, uint64_t memory, sbx_run_box_t *box);

/*
 * A run that took a pool container is over: its refill need not wait
 * any longer (see sbx_pool_wait_need()).
 */
void sbx_pool_returned(void);

/* This process's pool label value, "" before sbx_pool_start(). */
const char *sbx_pool_label(void);

/*
 * Adds {"size", "ready", "hits", "misses", "dead"} to obj as "run_pool";
 * dead counts the containers found dead when taken (and replaced).
 */
void sbx_pool_report(cJSON *obj);

/*
 * At shutdown: stops the fillers, waits for them until the deadline
 * (CLOCK_REALTIME) and hands the ready containers to
 * sbx_run_box_release(), whose removals sbx_run_box_join() waits for.
 */
int sbx_pool_stop(const struct timespec *deadline);


#endif /* SBX_POOL_H */
