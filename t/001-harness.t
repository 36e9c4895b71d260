# The harness's own regression test: stock nginx (no sandbox module, no
# sandboxd), so it runs before either exists.  Blocks exercise the
# data-driven side; the plain tests below check the helpers and that wrong
# expectations really fail.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;

run_blocks();
helper_tests();
done_testing();


sub helper_tests
{
    json_check_tests();
    block_parser_tests();
    expand_tests();
    failure_detection_tests();
    restart_tests();
    client_tests();
    docker_tests();
}


sub json_check_tests
{
    my $data = JSON::PP->new->utf8->decode(
        '{"a":{"b":[1,"x"]},"n":0,"f":1.5,"s":"0","t":false,"z":null}');

    my @pass = ('.a.b[0] == 1', '.a.b[-1] == "x"', '.n == 0', '.f > 1',
                '.s == "0"', '.t == false', '.z == null', '.a # 1',
                '.a.b # >= 2', '.a exists', '.q !exists', '.n =~ /^0$/',
                '.a == {"b":[1,"x"]}', '. # 6', '.["a"].b[1] != "y"');

    my %fail = (
        '.a.b[0] == 2'       => qr/got: number 1\nexpected: number 2/,
        '.n == "0"'          => qr/expected: string "0"/,
        '.s == 0'            => qr/got: string "0"/,
        '.t == null'         => qr/got: bool false/,
        '.a.b[2] == 1'       => qr/\.a\.b has no index 2/,
        '.q == 1'            => qr/has no key "q"/,
        '.s > 0'             => qr/not a number/,
        '.a.b # 3'           => qr/array has 2 elements, expected == 3/,
        '.a exists'          => qr/^$/,    # passes; filtered below
        '.a !exists'         => qr/\.a exists/,
        '.a.b[1] =~ /^y/'    => qr/does not match/,
        '.a bogus'           => qr/bad check: unknown operator/,
        'a == 1'             => qr/bad check/,
        '.n > "1"'           => qr/needs a number/,
    );
    delete $fail{'.a exists'};

    for my $line (@pass) {
        my ($ok, $diag) = Sbx::Test::Json::check($data, $line);
        ok($ok, "json check passes: $line") or diag($diag);
    }

    for my $line (sort keys %fail) {
        my ($ok, $diag) = Sbx::Test::Json::check($data, $line);
        ok(!$ok, "json check fails: $line");
        like($diag // '', $fail{$line}, "json check diag: $line");
    }

    # A regex check stringifies a number; later checks still see a number.
    my $d = JSON::PP->new->decode('{"n":5}');
    my $s = "$d->{n}";
    ok((Sbx::Test::Json::check($d, '.n =~ /5/'))[0]
       && (Sbx::Test::Json::check($d, '.n > 4'))[0]
       && (Sbx::Test::Json::check($d, '.n == 5'))[0],
       'a stringified number is still a number');

    is(json_path($data, '.a.b[1]'), 'x', 'json_path');
    is(json_path($data, '.nope'), undef, 'json_path of a missing key');
}


sub block_parser_tests
{
    my @blocks = Sbx::Test::Blocks::parse(<<'TEXT');
=== TEST 7: first
--- error_code: 201
--- request

POST /x
line 2

--- response_body chomp
hello
--- json eval
[".a == 1", ".b == 2"]
--- more_headers eval
"A: 1\nB: 2\n"
=== second
--- must_die
TEXT

    is(scalar @blocks, 2, 'parser: two blocks');
    my $s = $blocks[0]{sections};
    is($blocks[0]{nr}, 7, 'parser: block number from the title');
    is($blocks[1]{nr}, 2, 'parser: ordinal when the title has none');
    is($s->{error_code}{value}, '201', 'parser: inline value, no newline');
    is($s->{request}{value}, "POST /x\nline 2\n",
       'parser: blank lines around a value trimmed, one final newline');
    is($s->{response_body}{value}, 'hello', 'parser: chomp');
    ok($s->{json}{mods}{eval}, 'parser: eval modifier');
    is_deeply([Sbx::Test::value_lines($blocks[0], 'json')],
              ['.a == 1', '.b == 2'], 'eval section returning a list');
    is_deeply([Sbx::Test::value_lines($blocks[0], 'more_headers')],
              ['A: 1', 'B: 2'], 'eval section returning lines');
    ok(exists $blocks[1]{sections}{must_die}, 'parser: empty section');
}


sub expand_tests
{
    my $port = sbx_var('SBX_PORT');
    my $run = sbx_var('RUN_ID');

    local $ENV{SBX_HARNESS_X} = 'envx';

    is(Sbx::Test::Env::expand('p=$SBX_PORT; s=${RUN_ID}x; $request_id'
                              . ' $SBX_PORTS ${ENV:SBX_HARNESS_X}'),
       "p=$port; s=${run}x; \$request_id \$SBX_PORTS envx",
       'variables expand, nginx variables and longer names stay');
    like($run, qr/^$$-\d+$/, 'RUN_ID is pid-time');
    is(sbx_var('SERVROOT'), sbx_var('SBX_ROOT') . '/t/servroot',
       'servroot under t/');
}


# The same block with right and wrong expectations: the runner must fail
# exactly the wrong ones.
sub failure_detection_tests
{
    my ($block) = Sbx::Test::Blocks::parse(<<'TEXT');
=== TEST 100: expectations, some wrong
--- no_module
--- config
    location /j {
        default_type application/json;
        add_header X-Foo abc;
        return 200 '{"a":1}';
    }
--- request
GET /j
--- error_code: 404
--- response_headers
X-Foo: abc
X-Foo: abd
!X-Foo
--- response_body_like: "b"
--- json
.a == 1
.a == 2
--- error_log
no such line in any log
--- no_error_log
[error]
TEXT

    my ($results) = Sbx::Test::evaluate_block($block);
    my %got = map { $_->[0] => $_->[1] ? 'pass' : 'fail' } @$results;

    is_deeply(\%got, {
        'status code'                          => 'fail',
        'header X-Foo: abc'                    => 'pass',
        'header X-Foo: abd'                    => 'fail',
        'header !X-Foo'                        => 'fail',
        'response body like'                   => 'fail',
        'json .a == 1'                         => 'pass',
        'json .a == 2'                         => 'fail',
        '"no such line in any log" in error log' => 'fail',
        'no "[error]" in error log'            => 'pass',
    }, 'wrong expectations fail, right ones pass') or diag explain $results;

    my ($bad) = Sbx::Test::Blocks::parse(<<'TEXT');
=== TEST 101: a config nginx rejects, not marked must_die
--- no_module
--- config
    no_such_directive;
--- request
GET /
--- error_code: 200
--- json
.a exists
TEXT

    ($results) = Sbx::Test::evaluate_block($bad);
    is(scalar(grep { !$_->[1] } @$results), 2,
       'a config that fails nginx -t fails every check');
    like($results->[0][2], qr/unknown directive "no_such_directive"/,
         'and the first says why');

    my $res = { body => 'not json' };
    my ($ok, $diag) = Sbx::Test::check_json($res, '.a exists');
    ok(!$ok, 'a body that is not JSON fails a json check');
    like($diag, qr/response is not JSON/, 'with a clear message');
}


sub restart_tests
{
    my %conf = (no_module => 1, config => <<'CONF');
    location / { return 200 'one'; }
CONF

    ok(start_nginx(%conf), 'start_nginx');
    my $pid = Sbx::Test::Nginx::read_pid();

    ok(start_nginx(%conf), 'start_nginx again, same config');
    is(Sbx::Test::Nginx::read_pid(), $pid, 'same config: nginx not restarted');

    ok(start_nginx(no_module => 1,
                   config => "    location / { return 200 'two'; }\n"),
       'start_nginx, new config');
    isnt(Sbx::Test::Nginx::read_pid(), $pid, 'new config: nginx restarted');
    is(http_request(path => '/')->{body}, 'two', 'new config serves');
    ok(!Sbx::Test::Nginx::alive($pid), 'old master is gone');

    my $off = error_log_offset();
    ok(reload_nginx(no_module => 1,
                    config => "    location / { return 200 'three'; }\n"),
       'reload_nginx');
    is(http_request(path => '/')->{body}, 'three', 'reloaded config serves');
    like(error_log_since($off), qr/reconfiguring/, 'error_log_since');

    my ($ok, $out) = nginx_config_test(no_module => 1,
                                       config => "    bogus on;\n");
    ok(!$ok, 'nginx_config_test rejects a bad config');
    like($out, qr/unknown directive "bogus"/, 'and returns nginx -t output');
}


sub client_tests
{
    my $slow_body = '0123456789' x 50;

    ok(start_nginx(no_module => 1, config => <<"CONF"), 'client test server');
    location /n { return 200 "\$connection_requests"; }
    location /echo {
        return 200 "\$request_method \$content_length \$http_x_api_key \$http_content_type";
    }
    location /slow {
        limit_rate 1;
        limit_rate_after 400;
        return 200 "$slow_body";
    }
    location /empty { return 204; }
CONF

    my $conn = http_connect();
    my @bodies = map { http_request(conn => $conn, path => '/n')->{body} }
                 1 .. 3;
    is("@bodies", '1 2 3', 'keep-alive: three requests, one connection');
    Sbx::Test::HTTP::close_conn($conn);

    my $r = api(POST => '/echo', { a => 1 });
    is($r->{body}, 'POST 7 test-key-alice application/json',
       'api(): JSON body, default key, content type');

    $r = api(GET => '/echo', undef, key => undef);
    is($r->{body}, 'GET   ', 'api(): key => undef sends no key');

    $r = http_request(method => 'HEAD', path => '/echo');
    is_deeply([$r->{status}, $r->{body}], [200, ''], 'HEAD has no body');

    $r = http_request(path => '/empty');
    is_deeply([$r->{status}, $r->{body}], [204, ''], '204 has no body');

    $r = http_request(path => '/slow', timeout => 1);
    like($r->{error}, qr/no complete response within 1s/, 'a hang times out');
    cmp_ok($r->{elapsed}, '<', 2, 'within the timeout');
    is($r->{status}, 200, 'and keeps what arrived');

    $r = Sbx::Test::HTTP::request(port => 9, timeout => 1);
    like($r->{error}, qr/cannot connect/, 'connection refused is an error');
}


sub docker_tests
{
    SKIP: {
        skip 'no Docker socket', 2 unless -S sbx_var('DOCKER_SOCK');

        my $r = docker_api(GET => '/_ping');
        is($r->{status}, 200, 'docker_api /_ping') or diag $r->{error};
        is($r->{body}, 'OK', 'docker_api body');
    }
}

__DATA__

=== TEST 1: json paths and operators, headers, status
--- no_module
--- config
    location /j {
        default_type application/json;
        add_header X-Foo abcdef;
        return 200 '{"a":{"b":[1,"x"]},"s":"hi\\n","n":0,"t":true,"z":null,"e":[],"o":{"k":1},"u":"caf\\u00e9"}';
    }
--- request
GET /j
--- error_code: 200
--- response_headers
Content-Type: application/json
X-Foo: abcdef
!X-Bar
--- response_headers_like
X-Foo: ^abc
Server: ^nginx
--- response_body_like: "s":"hi\\n"
--- json
# comments and blank lines are skipped

.a.b[0] == 1
.a.b[1] == "x"
.a.b[-1] != "y"
.s == "hi\n"
.s =~ /^HI$/mi
.s !~ /bye/
.n == 0
.n >= 0
.n < 1
.t == true
.z == null
.e # 0
.o # 1
.a.b # 2
.a.b # > 1
.u == "café"
.a exists
.nope !exists
.a == {"b": [1, "x"]}
--- no_error_log
[error]
[alert]

=== TEST 2: error log lines of this block are captured
--- no_module
--- config
    location / {
        root $SERVROOT/html;
    }
--- request
GET /missing.txt
--- error_code: 404
--- error_log
[error]
missing.txt" failed (2: No such file or directory)

=== TEST 3: and only this block's (same config, nginx not restarted)
--- no_module
--- config
    location / {
        root $SERVROOT/html;
    }
--- request
GET /missing-too.txt
--- error_code: 404
--- no_error_log
missing.txt
--- error_log eval
qr/open\(\) "\S+missing-too\.txt" failed/

=== TEST 4: request body, more_headers, variables, nginx variables
--- no_module
--- config
    location /echo {
        return 200 "$request_method $content_length $http_x_test $uri $SBX_PORT";
    }
--- request
POST /echo
hello
--- more_headers
X-Test: run-$RUN_ID
--- error_code: 200
--- response_body chomp
POST 5 run-$RUN_ID /echo $SBX_PORT

=== TEST 5: request eval, chunked response
--- no_module
--- config
    location /chunked {
        default_type application/json;
        sub_filter_types application/json;
        sub_filter_once off;
        sub_filter 'X' 'Y';
        return 200 '{"v":"XX"}';
    }
--- request eval
"PUT /chunked\n" . ("z" x 100_000)
--- error_code: 200
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- json
.v == "YY"

=== TEST 6: request bodies spill to client_body_temp, writable by workers
--- no_module
--- config
    location /spill {
        client_body_in_file_only clean;
        proxy_pass http://127.0.0.1:$SBX_PORT/sink;
    }
    location /sink {
        return 200 "$content_length";
    }
--- request eval
"POST /spill\n" . ("z" x 100_000)
--- error_code: 200
--- response_body chomp
100000
--- no_error_log
[crit]
[error]

=== TEST 7: an invalid directive is rejected by nginx -t
--- no_module
--- config
    location / {
        no_such_directive on;
    }
--- must_die
--- error_log
unknown directive "no_such_directive"
--- no_error_log
[alert]

=== TEST 8: raw request
--- no_module
--- config
    location / {
        return 200 "$server_protocol";
    }
--- raw_request eval
"GET / HTTP/1.0\r\nHost: x\r\n\r\n"
--- error_code: 200
--- response_body chomp
HTTP/1.0

=== TEST 9: skipped blocks keep the count
--- SKIP
--- request
GET /
--- error_code: 200
