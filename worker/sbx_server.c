
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "sbx_confgen.h"
#include "sbx_frame.h"
#include "sbx_log.h"
#include "sbx_ops.h"
#include "sbx_server.h"


#define SBX_FRAME_READ_MS    30000
#define SBX_SEND_TIMEOUT_S   30
#define SBX_THREAD_STACK     (1024 * 1024)
#define SBX_REFUSE_MAX       64          /* lingering busy answers */
#define SBX_REFUSE_STACK     (128 * 1024)


typedef struct sbx_conn_s  sbx_conn_t;

struct sbx_conn_s {
    int          fd;
    int          busy;       /* in the middle of an operation */
    int          answering;  /* writing the operation's answer */
    int          cut;        /* the shutdown answered it instead */
    sbx_conn_t  *next;
    sbx_conn_t  *prev;
};


static const sbx_config_t  *sbx_conf;        /* the keys read once */
static int                  sbx_unix_fd = -1;
static int                  sbx_tcp_fd = -1;
static int                  sbx_stop_pipe[2] = { -1, -1 };

static pthread_mutex_t      sbx_conns_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t       sbx_conns_cond = PTHREAD_COND_INITIALIZER;
static sbx_conn_t          *sbx_conns;
static size_t               sbx_nconns;
static size_t               sbx_nrefusing;   /* sbx_refuse_thread()s */
static int                  sbx_stopping;


static void
sbx_server_wake(const char *what)
{
    int  saved = errno;

    if (sbx_stop_pipe[1] != -1 && write(sbx_stop_pipe[1], what, 1) < 0) {
        /* the pipe is full: plenty of wake-ups are pending */
    }

    errno = saved;
}


void
sbx_server_stop(void)
{
    sbx_server_wake("x");
}


void
sbx_server_reload(void)
{
    sbx_server_wake("h");
}


/* Whether a live server answers on the unix socket at path. */
static int
sbx_server_socket_alive(const struct sockaddr_un *sa)
{
    int  fd, rc;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return 0;
    }

    rc = connect(fd, (const struct sockaddr *) sa, sizeof(*sa));
    close(fd);

    return rc == 0;
}


/*
 * Gives the socket its group and mode.  A group that does not exist is an
 * error: the socket would otherwise be reachable by a group nobody chose.
 */
static int
sbx_server_socket_perms(const sbx_config_t *conf, char *err, size_t errlen)
{
    struct group   gr, *res;
    char           buf[16384];
    int            rc;

    res = NULL;
    rc = getgrnam_r(conf->socket_group, &gr, buf, sizeof(buf), &res);

    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "socket_group \"%s\": %s", conf->socket_group,
                 rc != 0 ? strerror(rc) : "no such group");
        return SBX_ERR;
    }

    if (chown(conf->unix_path, (uid_t) -1, res->gr_gid) == -1
        || chmod(conf->unix_path, (mode_t) conf->socket_mode) == -1)
    {
        snprintf(err, errlen, "%s: %s", conf->unix_path, strerror(errno));
        return SBX_ERR;
    }

    return SBX_OK;
}


static int
sbx_server_listen_unix(const sbx_config_t *conf, char *err, size_t errlen)
{
    struct sockaddr_un  sa;
    mode_t              old;
    char                dir[sizeof(sa.sun_path)], *slash;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;

    if (strlen(conf->unix_path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "socket path too long: %s", conf->unix_path);
        return SBX_ERR;
    }

    strcpy(sa.sun_path, conf->unix_path);

    strcpy(dir, conf->unix_path);
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0750) == 0) {
            sbx_log_info("created directory %s", dir);
        }
    }

    if (sbx_server_socket_alive(&sa)) {
        snprintf(err, errlen, "%s: another sandboxd is listening",
                 conf->unix_path);
        return SBX_ERR;
    }

    (void) unlink(conf->unix_path);

    sbx_unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sbx_unix_fd == -1) {
        snprintf(err, errlen, "socket(): %s", strerror(errno));
        return SBX_ERR;
    }

    /* no window in which the socket is more open than configured */
    old = umask(0177);

    if (bind(sbx_unix_fd, (struct sockaddr *) &sa, sizeof(sa)) == -1) {
        umask(old);
        snprintf(err, errlen, "bind(%s): %s", conf->unix_path,
                 strerror(errno));
        return SBX_ERR;
    }

    umask(old);

    if (sbx_server_socket_perms(conf, err, errlen) != SBX_OK) {
        return SBX_ERR;
    }

    if (listen(sbx_unix_fd, 511) == -1) {
        snprintf(err, errlen, "listen(%s): %s", conf->unix_path,
                 strerror(errno));
        return SBX_ERR;
    }

    sbx_log_info("listening on unix:%s", conf->unix_path);

    return SBX_OK;
}


