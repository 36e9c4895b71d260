
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The in-container agent (docs/PROTOCOL.md, "The in-container agent").
 * PID 1 (sbx_agent.c) keeps idle connections open to sandboxd and forks a
 * process per request (sbx_agent_serve.c) that reads the request and
 * hands it to its op.  exec (sbx_agent_exec.c) checks the request
 * (sbx_agent_request.c), starts the command (sbx_agent_spawn.c), collects
 * its output, kills what is left at the timeout (sbx_agent_reap.c) and
 * answers, saying whether the OOM killer struck (sbx_agent_oom.c).  The
 * file operations (sbx_agent_files.c, sbx_agent_dir.c) resolve their
 * paths beneath /workspace (sbx_agent_path.c).  Private to worker/agent/
 * (worker/sbx_agent.h is sandboxd's side of the channel).
 */


#ifndef SBX_AGENT_CORE_H
#define SBX_AGENT_CORE_H


#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sbx_kv.h"


#define SBX_AGENT_OK    0
#define SBX_AGENT_ERR  -1

/* Error codes of an exec response, ... */
#define SBX_AGENT_E_BAD_REQUEST      "bad_request"
#define SBX_AGENT_E_BAD_WORKING_DIR  "bad_working_dir"
#define SBX_AGENT_E_SPAWN_FAILED     "spawn_failed"
#define SBX_AGENT_E_INTERNAL         "internal"

/* ... and of the file operations (bad_request too) */
#define SBX_AGENT_E_NOT_FOUND        "not_found"
#define SBX_AGENT_E_NOT_A_FILE       "not_a_file"
#define SBX_AGENT_E_IS_A_DIRECTORY   "is_a_directory"
#define SBX_AGENT_E_NOT_A_DIRECTORY  "not_a_directory"
#define SBX_AGENT_E_ESCAPE           "escape"
#define SBX_AGENT_E_TOO_LARGE        "too_large"
#define SBX_AGENT_E_NO_SPACE         "no_space"
#define SBX_AGENT_E_IO_ERROR         "io_error"

#define SBX_AGENT_MSG_MAX            1024
#define SBX_AGENT_RLIMIT_MAX         7       /* the names the protocol has */
#define SBX_AGENT_RESPONSE_HEADER_MAX  4096

/* request bodies: exec's stdin is held in memory, write's is streamed */
#define SBX_AGENT_STDIN_MAX          (1024 * 1024)
#define SBX_AGENT_WRITE_MAX          (256 * 1024 * 1024)

#define SBX_AGENT_PATH_MAX           4096    /* bytes of a workspace path */
#define SBX_AGENT_NAME_MAX           255     /* bytes of one component */
#define SBX_AGENT_LIST_MAX           100000  /* list's limit */
#define SBX_AGENT_READ_MAX           (1024 * 1024 * 1024)   /* read's max */

/* what a file operation's request holds besides path */
#define SBX_AGENT_FILE_LIMIT         0x01    /* limit= (list) */
#define SBX_AGENT_FILE_MAX           0x02    /* max= (read) */
#define SBX_AGENT_FILE_DOT           0x04    /* path=. names /workspace */


/*
 * An error the caller owns.  code is NULL when no answer can be given (the
 * peer left or sent nothing in time): the connection is just closed.
 */
typedef struct {
    const char  *code;
    char         msg[SBX_AGENT_MSG_MAX];
} sbx_agent_error_t;


/*
 * A request: its header, then its body once read whole, in one
 * allocation.  body_left counts the bytes of the body still on the
 * connection (an op that streams its body reads them itself).
 */
typedef struct {
    int       fd;                        /* the connection */
    uint8_t  *data;
    uint32_t  header_len;
    uint32_t  body_len;
    uint32_t  body_left;
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


/* A file operation's request; path is a copy the op may cut in two. */
typedef struct {
    char      path[SBX_AGENT_PATH_MAX + 1];
    size_t    path_len;
    uint64_t  limit;
    uint64_t  max;
} sbx_agent_file_req_t;


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


/* sbx_agent_io.c: clock, errors, frames with a deadline */
int64_t sbx_agent_now_us(void);
void sbx_agent_sleep_us(int64_t us);
int sbx_agent_poll_ms(int64_t deadline_us, int64_t now_us);
void sbx_agent_error_set(sbx_agent_error_t *err, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int sbx_agent_read_header(int fd, int64_t deadline_us, uint32_t body_max,
    sbx_agent_frame_t *f, sbx_agent_error_t *err);
int sbx_agent_read_body(sbx_agent_frame_t *f, int64_t deadline_us,
    sbx_agent_error_t *err);
ssize_t sbx_agent_body_next(sbx_agent_frame_t *f, void *buf, size_t len);
int sbx_agent_body_drain(sbx_agent_frame_t *f);
int sbx_agent_write_frame(int fd, const void *header, size_t header_len,
    const struct iovec *body, int nbody);
int sbx_agent_write_head(int fd, const void *header, size_t header_len,
    uint64_t body_len);
int sbx_agent_write_all(int fd, const void *buf, size_t len);
void sbx_agent_respond_error(int fd, const sbx_agent_error_t *err);

/* sbx_agent_request.c: the fields of exec and of the file operations */
int sbx_agent_request_parse(sbx_agent_req_t *req,
    const sbx_agent_frame_t *frame, sbx_agent_error_t *err);
int sbx_agent_request_file(sbx_agent_file_req_t *req,
    const sbx_agent_frame_t *frame, unsigned fields, sbx_agent_error_t *err);

/* sbx_agent_spawn.c */
int sbx_agent_spawn(const sbx_agent_req_t *req, sbx_agent_proc_t *proc,
    sbx_agent_error_t *err);

/* sbx_agent_reap.c */
int sbx_agent_reap(sbx_agent_child_t *main);
void sbx_agent_kill_all(sbx_agent_child_t *main);

/* sbx_agent_oom.c: the container's OOM-kill counter */
int64_t sbx_agent_oom_kills(void);
int sbx_agent_oom_killed(int64_t before);

/* sbx_agent_exec.c */
int sbx_agent_exec(sbx_agent_frame_t *frame, sbx_agent_error_t *err);

/* sbx_agent_path.c: workspace paths, resolved beneath /workspace */
void sbx_agent_path_init(void);
int sbx_agent_path_check(const char *path, size_t len, int allow_dot,
    sbx_agent_error_t *err);
int sbx_agent_workspace_open(sbx_agent_error_t *err);
int sbx_agent_path_open(int ws, const char *path, int flags,
    sbx_agent_error_t *err);
int sbx_agent_path_parent(int ws, char *path, int create, char **name,
    sbx_agent_error_t *err);
int sbx_agent_path_parent_of(char *path, int create, char **name,
    sbx_agent_error_t *err);
void sbx_agent_path_error(sbx_agent_error_t *err, int e, const char *what);

/* sbx_agent_files.c: read and write */
int sbx_agent_file_read(sbx_agent_frame_t *frame, sbx_agent_error_t *err);
int sbx_agent_file_write(sbx_agent_frame_t *frame, sbx_agent_error_t *err);

/* sbx_agent_dir.c: list and delete */
int sbx_agent_dir_list(sbx_agent_frame_t *frame, sbx_agent_error_t *err);
int sbx_agent_dir_delete(sbx_agent_frame_t *frame, sbx_agent_error_t *err);

/* sbx_agent_serve.c */
_Noreturn void sbx_agent_serve(int fd);


#endif /* SBX_AGENT_CORE_H */
