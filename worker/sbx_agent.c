
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Host side of the agent channels.  Every path is reached through a
 * directory descriptor opened with O_NOFOLLOW from the instance directory,
 * which sandboxd owns and no sandbox sees; the listening sockets are bound
 * through /proc/self/fd/N/, so that the path never exceeds sun_path and is
 * never resolved again.  One mutex guards the channel list and every file
 * operation on the directories.
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sbx_agent.h"
#include "sbx_log.h"


#define SBX_AGENT_SPARES_MAX  8
#define SBX_AGENT_BACKLOG     16
#define SBX_AGENT_BIN_NAME    "sbx-agent"
#define SBX_AGENT_EVENTS      32
#define SBX_AGENT_ACCEPTS     8     /* per channel and wake-up */
#define SBX_AGENT_REFUSALS    32    /* per channel and second: muted */
#define SBX_AGENT_MUTE_MS     250


typedef struct sbx_agent_chan_s  sbx_agent_chan_t;

struct sbx_agent_chan_s {
    sbx_agent_chan_t  *next;
    char               name[SBX_CONTAINER_NAME_LEN + 1];
    char               container_id[SBX_CONTAINER_ID_MAX + 1];
    int                dir_fd;      /* -1: the container runs no agent */
    int                listen_fd;
    pid_t              pid;         /* the agent on the host; 0: none */
    int                attached;    /* container_id and pid are known */
    int                spares[SBX_AGENT_SPARES_MAX];
    unsigned           nspares;
    unsigned long      refused;
    unsigned           refused_now;   /* in the second of refused_at */
    int64_t            refused_at;
    int64_t            muted_until;   /* not watched until then, or 0 */
};


static pthread_mutex_t    sbx_agent_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t     sbx_agent_cond;
static sbx_agent_chan_t  *sbx_agent_chans;
static int                sbx_agent_on;
static int                sbx_agent_inst_fd = -1;
static char               sbx_agent_inst_path[PATH_MAX];
static char               sbx_agent_bin_path[PATH_MAX];
static int                sbx_agent_epfd = -1;
static int                sbx_agent_stopfd = -1;
static pthread_t          sbx_agent_tid;


static void
sbx_agent_errf(char *err, size_t errlen, const char *what, const char *path)
{
    snprintf(err, errlen, "agent_dir: %s %s: %s", what, path,
             strerror(errno));
}


/*
 * Whether st is a directory nobody but root and this user may change: a
 * path through it cannot be swapped under sandboxd.
 */
static int
sbx_agent_dir_safe(const struct stat *st)
{
    return S_ISDIR(st->st_mode)
           && (st->st_uid == 0 || st->st_uid == geteuid())
           && !(st->st_mode & 022);
}


/*
 * Makes the directory path (and its parents) and checks every component:
 * the agents' sockets and binary live in it, and Docker mounts them by
 * path.
 */
static int
sbx_agent_mkdirs(const char *path, char *err, size_t errlen)
{
    char         buf[PATH_MAX], *p;
    struct stat  st;
    int          last;

    if (snprintf(buf, sizeof(buf), "%s", path) >= (int) sizeof(buf)) {
        snprintf(err, errlen, "agent_dir: path too long");
        return SBX_ERR;
    }

    for (p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }

        last = *p == '\0' || p[1] == '\0';
        *p = '\0';

        if (mkdir(buf, last ? 0711 : 0755) != 0 && errno != EEXIST) {
            sbx_agent_errf(err, errlen, "cannot create", buf);
            return SBX_ERR;
        }

        if (lstat(buf, &st) != 0) {
            sbx_agent_errf(err, errlen, "cannot stat", buf);
            return SBX_ERR;
        }

        if (!sbx_agent_dir_safe(&st)) {
            snprintf(err, errlen, "agent_dir: %s must be a directory of "
                     "root or sandboxd's user that no one else may write",
                     buf);
            return SBX_ERR;
        }

        if (last) {
            return SBX_OK;
        }

        *p = '/';
    }
}