static int
sbx_server_listen_tcp(const sbx_config_t *conf, char *err, size_t errlen)
{
    char              host[SBX_CONF_STR_MAX], *port, *end;
    struct addrinfo   hints, *ai;
    int               rc, one;

    strcpy(host, conf->listen_tcp);
    port = strrchr(host, ':');
    if (port == NULL || port == host) {
        snprintf(err, errlen, "\"listen_tcp\" must be host:port");
        return SBX_ERR;
    }

    *port++ = '\0';

    if (host[0] == '[' && (end = strchr(host, ']')) != NULL) {
        *end = '\0';
        memmove(host, host + 1, strlen(host + 1) + 1);
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;

    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "listen_tcp %s: %s", conf->listen_tcp,
                 gai_strerror(rc));
        return SBX_ERR;
    }

    sbx_tcp_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    one = 1;

    if (sbx_tcp_fd == -1
        || setsockopt(sbx_tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one,
                      sizeof(one)) == -1
        || bind(sbx_tcp_fd, ai->ai_addr, ai->ai_addrlen) == -1
        || listen(sbx_tcp_fd, 511) == -1)
    {
        snprintf(err, errlen, "listen_tcp %s: %s", conf->listen_tcp,
                 strerror(errno));
        freeaddrinfo(ai);
        return SBX_ERR;
    }

    freeaddrinfo(ai);
    sbx_log_info("listening on tcp:%s", conf->listen_tcp);

    return SBX_OK;
}


int
sbx_server_listen(const sbx_config_t *conf, char *err, size_t errlen)
{
    sbx_conf = conf;

    if (pipe2(sbx_stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
        snprintf(err, errlen, "pipe(): %s", strerror(errno));
        return SBX_ERR;
    }

    if (sbx_server_listen_unix(conf, err, errlen) != SBX_OK) {
        return SBX_ERR;
    }

    if (conf->listen_tcp[0] != '\0'
        && sbx_server_listen_tcp(conf, err, errlen) != SBX_OK)
    {
        return SBX_ERR;
    }

    return SBX_OK;
}


/*
 * Reads exactly n bytes, each wait bounded by timeout_ms.  Returns n, 0 on
 * an orderly close before the first byte, -1 otherwise.
 */
static ssize_t
sbx_conn_read(int fd, void *buf, size_t n, int timeout_ms)
{
    struct pollfd  pfd;
    size_t         got;
    ssize_t        r;
    int            pr;

    for (got = 0; got < n; got += (size_t) r) {
        pfd.fd = fd;
        pfd.events = POLLIN;

        pr = poll(&pfd, 1, timeout_ms);
        if (pr == -1 && errno == EINTR) {
            r = 0;
            continue;
        }

        if (pr <= 0) {
            return -1;
        }

        r = read(fd, (char *) buf + got, n - got);
        if (r == -1 && (errno == EINTR || errno == EAGAIN)) {
            r = 0;
            continue;
        }

        if (r <= 0) {
            return (r == 0 && got == 0) ? 0 : -1;
        }
    }

    return (ssize_t) n;
}


/* writev(2) of all of iov, resuming after partial writes and EINTR. */
static int
sbx_conn_writev(int fd, struct iovec *iov, int iovcnt)
{
    ssize_t  n;

    while (iovcnt > 0) {
        n = writev(fd, iov, iovcnt);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            return SBX_ERR;
        }

        while (iovcnt > 0 && (size_t) n >= iov->iov_len) {
            n -= (ssize_t) iov->iov_len;
            iov++;
            iovcnt--;
        }

        if (iovcnt > 0) {
            iov->iov_base = (char *) iov->iov_base + n;
            iov->iov_len -= (size_t) n;
        }
    }

    return SBX_OK;
}


