# The in-container agent, through the API: it is the container's PID 1,
# runs each command in its own process group, kills everything a timed-out
# command started, feeds stdin, reports signals and usage; its channel
# gives the sandbox no lever on the host; a killed, hung or lying agent
# costs only its own session; a restarted sandboxd takes its agents back,
# and without an agent commands still run, through docker exec.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(decode_base64);
use Sbx::Sandboxd;
use Time::HiRes qw(time sleep);

# a second sandboxd of its own, for restarts (instance t045)
my $second = Sbx::Sandboxd->new(instance => 't045');
my $SECOND_SOCK = $second->{socket};
my $AGENT2 = $second->{agent_dir};

start_nginx(config => <<"END");
    client_max_body_size 4m;

    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
        sandbox_exec_timeout 10s;
    }

    location /second/ {
        sandbox on;
        sandbox_pass unix:$SECOND_SOCK;
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
    }
END

my $sid = "t045-$$-" . int(time);

sub run {
    my ($command, %args) = @_;
    return api('POST', '/execute',
               { command => $command, session_id => $sid, %args });
}

sub container_name {
    my ($instance, $session) = @_;
    return 'sbx-' . substr(sha256_hex("$instance\0alice\0$session"), 0, 24);
}

# ------------------------------------------------------------ the fast path

my $r = run('true');
is($r->{status}, 200, 'true runs');
is($r->{json}{via}, 'agent', 'through the agent');
ok($r->{json}{cpu_ms} >= 0, 'cpu_ms is reported');
ok($r->{json}{max_rss_kb} > 0, 'max_rss_kb is reported');
ok($r->{json}{duration_ms} >= 0 && $r->{json}{duration_ms} < 5000,
   'duration_ms is the command\'s wall time');

$r = run('cat /proc/1/cmdline | tr "\0" " "; awk \'/^Uid/ {print $2}\' '
         . '/proc/1/status');
like($r->{json}{stdout}, qr{^/\.sbx/agent /\.sbx/run/agent\.sock 1000\n},
     'the agent is PID 1, uid 1000');

$r = run('ls /proc/1/fd 2>&1; cat /proc/$PPID/environ 2>&1; '
         . 'ls /proc/$PPID/fd 2>&1');
my $denied = () = $r->{json}{stdout} =~ /Permission denied/g;
is($denied, 3,
   'the agent and its per-command process are not dumpable: no fds, no '
   . 'environ') or diag $r->{json}{stdout};

# ------------------------------------------------- exit codes and signals

$r = run('exit 42');
is($r->{json}{exit_code}, 42, 'exit code');
is($r->{json}{signal}, undef, 'no signal');

$r = run('kill -SEGV $$');
is($r->{json}{exit_code}, undef, 'killed: no exit code');
is($r->{json}{signal}, 'SIGSEGV', 'the signal is named');
is($r->{json}{timed_out}, JSON::PP::false, 'not a timeout');

$r = run('ulimit -c; ulimit -t', timeout => 5);
is($r->{json}{stdout}, "0\n7\n",
   'no core files; CPU time capped behind the timeout');

# ---------------------------------------------------------------- timeouts

my $t0 = time;
$r = run(q{sleep 1001 & setsid sh -c 'sleep 1002' & sh -c '(sleep 1003 &)';
           echo started; sleep 1004}, timeout => 1);
my $took = time - $t0;
is($r->{json}{timed_out}, JSON::PP::true, 'the timeout fires');
is($r->{json}{signal}, 'SIGKILL', 'SIGKILL');
is($r->{json}{stdout}, "started\n", 'with the output so far');
ok($took < 3, "answered within the timeout and a grace ($took s)");
is(run(q{ps -eo args | grep -c '^sleep 100[1-4]'})->{json}{stdout}, "0\n",
   'children, setsid escapees and orphans of the command are all gone');

$t0 = time;
$r = run('sleep 1005 >/dev/null 2>&1 & echo started', timeout => 5);
is($r->{json}{stdout}, "started\n", 'a command leaving a background job');
ok(time - $t0 < 4, 'answers when it exits, not at its timeout');
is(run(q{ps -eo args | grep -c '^sleep 1005'})->{json}{stdout}, "1\n",
   'and the job keeps running');
run('pkill -x sleep; true');

# ------------------------------------------------------------ stdin, output

is(run('cat', stdin => "line one\nline two\n")->{json}{stdout},
   "line one\nline two\n", 'stdin');
is(run('wc -c', stdin => 'x' x 300_000)->{json}{stdout}, "300000\n",
   'a large stdin, whole');
