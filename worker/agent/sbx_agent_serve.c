
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The per-request process, forked by PID 1 with one connection: reads the
 * request's header, hands the request to its op (the first field) and
 * exits.  Each op has its own bound on the request body: exec's stdin is
 * read into memory first, a write's body is streamed by the op itself,
 * the other ops take none.  An op answers itself; when it fails, the rest
 * of the body is read and dropped and the error is the answer.
 */


#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "sbx_agent_core.h"


#define SBX_AGENT_READ_REQUEST_US  (10 * 1000000)


typedef int (*sbx_agent_op_pt)(sbx_agent_frame_t *frame,
    sbx_agent_error_t *err);


typedef struct {
    const char       *name;
    uint32_t          body_max;
    unsigned          streams;       /* reads its body itself */
    sbx_agent_op_pt   handler;
} sbx_agent_op_t;


static const sbx_agent_op_t  sbx_agent_ops[] = {
    { "exec",   SBX_AGENT_STDIN_MAX, 0, sbx_agent_exec },
    { "list",   0,                   0, sbx_agent_dir_list },
    { "read",   0,                   0, sbx_agent_file_read },
    { "write",  SBX_AGENT_WRITE_MAX, 1, sbx_agent_file_write },
    { "delete", 0,                   0, sbx_agent_dir_delete }
};


static void sbx_agent_serve_init(void);
static int sbx_agent_serve_op(sbx_agent_frame_t *frame,
    sbx_agent_error_t *err);
static const sbx_agent_op_t *sbx_agent_op_find(const sbx_agent_frame_t *frame,
    sbx_agent_error_t *err);


/*
 * Serves the one request of connection fd and exits.  Whatever happens,
 * sandboxd gets a response or, when there is nobody to answer or nothing
 * to say (the request never came whole), the connection closes.
 */
_Noreturn void
sbx_agent_serve(int fd)
{
    sbx_agent_error_t  err;
    sbx_agent_frame_t  frame;

    sbx_agent_serve_init();

    if (sbx_agent_read_header(fd,
                              sbx_agent_now_us() + SBX_AGENT_READ_REQUEST_US,
                              SBX_AGENT_WRITE_MAX, &frame, &err)
        != SBX_AGENT_OK
        || sbx_agent_serve_op(&frame, &err) != SBX_AGENT_OK)
    {
        if (err.code != NULL) {
            sbx_agent_respond_error(fd, &err);
        }
    }

    _exit(0);
}


/*
 * PID 1's handlers and mask come with the fork: SIGTERM and SIGINT get
 * their default action back, SIGCHLD stays blocked for exec's signalfd, a
 * command that closes its stdin early must not kill us with SIGPIPE, and
 * a write over the container's fsize limit fails with EFBIG (no_space)
 * rather than killing us with SIGXFSZ.  The command gets every signal's
 * default back (sbx_agent_spawn.c).
 */
static void
sbx_agent_serve_init(void)
{
    sigset_t  mask;

    (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);

    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    (void) sigprocmask(SIG_SETMASK, &mask, NULL);
}


/*
 * Runs the request's op.  On an error with an answer to give, what is
 * left of the body is read first; a body over the op's bound is not: the
 * request is a bug of sandboxd's, and the connection just closes after
 * the answer.
 */
static int
sbx_agent_serve_op(sbx_agent_frame_t *frame, sbx_agent_error_t *err)
{
    const sbx_agent_op_t  *op;

    op = sbx_agent_op_find(frame, err);
    if (op == NULL) {
        return SBX_AGENT_ERR;
    }

    if (frame->body_len > op->body_max) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "a body of %u bytes, %s takes at most %u",
                            frame->body_len, op->name, op->body_max);
        return SBX_AGENT_ERR;
    }

    if (!op->streams
        && sbx_agent_read_body(frame,
                               sbx_agent_now_us() + SBX_AGENT_READ_REQUEST_US,
                               err)
           != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    if (op->handler(frame, err) == SBX_AGENT_OK) {
        return SBX_AGENT_OK;
    }

    if (err->code != NULL && sbx_agent_body_drain(frame) != SBX_AGENT_OK) {
        err->code = NULL;
    }

    return SBX_AGENT_ERR;
}


/* The op named by the first field, which must be op. */
static const sbx_agent_op_t *
sbx_agent_op_find(const sbx_agent_frame_t *frame, sbx_agent_error_t *err)
{
    size_t         i;
    sbx_kv_t       kv;
    sbx_kv_iter_t  it;

    sbx_kv_iter_init(&it, frame->data, frame->header_len);

    if (sbx_kv_next(&it, &kv) != 1 || !sbx_kv_is(&kv, "op")) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST,
                            "the first field must be op");
        return NULL;
    }

    for (i = 0; i < sizeof(sbx_agent_ops) / sizeof(sbx_agent_ops[0]); i++) {
        if (strcmp(kv.value, sbx_agent_ops[i].name) == 0) {
            return &sbx_agent_ops[i];
        }
    }

    sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST, "unknown op \"%.64s\"",
                        kv.value);

    return NULL;
}
