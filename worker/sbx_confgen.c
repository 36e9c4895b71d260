
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_confgen.h"
#include "sbx_log.h"
#include "sbx_util.h"


typedef struct {
    sbx_config_t  conf;         /* first: a conf pointer is its generation */
    unsigned      refs;         /* readers; the current one has none */
    unsigned      number;
} sbx_confgen_t;


/* What a reload found different, by the kind of key. */
typedef struct {
    sbx_config_t        *next;
    const sbx_config_t  *prev;
    char                 applied[512];
    char                 kept[512];     /* need a restart */
} sbx_confgen_diff_t;


static pthread_mutex_t   sbx_confgen_mutex = PTHREAD_MUTEX_INITIALIZER;
static sbx_confgen_t    *sbx_confgen_current;
static const char       *sbx_confgen_path;


/* The keys read once at startup: a new value waits for a restart. */
static const char  *sbx_confgen_restart_keys[] = {
    "listen", "listen_tcp", "socket_group", "socket_mode", "instance",
    "docker_host", "redis_host", "redis_port", "redis_password",
    "redis_db", "redis_prefix", "agent", "agent_dir", "audit_log",
    "log_file", "pid_file", "task_workers", NULL
};


static void sbx_confgen_compare(const char *name, size_t offset,
    size_t size, void *data);
static void sbx_confgen_append(char *list, size_t len, const char *name);
static void sbx_confgen_swap(sbx_confgen_t *next);


int
sbx_confgen_init(const sbx_config_t *boot, const char *path)
{
    sbx_confgen_t  *g;

    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        return SBX_ERR;
    }

    g->conf = *boot;
    g->number = 1;

    sbx_confgen_path = path;
    sbx_confgen_current = g;

    return SBX_OK;
}


const sbx_config_t *
sbx_confgen_acquire(void)
{
    sbx_confgen_t  *g;

    pthread_mutex_lock(&sbx_confgen_mutex);
    g = sbx_confgen_current;
    g->refs++;
    pthread_mutex_unlock(&sbx_confgen_mutex);

    return &g->conf;
}


void
sbx_confgen_release(const sbx_config_t *conf)
{
    sbx_confgen_t  *g = (sbx_confgen_t *) conf;

    pthread_mutex_lock(&sbx_confgen_mutex);

    if (--g->refs == 0 && g != sbx_confgen_current) {
        free(g);
    }

    pthread_mutex_unlock(&sbx_confgen_mutex);
}


int
sbx_confgen_reload(void)
{
    sbx_confgen_t       *next;
    sbx_confgen_diff_t   d;
    char                 err[1024];

    next = calloc(1, sizeof(*next));
    if (next == NULL) {
        sbx_log_error("SIGHUP: out of memory, the configuration stays");
        return SBX_ERR;
    }

    if (sbx_config_load(&next->conf, sbx_confgen_path, err, sizeof(err))
        != SBX_OK)
    {
        sbx_log_error("SIGHUP: %s; the configuration stays as it was", err);
        free(next);
        return SBX_ERR;
    }

    /* only the main thread swaps: the current one cannot go meanwhile */
    memset(&d, 0, sizeof(d));
    d.next = &next->conf;
    d.prev = &sbx_confgen_current->conf;

    sbx_config_diff(d.prev, d.next, sbx_confgen_compare, &d);

    /* derived from keys that need a restart */
    memcpy(next->conf.unix_path, d.prev->unix_path, SBX_CONF_STR_MAX);
    memcpy(next->conf.docker_socket, d.prev->docker_socket,
           SBX_CONF_STR_MAX);
    memcpy(next->conf.docker_base, d.prev->docker_base, SBX_CONF_STR_MAX);

    if (d.kept[0] != '\0') {
        sbx_log_warn("SIGHUP: changed but in force only after a restart: "
                     "%s", d.kept);
    }

    next->number = sbx_confgen_current->number + 1;
    sbx_log_level = (int) next->conf.log_level;

    sbx_confgen_swap(next);

    /* whatever the new log_level: a reload is always worth a line */
    sbx_log_write(SBX_LOG_INFO, "SIGHUP: configuration %u in force, "
                  "changed: %s", next->number,
                  d.applied[0] ? d.applied : "nothing");

    return SBX_OK;
}


/*
 * A key that differs: noted as applied, or, for a key that needs a
 * restart, noted and given its old value back.
 */
static void
sbx_confgen_compare(const char *name, size_t offset, size_t size,
    void *data)
{
    sbx_confgen_diff_t  *d = data;
    size_t               i;

    for (i = 0; sbx_confgen_restart_keys[i] != NULL; i++) {
        if (strcmp(sbx_confgen_restart_keys[i], name) == 0) {
            memcpy((char *) d->next + offset, (const char *) d->prev + offset,
                   size);
            sbx_confgen_append(d->kept, sizeof(d->kept), name);
            return;
        }
    }

    sbx_confgen_append(d->applied, sizeof(d->applied), name);
}


static void
sbx_confgen_append(char *list, size_t len, const char *name)
{
    size_t  used;

    used = strlen(list);

    snprintf(list + used, len - used, "%s%s", used ? ", " : "", name);
}


static void
sbx_confgen_swap(sbx_confgen_t *next)
{
    sbx_confgen_t  *prev;

    pthread_mutex_lock(&sbx_confgen_mutex);

    prev = sbx_confgen_current;
    sbx_confgen_current = next;

    if (prev->refs == 0) {
        free(prev);
    }

    pthread_mutex_unlock(&sbx_confgen_mutex);
}


void
sbx_confgen_free(void)
{
    pthread_mutex_lock(&sbx_confgen_mutex);

    if (sbx_confgen_current != NULL && sbx_confgen_current->refs == 0) {
        free(sbx_confgen_current);
        sbx_confgen_current = NULL;
    }

    pthread_mutex_unlock(&sbx_confgen_mutex);
}