is(run('cat')->{json}{stdout}, '', 'no stdin: empty, not a hang');
$r = run('cat', stdin => 'x' x (1024 * 1024 + 1));
is($r->{status}, 400, 'stdin over 1 MiB is refused');
like($r->{json}{error}{message}, qr/"stdin"/, 'naming the field');

$r = run('head -c 3000000 /dev/zero; echo done >&2');
is($r->{json}{stdout_truncated}, JSON::PP::true, 'stdout is capped');
is(length(decode_stdout($r)), 1024 * 1024, 'at output_limit');
is($r->{json}{stderr}, "done\n", 'stderr stays separate, and the command '
   . 'was not blocked by the cap');
is($r->{json}{exit_code}, 0, 'and exits normally');

sub decode_stdout {
    my ($res) = @_;
    return $res->{json}{stdout_encoding} eq 'base64'
           ? decode_base64($res->{json}{stdout})
           : $res->{json}{stdout};
}

# -------------------------------------------------------------- the channel

my $name = container_name('test', $sid);
my $dir = "$ENV{SBX_AGENT_DIR}/test/$name";
ok(-S "$dir/agent.sock" && !-l "$dir/agent.sock",
   'the host side of the channel is a socket');
my @st = stat $dir;
is($st[4], 0, 'in a root-owned directory');
is($st[2] & 022, 0, 'that nobody else may write');

$r = run(q{for t in 'ln -sf /var/run/docker.sock /.sbx/run/agent.sock' \
                   'rm -f /.sbx/run/agent.sock' \
                   'touch /.sbx/run/x' 'mv /.sbx/run /tmp/run' \
                   'ln -s /var/run/docker.sock /.sbx/agent.sock'; do
              sh -c "$t" 2>/dev/null && echo "$t: done"; done; echo end});
is($r->{json}{stdout}, "end\n",
   'the sandbox cannot swap, remove or add anything in the channel');
ok(-S "$dir/agent.sock" && !-l "$dir/agent.sock",
   'the host socket is still a socket');

my $probe = <<'PY';
import socket
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect('/.sbx/run/agent.sock')
try:
    print('eof' if s.recv(1) == b'' else 'data')
except socket.timeout:
    print('kept')
PY
$r = run("python3 -c \"\$PROBE\"", env => { PROBE => $probe });
is($r->{json}{stdout}, "eof\n",
   'a connection from the sandboxed code is refused at once');
is(run('echo ok')->{json}{via}, 'agent', 'and the agent still serves');

# ------------------------------------------------------ a killed or hung agent

run('kill -9 1; kill -TERM 1');
my $forge = <<'PY';
import ctypes, struct
# rt_sigqueueinfo(1, SIGTERM, {signo 15, code SI_QUEUE, pid 0, uid 1000})
info = struct.pack('iiiiII', 15, 0, -1, 0, 0, 1000).ljust(128, b'\0')
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall(129, 1, 15, ctypes.c_char_p(info)), ctypes.get_errno())
PY
$r = run("python3 -c \"\$FORGE\"", env => { FORGE => $forge });
is($r->{json}{stdout}, "0 0\n",
   'a SIGTERM with a forged sender pid of 0 reaches PID 1')
    or diag explain $r->{json};
$r = run('echo alive');
is($r->{json}{stdout}, "alive\n",
   'and neither it nor kill -9 1 or kill -TERM 1 from inside stops it');
is($r->{json}{via}, 'agent', 'the agent is still there');

$r = run('kill -9 $PPID; sleep 5');
is($r->{status}, 502, 'killing the process serving the command: 502');
is($r->{json}{error}{code}, 'agent_failed', 'agent_failed');
$r = run('echo next');
is($r->{status}, 200, 'the next command works');
is($r->{json}{session_created}, JSON::PP::false, 'in the same session');
is($r->{json}{via}, 'agent', 'through the agent');

$t0 = time;
$r = run('kill -STOP $PPID; sleep 30', timeout => 1);
$took = time - $t0;
is($r->{status}, 410, 'an agent stopped past the timeout: 410');
is($r->{json}{error}{code}, 'session_lost', 'session_lost');
ok($took < 6, "after the timeout and the grace ($took s)");
is(scalar @{ containers_of($sid) }, 0, 'its container is removed');
ok(!-e $dir, 'and its channel directory');
$r = run('true');
is($r->{json}{session_created}, JSON::PP::true,
   'the session is made again on the next call');
is($r->{json}{via}, 'agent', 'with an agent');

# --------------------------------------------- lying agents (a fake agent)

