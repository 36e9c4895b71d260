
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The frame codec of the sandboxd protocol (docs/PROTOCOL.md), shared by
 * the nginx module, sandboxd and the in-container agent.  Plain C11 with no
 * dependency, so every side compiles the very same file.
 */


#ifndef SBX_FRAME_H
#define SBX_FRAME_H


#include <stddef.h>
#include <stdint.h>


/* The release of ngx_sandbox: the module and sandboxd report it. */
#define SBX_VERSION  "0.1.0"

#define SBX_FRAME_VERSION      1
#define SBX_FRAME_PREFIX_LEN   16
#define SBX_FRAME_HEADER_MIN   2
#define SBX_FRAME_HEADER_MAX   (1024 * 1024)
#define SBX_FRAME_BODY_MAX     (1024 * 1024 * 1024)


typedef enum {
    SBX_FRAME_REQUEST = 1,
    SBX_FRAME_RESPONSE = 2
} sbx_frame_type_e;


typedef enum {
    SBX_FRAME_OK = 0,
    SBX_FRAME_BAD_MAGIC,
    SBX_FRAME_BAD_VERSION,
    SBX_FRAME_BAD_TYPE,
    SBX_FRAME_BAD_RESERVED,
    SBX_FRAME_BAD_HEADER_LEN,
    SBX_FRAME_BODY_TOO_LARGE
} sbx_frame_rc_e;


typedef struct {
    uint32_t  header_len;
    uint32_t  body_len;
    uint8_t   version;
    uint8_t   type;
} sbx_frame_prefix_t;


/*
 * Writes the 16-byte prefix of a frame of the given type and lengths.  The
 * caller keeps the lengths within the protocol bounds.
 */
void sbx_frame_encode_prefix(uint8_t *out, sbx_frame_type_e type,
    uint32_t header_len, uint32_t body_len);

/*
 * Reads and checks a 16-byte prefix.  A frame must be of the expected type,
 * its header at most header_max bytes and its body at most body_max bytes
 * (each clamped to the protocol bound).  On SBX_FRAME_BAD_VERSION the
 * prefix's version is still stored in *prefix so that the caller can say so.
 */
sbx_frame_rc_e sbx_frame_decode_prefix(const uint8_t *in,
    sbx_frame_type_e expected_type, uint32_t header_max, uint32_t body_max,
    sbx_frame_prefix_t *prefix);

/* A short, static, human-readable text for a decode result. */
const char *sbx_frame_strerror(sbx_frame_rc_e rc);


#endif /* SBX_FRAME_H */
