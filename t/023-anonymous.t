# Anonymous access (sandbox_anonymous): a request without credentials acts
# as the configured user, all the way to sandboxd (its sessions are its
# own, apart from every other user's); credentials, when sent, are checked
# as anywhere else (a bad key is a 401, never a fallback to anonymous); the
# rate limit applies to the anonymous user; nginx's allow/deny stay in
# front; "sandbox_anonymous off" and locations without it still require
# credentials; invalid settings fail nginx -t.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Digest::SHA qw(hmac_sha256);
use JSON::PP qw(encode_json);
use MIME::Base64 qw(encode_base64url);

my $SOCKET = sbx_var('SBX_SOCKET');
my $RUN_ID = sbx_var('RUN_ID');
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
    http_config => <<"END",
    sandbox_limit_zone anon:1m;
END
    config => <<"END",
    add_header X-User \$sandbox_user always;

    sandbox_pass unix:$SOCKET;
    sandbox_api_key test-key-bob bob;

    location / {
        sandbox on;
        sandbox_anonymous anonymous;
        sandbox_jwt_secret $SECRET;
    }

    location /keys-only/ {
        sandbox on;
        sandbox_anonymous anon-keys-only;
    }

    location /limited/ {
        sandbox on;
        sandbox_anonymous anon-limited;
        sandbox_limit zone=anon rate=2r/m;
    }

    location /local/ {
        allow 127.0.0.1;
        deny all;

        sandbox on;
        sandbox_anonymous anonymous;
    }

    location /nobody/ {
        deny all;

        sandbox on;
        sandbox_anonymous anonymous;
    }

    location /any/ {
        satisfy any;
        allow 127.0.0.2;
        deny all;

        sandbox on;
        sandbox_anonymous anonymous;
    }

    location /any-local/ {
        satisfy any;
        allow 127.0.0.1;
        deny all;

        sandbox on;
        sandbox_anonymous anonymous;
    }

    location /any-closed/ {
        satisfy any;
        allow 127.0.0.1;
        deny all;

        sandbox on;
    }

    location /closed/ {
        sandbox on;
    }

    location /outer/ {
        sandbox on;
        sandbox_anonymous anonymous;

        location /outer/off/ {
            sandbox on;
            sandbox_anonymous off;
        }
    }
END
);

sub anon { api($_[0], $_[1], $_[2], key => undef) }
sub bob  { api($_[0], $_[1], $_[2], key => 'test-key-bob') }

