# POST /execute: output, exit codes, timeouts, truncation, bytes, state.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use MIME::Base64 qw(decode_base64);
use Time::HiRes qw(time);

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
        sandbox_allowed_commands echo sh cat ls printf head yes sleep pwd ps
                                 env python3 true;
        sandbox_exec_timeout 10s;
        sandbox_exec_timeout_max 60s;
    }
END

my $sid = "t040-$$-" . time;

sub run {
    my ($command, %args) = @_;
    my $key = delete $args{key};
    return api('POST', '/execute',
               { command => $command, session_id => $sid, %args },
               $key ? (key => $key) : ());
}

# basics, and the session made on demand

my $r = run('echo hello; echo oops >&2; exit 3');
is($r->{status}, 200, 'execute answers 200 for a failing command');
is($r->{json}{session_created}, JSON::PP::true,
   'the session is created on demand');
is($r->{json}{session_id}, $sid, 'and named in the result');
is($r->{json}{stdout}, "hello\n", 'stdout');
is($r->{json}{stderr}, "oops\n", 'stderr, separate');
is($r->{json}{exit_code}, 3, 'exit code');
is($r->{json}{signal}, undef, 'no signal');
is($r->{json}{timed_out}, JSON::PP::false, 'not timed out');
is($r->{json}{truncated}, JSON::PP::false, 'not truncated');
is($r->{json}{stdout_encoding}, 'utf8', 'UTF-8 output says so');
ok($r->{json}{duration_ms} >= 0, 'duration_ms');

$r = run("true");
is($r->{json}{session_created}, JSON::PP::false,
   'the second call reuses the session');

# state persists inside a session, not across users

run('echo secret > /workspace/note.txt');
is(run('cat /workspace/note.txt')->{json}{stdout}, "secret\n",
   'a file written by one call is read by the next');
$r = run('cat /workspace/note.txt', key => 'test-key-bob');
is($r->{json}{exit_code}, 1,
   "another user's session of the same id is another sandbox");
is($r->{json}{stdout}, '', 'and does not see the file');

# working_dir and env

is(run('pwd')->{json}{stdout}, "/workspace\n", 'default working dir');
is(run('pwd', working_dir => '/tmp')->{json}{stdout}, "/tmp\n",
   'working_dir');
$r = run('pwd', working_dir => '/no/such/dir');
is($r->{status}, 400, 'a working_dir missing in the sandbox is a 400');
is($r->{json}{error}{code}, 'invalid_argument', 'invalid_argument');
like($r->{json}{error}{message}, qr{"working_dir" /no/such/dir},
     'and the message names it');
$r = run('pwd', working_dir => '/etc/hostname');
is($r->{status}, 400, 'so is a working_dir that is a file');
is(run('printf "%s" "$GREETING"', env => { GREETING => 'hi there' })
       ->{json}{stdout}, 'hi there', 'env');

# bytes that are not UTF-8 come back losslessly

$r = run(q{printf 'a\377\000b'});
is($r->{json}{stdout_encoding}, 'base64', 'non-UTF-8 output is base64');
is(decode_base64($r->{json}{stdout}), "a\xff\x00b", 'byte for byte');
$r = run(q{printf 'nul\000inside'});
is($r->{json}{stdout_encoding}, 'utf8', 'NUL is valid UTF-8');
is($r->{json}{stdout}, "nul\x00inside", 'and comes back as \u0000');
$r = run(q{printf '\303\251t\303\251'});
is($r->{json}{stdout}, "\x{e9}t\x{e9}", 'UTF-8 text is text');

# output is capped, the rest read and dropped

$r = run('yes | head -c 3000000');
is($r->{json}{truncated}, JSON::PP::true, 'a flood of output is truncated');
is($r->{json}{stdout_truncated}, JSON::PP::true, 'on stdout');
is(length $r->{json}{stdout}, 1048576, 'at the 1 MiB default cap');
is($r->{json}{exit_code}, 0, 'and the command still ran to its end');

# the timeout kills the whole process tree, and answers in time

my $t0 = time;
$r = run('sleep 1000 & sleep 1000 & echo started; sleep 1000',
         timeout => 1.5);
my $elapsed = time - $t0;
is($r->{status}, 200, 'a timed out command is a result, not an error');
is($r->{json}{timed_out}, JSON::PP::true, 'timed_out');
is($r->{json}{signal}, 'SIGKILL', 'killed');
is($r->{json}{exit_code}, undef, 'no exit code');
is($r->{json}{stdout}, "started\n", 'output before the kill is kept');
ok($elapsed < 2.5, "answered within timeout + 1 s ($elapsed s)");
is(run('ps -eo args= | grep -c "^sleep 1000" || true', timeout => 5)
       ->{json}{stdout}, "0\n", 'no process of the timed out command is left');

# several sessions at once: a long command does not hold up a short one

my $slow = api_async('POST', '/execute',
                     { command => 'sleep 3', session_id => "$sid-slow" });
$t0 = time;
$r = run('echo fast');
my $fast = time - $t0;
is($r->{json}{stdout}, "fast\n", 'the short command ran');
ok($fast < 2, "while a 3 s command runs in another session ($fast s)");
my $s = $slow->();
is($s->{json}{exit_code}, 0, 'and the long one finished too');

# refusals

is(run('rm -rf /')->{status}, 403, 'a command outside the allow-list: 403');
is(run('rm -rf /')->{json}{error}{code}, 'command_not_allowed', 'named');
is(run('echo', timeout => 61)->{status}, 400, 'a timeout over the max: 400');
is(api('POST', '/execute', '{"command": "echo", "bogus": 1}')->{status}, 400,
   'an unknown field: 400');
is(api('POST', '/execute', 'not json')->{json}{error}{code}, 'invalid_json',
   'broken JSON: 400 invalid_json');

api('DELETE', "/sessions/$sid");
api('DELETE', "/sessions/$sid", undef, key => 'test-key-bob');
api('DELETE', "/sessions/$sid-slow");

ok(error_log_clean(), 'no [error] in the error log');

done_testing();