/* Installs a copy of conf->agent as <instance dir>/sbx-agent, 0755. */
static int
sbx_agent_install(const sbx_config_t *conf, char *err, size_t errlen)
{
    char         buf[65536];
    ssize_t      n;
    int          in, out, rc;
    struct stat  st;

    in = open(conf->agent, O_RDONLY | O_CLOEXEC);
    if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "agent %s: %s (set \"agent = off\" to run "
                 "commands through docker exec only)", conf->agent,
                 in < 0 ? strerror(errno) : "not a regular file");
        if (in >= 0) {
            close(in);
        }
        return SBX_ERR;
    }

    (void) unlinkat(sbx_agent_inst_fd, SBX_AGENT_BIN_NAME ".new", 0);

    out = openat(sbx_agent_inst_fd, SBX_AGENT_BIN_NAME ".new",
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (out < 0) {
        sbx_agent_errf(err, errlen, "cannot write in", sbx_agent_inst_path);
        close(in);
        return SBX_ERR;
    }

    rc = SBX_OK;

    while ((n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0 || write(out, buf, (size_t) n) != n) {
            rc = SBX_ERR;
            break;
        }
    }

    if (rc == SBX_OK && (fchmod(out, 0755) != 0 || fsync(out) != 0)) {
        rc = SBX_ERR;
    }

    close(in);
    close(out);

    /* a new inode: running containers keep the binary they started with */
    if (rc != SBX_OK
        || renameat(sbx_agent_inst_fd, SBX_AGENT_BIN_NAME ".new",
                    sbx_agent_inst_fd, SBX_AGENT_BIN_NAME)
           != 0)
    {
        sbx_agent_errf(err, errlen, "cannot install the agent in",
                       sbx_agent_inst_path);
        (void) unlinkat(sbx_agent_inst_fd, SBX_AGENT_BIN_NAME ".new", 0);
        return SBX_ERR;
    }

    return SBX_OK;
}


static int sbx_agent_remove_dir(const char *name);


static sbx_agent_chan_t *
sbx_agent_find(const char *name)
{
    sbx_agent_chan_t  *c;

    for (c = sbx_agent_chans; c != NULL; c = c->next) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }

    return NULL;
}


static sbx_agent_chan_t *
sbx_agent_find_listener(int fd)
{
    sbx_agent_chan_t  *c;

    for (c = sbx_agent_chans; c != NULL; c = c->next) {
        if (c->listen_fd == fd) {
            return c;
        }
    }

    return NULL;
}


static void
sbx_agent_unlink_chan(sbx_agent_chan_t *chan)
{
    sbx_agent_chan_t  **pp;

    for (pp = &sbx_agent_chans; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == chan) {
            *pp = chan->next;
            return;
        }
    }
}


/*
 * Closes a channel taken off the list (the mutex is held); with
 * remove_files its socket and directory go too.
 */
static void
sbx_agent_close(sbx_agent_chan_t *chan, int remove_files)
{
    unsigned  i;

    if (chan->listen_fd >= 0) {
        (void) epoll_ctl(sbx_agent_epfd, EPOLL_CTL_DEL, chan->listen_fd,
                         NULL);
        close(chan->listen_fd);
    }

    for (i = 0; i < chan->nspares; i++) {
        close(chan->spares[i]);
    }

    if (chan->dir_fd >= 0) {
        if (remove_files) {
            (void) unlinkat(chan->dir_fd, SBX_AGENT_SOCKET, 0);
            (void) unlinkat(sbx_agent_inst_fd, chan->name, AT_REMOVEDIR);
        }
        close(chan->dir_fd);
    }

    free(chan);
}


/*
 * Opens the container's directory (making it when mk), and listens on a
 * fresh socket in it.  The mutex is held.
 */
