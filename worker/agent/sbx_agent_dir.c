
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * list and delete: the file operations on directories beneath /workspace
 * (sbx_agent_path.c resolves the paths).
 *
 * A list reads up to limit entries (one more says truncated=1), looks at
 * each with fstatat(AT_SYMLINK_NOFOLLOW) and answers them sorted by name,
 * byte by byte, each as the fields name=, type=, size=, mtime=.
 *
 * A delete unlinks what its path names, never following it: a symlink
 * goes, not what it points to.  A directory is emptied first, through
 * descriptors only (openat(O_NOFOLLOW | O_DIRECTORY), fdopendir(),
 * unlinkat()), so that a symlink swapped in for a subdirectory is removed
 * as a symlink and nothing outside is ever reached.  The depth is bounded,
 * as are the extra passes over directories that the sandbox refills while
 * they are being emptied.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sbx_agent_core.h"


/* the longest entry: name=<255 bytes>, type=symlink, size=, mtime= */
#define SBX_AGENT_ENTRY_MAX     (261 + 13 + 26 + 27)

#define SBX_AGENT_RM_DEPTH      256
#define SBX_AGENT_RM_PASSES     64


typedef struct {
    char        *name;
    const char  *type;
    uint64_t     size;
    uint64_t     mtime;
} sbx_agent_entry_t;


typedef struct {
    sbx_agent_entry_t  *entry;
    size_t              n;
    size_t              cap;
    int                 truncated;
} sbx_agent_listing_t;


typedef struct {
    unsigned            depth;
    unsigned            passes;     /* over refilled directories, in all */
    sbx_agent_error_t  *err;
} sbx_agent_rm_t;


static int sbx_agent_dir_read(DIR *d, size_t limit, sbx_agent_listing_t *l,
    sbx_agent_error_t *err);
static int sbx_agent_dir_entry(int fd, const struct dirent *de,
    sbx_agent_entry_t *e);
static int sbx_agent_entry_cmp(const void *a, const void *b);
static int sbx_agent_dir_respond(int fd, const sbx_agent_listing_t *l);
static void sbx_agent_listing_free(sbx_agent_listing_t *l);
static int sbx_agent_rm_tree(int dir, const char *name, sbx_agent_rm_t *rm);
static int sbx_agent_rm_children(int fd, sbx_agent_rm_t *rm);


/* op=list: "entries=N truncated=0|1" and the entries as the body. */
int
sbx_agent_dir_list(sbx_agent_frame_t *frame, sbx_agent_error_t *err)
{
    int                   ws, fd, rc;
    DIR                  *d;
    sbx_agent_listing_t   l;
    sbx_agent_file_req_t  req;

    if (sbx_agent_request_file(&req, frame,
                               SBX_AGENT_FILE_LIMIT | SBX_AGENT_FILE_DOT, err)
        != SBX_AGENT_OK)
    {
        return SBX_AGENT_ERR;
    }

    ws = sbx_agent_workspace_open(err);
    if (ws == -1) {
        return SBX_AGENT_ERR;
    }

    /* O_DIRECTORY: anything else fails (ENOTDIR) before it is opened */
    fd = sbx_agent_path_open(ws, req.path, O_RDONLY | O_DIRECTORY, err);
    close(ws);

    if (fd == -1) {
        return SBX_AGENT_ERR;
    }

    d = fdopendir(fd);
    if (d == NULL) {
        sbx_agent_path_error(err, errno, "opendir");
        close(fd);
        return SBX_AGENT_ERR;
    }

    memset(&l, 0, sizeof(l));

    rc = sbx_agent_dir_read(d, (size_t) req.limit, &l, err);
    closedir(d);

    if (rc == SBX_AGENT_OK) {
        if (l.n > 1) {
            qsort(l.entry, l.n, sizeof(sbx_agent_entry_t),
                  sbx_agent_entry_cmp);
        }

        rc = sbx_agent_dir_respond(frame->fd, &l);

        if (rc != SBX_AGENT_OK) {
            sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "out of memory");
        }
    }

    sbx_agent_listing_free(&l);

    return rc;
}


