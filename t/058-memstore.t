# The memory store: a sandboxd with no redis_host keeps its sessions in
# memory (one node, no Redis), with the Redis store's semantics (TTL,
# touch, listing, quotas), says so in /ready, and rebuilds its sessions
# from Docker's labels when it restarts.
#
# Two private sandboxds, both without Redis: m (quotas of 2 sessions and
# 1 exec, no cleanup loop) and t (a short TTL, a cleanup loop every
# second).  A third, d, cannot reach Docker.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Sbx::Leaks qw(leak_check instance_containers);
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

my $sdm = Sbx::Sandboxd->new(instance => 't058m');
my $sdt = Sbx::Sandboxd->new(instance => 't058t');
my $sdd = Sbx::Sandboxd->new(instance => 't058d');

my $keys = <<'END';
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
        sandbox_allowed_commands off;
END

start_nginx(config => <<"END");
    location /m/ {
        sandbox on;
        sandbox_pass unix:$sdm->{socket};
$keys
    }

    location /t/ {
        sandbox on;
        sandbox_pass unix:$sdt->{socket};
$keys
    }

    location /d/ {
        sandbox on;
        sandbox_pass unix:$sdd->{socket};
$keys
    }
END

my %memory = (SANDBOXD_REDIS_HOST => '');
my %m_env = (%memory, SANDBOXD_MAX_SESSIONS_PER_USER => 2,
             SANDBOXD_MAX_CONCURRENT_EXECS_PER_USER => 1);
my %t_env = (%memory, SANDBOXD_SESSION_TTL => 6,
             SANDBOXD_EXEC_TIMEOUT_MAX => 3, SANDBOXD_CLEANUP_GRACE => 0,
             SANDBOXD_CLEANUP_INTERVAL => 1);

$sdm->start(%m_env);
$sdt->start(%t_env);
$sdd->start(%memory, SANDBOXD_DOCKER_HOST => 'unix:///nonexistent.sock');

my $base = "t058-$$";

sub container_name {
    my ($instance, $user, $sid) = @_;
    return 'sbx-' . substr(sha256_hex("$instance\0$user\0$sid"), 0, 24);
}

sub container_exists {
    my $s = docker_api('GET', '/containers/' . container_name(@_) . '/json')
                ->{status} // 0;
    return $s == 200;
}