static int sbx_conn_error(int fd, const char *id, const char *code,
    const char *message);
static int sbx_conn_claim(sbx_conn_t *c);
static void sbx_server_cut(void);
static int sbx_server_wakeups(sbx_server_hook_pt on_reload);


/*
 * Writes resp as one response frame with a single writev.  A header past
 * the protocol's bound is replaced by an internal error.
 */
static int
sbx_conn_respond(int fd, sbx_response_t *resp)
{
    uint8_t        prefix[SBX_FRAME_PREFIX_LEN];
    struct iovec   iov[4];
    char          *hdr;
    cJSON         *id;
    size_t         i, body_len;
    int            rc, n;

    hdr = cJSON_PrintUnformatted(resp->header);
    if (hdr == NULL) {
        return SBX_ERR;
    }

    if (strlen(hdr) > SBX_FRAME_HEADER_MAX) {
        free(hdr);
        id = cJSON_GetObjectItemCaseSensitive(resp->header, "id");
        sbx_log_error("a response header of request %s exceeds %d bytes",
                      cJSON_IsString(id) ? id->valuestring : "-",
                      SBX_FRAME_HEADER_MAX);
        return sbx_conn_error(fd, cJSON_IsString(id) ? id->valuestring
                                                     : NULL,
                              SBX_E_INTERNAL, "the result is too large");
    }

    body_len = 0;
    n = 2;

    for (i = 0; i < resp->nbody; i++) {
        if (resp->body[i].iov_len > 0) {
            iov[n++] = resp->body[i];
            body_len += resp->body[i].iov_len;
        }
    }

    sbx_frame_encode_prefix(prefix, SBX_FRAME_RESPONSE,
                            (uint32_t) strlen(hdr), (uint32_t) body_len);

    iov[0].iov_base = prefix;
    iov[0].iov_len = sizeof(prefix);
    iov[1].iov_base = hdr;
    iov[1].iov_len = strlen(hdr);

    rc = sbx_conn_writev(fd, iov, n);
    free(hdr);

    return rc;
}


static int
sbx_conn_error(int fd, const char *id, const char *code, const char *message)
{
    sbx_response_t  resp;
    int             rc;

    memset(&resp, 0, sizeof(resp));
    sbx_ops_error_response(&resp, id, code, message);
    rc = sbx_conn_respond(fd, &resp);
    sbx_response_free(&resp);

    return rc;
}


/*
 * Reads one frame and answers it.  Returns SBX_OK to keep the connection,
 * SBX_ERR to close it.
 */
static int
sbx_conn_frame(sbx_ctx_t *ctx, sbx_conn_t *c, const uint8_t *prefix_bytes)
{
    sbx_frame_prefix_t  p;
    sbx_frame_rc_e      frc;
    sbx_response_t      resp;
    char               *header, *body;
    int                 fd, rc;

    fd = c->fd;

    frc = sbx_frame_decode_prefix(prefix_bytes, SBX_FRAME_REQUEST,
                                  SBX_FRAME_HEADER_MAX,
                                  (uint32_t) ctx->conf->max_request_body,
                                  &p);
    if (frc != SBX_FRAME_OK) {
        sbx_log_warn("bad request frame: %s", sbx_frame_strerror(frc));
        (void) sbx_conn_error(fd, NULL, frc == SBX_FRAME_BAD_VERSION
                                  ? SBX_E_UNSUPPORTED_VERSION
                                  : SBX_E_BAD_FRAME,
                              sbx_frame_strerror(frc));
        return SBX_ERR;
    }

    header = malloc(p.header_len);
    body = p.body_len ? malloc(p.body_len) : NULL;

    if (header == NULL || (p.body_len && body == NULL)) {
        free(header);
        free(body);
        (void) sbx_conn_error(fd, NULL, SBX_E_INTERNAL, "out of memory");
        return SBX_ERR;
    }

    if (sbx_conn_read(fd, header, p.header_len, SBX_FRAME_READ_MS)
        != (ssize_t) p.header_len
        || (p.body_len
            && sbx_conn_read(fd, body, p.body_len, SBX_FRAME_READ_MS)
               != (ssize_t) p.body_len))
    {
        free(header);
        free(body);
        return SBX_ERR;
    }

    sbx_ops_handle(ctx, header, p.header_len, body, p.body_len, &resp);
    free(header);
    free(body);

    if (sbx_conn_claim(c) != SBX_OK) {
        sbx_response_free(&resp);
        return SBX_ERR;
    }

    rc = sbx_conn_respond(fd, &resp);
    if (resp.close) {
        rc = SBX_ERR;
    }

    sbx_response_free(&resp);

    return rc;
}