/* op=delete: "status=ok" and nothing more. */
int
sbx_agent_dir_delete(sbx_agent_frame_t *frame, sbx_agent_error_t *err)
{
    int                   dir, rc;
    char                 *name;
    sbx_kv_buf_t          h;
    sbx_agent_rm_t        rm;
    sbx_agent_file_req_t  req;

    if (sbx_agent_request_file(&req, frame, 0, err) != SBX_AGENT_OK) {
        return SBX_AGENT_ERR;
    }

    dir = sbx_agent_path_parent_of(req.path, 0, &name, err);
    if (dir == -1) {
        return SBX_AGENT_ERR;
    }

    rc = SBX_AGENT_OK;

    /* Linux says EISDIR for a directory, POSIX EPERM */
    if (unlinkat(dir, name, 0) == -1) {
        if (errno == EISDIR || errno == EPERM) {
            rm.depth = 0;
            rm.passes = 0;
            rm.err = err;

            rc = sbx_agent_rm_tree(dir, name, &rm);

        } else {
            sbx_agent_path_error(err, errno, "unlink");
            rc = SBX_AGENT_ERR;
        }
    }

    close(dir);

    if (rc != SBX_AGENT_OK) {
        return SBX_AGENT_ERR;
    }

    sbx_kv_buf_init(&h, SBX_AGENT_RESPONSE_HEADER_MAX);
    sbx_kv_add_str(&h, "status", "ok");

    if (!h.failed) {
        (void) sbx_agent_write_frame(frame->fd, h.data, h.len, NULL, 0);
    }

    sbx_kv_buf_free(&h);

    return SBX_AGENT_OK;
}


/*
 * Up to limit entries of d but "." and ".."; finding one more sets
 * l->truncated.  An entry gone since readdir() is left out.
 */
static int
sbx_agent_dir_read(DIR *d, size_t limit, sbx_agent_listing_t *l,
    sbx_agent_error_t *err)
{
    size_t              cap;
    struct dirent      *de;
    sbx_agent_entry_t  *p;

    for ( ;; ) {
        errno = 0;
        de = readdir(d);

        if (de == NULL) {
            if (errno != 0) {
                sbx_agent_path_error(err, errno, "readdir");
                return SBX_AGENT_ERR;
            }

            return SBX_AGENT_OK;
        }

        if (de->d_name[0] == '.'
            && (de->d_name[1] == '\0'
                || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
        {
            continue;
        }

        if (l->n == limit) {
            l->truncated = 1;
            return SBX_AGENT_OK;
        }

        if (l->n == l->cap) {
            cap = l->cap ? l->cap * 2 : 64;
            cap = cap < limit ? cap : limit;

            p = realloc(l->entry, cap * sizeof(sbx_agent_entry_t));
            if (p == NULL) {
                goto nomem;
            }

            l->entry = p;
            l->cap = cap;
        }

        switch (sbx_agent_dir_entry(dirfd(d), de, &l->entry[l->n])) {
        case SBX_AGENT_OK:
            l->n++;
            break;
        case SBX_AGENT_ERR:
            goto nomem;
        default:
            break;
        }
    }

nomem:

    sbx_agent_error_set(err, SBX_AGENT_E_INTERNAL, "out of memory");

    return SBX_AGENT_ERR;
}


/*
 * One entry, not followed when a symlink: SBX_AGENT_OK, 1 when it is gone
 * already, SBX_AGENT_ERR out of memory.  One that cannot be looked at
 * (a directory without search permission) keeps its d_type, size and
 * mtime 0.
 */
static int
sbx_agent_dir_entry(int fd, const struct dirent *de, sbx_agent_entry_t *e)
{
    struct stat  st;

    if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        if (errno == ENOENT) {
            return 1;
        }

        memset(&st, 0, sizeof(st));
        st.st_mode = de->d_type == DT_REG ? S_IFREG
                     : de->d_type == DT_DIR ? S_IFDIR
                     : de->d_type == DT_LNK ? S_IFLNK : 0;
    }

    e->name = strdup(de->d_name);
    if (e->name == NULL) {
        return SBX_AGENT_ERR;
    }

    e->type = S_ISREG(st.st_mode) ? "file"
              : S_ISDIR(st.st_mode) ? "dir"
              : S_ISLNK(st.st_mode) ? "symlink" : "other";
    e->size = st.st_size > 0 ? (uint64_t) st.st_size : 0;
    e->mtime = st.st_mtim.tv_sec > 0 ? (uint64_t) st.st_mtim.tv_sec : 0;

    return SBX_AGENT_OK;
}


static int
sbx_agent_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const sbx_agent_entry_t *) a)->name,
                  ((const sbx_agent_entry_t *) b)->name);
}