static int
sbx_agent_open_dir(sbx_agent_chan_t *chan, int mk)
{
    struct sockaddr_un  sa;
    struct stat         st;

    if (mk && mkdirat(sbx_agent_inst_fd, chan->name, 0755) != 0
        && errno != EEXIST)
    {
        return SBX_ERR;
    }

    chan->dir_fd = openat(sbx_agent_inst_fd, chan->name,
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (chan->dir_fd < 0) {
        return SBX_ERR;
    }

    if (fstat(chan->dir_fd, &st) != 0 || st.st_uid != geteuid()
        || fchmod(chan->dir_fd, 0755) != 0)
    {
        return SBX_ERR;
    }

    chan->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC
                                      | SOCK_NONBLOCK, 0);
    if (chan->listen_fd < 0) {
        return SBX_ERR;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s",
             chan->dir_fd, SBX_AGENT_SOCKET);

    (void) unlinkat(chan->dir_fd, SBX_AGENT_SOCKET, 0);

    /* uid 1000 in the container connects: the socket is 0666 */
    if (bind(chan->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || fchmodat(chan->dir_fd, SBX_AGENT_SOCKET, 0666, 0) != 0
        || listen(chan->listen_fd, SBX_AGENT_BACKLOG) != 0)
    {
        return SBX_ERR;
    }

    return SBX_OK;
}


static sbx_agent_chan_t *
sbx_agent_chan_new(const char *name)
{
    sbx_agent_chan_t  *chan;

    chan = calloc(1, sizeof(*chan));
    if (chan == NULL) {
        return NULL;
    }

    snprintf(chan->name, sizeof(chan->name), "%s", name);
    chan->dir_fd = -1;
    chan->listen_fd = -1;

    return chan;
}


/* Starts accepting on an attached channel with an agent. */
static int
sbx_agent_watch(sbx_agent_chan_t *chan)
{
    struct epoll_event  ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.fd = chan->listen_fd;

    return epoll_ctl(sbx_agent_epfd, EPOLL_CTL_ADD, chan->listen_fd, &ev)
           == 0 ? SBX_OK : SBX_ERR;
}


/*
 * Stops watching a channel that refuses connections in a loop: whatever
 * the sandbox does, the accepting thread, and the mutex every session
 * needs, stay free.  sbx_agent_unmute() watches it again.
 */
static void
sbx_agent_refused(sbx_agent_chan_t *chan, long pid)
{
    int64_t  now;

    /* the count doubles between log lines: a loop cannot flood it */
    if ((chan->refused & (chan->refused + 1)) == 0) {
        sbx_log_warn("agent channel of container %s: refused a "
                     "connection from pid %ld (%lu so far)", chan->name,
                     pid, chan->refused + 1);
    }

    chan->refused++;

    now = sbx_time_mono_ms();

    if (now - chan->refused_at >= 1000) {
        chan->refused_at = now;
        chan->refused_now = 0;
    }

    if (++chan->refused_now >= SBX_AGENT_REFUSALS && chan->muted_until == 0)
    {
        (void) epoll_ctl(sbx_agent_epfd, EPOLL_CTL_DEL, chan->listen_fd,
                         NULL);
        chan->muted_until = now + SBX_AGENT_MUTE_MS;
    }
}


/*
 * Accepts a few of the connections pending on a channel (the mutex is
 * held; the rest wait for the next wake-up): those from the agent become
 * idle connections, others are closed.  Returns the number kept, or -1
 * when out of descriptors.
 */
static int
sbx_agent_accept(sbx_agent_chan_t *chan)
{
    struct ucred  cred;
    socklen_t     len;
    int           fd, i, kept;

    kept = 0;

    for (i = 0; i < SBX_AGENT_ACCEPTS && chan->muted_until == 0; i++) {
        fd = accept4(chan->listen_fd, NULL, NULL,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return errno == EMFILE || errno == ENFILE ? -1 : kept;
        }

        len = sizeof(cred);
        cred.pid = 0;

        if (chan->attached && chan->pid > 0
            && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0
            && cred.pid == chan->pid
            && chan->nspares < SBX_AGENT_SPARES_MAX)
        {
            chan->spares[chan->nspares++] = fd;
            kept++;
            continue;
        }

        sbx_agent_refused(chan, (long) cred.pid);
        close(fd);
    }

    return kept;
}


/* Watches muted channels again; the next wake-up, in ms, or -1. */
static int
sbx_agent_unmute(void)
{
    sbx_agent_chan_t  *c;
    int64_t            now, next;

    now = sbx_time_mono_ms();
    next = -1;

    for (c = sbx_agent_chans; c != NULL; c = c->next) {
        if (c->muted_until == 0) {
            continue;
        }

        if (c->muted_until <= now) {
            c->muted_until = 0;
            c->refused_now = 0;
            (void) sbx_agent_watch(c);
            continue;
        }

        if (next < 0 || c->muted_until - now < next) {
            next = c->muted_until - now;
        }
    }

    return (int) next;
}


static void *
sbx_agent_thread(void *data)
{
    struct epoll_event   evs[SBX_AGENT_EVENTS];
    sbx_agent_chan_t    *chan;
    int                  i, n, kept, added, starved, wait_ms;

    (void) data;

    wait_ms = -1;

    for ( ;; ) {
        n = epoll_wait(sbx_agent_epfd, evs, SBX_AGENT_EVENTS, wait_ms);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            sbx_log_error("agent channels: epoll_wait: %s",
                          strerror(errno));
            return NULL;
        }

        starved = 0;
        added = 0;

        pthread_mutex_lock(&sbx_agent_mutex);

        for (i = 0; i < n; i++) {
            if (evs[i].data.fd == sbx_agent_stopfd) {
                pthread_mutex_unlock(&sbx_agent_mutex);
                return NULL;
            }

            chan = sbx_agent_find_listener(evs[i].data.fd);
            kept = chan != NULL ? sbx_agent_accept(chan) : 0;

            starved |= kept < 0;
            added |= kept > 0;
        }

        wait_ms = sbx_agent_unmute();

        if (added) {
            pthread_cond_broadcast(&sbx_agent_cond);
        }

        pthread_mutex_unlock(&sbx_agent_mutex);

        if (starved) {
            sbx_log_warn("agent channels: out of file descriptors");
            sbx_sleep_ms(100);
        }
    }
}


