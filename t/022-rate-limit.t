# Per-user rate limits (sandbox_limit_zone, sandbox_limit): RateLimit-*
# headers on every answer of a limited location, 429 rate_limited with
# Retry-After past the burst, per-user state that survives a reload, a
# zone that evicts least recently used users when full and that invalid
# credentials never reach, "sandbox_limit off", configuration errors.
#
# Rates are per minute, so that no allowance refills while a check runs:
# the numbers asserted are exact.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use File::Temp qw(tempdir);
use Digest::SHA qw(hmac_sha256);
use JSON::PP qw(encode_json);
use MIME::Base64 qw(encode_base64url);

my $SOCKET = sbx_var('SBX_SOCKET');
my $N_USERS = 600;          # far more than a 32k zone holds
my $N_FLOOD = 3000;

# outside the servroot, which the harness wipes when nginx first starts
my $dir = tempdir(CLEANUP => 1);
my $keys = "$dir/api_keys";

open my $fh, '>', $keys or die "$keys: $!";
print {$fh} "test-key-$_ $_\n" for qw(alice bob carol dave erin frank);
print {$fh} "key-u$_ u$_\n" for 1 .. $N_USERS;
close $fh;
chmod 0644, $keys;

my $SECRET = 'test-jwt-secret-0123456789abcdef';

sub jwt
{
    my ($sub) = @_;
    my $h = encode_base64url(encode_json({ alg => 'HS256', typ => 'JWT' }));
    my $p = encode_base64url(encode_json({ sub => $sub,
                                           exp => time + 3600 }));

    return "$h.$p." . encode_base64url(hmac_sha256("$h.$p", $SECRET));
}

my %CONF = (
    workers => 2,
    http_config => <<"END",
    sandbox_limit_zone users:1m;
    sandbox_limit_zone tiny:32k;
END
    config => <<"END",
    keepalive_requests 100000;
    sandbox_api_key_file $keys;
    sandbox_limit zone=users rate=3r/m;

    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        client_max_body_size 1k;
    }

    location /jwt/ {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_jwt_secret $SECRET;
    }

    location /more/ {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_limit zone=users rate=5r/m burst=5;
    }

    location /dead/ {
        sandbox on;
        sandbox_pass unix:$dir/no-such.sock;
    }

    location /tiny/ {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_limit zone=tiny rate=1r/m burst=3;

        location /tiny/free/ {
            sandbox on;
            sandbox_pass unix:$SOCKET;
            sandbox_limit off;
        }
    }
END
);


# (Limit, Remaining, Reset) of a response, undef where absent.
sub rl
{
    my ($r) = @_;

    return [ map { $r->{headers}{"ratelimit-$_"} } qw(limit remaining reset) ];
}


sub get
{
    my ($path, $user, %opt) = @_;

    return api('GET', $path, undef, key => "test-key-$user", %opt);
}


ok(start_nginx(%CONF), 'nginx starts with two limit zones');


# --- headers on success, burst, 429 ---------------------------------------

my $r = get('/sessions', 'alice');
is($r->{status}, 200, 'alice: a request under the limit is served');
is_deeply(rl($r), [3, 2, 20],
          'alice: Limit 3 (burst = rate), Remaining 2, Reset 20 s '
          . '(3r/m: one interval)');
is($r->{headers}{'ratelimit-policy'}, '3;w=60', 'RateLimit-Policy 3;w=60');
ok(!exists $r->{headers}{'retry-after'}, 'no Retry-After on a success');

$r = get('/sessions', 'alice');
is_deeply(rl($r), [3, 1, 40], 'alice: second request, Remaining 1');
$r = get('/sessions', 'alice');
is($r->{status}, 200, 'alice: third request (the whole burst) is served');
is_deeply(rl($r), [3, 0, 60], 'alice: Remaining 0, Reset 60 s');

$r = get('/sessions', 'alice');
is($r->{status}, 429, 'alice: the fourth request is 429');
is($r->{json}{error}{code}, 'rate_limited', 'error code rate_limited');
like($r->{json}{error}{message}, qr/rate limit/, 'with a message');
like($r->{headers}{'content-type'} // '', qr{^application/json},
     '429 is JSON');
is($r->{headers}{'retry-after'}, 20,
   'Retry-After: 20 s, one interval of 3r/m');
is_deeply(rl($r), [3, 0, 60], '429 carries RateLimit-* too');

$r = get('/sessions', 'alice');
is($r->{status}, 429, 'alice: refused requests do not count: still 429');
is_deeply(rl($r), [3, 0, 60], 'and Reset has not moved on');


# --- another user is not affected ------------------------------------------

$r = get('/sessions', 'bob');
is($r->{status}, 200, 'bob is served while alice is limited');
is_deeply(rl($r), [3, 2, 20], 'bob has his own allowance');


# --- error answers carry the headers ---------------------------------------

