
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Small helpers of sandboxd with no dependency on Docker or Redis: return
 * codes, the error a caller owns, time, random ids, hashing, number and
 * size parsing and the validation of names the protocol defines.
 */


#ifndef SBX_UTIL_H
#define SBX_UTIL_H


#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sbx_frame.h"
#include "sbx_validate.h"


#define SBX_OK    0
#define SBX_ERR  -1

/* Protocol error codes (docs/PROTOCOL.md). */
#define SBX_E_BAD_FRAME           "bad_frame"
#define SBX_E_UNSUPPORTED_VERSION "unsupported_version"
#define SBX_E_UNKNOWN_OP          "unknown_op"
#define SBX_E_INVALID_ARGUMENT    "invalid_argument"
#define SBX_E_NOT_FOUND           "not_found"
#define SBX_E_CONFLICT            "conflict"
#define SBX_E_BUSY                "busy"
#define SBX_E_STORE_UNAVAILABLE   "store_unavailable"
#define SBX_E_DOCKER_UNAVAILABLE  "docker_unavailable"
#define SBX_E_SANDBOX_ERROR       "sandbox_error"
#define SBX_E_SESSION_LOST        "session_lost"
#define SBX_E_AGENT_FAILED        "agent_failed"
#define SBX_E_AGENT_UNAVAILABLE   "agent_unavailable"
#define SBX_E_TOO_LARGE           "too_large"
#define SBX_E_NO_SPACE            "no_space"
#define SBX_E_INTERNAL            "internal"
#define SBX_E_CANCELLED           "cancelled"

#define SBX_CONTAINER_NAME_LEN  28      /* "sbx-" + 24 hex digits */
#define SBX_CONTAINER_ID_MAX    64


/* An error a caller owns: a static protocol code and a human message. */
typedef struct {
    const char  *code;
    char         msg[256];
} sbx_error_t;


void sbx_error_set(sbx_error_t *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wall clock in Unix seconds, and a monotonic clock in milliseconds. */
int64_t sbx_time_now(void);
int64_t sbx_time_mono_ms(void);
void sbx_sleep_ms(long ms);

/* ts: ms milliseconds from now on clock (a deadline for timed waits). */
void sbx_time_after(clockid_t clock, long ms, struct timespec *ts);

/*
 * Fills out with 2 * nbytes lowercase hex digits of kernel randomness and a
 * terminating NUL.  Returns SBX_ERR when getrandom(2) fails.
 */
int sbx_random_hex(char *out, size_t nbytes);

/* Writes 64 hex digits and a NUL: the SHA-256 of data. */
int sbx_sha256_hex(const void *data, size_t len, char out[65]);

/*
 * Derives the container name of a session: "sbx-" followed by the first 24
 * hex digits of sha256(instance "\0" user "\0" session).  out must hold
 * SBX_CONTAINER_NAME_LEN + 1 bytes.
 */
int sbx_container_name(const char *instance, const char *user,
    const char *session_id, char *out);

/*
 * Parses a non-negative integer with an optional k/m/g suffix (powers of
 * 1024, any case).  Returns SBX_ERR on anything else or on overflow.
 */
int sbx_parse_size(const char *s, uint64_t *out);

/* Parses a plain decimal unsigned integer, all of s. */
int sbx_parse_uint(const char *s, uint64_t *out);

/* A container or exec id as Docker returns it: 1..64 hex digits. */
int sbx_valid_docker_id(const char *s);


#endif /* SBX_UTIL_H */