static int
sbx_agent_start_thread(char *err, size_t errlen)
{
    struct epoll_event  ev;
    pthread_condattr_t  attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&sbx_agent_cond, &attr);
    pthread_condattr_destroy(&attr);

    sbx_agent_epfd = epoll_create1(EPOLL_CLOEXEC);
    sbx_agent_stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.fd = sbx_agent_stopfd;

    if (sbx_agent_epfd < 0 || sbx_agent_stopfd < 0
        || epoll_ctl(sbx_agent_epfd, EPOLL_CTL_ADD, sbx_agent_stopfd, &ev)
           != 0)
    {
        snprintf(err, errlen, "agent channels: %s", strerror(errno));
        return SBX_ERR;
    }

    if (pthread_create(&sbx_agent_tid, NULL, sbx_agent_thread, NULL) != 0) {
        snprintf(err, errlen, "agent channels: cannot start the thread");
        return SBX_ERR;
    }

    return SBX_OK;
}


int
sbx_agent_start(const sbx_config_t *conf, char *err, size_t errlen)
{
    struct stat  st;

    if (strcmp(conf->agent, "off") == 0) {
        sbx_log_info("agent off: commands run through docker exec");
        return SBX_OK;
    }

    if (snprintf(sbx_agent_inst_path, sizeof(sbx_agent_inst_path), "%s/%s",
                 conf->agent_dir, conf->instance)
            >= (int) sizeof(sbx_agent_inst_path)
        || snprintf(sbx_agent_bin_path, sizeof(sbx_agent_bin_path), "%s/%s",
                    sbx_agent_inst_path, SBX_AGENT_BIN_NAME)
           >= (int) sizeof(sbx_agent_bin_path))
    {
        snprintf(err, errlen, "agent_dir: path too long");
        return SBX_ERR;
    }

    if (sbx_agent_mkdirs(sbx_agent_inst_path, err, errlen) != SBX_OK) {
        return SBX_ERR;
    }

    sbx_agent_inst_fd = open(sbx_agent_inst_path, O_RDONLY | O_DIRECTORY
                                                  | O_NOFOLLOW | O_CLOEXEC);
    if (sbx_agent_inst_fd < 0 || fstat(sbx_agent_inst_fd, &st) != 0
        || !sbx_agent_dir_safe(&st))
    {
        sbx_agent_errf(err, errlen, "cannot open safely",
                       sbx_agent_inst_path);
        return SBX_ERR;
    }

    if (sbx_agent_install(conf, err, errlen) != SBX_OK
        || sbx_agent_start_thread(err, errlen) != SBX_OK)
    {
        return SBX_ERR;
    }

    sbx_agent_on = 1;

    return SBX_OK;
}