$r = get('/sessions/no-such-session', 'carol');
is($r->{status}, 404, 'carol: a 404 rendered from sandboxd');
is_deeply(rl($r), [3, 2, 20], 'the 404 carries RateLimit-*');

# nginx refuses a Content-Length over client_max_body_size before the
# access phase: no user is known yet, nothing is counted
$r = api('POST', '/execute', 'x' x 2048, key => 'test-key-carol');
is($r->{status}, 413, "carol: nginx's own 413 for a Content-Length too large");
is_deeply(rl($r), [undef, undef, undef],
          'answered before authentication: no RateLimit-*');

# a chunked body is found too large while it is read, after the access
# phase: the user is known and counted
$r = http_request(raw => "POST /execute HTTP/1.1\r\nHost: localhost\r\n"
                         . "X-API-Key: test-key-carol\r\n"
                         . "Content-Type: application/json\r\n"
                         . "Transfer-Encoding: chunked\r\n"
                         . "Connection: close\r\n\r\n"
                         . "800\r\n" . ('x' x 2048) . "\r\n0\r\n\r\n");
is($r->{status}, 413, "carol: nginx's own 413 for a chunked body too large");
is($r->{json}{error}{code}, 'payload_too_large', 'as JSON');
is_deeply(rl($r), [3, 1, 40], 'the 413 carries RateLimit-*');

$r = api('POST', '/execute', '{"command":', key => 'test-key-carol');
is($r->{status}, 400, 'carol: a 400 for a malformed body');
is_deeply(rl($r), [3, 0, 60], 'the 400 carries RateLimit-*');

$r = get('/dead/sessions', 'dave');
is($r->{status}, 502, 'dave: 502, sandboxd unreachable');
is($r->{json}{error}{code}, 'worker_unavailable', 'as JSON');
is_deeply(rl($r), [3, 2, 20], 'the 502 carries RateLimit-*');

# the 502 logged its connect() failure: the log is checked from here on
my $log_from = error_log_offset();

$r = api('GET', '/sessions', undef, key => 'not-a-key');
is($r->{status}, 401, 'an invalid key is 401');
is_deeply(rl($r), [undef, undef, undef],
          'and has no RateLimit-* (it never reached the zone)');

$r = api('GET', '/health', undef, key => undef);
is($r->{status}, 200, '/health needs no credentials');
ok(!exists $r->{headers}{'ratelimit-limit'}, 'and is not limited');


# --- a JWT names the user just as a key does ------------------------------

my $bearer = { Authorization => 'Bearer ' . jwt('alice') };

$r = api('GET', '/jwt/sessions', undef, key => undef, headers => $bearer);
is($r->{status}, 429, 'alice by JWT shares her limit: 429');
is($r->{json}{error}{code}, 'rate_limited', 'rate_limited');

$bearer = { Authorization => 'Bearer ' . jwt('jwt-only-user') };
$r = api('GET', '/jwt/sessions', undef, key => undef, headers => $bearer);
is($r->{status}, 200, 'another JWT user is served');
is_deeply(rl($r), [3, 2, 20], 'with the RateLimit-* of a fresh allowance');


# --- a location with its own rate and burst, same zone ----------------------

$r = get('/more/sessions', 'erin');
is($r->{status}, 200, 'erin: rate=5r/m burst=5');
is_deeply(rl($r), [5, 4, 12], 'Limit 5, Remaining 4, Reset 12 s');
is($r->{headers}{'ratelimit-policy'}, '5;w=60', 'RateLimit-Policy 5;w=60');
$r = get('/more/sessions', 'erin');
is_deeply(rl($r), [5, 3, 24], 'erin: Remaining 3 before the reload');


# --- the state survives "nginx -s reload" ---------------------------------

ok(reload_nginx(%CONF), 'nginx -s reload');

$r = get('/more/sessions', 'erin');
is($r->{status}, 200, 'erin is served after the reload');
is($r->{headers}{'ratelimit-remaining'}, 2,
   'erin: Remaining 2, continuing from before the reload (not 4)');
