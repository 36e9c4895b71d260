
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * read and write: the file operations on one regular file beneath
 * /workspace (sbx_agent_path.c resolves the paths).
 *
 * A read looks at the file through an O_PATH descriptor first and opens
 * it for reading only when it is a regular file, then checks again what
 * it opened (non-blocking, so that a FIFO swapped in between costs a
 * refusal, never a hang).  The file is streamed, never held in memory: in
 * a tmpfs /workspace it is charged to the container's memory already, and
 * a second copy of a big one would wake the OOM killer.  So the response
 * says st_size, and exactly that many bytes follow, whatever the sandbox
 * does to the file meanwhile: what it appends is left out, what it cuts
 * off is sent as zeros (a torn read, as any read of a file being
 * rewritten is).  Nothing over max is ever sent.
 *
 * A write streams the request body into a temporary file ".sbx-<random>"
 * beside the target, made with O_EXCL in the parent's descriptor, and
 * renames it over the target: a reader sees the old file or the new one,
 * a symlink at the target is replaced, not followed, and a failed write
 * leaves nothing behind.  Missing parents are made.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "sbx_agent_core.h"


#define SBX_AGENT_TMP_PREFIX   ".sbx-"
#define SBX_AGENT_TMP_TRIES    8
#define SBX_AGENT_FILE_CHUNK   (256 * 1024)
#define SBX_AGENT_FILE_MODE    0644        /* less the umask, as open() */


static int sbx_agent_file_open(int ws, const char *path, struct stat *st,
    sbx_agent_error_t *err);
static int sbx_agent_file_regular(int fd, struct stat *st,
    sbx_agent_error_t *err);
static int sbx_agent_file_send(int sock, int fd, uint64_t size,
    sbx_agent_error_t *err);
static int sbx_agent_file_target(int dir, const char *name, mode_t *mode,
    sbx_agent_error_t *err);
static int sbx_agent_file_tmp(int dir, char *tmp, size_t size, mode_t mode,
    sbx_agent_error_t *err);
static int sbx_agent_file_copy(sbx_agent_frame_t *frame, int fd,
    sbx_agent_error_t *err);
static int sbx_agent_file_respond(int fd, uint64_t size, uint64_t body_len);


