# Piston compatibility: POST /api/v2/execute and GET /api/v2/runtimes (and
# the public instance's /api/v2/piston/ prefix) in Piston's shapes, on an
# anonymous location; npm's piston-client, unchanged, round trips through
# nginx; bad requests are 400 with Piston's {"message": "..."}.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time);

my $SOCKET = sbx_var('SBX_SOCKET');
my $PORT = sbx_var('SBX_PORT');
my $ROOT = sbx_var('SBX_ROOT');

start_nginx(http_config => <<"END", config => <<"END");
    sandbox_limit_zone piston:1m;
END
    location / {
        allow 127.0.0.1;
        deny all;

        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_anonymous piston;
        sandbox_limit zone=piston rate=600r/m burst=100;
        sandbox_exec_timeout 10s;
        sandbox_exec_timeout_max 60s;
    }
END

# what piston-client sends, as it sends it
sub execute
{
    my ($path, $body) = @_;

    return api('POST', $path, $body, key => undef,
               headers => { 'Content-Type' => 'text/plain;charset=UTF-8' });
}

sub smoke
{
    my (@args) = @_;
    my $out = qx{node "$ROOT/t/data/piston-client-smoke.js" \\
                 "http://127.0.0.1:$PORT" @{[ map { "'$_'" } @args ]}};

    return ($? >> 8, $out);
}

my %BODY = (
    language => 'python', version => '*',
    files => [{ content => 'import sys; print(1); '
                           . 'print(sys.argv[1:], file=sys.stderr)' }],
    stdin => '', args => ['a', 'b'],
    compile_timeout => 10000, run_timeout => 3000,
    compile_memory_limit => -1, run_memory_limit => -1,
);


# runtimes, both prefixes

