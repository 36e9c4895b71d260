
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * sandboxd's configuration generations (SIGHUP): what a reload applies,
 * what it keeps for a restart, that an invalid file changes nothing, and
 * that a reader keeps its generation across a reload.
 */


#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "sbx_confgen.h"
#include "sbx_log.h"
#include "sbx_util.h"


static char  path[] = "/tmp/test_worker_confgen.XXXXXX";


static void
write_file(const char *text)
{
    FILE  *f;

    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}


static void
test_diff_names(const char *name, size_t offset, size_t size, void *data)
{
    char  *list = data;

    (void) offset;
    (void) size;

    strcat(list, name);
    strcat(list, " ");
}


static void
test_diff(void)
{
    static sbx_config_t  a, b;
    char                 list[256];

    sbx_config_defaults(&a);
    sbx_config_defaults(&b);

    /* a longer value first: what is left behind its NUL does not count */
    snprintf(b.instance, sizeof(b.instance), "a-longer-name");
    snprintf(b.instance, sizeof(b.instance), "default");
    b.session_ttl = 900;
    b.container_cpus = 2.0;

    list[0] = '\0';
    sbx_config_diff(&a, &b, test_diff_names, list);
    is_str(list, "session_ttl container_cpus ", "diff names what differs");
}


static void
test_reload(void)
{
    static sbx_config_t   boot;
    const sbx_config_t   *c, *old;
    char                  err[512];
    int                   fd;

    fd = mkstemp(path);
    close(fd);

    write_file("instance = one\nsession_ttl = 600\nlog_level = info\n");
    ok(sbx_config_load(&boot, path, err, sizeof(err)) == SBX_OK, "boot");
    ok(sbx_confgen_init(&boot, path) == SBX_OK, "first generation");

    c = sbx_confgen_acquire();
    is_int(c->session_ttl, 600, "session_ttl 600");
    old = c;

    write_file("instance = two\nsession_ttl = 900\nmax_containers = 3\n"
               "log_level = warn\n");
    ok(sbx_confgen_reload() == SBX_OK, "a good file is reloaded");

    is_int(old->session_ttl, 600, "a reader keeps its generation");
    sbx_confgen_release(old);

    c = sbx_confgen_acquire();
    is_int(c->session_ttl, 900, "session_ttl applies");
    is_int(c->max_containers, 3, "max_containers applies");
    is_str(c->instance, "one", "instance waits for a restart");
    is_str(c->unix_path, "/run/sandboxd/sandboxd.sock", "derived keys kept");
    is_int(sbx_log_level, SBX_LOG_WARN, "log_level applies");
    sbx_confgen_release(c);

    write_file("session_ttl = 10\n");
    ok(sbx_confgen_reload() == SBX_ERR, "a broken rule is refused");
    write_file("bogus = 1\n");
    ok(sbx_confgen_reload() == SBX_ERR, "an unknown key is refused");
    unlink(path);
    ok(sbx_confgen_reload() == SBX_ERR, "a missing file is refused");

    c = sbx_confgen_acquire();
    is_int(c->session_ttl, 900, "the last good generation stays");
    is_int(c->max_containers, 3, "all of it");
    sbx_confgen_release(c);

    sbx_confgen_free();
}


int
main(void)
{
    (void) sbx_log_open("/dev/null");    /* reloads log what they did */

    test_diff();
    test_reload();

    return done_testing();
}
