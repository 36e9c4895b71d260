# /health and /ready: no credentials needed; /ready names what is down.

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

=== TEST 1: health answers without credentials
--- request
GET /health
--- error_code: 200
--- response_headers
Content-Type: application/json
--- json
.status == "ok"
--- no_error_log
[error]

=== TEST 2: ready reports sandboxd, Docker and Redis, and the store
--- request
GET /ready
--- error_code: 200
--- json
.status == "ready"
.store == "redis"
.checks.sandboxd.ok == true
.checks.docker.ok == true
.checks.redis.ok == true
--- no_error_log
[error]

=== TEST 3: ready is 503 and names sandboxd when it is unreachable
--- config
    location / {
        sandbox on;
        sandbox_pass unix:$SERVROOT/no-such-sandboxd.sock;
        sandbox_api_key test-key-alice alice;
    }
--- request
GET /ready
--- error_code: 503
--- json
.status == "unavailable"
.checks.sandboxd.ok == false
.checks.sandboxd.error == "unreachable"
.error.code == "not_ready"

=== TEST 4: the API can be mounted under a prefix
--- config
    location /api/ {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
    }
--- request
GET /api/health
--- error_code: 200
--- json
.status == "ok"

=== TEST 5: HEAD on health has headers and no body
--- request
HEAD /health
--- error_code: 200
--- response_body:
