# Redis faults: down, refusing writes, restarted empty.  A private
# redis-server (a child of this test, on a free port) and a private
# sandboxd on it; the shared test Redis is never touched.
#
# - Redis down: 503 store_unavailable, at once, and nothing is created;
#   when it is back (with its data), the same sandboxd works again by
#   itself and the sessions made before are still there.
# - Redis refusing writes (maxmemory reached with noeviction, then too
#   few replicas): 503 store_unavailable, and the container made before
#   the record could not be written is removed again.
# - Redis restarted empty: the reconcile step of the cleanup loop removes
#   the containers left without a record (after cleanup_grace); a session
#   id used again is a new session (session_created), never an error.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Sbx::Leaks qw(leak_check redis_cmd instance_containers);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $sd = Sbx::Sandboxd->new(instance => 't076');
my $dir = tempdir('sbx-t076-redis-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $redis_pid;

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub redis { redis_cmd($port, @_) }

# A redis-server of our own; $data: load the dump made by stop_redis(1).
sub start_redis {
    my ($data) = @_;

    unlink "$dir/dump.rdb" unless $data;

    $redis_pid = fork() // die "fork: $!";
    if ($redis_pid == 0) {
        open STDOUT, '>>', "$dir/redis.log" or die $!;
        open STDERR, '>&', \*STDOUT or die $!;
        exec 'redis-server', '--port', $port, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--dir', $dir,
             '--daemonize', 'no';
        exit 127;
    }

    for (1 .. 100) {
        return 1 if (redis('PING'))[0] eq 'PONG';
        sleep 0.05;
    }
    die "redis-server on $port did not start: " . `cat $dir/redis.log`;
}

# $save: dump the data first, for start_redis(1)
sub stop_redis {
    my ($save) = @_;

    redis('SAVE') if $save;
    kill 'KILL', $redis_pid;
    waitpid($redis_pid, 0);
    $redis_pid = undef;
}

sub session_containers {
    my ($sid) = @_;
    return grep { ($_->{Labels}{'io.ngx-sandbox.session'} // '') eq $sid }
                instance_containers('t076');
}

sub sandboxd_log {
    return do { local (@ARGV, $/) = ($sd->{log}); <> } // '';
}

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$sd->{socket};
        sandbox_api_key test-key-alice alice;
    }
END

start_redis(0);
$sd->start(SANDBOXD_REDIS_HOST => '127.0.0.1', SANDBOXD_REDIS_PORT => $port,
           SANDBOXD_CLEANUP_INTERVAL => 1, SANDBOXD_CLEANUP_GRACE => 2);

my $base = "t076-$$";
my $r;

is(api('POST', '/sessions', { session_id => "$base-1" })->{status}, 201,
   'a session while Redis runs');

# ------------------------------------------------------------ Redis down

stop_redis(1);

my $t0 = time;
$r = api('POST', '/sessions', { session_id => "$base-2" });
is($r->{status}, 503, 'Redis down: a new session is 503');
is($r->{json}{error}{code}, 'store_unavailable', '  store_unavailable');
$r = api('POST', '/execute', { command => 'echo hi' });
is($r->{status}, 503, '  an execute that would make one too');
is($r->{json}{error}{code}, 'store_unavailable', '  store_unavailable');
$r = api('POST', '/execute', { command => 'echo hi',
                               session_id => "$base-1" });
is($r->{status}, 503, '  an execute in an existing session too');
is(api('GET', '/sessions')->{status}, 503, '  and the list');
ok(time - $t0 < 5, '  each answered at once');
my $ready = api('GET', '/ready');
is($ready->{status}, 503, '  /ready says not ready');
is(scalar(session_containers("$base-2")), 0, '  no container was created');
is(scalar(instance_containers('t076')), 1, '  only the first session\'s');

# ------------------------------------------------- back, with its data

start_redis(1);

$r = api('POST', '/execute', { command => 'echo back',
                               session_id => "$base-1" });
is($r->{status}, 200, 'Redis back: sandboxd works again by itself');
is($r->{json}{stdout}, "back\n", '  in the session made before');
ok(!$r->{json}{session_created}, '  which is still there');
is(api('POST', '/sessions', { session_id => "$base-2" })->{status}, 201,
   '  and a new session can be made');
is(api('GET', '/ready')->{status}, 200, '  /ready is ready again');

# ------------------------------------------- refusing writes: maxmemory

redis('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
redis('CONFIG', 'SET', 'maxmemory', '1');

my $log_at = length sandboxd_log();
$r = api('POST', '/sessions', { session_id => "$base-3" });
is($r->{status}, 503, 'Redis out of memory: a new session is 503');
is($r->{json}{error}{code}, 'store_unavailable', '  store_unavailable');
like(substr(sandboxd_log(), $log_at), qr/cannot write its record.*removing/,
     '  its container was made, and removed again');
is(scalar(session_containers("$base-3")), 0, '  it is gone');

redis('CONFIG', 'SET', 'maxmemory', '0');

# ----------------------------------------- refusing writes: no replicas

redis('CONFIG', 'SET', 'min-replicas-to-write', '1');

$r = api('POST', '/execute', { command => 'true' });
is($r->{status}, 503, 'Redis without its replicas: a new session is 503');
is($r->{json}{error}{code}, 'store_unavailable', '  store_unavailable');
is(scalar(instance_containers('t076')), 2, '  no container was left');
$r = api('POST', '/execute', { command => 'true', session_id => "$base-1" });
is($r->{status}, 503, '  an execute in a session (its TTL cannot be '
                      . 'refreshed): 503');
is($r->{json}{error}{code}, 'store_unavailable', '  store_unavailable');

redis('CONFIG', 'SET', 'min-replicas-to-write', '0');

$r = api('POST', '/execute', { command => 'echo ok',
                               session_id => "$base-3" });
is($r->{status}, 200, 'writes accepted again: it works by itself');
ok($r->{json}{session_created}, '  the refused session is made now');

leak_check(instance => 't076', redis_port => $port, name => 'refused');

# --------------------------------------------------- restarted empty

stop_redis(0);
start_redis(0);

is_deeply([grep { length } redis('--scan', '--pattern', 't076:session:*')],
          [], 'Redis restarted empty');

# cleanup_interval 1, cleanup_grace 2: the orphans go within seconds
my $deadline = time + 30;
sleep 0.5 while instance_containers('t076') && time < $deadline;
is(scalar(instance_containers('t076')), 0,
   'the reconcile step removed the containers without a record');

is_deeply(api('GET', '/sessions')->{json}{sessions}, [],
          'no session is listed');
$r = api('POST', '/execute', { command => 'echo again',
                               session_id => "$base-1" });
is($r->{status}, 200, 'a session id used again');
ok($r->{json}{session_created}, '  is a new session, and says so');
is(api('DELETE', "/sessions/$base-1")->{status}, 204, '  deleted');

leak_check(instance => 't076', redis_port => $port, name => 'empty');

$sd->stop;
ok(error_log_clean(), 'no error in the nginx log');

done_testing();

END {
    local $?;

    $sd->cleanup(\&docker_api, \&uri_escape);
    stop_redis(0) if $redis_pid;
}