/*
 * The operation's answer is about to be written: fails when the shutdown
 * has answered it already (its grace ran out).
 */
static int
sbx_conn_claim(sbx_conn_t *c)
{
    int  cut;

    pthread_mutex_lock(&sbx_conns_mutex);
    cut = c->cut;
    c->answering = !cut;
    pthread_mutex_unlock(&sbx_conns_mutex);

    return cut ? SBX_ERR : SBX_OK;
}


/* Marks the connection busy; fails when the server is stopping. */
static int
sbx_conn_set_busy(sbx_conn_t *c, int busy)
{
    int  stopping;

    pthread_mutex_lock(&sbx_conns_mutex);
    stopping = sbx_stopping;
    c->busy = busy && !stopping;
    c->answering = 0;
    if (!c->busy) {
        pthread_cond_broadcast(&sbx_conns_cond);
    }
    pthread_mutex_unlock(&sbx_conns_mutex);

    return stopping ? SBX_ERR : SBX_OK;
}


static void
sbx_conn_unregister(sbx_conn_t *c)
{
    pthread_mutex_lock(&sbx_conns_mutex);

    if (c->prev) {
        c->prev->next = c->next;
    } else {
        sbx_conns = c->next;
    }

    if (c->next) {
        c->next->prev = c->prev;
    }

    sbx_nconns--;
    pthread_cond_broadcast(&sbx_conns_cond);
    pthread_mutex_unlock(&sbx_conns_mutex);
}


/*
 * Half-closes and drains briefly what the peer still sends, so that a
 * final error response is not destroyed by a reset (unread data at close).
 */
static void
sbx_conn_linger(int fd)
{
    char  buf[4096];
    int   i;

    if (shutdown(fd, SHUT_WR) == -1) {
        return;
    }

    for (i = 0; i < 16; i++) {
        if (sbx_conn_read(fd, buf, sizeof(buf), 50) != (ssize_t) sizeof(buf))
        {
            break;
        }
    }
}


/* The idle timeout of the configuration in force. */
static int
sbx_conn_idle_ms(void)
{
    const sbx_config_t  *conf;
    int                  ms;

    conf = sbx_confgen_acquire();
    ms = (int) conf->idle_timeout * 1000;
    sbx_confgen_release(conf);

    return ms;
}


/*
 * Reads the rest of the frame that started with prefix[0] and answers it,
 * with the configuration in force when it came.  SBX_ERR closes.
 */
static int
sbx_conn_serve(sbx_conn_t *c, sbx_ctx_t *ctx, uint8_t *prefix)
{
    const sbx_config_t  *conf;
    ssize_t              n;
    int                  rc;

    n = sbx_conn_read(c->fd, prefix + 1, SBX_FRAME_PREFIX_LEN - 1,
                      SBX_FRAME_READ_MS);
    if (n != SBX_FRAME_PREFIX_LEN - 1) {
        return SBX_ERR;
    }

    conf = sbx_confgen_acquire();
    sbx_ctx_use(ctx, conf);

    rc = sbx_conn_frame(ctx, c, prefix);

    sbx_ctx_use(ctx, sbx_conf);
    sbx_confgen_release(conf);

    return rc;
}


