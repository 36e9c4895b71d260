# The MCP server (Streamable HTTP, JSON responses only) at <location>/mcp:
# the transport (methods, auth, /.well-known, Origin, JSON-RPC framing and
# error codes, initialize and version negotiation, Mcp-Session-Id and
# MCP-Protocol-Version, notifications, ping, DELETE, sessions across
# nginx -s reload, sandbox_mcp off, sandboxd down) and every tool of
# tools/list through tools/call, ownership included.  docs: /work/mcp-spec.md.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use Time::HiRes qw(time);

my $SOCKET = sbx_var('SBX_SOCKET');
my $PORT = sbx_var('SBX_PORT');

my %CONF = (http_config => <<"END", config => <<"END");
    sandbox_limit_zone t065:1m;
END
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
        sandbox_allowed_commands off;
        sandbox_exec_timeout 10s;
        sandbox_exec_timeout_max 60s;
    }

    location /off/ {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_mcp off;
    }

    location /cors/ {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_cors_origins https://app.example;
    }

    location /lim/ {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_limit zone=t065 rate=2r/m;
    }

    location /down/ {
        sandbox on;
        sandbox_pass unix:/nonexistent-t065/sandboxd.sock;
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
    }
END

ok(start_nginx(%CONF), 'nginx starts') or BAIL_OUT('nginx does not start');
my $LOG_START = error_log_offset() // 0;

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;
my $ACCEPT = 'application/json, text/event-stream';
my $NEXT_ID = 1;
my @CT_BAD;     # responses with a body that is not application/json

