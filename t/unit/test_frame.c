
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The frame codec of docs/PROTOCOL.md.
 */


#include "tap.h"
#include "sbx_frame.h"


static void
test_round_trip(void)
{
    uint8_t             buf[SBX_FRAME_PREFIX_LEN];
    sbx_frame_prefix_t  p;

    sbx_frame_encode_prefix(buf, SBX_FRAME_RESPONSE, 0x00010203, 0xa0b0c0d);

    ok(memcmp(buf, "SBXF\x01\x02\x00\x00\x00\x01\x02\x03\x0a\x0b\x0c\x0d",
              16) == 0, "prefix bytes are as the protocol says, big-endian");

    is_int(sbx_frame_decode_prefix(buf, SBX_FRAME_RESPONSE,
                                   SBX_FRAME_HEADER_MAX, SBX_FRAME_BODY_MAX,
                                   &p),
           SBX_FRAME_OK, "an encoded prefix decodes");
    is_int(p.header_len, 0x00010203, "header length survives");
    is_int(p.body_len, 0x0a0b0c0d, "body length survives");
    is_int(p.version, 1, "version 1");
}


static sbx_frame_rc_e
decode(const char *bytes, uint32_t header_max, uint32_t body_max)
{
    sbx_frame_prefix_t  p;

    return sbx_frame_decode_prefix((const uint8_t *) bytes,
                                   SBX_FRAME_REQUEST, header_max, body_max,
                                   &p);
}


static void
test_rejections(void)
{
    is_int(decode("SBXG\x01\x01\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00",
                  1024, 1024),
           SBX_FRAME_BAD_MAGIC, "bad magic");
    is_int(decode("SBXF\x02\x01\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00",
                  1024, 1024),
           SBX_FRAME_BAD_VERSION, "version 2 is refused");
    is_int(decode("SBXF\x01\x02\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00",
                  1024, 1024),
           SBX_FRAME_BAD_TYPE, "a response where a request is expected");
    is_int(decode("SBXF\x01\x01\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00",
                  1024, 1024),
           SBX_FRAME_BAD_RESERVED, "reserved bytes must be zero");
    is_int(decode("SBXF\x01\x01\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00",
                  1024, 1024),
           SBX_FRAME_BAD_HEADER_LEN, "a header shorter than {} is refused");
    is_int(decode("SBXF\x01\x01\x00\x00\x00\x00\x04\x01\x00\x00\x00\x00",
                  1024, 1024),
           SBX_FRAME_BAD_HEADER_LEN, "a header over the caller's limit");
    is_int(decode("SBXF\x01\x01\x00\x00\x00\x00\x04\x00\x00\x00\x04\x00",
                  1024, 1024),
           SBX_FRAME_OK, "header and body exactly at the limits");
    is_int(decode("SBXF\x01\x01\x00\x00\x00\x00\x00\x02\x00\x00\x04\x01",
                  1024, 1024),
           SBX_FRAME_BODY_TOO_LARGE, "a body over the caller's limit");
    is_int(decode("SBXF\x01\x01\x00\x00\x00\x20\x00\x00\x00\x00\x00\x00",
                  0xffffffff, 0xffffffff),
           SBX_FRAME_BAD_HEADER_LEN,
           "the protocol's 1 MiB header bound holds whatever the caller says");
    is_int(decode("SBXF\x01\x01\x00\x00\x00\x00\x00\x02\x40\x00\x00\x01",
                  0xffffffff, 0xffffffff),
           SBX_FRAME_BODY_TOO_LARGE, "the protocol's 1 GiB body bound holds");
    ok(strcmp(sbx_frame_strerror(SBX_FRAME_BAD_MAGIC), "bad frame magic")
       == 0, "errors have a text");
}


int
main(void)
{
    test_round_trip();
    test_rejections();

    return done_testing();
}
