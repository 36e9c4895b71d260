# POST /run and GET /runtimes: every language of /runtimes runs hello
# world, stdin, args, a compile error (compiled ones), a runtime error, a
# timeout, an OOM and output over the cap, each in a fresh container that
# is gone afterwards.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(sleep time);

# a worker of its own for the quota: one execution at a time
my $sd = Sbx::Sandboxd->new(instance => 't061');

start_nginx(config => <<"END");
    location /q/ {
        sandbox on;
        sandbox_pass unix:$sd->{socket};
        sandbox_api_key test-key-alice alice;
    }

    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_exec_timeout 10s;
        sandbox_exec_timeout_max 60s;
    }
END

my $OUT = 2 * 1024 * 1024;    # over the test worker's 1m output_limit

# TypeScript without @types/node: the Node.js globals it uses
my $TS = "declare const process: any; declare const require: any;\n"
       . "declare const Buffer: any;\n";

my $JS_STDIN = 'process.stdout.write(require("fs").readFileSync(0, "utf8")'
             . '.toUpperCase());';
my $JS_OOM = 'const a = []; for (;;) { a.push(Buffer.alloc(1 << 24, 1)); }';

my $C_HEAD = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
           . "#include <ctype.h>\n";
my $C_ARGS = 'int main(int argc, char **argv) { for (int i = 1; i < argc; '
           . 'i++) printf("%s%s", argv[i], i + 1 < argc ? " " : "\n"); '
           . 'return 0; }';
my $C_OOM = 'int main(void) { for (;;) { '
          . 'char *p = (char *) malloc(1 << 24); '
          . 'if (p == NULL) return 1; memset(p, 1, 1 << 24); } }';
my $C_STDIN = 'int main(void) { int c; while ((c = getchar()) != EOF) '
            . 'putchar(toupper(c)); return 0; }';
my $C_OUT = "int main(void) { for (int i = 0; i < $OUT; i++) putchar('x'); "
          . 'return 0; }';
my $C_VERSION = 'int main(void) { printf("%d.%d.%d\n", __GNUC__, '
              . '__GNUC_MINOR__, __GNUC_PATCHLEVEL__); return 0; }';

my %programs = (
    python => {
        hello => 'print("hello")',
        stdin => 'import sys; print(sys.stdin.read().upper(), end="")',
        args => 'import sys; print(" ".join(sys.argv[1:]))',
        error => 'import sys; sys.exit(3)',
        timeout => "while True:\n    pass",
        oom => 'b = bytearray(2**31)',
        output => "import sys; sys.stdout.write('x' * $OUT)",
        version => 'import platform; print(platform.python_version())',
    },
    javascript => {
        hello => 'console.log("hello")',
        stdin => $JS_STDIN,
        args => 'console.log(process.argv.slice(2).join(" "))',
        error => 'process.exit(3)',
        timeout => 'for (;;) {}',
        oom => $JS_OOM,
        output => "process.stdout.write('x'.repeat($OUT))",
        version => 'console.log(process.versions.node)',
    },
    typescript => {
        hello => 'const s: string = "hello"; console.log(s)',
        stdin => $TS . $JS_STDIN,
        args => $TS . 'console.log(process.argv.slice(2).join(" "))',
        compile_error => 'let x: number = "not a number";',
        error => $TS . 'process.exit(3)',
        timeout => 'for (;;) {}',
        oom => $TS . $JS_OOM,
        output => $TS . "process.stdout.write('x'.repeat($OUT))",
    },
    rust => {
        hello => 'fn main() { println!("hello"); }',
        stdin => 'use std::io::Read; fn main() { let mut s = String::new(); '
               . 'std::io::stdin().read_to_string(&mut s).unwrap(); '
               . 'print!("{}", s.to_uppercase()); }',
        args => 'fn main() { let a: Vec<String> = '
              . 'std::env::args().skip(1).collect(); '
              . 'println!("{}", a.join(" ")); }',
        compile_error => 'fn main() { let x: i32 = "not a number"; }',
        error => 'fn main() { std::process::exit(3); }',
        timeout => 'fn main() { loop {} }',
        oom => 'fn main() { let mut v: Vec<Vec<u8>> = Vec::new(); '
             . 'loop { v.push(vec![1u8; 1 << 24]); } }',
        output => "fn main() { print!(\"{}\", \"x\".repeat($OUT)); }",
    },
    c => {
        hello => "$C_HEAD int main(void) { puts(\"hello\"); return 0; }",
        stdin => $C_HEAD . $C_STDIN,
        args => $C_HEAD . $C_ARGS,
        compile_error => 'int main(void) { return undeclared; }',
        error => 'int main(void) { return 3; }',
        timeout => 'int main(void) { volatile int x = 0; for (;;) x++; }',
        oom => $C_HEAD . $C_OOM,
        output => $C_HEAD . $C_OUT,
        version => $C_HEAD . $C_VERSION,
    },
    'c++' => {
        hello => "#include <iostream>\nint main() { std::cout << \"hello\" "
               . "<< std::endl; }",
        stdin => $C_HEAD . $C_STDIN,
        args => $C_HEAD . $C_ARGS,
        compile_error => 'int main() { std::string s; }',
        error => 'int main() { return 3; }',
        timeout => 'int main() { volatile int x = 0; for (;;) x++; }',
        oom => $C_HEAD . $C_OOM,
        output => $C_HEAD . $C_OUT,
        version => $C_HEAD . $C_VERSION,
    },
    bash => {
        hello => 'echo hello',
        stdin => 'tr a-z A-Z',
        args => 'echo "$@"',
        error => 'exit 3',
        timeout => 'while :; do :; done',
        oom => 'a=x; while :; do a=$a$a; done',
        output => "head -c $OUT /dev/zero | tr '\\0' x",
        version => 'echo "${BASH_VERSION%%(*}"',
    },
);

