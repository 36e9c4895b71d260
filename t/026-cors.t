# CORS: off unless configured; preflights answered before authentication;
# only configured origins, methods and headers; Allow-Origin and the
# exposed headers on every response to an allowed origin, errors included.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;

plan 'no_plan';

default_config(config => <<'END');
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_cors_origins https://app.example http://localhost:3000;
    }
END

run_blocks();

__DATA__

=== TEST 1: a preflight from an allowed origin: 204, no credentials needed
--- request
OPTIONS /execute
--- more_headers
Origin: https://app.example
Access-Control-Request-Method: POST
Access-Control-Request-Headers: content-type, x-api-key
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: https://app.example
Access-Control-Allow-Methods: GET, HEAD, POST, PUT, DELETE
Access-Control-Allow-Headers: Authorization, Content-Type, X-API-Key, Accept
Access-Control-Max-Age: 600
Vary: Origin
--- response_body eval
''

=== TEST 2: a preflight from another origin: 403 JSON, no Allow-Origin
--- request
OPTIONS /execute
--- more_headers
Origin: https://evil.example
Access-Control-Request-Method: POST
--- error_code: 403
--- response_headers
!Access-Control-Allow-Origin
--- json
.error.code == "cors_rejected"
.error.message =~ /origin/

=== TEST 3: a preflight for a method not allowed
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_cors_origins https://app.example;
        sandbox_cors_methods GET POST;
    }
--- request
OPTIONS /sessions/s1
--- more_headers
Origin: https://app.example
Access-Control-Request-Method: DELETE
--- error_code: 403
--- json
.error.message =~ /method/

=== TEST 4: a preflight asking for a header not allowed
--- request
OPTIONS /execute
--- more_headers
Origin: https://app.example
Access-Control-Request-Method: POST
Access-Control-Request-Headers: content-type, x-evil
--- error_code: 403
--- json
.error.message =~ /header/

=== TEST 5: a real request from an allowed origin carries Allow-Origin and exposes the API's headers
--- request
GET /sessions
--- more_headers
Origin: http://localhost:3000
X-API-Key: test-key-alice
--- error_code: 200
--- response_headers
Access-Control-Allow-Origin: http://localhost:3000
Vary: Origin
--- response_headers_like
Access-Control-Expose-Headers: RateLimit-Remaining.*Retry-After.*X-Request-Id

=== TEST 6: so does a 401, which the browser app must be able to read
--- request
GET /sessions
--- more_headers
Origin: https://app.example
--- error_code: 401
--- response_headers
Access-Control-Allow-Origin: https://app.example

=== TEST 7: a real request from another origin gets no CORS headers, but Vary for caches
--- request
GET /sessions
--- more_headers
Origin: https://evil.example
X-API-Key: test-key-alice
--- error_code: 200
--- response_headers
!Access-Control-Allow-Origin
!Access-Control-Expose-Headers
Vary: Origin

=== TEST 8: CORS off (the default): no headers, OPTIONS is 405
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
    }
--- request
OPTIONS /execute
--- more_headers
Origin: https://app.example
Access-Control-Request-Method: POST
--- error_code: 405
--- response_headers
!Access-Control-Allow-Origin

=== TEST 9: "*" allows any origin, without Vary
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_cors_origins *;
        sandbox_cors_max_age 1h;
    }
--- request
OPTIONS /sessions
--- more_headers
Origin: https://anything.example
Access-Control-Request-Method: GET
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: *
Access-Control-Max-Age: 3600
!Vary

=== TEST 10: an OPTIONS that is no preflight is not answered as one
--- request
OPTIONS /sessions
--- more_headers
Origin: https://app.example
--- error_code: 405

=== TEST 11: an origin with a path fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_api_key test-key-alice alice;
        sandbox_cors_origins https://app.example/;
    }
--- must_die
--- error_log
an origin has no path

=== TEST 12: "*" with other origins fails nginx -t
--- config
    location / {
        sandbox on;
        sandbox_api_key test-key-alice alice;
        sandbox_cors_origins * https://app.example;
    }
--- must_die
--- error_log
takes "*" alone

=== TEST 13: every response names its request id
--- request
GET /sessions
--- more_headers
X-API-Key: test-key-alice
--- error_code: 200
--- response_headers_like
X-Request-Id: ^[0-9a-f]{32}$
