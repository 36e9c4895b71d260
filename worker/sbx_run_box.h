
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The fresh, hardened container of one run (a "box"): made on demand here,
 * its agent connected, and removed off the request path once the run is
 * over.  A warm pool (sbx_pool.h) hands out boxes made ahead: the run
 * itself only sees a box.
 */


#ifndef SBX_RUN_BOX_H
#define SBX_RUN_BOX_H


#include <stdint.h>
#include <time.h>

#include "sbx_ctx.h"


typedef struct {
    sbx_session_rec_t           rec;     /* the container, as the exec
                                            code sees it */
    const sbx_docker_helper_t  *helper;  /* an install helper's box */
    int                         made;
    int                         pooled;  /* taken from the warm pool */
} sbx_run_box_t;


/*
 * The container of a run of user with memory bytes of memory: a warm
 * pool's when it has one of that memory, else made here once the host's
 * container cap admits it (capacity_exhausted otherwise), waiting for
 * nothing more: the first exec waits for its agent.
 */
int sbx_run_box_acquire(sbx_ctx_t *ctx, const char *user, uint64_t memory,
    sbx_run_box_t *box, sbx_error_t *err);

/* Clears box and gives it a fresh run id and container name. */
int sbx_run_box_name(sbx_run_box_t *box, sbx_error_t *err);

/*
 * Makes the named box's container within the container cap: a run's of
 * user, or with user NULL a warm pool's, labelled pool; an install
 * helper when box->helper is set (after sbx_run_box_name()).
 */
int sbx_run_box_start(sbx_ctx_t *ctx, const char *user, const char *pool,
    uint64_t memory, sbx_run_box_t *box, sbx_error_t *err);

/*
 * Removes the box's container in a detached thread (or here, when no
 * thread can be made); the cleanup loop removes what a crash leaves.
 */
void sbx_run_box_release(sbx_ctx_t *ctx, sbx_run_box_t *box);

/*
 * At shutdown: waits until the removals under way are done, or the
 * deadline (CLOCK_REALTIME) passed (SBX_ERR).
 */
int sbx_run_box_join(const struct timespec *deadline);


#endif /* SBX_RUN_BOX_H */
