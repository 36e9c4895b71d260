
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * sandboxd's configuration: "key = value" lines, then environment
 * overrides.  conf/sandboxd.conf documents every key.
 */


#ifndef SBX_CONFIG_H
#define SBX_CONFIG_H


#include <stddef.h>
#include <stdint.h>


#define SBX_CONF_STR_MAX  1024
#define SBX_INSTANCE_MAX  64


typedef struct {
    char      listen[SBX_CONF_STR_MAX];
    char      listen_tcp[SBX_CONF_STR_MAX];
    char      socket_group[SBX_CONF_STR_MAX];
    uint64_t  socket_mode;
    char      instance[SBX_CONF_STR_MAX];
    char      docker_host[SBX_CONF_STR_MAX];
    char      redis_host[SBX_CONF_STR_MAX];
    uint64_t  redis_port;
    char      redis_password[SBX_CONF_STR_MAX];
    uint64_t  redis_db;
    char      redis_prefix[SBX_CONF_STR_MAX];
    uint64_t  session_ttl;
    char      container_image[SBX_CONF_STR_MAX];
    uint64_t  container_memory;
    double    container_cpus;
    uint64_t  container_pids;
    uint64_t  container_nofile;
    uint64_t  container_nproc;
    uint64_t  container_fsize;
    uint64_t  tmpfs_tmp_size;
    uint64_t  tmpfs_workspace_size;
    uint64_t  workspace_persist_volumes;     /* a named volume, not tmpfs */
    uint64_t  output_limit;
    uint64_t  exec_timeout_max;
    uint64_t  run_pool_size;                 /* warm run containers */
    char      agent[SBX_CONF_STR_MAX];       /* a path, or "off" */
    char      agent_dir[SBX_CONF_STR_MAX];
    uint64_t  max_connections;
    uint64_t  max_request_body;
    uint64_t  idle_timeout;
    uint64_t  shutdown_grace;
    uint64_t  cleanup_interval;
    uint64_t  cleanup_grace;
    uint64_t  cleanup_max_container_age;     /* 0: no age limit */
    uint64_t  cleanup_volume_max_idle;       /* 0: volumes are kept */
    uint64_t  max_sessions_per_user;         /* 0: unlimited */
    uint64_t  max_concurrent_execs_per_user; /* 0: unlimited */
    uint64_t  max_containers;                /* 0: unlimited */
    uint64_t  task_workers;                  /* tasks run at once */
    uint64_t  max_tasks_per_user;            /* queued + running; 0: any */
    uint64_t  task_ttl;                      /* seconds a task is kept */
    char      callback_allow[SBX_CONF_STR_MAX];  /* origins; "": none */
    char      callback_secret[SBX_CONF_STR_MAX];
    uint64_t  callback_retries;
    uint64_t  callback_timeout;
    char      install_image[SBX_CONF_STR_MAX];    /* "": container_image */
    char      install_network[SBX_CONF_STR_MAX];  /* "none" or a network */
    char      install_proxy[SBX_CONF_STR_MAX];    /* "": none */
    char      install_pip_index_url[SBX_CONF_STR_MAX];
    char      install_npm_registry[SBX_CONF_STR_MAX];
    char      install_wheelhouse[SBX_CONF_STR_MAX];   /* host dir, or "" */
    char      install_npm_cache[SBX_CONF_STR_MAX];    /* host dir, or "" */
    uint64_t  install_timeout;                   /* seconds */
    uint64_t  install_memory;                    /* bytes */
    char      audit_log[SBX_CONF_STR_MAX];   /* a path, "stderr", "off" */
    uint64_t  log_level;
    char      log_file[SBX_CONF_STR_MAX];
    char      pid_file[SBX_CONF_STR_MAX];

    /* derived from listen and docker_host */
    char      unix_path[SBX_CONF_STR_MAX];
    char      docker_socket[SBX_CONF_STR_MAX];   /* empty for tcp:// */
    char      docker_base[SBX_CONF_STR_MAX];     /* http://.../v1.41 */
} sbx_config_t;


/* Sets every key to its default. */
void sbx_config_defaults(sbx_config_t *conf);

/*
 * Applies one line of a configuration file.  Blank lines and "#" comments
 * are accepted; a "#" after white space starts a comment.  On error
 * writes a message (without file:line) to err.
 */
int sbx_config_parse_line(sbx_config_t *conf, const char *line, char *err,
    size_t errlen);

/*
 * Loads defaults, the file (when path is not NULL) and the environment,
 * then derives the computed fields and checks the rules between keys
 * (instance is 1..64 characters of [A-Za-z0-9_.-]; session_ttl exceeds
 * exec_timeout_max + cleanup_grace).  On error err names file:line, the
 * environment variable or the rule.
 */
int sbx_config_load(sbx_config_t *conf, const char *path, char *err,
    size_t errlen);

typedef void (*sbx_config_diff_pt)(const char *name, size_t offset,
    size_t size, void *data);

/*
 * Calls handler for every key whose value differs between a and b, with
 * the key's name and its field's offset and size in sbx_config_t.
 */
void sbx_config_diff(const sbx_config_t *a, const sbx_config_t *b,
    sbx_config_diff_pt handler, void *data);


#endif /* SBX_CONFIG_H */