ok(($r->{headers}{'ratelimit-reset'} // 0) >= 34
   && ($r->{headers}{'ratelimit-reset'} // 99) <= 36,
   'erin: Reset ~36 s, three requests in');

$r = get('/sessions', 'alice');
is($r->{status}, 429, 'alice is still limited after the reload');
ok(($r->{headers}{'retry-after'} // 0) >= 1
   && ($r->{headers}{'retry-after'} // 99) <= 20,
   'with Retry-After at most 20 s');


# --- sandbox_limit off in a nested location --------------------------------

$r = get('/tiny/sessions', 'frank');
is($r->{status}, 200, 'frank: /tiny/ is limited');
is_deeply(rl($r), [3, 2, 60],
          'frank: Remaining 2, Reset 60 s in zone "tiny" (1r/m burst=3)');

for my $i (1 .. 5) {
    $r = get('/tiny/free/sessions', 'frank');
    last if $r->{status} != 200 || exists $r->{headers}{'ratelimit-limit'};
}
is($r->{status}, 200, 'frank: 5 requests to /tiny/free/ are all served');
ok(!exists $r->{headers}{'ratelimit-limit'}, 'with no RateLimit-* there');


# --- a flood of invalid keys does not evict a user -------------------------

my $conn;
my %status;

for my $i (1 .. $N_FLOOD) {
    $conn = http_connect() unless $conn && $conn->{sock};
    my $key = sprintf 'flood-%d-%08x', $i, int rand 0xffffffff;
    my $f = http_request(conn => $conn, method => 'GET',
                         path => '/tiny/sessions',
                         headers => { 'X-API-Key' => $key });
    $status{ $f->{status} // 'none' }++;
    $status{ratelimit}++ if exists $f->{headers}{'ratelimit-limit'};
}
is_deeply(\%status, { 401 => $N_FLOOD },
          "$N_FLOOD random invalid keys: all 401, none with RateLimit-*");

$r = get('/tiny/sessions', 'frank');
is($r->{status}, 200, 'frank is served after the flood');
is($r->{headers}{'ratelimit-remaining'}, 1,
   "frank: Remaining 1: his state in the tiny zone survived the flood");


# --- a full zone evicts the least recently used users, serves everyone -----

%status = ();

for my $i (1 .. $N_USERS) {
    $conn = http_connect() unless $conn && $conn->{sock};
    my $u = http_request(conn => $conn, method => 'GET',
                         path => '/tiny/sessions',
                         headers => { 'X-API-Key' => "key-u$i" });
    $status{ $u->{status} // 'none' }++;
    $status{remaining_2}++
        if ($u->{headers}{'ratelimit-remaining'} // -1) == 2;
}
is_deeply(\%status, { 200 => $N_USERS, remaining_2 => $N_USERS },
          "$N_USERS distinct users in a 32k zone: all served, each with "
          . "a fresh allowance");

$r = get('/tiny/sessions', 'frank');
is($r->{status}, 200, 'frank is served');
is($r->{headers}{'ratelimit-remaining'}, 2,
   'frank: Remaining 2 again (0 had he been kept): the full zone evicted '
   . 'his least recently used state');

$r = http_request(conn => $conn, method => 'GET', path => '/tiny/sessions',
                  headers => { 'X-API-Key' => "key-u$N_USERS" });
is($r->{headers}{'ratelimit-remaining'}, 1,
   'the most recently used user kept its state (Remaining 1)');

my @bad_lines = grep { /\[(error|crit|alert|emerg)\]/ }
                split /\n/, error_log_since($log_from) // '';
diag("error log: $_") for @bad_lines;
ok(!@bad_lines, 'no [error] in the error log after the 502');


# --- configuration errors ---------------------------------------------------

my @bad = (
    [ 'sandbox_limit zone=nope rate=1r/s;', 'unknown sandbox_limit_zone',
      'an unknown zone' ],
    [ 'sandbox_limit zone=users rate=10r/h;', 'invalid rate',
      'a rate per hour' ],
    [ 'sandbox_limit zone=users rate=0r/s;', 'invalid rate', 'a zero rate' ],
    [ 'sandbox_limit zone=users rate=fast;', 'invalid rate',
      'a rate without unit' ],
    [ 'sandbox_limit zone=users rate=1r/s burst=0;', 'invalid burst',
      'a zero burst' ],
    [ 'sandbox_limit zone=users;', 'needs "zone=" and "rate="',
      'no rate' ],
    [ 'sandbox_limit zone=users rate=1r/s delay=3;', 'invalid parameter',
      'an unknown parameter' ],
    [ 'sandbox_limit zone=users rate=1r/s; sandbox_limit off;',
      'is duplicate', 'two sandbox_limit in one place' ],
);

for my $case (@bad) {
    my ($directive, $error, $what) = @$case;
    my ($ok, $out) = nginx_config_test(
        http_config => "    sandbox_limit_zone users:1m;\n",
        config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_api_key test-key-alice alice;
        $directive
    }
END
    ok(!$ok, "nginx -t rejects $what");
    like($out, qr/\Q$error\E/, "... saying \"$error\"");
}

for my $case (
    [ 'sandbox_limit_zone users;', 'invalid zone', 'a zone without size' ],
    [ 'sandbox_limit_zone users:4k;', 'is too small', 'a tiny zone' ],
    [ 'sandbox_limit_zone users:1m; sandbox_limit_zone users:1m;',
      'duplicate zone', 'a zone declared twice' ],
) {
    my ($directive, $error, $what) = @$case;
    my ($ok, $out) = nginx_config_test(http_config => "    $directive\n");
    ok(!$ok, "nginx -t rejects $what");
    like($out, qr/\Q$error\E/, "... saying \"$error\"");
}

done_testing();
