
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Thread-safe line logging: ISO-8601 UTC time, level, message.  The macros
 * test the level before any argument is formatted.
 */


#ifndef SBX_LOG_H
#define SBX_LOG_H


typedef enum {
    SBX_LOG_ERROR = 0,
    SBX_LOG_WARN,
    SBX_LOG_INFO,
    SBX_LOG_DEBUG
} sbx_log_level_e;


/* set by the main thread (startup, SIGHUP), read by every thread */
extern _Atomic int  sbx_log_level;


#define sbx_log_error(...)                                                   \
    do {                                                                     \
        if (sbx_log_level >= SBX_LOG_ERROR) {                                \
            sbx_log_write(SBX_LOG_ERROR, __VA_ARGS__);                       \
        }                                                                    \
    } while (0)

#define sbx_log_warn(...)                                                    \
    do {                                                                     \
        if (sbx_log_level >= SBX_LOG_WARN) {                                 \
            sbx_log_write(SBX_LOG_WARN, __VA_ARGS__);                        \
        }                                                                    \
    } while (0)

#define sbx_log_info(...)                                                    \
    do {                                                                     \
        if (sbx_log_level >= SBX_LOG_INFO) {                                 \
            sbx_log_write(SBX_LOG_INFO, __VA_ARGS__);                        \
        }                                                                    \
    } while (0)

#define sbx_log_debug(...)                                                   \
    do {                                                                     \
        if (sbx_log_level >= SBX_LOG_DEBUG) {                                \
            sbx_log_write(SBX_LOG_DEBUG, __VA_ARGS__);                       \
        }                                                                    \
    } while (0)


/* Parses "error", "warn", "info" or "debug"; -1 for anything else. */
int sbx_log_level_parse(const char *s);

/*
 * Sends log lines to path (appending), or to stderr when path is NULL or
 * empty.  Returns SBX_ERR when the file cannot be opened.
 */
int sbx_log_open(const char *path);

void sbx_log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


#endif /* SBX_LOG_H */
