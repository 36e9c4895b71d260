
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The demultiplexer of Docker's raw attach stream (Tty false): frames of an
 * 8-byte header (byte 0 the stream: 1 stdout, 2 stderr; bytes 4..7 the
 * big-endian payload length) and a payload.  Fed incrementally, frames may
 * split anywhere.  Each stream is captured up to a limit; the rest is
 * counted and dropped.
 */


#ifndef SBX_DEMUX_H
#define SBX_DEMUX_H


#include <stddef.h>
#include <stdint.h>


typedef struct {
    char      *data;
    size_t     len;
    size_t     cap;
    int        truncated;
} sbx_capture_t;


typedef struct {
    uint8_t         hdr[8];
    size_t          hdr_len;
    uint32_t        remaining;   /* payload bytes left in this frame */
    int             stream;
    size_t          limit;
    sbx_capture_t   out[2];      /* stdout, stderr */
} sbx_demux_t;


void sbx_demux_init(sbx_demux_t *d, size_t limit);

/* Consumes n bytes.  Returns SBX_ERR only when memory runs out. */
int sbx_demux_feed(sbx_demux_t *d, const uint8_t *p, size_t n);

void sbx_demux_free(sbx_demux_t *d);


#endif /* SBX_DEMUX_H */
