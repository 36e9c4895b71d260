
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The agent protocol's header fields (worker/sbx_kv.c): what sandboxd
 * writes, and what it accepts from an agent, which it does not trust.
 */


#include <stdlib.h>

#include "tap.h"
#include "sbx_kv.h"


static int
parse_all(const char *data, size_t len, int *nfields)
{
    sbx_kv_iter_t  it;
    sbx_kv_t       kv;
    int            n;

    sbx_kv_iter_init(&it, data, len);
    *nfields = 0;

    while ((n = sbx_kv_next(&it, &kv)) == 1) {
        (*nfields)++;
    }

    return n;
}


static void
test_round_trip(void)
{
    sbx_kv_buf_t   b;
    sbx_kv_iter_t  it;
    sbx_kv_t       kv;
    uint64_t       v;

    sbx_kv_buf_init(&b, 1024);
    sbx_kv_add_str(&b, "op", "exec");
    sbx_kv_add_str(&b, "arg", "echo a=b");
    sbx_kv_add_str(&b, "env", "");
    sbx_kv_add_number(&b, "timeout_ms", 18446744073709551615ULL);

    ok(!b.failed, "fields are written");
    is_int(b.len, sizeof("op=exec") + sizeof("arg=echo a=b") + sizeof("env=")
           + sizeof("timeout_ms=18446744073709551615"),
           "each is name=value and a NUL");

    sbx_kv_iter_init(&it, b.data, b.len);

    ok(sbx_kv_next(&it, &kv) == 1 && sbx_kv_is(&kv, "op")
       && kv.value_len == 4 && strcmp(kv.value, "exec") == 0, "op=exec");
    ok(sbx_kv_next(&it, &kv) == 1 && sbx_kv_is(&kv, "arg")
       && strcmp(kv.value, "echo a=b") == 0,
       "a value keeps its own '='");
    ok(sbx_kv_next(&it, &kv) == 1 && sbx_kv_is(&kv, "env")
       && kv.value_len == 0, "an empty value");
    ok(sbx_kv_next(&it, &kv) == 1
       && sbx_kv_number(&kv, UINT64_MAX, &v) == 0
       && v == 18446744073709551615ULL, "the largest number");
    ok(sbx_kv_next(&it, &kv) == 0, "then the end");
    ok(!sbx_kv_is(&kv, "tim"), "a prefix of a name is not the name");

    sbx_kv_buf_free(&b);
}


static void
test_writer_refuses(void)
{
    sbx_kv_buf_t  b;

    sbx_kv_buf_init(&b, 1024);
    sbx_kv_add(&b, "arg", "a\0b", 3);
    ok(b.failed, "a value with a NUL is refused");
    sbx_kv_buf_free(&b);

    sbx_kv_buf_init(&b, 1024);
    sbx_kv_add_str(&b, "Arg", "x");
    ok(b.failed, "a name outside [a-z0-9_] is refused");
    sbx_kv_buf_free(&b);

    sbx_kv_buf_init(&b, 16);
    sbx_kv_add_str(&b, "arg", "0123456789ab");
    ok(b.failed, "a field over the buffer's max is refused");
    sbx_kv_add_str(&b, "a", "");
    ok(b.failed && b.len == 0, "and the buffer stays failed");
    sbx_kv_buf_free(&b);

    sbx_kv_buf_init(&b, 16);
    sbx_kv_add_str(&b, "a", "1234567890123");
    ok(!b.failed && b.len == 16, "exactly max fits");
    sbx_kv_buf_free(&b);
}


static void
test_reader_refuses(void)
{
    int  n;

    ok(parse_all("a=1\0b=2\0", 8, &n) == 0 && n == 2, "two fields");
    ok(parse_all("", 0, &n) == 0 && n == 0, "no field at all");
    ok(parse_all("a=1\0b=2", 7, &n) == -1 && n == 1,
       "a last field without its NUL is malformed");
    ok(parse_all("a1\0", 3, &n) == -1, "a field without '=' is malformed");
    ok(parse_all("=1\0", 3, &n) == -1, "an empty name is malformed");
    ok(parse_all("A=1\0", 4, &n) == -1, "an upper-case name is malformed");
    ok(parse_all("a b=1\0", 6, &n) == -1, "a space in a name is malformed");
    ok(parse_all("abcdefghijabcdefghijabcdefghijabc=1\0", 36, &n) == -1,
       "a name over 32 characters is malformed");
    ok(parse_all("a=\xff\xfe\0", 5, &n) == 0 && n == 1,
       "a value may hold any byte but NUL");
}


static void
test_numbers(void)
{
    sbx_kv_t  kv;
    uint64_t  v;

    kv.name = "n";
    kv.name_len = 1;

#define NUM(s, max) \
    (kv.value = (s), kv.value_len = strlen(s), sbx_kv_number(&kv, max, &v))

    ok(NUM("0", 10) == 0 && v == 0, "0");
    ok(NUM("10", 10) == 0 && v == 10, "the max itself");
    ok(NUM("11", 10) == -1, "over the max");
    ok(NUM("", 10) == -1, "empty");
    ok(NUM("01", 10) == -1, "a leading zero");
    ok(NUM("-1", 10) == -1, "a sign");
    ok(NUM(" 1", 10) == -1, "a space");
    ok(NUM("1x", 10) == -1, "trailing junk");
    ok(NUM("18446744073709551616", UINT64_MAX) == -1, "2^64 overflows");
    ok(NUM("255", 255) == 0 && v == 255, "an exit code");
    ok(NUM("256", 255) == -1, "one past it");
    ok(NUM("1", 1) == 0 && v == 1, "a flag");
    ok(NUM("2", 1) == -1 && NUM("9", 1) == -1,
       "a digit over a max below 9");
    ok(NUM("0", 0) == 0 && NUM("1", 0) == -1, "max 0");

#undef NUM
}


int
main(void)
{
    test_round_trip();
    test_writer_refuses();
    test_reader_refuses();
    test_numbers();

    return done_testing();
}