static void *
sbx_conn_thread(void *data)
{
    sbx_conn_t  *c = data;
    sbx_ctx_t    ctx;
    uint8_t      prefix[SBX_FRAME_PREFIX_LEN];

    sbx_ctx_init(&ctx, sbx_conf);

    for ( ;; ) {
        /* the first byte may take idle_timeout, the rest of a frame not */
        if (sbx_conn_read(c->fd, prefix, 1, sbx_conn_idle_ms()) != 1) {
            break;
        }

        if (sbx_conn_set_busy(c, 1) != SBX_OK) {
            (void) sbx_conn_error(c->fd, NULL, SBX_E_BUSY,
                                  "sandboxd is shutting down");
            break;
        }

        if (sbx_conn_serve(c, &ctx, prefix) != SBX_OK
            || sbx_conn_set_busy(c, 0) != SBX_OK)
        {
            break;
        }
    }

    sbx_docker_cleanup(&ctx.docker);
    sbx_store_cleanup(&ctx.store);
    sbx_conn_linger(c->fd);

    /* unregistered first: the shutdown never touches a reused fd */
    sbx_conn_unregister(c);
    close(c->fd);
    free(c);

    return NULL;
}


static void *
sbx_refuse_thread(void *data)
{
    int  fd = (int) (intptr_t) data;

    sbx_conn_linger(fd);
    close(fd);

    pthread_mutex_lock(&sbx_conns_mutex);
    sbx_nrefusing--;
    pthread_cond_broadcast(&sbx_conns_cond);
    pthread_mutex_unlock(&sbx_conns_mutex);

    return NULL;
}


/*
 * Answers busy and closes.  The peer has usually sent its request already:
 * closing with it unread would reset the connection and destroy the
 * answer, so a short-lived thread lingers (off the accept loop).  Past
 * SBX_REFUSE_MAX such threads the connection is closed at once.
 */
static void
sbx_server_refuse(int fd)
{
    pthread_t       tid;
    pthread_attr_t  attr;
    int             linger;

    (void) sbx_conn_error(fd, NULL, SBX_E_BUSY, "too many connections");

    pthread_mutex_lock(&sbx_conns_mutex);
    linger = sbx_nrefusing < SBX_REFUSE_MAX;
    if (linger) {
        sbx_nrefusing++;
    }
    pthread_mutex_unlock(&sbx_conns_mutex);

    if (!linger) {
        close(fd);
        return;
    }

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, SBX_REFUSE_STACK);

    if (pthread_create(&tid, &attr, sbx_refuse_thread, (void *) (intptr_t) fd)
        != 0)
    {
        close(fd);
        pthread_mutex_lock(&sbx_conns_mutex);
        sbx_nrefusing--;
        pthread_mutex_unlock(&sbx_conns_mutex);
    }

    pthread_attr_destroy(&attr);
}


/* Registers and starts a connection, or answers busy at the limit. */
static void
sbx_server_accept(int lfd)
{
    sbx_conn_t           *c;
    pthread_t             tid;
    pthread_attr_t        attr;
    struct timeval        tv;
    uint64_t              max;
    const sbx_config_t   *conf;
    int                   fd;

    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd == -1) {
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
            sbx_log_error("accept(): %s", strerror(errno));
            if (errno == EMFILE || errno == ENFILE) {
                sbx_sleep_ms(100);
            }
        }
        return;
    }

    tv.tv_sec = SBX_SEND_TIMEOUT_S;
    tv.tv_usec = 0;
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    conf = sbx_confgen_acquire();
    max = conf->max_connections;
    sbx_confgen_release(conf);

    pthread_mutex_lock(&sbx_conns_mutex);

    if (sbx_nconns >= max) {
        pthread_mutex_unlock(&sbx_conns_mutex);
        sbx_log_warn("max_connections (%llu) reached, refusing a "
                     "connection", (unsigned long long) max);
        sbx_server_refuse(fd);
        return;
    }

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        pthread_mutex_unlock(&sbx_conns_mutex);
        close(fd);
        return;
    }

    c->fd = fd;
    c->next = sbx_conns;
    if (sbx_conns) {
        sbx_conns->prev = c;
    }
    sbx_conns = c;
    sbx_nconns++;

    pthread_mutex_unlock(&sbx_conns_mutex);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, SBX_THREAD_STACK);

    if (pthread_create(&tid, &attr, sbx_conn_thread, c) != 0) {
        sbx_log_error("cannot start a connection thread");
        sbx_conn_unregister(c);
        (void) sbx_conn_error(fd, NULL, SBX_E_BUSY, "cannot start a thread");
        close(fd);
        free(c);
    }

    pthread_attr_destroy(&attr);
}


