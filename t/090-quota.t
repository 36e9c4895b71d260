# Per-user quotas (max_sessions_per_user, max_concurrent_execs_per_user),
# kept in Redis and so shared by every sandboxd on it; the host's cap on
# containers (max_containers); GET /quota.
#
# Two sandboxd instances, a and b, share one Redis prefix: what alice does
# through one counts against her quota on the other.  A third, c, has a
# cap of 2 containers, a short session TTL and persistent workspaces (a
# refused session must not leave a volume behind).

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep);

my $sda = Sbx::Sandboxd->new(instance => 't090a');
my $sdb = Sbx::Sandboxd->new(instance => 't090b');
my $sdc = Sbx::Sandboxd->new(instance => 't090c');

my $keys = <<'END';
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
        sandbox_api_key test-key-carol carol;
        sandbox_api_key test-key-dave dave;
        sandbox_allowed_commands off;
END

start_nginx(config => <<"END");
    location /a/ {
        sandbox on;
        sandbox_pass unix:$sda->{socket};
$keys
    }

    location /b/ {
        sandbox on;
        sandbox_pass unix:$sdb->{socket};
        sandbox_exec_timeout_max 120s;
$keys
    }

    location /c/ {
        sandbox on;
        sandbox_pass unix:$sdc->{socket};
$keys
    }
END

my %shared = (SANDBOXD_REDIS_PREFIX => "t090-$$:",
              SANDBOXD_MAX_SESSIONS_PER_USER => 2,
              SANDBOXD_MAX_CONCURRENT_EXECS_PER_USER => 1);

$sda->start(%shared);
$sdb->start(%shared);
$sdc->start(SANDBOXD_MAX_CONTAINERS => 2,
            SANDBOXD_MAX_SESSIONS_PER_USER => 1,
            SANDBOXD_SESSION_TTL => 3, SANDBOXD_EXEC_TIMEOUT_MAX => 1,
            SANDBOXD_CLEANUP_GRACE => 0,
            SANDBOXD_WORKSPACE_PERSIST_VOLUMES => 'true');

sub container_name {
    my ($instance, $user, $sid) = @_;
    return 'sbx-' . substr(sha256_hex("$instance\0$user\0$sid"), 0, 24);
}

sub container_exists {
    my $s = docker_api('GET', '/containers/' . container_name(@_) . '/json')
                ->{status} // 0;
    return $s == 200;
}

sub redis {
    my $out = `redis-cli -p $ENV{SBX_REDIS_PORT} @_ 2>&1`;
    chomp $out;
    return $out;
}

sub quota {
    my ($loc, %opt) = @_;
    return api('GET', "/$loc/quota", undef, %opt);
}

my $base = "t090-$$";

# ------------------------------------------------------------ GET /quota

my $q = quota('a');
is($q->{status}, 200, 'GET /quota');
is($q->{json}{user}, 'alice', '  names the caller');
is_deeply($q->{json}{sessions}, { live => 0, max => 2 },
          '  no session yet, at most 2');
is_deeply($q->{json}{executions}, { running => 0, max => 1 },
          '  nothing running, at most 1');
is($q->{json}{session_ttl_seconds}, 600, '  the session TTL');
is($q->{json}{exec_timeout_max_ms}, 300000, '  the longest timeout');
is(quota('b')->{json}{exec_timeout_max_ms}, 120000,
   '  or the location\'s, when lower');
is(quota('a', key => undef)->{status}, 401, '  needs credentials');

# ------------------------------------------------------- session quota

is(api('POST', '/a/sessions', { session_id => "$base-1" })->{status}, 201,
   'session 1');
is(api('POST', '/a/sessions', { session_id => "$base-2" })->{status}, 201,
   'session 2');
is(quota('b')->{json}{sessions}{live}, 2,
   'the other sandboxd counts both');

my $r = api('POST', '/a/sessions', { session_id => "$base-3" });
is($r->{status}, 429, 'a third one: 429');
is($r->{json}{error}{code}, 'session_quota_exceeded', '  naming the quota');
like($r->{json}{error}{message}, qr/2 live sessions, at most 2/,
     '  and the numbers');
ok(!container_exists('t090a', 'alice', "$base-3"), '  no container made');
is(redis('EXISTS', "t090-$$:session:5:alice:$base-3"), '0',
   '  no record written');
