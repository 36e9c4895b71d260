
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * sandboxd: the daemon behind ngx_http_sandbox_module.  It alone talks to
 * Docker and Redis; nginx talks to it in the frames of docs/PROTOCOL.md.
 *
 *     sandboxd -c FILE                 run in the foreground
 *     sandboxd -c FILE -t              check the configuration
 *     sandboxd -c FILE --cleanup-once  one cleanup pass, then exit
 *     sandboxd -v                      print the version
 */


#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sbx_agent.h"
#include "sbx_audit.h"
#include "sbx_callback.h"
#include "sbx_cleanup.h"
#include "sbx_config.h"
#include "sbx_confgen.h"
#include "sbx_log.h"
#include "sbx_pool.h"
#include "sbx_rebuild.h"
#include "sbx_run_box.h"
#include "sbx_server.h"
#include "sbx_store_mem.h"
#include "sbx_task.h"


typedef struct {
    const char  *conf_file;
    int          test;
    int          cleanup_once;
} sbx_args_t;


static void
sbx_usage(FILE *f)
{
    fprintf(f, "usage: sandboxd -c FILE [-t | --cleanup-once]\n"
               "       sandboxd -v\n");
}


static int
sbx_parse_args(int argc, char **argv, sbx_args_t *args)
{
    int  i;

    memset(args, 0, sizeof(*args));

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            args->conf_file = argv[++i];

        } else if (strcmp(argv[i], "-t") == 0) {
            args->test = 1;

        } else if (strcmp(argv[i], "--cleanup-once") == 0) {
            args->cleanup_once = 1;

        } else if (strcmp(argv[i], "-v") == 0) {
            printf("sandboxd %s\n", SBX_VERSION);
            exit(0);

        } else if (strcmp(argv[i], "-h") == 0) {
            sbx_usage(stdout);
            exit(0);

        } else {
            sbx_usage(stderr);
            return SBX_ERR;
        }
    }

    return SBX_OK;
}


static void
sbx_on_signal(int signo)
{
    (void) signo;
    sbx_server_stop();
}


/* SIGHUP: the main thread loads the configuration again. */
static void
sbx_on_reload(int signo)
{
    (void) signo;
    sbx_server_reload();
}


static void
sbx_reload(void)
{
    (void) sbx_confgen_reload();
}


/* SIGUSR1: logrotate moved the audit log; its next line reopens it. */
static void
sbx_on_reopen(int signo)
{
    (void) signo;
    sbx_audit_reopen();
}


static void
sbx_signals(void)
{
    struct sigaction  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sbx_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    sa.sa_handler = sbx_on_reopen;
    sigaction(SIGUSR1, &sa, NULL);

    sa.sa_handler = sbx_on_reload;
    sigaction(SIGHUP, &sa, NULL);
}


static int
sbx_write_pid(const char *path)
{
    FILE  *f;

    if (path[0] == '\0') {
        return SBX_OK;
    }

    f = fopen(path, "w");
    if (f == NULL) {
        sbx_log_error("pid_file %s: %s", path, strerror(errno));
        return SBX_ERR;
    }

    fprintf(f, "%ld\n", (long) getpid());
    fclose(f);

    return SBX_OK;
}


static int
sbx_cleanup_once(const sbx_config_t *conf)
{
    sbx_ctx_t  ctx;
    int        n;

    /* another process's memory holds no record: all would look orphaned */
    if (conf->redis_host[0] == '\0') {
        sbx_log_error("--cleanup-once needs Redis: with no redis_host the "
                      "sessions live in the running sandboxd, whose "
                      "cleanup loop (cleanup_interval) reaps them");
        return 1;
    }

    sbx_ctx_init(&ctx, conf);

    n = sbx_cleanup_pass(&ctx);

    sbx_docker_cleanup(&ctx.docker);
    sbx_store_cleanup(&ctx.store);

    if (n >= 0) {
        sbx_log_info("cleanup: %d container(s), record(s) and volume(s) "
                     "removed", n);
    }

    return n >= 0 ? 0 : 1;
}


/*
 * Every agent channel holds a few descriptors for the life of its
 * container: the soft limit goes up to the hard one.
 */
static void
sbx_raise_nofile(void)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        sbx_log_info("file descriptors: up to %llu",
                     (unsigned long long) rl.rlim_cur);
    }
}


/*
 * Says where the sessions are kept; in memory, rebuilds them from Docker's
 * labels before the first request (a failure is retried on later use).
 */