for my $case (['garbage', 410, 'session_lost'], ['lie', 410, 'session_lost'],
              ['oom', 410, 'session_lost'],
              ['huge', 410, 'session_lost'], ['hang', 410, 'session_lost'],
              ['close', 502, 'agent_failed'])
{
    my ($mode, $status, $code) = @$case;
    my $fsid = fake_agent_session($mode);

    $r = api('POST', '/execute', { command => 'true', session_id => $fsid,
                                   timeout => 1 });
    is($r->{status}, $status, "a fake agent that answers '$mode': $status");
    is($r->{json}{error}{code}, $code, "  $code");

    if ($status == 410) {
        is(scalar @{ containers_of($fsid) }, 0, '  its container is removed');
    } else {
        is(scalar @{ containers_of($fsid) }, 1, '  its session stays');
        api('DELETE', "/sessions/$fsid");
    }
}

is(run('echo fine')->{json}{stdout}, "fine\n",
   'other sessions never noticed');

# A container made by hand as sandboxd would, but with the fake agent as
# its entrypoint; sandboxd adopts it when the session is first used.
sub fake_agent_session {
    my ($mode) = @_;
    my $fsid = "t045-fake-$mode-$$";
    my $fname = container_name('test', $fsid);
    my $fdir = "$ENV{SBX_AGENT_DIR}/test/$fname";

    mkdir $fdir, 0755 or die "mkdir $fdir: $!";

    my $res = docker_api('POST', "/containers/create?name=$fname", {
        Image => $ENV{SBX_IMAGE},
        Entrypoint => ['/.sbx/agent'],
        Cmd => [],
        User => '1000:1000',
        Env => ["FAKE_MODE=$mode"],
        Labels => {
            'io.ngx-sandbox.managed' => 'true',
            'io.ngx-sandbox.instance' => 'test',
            'io.ngx-sandbox.user' => 'alice',
            'io.ngx-sandbox.session' => $fsid,
            'io.ngx-sandbox.created' => '' . int(time),
        },
        HostConfig => {
            NetworkMode => 'none',
            Mounts => [
                { Type => 'bind', ReadOnly => JSON::PP::true,
                  Source => "$ENV{SBX_ROOT}/t/data/fake-agent.py",
                  Target => '/.sbx/agent' },
                { Type => 'bind', ReadOnly => JSON::PP::true,
                  Source => $fdir, Target => '/.sbx/run' },
            ],
        },
    });
    die "create: $res->{status} $res->{body}" unless $res->{status} == 201;
    $res = docker_api('POST', "/containers/$res->{json}{Id}/start");
    die "start: $res->{status}" unless $res->{status} == 204;

    return $fsid;
}

# ------------------------------------ a restarted sandboxd, and no agent

my $sid2 = "t045-second-$$";

start_second();
$r = api('POST', '/second/execute',
         { command => 'echo one', session_id => $sid2 });
is($r->{json}{via}, 'agent', 'second sandboxd: through the agent');

stop_second();
start_second();
$r = api('POST', '/second/execute',
         { command => 'echo two', session_id => $sid2 });
is($r->{json}{session_created}, JSON::PP::false,
   'after a restart the session is still there');
is($r->{json}{via}, 'agent', 'and its agent is taken back');
is($r->{json}{stdout}, "two\n", 'and runs the command');

stop_second();
start_second(SANDBOXD_AGENT => 'off');
$r = api('POST', '/second/execute',
         { command => 'echo three', session_id => $sid2 });
is($r->{json}{via}, 'docker', 'agent off: docker exec runs it');
is($r->{json}{stdout}, "three\n", 'correctly');
is($r->{json}{cpu_ms}, undef, 'without usage figures');
$r = api('POST', '/second/execute',
         { command => 'cat', session_id => $sid2, stdin => 'x' });
is($r->{status}, 503, 'stdin needs the agent');
like($r->{json}{error}{message}, qr/"stdin" needs/, 'and says so');

$r = api('POST', '/second/execute',
         { command => 'echo four', session_id => "$sid2-b" });
is($r->{json}{via}, 'docker', 'a container made without the agent');
is($r->{json}{stdout}, "four\n", 'runs through docker exec');

stop_second();
start_second();
$r = api('POST', '/second/execute',
         { command => 'echo five', session_id => "$sid2-b" });
is($r->{json}{via}, 'docker',
   'agent on again: a container made without one still has none');

my $name2 = container_name('t045', $sid2);
ok(-d "$AGENT2/t045/$name2", 'the channel directory exists');
is(api('DELETE', "/second/sessions/$sid2")->{status}, 204, 'delete');
ok(!-e "$AGENT2/t045/$name2", 'and the channel directory is gone');
api('DELETE', "/second/sessions/$sid2-b");
stop_second();

done_testing();

sub start_second { $second->start(@_) }
sub stop_second { $second->stop }

END {
    local $?;

    $second->cleanup(\&docker_api, \&uri_escape);
}
