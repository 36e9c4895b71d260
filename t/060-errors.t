# Every error in a sandbox location is JSON, nginx's own included.

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
    }
END

run_blocks();

__DATA__

=== TEST 1: an unknown endpoint is a JSON 404
--- request
GET /no/such/thing
--- more_headers
X-API-Key: test-key-alice
--- error_code: 404
--- response_headers
Content-Type: application/json
--- json
.error.code == "not_found"
.error.message exists

=== TEST 2: a known endpoint with the wrong method is a 405 with Allow
--- request
PUT /sessions
--- more_headers
X-API-Key: test-key-alice
--- error_code: 405
--- response_headers
Allow: GET, POST
--- json
.error.code == "method_not_allowed"

=== TEST 3: nginx's own 413 for a large body is JSON
--- config
    client_max_body_size 64;
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
    }
--- request eval
"POST /execute\n" . '{"command": "echo ' . ('x' x 200) . '"}'
--- more_headers
X-API-Key: test-key-alice
Content-Type: application/json
--- error_code: 413
--- response_headers
Content-Type: application/json
--- json
.error.code == "payload_too_large"

=== TEST 4: sandboxd unreachable is a JSON 502, quickly
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SERVROOT/no-such-sandboxd.sock;
        sandbox_api_key test-key-alice alice;
    }
--- request
GET /sessions
--- more_headers
X-API-Key: test-key-alice
--- error_code: 502
--- json
.error.code == "worker_unavailable"

=== TEST 5: a location's "return 403" inside sandbox is JSON too
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        if ($http_x_block) {
            return 403;
        }
    }
--- request
GET /health
--- more_headers
X-Block: 1
--- error_code: 403
--- json
.error.code == "forbidden"

=== TEST 6: errors outside sandbox locations are left alone
--- config
    location /plain/ {
        return 404;
    }
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
    }
--- request
GET /plain/x
--- error_code: 404
--- response_body_like: <html>

=== TEST 7: bad JSON is a 400 naming the problem
--- request
POST /execute
{"command": "echo hi",
--- more_headers
X-API-Key: test-key-alice
--- error_code: 400
--- json
.error.code == "invalid_json"
