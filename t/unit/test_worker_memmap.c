
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The memory store's map (worker/sbx_memmap.c): records with a TTL, the
 * per-user listing, and the quota sets answering as the Redis scripts do.
 * Time is the tests' own: every call is given its "now" in ms.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "sbx_memmap.h"


static sbx_session_rec_t
rec_of(const char *sid, int64_t created)
{
    sbx_session_rec_t  r;

    memset(&r, 0, sizeof(r));
    snprintf(r.session_id, sizeof(r.session_id), "%s", sid);
    snprintf(r.container_id, sizeof(r.container_id), "%064d", 1);
    snprintf(r.container_name, sizeof(r.container_name), "sbx-%024d", 2);
    r.created_at = created;
    r.last_used_at = created;

    return r;
}


static void
test_records(void)
{
    sbx_memmap_t       *m;
    sbx_session_rec_t   r, got;

    m = sbx_memmap_create();
    ok(m != NULL, "a map");

    r = rec_of("s1", 100);
    ok(sbx_memmap_put(m, "alice", &r, 1000, 0) == SBX_OK, "put");
    ok(sbx_memmap_get(m, "alice", "s1", 999, &got) == 1
       && got.created_at == 100 && strcmp(got.session_id, "s1") == 0
       && strcmp(got.container_id, r.container_id) == 0,
       "get before the TTL");
    ok(sbx_memmap_get(m, "bob", "s1", 0, &got) == 0,
       "another user's session is not found");
    ok(sbx_memmap_get(m, "alice", "s2", 0, &got) == 0, "nor another id");
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_LIVE, 0), 1,
           "the live set counts it");

    ok(sbx_memmap_touch(m, "alice", "s1", 555, 1000, 900) == 1,
       "touch before the TTL");
    ok(sbx_memmap_get(m, "alice", "s1", 1899, &got) == 1
       && got.last_used_at == 555, "the TTL counts from the touch");
    ok(sbx_memmap_get(m, "alice", "s1", 1900, &got) == 0,
       "gone at now + TTL");
    ok(sbx_memmap_touch(m, "alice", "s1", 1, 1000, 1900) == 0,
       "an expired record is not touched back to life");
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_LIVE, 1900), 0,
           "nor counted");
    is_int(sbx_memmap_users(m), 0, "a user with nothing left is freed");

    r = rec_of("s1", 100);
    sbx_memmap_put(m, "alice", &r, 1000, 0);
    r.created_at = 200;
    sbx_memmap_put(m, "alice", &r, 1000, 0);
    ok(sbx_memmap_get(m, "alice", "s1", 0, &got) == 1
       && got.created_at == 200, "a put replaces the session's record");
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_LIVE, 0), 1,
           "  counted once");

    sbx_memmap_delete(m, "alice", "s1");
    ok(sbx_memmap_get(m, "alice", "s1", 0, &got) == 0, "delete");
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_LIVE, 0), 0,
           "  leaves the live set too");
    sbx_memmap_delete(m, "alice", "s1");
    sbx_memmap_delete(m, "nobody", "s1");
    ok(1, "deleting what is not there is harmless");
    is_int(sbx_memmap_users(m), 0, "  and leaves no user behind");

    sbx_memmap_destroy(m);
}


