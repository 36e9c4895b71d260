
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Workspace paths for the file operations: the check of a path's shape,
 * and its resolution beneath a descriptor of /workspace.  With openat2()
 * and RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS the kernel follows the
 * symlinks that stay inside the workspace and fails (EXDEV, ELOOP) on one
 * that leads out, at the moment of the lookup: however often the sandbox
 * swaps a link, nothing outside is ever opened.  Without openat2() (Linux
 * before 5.6, or a seccomp profile that does not know it) every component
 * is opened on its own with O_NOFOLLOW, and every symlink is refused.
 *
 * SBX_AGENT_NO_OPENAT2=1 in the agent's environment, read at start-up,
 * forces that walk.  It is for tests only: it makes the fallback
 * reachable on a kernel that has openat2().
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "sbx_agent_core.h"


#define SBX_AGENT_WORKSPACE        "/workspace"
#define SBX_AGENT_RESOLVE          (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
#define SBX_AGENT_RESOLVE_TRIES    32     /* EAGAIN: a rename raced it */


/* set once in PID 1, inherited by every request; or at the first ENOSYS */
static int  sbx_agent_no_openat2;


static int sbx_agent_openat2(int dir, const char *path, int flags,
    uint64_t resolve);
static int sbx_agent_resolve(int ws, const char *path, int flags);
static int sbx_agent_walk(int ws, const char *path, int flags);
static int sbx_agent_walk_one(int dir, const char *name, int flags);
static int sbx_agent_parent_create(int ws, char *path);


/*
 * In PID 1, before any request: whether openat2() works here.  A kernel
 * without it says ENOSYS; an older seccomp profile may say EPERM, which
 * no real lookup of "/" would.
 */
void
sbx_agent_path_init(void)
{
    int          fd;
    const char  *v;

    v = getenv("SBX_AGENT_NO_OPENAT2");

    if (v != NULL && strcmp(v, "1") == 0) {
        sbx_agent_no_openat2 = 1;
        fprintf(stderr, "sbx-agent: SBX_AGENT_NO_OPENAT2=1 (tests only): "
                "symlinks in the workspace are refused\n");
        return;
    }

    fd = sbx_agent_openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY,
                           RESOLVE_NO_MAGICLINKS);
    if (fd == -1) {
        sbx_agent_no_openat2 = 1;
        fprintf(stderr, "sbx-agent: openat2: %s: symlinks in the workspace "
                "are refused\n", strerror(errno));
        return;
    }

    close(fd);
}


/*
 * Relative, 1..SBX_AGENT_PATH_MAX bytes, components of 1..SBX_AGENT_NAME_MAX
 * bytes, none "." or "..".  With allow_dot, "." alone names /workspace.
 * sandboxd checked it already; this agent trusts nobody.
 */
int
sbx_agent_path_check(const char *path, size_t len, int allow_dot,
    sbx_agent_error_t *err)
{
    size_t       n;
    const char  *c, *end, *slash, *why;

    if (allow_dot && len == 1 && path[0] == '.') {
        return SBX_AGENT_OK;
    }

    why = NULL;

    if (len == 0 || len > SBX_AGENT_PATH_MAX) {
        why = "is not 1..4096 bytes";

    } else if (path[0] == '/') {
        why = "is absolute";
    }

    end = path + len;

    for (c = path; why == NULL && c <= end; c = slash + 1) {
        slash = memchr(c, '/', (size_t) (end - c));
        if (slash == NULL) {
            slash = end;
        }

        n = (size_t) (slash - c);

        if (n == 0) {
            why = "has an empty component";

        } else if (n > SBX_AGENT_NAME_MAX) {
            why = "has a component over 255 bytes";

        } else if (c[0] == '.' && (n == 1 || (n == 2 && c[1] == '.'))) {
            why = "has a \".\" or \"..\" component";
        }
    }

    if (why != NULL) {
        sbx_agent_error_set(err, SBX_AGENT_E_BAD_REQUEST, "path %s", why);
        return SBX_AGENT_ERR;
    }

    return SBX_AGENT_OK;
}