my $r = api('GET', '/api/v2/runtimes', undef, key => undef);
is($r->{status}, 200, 'GET /api/v2/runtimes without credentials');
is(ref $r->{json}, 'ARRAY', 'a list');
my ($py) = grep { $_->{language} eq 'python' } @{ $r->{json} // [] };
ok($py && $py->{version} =~ /^\d+\.\d+\.\d+$/ && ref $py->{aliases} eq 'ARRAY',
   'python: {language, version, aliases}');

$r = api('GET', '/api/v2/piston/runtimes', undef, key => undef);
is($r->{status}, 200, 'GET /api/v2/piston/runtimes');
is_deeply($r->{json}, api('GET', '/api/v2/runtimes', undef,
                          key => undef)->{json}, 'the same list');


# execute: the shape

$r = execute('/api/v2/execute', \%BODY);
is($r->{status}, 200, 'POST /api/v2/execute') or diag($r->{body});
is($r->{json}{language}, 'python', 'language');
is($r->{json}{version}, $py->{version}, 'version');
is($r->{json}{run}{stdout}, "1\n", 'run.stdout');
is($r->{json}{run}{stderr}, "['a', 'b']\n", 'run.stderr (args)');
is($r->{json}{run}{output}, "1\n['a', 'b']\n", 'run.output');
is($r->{json}{run}{code}, 0, 'run.code');
ok(exists $r->{json}{run}{signal} && !defined $r->{json}{run}{signal},
   'run.signal null');
ok(!exists $r->{json}{compile}, 'no compile step for python');

$r = execute('/api/v2/piston/execute', { %BODY, version => '3.x',
             files => [{ content => 'import sys; sys.exit(3)' }] });
is($r->{status}, 200, 'POST /api/v2/piston/execute, version 3.x');
is($r->{json}{run}{code}, 3, 'exit code 3');
is($r->{json}{run}{status}, 'RE', 'status RE');

$r = execute('/api/v2/execute', { %BODY, run_timeout => 500,
             files => [{ content => "while True:\n    pass" }] });
is($r->{status}, 200, 'a timeout answers 200');
is($r->{json}{run}{signal}, 'SIGKILL', 'signal SIGKILL');
ok(!defined $r->{json}{run}{code}, 'code null when killed');
is($r->{json}{run}{status}, 'TO', 'status TO');

$r = execute('/api/v2/execute', { %BODY, stdin => "from stdin\n",
             files => [{ content => 'import sys; print(sys.stdin.read(), '
                                    . 'end="")' }] });
is($r->{json}{run}{stdout}, "from stdin\n", 'stdin reaches the program');

$r = execute('/api/v2/execute', { %BODY, run_memory_limit => 64 * 2**20,
             files => [{ content => 'b = bytearray(200 * 2**20)' }] });
is($r->{status}, 200, 'out of memory answers 200');
is($r->{json}{run}{status}, 'SG', '  status SG');
is($r->{json}{run}{signal}, 'SIGKILL', '  signal SIGKILL');
is($r->{json}{run}{message}, 'Out of memory', '  message: Out of memory');

$r = execute('/api/v2/execute', { %BODY,
             files => [{ content => 'print("x" * (2 * 2**20))' }] });
is($r->{status}, 200, 'output over the cap answers 200');
is($r->{json}{run}{status}, 'OL', '  status OL');
ok(length($r->{json}{run}{stdout}) <= 1024 * 1024,
   '  stdout is cut at the cap');

$r = execute('/api/v2/execute', { %BODY, language => 'c',
             files => [{ content => 'int main(void) { return x; }' }] });
is($r->{status}, 200, 'a compile error answers 200');
ok($r->{json}{compile}{code}, 'compile.code is not 0');
like($r->{json}{compile}{stderr}, qr/x/, 'compile.stderr');


# errors: Piston's shape and statuses

$r = execute('/api/v2/execute', { %BODY, version => '2' });
is($r->{status}, 400, 'a version we do not have: 400');
is_deeply([keys %{ $r->{json} // {} }], ['message'], '{"message"}');
like($r->{json}{message}, qr/runtime is unknown/, 'runtime is unknown');

# refused before it runs: the program would take 10 s
my $t0 = time;
$r = execute('/api/v2/execute', { %BODY, version => '^2',
             files => [{ content => 'import time; time.sleep(10)' }] });
is($r->{status}, 400, 'a range we do not have: 400');
cmp_ok(time - $t0, '<', 5, '  answered without running the program');

$r = execute('/api/v2/execute', { %BODY, language => 'cobol' });
is($r->{status}, 400, 'an unknown language: 400');
ok(defined $r->{json}{message}, '{"message"}');

$r = execute('/api/v2/execute', { language => 'python' });
is($r->{status}, 400, 'no files: 400');
like($r->{json}{message}, qr/files/, 'the message says files');
ok(!exists $r->{json}{error}, 'not the module\'s {"error"} shape');

$r = execute('/api/v2/piston/execute', 'not json');
is($r->{status}, 400, 'not JSON: 400');
ok(defined $r->{json}{message}, '{"message"}');

$r = api('GET', '/api/v2/execute', undef, key => undef);
is($r->{status}, 405, 'GET /api/v2/execute: 405');
ok(defined $r->{json}{message}, '{"message"}');

$r = api('GET', '/api/v2/packages', undef, key => undef);
is($r->{status}, 404, 'a Piston path we do not serve: 404');
ok(defined $r->{json}{message}, '{"message"}');

$r = api('GET', '/no-such-thing', undef, key => undef);
is($r->{status}, 404, 'elsewhere: 404');
ok(defined $r->{json}{error}{code}, 'in the module\'s {"error"} shape');


# npm's piston-client, unchanged

SKIP: {
    skip 'node and piston-client are not installed', 6
        unless -f "$ENV{SBX_NODE_MODULES}/piston-client/index.js";

    my ($rc, $out) = smoke();
    is($rc, 0, 'piston-client runtimes()') or diag($out);
    ok((grep { $_->{language} eq 'python' } @{ decode_json($out) }),
       'python among them');

    ($rc, $out) = smoke('execute', 'python', 'print(1)');
    is($rc, 0, 'piston-client execute python') or diag($out);
    is(decode_json($out)->{run}{output}, "1\n", 'its output');

    ($rc, $out) = smoke('execute', 'c', '#include <stdio.h>
int main(void) { printf("%d\n", 6 * 7); return 0; }');
    is($rc, 0, 'piston-client execute c') or diag($out);
    is(decode_json($out)->{run}{stdout}, "42\n", 'its output');
}

ok(error_log_clean(), 'no [error] in the error log');
done_testing();
