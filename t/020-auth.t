# Authentication: API keys by directive and key file, HS256 JWT.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Digest::SHA qw(hmac_sha256 hmac_sha384);
use MIME::Base64 qw(encode_base64url);
use JSON::PP;

our $SECRET = 'test-jwt-secret-0123456789abcdef';

sub jwt {
    my ($claims, %o) = @_;
    my $alg = $o{alg} // 'HS256';
    my $h = encode_base64url(encode_json({ alg => $alg, typ => 'JWT' }));
    my $p = encode_base64url(encode_json($claims));
    my $key = $o{secret} // $SECRET;
    my $sig = $alg eq 'none' ? ''
            : $alg eq 'HS384' ? encode_base64url(hmac_sha384("$h.$p", $key))
            : encode_base64url(hmac_sha256("$h.$p", $key));
    return "$h.$p.$sig";
}

sub bearer { 'Authorization: Bearer ' . jwt(@_) }

my $now = time;
our %T = (
    good    => bearer({ sub => 'jwt-user', exp => $now + 3600 }),
    expired => bearer({ sub => 'jwt-user', exp => $now - 120 }),
    noexp   => bearer({ sub => 'jwt-user' }),
    nosub   => bearer({ exp => $now + 3600 }),
    badsig  => bearer({ sub => 'jwt-user', exp => $now + 3600 },
                      secret => 'another-secret-0123456789abcdef'),
    none    => bearer({ sub => 'jwt-user', exp => $now + 3600 },
                      alg => 'none'),
    hs384   => bearer({ sub => 'jwt-user', exp => $now + 3600 },
                      alg => 'HS384'),
);


plan 'no_plan';

default_config(config => <<'END');
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret test-jwt-secret-0123456789abcdef;
    }
END

run_blocks();

__DATA__

=== TEST 1: no credentials: 401 JSON with WWW-Authenticate
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_jwt_secret test-jwt-secret-0123456789abcdef;
    }
--- request
GET /sessions
--- error_code: 401
--- response_headers_like
WWW-Authenticate: ^Bearer
--- json
.error.code == "unauthorized"

=== TEST 2: a wrong API key: 401
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_jwt_secret test-jwt-secret-0123456789abcdef;
    }
--- request
GET /sessions
--- more_headers
X-API-Key: test-key-alicf
--- error_code: 401
--- json
.error.code == "invalid_api_key"

=== TEST 3: a prefix of a valid key is not valid
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_jwt_secret test-jwt-secret-0123456789abcdef;
    }
--- request
GET /sessions
--- more_headers
X-API-Key: test-key-alic
--- error_code: 401

=== TEST 4: a valid API key reaches sandboxd
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_jwt_secret test-jwt-secret-0123456789abcdef;
    }
--- request
GET /sessions
--- more_headers
X-API-Key: test-key-alice
--- error_code: 200
--- json
.sessions exists
--- no_error_log
[error]

=== TEST 5: keys from a key file, comments and blank lines allowed
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key_file $SBX_ROOT/t/data/api_keys;
    }
--- request
GET /sessions
--- more_headers
X-API-Key: file-key-carol
--- error_code: 200
--- no_error_log
[error]

=== TEST 6: a valid HS256 JWT reaches sandboxd
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_jwt_secret test-jwt-secret-0123456789abcdef;
    }
--- request
GET /sessions
--- more_headers eval
$::T{good}
--- error_code: 200
--- no_error_log
[error]

=== TEST 7: an expired JWT: 401 token_expired
--- request
GET /sessions
--- more_headers eval
$::T{expired}
--- error_code: 401
--- json
.error.code == "token_expired"

=== TEST 8: a JWT without exp: 401
--- request
GET /sessions
--- more_headers eval
$::T{noexp}
--- error_code: 401
--- json
.error.code == "invalid_token"

=== TEST 9: a JWT without sub: 401
--- request
GET /sessions
--- more_headers eval
$::T{nosub}
--- error_code: 401

=== TEST 10: a JWT signed with another secret: 401
--- request
GET /sessions
--- more_headers eval
$::T{badsig}
--- error_code: 401
--- json
.error.code == "invalid_token"

=== TEST 11: alg none is refused
--- request
GET /sessions
--- more_headers eval
$::T{none}
--- error_code: 401

=== TEST 12: a correctly signed HS384 token is refused: the algorithm is pinned
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret test-jwt-secret-0123456789abcdef;
        sandbox_jwt_algorithms HS256;
    }
--- request
GET /sessions
--- more_headers eval
$::T{hs384}
--- error_code: 401
--- json
.error.code == "invalid_token"

=== TEST 13: sandbox on without any credentials configured fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
    }
--- must_die
--- error_log
needs credentials

=== TEST 14: a malformed key file fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_api_key_file $SBX_ROOT/t/data/api_keys_bad;
    }
--- must_die
--- error_log
expected "<key> <user>"

=== TEST 15: an unsupported JWT algorithm fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_jwt_secret test-jwt-secret-0123456789abcdef;
        sandbox_jwt_algorithms none;
    }
--- must_die
--- error_log
unsupported JWT algorithm

=== TEST 16: the JWT secret from a file, its final newline dropped
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file $SBX_ROOT/t/data/jwt_secret;
    }
--- request
GET /sessions
--- more_headers eval
$::T{good}
--- error_code: 200
--- no_error_log
[error]

=== TEST 17: a secret file with a too short secret fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_jwt_secret_file $SBX_ROOT/t/data/jwt_secret_short;
    }
--- must_die
--- error_log
must be 32 to 4096 bytes

=== TEST 18: a missing key file fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_api_key_file $SBX_ROOT/t/data/no_such_file;
    }
--- must_die
--- error_log
no_such_file

=== TEST 19: a key stored as its SHA-256 digest
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key_file $SBX_ROOT/t/data/api_keys;
        add_header X-User $sandbox_user always;
    }
--- request
GET /sessions
--- more_headers
X-API-Key: hashed-key-erin
--- error_code: 200
--- response_headers
X-User: erin

=== TEST 20: the digest line itself is not a key
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key_file $SBX_ROOT/t/data/api_keys;
    }
--- request
GET /sessions
--- more_headers
X-API-Key: sha256:27bbfd101d0d9e08dbee3a07998a12843e970dbc76f0c04d6441808117e3f185
--- error_code: 401
--- json
.error.code == "invalid_api_key"

=== TEST 21: a malformed digest fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_api_key sha256:27bbfd10 frank;
    }
--- must_die
--- error_log
invalid key or user id "frank"

=== TEST 22: a bearer token that fails carries error="invalid_token"
--- request
GET /sessions
--- more_headers eval
$::T{badsig}
--- error_code: 401
--- response_headers_like
WWW-Authenticate: ^Bearer realm="sandbox", error="invalid_token"$

=== TEST 23: an API key longer than 1024 bytes: 401, not hashed
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
    }
--- request
GET /sessions
--- more_headers eval
'X-API-Key: ' . ('k' x 1025)
--- error_code: 401

=== TEST 24: one key for two users fails nginx -t, whether plain or digest
--- config
    location / {
        sandbox on;
        sandbox_api_key hashed-key-erin erin;
        sandbox_api_key sha256:27bbfd101d0d9e08dbee3a07998a12843e970dbc76f0c04d6441808117e3f185 mallory;
    }
--- must_die
--- error_log
duplicate API key (of users "erin" and "mallory")