sub ids
{
    my ($r) = @_;

    return [ map { $_->{session_id} } @{ $r->{json}{sessions} // [] } ];
}


ok(start_nginx(%CONF), 'nginx starts with anonymous locations');
my $off = error_log_offset();


# --- the anonymous user, all the way to sandboxd -----------------------------

my $sid = "anon-$RUN_ID";
my $r = anon(POST => '/sessions', { session_id => $sid });
is($r->{status}, 201, 'no credentials: a session is created');
is($r->{headers}{'x-user'}, 'anonymous', '$sandbox_user is the anonymous user');

$r = anon(GET => '/sessions');
is($r->{status}, 200, 'no credentials: the sessions are listed');
ok((grep { $_ eq $sid } @{ ids($r) }), 'the anonymous user sees its session');

$r = bob(GET => '/sessions');
is($r->{status}, 200, 'bob lists his sessions');
is($r->{headers}{'x-user'}, 'bob', 'bob is bob where anonymous is allowed');
ok(!(grep { $_ eq $sid } @{ ids($r) }),
   "bob does not see the anonymous user's session");
is(bob(GET => "/sessions/$sid")->{status}, 404,
   "the anonymous user's session is not found for bob");

$r = api(GET => '/sessions', undef, key => undef,
         headers => { Authorization => 'Bearer ' . jwt('carol') });
is($r->{status}, 200, 'a valid token is served');
is($r->{headers}{'x-user'}, 'carol', 'a valid token names its own user');
ok(!(grep { $_ eq $sid } @{ ids($r) }),
   "carol does not see the anonymous user's session");

$r = anon(GET => "/sessions/$sid");
is($r->{status}, 200, 'the anonymous user reads its session');

$r = anon(POST => '/execute', { command => 'echo hi', session_id => $sid });
is($r->{status}, 200, 'the anonymous user runs a command');
is($r->{json}{stdout}, "hi\n", 'its output');

$r = anon(GET => '/quota');
is($r->{status}, 200, "the anonymous user's quota is served");
is($r->{json}{user}, 'anonymous', "sandboxd's quotas are the anonymous user's");
is($r->{json}{sessions}{live}, 1, 'one live session counted');


# --- credentials are never downgraded ----------------------------------------

$r = api(GET => '/sessions', undef, key => 'no-such-key');
is($r->{status}, 401, 'a bad API key is a 401, not anonymous');
is($r->{json}{error}{code}, 'invalid_api_key', 'its code');
ok(!defined $r->{headers}{'x-user'} || $r->{headers}{'x-user'} eq '',
   'no user for a bad API key');

$r = api(GET => '/sessions', undef, key => '');
is($r->{status}, 401, 'an empty X-API-Key is a 401, not anonymous');

$r = api(GET => '/sessions', undef, key => undef,
         headers => { Authorization => 'Bearer not.a.token' });
is($r->{status}, 401, 'a bad bearer token is a 401, not anonymous');
is($r->{json}{error}{code}, 'invalid_token', 'its code');
like($r->{headers}{'www-authenticate'} // '', qr/error="invalid_token"/,
     'its challenge');

$r = api(GET => '/keys-only/sessions', undef, key => undef,
         headers => { Authorization => 'Bearer ' . jwt('carol') });
is($r->{status}, 401,
   'a token where only API keys are checked is a 401, not anonymous');
like($r->{json}{error}{message} // '', qr/does not accept the credentials/,
     'the message says why');

$r = api(GET => '/keys-only/sessions', undef, key => undef);
is($r->{status}, 200, 'no credentials where only API keys are checked');
is($r->{headers}{'x-user'}, 'anon-keys-only', 'that location\'s anonymous user');

$r = api(GET => '/keys-only/sessions', undef, key => undef,
         headers => { Authorization => 'Basic Zm9vOmJhcg==' });
is($r->{status}, 200, 'a Basic Authorization is not a sandbox credential');


# --- the rate limit ------------------------------------------------------------

my @st = map { anon(GET => '/limited/sessions')->{status} } 1 .. 3;
is_deeply(\@st, [200, 200, 429],
          'anonymous requests are limited: the burst of 2, then 429');

$r = anon(GET => '/limited/sessions');
is($r->{status}, 429, 'still limited');
is($r->{json}{error}{code}, 'rate_limited', 'its code');
ok(defined $r->{headers}{'retry-after'}, 'with Retry-After');
is($r->{headers}{'ratelimit-limit'}, 2, 'RateLimit-Limit on the 429');

$r = bob(GET => '/limited/sessions');
is($r->{status}, 200, "bob's allowance is not the anonymous user's");
is($r->{headers}{'ratelimit-remaining'}, 1, 'bob has used one of his two');


# --- allow/deny in front -------------------------------------------------------

$r = anon(GET => '/local/sessions');
is($r->{status}, 200, 'allow 127.0.0.1: anonymous requests from it pass');

$r = anon(GET => '/nobody/sessions');
is($r->{status}, 403, 'deny all: 403 before the anonymous user is set');
is($r->{json}{error}{code}, 'forbidden', 'as JSON');

$r = bob(GET => '/nobody/sessions');
is($r->{status}, 403, 'deny all: credentials do not get past it either');

$r = anon(GET => '/any/sessions');
is($r->{status}, 403,
   'satisfy any: being anonymous does not satisfy it, deny refuses');
is($r->{json}{error}{code}, 'forbidden', 'as JSON');

$r = bob(GET => '/any/sessions');
is($r->{status}, 200, 'satisfy any: credentials satisfy it');
is($r->{headers}{'x-user'}, 'bob', 'as bob');

$r = anon(GET => '/any-local/sessions');
is($r->{status}, 200, 'satisfy any: allow lets the anonymous user in');
is($r->{headers}{'x-user'}, 'anonymous', 'as the anonymous user');

$r = api(GET => '/any-local/sessions', undef, key => 'no-such-key');
is($r->{status}, 401,
   'satisfy any: allow does not turn a bad key into a user, nor anonymous');
is($r->{json}{error}{code}, 'unauthorized', 'its code');

$r = anon(GET => '/any-closed/sessions');
is($r->{status}, 401,
   'satisfy any without sandbox_anonymous: allow is not a user either');


# --- where anonymous access is off ---------------------------------------------

$r = anon(GET => '/closed/sessions');
is($r->{status}, 401, 'a location without sandbox_anonymous: 401');
is($r->{json}{error}{code}, 'unauthorized', 'its code');
is(bob(GET => '/closed/sessions')->{status}, 200,
   'a location without sandbox_anonymous: credentials work');

is(anon(GET => '/outer/sessions')->{status}, 200,
   'the outer location is anonymous');
is(anon(GET => '/outer/off/sessions')->{status}, 401,
   '"sandbox_anonymous off" in a nested location: 401');

is(anon(GET => '/health')->{status}, 200, 'health needs nobody');

$r = anon(DELETE => "/sessions/$sid");
is($r->{status}, 204, 'the anonymous user deletes its session');

# nginx's access module logs its refusals at the error level
my @log = split /\n/, error_log_since($off);
is(scalar(grep { /access forbidden by rule/ } @log), 3,
   'the refusals are nginx\'s deny rule');
is_deeply([ grep { /\[(error|alert|crit|emerg)\]/
                   && !/access forbidden by rule/ } @log ], [],
          'no other errors logged');


# --- configuration -------------------------------------------------------------

sub conf_fails
{
    my ($body, $re, $name) = @_;
    my ($ok, $out) = nginx_config_test(config => $body);

    ok(!$ok, "nginx -t fails: $name");
    like($out // '', $re, "$name: the message");
}

sub conf_ok
{
    my ($body, $name) = @_;
    my ($ok, $out) = nginx_config_test(config => $body);

    ok($ok, "nginx -t passes: $name") or diag($out);
}

conf_ok(<<"END", 'sandbox_anonymous alone is credentials enough');
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_anonymous anonymous;
    }
END

conf_fails(<<"END", qr/needs credentials/, '"sandbox_anonymous off" alone');
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_anonymous off;
    }
END

conf_fails(<<"END", qr/invalid user id/, 'a user id with a control character');
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_anonymous "anon\x01ymous";
    }
END

conf_fails(<<"END", qr/invalid user id/, 'an empty user id');
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_anonymous "";
    }
END

my $long = 'a' x 257;
conf_fails(<<"END", qr/invalid user id/, 'a user id of 257 bytes');
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_anonymous $long;
    }
END

conf_fails(<<"END", qr/is duplicate/, 'sandbox_anonymous twice');
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_anonymous a;
        sandbox_anonymous b;
    }
END

conf_fails(<<"END", qr/anonymous user "bob" is also the user of an API key/,
    location / {
        sandbox on;
        sandbox_pass unix:$SOCKET;
        sandbox_api_key test-key-bob bob;
        sandbox_anonymous bob;
    }
END
           'the anonymous user is an API key\'s user');

done_testing();