static void
test_list(void)
{
    sbx_memmap_t       *m;
    sbx_session_rec_t   r, *recs;
    size_t              n, total;

    m = sbx_memmap_create();

    r = rec_of("c", 30);
    sbx_memmap_put(m, "alice", &r, 1000, 0);
    r = rec_of("b", 10);
    sbx_memmap_put(m, "alice", &r, 1000, 0);
    r = rec_of("a", 30);
    sbx_memmap_put(m, "alice", &r, 1000, 0);
    r = rec_of("old", 5);
    sbx_memmap_put(m, "alice", &r, 10, 0);
    r = rec_of("x", 1);
    sbx_memmap_put(m, "bob", &r, 1000, 0);

    ok(sbx_memmap_list(m, "alice", 10, 100, &recs, &n, &total) == SBX_OK,
       "list");
    is_int(n, 3, "the live sessions of the user, not the expired one");
    is_int(total, 3, "  all of them");
    ok(n == 3 && strcmp(recs[0].session_id, "b") == 0
       && strcmp(recs[1].session_id, "a") == 0
       && strcmp(recs[2].session_id, "c") == 0,
       "oldest first, then by id");
    free(recs);

    ok(sbx_memmap_list(m, "alice", 10, 2, &recs, &n, &total) == SBX_OK
       && n == 2 && total == 3 && strcmp(recs[1].session_id, "a") == 0,
       "cut at max, saying how many there are");
    free(recs);

    ok(sbx_memmap_list(m, "carol", 10, 100, &recs, &n, &total) == SBX_OK
       && n == 0 && total == 0, "a user without sessions: an empty list");
    free(recs);

    is_int(sbx_memmap_expire(m, 999), 0, "nothing to sweep yet");
    is_int(sbx_memmap_expire(m, 1000), 8,
           "a sweep drops every expired record and live entry");
    is_int(sbx_memmap_users(m), 0, "  and the users left empty");

    sbx_memmap_destroy(m);
}


static void
test_quota_sets(void)
{
    sbx_memmap_t       *m;
    sbx_session_rec_t   r;
    long long           n;

    m = sbx_memmap_create();

    ok(sbx_memmap_take(m, "alice", SBX_MEMMAP_LIVE, "s1", 2, 100, 0, &n)
       == SBX_OK && n == 1, "a reservation: the count with it");
    ok(sbx_memmap_take(m, "alice", SBX_MEMMAP_LIVE, "s1", 2, 100, 50, &n)
       == SBX_OK && n == 0, "a member already: 0");
    ok(sbx_memmap_take(m, "alice", SBX_MEMMAP_LIVE, "s2", 2, 100, 0, &n)
       == SBX_OK && n == 2, "a second one");
    ok(sbx_memmap_take(m, "alice", SBX_MEMMAP_LIVE, "s3", 2, 100, 0, &n)
       == SBX_OK && n == -2, "full: minus the count");
    ok(sbx_memmap_take(m, "alice", SBX_MEMMAP_EXECS, "x1", 1, 100, 0, &n)
       == SBX_OK && n == 1, "the exec set is another set");
    ok(sbx_memmap_take(m, "bob", SBX_MEMMAP_LIVE, "s3", 2, 100, 0, &n)
       == SBX_OK && n == 1, "another user has sets of their own");

    sbx_memmap_renew(m, "alice", SBX_MEMMAP_EXECS, "x1", 500, 50);
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_EXECS, 549), 1,
           "renew moves a deadline");

    r = rec_of("s1", 1);
    sbx_memmap_put(m, "alice", &r, 1000, 0);
    ok(sbx_memmap_take(m, "alice", SBX_MEMMAP_LIVE, "s3", 2, 100, 100, &n)
       == SBX_OK && n == 2,
       "a reservation lapses at its deadline; a record's place does not");
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_LIVE, 100), 2,
           "  counted: the record and the new place");
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_EXECS, 550), 0,
           "the renewed slot lapses at now + hold");

    sbx_memmap_renew(m, "alice", SBX_MEMMAP_EXECS, "x2", 500, 600);
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_EXECS, 600), 0,
           "renew adds no member");

    sbx_memmap_take(m, "alice", SBX_MEMMAP_EXECS, "x3", 1, 100, 600, &n);
    sbx_memmap_drop(m, "alice", SBX_MEMMAP_EXECS, "x3");
    is_int(sbx_memmap_count(m, "alice", SBX_MEMMAP_EXECS, 600), 0,
           "drop frees a slot");

    ok(sbx_memmap_take(m, "alice", SBX_MEMMAP_LIVE,
                       "0123456789012345678901234567890123456789012345678901"
                       "2345678901234567890123456789012345678901234567890123"
                       "45678901234567890123456789", 9, 100, 600, &n)
       == SBX_ERR, "a member longer than a session id is refused");

    sbx_memmap_destroy(m);
}


