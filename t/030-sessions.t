# Sessions: create (idempotent), list, get, delete; ownership; containers.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;

my $CONFIG = <<"END";
    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
    }
END

start_nginx(config => $CONFIG);

my $sid = "t030-$$-" . time;

# create, then create again: 201 then 200, same times

my $r1 = api('POST', '/sessions', { session_id => $sid });
is($r1->{status}, 201, 'a new session is 201');
is($r1->{json}{session_id}, $sid, 'with the id asked for');
is($r1->{json}{created}, JSON::PP::true, 'created is true');
like($r1->{json}{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'created_at is ISO 8601 UTC');
like($r1->{json}{expires_at}, qr/Z$/, 'expires_at is present');

my $r2 = api('POST', '/sessions', { session_id => $sid });
is($r2->{status}, 200, 'creating it again is 200');
is($r2->{json}{created}, JSON::PP::false, 'created is false');
is($r2->{json}{created_at}, $r1->{json}{created_at}, 'same session');

is(scalar @{ containers_of($sid) }, 1, 'exactly one container exists');

# a generated id

my $r3 = api('POST', '/sessions', undef);
is($r3->{status}, 201, 'a session without an id is created');
like($r3->{json}{session_id}, qr/^[0-9a-f]{32}$/,
     'its id is 128 random bits in hex');

# list and get

my $list = api('GET', '/sessions');
is($list->{status}, 200, 'list');
my @ids = map { $_->{session_id} } @{ $list->{json}{sessions} };
ok((grep { $_ eq $sid } @ids), 'the list has the session');
ok((grep { $_ eq $r3->{json}{session_id} } @ids),
   'and the generated one');

my $get = api('GET', "/sessions/$sid");
is($get->{status}, 200, 'get one session');
is($get->{json}{session_id}, $sid, 'get returns it');

# ownership: bob sees nothing of alice's

my $bob = { key => 'test-key-bob' };
is(api('GET', "/sessions/$sid", undef, %$bob)->{status}, 404,
   "another user's session is not found");
is(api('DELETE', "/sessions/$sid", undef, %$bob)->{status}, 404,
   "and cannot be deleted by them");
my $bob_list = api('GET', '/sessions', undef, %$bob);
ok(!(grep { $_->{session_id} eq $sid } @{ $bob_list->{json}{sessions} }),
   "and is not in their list");
is(api('GET', "/sessions/no-such-session-$$")->{status}, 404,
   'an unknown id is not found the same way');

# bad ids

my $bad = api('GET', '/sessions/-bad');
is($bad->{status}, 400, 'an invalid id in the path is 400');
is($bad->{json}{error}{code}, 'invalid_request', 'with a JSON error');
is(api('POST', '/sessions', { session_id => 'a b' })->{status}, 400,
   'an invalid id in the body is 400');
is(api('POST', '/sessions', '{"session_id":')->{status}, 400,
   'broken JSON is 400');

# delete

my $del = api('DELETE', "/sessions/$sid");
is($del->{status}, 204, 'delete is 204');
is($del->{body}, '', 'with no body');
is(scalar @{ containers_of($sid) }, 0, 'the container is gone');
is(api('GET', "/sessions/$sid")->{status}, 404, 'the session is gone');
is(api('DELETE', "/sessions/$sid")->{status}, 404,
   'deleting it again is 404');

is(api('DELETE', '/sessions/' . $r3->{json}{session_id})->{status}, 204,
   'the generated session is deleted too');

# a container removed behind sandboxd's back: the session is reported lost,
# never a silent success, and the next call starts afresh

my $lost = "t030-lost-$$-" . time;
is(api('POST', '/sessions', { session_id => $lost })->{status}, 201,
   'a session to lose');
my ($gone) = @{ containers_of($lost) };
is(docker_api('DELETE', "/containers/$gone->{Id}?force=true")->{status}, 204,
   'its container is removed through the Engine API');

my $r = api('POST', '/execute', { command => 'echo hi', session_id => $lost });
is($r->{status}, 410, 'the next execute is 410');
is($r->{json}{error}{code}, 'session_lost', 'session_lost');
is(api('GET', "/sessions/$lost")->{status}, 404, 'the session is dropped');

$r = api('POST', '/execute', { command => 'echo hi', session_id => $lost });
is($r->{status}, 200, 'the next execute works again');
is($r->{json}{session_created}, JSON::PP::true, 'in a new session');
is(api('DELETE', "/sessions/$lost")->{status}, 204, 'cleaned up');

ok(error_log_clean(), 'no [error] in the error log');

done_testing();
