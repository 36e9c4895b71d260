# sandboxd's own faults and signals, with a sandboxd of the test's own
# (instance t075): killed (-9) during an exec, stopped (SIGSTOP) and
# continued, SIGTERM with work in flight (finished within shutdown_grace,
# cut off past it), SIGHUP reloading its configuration (and refusing an
# invalid one), and nginx reloaded with executions in flight.  Each
# scenario ends with a leak check.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Leaks qw(leak_check);
use Sbx::Sandboxd;
use Digest::SHA qw(sha256_hex);
use POSIX ();
use Time::HiRes qw(time sleep);

my $INSTANCE = 't075';
my $sd = Sbx::Sandboxd->new(instance => $INSTANCE);
my $SOCK = $sd->{socket};

# valgrind slows sandboxd down by tens
my $SLOW = $ENV{VALGRIND} ? 10 : 1;

# a configuration file of our own, for SIGHUP
my $CONF = "$sd->{tmp}/sandboxd.conf";
my $BASE_CONF = do { local (@ARGV, $/) = ($ENV{SBX_SANDBOXD_CONF}); <> };
$sd->{conf} = $CONF;

sub write_conf {
    my ($extra) = @_;
    open my $f, '>', "$CONF.tmp" or die "$CONF: $!";
    print $f $BASE_CONF, "\n# t075\n", $extra // '';
    close $f;
    rename "$CONF.tmp", $CONF or die "$CONF: $!";
}

write_conf('shutdown_grace = 3' . "\n");

my $LOCATION = <<"END";
        sandbox on;
        sandbox_pass unix:$SOCK;
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
END

start_nginx(config => <<"END");
    location / {
$LOCATION
    }

    location /slow/ {
$LOCATION
        sandbox_connect_timeout 1s;
        sandbox_read_timeout 1s;
    }
END

my $sid = "t075-$$";

sub run {
    my ($command, %args) = @_;
    return api('POST', '/execute',
               { command => $command, session_id => $sid, %args });
}

sub run_async {
    my ($command, %args) = @_;
    return api_async('POST', '/execute',
                     { command => $command, session_id => $sid,
                       timeout => 30, %args });
}

# the command lines running in the session's container, the agent's aside
sub commands {
    my $name = 'sbx-' . substr(sha256_hex("$INSTANCE\0alice\0$sid"), 0, 24);
    my $top = docker_api('GET', "/containers/$name/top?ps_args=-eo%20pid,args");
    return () unless ref $top->{json} eq 'HASH';
    return grep { !m{^/\.sbx/agent} }
           map { $_->[-1] } @{ $top->{json}{Processes} // [] };
}

# As run_async(), in a process of its own: the answer is read as soon as
# it comes (nginx's old workers wait for their clients to close).
sub run_forked {
    my ($command) = @_;
    my $file = "$sd->{tmp}/forked-" . int(rand(1e9));
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        my $res = run($command, timeout => 30);
        open my $f, '>', $file or POSIX::_exit(1);
        print $f JSON::PP->new->encode({ status => $res->{status},
                                         json => $res->{json} });
        close $f;
        POSIX::_exit(0);
    }

    return sub {
        waitpid($pid, 0);
        my $text = do { local (@ARGV, $/) = ($file); <> } // '{}';
        return JSON::PP->new->decode($text);
    };
}


sub sandboxd_log {
    return do { local (@ARGV, $/) = ($sd->{log}); <> } // '';
}