/* op=read: "size=N" and the file as the body. */
int
sbx_agent_file_read(sbx_agent_frame_t *frame, sbx_agent_error_t *err)
{
    int                   ws, fd, rc;
    uint64_t              size;
    struct stat           st;
    sbx_agent_file_req_t  req;

    if (sbx_agent_request_file(&req, frame, SBX_AGENT_FILE_MAX, err)
        != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    ws = sbx_agent_workspace_open(err);
    if (ws == -1) {
        return SBX_AGENT_ERR;
    }

    fd = sbx_agent_file_open(ws, req.path, &st, err);
    close(ws);

    if (fd == -1) {
        return SBX_AGENT_ERR;
    }

    size = (uint64_t) st.st_size;

    if (size > req.max) {
        sbx_agent_error_set(err, SBX_AGENT_E_TOO_LARGE,
                            "%llu bytes, over %llu", (unsigned long long) size,
                            (unsigned long long) req.max);
        close(fd);
        return SBX_AGENT_ERR;
    }

    rc = sbx_agent_file_send(frame->fd, fd, size, err);
    close(fd);

    return rc;
}


/* op=write: the body becomes the file; "size=N". */
int
sbx_agent_file_write(sbx_agent_frame_t *frame, sbx_agent_error_t *err)
{
    int                   dir, fd, rc;
    char                 *name, tmp[32];
    mode_t                mode;
    sbx_agent_file_req_t  req;

    if (sbx_agent_request_file(&req, frame, 0, err) != SBX_AGENT_OK) {
        return SBX_AGENT_ERR;
    }

    dir = sbx_agent_path_parent_of(req.path, 1, &name, err);
    if (dir == -1) {
        return SBX_AGENT_ERR;
    }

    if (sbx_agent_file_target(dir, name, &mode, err) != SBX_AGENT_OK) {
        close(dir);
        return SBX_AGENT_ERR;
    }

    fd = sbx_agent_file_tmp(dir, tmp, sizeof(tmp), mode, err);
    if (fd == -1) {
        close(dir);
        return SBX_AGENT_ERR;
    }

    rc = sbx_agent_file_copy(frame, fd, err);

    if (close(fd) == -1 && rc == SBX_AGENT_OK) {
        sbx_agent_path_error(err, errno, "write");
        rc = SBX_AGENT_ERR;
    }

    if (rc == SBX_AGENT_OK && renameat(dir, tmp, dir, name) == -1) {
        sbx_agent_path_error(err, errno, "rename");
        rc = SBX_AGENT_ERR;
    }

    if (rc != SBX_AGENT_OK) {
        (void) unlinkat(dir, tmp, 0);
        close(dir);
        return SBX_AGENT_ERR;
    }

    close(dir);

    (void) sbx_agent_file_respond(frame->fd, frame->body_len, 0);

    return SBX_AGENT_OK;
}


/*
 * Opens a regular file for reading; *st is what was opened.  FIFOs,
 * sockets and devices are seen through O_PATH and refused before any open
 * for I/O; one swapped in after that look is opened non-blocking (no
 * hang) and refused all the same.
 */
static int
sbx_agent_file_open(int ws, const char *path, struct stat *st,
    sbx_agent_error_t *err)
{
    int  fd;

    fd = sbx_agent_path_open(ws, path, O_PATH, err);
    if (fd == -1) {
        return -1;
    }

    if (sbx_agent_file_regular(fd, st, err) != SBX_AGENT_OK) {
        close(fd);
        return -1;
    }

    close(fd);

    fd = sbx_agent_path_open(ws, path, O_RDONLY | O_NONBLOCK | O_NOCTTY,
                             err);
    if (fd == -1) {
        return -1;
    }

    if (sbx_agent_file_regular(fd, st, err) != SBX_AGENT_OK) {
        close(fd);
        return -1;
    }

    return fd;
}


static int
sbx_agent_file_regular(int fd, struct stat *st, sbx_agent_error_t *err)
{
    if (fstat(fd, st) == -1) {
        sbx_agent_path_error(err, errno, "stat");
        return SBX_AGENT_ERR;
    }

    if (S_ISREG(st->st_mode)) {
        return SBX_AGENT_OK;
    }

    sbx_agent_error_set(err, SBX_AGENT_E_NOT_A_FILE, "%s",
                        S_ISDIR(st->st_mode) ? "is a directory"
                                             : "not a regular file");

    return SBX_AGENT_ERR;
}


/*
 * The response to a read: "size=N" and exactly N bytes of fd, a chunk at
 * a time, zeros for what is no longer there.  Once the header is out an
 * error can only close the connection (err->code NULL).
 */
static int
sbx_agent_file_send(int sock, int fd, uint64_t size, sbx_agent_error_t *err)
{
    int        cut;
    size_t     want;
    ssize_t    n;
    uint8_t   *buf;
    uint64_t   off;

    buf = malloc(SBX_AGENT_FILE_CHUNK);
    if (buf == NULL) {
        sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "out of memory");
        return SBX_AGENT_ERR;
    }

    err->code = NULL;

    if (sbx_agent_file_respond(sock, size, size) != SBX_AGENT_OK) {
        free(buf);
        return SBX_AGENT_ERR;
    }

    cut = 0;

    for (off = 0; off < size; off += (uint64_t) n) {
        want = size - off < SBX_AGENT_FILE_CHUNK ? (size_t) (size - off)
                                                 : SBX_AGENT_FILE_CHUNK;
        n = cut ? 0 : read(fd, buf, want);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            cut = 1;
            memset(buf, 0, want);
            n = (ssize_t) want;
        }

        if (sbx_agent_write_all(sock, buf, (size_t) n) != SBX_AGENT_OK) {
            free(buf);
            return SBX_AGENT_ERR;
        }
    }

    free(buf);

    return SBX_AGENT_OK;
}


