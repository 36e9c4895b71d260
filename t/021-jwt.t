# JWT: HS256/384/512, RS256 and ES256, pinned algorithms and key kinds,
# the attacks (alg none, HS256 signed with the RS256 public key, embedded
# keys, unknown kid, empty signatures), time claims with leeway, issuer,
# audience, the user claim, scope (403), and the directives' checks.
# RSA and EC keys are made for this run with the openssl command.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Digest::SHA qw(hmac_sha256 hmac_sha384 hmac_sha512);
use MIME::Base64 qw(encode_base64url);
use File::Temp qw(tempdir);
use JSON::PP;

our $SECRET  = 'jwt-test-secret-0123456789abcdef-0123';
our $SECRET2 = 'jwt-test-rotated-0123456789abcdef-012';

my $dir = tempdir('sbx-jwt-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
$ENV{SBX_JWT_DIR} = $dir;

# Quiet: genpkey draws its progress on stderr.
sub openssl {
    open my $saved, '>&', \*STDERR or die "dup: $!";
    open STDERR, '>', '/dev/null' or die "/dev/null: $!";
    my $rc = system('openssl', @_);
    open STDERR, '>&', $saved or die "dup: $!";
    $rc == 0 or die "openssl @_ failed\n";
}

sub keypair {
    my ($name, @gen) = @_;
    openssl('genpkey', @gen, '-out', "$dir/$name.key");
    openssl('pkey', '-in', "$dir/$name.key", '-pubout',
            '-out', "$dir/$name.pub");
}

keypair('rsa', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
keypair('rsa1024', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024');
keypair('ec', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
keypair('ec384', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384');

sub slurp { local (@ARGV, $/) = @_; <> }

sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die "$name: $!";
    print $fh $text;
    close $fh;
}

write_file('secret', "$SECRET\n");
write_file('secret_short', "only-twenty-bytes-ok\n");

sub openssl_sign {
    my ($key, $input) = @_;
    write_file('input', $input);
    openssl('dgst', '-sha256', '-sign', "$dir/$key.key",
            '-out', "$dir/sig", "$dir/input");
    return slurp("$dir/sig");
}

# An ECDSA signature in DER (SEQUENCE of two INTEGERs) as JWS wants it:
# r and s, 32 bytes each.
sub der_to_raw {
    my ($der) = @_;
    my @b = unpack('C*', $der);
    my $i = 2;
    my @ints;
    for (1 .. 2) {
        die "not an INTEGER\n" unless $b[$i] == 0x02;
        my $len = $b[$i + 1];
        my $v = pack('C*', @b[$i + 2 .. $i + 1 + $len]);
        $v =~ s/^\x00+//;
        push @ints, ("\x00" x (32 - length $v)) . $v;
        $i += 2 + $len;
    }
    return join '', @ints;
}

sub sign {
    my ($alg, $input, $key) = @_;
    return hmac_sha256($input, $key // $SECRET) if $alg eq 'HS256';
    return hmac_sha384($input, $key // $SECRET) if $alg eq 'HS384';
    return hmac_sha512($input, $key // $SECRET) if $alg eq 'HS512';
    return openssl_sign($key // 'rsa', $input) if $alg eq 'RS256';
    return der_to_raw(openssl_sign($key // 'ec', $input)) if $alg eq 'ES256';
    return '';
}

# jwt(\%claims, alg => ..., key => ..., header => {extra}, sig => 'as is')
sub jwt {
    my ($claims, %o) = @_;
    my $alg = $o{alg} // 'HS256';
    my %h = (alg => $alg, typ => 'JWT', %{ $o{header} // {} });
    my $h = encode_base64url(JSON::PP->new->canonical->encode(\%h));
    my $p = encode_base64url(encode_json($claims));
    my $sig = exists $o{sig} ? $o{sig}
            : encode_base64url(sign($o{sign_as} // $alg, "$h.$p", $o{key}));
    return "$h.$p.$sig";
}

sub bearer { 'Authorization: Bearer ' . jwt(@_) }

my $now = time;
my %live = (sub => 'jwt-user', exp => $now + 3600);

our %T = (
    hs256   => bearer({%live}),
    hs384   => bearer({%live}, alg => 'HS384'),
    hs512   => bearer({%live}, alg => 'HS512'),
    at_jwt  => bearer({%live, sub => 'idp-user'}, alg => 'RS256',
                      header => { typ => 'at+jwt', kid => 'idp' }),
    rs256   => bearer({%live, sub => 'rsa-user'}, alg => 'RS256'),
    es256   => bearer({%live, sub => 'ec-user'}, alg => 'ES256'),

    # HS256 whose HMAC key is the RSA public key's PEM text: the classic
    # algorithm confusion, which works on a verifier that lets the token
    # pick how to use "the key".
    confused => bearer({%live}, alg => 'HS256',
                       key => slurp("$dir/rsa.pub")),
    rs_by_ec => bearer({%live}, alg => 'RS256', sign_as => 'ES256'),

    none       => bearer({%live}, alg => 'none', sig => ''),
    none_cap   => bearer({%live}, alg => 'None', sig => ''),
    none_upper => bearer({%live}, alg => 'NONE', sig => ''),
    none_mixed => bearer({%live}, alg => 'nOnE', sig => ''),
    none_sig   => bearer({%live}, alg => 'none'),
    empty_sig  => bearer({%live}, sig => ''),

    jku => bearer({%live}, header => { jku => 'https://evil.example/k' }),
    jwk => bearer({%live}, header => { jwk => { kty => 'oct', k => 'QQ' } }),
    x5u => bearer({%live}, header => { x5u => 'https://evil.example/c' }),
    crit => bearer({%live}, header => { crit => ['exp'] }),

    kid_known   => bearer({%live}, header => { kid => 'k2' },
                          key => $SECRET2),
    kid_unknown => bearer({%live}, header => { kid => 'k9' }),
    kid_wrong   => bearer({%live}, header => { kid => 'k1' },
                          key => $SECRET2),
    rotated     => bearer({%live}, key => $SECRET2),

    expired     => bearer({ sub => 'jwt-user', exp => $now - 120 }),
    in_leeway   => bearer({ sub => 'jwt-user', exp => $now - 5 }),
    noexp       => bearer({ sub => 'jwt-user' }),
    str_exp     => bearer({ sub => 'jwt-user', exp => "" . ($now + 3600) }),
    nbf_future  => bearer({%live, nbf => $now + 600}),
    nbf_leeway  => bearer({%live, nbf => $now + 5}),
    iat_future  => bearer({%live, iat => $now + 600}),

    iss_good    => bearer({%live, iss => 'https://idp.example'}),
    iss_bad     => bearer({%live, iss => 'https://evil.example'}),
    aud_array   => bearer({%live, aud => ['other', 'sandbox-api']}),
    aud_bad     => bearer({%live, aud => 'other'}),

    email       => bearer({ email => 'carol@example.com',
                            exp => $now + 3600 }),
    sub_number  => bearer({ sub => 42, exp => $now + 3600 }),

    scoped      => bearer({%live, scope => 'read sandbox:exec'}),
    unscoped    => bearer({%live, scope => 'read'}),

    huge        => 'Authorization: Bearer ' . ('a' x 3000) . '.'
                   . ('b' x 3000) . '.c',
);


plan 'no_plan';

default_config(config => <<'END');
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_key_file ${ENV:SBX_JWT_DIR}/rsa.pub;
        sandbox_jwt_key_file ${ENV:SBX_JWT_DIR}/ec.pub;
        sandbox_jwt_algorithms HS256 HS384 HS512 RS256 ES256;
        add_header X-User $sandbox_user always;
    }
END

run_blocks();

__DATA__

=== TEST 1: HS256 names the user
--- request
GET /sessions
--- more_headers eval
$::T{hs256}
--- error_code: 200
--- response_headers
X-User: jwt-user

=== TEST 2: HS384
--- request
GET /sessions
--- more_headers eval
$::T{hs384}
--- error_code: 200
--- response_headers
X-User: jwt-user

=== TEST 3: HS512
--- request
GET /sessions
--- more_headers eval
$::T{hs512}
--- error_code: 200

=== TEST 4: RS256 with the RSA public key
--- request
GET /sessions
--- more_headers eval
$::T{rs256}
--- error_code: 200
--- response_headers
X-User: rsa-user

=== TEST 5: ES256 with the P-256 public key
--- request
GET /sessions
--- more_headers eval
$::T{es256}
--- error_code: 200
--- response_headers
X-User: ec-user

=== TEST 6: an RFC 9068 access token (typ at+jwt) from an identity provider
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_key_file ${ENV:SBX_JWT_DIR}/rsa.pub kid=idp;
        add_header X-User $sandbox_user always;
    }
--- request
GET /sessions
--- more_headers eval
$::T{at_jwt}
--- error_code: 200
--- response_headers
X-User: idp-user

=== TEST 7: HS256 signed with the RSA public key as secret, HS256 not accepted
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_key_file ${ENV:SBX_JWT_DIR}/rsa.pub;
        add_header X-User $sandbox_user always;
    }
--- request
GET /sessions
--- more_headers eval
$::T{confused}
--- error_code: 401
--- response_headers_like
WWW-Authenticate: ^Bearer realm="sandbox", error="invalid_token"
--- json
.error.code == "invalid_token"
.error.message =~ /algorithm is not accepted/

=== TEST 8: the same where HS256 is accepted too: the secret, not the PEM, verifies it
--- request
GET /sessions
--- more_headers eval
$::T{confused}
--- error_code: 401
--- json
.error.message =~ /signature is not valid/

=== TEST 9: an RS256 header over an ECDSA signature fails
--- request
GET /sessions
--- more_headers eval
$::T{rs_by_ec}
--- error_code: 401
--- json
.error.code == "invalid_token"

=== TEST 10: alg none
--- request
GET /sessions
--- more_headers eval
$::T{none}
--- error_code: 401
--- json
.error.message =~ /algorithm is not accepted/

=== TEST 11: alg None
--- request
GET /sessions
--- more_headers eval
$::T{none_cap}
--- error_code: 401
--- json
.error.message =~ /algorithm is not accepted/

=== TEST 12: alg NONE
--- request
GET /sessions
--- more_headers eval
$::T{none_upper}
--- error_code: 401

=== TEST 13: alg nOnE
--- request
GET /sessions
--- more_headers eval
$::T{none_mixed}
--- error_code: 401

=== TEST 14: alg none with a signature
--- request
GET /sessions
--- more_headers eval
$::T{none_sig}
--- error_code: 401

=== TEST 15: HS256 with an empty signature
--- request
GET /sessions
--- more_headers eval
$::T{empty_sig}
--- error_code: 401
--- json
.error.message =~ /not signed/

=== TEST 16: a jku header, though the token is signed right
--- request
GET /sessions
--- more_headers eval
$::T{jku}
--- error_code: 401
--- json
.error.message =~ /names a key of its own/

=== TEST 17: a jwk header
--- request
GET /sessions
--- more_headers eval
$::T{jwk}
--- error_code: 401
--- json
.error.message =~ /names a key of its own/

=== TEST 18: an x5u header
--- request
GET /sessions
--- more_headers eval
$::T{x5u}
--- error_code: 401
--- json
.error.message =~ /names a key of its own/

=== TEST 19: a crit header
--- request
GET /sessions
--- more_headers eval
$::T{crit}
--- error_code: 401
--- json
.error.message =~ /critical/

=== TEST 20: a kid selects its key
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret kid=k1;
        sandbox_jwt_secret jwt-test-rotated-0123456789abcdef-012 kid=k2;
    }
--- request
GET /sessions
--- more_headers eval
$::T{kid_known}
--- error_code: 200

=== TEST 21: an unknown kid
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret kid=k1;
        sandbox_jwt_secret jwt-test-rotated-0123456789abcdef-012 kid=k2;
    }
--- request
GET /sessions
--- more_headers eval
$::T{kid_unknown}
--- error_code: 401
--- json
.error.message =~ /names no known key/

=== TEST 22: a kid naming the other key: only that key is tried
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret kid=k1;
        sandbox_jwt_secret jwt-test-rotated-0123456789abcdef-012 kid=k2;
    }
--- request
GET /sessions
--- more_headers eval
$::T{kid_wrong}
--- error_code: 401
--- json
.error.message =~ /signature is not valid/

=== TEST 23: without a kid, every secret is tried (rotation)
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_secret jwt-test-rotated-0123456789abcdef-012;
    }
--- request
GET /sessions
--- more_headers eval
$::T{rotated}
--- error_code: 200

=== TEST 24: expired two minutes ago, past the default 60 s leeway
--- request
GET /sessions
--- more_headers eval
$::T{expired}
--- error_code: 401
--- json
.error.code == "token_expired"

=== TEST 25: expired five seconds ago, within the leeway
--- request
GET /sessions
--- more_headers eval
$::T{in_leeway}
--- error_code: 200

=== TEST 26: no leeway: the same token is expired
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_leeway 0;
    }
--- request
GET /sessions
--- more_headers eval
$::T{in_leeway}
--- error_code: 401
--- json
.error.code == "token_expired"

=== TEST 27: no exp
--- request
GET /sessions
--- more_headers eval
$::T{noexp}
--- error_code: 401
--- json
.error.message =~ /no "exp" claim/

=== TEST 28: no exp, where the operator does not require it
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_require_exp off;
    }
--- request
GET /sessions
--- more_headers eval
$::T{noexp}
--- error_code: 200

=== TEST 29: an exp that is a string
--- request
GET /sessions
--- more_headers eval
$::T{str_exp}
--- error_code: 401
--- json
.error.message =~ /not a number/

=== TEST 30: nbf ten minutes ahead
--- request
GET /sessions
--- more_headers eval
$::T{nbf_future}
--- error_code: 401
--- json
.error.code == "token_not_yet_valid"

=== TEST 31: nbf five seconds ahead, within the leeway
--- request
GET /sessions
--- more_headers eval
$::T{nbf_leeway}
--- error_code: 200

=== TEST 32: iat ten minutes ahead
--- request
GET /sessions
--- more_headers eval
$::T{iat_future}
--- error_code: 401
--- json
.error.code == "token_not_yet_valid"

=== TEST 33: the issuer is checked
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_issuer https://idp.example https://idp2.example;
    }
--- request
GET /sessions
--- more_headers eval
$::T{iss_good}
--- error_code: 200

=== TEST 34: another issuer is refused
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_issuer https://idp.example;
    }
--- request
GET /sessions
--- more_headers eval
$::T{iss_bad}
--- error_code: 401
--- json
.error.message =~ /issuer/

=== TEST 35: no issuer where one is required
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_issuer https://idp.example;
    }
--- request
GET /sessions
--- more_headers eval
$::T{hs256}
--- error_code: 401

=== TEST 36: an audience array holding ours
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_audience sandbox-api;
    }
--- request
GET /sessions
--- more_headers eval
$::T{aud_array}
--- error_code: 200

=== TEST 37: another audience is refused
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_audience sandbox-api;
    }