sub is_error_json {
    my ($r, $statuses, $name) = @_;
    ok((grep { ($r->{status} // 0) == $_ } @$statuses)
       && ref $r->{json}{error} eq 'HASH', $name)
        or diag("got $r->{status}: $r->{body}");
}

$sd->start(SANDBOXD_CLEANUP_INTERVAL => 1);

my $r = run('true');
is($r->{status}, 200, 'the session works');
is($r->{json}{via}, 'agent', '  through the agent');

# ------------------------------------------- kill -9 in the middle of an exec

my $pending = run_async('sleep 30; echo never');
ok(wait_until(5, sub { grep { /sleep 30/ } commands() }),
   'kill -9: the command runs');

my $t0 = time;
$sd->signal('KILL');
$r = $pending->();
my $took = time - $t0;
is_error_json($r, [502, 503], 'kill -9 during an exec: a JSON 502/503');
ok($took < 1, "  within a second (${\ sprintf '%.2f', $took} s)");
ok(defined $sd->wait_exit(5), '  sandboxd is gone');
ok(wait_until(2, sub { !grep { /sleep 30/ } commands() }),
   '  the agent killed the command when sandboxd left')
    or diag(join ', ', commands());

is_error_json(run('true'), [502], 'while sandboxd is down: 502 JSON');

$sd->start(SANDBOXD_CLEANUP_INTERVAL => 1);
$r = run('echo back');
is($r->{status}, 200, 'sandboxd restarted: the session works again');
is($r->{json}{stdout}, "back\n", '  through its agent');
is($r->{json}{session_created}, JSON::PP::false, '  in the same container');
sleep 1.5;    # one cleanup interval
leak_check(instance => $INSTANCE, name => 'after kill -9');

# ----------------------------------------------------- SIGSTOP, SIGCONT

$sd->signal('STOP');

$t0 = time;
$r = api('GET', '/slow/sessions');
$took = time - $t0;
is($r->{status}, 504, 'SIGSTOP: 504 after sandbox_read_timeout');
is($r->{json}{error}{code}, 'worker_timeout', '  as JSON');
ok($took >= 0.9 && $took < 3, "  after about 1 s (${\ sprintf '%.2f', $took} s)");

$t0 = time;
$r = api('POST', '/slow/execute',
         { command => 'true', session_id => $sid, timeout => 1 });
$took = time - $t0;
is($r->{status}, 504, 'an exec: 504 too');
ok($took >= 1.9 && $took < 4,
   "  after its timeout plus sandbox_read_timeout (${\ sprintf '%.2f', $took} s)");

$sd->signal('CONT');
$r = run('echo again');
is($r->{status}, 200, 'SIGCONT: requests work again');
is($r->{json}{stdout}, "again\n", '  and run');
is(api('GET', '/slow/sessions')->{status}, 200,
   '  with the short timeout too');
leak_check(instance => $INSTANCE, name => 'after SIGSTOP');

# ------------------------------------------------------------- SIGHUP

sub quota { api('GET', '/quota')->{json} // {} }

my $q = quota();
is($q->{session_ttl_seconds}, 600, 'SIGHUP: before, session_ttl 600');
is($q->{exec_timeout_max_ms}, 300000, '  exec_timeout_max 300');
is($q->{sessions}{max}, 16, '  max_sessions_per_user 16');

write_conf(<<'END');
shutdown_grace = 3
session_ttl = 900
exec_timeout_max = 120
max_sessions_per_user = 5
socket_mode = 0666
END

my $mode = (stat $SOCK)[2] & 07777;
$sd->signal('HUP');
ok(wait_until(5 * $SLOW, sub { sandboxd_log() =~ /configuration 2 in force/ }),
   'SIGHUP: a new configuration is in force');
like(sandboxd_log(),
     qr/changed: session_ttl, exec_timeout_max, max_sessions_per_user/,
     '  naming the keys it changed');
like(sandboxd_log(), qr/only after a restart: socket_mode/,
     '  and warning of those that need a restart');
$q = quota();
is($q->{session_ttl_seconds}, 900, '  session_ttl is 900 now');
is($q->{exec_timeout_max_ms}, 120000, '  exec_timeout_max 120');
is($q->{sessions}{max}, 5, '  max_sessions_per_user 5');
is((stat $SOCK)[2] & 07777, $mode, '  the socket keeps its mode');
$r = run('true', timeout => 200);
is($r->{status}, 400, '  a timeout over the new maximum is refused');

write_conf("session_ttl = 10\n");
$sd->signal('HUP');
ok(wait_until(5 * $SLOW, sub { sandboxd_log() =~ /SIGHUP: .*stays as it was/ }),
   'an invalid configuration is refused with an error');
like(sandboxd_log(), qr/\[?error\]?.*"session_ttl" \(10\) must be greater/,
     '  saying why');
is(quota()->{session_ttl_seconds}, 900, '  and the last good one stays');

write_conf("no_such_key = 1\n");
$sd->signal('HUP');
ok(wait_until(5 * $SLOW, sub { sandboxd_log() =~ /unknown key "no_such_key"/ }),
   'an unknown key: refused too');
is(quota()->{sessions}{max}, 5, '  the last good one stays');

# reloads while commands run: each operation keeps the configuration it
# started with, and none is lost
write_conf("shutdown_grace = 3\nmax_sessions_per_user = 7\n");
my @running = map { run_async("sleep 1; echo $_") } 1 .. 3;
for (1 .. 5) {
    sleep 0.1;
    $sd->signal('HUP');
}
my @done = map { $_->() } @running;
is_deeply([map { $_->{status} } @done], [200, 200, 200],
          'SIGHUPs while commands run: every command answers');
is_deeply([map { $_->{json}{stdout} } @done], ["1\n", "2\n", "3\n"],
          '  with its output');
ok(wait_until(5 * $SLOW, sub { quota()->{sessions}{max} == 7 }),
   '  and the last configuration is in force');
leak_check(instance => $INSTANCE, name => 'after SIGHUP');

# -------------------------------------------- nginx -s reload mid-exec

@running = map { run_forked("sleep 3; echo $_") } 1 .. 4;
sleep 0.5;
ok(reload_nginx(config => <<"END"), 'nginx -s reload with 4 execs running');
    location / {
$LOCATION
        sandbox_exec_timeout 20s;
    }

    location /slow/ {
$LOCATION
        sandbox_connect_timeout 1s;
        sandbox_read_timeout 1s;
    }
END
@done = map { $_->() } @running;
is_deeply([map { $_->{status} } @done], [200, 200, 200, 200],
          '  every one of them completes with 200');
is_deeply([map { $_->{json}{stdout} } @done], ["1\n", "2\n", "3\n", "4\n"],
          '  with its output');
is(run('echo new')->{status}, 200, '  and the new workers serve');
leak_check(instance => $INSTANCE, name => 'after nginx reload');

# ------------------------------------------------------------ SIGTERM

$pending = run_async('sleep 2; echo finished');
ok(wait_until(5, sub { grep { /sleep 2/ } commands() }),
   'SIGTERM: a command of 2 s runs');
$sd->signal('TERM');
sleep 0.2;

$t0 = time;
$r = run('true');
$took = time - $t0;
is_error_json($r, [502, 503], '  a new request is refused: 502/503 JSON');
ok($took < 1, "  at once (${\ sprintf '%.2f', $took} s)");

$r = $pending->();
is($r->{status}, 200, '  the command in flight completes: 200');
is($r->{json}{stdout}, "finished\n", '  with its output');
my $status = $sd->wait_exit(5 * $SLOW);
is($status, 0, '  and sandboxd exits 0');

$sd->start;
is(run('true')->{status}, 200, 'restarted');

$pending = run_async('sleep 10; echo never');
ok(wait_until(5, sub { grep { /sleep 10/ } commands() }),
   'SIGTERM: a command of 10 s runs');
$t0 = time;
$sd->signal('TERM');
$r = $pending->();
$took = time - $t0;
is($r->{status}, 503, '  past shutdown_grace (3 s) its client gets 503');
is($r->{json}{error}{code}, 'busy', '  code busy');
like($r->{json}{error}{message}, qr/shut down before the operation/,
     '  saying that sandboxd shut down');
ok($took >= 2.9 && $took < 5, "  at the end of the grace (${\ sprintf '%.2f', $took} s)");
$status = $sd->wait_exit(5 * $SLOW);
is($status, 0, '  sandboxd exits 0');
ok(wait_until(2, sub { !grep { /sleep 10/ } commands() }),
   '  and the command is killed');

$sd->start;
is(run('true')->{status}, 200, 'restarted');
is(api('DELETE', "/sessions/$sid")->{status}, 204, 'the session is deleted');
leak_check(instance => $INSTANCE, name => 'after SIGTERM');
$sd->stop;

done_testing();

END {
    local $?;

    $sd->signal('CONT') if $sd;
    $sd->cleanup(\&docker_api, \&uri_escape) if $sd;
}
