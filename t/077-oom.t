# A command that outgrows the container's memory limit: the kernel's OOM
# killer ends it, /execute says so (oom_killed, the signal) and the
# session keeps working.  The agent reads the container's OOM-kill
# counter (cgroup v2 memory.events, v1 memory.oom_control) before and
# after the command; without the agent (docker exec) it is unknown: null.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Sbx::Leaks qw(leak_check);

my $sd = Sbx::Sandboxd->new(instance => 't077');
my $plain = Sbx::Sandboxd->new(instance => 't077d');

start_nginx(config => <<"END");
    location /oom/ {
        sandbox on;
        sandbox_pass unix:$sd->{socket};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
    }

    location /plain/ {
        sandbox on;
        sandbox_pass unix:$plain->{socket};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
    }

    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
    }
END

$sd->start(SANDBOXD_CONTAINER_MEMORY => '64m');

my $sid = "t077-$$";
my $hog = 'python3 -c "b = bytearray(2**31)"';

sub is_true  { JSON::PP::is_bool($_[0]) && $_[0] }
sub is_false { JSON::PP::is_bool($_[0]) && !$_[0] }

sub execute {
    my ($loc, $command, $session) = @_;
    return api('POST', "$loc/execute", { command => $command,
                                         session_id => $session,
                                         timeout => 30 });
}

my $r = execute('/oom', 'echo warm', $sid);
is($r->{status}, 200, 'a session with a 64m limit');
ok(is_false($r->{json}{oom_killed}), '  a plain command: oom_killed false')
    or diag(explain $r->{json});

# "exec": the shell is the process that dies, and its signal is told
$r = execute('/oom', "exec $hog", $sid);
is($r->{status}, 200, 'a command past the memory limit: 200');
ok(is_true($r->{json}{oom_killed}), '  oom_killed true')
    or diag(explain $r->{json});
is($r->{json}{signal}, 'SIGKILL', '  the OOM killer\'s signal');
ok(!defined $r->{json}{exit_code}, '  no exit code');
ok(is_false($r->{json}{timed_out}), '  not a timeout');
is($r->{json}{via}, 'agent', '  through the agent');

$r = execute('/oom', 'echo still here', $sid);
is($r->{status}, 200, 'the session keeps working after the OOM kill');
is($r->{json}{stdout}, "still here\n", '  its output');
ok(is_false($r->{json}{oom_killed}), '  oom_killed false again');
ok(is_false($r->{json}{session_created}), '  the same session');

# the shell survives its child's death: exit code 137, and the kill is
# told all the same
$r = execute('/oom', "$hog; echo rc=\$?", $sid);
is($r->{status}, 200, 'a child of the command is OOM-killed');
is($r->{json}{exit_code}, 0, '  the command itself exits');
like($r->{json}{stdout}, qr/^rc=137$/m, '  its child got SIGKILL');
ok(is_true($r->{json}{oom_killed}), '  oom_killed true')
    or diag(explain $r->{json});

# a timeout is no OOM kill
$r = api('POST', '/oom/execute', { command => 'sleep 5', session_id => $sid,
                                   timeout => 1 });
ok(is_true($r->{json}{timed_out}), 'a timeout: timed_out');
ok(is_false($r->{json}{oom_killed}), '  and oom_killed false');

# the shared instance (default limit) reports it too
$r = execute('', 'echo hi', "t077-shared-$$");
ok(is_false($r->{json}{oom_killed}), 'the default sandbox: oom_killed false')
    or diag(explain $r->{json});
is(api('DELETE', "/sessions/t077-shared-$$")->{status}, 204,
   '  its session deleted');

# without the agent nobody reads the counter: unknown
$plain->start(SANDBOXD_AGENT => 'off', SANDBOXD_CONTAINER_MEMORY => '64m');
$r = execute('/plain', "exec $hog", "$sid-plain");
is($r->{status}, 200, 'docker exec: a command past the limit');
is($r->{json}{via}, 'docker', '  through docker exec');
ok(exists $r->{json}{oom_killed} && !defined $r->{json}{oom_killed},
   '  oom_killed null: unknown')
    or diag(explain $r->{json});
is(api('DELETE', "/plain/sessions/$sid-plain")->{status}, 204,
   '  its session deleted');
leak_check(instance => 't077d', name => 'docker exec');
$plain->stop;

is(api('DELETE', "/oom/sessions/$sid")->{status}, 204, 'session deleted');
leak_check(instance => 't077');
$sd->stop;

ok(error_log_clean(), 'no error in the nginx log');

done_testing();

END {
    local $?;

    $sd->cleanup(\&docker_api, \&uri_escape);
    $plain->cleanup(\&docker_api, \&uri_escape);
}
