# The official MCP TypeScript SDK's client (@modelcontextprotocol/sdk,
# unchanged, pinned in scripts/lib.sh) against nginx's /mcp:
# t/data/mcp-client.mjs connects (initialize, notifications/initialized,
# the SSE GET that must be a quiet 405), lists the tools, creates a
# session, executes, writes and reads a file, sees a failing command as
# isError, deletes the session and terminates the MCP session (DELETE).
# Its TAP steps are passed through one by one; then the server side is
# checked: the MCP session and the sandbox session are gone.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use File::Temp qw(tempfile);

my $PORT = sbx_var('SBX_PORT');
my $ROOT = sbx_var('SBX_ROOT');
my $MODULES = $ENV{SBX_NODE_MODULES} || "$ROOT/build/node_modules";
my $SCRIPT = "$ROOT/t/data/mcp-client.mjs";

plan skip_all => "node or \@modelcontextprotocol/sdk is not installed in $MODULES"
    unless -f "$MODULES/\@modelcontextprotocol/sdk/package.json"
           && system('node --version >/dev/null 2>&1') == 0;

ok(start_nginx(config => <<"END"), 'nginx starts');
    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
        sandbox_exec_timeout 10s;
    }
END

# node t/data/mcp-client.mjs: (exit status, stdout lines, stderr)
sub client
{
    my (%env) = @_;
    my (undef, $errfile) = tempfile('t066-stderr-XXXXXX', TMPDIR => 1,
                                    UNLINK => 1);
    local $ENV{SBX_NODE_MODULES} = $MODULES;
    local $ENV{MCP_TIMEOUT_MS} = 30000;
    local @ENV{ keys %env } = values %env;

    my $out = qx{timeout 300 node "$SCRIPT" 2>"$errfile"};
    my $rc = $? == -1 ? -1 : $? >> 8;
    my $err = do { local (@ARGV, $/) = ($errfile); <> } // '';

    return ($rc, [split /\n/, $out // ''], $err);
}

my ($rc, $lines, $err) = client(MCP_URL => "http://127.0.0.1:$PORT/mcp",
                                MCP_KEY => 'test-key-alice');

# the client's TAP, step by step
my ($plan, @steps, @diag, %seen);
for my $line (@$lines) {
    if ($line =~ /^1\.\.(\d+)$/) {
        $plan = $1;
    } elsif ($line =~ /^(not )?ok (\d+) - (.*)$/) {
        ok(!$1, "SDK step $2: $3") or diag(join "\n", @diag);
        push @steps, $2;
        @diag = ();
    } elsif ($line =~ /^# (.*)$/) {
        my $d = $1;
        push @diag, $d;
        $seen{mcp} = $1 if $d =~ /^Mcp-Session-Id: (\S+)$/;
        $seen{sid} = $1 if $d =~ /^session_id: (\S+)$/;
        $seen{version} = $1 if $d =~ /^negotiated protocol version: (\S+)$/;
        $seen{server} = $1 if $d =~ /^serverInfo: (.*)$/;
    } elsif ($line =~ /^Bail out!/) {
        fail("SDK client: $line");
    }
}

ok(defined $plan, 'the client printed its plan') or diag(join "\n", @$lines, $err);
is(scalar @steps, $plan // -1, 'it ran every step of the plan');
is_deeply(\@steps, [1 .. ($plan // 0)], 'in order');
is($rc, 0, 'node t/data/mcp-client.mjs exits 0')
    or diag("stdout:\n" . join("\n", @$lines) . "\nstderr:\n$err");
is($err, '', 'nothing on stderr');

like($seen{mcp} // '', qr/^[0-9a-f]{32}\z/,
     'the SDK got a 32-hex Mcp-Session-Id');
is($seen{version}, '2025-11-25', 'negotiated 2025-11-25 (the SDK\'s latest)');
like($seen{server} // '', qr/"name":"ngx_sandbox"/, 'serverInfo.name ngx_sandbox');
ok(!grep({ /client onerror/ } @$lines),
   'no client.onerror (the SSE GET was a quiet 405)')
    or diag(join "\n", grep { /onerror/ } @$lines);

SKIP: {
    skip 'the client reported no Mcp-Session-Id', 1 unless $seen{mcp};
    my $r = api('POST', '/mcp', { jsonrpc => '2.0', id => 1, method => 'ping' },
                headers => { 'Mcp-Session-Id' => $seen{mcp},
                             Accept => 'application/json, text/event-stream' });
    is($r->{status}, 404, 'terminateSession really ended the MCP session')
        or diag($r->{body});
}

SKIP: {
    skip 'the client reported no session_id', 1 unless $seen{sid};
    is(api('GET', "/sessions/$seen{sid}")->{status}, 404,
       'delete_session really deleted the sandbox session');
}

ok(error_log_clean(), 'no [error] in the error log');


# a wrong key: the client fails at connect (401), it does not hang

($rc, $lines, $err) = client(MCP_URL => "http://127.0.0.1:$PORT/mcp",
                             MCP_KEY => 'no-such-key');
is($rc, 1, 'with a wrong key the client exits 1');
ok((grep { /^not ok 1 - initialize/ } @$lines), '  at initialize')
    or diag(join "\n", @$lines, $err);
ok((grep { /Error POSTing to endpoint: .*(unauthorized|invalid_api_key)/ } @$lines),
   '  with the 401\'s REST error body') or diag(join "\n", @$lines);

done_testing();
