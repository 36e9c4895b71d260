
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Byte-exact JSON strings and base64 for command output.
 */


#include "tap.h"
#include "sbx_json.h"


static int
escapes_to(const char *in, size_t len, const char *expected)
{
    uint8_t  out[256], *end;

    end = sbx_json_escape(out, (const uint8_t *) in, len);
    *end = '\0';

    return (size_t) (end - out) == sbx_json_escaped_len((const uint8_t *) in,
                                                        len)
           && strcmp((char *) out, expected) == 0;
}


static int
base64_is(const char *in, size_t len, const char *expected)
{
    uint8_t  out[64], *end;

    end = sbx_base64_encode(out, (const uint8_t *) in, len);
    *end = '\0';

    return (size_t) (end - out) == sbx_base64_len(len)
           && strcmp((char *) out, expected) == 0;
}


#define utf8(s)  sbx_utf8_valid((const uint8_t *) s, sizeof(s) - 1)


int
main(void)
{
    ok(utf8(""), "empty is UTF-8");
    ok(utf8("plain ascii\n"), "ASCII is UTF-8");
    ok(utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
       "2, 3 and 4 byte sequences");
    ok(utf8("nul\x00inside"), "NUL is valid UTF-8");
    ok(!utf8("\xff"), "0xff is not UTF-8");
    ok(!utf8("\xc3"), "a truncated sequence is not UTF-8");
    ok(!utf8("\xc0\xaf"), "an overlong '/' is refused");
    ok(!utf8("\xed\xa0\x80"), "a UTF-16 surrogate is refused");
    ok(!utf8("\xf4\x90\x80\x80"), "past U+10FFFF is refused");
    ok(!utf8("\xe2\x28\xa1"), "a bad continuation byte is refused");

    ok(escapes_to("hi\n", 3, "\"hi\\n\""), "newline");
    ok(escapes_to("a\"b\\c", 5, "\"a\\\"b\\\\c\""), "quote and backslash");
    ok(escapes_to("\x00\x01\x1f\x7f", 4, "\"\\u0000\\u0001\\u001f\\u007f\""),
       "control bytes and NUL as \\u escapes");
    ok(escapes_to("\t\r\b\f", 4, "\"\\t\\r\\b\\f\""), "short escapes");
    ok(escapes_to("\xc3\xa9", 2, "\"\xc3\xa9\""), "UTF-8 passes as is");
    ok(escapes_to("", 0, "\"\""), "empty string");

    ok(base64_is("", 0, ""), "base64 of nothing");
    ok(base64_is("f", 1, "Zg=="), "base64 pads one byte");
    ok(base64_is("fo", 2, "Zm8="), "base64 pads two bytes");
    ok(base64_is("foo", 3, "Zm9v"), "base64 of three bytes");
    ok(base64_is("\xff\x00\xfe\x01", 4, "/wD+AQ=="), "base64 of binary");

    return done_testing();
}