/*
 * Stops accepting, wakes idle connections and waits until every connection
 * thread has exited (busy ones finish their operation first), or until
 * deadline.  Returns SBX_ERR when threads are still alive at the deadline:
 * they may be inside curl or hiredis, so the caller must not tear down
 * what they use.
 */
int
sbx_server_shutdown(const struct timespec *deadline)
{
    sbx_conn_t  *c;
    size_t       busy;
    int          rc;

    if (sbx_unix_fd != -1) {
        close(sbx_unix_fd);
        sbx_unix_fd = -1;
        (void) unlink(sbx_conf->unix_path);
    }

    if (sbx_tcp_fd != -1) {
        close(sbx_tcp_fd);
        sbx_tcp_fd = -1;
    }

    rc = SBX_OK;

    pthread_mutex_lock(&sbx_conns_mutex);
    sbx_stopping = 1;

    while (sbx_nconns > 0 || sbx_nrefusing > 0) {
        busy = 0;
        for (c = sbx_conns; c; c = c->next) {
            if (c->busy) {
                busy++;
            } else {
                (void) shutdown(c->fd, SHUT_RDWR);
            }
        }

        if (pthread_cond_timedwait(&sbx_conns_cond, &sbx_conns_mutex,
                                   deadline)
            == ETIMEDOUT)
        {
            sbx_log_warn("shutdown_grace expired with %zu connection(s) "
                         "open, %zu operation(s) running", sbx_nconns,
                         busy);
            sbx_server_cut();
            rc = SBX_ERR;
            break;
        }
    }

    pthread_mutex_unlock(&sbx_conns_mutex);

    return rc;
}


/*
 * The grace is over: each operation still running gets a "busy" answer
 * now, rather than a connection closed under it when sandboxd exits (its
 * command is killed then: the agent sees its connection close).  Called
 * with sbx_conns_mutex held, which keeps the connection's own thread from
 * writing meanwhile (sbx_conn_claim).
 */
static void
sbx_server_cut(void)
{
    sbx_conn_t  *c;

    for (c = sbx_conns; c; c = c->next) {
        if (c->busy && !c->answering && !c->cut) {
            c->cut = 1;
            (void) sbx_conn_error(c->fd, NULL, SBX_E_BUSY,
                                  "sandboxd shut down before the "
                                  "operation finished");
        }
    }
}


int
sbx_server_run(sbx_server_hook_pt on_reload)
{
    struct pollfd  pfd[3];
    int            n, i;

    pfd[0].fd = sbx_stop_pipe[0];
    pfd[0].events = POLLIN;
    pfd[1].fd = sbx_unix_fd;
    pfd[1].events = POLLIN;
    pfd[2].fd = sbx_tcp_fd;
    pfd[2].events = POLLIN;
    n = sbx_tcp_fd == -1 ? 2 : 3;

    for ( ;; ) {
        if (poll(pfd, (nfds_t) n, -1) == -1) {
            if (errno == EINTR) {
                continue;
            }
            sbx_log_error("poll(): %s", strerror(errno));
            break;
        }

        if (pfd[0].revents && sbx_server_wakeups(on_reload) != SBX_OK) {
            sbx_log_info("stopping");
            break;
        }

        for (i = 1; i < n; i++) {
            if (pfd[i].revents & POLLIN) {
                sbx_server_accept(pfd[i].fd);
            }
        }
    }

    return SBX_OK;
}


/* Reads the pending wake-ups: SBX_ERR for a stop, else reloads once. */
static int
sbx_server_wakeups(sbx_server_hook_pt on_reload)
{
    char     buf[16];
    ssize_t  i, n;
    int      stop, reload;

    stop = 0;
    reload = 0;

    while ((n = read(sbx_stop_pipe[0], buf, sizeof(buf))) > 0) {
        for (i = 0; i < n; i++) {
            if (buf[i] == 'h') {
                reload = 1;
            } else {
                stop = 1;
            }
        }
    }

    if (stop) {
        return SBX_ERR;
    }

    if (reload && on_reload != NULL) {
        on_reload();
    }

    return SBX_OK;
}
