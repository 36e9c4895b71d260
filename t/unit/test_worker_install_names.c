
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The package names an install takes (worker/sbx_install_names.c): a
 * name with an optional version, never an option, a path, a URL, a VCS
 * spec or an archive file the installer would take instead.
 */


#include "tap.h"
#include "sbx_install_names.h"


static void
test_pip(void)
{
    static const char  *good[] = {
        "requests", "Django==4.2.7", "numpy>=1.24,<2",
        "requests[security,socks]>=2.31", "zope.interface",
        "backports.zoneinfo", "ruamel.yaml~=0.18", "pkg!=1.0.*",
        "pkg==1.0.post1", "pkg==1!2.0", "pkg==1.0+local",
        "typing_extensions", "A", NULL
    };
    static const char  *bad[] = {
        "-r", "-rreq.txt", "--index-url=http://x", "-e.", "-e",
        "pkg @ https://x/p.whl", "pkg@https://x", "https://x/p.whl",
        "git+https://github.com/a/b", "./local", "/abs/path", "../up",
        "pkg; python_version<\"3\"", "pkg;sys_platform==\"linux\"",
        "pkg ==1.0", "pkg==1.0 ", "pkg[extra", "pkg[]", ".hidden", "_x",
        "x_", "pkg==", "pkg==abc", "pkg>=1.0,", "file:///tmp/x",
        "mypkg-1.0-py3-none-any.whl", "x.tar.gz", "x.zip", "X.WHL",
        "pkg==1.0;x", "pkg==1.0#frag", "pkg===1.0", "pkg$(id)",
        "pkg'", "", NULL
    };
    const char        **p;

    for (p = good; *p != NULL; p++) {
        ok(sbx_install_name_ok("pip", *p), "pip takes \"%s\"", *p);
    }

    for (p = bad; *p != NULL; p++) {
        ok(!sbx_install_name_ok("pip", *p), "pip refuses \"%s\"", *p);
    }
}


static void
test_npm(void)
{
    static const char  *good[] = {
        "lodash", "left-pad", "@types/node", "@babel/core@^7.23.0",
        "express@4.18.2", "react@~18.2", "is-odd@>=3.0.0", "typescript@5.x",
        "pkg@latest", "pkg@next", "chalk@4||5", "pkg@1.2.3-beta.1",
        "@scope/pkg@1", "socket.io", NULL
    };
    static const char  *bad[] = {
        "-g", "--registry=http://x", "git+https://github.com/a/b.git",
        "git://x", "github:user/repo", "user/repo", "file:../x", "file:x",
        "http://x/y.tgz", "https://x/y.tgz", "/abs", "./x", "../x", "..",
        "x..y", "@scope/../x", "@scope//x", "@scope/x/y", "pkg@./x",
        "pkg@../x", "pkg@~/x", "pkg@/x", "pkg@file:x", "pkg@git+ssh://x",
        "pkg@npm:other@1", "pkg@>=1 <2", "Upper", "mypkg.tgz",
        "mydep-0.2.0.tgz", "x.tar", "pkg@1.0.0.tgz", ".hidden", "_under",
        "@/x", "a@", "@scope", "pkg'", "", NULL
    };
    const char        **p;

    for (p = good; *p != NULL; p++) {
        ok(sbx_install_name_ok("npm", *p), "npm takes \"%s\"", *p);
    }

    for (p = bad; *p != NULL; p++) {
        ok(!sbx_install_name_ok("npm", *p), "npm refuses \"%s\"", *p);
    }
}


int
main(void)
{
    test_pip();
    test_npm();

    ok(!sbx_install_name_ok("pip", "pkg\n"), "pip refuses a newline");
    ok(!sbx_install_name_ok("npm", "pkg\n"), "npm refuses a newline");
    ok(!sbx_install_name_ok("apt", "curl"), "no other manager");
    ok(!sbx_install_name_ok("pip", "a" "bcdefghij" "abcdefghij" "abcdefghij"
                            "abcdefghij" "abcdefghij" "abcdefghij"
                            "abcdefghij" "abcdefghij" "abcdefghij"
                            "abcdefghij" "x"), "a pip name over 100 bytes");

    return done_testing();
}
