
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Version ranges (worker/sbx_semver.c): the forms Piston's clients send
 * as "version", which POST /run resolves against its runtimes' versions.
 */


#include "tap.h"
#include "sbx_semver.h"


static void
test_versions(void)
{
    ok(sbx_semver_match("*", "3.11.2"), "*");
    ok(sbx_semver_match("3.11.2", "3.11.2"), "exact");
    ok(sbx_semver_match("3", "3.11.2"), "major");
    ok(sbx_semver_match("3.11", "3.11.2"), "minor");
    ok(sbx_semver_match("3.x", "3.11.2"), "3.x");
    ok(sbx_semver_match("3.x.x", "3.11.2"), "3.x.x");
    ok(sbx_semver_match("^3.8", "3.11.2"), "^");
    ok(sbx_semver_match("~3.11.0", "3.11.2"), "~");
    ok(sbx_semver_match(">=3.10", "3.11.2"), ">=");
    ok(sbx_semver_match("<4", "3.11.2"), "<");
    ok(!sbx_semver_match("3.10", "3.11.2"), "another minor");
    ok(!sbx_semver_match("^2", "3.11.2"), "another major");
    ok(!sbx_semver_match("~3.10.0", "3.11.2"), "~ another minor");
    ok(!sbx_semver_match(">3.11.2", "3.11.2"), ">");
    ok(!sbx_semver_match("3.11.2.1", "3.11.2"), "four parts");
    ok(!sbx_semver_match("latest", "3.11.2"), "a word");
    ok(!sbx_semver_match("", "3.11.2"), "empty");
}


int
main(void)
{
    test_versions();

    return done_testing();
}