void
sbx_agent_stop(void)
{
    sbx_agent_chan_t  *chan;
    uint64_t           one = 1;

    if (!sbx_agent_on) {
        return;
    }

    if (write(sbx_agent_stopfd, &one, sizeof(one)) == sizeof(one)) {
        pthread_join(sbx_agent_tid, NULL);
    }

    pthread_mutex_lock(&sbx_agent_mutex);

    /* the containers live on: their directories stay for the next start */
    while ((chan = sbx_agent_chans) != NULL) {
        sbx_agent_chans = chan->next;
        sbx_agent_close(chan, 0);
    }

    sbx_agent_on = 0;

    pthread_mutex_unlock(&sbx_agent_mutex);

    close(sbx_agent_stopfd);
    close(sbx_agent_epfd);
    close(sbx_agent_inst_fd);
    pthread_cond_destroy(&sbx_agent_cond);
}


int
sbx_agent_enabled(void)
{
    return sbx_agent_on;
}


const char *
sbx_agent_binary(void)
{
    return sbx_agent_bin_path;
}


int
sbx_agent_run_dir(const char *name, char *buf, size_t len)
{
    return snprintf(buf, len, "%s/%s", sbx_agent_inst_path, name)
           < (int) len ? SBX_OK : SBX_ERR;
}