# rpc($method, $params, %opt): POSTs a JSON-RPC request to /mcp.
#   id => ... (default: the next integer; undef with notification => 1:
#   no id at all), session => Mcp-Session-Id, key => X-API-Key (default
#   alice; undef: none), path => (default /mcp), headers => {...},
#   body => raw body instead of the message, http => method (POST).
sub rpc
{
    my ($method, $params, %opt) = @_;
    my $msg = { jsonrpc => '2.0', method => $method };

    $msg->{params} = $params if defined $params;
    unless ($opt{notification}) {
        $msg->{id} = exists $opt{id} ? $opt{id} : $NEXT_ID++;
    }

    my %h = (Accept => $ACCEPT, %{ $opt{headers} // {} });
    $h{'Mcp-Session-Id'} = $opt{session} if defined $opt{session};

    my $body = exists $opt{body} ? $opt{body} : $JSON->encode($msg);

    return request($opt{http} // 'POST', $opt{path} // '/mcp', $body,
                   headers => \%h,
                   exists $opt{key} ? (key => $opt{key}) : ());
}

# api() that records any response with a body and a wrong Content-Type
sub request
{
    my ($method, $path, $body, %opt) = @_;
    my $r = api($method, $path, $body, %opt);

    if (defined $r->{body} && length $r->{body}
        && ($r->{headers}{'content-type'} // '') !~ m{^application/json\s*(;|$)}i)
    {
        push @CT_BAD, "$method $path -> $r->{status} "
                      . ($r->{headers}{'content-type'} // '(no Content-Type)');
    }

    return $r;
}

sub initialize
{
    my (%opt) = @_;
    my $version = exists $opt{version} ? delete $opt{version} : '2025-11-25';
    my $params = { capabilities => {},
                   clientInfo => { name => 't065', version => '1.0' } };

    $params->{protocolVersion} = $version if defined $version;

    my $r = rpc('initialize', $params, %opt);

    return wantarray ? ($r, $r->{headers}{'mcp-session-id'}) : $r;
}

sub call
{
    my ($session, $name, $args, %opt) = @_;

    return rpc('tools/call', { name => $name, arguments => $args },
               session => $session, %opt);
}

# the JSON text of a value, types kept: 0 is "0", "0" is "\"0\""
sub js
{
    my ($v) = @_;

    return $JSON->encode($v);
}

sub is_true  { my ($v, $name) = @_; ok(JSON::PP::is_bool($v) && $v,  $name) or diag('got ' . js($v)) }
sub is_false { my ($v, $name) = @_; ok(JSON::PP::is_bool($v) && !$v, $name) or diag('got ' . js($v)) }

# a JSON-RPC error response: jsonrpc 2.0, the id (JSON text), the code
sub rpc_error
{
    my ($r, $status, $id, $code, $name) = @_;

    subtest $name => sub {
        is($r->{status}, $status, "HTTP $status") or diag($r->{body});
        like($r->{headers}{'content-type'} // '', qr{^application/json},
             'Content-Type: application/json');
        is(ref $r->{json}, 'HASH', 'a JSON object') or return;
        is($r->{json}{jsonrpc}, '2.0', 'jsonrpc 2.0');
        is(js($r->{json}{id}), $id, "id $id") if defined $id;
        ok(!exists $r->{json}{result}, 'no result');
        is($r->{json}{error}{code}, $code, "code $code");
        like($r->{json}{error}{message} // '', qr/\S/, 'a message');
    };
}

# a tools/call answer that is a result: HTTP 200, the content block is
# the JSON of structuredContent; returns structuredContent
sub tool_ok
{
    my ($r, $is_error, $name) = @_;
    my $sc;

    subtest $name => sub {
        is($r->{status}, 200, 'HTTP 200') or diag($r->{body});
        my $res = $r->{json}{result};
        is(ref $res, 'HASH', 'a result') or return diag($r->{body});
        ok(!exists $r->{json}{error}, 'no error');
        ok(JSON::PP::is_bool($res->{isError}) && !!$res->{isError} == !!$is_error,
           'isError ' . ($is_error ? 'true' : 'false'))
            or diag($r->{body});
        is(ref $res->{structuredContent}, 'HASH', 'structuredContent')
            or return;
        is(ref $res->{content}, 'ARRAY', 'content') or return;
        is($res->{content}[0]{type}, 'text', 'a text block');
        my $text = eval { JSON::PP->new->decode($res->{content}[0]{text} // '') };
        is_deeply($text, $res->{structuredContent},
                  'its text is the JSON of structuredContent');
        $sc = $res->{structuredContent};
    };

    return $sc // {};
}

# a tools/call answer for a sandbox or file error: isError true, text
# "<code>: <message>", no structuredContent; returns the text
sub tool_fails
{
    my ($r, $code_re, $name) = @_;
    my $text = '';

    subtest $name => sub {
        is($r->{status}, 200, 'HTTP 200') or diag($r->{body});
        my $res = $r->{json}{result};
        is(ref $res, 'HASH', 'a result, not a JSON-RPC error')
            or return diag($r->{body});
        is_true($res->{isError}, 'isError true');
        ok(!exists $res->{structuredContent}, 'no structuredContent')
            or diag($r->{body});
        is($res->{content}[0]{type}, 'text', 'a text block');
        $text = $res->{content}[0]{text} // '';
        like($text, qr/^[a-z_]+: \S/, 'text "<code>: <message>"');
        like($text, $code_re, "code $code_re") if $code_re;
    };

    return $text;
}


# ---------------------------------------------------------- methods, auth

my ($r, $alice) = initialize();
is($r->{status}, 200, 'initialize: 200') or diag($r->{body});
like($alice // '', qr/^[0-9a-f]{32}\z/, 'Mcp-Session-Id: 32 lowercase hex');

for my $m (qw(GET PUT PATCH)) {
    $r = request($m, '/mcp', undef,
                 headers => { Accept => $ACCEPT, 'Mcp-Session-Id' => $alice });
    is($r->{status}, 405, "$m /mcp: 405");
    is($r->{headers}{allow}, 'POST, DELETE', "$m /mcp: Allow: POST, DELETE");
}

$r = request('GET', '/mcp', undef, headers => { Accept => 'text/event-stream' });
is($r->{status}, 405, 'GET /mcp without a session (the SDK\'s SSE GET): 405');

$r = initialize(key => undef);
is($r->{status}, 401, 'initialize without credentials: 401');
is(ref $r->{json}{error}, 'HASH', '  REST-shaped {"error":{...}}')
    or diag($r->{body});
ok(!exists $r->{json}{jsonrpc}, '  not a JSON-RPC body');

$r = initialize(key => 'no-such-key');
is($r->{status}, 401, 'initialize with a bad key: 401');
is(ref $r->{json}{error}, 'HASH', '  REST-shaped {"error":{...}}');

$r = rpc('ping', undef, session => $alice, key => undef);
is($r->{status}, 401, 'ping with a session but no credentials: 401');

for my $p ('/.well-known/oauth-protected-resource',
           '/.well-known/oauth-authorization-server',
           '/.well-known/oauth-protected-resource/mcp',
           '/.well-known/openid-configuration')
{
    $r = request('GET', $p, undef, key => undef);
    is($r->{status}, 404, "GET $p without credentials: 404, not 401");
}


# ---------------------------------------------------------------- Origin

$r = initialize(headers => { Origin => 'http://localhost' });
is($r->{status}, 200, 'Origin http://<Host>: accepted');

$r = initialize(headers => { Origin => 'https://localhost' });
is($r->{status}, 200, 'Origin https://<Host>: accepted');

$r = initialize(headers => { Host => "127.0.0.1:$PORT",
                             Origin => "http://127.0.0.1:$PORT" });
is($r->{status}, 200, 'Origin http://<Host with port>: accepted');

$r = initialize(headers => { Origin => 'http://evil.example' });
rpc_error($r, 403, undef, -32600, 'initialize from a foreign Origin: 403');
ok(exists $r->{json}{id} && !defined $r->{json}{id}, '  id null')
    or diag($r->{body});
ok(!defined $r->{headers}{'mcp-session-id'}, '  no session made');

$r = rpc('ping', undef, session => $alice,
         headers => { Origin => 'http://evil.example' });
is($r->{status}, 403, 'ping from a foreign Origin: 403');

$r = initialize(headers => { Origin => 'http://localhost.evil.example' });
is($r->{status}, 403, 'Origin that only starts with the Host: 403');

$r = initialize(headers => { Origin => 'https://app.example' });
is($r->{status}, 403, 'Origin of another location\'s sandbox_cors_origins: 403');

$r = initialize(path => '/cors/mcp', headers => { Origin => 'https://app.example' });
is($r->{status}, 200, 'Origin in sandbox_cors_origins: accepted');
$r = initialize(path => '/cors/mcp', headers => { Origin => 'https://other.example' });
is($r->{status}, 403, 'Origin not in sandbox_cors_origins: 403');


# ------------------------------------------------------- JSON-RPC framing

rpc_error(rpc(undef, undef, session => $alice, body => '{"jsonrpc":'),
          400, 'null', -32700, 'not JSON: 400, -32700, id null');
rpc_error(rpc(undef, undef, session => $alice, body => 'hello'),
          400, 'null', -32700, 'plain text: 400, -32700, id null');
rpc_error(rpc(undef, undef, session => $alice,
              body => '[{"jsonrpc":"2.0","id":1,"method":"ping"}]'),
          400, 'null', -32600, 'a batch (array): 400, -32600');
rpc_error(rpc(undef, undef, session => $alice, body => '"ping"'),
          400, 'null', -32600, 'a JSON string: 400, -32600');
rpc_error(rpc(undef, undef, session => $alice, body => '42'),
          400, 'null', -32600, 'a JSON number: 400, -32600');
rpc_error(rpc(undef, undef, session => $alice,
              body => '{"jsonrpc":"1.0","id":1,"method":"ping"}'),
          400, 'null', -32600, 'jsonrpc "1.0": 400, -32600, id null');
rpc_error(rpc(undef, undef, session => $alice,
              body => '{"id":1,"method":"ping"}'),
          400, 'null', -32600, 'no jsonrpc: 400, -32600, id null');
rpc_error(rpc(undef, undef, session => $alice,
              body => '{"jsonrpc":"2.0","id":1,"method":42}'),
          400, 'null', -32600, 'method a number: 400, -32600, id null');
rpc_error(rpc(undef, undef, session => $alice,
              body => '{"jsonrpc":"2.0","id":1}'),
          400, 'null', -32600, 'no method, no result/error: 400, -32600');

for my $id ('null', 'true', 'false', '{}', '{"a":1}', '1.5', '[1]') {
    rpc_error(rpc(undef, undef, session => $alice,
                  body => qq({"jsonrpc":"2.0","id":$id,"method":"ping"})),
              400, 'null', -32600, "id $id: 400, -32600, id null");
}


# ------------------------------------------------------------ initialize

($r, my $s2) = initialize(id => 0);
is($r->{status}, 200, 'initialize id 0: 200');
is(js($r->{json}{id}), '0', '  id 0 echoed as the number 0');
like($r->{headers}{'content-type'} // '', qr{^application/json},
     '  Content-Type: application/json');
like($s2 // '', qr/^[0-9a-f]{32}\z/, '  Mcp-Session-Id');
isnt($s2, $alice, '  a new session each time');

my $res = $r->{json}{result} // {};
is($res->{protocolVersion}, '2025-11-25', '  protocolVersion 2025-11-25');
is(js($res->{capabilities}), '{"tools":{"listChanged":false}}',
   '  capabilities {"tools":{"listChanged":false}}');
is($res->{serverInfo}{name}, 'ngx_sandbox', '  serverInfo.name ngx_sandbox');
like($res->{serverInfo}{title} // '', qr/\S/, '  serverInfo.title');
like($res->{serverInfo}{version} // '', qr/\S/, '  serverInfo.version');
ok(!ref $res->{serverInfo}{version} && !ref $res->{serverInfo}{title},
   '  serverInfo title and version are strings');
like($res->{instructions} // '', qr/\S/, '  instructions');
ok(!exists $r->{json}{error}, '  no error');

for my $v (['2025-03-26', '2025-03-26'], ['2025-06-18', '2025-06-18'],
           ['2025-11-25', '2025-11-25'], ['2024-11-05', '2025-11-25'],
           ['2099-01-01', '2025-11-25'], ['banana', '2025-11-25'])
{
    $r = initialize(version => $v->[0]);
    is($r->{json}{result}{protocolVersion}, $v->[1],
       "protocolVersion $v->[0] asked: $v->[1] answered");
}

($r) = initialize(version => undef, id => 'init-x');
rpc_error($r, 200, '"init-x"', -32602,
          'initialize without params.protocolVersion: -32602, id echoed');

($r, my $s3) = initialize(id => 'abc');
is(js($r->{json}{id}), '"abc"', 'initialize with a string id: echoed');


# -------------------------------------------------- sessions and versions

$r = rpc('ping', undef);
rpc_error($r, 400, 'null', -32000, 'ping without Mcp-Session-Id: 400, -32000, id null');

$r = rpc('tools/list', undef);
is($r->{status}, 400, 'tools/list without Mcp-Session-Id: 400');

$r = rpc('notifications/initialized', undef, notification => 1);
is($r->{status}, 400, 'a notification without Mcp-Session-Id: 400');

rpc_error(rpc('ping', undef, session => '0' x 32), 404, undef, -32001,
          'an unknown Mcp-Session-Id: 404, -32001');
rpc_error(rpc('ping', undef, session => 'not-even-hex'), 404, undef, -32001,
          'a malformed Mcp-Session-Id: 404, -32001');
rpc_error(rpc('ping', undef, session => $alice, key => 'test-key-bob'),
          404, undef, -32001, 'alice\'s Mcp-Session-Id used by bob: 404');
rpc_error(rpc('tools/call', { name => 'create_session', arguments => {} },
              session => $alice, key => 'test-key-bob'),
          404, undef, -32001, '  tools/call with it: 404 too');

$r = rpc('ping', undef, headers => { 'MCP-SESSION-ID' => $alice });
is($r->{status}, 200, 'the header name is case-insensitive');

$r = rpc('ping', undef, session => $alice);
is($r->{status}, 200, 'ping: 200');
is(js($r->{json}{result}), '{}', 'ping: result {}');
is($r->{json}{jsonrpc}, '2.0', 'ping: jsonrpc 2.0');

for my $v ('2025-03-26', '2025-06-18', '2025-11-25') {
    $r = rpc('ping', undef, session => $alice,
             headers => { 'MCP-Protocol-Version' => $v });
    is($r->{status}, 200, "MCP-Protocol-Version $v: accepted");
}
for my $v ('2024-11-05', 'banana') {
    rpc_error(rpc('ping', undef, session => $alice,
                  headers => { 'MCP-Protocol-Version' => $v }),
              400, undef, -32000, "MCP-Protocol-Version $v: 400, -32000");
}

$r = rpc('notifications/initialized', undef, session => $alice,
         notification => 1);
is($r->{status}, 202, 'notifications/initialized: 202');
is($r->{body} // '', '', '  empty body');

$r = rpc('notifications/whatever', { x => 1 }, session => $alice,
         notification => 1);
is($r->{status}, 202, 'an unknown notification: 202');
is($r->{body} // '', '', '  empty body');

$r = rpc(undef, undef, session => $alice,
         body => '{"jsonrpc":"2.0","id":7,"result":{}}');
is($r->{status}, 202, 'a JSON-RPC response (result): 202');
is($r->{body} // '', '', '  empty body');

$r = rpc(undef, undef, session => $alice,
         body => '{"jsonrpc":"2.0","id":"x","error":{"code":-1,"message":"no"}}');
is($r->{status}, 202, 'a JSON-RPC response (error): 202');
is($r->{body} // '', '', '  empty body');

rpc_error(rpc('resources/list', {}, session => $alice, id => 0), 200, '0',
          -32601, 'an unknown method, id 0: 200, -32601, id 0');
rpc_error(rpc('prompts/list', {}, session => $alice, id => 'q-1'), 200, '"q-1"',
          -32601, 'an unknown method, string id: 200, -32601, id echoed');
rpc_error(rpc('nope', undef, session => $alice, id => 123456789), 200,
          '123456789', -32601, 'an unknown method, a large id');

$r = rpc('ping', undef, session => $alice, id => 0);
is(js($r->{json}{id}), '0', 'ping id 0: id 0');
$r = rpc('ping', undef, session => $alice, id => '0');
is(js($r->{json}{id}), '"0"', 'ping id "0": id "0" (a string stays one)');
$r = rpc('ping', undef, session => $alice, id => -5);
is(js($r->{json}{id}), '-5', 'ping id -5: id -5');


# ------------------------------------------------------------ /mcp vs /mcp/

($r, my $slash) = initialize(path => '/mcp/');
is($r->{status}, 200, 'initialize at /mcp/: 200, no redirect');
like($slash // '', qr/^[0-9a-f]{32}\z/, '  with a Mcp-Session-Id');
is(rpc('ping', undef, session => $slash)->{status}, 200,
   '  the session works at /mcp');
is(rpc('ping', undef, session => $alice, path => '/mcp/')->{status}, 200,
   '/mcp\'s session works at /mcp/');
$r = request('GET', '/mcp/', undef, headers => { Accept => $ACCEPT });
is($r->{status}, 405, 'GET /mcp/: 405');


# ------------------------------------------------------------ rate limit

my @st = map { initialize(path => '/lim/mcp')->{status} } 1 .. 5;
is($st[0], 200, 'sandbox_limit: the first initialize passes');
ok((grep { $_ == 429 } @st), 'sandbox_limit applies to /mcp: 429 past it')
    or diag("statuses: @st");


# ------------------------------------------------------- sandbox_mcp off

$r = initialize(path => '/off/mcp');
is($r->{status}, 404, 'sandbox_mcp off: POST /off/mcp is 404');
ok(!defined $r->{headers}{'mcp-session-id'}, '  no session');
is(initialize(path => '/off/mcp/')->{status}, 404, '  /off/mcp/ too');
is(request('GET', '/off/mcp', undef)->{status}, 404, '  GET /off/mcp: 404');
is(rpc('ping', undef, path => '/off/mcp', session => $alice)->{status}, 404,
   '  a session made elsewhere does not open it');
is(request('GET', '/off/sessions', undef)->{status}, 200,
   '  the REST API there still works');


# ------------------------------------------------------------- tools/list

my %REQUIRED = (
    create_session   => [],
    delete_session   => ['session_id'],
    execute          => ['command'],
    workspace_list   => ['session_id'],
    workspace_read   => ['path', 'session_id'],
    workspace_write  => ['content', 'path', 'session_id'],
    workspace_delete => ['path', 'session_id'],
    run_code         => ['code'],
);
my %PROPS = (
    create_session   => [qw(session_id)],
    delete_session   => [qw(session_id)],
    execute          => [qw(command session_id timeout stdin env working_dir)],
    workspace_list   => [qw(session_id path)],
    workspace_read   => [qw(session_id path)],
    workspace_write  => [qw(session_id path content encoding)],
    workspace_delete => [qw(session_id path)],
    run_code         => [qw(code language stdin args timeout)],
);

$r = rpc('tools/list', undef, session => $alice);
is($r->{status}, 200, 'tools/list: 200') or diag($r->{body});
my $tools = $r->{json}{result}{tools} // [];
is_deeply([sort map { $_->{name} } @$tools], [sort keys %REQUIRED],
          'tools/list: exactly the 8 tools');
ok(!exists $r->{json}{result}{nextCursor}, 'no nextCursor');

for my $t (@$tools) {
    my $n = $t->{name};
    subtest "tool $n" => sub {
        like($t->{title} // '', qr/\S/, 'title');
        like($t->{description} // '', qr/\S/, 'description');
        is($t->{inputSchema}{type}, 'object', 'inputSchema type object');
        is(ref $t->{inputSchema}{properties}, 'HASH', 'inputSchema properties');
        is(ref $t->{inputSchema}{required}, 'ARRAY', 'inputSchema required array');
        is_deeply([sort @{ $t->{inputSchema}{required} // [] }],
                  $REQUIRED{$n}, 'required: ' . join(', ', @{ $REQUIRED{$n} }));
        for my $p (@{ $PROPS{$n} }) {
            is(ref $t->{inputSchema}{properties}{$p}, 'HASH', "property $p");
        }
        is($t->{outputSchema}{type}, 'object', 'outputSchema type object');
        ok(!grep({ ref($_) ne 'HASH' } values %{ $t->{outputSchema}{properties} // {} }),
           'outputSchema properties are objects');
    };
}

$r = rpc('tools/list', { cursor => 'whatever' }, session => $alice, id => 'tl');
is(js($r->{json}{id}), '"tl"', 'tools/list with a string id: echoed');


# --------------------------------------------------------------- the tools

my $sid = "t065-$$-" . int(time);

my $sc = tool_ok(call($alice, 'create_session', { session_id => $sid }), 0,
                 'create_session with a session_id');
is($sc->{session_id}, $sid, '  structuredContent.session_id');
ok(defined $sc->{created_at}, '  created_at, as REST POST /sessions');
my $rest = api('GET', "/sessions/$sid");
is($rest->{status}, 200, '  the session is there for REST');

$sc = tool_ok(call($alice, 'create_session', {}), 0, 'create_session {}');
my $gen = $sc->{session_id};
like($gen // '', qr/\S/, '  a generated session_id');

$sc = tool_ok(call($alice, 'execute', { session_id => $sid,
                                        command => 'echo hello' }),
              0, 'execute echo hello');
is($sc->{stdout}, "hello\n", '  stdout "hello\n"');
is($sc->{stderr}, '', '  stderr ""');
is(js($sc->{exit_code}), '0', '  exit_code 0');
is_false($sc->{timed_out}, '  timed_out false');

$sc = tool_ok(call($alice, 'execute', { session_id => $sid, command => 'exit 3' }),
              1, 'execute exit 3: a result with isError true');
is(js($sc->{exit_code}), '3', '  exit_code 3');

$sc = tool_ok(call($alice, 'execute', { command => 'echo $GREETING >&2; cat; pwd',
                                        stdin => 'from stdin ',
                                        env => { GREETING => 'hi' },
                                        working_dir => '/tmp' }),
              0, 'execute without a session, stdin, env, working_dir');
is($sc->{stdout}, "from stdin /tmp\n", '  stdin and working_dir');
is($sc->{stderr}, "hi\n", '  env');

my $t0 = time;
$sc = tool_ok(call($alice, 'execute', { session_id => $sid, command => 'sleep 30',
                                        timeout => 1 }),
              1, 'execute over its timeout: isError true');
is_true($sc->{timed_out}, '  timed_out true');
cmp_ok(time - $t0, '<', 10, '  killed at the timeout');

my $nosess = "t065-none-$$";
tool_fails(call($alice, 'workspace_list', { session_id => $nosess }),
           qr/^not_found: /, 'workspace_list of a session that does not exist');
tool_fails(call($alice, 'delete_session', { session_id => $nosess }),
           qr/^not_found: /, 'delete_session of a session that does not exist');
$sc = tool_ok(call($alice, 'execute', { session_id => $nosess, command => 'true' }),
              0, 'execute names a new session: made, as by REST /execute');
is_true($sc->{session_created}, '  session_created true');
tool_ok(call($alice, 'delete_session', { session_id => $nosess }), 0,
        '  and deleted');

# workspace

my $text = "h\x{e9}llo \x{263a}\n";
my $bytes = do { my $t = $text; utf8::encode($t); $t };

$sc = tool_ok(call($alice, 'workspace_write', { session_id => $sid,
                                                path => 'notes/hello.txt',
                                                content => $text }),
              0, 'workspace_write utf8');
is($sc->{path}, 'notes/hello.txt', '  path');
is($sc->{size}, length $bytes, '  size in bytes');

$sc = tool_ok(call($alice, 'workspace_read', { session_id => $sid,
                                               path => 'notes/hello.txt' }),
              0, 'workspace_read utf8');
is($sc->{content}, $text, '  the same text');
is($sc->{encoding}, 'utf8', '  encoding utf8');
is($sc->{size}, length $bytes, '  size');
is($sc->{path}, 'notes/hello.txt', '  path');

$sc = tool_ok(call($alice, 'execute', { session_id => $sid,
                                        command => 'cat notes/hello.txt; '
                                                 . 'wc -c < notes/hello.txt',
                                        working_dir => '/workspace' }),
              0, 'the file is in the sandbox');
is($sc->{stdout}, $text . length($bytes) . "\n", '  byte for byte');

# another user's sandbox session, through bob's own MCP session

my (undef, $bob) = initialize(key => 'test-key-bob');
my %BOB = (key => 'test-key-bob');
like($bob // '', qr/^[0-9a-f]{32}\z/, 'bob has an MCP session of his own');
tool_fails(call($bob, 'workspace_list', { session_id => $sid }, %BOB),
           qr/^not_found: /, 'bob: workspace_list of alice\'s session: not_found');
tool_fails(call($bob, 'workspace_read', { session_id => $sid,
                                          path => 'notes/hello.txt' }, %BOB),
           qr/^not_found: /, 'bob: workspace_read of alice\'s file: not_found');
tool_fails(call($bob, 'workspace_delete', { session_id => $sid,
                                            path => 'notes/hello.txt' }, %BOB),
           qr/^not_found: /, 'bob: workspace_delete of alice\'s file: not_found');
tool_fails(call($bob, 'delete_session', { session_id => $sid }, %BOB),
           qr/^not_found: /, 'bob: delete_session of alice\'s session: not_found');

$r = call($bob, 'execute', { session_id => $sid,
                             command => 'cat /workspace/notes/hello.txt' }, %BOB);
is($r->{status}, 200, 'bob: execute with alice\'s session_id');
$sc = $r->{json}{result}{structuredContent} // {};
is($sc->{stdout} // '', '', '  does not see alice\'s files');
is($sc->{session_created}, JSON::PP::true,
   '  it ran in a session of his own, made for it');
isnt($sc->{exit_code} // 1, 0, '  (cat fails)');

$r = call($bob, 'execute', { session_id => $sid, command => 'echo pwned' }, %BOB);
# as REST /execute: sessions are per user, so bob got a sandbox of his own
# by that name (made by the cat above), never alice's
is($r->{json}{result}{structuredContent}{session_created}, JSON::PP::false,
   'bob: execute again with that session_id: his own session, kept');
api('DELETE', "/sessions/$sid", undef, %BOB);

$sc = tool_ok(call($alice, 'workspace_read', { session_id => $sid,
                                               path => 'notes/hello.txt' }),
              0, 'alice\'s file is untouched');
is($sc->{content}, $text, '  same content');

my $all = join '', map { chr } 0 .. 255;
$sc = tool_ok(call($alice, 'workspace_write', { session_id => $sid,
                                                path => 'bin/all.bin',
                                                content => encode_base64($all, ''),
                                                encoding => 'base64' }),
              0, 'workspace_write base64: every byte value');
is($sc->{size}, 256, '  size 256');

$sc = tool_ok(call($alice, 'workspace_read', { session_id => $sid,
                                               path => 'bin/all.bin' }),
              0, 'workspace_read of binary');
is($sc->{encoding}, 'base64', '  encoding base64');
ok(decode_base64($sc->{content} // '') eq $all, '  the same 256 bytes');

$sc = tool_ok(call($alice, 'workspace_list', { session_id => $sid }), 0,
              'workspace_list');
my %e = map { $_->{name} => $_ } @{ $sc->{entries} // [] };
is($e{notes}{type}, 'dir', '  notes, a dir');
is($e{bin}{type}, 'dir', '  bin, a dir');
is_false($sc->{truncated}, '  truncated false');
ok(exists $sc->{path}, '  path');

$sc = tool_ok(call($alice, 'workspace_list', { session_id => $sid, path => 'notes' }),
              0, 'workspace_list path notes');
is_deeply([map { $_->{name} } @{ $sc->{entries} // [] }], ['hello.txt'],
          '  hello.txt');
is($sc->{entries}[0]{size}, length $bytes, '  its size');

$sc = tool_ok(call($alice, 'workspace_delete', { session_id => $sid,
                                                 path => 'notes/hello.txt' }),
              0, 'workspace_delete');
is($sc->{path}, 'notes/hello.txt', '  path');
is_true($sc->{deleted}, '  deleted true');

tool_fails(call($alice, 'workspace_read', { session_id => $sid,
                                            path => 'notes/hello.txt' }),
           qr/^not_found: /, 'workspace_read after the delete: not_found');
tool_fails(call($alice, 'workspace_delete', { session_id => $sid,
                                              path => 'notes/hello.txt' }),
           qr/^not_found: /, 'workspace_delete again: not_found');

# run_code

$sc = tool_ok(call($alice, 'run_code', { code => 'print("hello")' }), 0,
              'run_code python hello');
is($sc->{language}, 'python', '  language python (the default)');
like($sc->{version} // '', qr/^\d+\.\d+/, '  version');
is($sc->{run}{stdout}, "hello\n", '  run.stdout');
is($sc->{status}, 'ok', '  status ok');

$sc = tool_ok(call($alice, 'run_code', { code => 'import sys; print(sys.stdin.read().upper(), sys.argv[1:])',
                                         language => 'python', stdin => 'abc',
                                         args => ['x', 'y'] }),
              0, 'run_code with language, stdin and args');
is($sc->{run}{stdout}, "ABC ['x', 'y']\n", '  run.stdout');

$sc = tool_ok(call($alice, 'run_code', { code => 'print(1)' . "\n" . '1/0' }), 1,
              'run_code with a runtime error: isError true');
is($sc->{status}, 'runtime_error', '  status runtime_error');
is($sc->{run}{stdout}, "1\n", '  run.stdout');
like($sc->{run}{stderr} // '', qr/ZeroDivisionError/, '  run.stderr');

$sc = tool_ok(call($alice, 'run_code', { code => 'while True: pass',
                                         timeout => 1 }),
              1, 'run_code over its timeout: isError true');
is($sc->{status}, 'timeout', '  status timeout');

# delete_session

$sc = tool_ok(call($alice, 'delete_session', { session_id => $sid }), 0,
              'delete_session');
is($sc->{session_id}, $sid, '  session_id');
is_true($sc->{deleted}, '  deleted true');
is(api('GET', "/sessions/$sid")->{status}, 404, '  gone for REST too');
tool_fails(call($alice, 'delete_session', { session_id => $sid }),
           qr/^not_found: /, 'delete_session again: not_found');
tool_fails(call($alice, 'workspace_list', { session_id => $sid }),
           qr/^not_found: /, 'workspace_list of the deleted session: not_found');
$sc = tool_ok(call($alice, 'execute', { session_id => $sid,
                                        command => 'test -e /workspace/bin/all.bin; echo $?' }),
              0, 'execute with the deleted session_id');
is_true($sc->{session_created}, '  makes a new session');
is($sc->{stdout}, "1\n", '  a fresh sandbox: the old files are gone');
tool_ok(call($alice, 'delete_session', { session_id => $sid }), 0,
        '  deleted again');
tool_ok(call($alice, 'delete_session', { session_id => $gen }), 0,
        'delete_session of the generated one');


# ---------------------------------------- protocol errors of tools/call

rpc_error(call($alice, 'no_such_tool', {}, id => 41), 200, '41', -32602,
          'an unknown tool: -32602');
$r = call($alice, 'no_such_tool', {});
is($r->{json}{error}{message}, 'Unknown tool: no_such_tool',
   '  message "Unknown tool: no_such_tool"');

for my $bad (
    [execute => {}, 'execute without command'],
    [execute => { session_id => 'x' }, 'execute without command, with a session'],
    [execute => { command => 42 }, 'execute, command a number'],
    [execute => { command => ['echo'] }, 'execute, command an array'],
    [execute => { command => 'true', bogus => 1 }, 'execute, an unknown argument'],
    [execute => { command => 'true', timeout => 'soon' }, 'execute, timeout a string'],
    [delete_session => {}, 'delete_session without session_id'],
    [workspace_read => { session_id => 'x' }, 'workspace_read without path'],
    [workspace_read => { session_id => 'x', path => '../x' }, 'workspace_read path ../x'],
    [workspace_read => { session_id => 'x', path => 'a/../../x' }, 'workspace_read path a/../../x'],
    [workspace_write => { session_id => 'x', path => 'a' }, 'workspace_write without content'],
    [workspace_write => { session_id => 'x', path => '../x', content => '' }, 'workspace_write path ../x'],
    [workspace_write => { session_id => 'x', path => 'a', content => 7 }, 'workspace_write, content a number'],
    [workspace_delete => { session_id => 'x', path => '../x' }, 'workspace_delete path ../x'],
    [workspace_list => { session_id => 'x', path => '..' }, 'workspace_list path ..'],
    [run_code => {}, 'run_code without code'],
    [run_code => { code => 'print(1)', args => 'x' }, 'run_code args a string'],
    [create_session => { session_id => 1 }, 'create_session, session_id a number'],
    [create_session => { nope => 1 }, 'create_session, an unknown argument'],
) {
    my ($tool, $args, $name) = @$bad;
    rpc_error(call($alice, $tool, $args, id => "bad"), 200, '"bad"', -32602,
              "$name: -32602");
}

rpc_error(rpc('tools/call', { name => 'execute', arguments => 'echo' },
              session => $alice, id => 9),
          200, '9', -32602, 'arguments a string: -32602');


# ------------------------------------------- nginx -s reload, then DELETE

ok(reload_nginx(%CONF), 'nginx -s reload');
$r = rpc('ping', undef, session => $alice);
is($r->{status}, 200, 'the MCP session survives the reload');
tool_ok(call($alice, 'execute', { command => 'echo still' }), 0,
        '  and runs tools');

$r = request('DELETE', '/mcp', undef, headers => { 'Mcp-Session-Id' => $alice },
             key => 'test-key-bob');
is($r->{status}, 404, 'bob DELETEs alice\'s MCP session: 404');
is(rpc('ping', undef, session => $alice)->{status}, 200, '  it still works');

$r = request('DELETE', '/mcp', undef);
is($r->{status}, 400, 'DELETE without Mcp-Session-Id: 400');

$r = request('DELETE', '/mcp', undef, headers => { 'Mcp-Session-Id' => 'f' x 32 });
is($r->{status}, 404, 'DELETE of an unknown session: 404');

$r = request('DELETE', '/mcp', undef, key => undef,
             headers => { 'Mcp-Session-Id' => $alice });
is($r->{status}, 401, 'DELETE without credentials: 401');

$r = request('DELETE', '/mcp', undef, headers => { 'Mcp-Session-Id' => $alice });
is($r->{status}, 204, 'DELETE: 204');
is($r->{body} // '', '', '  no body');
rpc_error(rpc('ping', undef, session => $alice), 404, undef, -32001,
          'a POST with the deleted session: 404, -32001');
is(rpc('tools/list', undef, session => $alice)->{status}, 404,
   '  tools/list too');
is(request('DELETE', '/mcp', undef,
           headers => { 'Mcp-Session-Id' => $alice })->{status},
   404, 'DELETE again: 404');

$r = request('DELETE', '/mcp/', undef, headers => { 'Mcp-Session-Id' => $slash });
is($r->{status}, 204, 'DELETE /mcp/: 204');
is(rpc('ping', undef, session => $slash)->{status}, 404, '  gone');

is(rpc('ping', undef, session => $s2)->{status}, 200,
   'other sessions are untouched');


# ------------------------------------------------------ sandboxd is down

my (undef, $down) = initialize(path => '/down/mcp');
like($down // '', qr/^[0-9a-f]{32}\z/, 'initialize where sandboxd is down');
is(rpc('tools/list', undef, path => '/down/mcp', session => $down)->{status},
   200, '  tools/list needs no sandboxd');
$r = call($down, 'execute', { command => 'true' }, path => '/down/mcp', id => 77);
like($r->{status} // 0, qr/^5\d\d\z/, '  execute: HTTP 5xx');
is($r->{json}{error}{code}, -32603, '  JSON-RPC error -32603') or diag($r->{body});
is(js($r->{json}{id}), '77', '  with the request\'s id');
like($r->{headers}{'content-type'} // '', qr{^application/json}, '  application/json');


# ----------------------------------------------------------------- finally

is_deeply(\@CT_BAD, [], 'every response with a body: Content-Type application/json');

# the /down/ location's failed connects are logged by design: only those
my @bad = grep { /\[(error|crit|alert|emerg)\]/ && !/nonexistent-t065/ }
          split /\n/, error_log_since($LOG_START) // '';
is_deeply(\@bad, [], 'no [error] in the error log but /down/\'s connects');
ok(error_log_since($LOG_START) !~ /exited on signal|AddressSanitizer|runtime error:/,
   'no worker crash');
done_testing();