--- request
GET /sessions
--- more_headers eval
$::T{aud_bad}
--- error_code: 401
--- json
.error.message =~ /audience/

=== TEST 38: the user from another claim
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_user_claim email;
        add_header X-User $sandbox_user always;
    }
--- request
GET /sessions
--- more_headers eval
$::T{email}
--- error_code: 200
--- response_headers
X-User: carol@example.com

=== TEST 39: that claim missing
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_user_claim email;
    }
--- request
GET /sessions
--- more_headers eval
$::T{hs256}
--- error_code: 401
--- json
.error.message =~ /names no valid user/

=== TEST 40: a numeric sub names no user
--- request
GET /sessions
--- more_headers eval
$::T{sub_number}
--- error_code: 401

=== TEST 41: the required scope granted
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_scope sandbox:exec;
    }
--- request
GET /sessions
--- more_headers eval
$::T{scoped}
--- error_code: 200

=== TEST 42: a valid token without the scope: 403, not 401
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_scope sandbox:exec;
        add_header X-User $sandbox_user always;
    }
--- request
GET /sessions
--- more_headers eval
$::T{unscoped}
--- error_code: 403
--- response_headers_like
WWW-Authenticate: ^Bearer realm="sandbox", error="insufficient_scope", scope="sandbox:exec"$
--- json
.error.code == "insufficient_scope"