ok(!-e "$sda->{agent_dir}/t090a/" . container_name('t090a', 'alice',
                                                  "$base-3"),
   '  no agent directory left');

$r = api('POST', '/a/execute', { command => 'true' });
is($r->{status}, 429, 'an exec that would create a session: 429 too');
is($r->{json}{error}{code}, 'session_quota_exceeded', '  the same code');

$r = api('POST', '/b/sessions', { session_id => "$base-3" });
is($r->{status}, 429, 'through the other sandboxd: 429 as well');
is($r->{json}{error}{code}, 'session_quota_exceeded', '  the same code');
ok(!container_exists('t090b', 'alice', "$base-3"), '  no container there');

is(api('POST', '/a/sessions', { session_id => "$base-1" })->{status}, 200,
   'an existing session is still reused');
is(api('POST', '/a/execute', { command => 'echo in-1',
                               session_id => "$base-1" })->{json}{stdout},
   "in-1\n", 'and used');

is(api('POST', '/a/sessions', { session_id => "$base-1" },
       key => 'test-key-bob')->{status}, 201,
   'another user has a quota of their own');
is(quota('a', key => 'test-key-bob')->{json}{sessions}{live}, 1,
   '  and counts 1');
api('DELETE', "/a/sessions/$base-1", undef, key => 'test-key-bob');

is(api('DELETE', "/a/sessions/$base-2")->{status}, 204, 'delete session 2');
is(quota('a')->{json}{sessions}{live}, 1, '  the quota counts 1');

# one place left, six creations racing for it through both sandboxds
my @race = map { ["$base-r$_", $_ % 2 ? 'a' : 'b'] } 1 .. 6;
my @waits = map { api_async('POST', "/$_->[1]/sessions",
                            { session_id => $_->[0] }) } @race;