/* /workspace itself, the root every path is resolved beneath. */
int
sbx_agent_workspace_open(sbx_agent_error_t *err)
{
    int  fd;

    fd = open(SBX_AGENT_WORKSPACE, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd == -1) {
        sbx_agent_error_set(err, SBX_AGENT_E_IO_ERROR, "%s: %s",
                            SBX_AGENT_WORKSPACE, strerror(errno));
    }

    return fd;
}


/*
 * Opens a checked path beneath ws with flags (never O_CREAT), close-on-
 * exec.  A final symlink is followed when it stays inside the workspace.
 */
int
sbx_agent_path_open(int ws, const char *path, int flags,
    sbx_agent_error_t *err)
{
    int  fd;

    fd = sbx_agent_resolve(ws, path, flags);

    if (fd == -1) {
        sbx_agent_path_error(err, errno, "open");
    }

    return fd;
}


/*
 * Cuts a checked path (not ".") in two: the directory it is in, opened
 * O_PATH beneath ws and returned, and its last component, *name, which
 * the *at() calls then use without following it.  With create, missing
 * directories are made, as mkdir -p does.  path is modified.
 */
int
sbx_agent_path_parent(int ws, char *path, int create, char **name,
    sbx_agent_error_t *err)
{
    int    fd;
    char  *slash;

    slash = strrchr(path, '/');

    if (slash == NULL) {
        *name = path;
        fd = fcntl(ws, F_DUPFD_CLOEXEC, 0);

    } else {
        *slash = '\0';
        *name = slash + 1;

        fd = sbx_agent_resolve(ws, path, O_PATH | O_DIRECTORY);

        if (fd == -1 && errno == ENOENT && create) {
            fd = sbx_agent_parent_create(ws, path);
        }
    }

    if (fd == -1) {
        sbx_agent_path_error(err, errno, "parent directory");
    }

    return fd;
}


/*
 * The error code of a failed lookup or file operation.  Messages stay
 * short and never repeat the path: sandboxd knows it.
 */
void
sbx_agent_path_error(sbx_agent_error_t *err, int e, const char *what)
{
    switch (e) {

    case ENOENT:
        sbx_agent_error_set(err, SBX_AGENT_E_NOT_FOUND,
                            "%s: no such file or directory", what);
        break;

    case ENOTDIR:
        sbx_agent_error_set(err, SBX_AGENT_E_NOT_A_DIRECTORY,
                            "%s: not a directory", what);
        break;

    case EISDIR:
        sbx_agent_error_set(err, SBX_AGENT_E_IS_A_DIRECTORY,
                            "%s: is a directory", what);
        break;

    case EXDEV:
    case ELOOP:
        sbx_agent_error_set(err, SBX_AGENT_E_ESCAPE, "%s: %s", what,
                            sbx_agent_no_openat2
                            ? "symlinks are not followed (no openat2)"
                            : "a symlink leads out of the workspace");
        break;

    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        sbx_agent_error_set(err, SBX_AGENT_E_NO_SPACE, "%s: %s", what,
                            strerror(e));
        break;

    default:
        sbx_agent_error_set(err, SBX_AGENT_E_IO_ERROR, "%s: %s", what,
                            strerror(e));
        break;
    }
}


/* openat2() is not in glibc 2.36: the raw system call. */
static int
sbx_agent_openat2(int dir, const char *path, int flags, uint64_t resolve)
{
    struct open_how  how;

    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t) (flags | O_CLOEXEC);
    how.resolve = resolve;

    return (int) syscall(SYS_openat2, dir, path, &how, sizeof(how));
}


/*
 * Opens path beneath ws: -1 and errno on failure, EXDEV or ELOOP for a
 * symlink that leads out (any symlink, without openat2()).  A lookup that
 * went through ".." while something was renamed fails with EAGAIN and is
 * tried again: the sandbox can make it fail, never make it escape.
 */
static int
sbx_agent_resolve(int ws, const char *path, int flags)
{
    int  fd, i;

    for (i = 0; i < SBX_AGENT_RESOLVE_TRIES; i++) {
        if (sbx_agent_no_openat2) {
            return sbx_agent_walk(ws, path, flags);
        }

        fd = sbx_agent_openat2(ws, path, flags, SBX_AGENT_RESOLVE);

        if (fd != -1) {
            return fd;
        }

        if (errno == ENOSYS) {
            sbx_agent_no_openat2 = 1;
            continue;
        }

        if (errno != EAGAIN && errno != EINTR) {
            return -1;
        }
    }

    return -1;
}


