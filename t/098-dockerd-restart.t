# dockerd restarted under the shared test sandboxd.  Without live-restore
# a restart stops every container, so every session made before it is
# lost: a command running meanwhile fails with 503 docker_unavailable,
# requests while Docker is down get 503, and afterwards a session made
# before is never a silent success: every use of it (execute, get, an
# idempotent create, the workspace) answers 410 session_lost once,
# drops it, and creating it again works.
#
# Numbered to run late: the restart stops the containers of every test
# instance.  dockerd is restarted as scripts/lib.sh starts it (no
# systemd): SIGTERM, wait for it to exit, the same command line again,
# wait for _ping.  Only ever from a scripts/test run, whose lock keeps
# other checkouts' runs away; an END block starts dockerd again should
# the test die on the way.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Leaks qw(leak_check);
use POSIX ();
use Time::HiRes qw(sleep time);

my $DOCKERD_LOG = '/var/log/ngx-sandbox-dockerd.log';
my @dockerd_argv;

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
    }
END

sub docker_ping {
    my $r = docker_api('GET', '/_ping', undef, timeout => 2);
    return ($r->{status} // 0) == 200;
}

sub dockerd_pid {
    my $pid = do { local (@ARGV, $/) = ('/var/run/docker.pid'); <> } // '';
    chomp $pid;
    return undef unless $pid =~ /^\d+$/;
    my $cmd = do { local (@ARGV, $/) = ("/proc/$pid/cmdline"); <> } // '';
    return $cmd =~ m{(?:^|/)dockerd\0} ? $pid : undef;
}

sub wait_until {
    my ($secs, $cond) = @_;
    my $deadline = time + $secs;
    until ($cond->()) {
        return 0 if time > $deadline;
        sleep 0.2;
    }
    return 1;
}

# As sbx_start_dockerd does, in a session of its own, with none of our
# descriptors (scripts/test's lock among them).
sub start_dockerd {
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        POSIX::setsid();
        if (fork() == 0) {
            POSIX::close($_) for 3 .. 1023;
            open STDIN, '<', '/dev/null';
            open STDOUT, '>>', $DOCKERD_LOG;
            open STDERR, '>&', \*STDOUT;
            chdir '/';
            exec { $dockerd_argv[0] } @dockerd_argv;
        }
        POSIX::_exit(0);
    }

    waitpid($pid, 0);
    return wait_until(60, \&docker_ping);
}

sub stop_dockerd {
    my $pid = dockerd_pid() // return 0;

    kill 'TERM', $pid;
    return wait_until(60, sub { !kill(0, $pid) && !docker_ping() });
}

my $pid = dockerd_pid();
ok($pid, 'dockerd runs, with a pid file') or BAIL_OUT('no dockerd pid');
@dockerd_argv = split /\0/, do {
    local (@ARGV, $/) = ("/proc/$pid/cmdline"); <>
};

my $base = "t098-$$";
my %sid = map { $_ => "$base-$_" } qw(busy exec get create files);

for my $k (sort keys %sid) {
    is(api('POST', '/sessions', { session_id => $sid{$k} })->{status}, 201,
       "session '$k' before the restart");
}

my $wait = api_async('POST', '/execute', { command => 'sleep 120',
                                           session_id => $sid{busy},
                                           timeout => 100 },
                     timeout => 120);
sleep 1;

# ------------------------------------------------------------ the restart

my $t0 = time;
ok(stop_dockerd(), 'dockerd stops on SIGTERM');
diag(sprintf 'dockerd stopped in %.1f s', time - $t0);

my $r = $wait->();
is($r->{status}, 503, 'the command running meanwhile: 503')
    or diag(explain $r);
is($r->{json}{error}{code}, 'docker_unavailable', '  docker_unavailable')
    or diag(explain $r->{json});

$r = api('POST', '/sessions', { session_id => "$base-new" });
is($r->{status}, 503, 'a new session while Docker is down: 503');
is($r->{json}{error}{code}, 'docker_unavailable', '  docker_unavailable');

ok(start_dockerd(), 'dockerd is back');
diag(sprintf 'restarted in %.1f s', time - $t0);

# ------------------------------------------------------- sessions lost

for my $k (qw(busy exec)) {
    $r = api('POST', '/execute', { command => 'echo hi',
                                   session_id => $sid{$k} });
    is($r->{status}, 410, "execute in session '$k': 410");
    is($r->{json}{error}{code}, 'session_lost', '  session_lost');

    $r = api('POST', '/execute', { command => 'echo hi',
                                   session_id => $sid{$k} });
    is($r->{status}, 200, '  then it is made again');
    ok($r->{json}{session_created}, '  and says so');
}

$r = api('GET', "/sessions/$sid{get}");
is($r->{status}, 410, 'get a lost session: 410');
is($r->{json}{error}{code}, 'session_lost', '  session_lost');
is(api('GET', "/sessions/$sid{get}")->{status}, 404, '  then it is gone');

$r = api('POST', '/sessions', { session_id => $sid{create} });
is($r->{status}, 410, 'create a lost session again: 410 the first time');
is(api('POST', '/sessions', { session_id => $sid{create} })->{status}, 201,
   '  then 201');

$r = api('GET', "/sessions/$sid{files}/workspace");
is($r->{status}, 410, 'the workspace of a lost session: 410');
is($r->{json}{error}{code}, 'session_lost', '  session_lost');

is(api('POST', '/sessions', { session_id => "$base-new" })->{status}, 201,
   'a new session works');
is(api('POST', '/execute', { command => 'echo fine',
                             session_id => "$base-new" })->{json}{stdout},
   "fine\n", '  and runs commands');

for my $s ("$base-new", @sid{qw(busy exec create)}) {
    is(api('DELETE', "/sessions/$s")->{status}, 204, "  $s deleted");
}

leak_check(instance => 'test', prefix => 'sbx:',
           name => 'after the dockerd restart');
ok(error_log_clean(), 'no error in the nginx log');

done_testing();

END {
    local $?;

    start_dockerd() if @dockerd_argv && !docker_ping();
}