my @status = map { $_->()->{status} // 'none' } @waits;
is(scalar(grep { $_ eq '201' } @status), 1,
   'racing creations: exactly one is made') or diag("@status");
is(scalar(grep { $_ eq '429' } @status), 5, '  the others get 429')
    or diag("@status");
for my $i (0 .. $#race) {
    next unless $status[$i] eq '201';
    is(api('DELETE', "/$race[$i][1]/sessions/$race[$i][0]")->{status}, 204,
       '  the winner is deleted');
}
is(quota('a')->{json}{sessions}{live}, 1, '  the quota counts 1 again');
is(api('POST', '/b/sessions', { session_id => "$base-3" })->{status}, 201,
   '  and a new one can be made, on the other sandboxd');
is(quota('a')->{json}{sessions}{live}, 2, '  counted by both');

# ------------------------------------------------------ exec quota

my $slow = api_async('POST', '/a/execute', { command => 'sleep 3',
                                             session_id => "$base-1" });
my $running;
for (1 .. 40) {
    $running = quota('b')->{json}{executions}{running};
    last if $running;
    sleep 0.1;
}
is($running, 1, 'a command runs: /quota on the other sandboxd sees it');

$r = api('POST', '/b/execute', { command => 'echo no',
                                 session_id => "$base-3" });
is($r->{status}, 429, 'a second concurrent exec, other sandboxd: 429');
is($r->{json}{error}{code}, 'exec_quota_exceeded', '  naming the quota');

$r = api('POST', '/a/execute', { command => 'echo no',
                                 session_id => "$base-1" });
is($r->{status}, 429, '  through the same sandboxd too');

is(api('POST', '/a/execute', { command => 'echo yes' },
       key => 'test-key-bob')->{status}, 200,
   'another user runs meanwhile');

my $s = $slow->();
is($s->{status}, 200, 'the slow one ends');
is($s->{json}{exit_code}, 0, '  well');
is(quota('a')->{json}{executions}{running}, 0, 'the slot is free again');
is(api('POST', '/b/execute', { command => 'echo again',
                               session_id => "$base-3" })->{json}{stdout},
   "again\n", 'and the next exec runs');

$r = api('POST', '/a/execute', { command => 'true', session_id => "$base-1",
                                 working_dir => '/nonexistent' });
is($r->{status}, 400, 'an exec that fails');
is(quota('a')->{json}{executions}{running}, 0, '  frees its slot too');

# a slot whose sandboxd died mid-exec lapses at its deadline: a member
# already past it is pruned by the next check
redis('ZADD', "t090-$$:user:5:alice:execs", '1', 'dead-slot');
is(api('POST', '/a/execute', { command => 'true',
                               session_id => "$base-1" })->{status}, 200,
   'an expired slot does not count');
is(redis('ZSCORE', "t090-$$:user:5:alice:execs", 'dead-slot'), '',
   '  and is gone');

# expired records stop counting (here: removed behind sandboxd's back)
redis('DEL', "t090-$$:session:5:alice:$base-3");
redis('ZADD', "t090-$$:user:5:alice:live", '1', "$base-3");
is(quota('a')->{json}{sessions}{live}, 1,
   'a session past its expiry no longer counts');

# ------------------------------------------------- container cap (c)

my $c1 = "$base-c1";
is(api('POST', '/c/sessions', { session_id => $c1 },
       key => 'test-key-carol')->{status}, 201, 'cap: carol has 1 session');
$r = api('POST', '/c/sessions', { session_id => "$c1-x" },
         key => 'test-key-carol');
is($r->{status}, 429, '  her quota is 1');
sleep 4;
is(quota('c', key => 'test-key-carol')->{json}{sessions}{live}, 0,
   'its TTL passed: it no longer counts');
ok(container_exists('t090c', 'carol', $c1),
   '  (its container is not reaped: no cleanup loop here)');

my $c2 = "$base-c2";
is(api('POST', '/c/sessions', { session_id => $c2 },
       key => 'test-key-carol')->{status}, 201,
   'so carol makes another: 2 containers on the host');

my $d1 = "$base-d1";
$r = api('POST', '/c/sessions', { session_id => $d1 },
         key => 'test-key-dave');
is($r->{status}, 503, 'the host is full: 503');
is($r->{json}{error}{code}, 'capacity_exhausted', '  capacity_exhausted');
my $dname = container_name('t090c', 'dave', $d1);
ok(!container_exists('t090c', 'dave', $d1), '  no container');
is(docker_api('GET', "/volumes/$dname-ws")->{status}, 404, '  no volume');
is(redis('EXISTS', "t090c:session:4:dave:$d1"), '0', '  no record');
ok(!-e "$sdc->{agent_dir}/t090c/$dname", '  no agent directory');
is(quota('c', key => 'test-key-dave')->{json}{sessions}{live}, 0,
   '  and no place held in the quota');

$r = api('POST', '/c/execute', { command => 'true', timeout => 1 },
         key => 'test-key-dave');
is($r->{status}, 503, 'an exec needing a new session: 503 too');

is(api('POST', '/c/sessions', { session_id => $c2 },
       key => 'test-key-carol')->{status}, 200,
   'an existing session is reused at the cap');
is(api('POST', '/c/execute', { command => 'echo ok', timeout => 1,
                               session_id => $c2 },
       key => 'test-key-carol')->{json}{stdout}, "ok\n", '  and runs');

is(api('DELETE', "/c/sessions/$c2", undef, key => 'test-key-carol')
       ->{status}, 204, 'one container goes');

# one place, four users racing for it (each within their own quota)
my @users = qw(alice bob carol dave);
@waits = map { api_async('POST', '/c/sessions', { session_id => $d1 },
                         key => "test-key-$_") } @users;
my @res = map { $_->() } @waits;
@status = map { $_->{status} // 'none' } @res;
is(scalar(grep { $_ eq '201' } @status), 1,
   'racing for the last place: exactly one session is made')
    or diag("@status");
is(scalar(grep { ($_->{json}{error}{code} // '') eq 'capacity_exhausted' }
              @res), 3, '  the others: capacity_exhausted')
    or diag("@status");
for my $i (0 .. $#users) {
    next unless $status[$i] eq '201';
    is(api('DELETE', "/c/sessions/$d1", undef, key => "test-key-$users[$i]")
           ->{status}, 204, "  $users[$i]'s is deleted");
}

ok(error_log_clean(), 'no error in nginx\'s log');

$_->stop for $sda, $sdb, $sdc;

done_testing();

END {
    local $?;

    $_->cleanup(\&docker_api, \&uri_escape) for $sda, $sdb, $sdc;
}