=== TEST 43: a 6 KB token is refused before any parsing
--- request
GET /sessions
--- more_headers eval
$::T{huge}
--- error_code: 401
--- json
.error.message =~ /too large/

=== TEST 44: an Authorization header past nginx's buffers: refused, no crash
--- request
GET /sessions
--- more_headers eval
'Authorization: Bearer ' . ('a' x 20000)
--- error_code: 400

=== TEST 45: and the server still answers
--- request
GET /sessions
--- more_headers eval
$::T{hs256}
--- error_code: 200

=== TEST 46: RS256 accepted without an RSA key fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_algorithms HS256 RS256;
    }
--- must_die
--- error_log
JWT algorithm RS256 has no key of its kind

=== TEST 47: a key no accepted algorithm uses fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_jwt_key_file ${ENV:SBX_JWT_DIR}/rsa.pub;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret;
        sandbox_jwt_algorithms RS256;
    }
--- must_die
--- error_log
no algorithm in "sandbox_jwt_algorithms" uses

=== TEST 48: a 1024-bit RSA key fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_jwt_key_file ${ENV:SBX_JWT_DIR}/rsa1024.pub;
    }
--- must_die
--- error_log
fewer than 2048 bits

=== TEST 49: a P-384 key fails nginx -t (ES256 is P-256)
--- config
    location / {
        sandbox on;
        sandbox_jwt_key_file ${ENV:SBX_JWT_DIR}/ec384.pub;
    }
--- must_die
--- error_log
neither RSA nor EC P-256

=== TEST 50: a private key file is not a public key
--- config
    location / {
        sandbox on;
        sandbox_jwt_key_file ${ENV:SBX_JWT_DIR}/rsa.key;
    }
--- must_die
--- error_log
holds no PEM "PUBLIC KEY"

=== TEST 51: a short secret fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret_short;
    }
--- must_die
--- error_log
must be 32 to 4096 bytes

=== TEST 52: a duplicate kid fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_jwt_secret_file ${ENV:SBX_JWT_DIR}/secret kid=a;
        sandbox_jwt_secret jwt-test-rotated-0123456789abcdef-012 kid=a;
    }
--- must_die
--- error_log
duplicate JWT key id "a"