static void
sbx_store_start(const sbx_config_t *conf)
{
    sbx_error_t  err;

    if (conf->redis_host[0] == '/') {
        sbx_log_info("store: redis at %s", conf->redis_host);
        return;
    }

    if (conf->redis_host[0] != '\0') {
        sbx_log_info("store: redis at %s:%llu", conf->redis_host,
                     (unsigned long long) conf->redis_port);
        return;
    }

    sbx_log_info("store: memory (no redis_host): sessions are kept by this "
                 "sandboxd alone");

    (void) sbx_rebuild_sessions(conf, &err);
}


static int
sbx_serve(const sbx_config_t *conf, const char *path)
{
    char                 err[1024];
    struct timespec      deadline;
    const sbx_config_t  *now;
    int                  left;

    sbx_raise_nofile();

    if (sbx_confgen_init(conf, path) != SBX_OK) {
        sbx_log_error("out of memory");
        return 1;
    }

    if (sbx_audit_open(conf->audit_log) != SBX_OK) {
        sbx_log_error("audit_log %s: %s", conf->audit_log, strerror(errno));
        return 1;
    }

    if (sbx_server_listen(conf, err, sizeof(err)) != SBX_OK) {
        sbx_log_error("%s", err);
        return 1;
    }

    sbx_signals();

    if (sbx_agent_start(conf, err, sizeof(err)) != SBX_OK) {
        sbx_log_error("%s", err);
        return 1;
    }

    if (sbx_write_pid(conf->pid_file) != SBX_OK) {
        return 1;
    }

    sbx_store_start(conf);

    if (sbx_cleanup_start(conf) != SBX_OK) {
        sbx_log_error("cannot start the cleanup thread");
        return 1;
    }

    if (sbx_pool_start(conf) != SBX_OK) {
        sbx_log_error("cannot start the run pool");
        return 1;
    }

    if (sbx_callbacks_start(conf) != SBX_OK
        || sbx_tasks_start(conf) != SBX_OK)
    {
        sbx_log_error("cannot start the task workers");
        return 1;
    }

    sbx_log_info("sandboxd %s started (instance \"%s\", image %s)",
                 SBX_VERSION, conf->instance, conf->container_image);

    sbx_server_run(sbx_reload);

    now = sbx_confgen_acquire();
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t) now->shutdown_grace;
    sbx_confgen_release(now);

    sbx_cleanup_stop();
    left = sbx_server_shutdown(&deadline) != SBX_OK;
    left |= sbx_cleanup_join(&deadline) != SBX_OK;
    left |= sbx_tasks_stop(&deadline) != SBX_OK;
    sbx_callbacks_stop();
    left |= sbx_pool_stop(&deadline) != SBX_OK;
    left |= sbx_run_box_join(&deadline) != SBX_OK;

    if (conf->pid_file[0] != '\0') {
        (void) unlink(conf->pid_file);
    }

    if (left) {
        /*
         * Threads still inside curl or hiredis: curl_global_cleanup() and
         * exit()'s destructors would pull their state from under them.
         */
        sbx_log_warn("sandboxd stopped with threads still running");
        _exit(0);
    }

    sbx_agent_stop();
    sbx_store_mem_free();
    sbx_confgen_free();

    sbx_log_info("sandboxd stopped");

    return 0;
}


int
main(int argc, char **argv)
{
    static sbx_config_t  conf;
    sbx_args_t           args;
    char                 err[1024];
    int                  rc;

    /* a SIGHUP before the handlers are in place must not end sandboxd */
    signal(SIGHUP, SIG_IGN);

    if (sbx_parse_args(argc, argv, &args) != SBX_OK) {
        return 1;
    }

    if (sbx_config_load(&conf, args.conf_file, err, sizeof(err)) != SBX_OK) {
        fprintf(stderr, "sandboxd: %s\n", err);
        return 1;
    }

    if (args.test) {
        printf("sandboxd: configuration %s is ok\n",
               args.conf_file ? args.conf_file : "(defaults)");
        return 0;
    }

    sbx_log_level = (int) conf.log_level;

    if (sbx_log_open(conf.log_file) != SBX_OK) {
        fprintf(stderr, "sandboxd: log_file %s: %s\n", conf.log_file,
                strerror(errno));
        return 1;
    }

    /* once, for every mode: a peer that went away is an EPIPE, not death */
    signal(SIGPIPE, SIG_IGN);

    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        sbx_log_error("curl_global_init() failed");
        return 1;
    }

    if (args.cleanup_once) {
        rc = sbx_cleanup_once(&conf);

    } else {
        rc = sbx_serve(&conf, args.conf_file);
    }

    curl_global_cleanup();

    return rc;
}