/*
 * What is at the target now: nothing, or anything but a directory (a
 * symlink is not followed: it is replaced).  A regular file's permission
 * bits go to the new one, so that rewriting a script keeps it
 * executable; else *mode is 0 (the default).
 */
static int
sbx_agent_file_target(int dir, const char *name, mode_t *mode,
    sbx_agent_error_t *err)
{
    struct stat  st;

    *mode = 0;

    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        if (errno == ENOENT) {
            return SBX_AGENT_OK;
        }

        sbx_agent_path_error(err, errno, "stat");
        return SBX_AGENT_ERR;
    }

    if (S_ISDIR(st.st_mode)) {
        sbx_agent_path_error(err, EISDIR, "write");
        return SBX_AGENT_ERR;
    }

    if (S_ISREG(st.st_mode)) {
        *mode = st.st_mode & 0777;
    }

    return SBX_AGENT_OK;
}


/*
 * Creates tmp, ".sbx-" and 16 random hex digits, in dir: O_EXCL, so that
 * nothing the sandbox put there (a symlink) is ever opened.
 */
static int
sbx_agent_file_tmp(int dir, char *tmp, size_t size, mode_t mode,
    sbx_agent_error_t *err)
{
    int                 fd, i;
    unsigned long long  r;

    for (i = 0; i < SBX_AGENT_TMP_TRIES; i++) {
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t) sizeof(r)) {
            r = (unsigned long long) sbx_agent_now_us() * 2654435761ULL
                ^ (unsigned long long) getpid() ^ (unsigned long long) i;
        }

        snprintf(tmp, size, "%s%016llx", SBX_AGENT_TMP_PREFIX, r);

        fd = openat(dir, tmp,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    SBX_AGENT_FILE_MODE);

        if (fd == -1 && errno == EEXIST) {
            continue;
        }

        if (fd == -1) {
            break;
        }

        if (mode != 0 && fchmod(fd, mode) == -1) {
            sbx_agent_path_error(err, errno, "chmod");
            close(fd);
            (void) unlinkat(dir, tmp, 0);
            return -1;
        }

        return fd;
    }

    sbx_agent_path_error(err, errno, "create");

    return -1;
}


/*
 * The request body into fd, a chunk at a time: never all of it in memory.
 * A peer that goes away leaves err->code NULL: nobody to answer.
 */
static int
sbx_agent_file_copy(sbx_agent_frame_t *frame, int fd, sbx_agent_error_t *err)
{
    size_t    off;
    ssize_t   n, w;
    uint8_t  *buf;

    buf = malloc(SBX_AGENT_FILE_CHUNK);
    if (buf == NULL) {
        sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "out of memory");
        return SBX_AGENT_ERR;
    }

    while ((n = sbx_agent_body_next(frame, buf, SBX_AGENT_FILE_CHUNK)) > 0) {
        for (off = 0; off < (size_t) n; off += (size_t) w) {
            w = write(fd, buf + off, (size_t) n - off);

            if (w == -1 && errno == EINTR) {
                w = 0;
                continue;
            }

            if (w == -1) {
                sbx_agent_path_error(err, errno, "write");
                free(buf);
                return SBX_AGENT_ERR;
            }
        }
    }

    free(buf);

    if (n == -1) {
        err->code = NULL;
        return SBX_AGENT_ERR;
    }

    return SBX_AGENT_OK;
}


/* "status=ok size=N", and the body_len bytes of body that the caller sends. */
static int
sbx_agent_file_respond(int fd, uint64_t size, uint64_t body_len)
{
    int           rc;
    sbx_kv_buf_t  h;

    sbx_kv_buf_init(&h, SBX_AGENT_RESPONSE_HEADER_MAX);
    sbx_kv_add_str(&h, "status", "ok");
    sbx_kv_add_number(&h, "size", size);

    rc = h.failed ? SBX_AGENT_ERR
                  : sbx_agent_write_head(fd, h.data, h.len, body_len);

    sbx_kv_buf_free(&h);

    return rc;
}
