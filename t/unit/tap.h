
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * A minimal TAP producer for the C unit tests; prove reads its output.
 */


#ifndef SBX_TAP_H
#define SBX_TAP_H


#include <stdio.h>
#include <string.h>


static int  tap_count;
static int  tap_failed;


#define ok(cond, ...)                                                        \
    tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, expected, name)                                          \
    tap_is_int((long long) (got), (long long) (expected), __FILE__,         \
               __LINE__, name)

#define is_str(got, expected, name)                                          \
    tap_is_str((got), (expected), __FILE__, __LINE__, name)


static inline int
tap_ok(int pass, const char *file, int line, const char *name, ...)
{
    tap_count++;

    printf("%sok %d - %s\n", pass ? "" : "not ", tap_count, name);

    if (!pass) {
        tap_failed++;
        printf("#   Failed test '%s'\n#   at %s line %d.\n", name, file,
               line);
    }

    return pass;
}


static inline int
tap_is_int(long long got, long long expected, const char *file, int line,
    const char *name)
{
    if (!tap_ok(got == expected, file, line, name)) {
        printf("#          got: %lld\n#     expected: %lld\n", got, expected);
        return 0;
    }

    return 1;
}


static inline int
tap_is_str(const char *got, const char *expected, const char *file, int line,
    const char *name)
{
    int  pass;

    pass = (got == NULL && expected == NULL)
           || (got != NULL && expected != NULL && strcmp(got, expected) == 0);

    if (!tap_ok(pass, file, line, name)) {
        printf("#          got: '%s'\n#     expected: '%s'\n",
               got ? got : "(null)", expected ? expected : "(null)");
        return 0;
    }

    return 1;
}


static inline int
done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}


#endif /* SBX_TAP_H */