/* Without openat2(): component by component, each never followed. */
static int
sbx_agent_walk(int ws, const char *path, int flags)
{
    int     dir, fd, e;
    char    buf[SBX_AGENT_PATH_MAX + 1], *c, *slash;
    size_t  len;

    len = strlen(path);

    if (len > SBX_AGENT_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }

    memcpy(buf, path, len + 1);

    dir = ws;

    for (c = buf; (slash = strchr(c, '/')) != NULL; c = slash + 1) {
        *slash = '\0';

        fd = sbx_agent_walk_one(dir, c, O_PATH | O_DIRECTORY);
        e = errno;

        if (dir != ws) {
            close(dir);
        }

        if (fd == -1) {
            errno = e;
            return -1;
        }

        dir = fd;
    }

    fd = sbx_agent_walk_one(dir, c, flags);
    e = errno;

    if (dir != ws) {
        close(dir);
    }

    errno = e;

    return fd;
}


/*
 * One component of dir, opened with flags if it is no symlink.  O_PATH |
 * O_NOFOLLOW opens a symlink itself, so a symlink (ELOOP) is told apart
 * from a file where a directory is needed (ENOTDIR); what is opened for
 * more than O_PATH is opened again with O_NOFOLLOW, in case it was
 * swapped in between.
 */
static int
sbx_agent_walk_one(int dir, const char *name, int flags)
{
    int          fd;
    struct stat  st;

    fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    if (fstat(fd, &st) == -1) {
        goto failed;
    }

    if (S_ISLNK(st.st_mode)) {
        errno = ELOOP;
        goto failed;
    }

    if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        goto failed;
    }

    if ((flags & O_PATH) == O_PATH) {
        return fd;
    }

    close(fd);

    fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC);

    /* O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a symlink swapped in */
    if (fd == -1 && errno == ENOTDIR
        && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0
        && S_ISLNK(st.st_mode))
    {
        errno = ELOOP;
    }

    return fd;

failed:

    close(fd);

    return -1;
}


/*
 * mkdir -p beneath ws.  Each prefix of path is resolved from ws, so that
 * a symlink in it is judged as the whole path would be (one to "../x" may
 * stay inside), and a missing one is made in the directory just resolved,
 * mode 0755 (less the umask).  Quadratic in the number of components, but
 * only when some are missing.  Returns the last directory, O_PATH.
 */
static int
sbx_agent_parent_create(int ws, char *path)
{
    int    dir, fd, e;
    char  *c, *slash;

    dir = -1;

    for (c = path; ; c = slash + 1) {
        slash = strchr(c, '/');
        if (slash != NULL) {
            *slash = '\0';
        }

        fd = sbx_agent_resolve(ws, path, O_PATH | O_DIRECTORY);

        if (fd == -1 && errno == ENOENT) {
            if (mkdirat(dir == -1 ? ws : dir, c, 0755) == -1
                && errno != EEXIST)
            {
                goto failed;
            }

            fd = sbx_agent_resolve(ws, path, O_PATH | O_DIRECTORY);

            if (fd == -1 && errno == ENOENT) {
                /* a dangling symlink in the way, or a rmdir racing us */
                errno = ENOTDIR;
            }
        }

        if (fd == -1) {
            goto failed;
        }

        if (dir != -1) {
            close(dir);
        }

        dir = fd;

        if (slash == NULL) {
            return dir;
        }

        *slash = '/';
    }

failed:

    e = errno;

    if (dir != -1) {
        close(dir);
    }

    errno = e;

    return -1;
}


/*
 * The directory the request's path is in, opened beneath a fresh
 * descriptor of /workspace (see sbx_agent_path_parent()), or -1.
 */
int
sbx_agent_path_parent_of(char *path, int create, char **name,
    sbx_agent_error_t *err)
{
    int  ws, dir;

    ws = sbx_agent_workspace_open(err);
    if (ws == -1) {
        return -1;
    }

    dir = sbx_agent_path_parent(ws, path, create, name, err);
    close(ws);

    return dir;
}
