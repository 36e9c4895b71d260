
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The in-container agent (docs/PROTOCOL.md, "The in-container agent").
 * PID 1 (sbx_agent.c) keeps idle connections open to sandboxd and forks a
 * process per request (sbx_agent_exec.c) that reads the request
 * (sbx_agent_request.c), starts the command (sbx_agent_spawn.c), collects
 * its output, kills what is left at the timeout (sbx_agent_reap.c) and
 * answers.  Private to worker/agent/ (worker/sbx_agent.h is sandboxd's
 * side of the channel).
 */


#ifndef SBX_AGENT_CORE_H
#define SBX_AGENT_CORE_H


#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/uio.h>


#define SBX_AGENT_OK    0
#define SBX_AGENT_ERR  -1

/* Error codes of an exec response. */
#define SBX_AGENT_E_BAD_REQUEST      "bad_request"
#define SBX_AGENT_E_BAD_WORKING_DIR  "bad_working_dir"
#define SBX_AGENT_E_SPAWN_FAILED     "spawn_failed"
#define SBX_AGENT_E_INTERNAL         "internal"

#define SBX_AGENT_MSG_MAX            1024
#define SBX_AGENT_RLIMIT_MAX         7       /* the names the protocol has */


/*
 * An error the caller owns.  code is NULL when no answer can be given (the
 * peer left or sent nothing in time): the connection is just closed.
 */
typedef struct {
    const char  *code;
    char         msg[SBX_AGENT_MSG_MAX];
} sbx_agent_error_t;


/* A frame read whole: its header, then its body, in one allocation. */
typedef struct {
    uint8_t  *data;
    uint32_t  header_len;
    uint32_t  body_len;
} sbx_agent_frame_t;


typedef struct {
    const char  *name;
    int          resource;
    rlim_t       value;
} sbx_agent_rlimit_t;


/* An exec request; its strings point into the frame it was read from. */
typedef struct {
    char              **argv;
    char              **envp;
    const char         *cwd;
    const char         *path;            /* PATH of envp, or the default */
    const uint8_t      *stdin_data;
    size_t              stdin_len;
    uint64_t            timeout_ms;
    uint64_t            output_limit;
    sbx_agent_rlimit_t  rlimit[SBX_AGENT_RLIMIT_MAX];
    size_t              nrlimit;
} sbx_agent_req_t;


/* The started command: its process and the parent's ends of its pipes. */
typedef struct {
    pid_t    pid;
    int      in_fd;                      /* -1: stdin is /dev/null */
    int      out_fd;
    int      err_fd;
    int64_t  start_us;                   /* just before fork() */
} sbx_agent_proc_t;


/* The command's main process, as the reaper saw it. */
typedef struct {
    pid_t          pid;
    int            exited;
    int            status;
    struct rusage  ru;
    int64_t        end_us;
} sbx_agent_child_t;


/* sbx_agent_io.c: clock, errors, whole frames with a deadline */
int64_t sbx_agent_now_us(void);
void sbx_agent_sleep_us(int64_t us);
int sbx_agent_poll_ms(int64_t deadline_us, int64_t now_us);
void sbx_agent_error_set(sbx_agent_error_t *err, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int sbx_agent_read_frame(int fd, int64_t deadline_us, sbx_agent_frame_t *f,
    sbx_agent_error_t *err);
int sbx_agent_write_frame(int fd, const void *header, size_t header_len,
    const struct iovec *body, int nbody);

/* sbx_agent_request.c */
int sbx_agent_request_parse(sbx_agent_req_t *req,
    const sbx_agent_frame_t *frame, sbx_agent_error_t *err);

/* sbx_agent_spawn.c */
int sbx_agent_spawn(const sbx_agent_req_t *req, sbx_agent_proc_t *proc,
    sbx_agent_error_t *err);

/* sbx_agent_reap.c */
int sbx_agent_reap(sbx_agent_child_t *main);
void sbx_agent_kill_all(sbx_agent_child_t *main);

/* sbx_agent_exec.c */
_Noreturn void sbx_agent_serve(int fd);


#endif /* SBX_AGENT_CORE_H */