sub is_true  { JSON::PP::is_bool($_[0]) && $_[0] }
sub is_false { JSON::PP::is_bool($_[0]) && !$_[0] }

sub run_code {
    my ($language, $code, %args) = @_;
    return api('POST', '/run', { language => $language, code => $code,
                                 %args }, timeout => 90);
}

# the runtimes

my $r = api('GET', '/runtimes');
is($r->{status}, 200, 'GET /runtimes');
my @runtimes = @{ $r->{json}{runtimes} // [] };
my %by_name = map { $_->{language} => $_ } @runtimes;
is_deeply([sort keys %by_name], [sort keys %programs],
          'the languages of the runtime image')
    or diag(explain \@runtimes);
is_deeply($by_name{python}{aliases}, ['py', 'python3'], 'python aliases');
ok(grep({ $_ eq 'cpp' } @{ $by_name{'c++'}{aliases} }), 'c++ has cpp');

for my $rt (@runtimes) {
    my $lang = $rt->{language};
    my $p = $programs{$lang};
    my $t0 = time;

    unless ($p) {
        fail("$lang: a language this test knows");
        next;
    }

    $r = run_code($lang, $p->{hello});
    is($r->{status}, 200, "$lang: hello world answers 200");
    is($r->{json}{status}, 'ok', "$lang: status ok")
        or diag(explain $r->{json});
    is($r->{json}{run}{stdout}, "hello\n", "$lang: its output");
    is($r->{json}{run}{exit_code}, 0, "$lang: exit code 0");
    is($r->{json}{language}, $lang, "$lang: the language");
    is($r->{json}{version}, $rt->{version}, "$lang: the version");
    ok(is_false($r->{json}{run}{timed_out}), "$lang: not timed out");
    ok(defined $r->{json}{run}{cpu_ms} && defined $r->{json}{run}{wall_ms},
       "$lang: cpu_ms and wall_ms");
    is(exists $r->{json}{compile}, exists $p->{compile_error},
       "$lang: a compile step exactly for compiled languages");

    $r = run_code($rt->{aliases}[0] // $lang, $p->{stdin},
                  stdin => "some input\n");
    is($r->{json}{run}{stdout}, "SOME INPUT\n",
       "$lang: stdin (through the alias $rt->{aliases}[0])")
        or diag(explain $r->{json});

    $r = run_code($lang, $p->{args}, args => ['one', "two 't' 2", '$HOME']);
    is($r->{json}{run}{stdout}, "one two 't' 2 \$HOME\n",
       "$lang: args, passed verbatim") or diag(explain $r->{json});

    if ($p->{compile_error}) {
        $r = run_code($lang, $p->{compile_error});
        is($r->{status}, 200, "$lang: a compile error answers 200");
        is($r->{json}{status}, 'compile_error', "$lang: compile_error")
            or diag(explain $r->{json});
        ok($r->{json}{compile}{exit_code}, "$lang: the compiler failed");
        like($r->{json}{compile}{stdout} . $r->{json}{compile}{stderr},
             qr/error/i, "$lang: the compiler's output");
        ok(!exists $r->{json}{run}, "$lang: nothing ran");
    }

    $r = run_code($lang, $p->{error});
    is($r->{json}{status}, 'runtime_error', "$lang: runtime_error")
        or diag(explain $r->{json});
    is($r->{json}{run}{exit_code}, 3, "$lang: its exit code");

    $r = run_code($lang, $p->{timeout}, timeout => 1);
    is($r->{json}{status}, 'timeout', "$lang: timeout")
        or diag(explain $r->{json});
    ok(is_true($r->{json}{run}{timed_out}), "$lang: timed_out");

    $r = run_code($lang, $p->{oom}, timeout => 30);
    is($r->{json}{status}, 'oom', "$lang: oom") or diag(explain $r->{json});
    ok(is_true($r->{json}{run}{oom_killed}), "$lang: oom_killed");

    $r = run_code($lang, $p->{output});
    is($r->{json}{status}, 'output_limit', "$lang: output_limit")
        or diag(explain { %{ $r->{json} }, run => { %{ $r->{json}{run} },
                                                    stdout => '...' } });
    ok(is_true($r->{json}{run}{truncated}), "$lang: truncated");
    is(length $r->{json}{run}{stdout}, 1024 * 1024,
       "$lang: stdout kept up to the cap");

    if ($p->{version}) {
        $r = run_code($lang, $p->{version});
        is($r->{json}{run}{stdout}, "$rt->{version}\n",
           "$lang: /runtimes tells the image's version");
    }

    note(sprintf "%s: %.1f s", $lang, time - $t0);
}

# the simplest request: code alone is Python

$r = api('POST', '/run', { code => 'print(6 * 7)' });
is($r->{status}, 200, '{"code"} alone');
is($r->{json}{language}, 'python', '  is Python');
is($r->{json}{run}{stdout}, "42\n", '  and runs');

# nothing persists from one run to the next

$r = run_code('bash', 'echo x > /workspace/left; echo y > /tmp/left; '
                      . 'ls /workspace');
is($r->{json}{run}{stdout}, "left\nmain.sh\n", 'run 1 writes files');
$r = run_code('bash', 'ls -A /workspace; ls -A /tmp');
is($r->{json}{run}{stdout}, "main.sh\n", 'run 2 sees none of them');

# files: the first is the program, others beside it, base64 too

$r = api('POST', '/run', { language => 'python', files => [
    { name => 'prog.py', content => "import helper\nhelper.hi()\n" },
    { name => 'helper.py',
      content => encode_base64("def hi():\n    print(open('d/data.bin', "
                               . "'rb').read())\n", ''),
      encoding => 'base64' },
    { name => 'd/data.bin', content => encode_base64("\x00\xff", ''),
      encoding => 'base64' },
] });
is($r->{json}{status}, 'ok', 'files: several, in subdirectories, base64')
    or diag(explain $r->{json});
is($r->{json}{run}{stdout}, "b'\\x00\\xff'\n", '  the entry imports them');

$r = api('POST', '/run', { language => 'c', files => [
    { content => "#include \"greet.h\"\nint main(void) { greet(); }\n" },
    { name => 'greet.h', content => "#include <stdio.h>\n"
                                    . "static void greet(void) "
                                    . "{ puts(\"hi\"); }\n" },
] });
is($r->{json}{run}{stdout}, "hi\n", 'files: an unnamed first file is main.c')
    or diag(explain $r->{json});

# memory_limit

$r = run_code('python', 'print(1)', memory_limit => 64 * 1024 * 1024);
is($r->{json}{status}, 'ok', 'memory_limit: 64 MiB');
$r = run_code('python', 'b = bytearray(100 * 2**20)',
              memory_limit => 64 * 1024 * 1024);
is($r->{json}{status}, 'oom', '  100 MiB do not fit in it');

# versions: the one of /runtimes, or a range it satisfies

for my $v ('3.11.2', '3', '3.11', '3.x', '^3.8', '~3.11.0', '>=3', '*') {
    $r = api('POST', '/run', { code => 'print(1)', version => $v });
    is($r->{json}{status}, 'ok', "version \"$v\" runs")
        or diag($r->{body});
}

$r = api('POST', '/run', { code => 'x', version => '2' });
like($r->{json}{error}{message}, qr/python-2 runtime is unknown: python is 3\./,
     'a version the image lacks: the message names the one it has');

# bad input: 400 JSON, no container made

my @bad = (
    [ { language => 'cobol', code => 'x' }, 'an unknown language' ],
    [ { language => 'python' }, 'neither code nor files' ],
    [ { code => 'x', files => [{ content => 'x' }] }, 'both code and files' ],
    [ { code => 'x', colour => 'red' }, 'an unknown field' ],
    [ { code => 'x', timeout => 61 }, 'a timeout over the maximum' ],
    [ { code => 'x', compile_timeout => 0 }, 'a compile_timeout of 0' ],
    [ { code => 'x', args => 'a b' }, 'args that are not an array' ],
    [ { code => 'x', args => [1] }, 'an arg that is not a string' ],
    [ { code => 'x', args => [('a') x 65] }, 'too many args' ],
    [ { code => 'x' x (256 * 1024 + 1) }, 'code over 256 KiB' ],
    [ { files => [{ name => '../x.py', content => 'x' }] }, 'a name with ..' ],
    [ { files => [{ name => '/etc/x.py', content => 'x' }] },
      'an absolute name' ],
    [ { files => [{ content => 'x' }, { content => 'y' }] },
      'a second file without a name' ],
    [ { files => [{ content => 'x', encoding => 'rot13' }] },
      'an unknown encoding' ],
    [ { files => [{ content => '!!!', encoding => 'base64' }] },
      'content that is not base64' ],
    [ { files => [] }, 'no files' ],
    [ { code => 'x', memory_limit => 1024 ** 4 }, 'memory over the maximum' ],
    [ { code => 'x', version => '2.7' }, 'a version the image lacks' ],
    [ { code => 'x', version => '^2' }, 'a range the image lacks' ],
    [ { code => 'x', version => '<3' }, 'a range below the image' ],
    [ { code => 'x', version => 'latest' }, 'a version that is a word' ],
);

for my $b (@bad) {
    $r = api('POST', '/run', $b->[0]);
    is($r->{status}, 400, "bad input: $b->[1]: 400");
    ok($r->{json}{error}{code}, "  a JSON error ($r->{json}{error}{code})")
        or diag($r->{body});
}

$r = api('POST', '/run', '{"co');
is($r->{status}, 400, 'bad input: not JSON: 400');
is($r->{json}{error}{code}, 'invalid_json', '  invalid_json');

# a run is an execution of the user's quota, and is audited

$sd->start(SANDBOXD_MAX_CONCURRENT_EXECS_PER_USER => 1);

my $slow = api_async('POST', '/q/run', { language => 'bash',
                                         code => 'sleep 3; echo done' });
sleep 1.5;
$r = api('POST', '/q/run', { code => 'print(1)' });
is($r->{status}, 429, 'a second run at once, over the exec quota: 429');
is($r->{json}{error}{code}, 'exec_quota_exceeded', '  exec_quota_exceeded');
$r = $slow->();
is($r->{json}{run}{stdout}, "done\n", '  the first one finishes');
is(api('POST', '/q/run', { code => 'print(1)' })->{json}{status}, 'ok',
   '  and the next one runs');

my $audit = do { local (@ARGV, $/) = ($sd->{audit}); <> } // '';
my @runs = grep { $_->{op} eq 'run' }
           map { JSON::PP->new->decode($_) } split /\n/, $audit;
is(scalar @runs, 3, 'each run leaves an audit line');
is(scalar(grep { ($_->{command} // '') eq 'bash'
                 && $_->{outcome} eq 'ok' } @runs), 1,
   '  naming the language');
is(scalar(grep { $_->{outcome} eq 'exec_quota_exceeded' } @runs), 1,
   '  the refused one too');
like($r->{json}{run_id}, qr/^run-[0-9a-f]{32}$/, '  a run has an id');
is(scalar(grep { ($_->{session} // '') eq $r->{json}{run_id} } @runs), 1,
   '  which its audit line names');

sleep 1;    # the last container's removal
$sd->stop;

# no run container is left behind

for my $instance ($ENV{SBX_INSTANCE}, 't061') {
    my $filters = uri_escape(JSON::PP->new->encode({ label => [
        "io.ngx-sandbox.instance=$instance", 'io.ngx-sandbox.run'] }));
    my $left;
    my $deadline = time + 15;
    do {
        sleep 0.5;
        $left = docker_api('GET', "/containers/json?all=1&filters=$filters")
                    ->{json};
        # the shared sandboxd's warm pool (2) stays, idle
        $left = [grep { !exists $_->{Labels}{'io.ngx-sandbox.pool'} }
                      @$left]
            if $instance eq $ENV{SBX_INSTANCE} && @$left <= 2;
    } while (@$left && time < $deadline);
    is(scalar @$left, 0, "every run container of $instance is removed")
        or diag(explain [map { $_->{Names}[0] } @$left]);
}

ok(error_log_clean(), 'no [error] in the error log');
done_testing();