sub ids {
    my ($loc, $user) = @_;
    my $r = api('GET', "/$loc/sessions", undef, key => "test-key-$user");
    return map { $_->{session_id} } @{ $r->{json}{sessions} // [] };
}

# every live session of sandboxd $loc, for the leak check
sub sessions_of {
    my ($loc) = @_;
    return sub { map { my $u = $_; map { [$u, $_] } ids($loc, $u) }
                     qw(alice bob) };
}

# "2026-11-23T15:45:33Z" (as the module renders times) in Unix seconds
sub unix {
    my @t = ($_[0] // '') =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/
        or return -1;
    return timegm($t[5], $t[4], $t[3], $t[2], $t[1] - 1, $t[0]);
}

sub quota {
    my ($loc, %opt) = @_;
    return api('GET', "/$loc/quota", undef, %opt)->{json};
}

# ----------------------------------------------------------------- /ready

my $r = api('GET', '/m/ready', undef, key => undef);
is($r->{status}, 200, '/ready without Redis: 200');
is($r->{json}{store}, 'memory', '  names the memory store');
is($r->{json}{status}, 'ready', '  ready');
ok($r->{json}{checks}{docker}{ok}, '  Docker answers');
ok(!exists $r->{json}{checks}{redis}, '  and no Redis check');

$r = api('GET', '/d/ready', undef, key => undef);
is($r->{status}, 503, 'without Docker: 503');
is($r->{json}{store}, 'memory', '  still naming the store');
ok(!$r->{json}{checks}{docker}{ok}, '  the Docker check fails');
is($r->{json}{error}{code}, 'not_ready', '  not_ready');

# no answer from a view that is not Docker's yet: an empty list would lie
$r = api('GET', '/d/sessions');
is($r->{status}, 503, 'without Docker, before the rebuild: the list is 503');
is($r->{json}{error}{code}, 'store_unavailable', '  store_unavailable');
is(api('GET', '/d/quota')->{status}, 503, '  so is /quota');

# --------------------------------------------------------------- sessions

my ($s1, $s2, $s3) = map { "$base-$_" } 1 .. 3;

$r = api('POST', '/m/sessions', { session_id => $s1 });
is($r->{status}, 201, 'create a session');
my $created_at = $r->{json}{created_at};
ok($created_at, '  with its creation time');
ok(container_exists('t058m', 'alice', $s1), '  and its container');
is(api('POST', '/m/sessions', { session_id => $s1 })->{status}, 200,
   'create again: the same session (200)');
is(api('GET', "/m/sessions/$s1")->{json}{session_id}, $s1, 'get it');
is(api('GET', "/m/sessions/$s1", undef, key => 'test-key-bob')->{status},
   404, '  another user does not see it');
is_deeply([ids('m', 'alice')], [$s1], 'list: the one session');
is_deeply([ids('m', 'bob')], [], '  none for bob');

$r = api('POST', '/m/execute', { session_id => $s1,
                                 command => 'echo kept > keep.txt; '
                                            . 'cat keep.txt' });
is($r->{status}, 200, 'execute in it');
is($r->{json}{stdout}, "kept\n", '  its output');

$r = api('POST', '/m/execute', { command => 'echo bob' },
         key => 'test-key-bob');
is($r->{json}{stdout}, "bob\n", 'an execute creates a session on demand');
my $bob_sid = $r->{json}{session_id};
is_deeply([ids('m', 'bob')], [$bob_sid], '  listed');

# ----------------------------------------------------------------- quotas

is_deeply(quota('m')->{sessions}, { live => 1, max => 2 },
          'quota: 1 live session of 2');
is(api('POST', '/m/sessions', { session_id => $s2 })->{status}, 201,
   'a second session');
$r = api('POST', '/m/sessions', { session_id => $s3 });
is($r->{status}, 429, 'a third: 429');
is($r->{json}{error}{code}, 'session_quota_exceeded',
   '  session_quota_exceeded');
ok(!container_exists('t058m', 'alice', $s3), '  no container made');
is(quota('m', key => 'test-key-bob')->{sessions}{live}, 1,
   'bob counts his own');

my $slow = api_async('POST', '/m/execute', { command => 'sleep 2',
                                             session_id => $s1 });
my $running = 0;
for (1 .. 50) {
    $running = quota('m')->{executions}{running};
    last if $running;
    sleep 0.1;
}
is($running, 1, 'a command runs: counted');
$r = api('POST', '/m/execute', { command => 'true', session_id => $s2 });
is($r->{status}, 429, 'a second at once: 429');
is($r->{json}{error}{code}, 'exec_quota_exceeded', '  exec_quota_exceeded');
is($slow->()->{json}{exit_code}, 0, 'the first ends');
is(quota('m')->{executions}{running}, 0, '  and frees its slot');

is(api('DELETE', "/m/sessions/$s2")->{status}, 204, 'delete a session');
ok(!container_exists('t058m', 'alice', $s2), '  its container is gone');
is(api('DELETE', "/m/sessions/$s2")->{status}, 404, '  deleting again: 404');
is(api('GET', "/m/sessions/$s2")->{status}, 404, '  get: 404');
is(quota('m')->{sessions}{live}, 1, '  the quota counts 1 again');

leak_check(instance => 't058m', sessions => sessions_of('m'),
           name => 'before the restart');

# ---------------------------------------------------------------- restart

$sdm->stop;
$sdm->start(%m_env);

is_deeply([ids('m', 'alice')], [$s1],
          'restarted: the session is rebuilt from the labels');
# the container's label, taken when it was asked for, may be a second
# before the record's time
$r = api('GET', "/m/sessions/$s1");
my $drift = unix($created_at) - unix($r->{json}{created_at});
ok($drift >= 0 && $drift <= 2, '  with its creation time (its label\'s)')
    or diag("$created_at, now $r->{json}{created_at}");
is_deeply([ids('m', 'bob')], [$bob_sid], '  bob\'s too');
is(quota('m')->{sessions}{live}, 1, '  counted by the quota');
$r = api('POST', '/m/execute', { session_id => $s1,
                                 command => 'cat keep.txt' });
is($r->{json}{stdout}, "kept\n", '  the same container: its files are there');

is(api('POST', '/m/sessions', { session_id => $s2 })->{status}, 201,
   'a new session after the restart');
is(api('POST', '/m/sessions', { session_id => $s3 })->{status}, 429,
   '  and the quota still holds');

leak_check(instance => 't058m', sessions => sessions_of('m'),
           name => 'after the restart');

for my $s ([$s1, 'alice'], [$s2, 'alice'], [$bob_sid, 'bob']) {
    is(api('DELETE', "/m/sessions/$s->[0]", undef,
           key => "test-key-$s->[1]")->{status}, 204, "delete $s->[0]");
}
is(scalar(instance_containers('t058m')), 0, 'no container left');

# ------------------------------------------------- TTL expiry and cleanup

my $e1 = "$base-e1";
is(api('POST', '/t/sessions', { session_id => $e1 })->{status}, 201,
   'a session with a TTL of 6 s');
$r = api('GET', '/t/sessions');
is(unix($r->{json}{sessions}[0]{expires_at})
   - unix($r->{json}{sessions}[0]{last_used_at}), 6, '  expires_at says so');

$sdt->stop;
$sdt->start(%t_env);
is_deeply([ids('t', 'alice')], [$e1], 'restarted: rebuilt');

my $t0 = time;
my $gone;
for (1 .. 200) {
    $gone = !container_exists('t058t', 'alice', $e1);
    last if $gone;
    sleep 0.1;
}
ok($gone, 'once its TTL passed, the cleanup loop removes the container');
ok(time - $t0 > 3, '  not before');
is_deeply([ids('t', 'alice')], [], '  the session is gone from the list');
is(api('GET', "/t/sessions/$e1")->{status}, 404, '  and not found');
is(quota('t')->{sessions}{live}, 0, '  nor counted');

leak_check(instance => 't058t', sessions => sessions_of('t'),
           name => 'after expiry');

# a container removed behind sandboxd's back: the loop drops its record
my $g1 = "$base-g1";
is(api('POST', '/t/sessions', { session_id => $g1 })->{status}, 201,
   'a session whose container goes');
is(docker_api('DELETE', '/containers/' . container_name('t058t', 'alice', $g1)
                        . '?force=true')->{status}, 204,
   '  removed by hand');
my $live = 1;
for (1 .. 100) {
    $live = quota('t')->{sessions}{live};
    last unless $live;
    sleep 0.1;
}
is($live, 0, 'the cleanup loop drops its record');
$r = api('GET', "/t/sessions/$g1");
is($r->{status}, 410, '  the next call answers 410');
is($r->{json}{error}{code}, 'session_lost', '  session_lost');
is(api('GET', "/t/sessions/$g1")->{status}, 404, '  once');

leak_check(instance => 't058t', sessions => sessions_of('t'),
           name => 'after the lost session');

# --------------------------------------------------------- --cleanup-once

{
    local %ENV = (%ENV, SANDBOXD_REDIS_HOST => '',
                  SANDBOXD_INSTANCE => 't058m', SANDBOXD_LOG_FILE => '');
    my $out = `$ENV{SBX_SANDBOXD} -c $ENV{SBX_SANDBOXD_CONF} --cleanup-once 2>&1`;
    isnt($? >> 8, 0, '--cleanup-once without Redis refuses to run');
    like($out, qr/--cleanup-once needs Redis/, '  saying why');
}

ok(error_log_clean(), 'no error in nginx\'s log');

$_->stop for $sdm, $sdt, $sdd;

done_testing();

END {
    local $?;

    $_->cleanup(\&docker_api, \&uri_escape) for $sdm, $sdt, $sdd;
}