static void
test_many_users(void)
{
    sbx_memmap_t       *m;
    sbx_session_rec_t   r, got;
    char                user[32];
    int                 i, found;

    m = sbx_memmap_create();

    for (i = 0; i < 1000; i++) {
        snprintf(user, sizeof(user), "user-%d", i);
        r = rec_of("s", i);
        sbx_memmap_put(m, user, &r, 1000, 0);
    }

    is_int(sbx_memmap_users(m), 1000, "1000 users (the table grows)");

    found = 0;
    for (i = 0; i < 1000; i++) {
        snprintf(user, sizeof(user), "user-%d", i);
        found += sbx_memmap_get(m, user, "s", 0, &got) == 1
                 && got.created_at == i;
    }

    is_int(found, 1000, "  each finds its own record");

    for (i = 0; i < 1000; i += 2) {
        snprintf(user, sizeof(user), "user-%d", i);
        sbx_memmap_delete(m, user, "s");
    }

    is_int(sbx_memmap_users(m), 500, "half deleted, half the users left");

    sbx_memmap_destroy(m);
    ok(1, "destroyed with users in it");
}


static int
count_record(void *data, const char *user, const char *session_id)
{
    char  *seen = data;

    strcat(seen, user);
    strcat(seen, "/");
    strcat(seen, session_id);
    strcat(seen, " ");

    return strcmp(session_id, "stop") == 0 ? SBX_ERR : SBX_OK;
}


static void
test_values_and_walk(void)
{
    sbx_memmap_t       *m;
    sbx_session_rec_t   r;
    char                value[SBX_MEMMAP_VALUE_MAX + 1], seen[256];
    int64_t             n;

    m = sbx_memmap_create();

    ok(sbx_memmap_set(m, "alice", SBX_MEMMAP_LOST, "s1", "max_age", 7, 100,
                      0) == SBX_OK, "a member with a value");
    ok(sbx_memmap_read(m, "alice", SBX_MEMMAP_LOST, "s1", 0, 99, value, &n)
       == 1 && strcmp(value, "max_age") == 0 && n == 7, "read it");
    ok(sbx_memmap_read(m, "alice", SBX_MEMMAP_LOST, "s1", 1, 99, value, &n)
       == 1, "take it");
    ok(sbx_memmap_read(m, "alice", SBX_MEMMAP_LOST, "s1", 0, 99, value, &n)
       == 0, "  then it is gone");
    sbx_memmap_set(m, "", SBX_MEMMAP_VOLUMES, "v", "2026", 5, 100, 0);
    ok(sbx_memmap_read(m, "", SBX_MEMMAP_VOLUMES, "v", 0, 100, value, &n)
       == 0, "a value lapses at its deadline");
    ok(sbx_memmap_set(m, "alice", SBX_MEMMAP_LOST, "s1",
                      "0123456789012345678901234567890123456789"
                      "0123456789012345678901234567890123456789", 0, 100, 0)
       == SBX_ERR, "a value too long is refused");

    r = rec_of("a", 1);
    sbx_memmap_put(m, "alice", &r, 1000, 0);
    r = rec_of("old", 1);
    sbx_memmap_put(m, "alice", &r, 10, 0);
    r = rec_of("b", 1);
    sbx_memmap_put(m, "bob", &r, 1000, 0);

    seen[0] = '\0';
    ok(sbx_memmap_each_record(m, 10, count_record, seen) == SBX_OK
       && strlen(seen) == strlen("alice/a bob/b ")
       && strstr(seen, "alice/a ") != NULL && strstr(seen, "bob/b ") != NULL,
       "the walk sees every live record");

    r = rec_of("stop", 1);
    sbx_memmap_put(m, "carol", &r, 1000, 0);
    seen[0] = '\0';
    ok(sbx_memmap_each_record(m, 10, count_record, seen) == SBX_ERR,
       "a handler's error stops it and is returned");

    sbx_memmap_destroy(m);
}


int
main(void)
{
    test_records();
    test_list();
    test_quota_sets();
    test_many_users();
    test_values_and_walk();

    return done_testing();
}
