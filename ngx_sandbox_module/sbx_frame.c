
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include "sbx_frame.h"


static const uint8_t  sbx_frame_magic[4] = { 'S', 'B', 'X', 'F' };


static void sbx_frame_put_u32(uint8_t *p, uint32_t v);
static uint32_t sbx_frame_get_u32(const uint8_t *p);


void
sbx_frame_encode_prefix(uint8_t *out, sbx_frame_type_e type,
    uint32_t header_len, uint32_t body_len)
{
    out[0] = sbx_frame_magic[0];
    out[1] = sbx_frame_magic[1];
    out[2] = sbx_frame_magic[2];
    out[3] = sbx_frame_magic[3];
    out[4] = SBX_FRAME_VERSION;
    out[5] = (uint8_t) type;
    out[6] = 0;
    out[7] = 0;

    sbx_frame_put_u32(out + 8, header_len);
    sbx_frame_put_u32(out + 12, body_len);
}


sbx_frame_rc_e
sbx_frame_decode_prefix(const uint8_t *in, sbx_frame_type_e expected_type,
    uint32_t header_max, uint32_t body_max, sbx_frame_prefix_t *prefix)
{
    if (in[0] != sbx_frame_magic[0] || in[1] != sbx_frame_magic[1]
        || in[2] != sbx_frame_magic[2] || in[3] != sbx_frame_magic[3])
    {
        return SBX_FRAME_BAD_MAGIC;
    }

    prefix->version = in[4];
    prefix->type = in[5];
    prefix->header_len = sbx_frame_get_u32(in + 8);
    prefix->body_len = sbx_frame_get_u32(in + 12);

    if (prefix->version != SBX_FRAME_VERSION) {
        return SBX_FRAME_BAD_VERSION;
    }

    if (prefix->type != (uint8_t) expected_type) {
        return SBX_FRAME_BAD_TYPE;
    }

    if (in[6] != 0 || in[7] != 0) {
        return SBX_FRAME_BAD_RESERVED;
    }

    if (header_max > SBX_FRAME_HEADER_MAX) {
        header_max = SBX_FRAME_HEADER_MAX;
    }

    if (body_max > SBX_FRAME_BODY_MAX) {
        body_max = SBX_FRAME_BODY_MAX;
    }

    if (prefix->header_len < SBX_FRAME_HEADER_MIN
        || prefix->header_len > header_max)
    {
        return SBX_FRAME_BAD_HEADER_LEN;
    }

    if (prefix->body_len > body_max) {
        return SBX_FRAME_BODY_TOO_LARGE;
    }

    return SBX_FRAME_OK;
}


const char *
sbx_frame_strerror(sbx_frame_rc_e rc)
{
    switch (rc) {
    case SBX_FRAME_OK:
        return "ok";
    case SBX_FRAME_BAD_MAGIC:
        return "bad frame magic";
    case SBX_FRAME_BAD_VERSION:
        return "unsupported frame version";
    case SBX_FRAME_BAD_TYPE:
        return "unexpected frame type";
    case SBX_FRAME_BAD_RESERVED:
        return "non-zero reserved frame bytes";
    case SBX_FRAME_BAD_HEADER_LEN:
        return "frame header length out of bounds";
    case SBX_FRAME_BODY_TOO_LARGE:
        return "frame body too large";
    }

    return "unknown frame error";
}


static void
sbx_frame_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}


static uint32_t
sbx_frame_get_u32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | (uint32_t) p[3];
}