static int
sbx_agent_dir_respond(int fd, const sbx_agent_listing_t *l)
{
    int           rc;
    size_t        i;
    struct iovec  body;
    sbx_kv_buf_t  h, b;

    sbx_kv_buf_init(&h, SBX_AGENT_RESPONSE_HEADER_MAX);
    sbx_kv_add_str(&h, "status", "ok");
    sbx_kv_add_number(&h, "entries", l->n);
    sbx_kv_add_number(&h, "truncated", l->truncated ? 1 : 0);

    sbx_kv_buf_init(&b, l->n * SBX_AGENT_ENTRY_MAX);

    for (i = 0; i < l->n; i++) {
        sbx_kv_add_str(&b, "name", l->entry[i].name);
        sbx_kv_add_str(&b, "type", l->entry[i].type);
        sbx_kv_add_number(&b, "size", l->entry[i].size);
        sbx_kv_add_number(&b, "mtime", l->entry[i].mtime);
    }

    rc = SBX_AGENT_ERR;

    if (!h.failed && !b.failed) {
        body.iov_base = b.data;
        body.iov_len = b.len;

        (void) sbx_agent_write_frame(fd, h.data, h.len, &body,
                                     b.len ? 1 : 0);
        rc = SBX_AGENT_OK;
    }

    sbx_kv_buf_free(&h);
    sbx_kv_buf_free(&b);

    return rc;
}


static void
sbx_agent_listing_free(sbx_agent_listing_t *l)
{
    size_t  i;

    for (i = 0; i < l->n; i++) {
        free(l->entry[i].name);
    }

    free(l->entry);
}


/*
 * Removes directory name of dir with all it holds.  It is opened
 * O_NOFOLLOW | O_DIRECTORY: when the sandbox swapped it for a symlink or a
 * file meanwhile, that is unlinked instead.  A directory refilled while it
 * was emptied is emptied again, within SBX_AGENT_RM_PASSES for the whole
 * tree.
 */
static int
sbx_agent_rm_tree(int dir, const char *name, sbx_agent_rm_t *rm)
{
    int  fd, rc;

    if (rm->depth >= SBX_AGENT_RM_DEPTH) {
        sbx_agent_error_set(rm->err, SBX_AGENT_E_IO_ERROR,
                            "delete: directories nested over %d deep",
                            SBX_AGENT_RM_DEPTH);
        return SBX_AGENT_ERR;
    }

    for ( ;; ) {
        fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                               | O_CLOEXEC);

        if (fd == -1) {
            if (errno == ENOENT) {
                return SBX_AGENT_OK;
            }

            if ((errno != ENOTDIR && errno != ELOOP)
                || (unlinkat(dir, name, 0) == -1 && errno != ENOENT))
            {
                sbx_agent_path_error(rm->err, errno, "delete");
                return SBX_AGENT_ERR;
            }

            return SBX_AGENT_OK;
        }

        rm->depth++;
        rc = sbx_agent_rm_children(fd, rm);
        rm->depth--;

        if (rc != SBX_AGENT_OK) {
            return SBX_AGENT_ERR;
        }

        if (unlinkat(dir, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
            return SBX_AGENT_OK;
        }

        if ((errno != ENOTEMPTY && errno != EEXIST)
            || rm->passes++ >= SBX_AGENT_RM_PASSES)
        {
            sbx_agent_path_error(rm->err, errno, "rmdir");
            return SBX_AGENT_ERR;
        }
    }
}


/* Unlinks every entry of directory fd, which it closes. */
static int
sbx_agent_rm_children(int fd, sbx_agent_rm_t *rm)
{
    DIR            *d;
    struct dirent  *de;

    d = fdopendir(fd);
    if (d == NULL) {
        sbx_agent_path_error(rm->err, errno, "opendir");
        close(fd);
        return SBX_AGENT_ERR;
    }

    for ( ;; ) {
        errno = 0;
        de = readdir(d);

        if (de == NULL) {
            break;
        }

        if (de->d_name[0] == '.'
            && (de->d_name[1] == '\0'
                || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
        {
            continue;
        }

        if (unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT) {
            continue;
        }

        if (errno == EISDIR || errno == EPERM) {
            if (sbx_agent_rm_tree(fd, de->d_name, rm) == SBX_AGENT_OK) {
                continue;
            }

        } else {
            sbx_agent_path_error(rm->err, errno, "delete");
        }

        closedir(d);
        return SBX_AGENT_ERR;
    }

    if (errno != 0) {
        sbx_agent_path_error(rm->err, errno, "readdir");
        closedir(d);
        return SBX_AGENT_ERR;
    }

    closedir(d);

    return SBX_AGENT_OK;
}