int
sbx_agent_prepare(const char *name, sbx_error_t *err)
{
    sbx_agent_chan_t  *chan, *old;
    int                rc;

    chan = sbx_agent_chan_new(name);
    if (chan == NULL) {
        sbx_error_set(err, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    pthread_mutex_lock(&sbx_agent_mutex);

    /* an earlier container's channel: the directory is reused */
    old = sbx_agent_find(name);
    if (old != NULL) {
        sbx_agent_unlink_chan(old);
        sbx_agent_close(old, 0);
    }

    rc = sbx_agent_open_dir(chan, 1);

    if (rc == SBX_OK) {
        chan->next = sbx_agent_chans;
        sbx_agent_chans = chan;
    } else {
        sbx_log_error("agent channel of container %s: %s", name,
                      strerror(errno));
        sbx_agent_close(chan, 1);
    }

    pthread_mutex_unlock(&sbx_agent_mutex);

    if (rc != SBX_OK) {
        sbx_error_set(err, SBX_E_INTERNAL,
                      "the sandbox's agent channel could not be made");
    }

    return rc;
}


/* Records the container of a prepared channel (the mutex is held). */
static void
sbx_agent_attach_locked(sbx_agent_chan_t *chan, const char *container_id,
    pid_t pid)
{
    snprintf(chan->container_id, sizeof(chan->container_id), "%s",
             container_id);
    chan->pid = pid;
    chan->attached = 1;

    if (pid > 0 && sbx_agent_watch(chan) == SBX_OK) {
        return;
    }

    if (pid > 0) {
        sbx_log_error("agent channel of container %s: epoll: %s",
                      chan->name, strerror(errno));
        chan->pid = 0;
    }

    /* no agent to hear from: the socket goes, the directory stays mounted */
    close(chan->listen_fd);
    chan->listen_fd = -1;
    (void) unlinkat(chan->dir_fd, SBX_AGENT_SOCKET, 0);
}


void
sbx_agent_attach(const char *name, const char *container_id, pid_t pid)
{
    sbx_agent_chan_t  *chan;

    pthread_mutex_lock(&sbx_agent_mutex);

    chan = sbx_agent_find(name);
    if (chan != NULL && !chan->attached) {
        sbx_agent_attach_locked(chan, container_id, pid);
    }

    pthread_mutex_unlock(&sbx_agent_mutex);
}


void
sbx_agent_forget(const char *name)
{
    sbx_agent_chan_t  *chan;

    if (!sbx_agent_on) {
        return;
    }

    pthread_mutex_lock(&sbx_agent_mutex);

    chan = sbx_agent_find(name);
    if (chan != NULL) {
        sbx_agent_unlink_chan(chan);
        sbx_agent_close(chan, 1);

    } else {
        /* a channel this process never opened: sandboxd restarted */
        (void) sbx_agent_remove_dir(name);
    }

    pthread_mutex_unlock(&sbx_agent_mutex);
}


static int
sbx_agent_kept(const char *name, const char **keep)
{
    for (; *keep != NULL; keep++) {
        if (strcmp(*keep, name) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * Removes a container directory and its socket, with no channel open on
 * them (the mutex is held).
 */
static int
sbx_agent_remove_dir(const char *name)
{
    int  fd;

    fd = openat(sbx_agent_inst_fd, name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        (void) unlinkat(fd, SBX_AGENT_SOCKET, 0);
        close(fd);
    }

    return unlinkat(sbx_agent_inst_fd, name, AT_REMOVEDIR) == 0
           ? SBX_OK : SBX_ERR;
}


void
sbx_agent_sweep(const char **keep)
{
    DIR            *d;
    struct dirent  *e;
    int             fd;

    if (!sbx_agent_on) {
        return;
    }

    /* its own descriptor: a dup() would share the offset of the last pass */
    fd = openat(sbx_agent_inst_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = fd >= 0 ? fdopendir(fd) : NULL;

    if (d == NULL) {
        sbx_log_warn("cleanup: cannot read %s: %s", sbx_agent_inst_path,
                     strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return;
    }

    pthread_mutex_lock(&sbx_agent_mutex);

    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "sbx-", 4) != 0
            || strlen(e->d_name) != SBX_CONTAINER_NAME_LEN
            || sbx_agent_kept(e->d_name, keep)
            || sbx_agent_find(e->d_name) != NULL)
        {
            continue;
        }

        if (sbx_agent_remove_dir(e->d_name) == SBX_OK) {
            sbx_log_info("cleanup: removed the agent directory of "
                         "container %s (no container)", e->d_name);
        }
    }

    pthread_mutex_unlock(&sbx_agent_mutex);

    closedir(d);
}


/*
 * Opens the channel of a container this process did not create, as the
 * container's inspection tells: with an agent when its entrypoint is the
 * agent and its directory still exists.
 */
static int
sbx_agent_adopt(sbx_ctx_t *ctx, const sbx_session_rec_t *rec)
{
    sbx_agent_chan_t  *chan;
    sbx_error_t        err;
    long               pid;
    int                agent;

    if (sbx_docker_inspect_init(&ctx->docker, rec->container_id, &pid,
                                &agent, &err)
        != SBX_OK)
    {
        return SBX_ERR;
    }

    chan = sbx_agent_chan_new(rec->container_name);
    if (chan == NULL) {
        return SBX_ERR;
    }

    pthread_mutex_lock(&sbx_agent_mutex);

    if (sbx_agent_find(rec->container_name) != NULL) {
        /* another thread was first */
        sbx_agent_close(chan, 0);
        pthread_mutex_unlock(&sbx_agent_mutex);
        return SBX_OK;
    }

    if (!agent || pid <= 0 || sbx_agent_open_dir(chan, 0) != SBX_OK) {
        if (agent) {
            sbx_log_warn("agent channel of container %s cannot be opened "
                         "again: %s; its commands run through docker exec",
                         rec->container_name, strerror(errno));
        }
        pid = 0;
    }

    sbx_agent_attach_locked(chan, rec->container_id, (pid_t) pid);

    chan->next = sbx_agent_chans;
    sbx_agent_chans = chan;

    pthread_mutex_unlock(&sbx_agent_mutex);

    if (pid > 0) {
        sbx_log_info("agent channel of container %s opened again",
                     rec->container_name);
    }

    return SBX_OK;
}


/* Whether an idle connection is still open with nothing to read. */
static int
sbx_agent_alive(int fd)
{
    struct pollfd  p;

    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;

    return poll(&p, 1, 0) == 0;
}


int
sbx_agent_ready(const char *name)
{
    sbx_agent_chan_t  *chan;
    unsigned           i, kept;
    int                ready;

    pthread_mutex_lock(&sbx_agent_mutex);

    chan = sbx_agent_find(name);
    ready = 0;

    if (chan != NULL && chan->attached && chan->pid > 0) {
        kept = 0;

        for (i = 0; i < chan->nspares; i++) {
            if (sbx_agent_alive(chan->spares[i])) {
                chan->spares[kept++] = chan->spares[i];
            } else {
                close(chan->spares[i]);
            }
        }

        chan->nspares = kept;

        /* none idle this moment: its process still there will offer one */
        ready = kept != 0 || kill(chan->pid, 0) == 0 || errno == EPERM;
    }

    pthread_mutex_unlock(&sbx_agent_mutex);

    return ready;
}


int
sbx_agent_take(sbx_ctx_t *ctx, const sbx_session_rec_t *rec, long wait_ms)
{
    sbx_agent_chan_t  *chan;
    struct timespec    until;
    int                fd, adopted;

    if (!sbx_agent_on) {
        return -1;
    }

    sbx_time_after(CLOCK_MONOTONIC, wait_ms, &until);

    adopted = 0;

    pthread_mutex_lock(&sbx_agent_mutex);

    for ( ;; ) {
        chan = sbx_agent_find(rec->container_name);

        if (chan == NULL && !adopted) {
            pthread_mutex_unlock(&sbx_agent_mutex);
            if (sbx_agent_adopt(ctx, rec) != SBX_OK) {
                return -1;
            }
            adopted = 1;
            pthread_mutex_lock(&sbx_agent_mutex);
            continue;
        }

        if (chan == NULL
            || (chan->attached
                && (chan->pid == 0
                    || strcmp(chan->container_id, rec->container_id) != 0)))
        {
            break;
        }

        if (chan->nspares > 0) {
            fd = chan->spares[--chan->nspares];
            if (sbx_agent_alive(fd)) {
                pthread_mutex_unlock(&sbx_agent_mutex);
                return fd;
            }
            close(fd);
            continue;
        }

        if (pthread_cond_timedwait(&sbx_agent_cond, &sbx_agent_mutex, &until)
            == ETIMEDOUT)
        {
            sbx_log_warn("the agent of container %s offered no connection "
                         "within %ld ms", rec->container_name, wait_ms);
            break;
        }
    }

    pthread_mutex_unlock(&sbx_agent_mutex);

    return -1;
}
