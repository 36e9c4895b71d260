# The $sandbox_* variables, in log_format and add_header: user, session,
# op, exit code, timed_out, error, and the request id that sandboxd gets
# (the same one X-Request-Id names).

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;

my $log = servroot() . '/logs/sandbox_access.log';
unlink $log;

start_nginx(http_config => <<'END', config => <<'END');
    log_format sandbox 'id=$sandbox_request_id user=$sandbox_user '
                       'op=$sandbox_op session=$sandbox_session '
                       'exit=$sandbox_exit_code timed_out=$sandbox_timed_out '
                       'error=$sandbox_error status=$status';
END
    location / {
        sandbox on;
        sandbox_pass unix:$SBX_SOCKET;
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
        access_log logs/sandbox_access.log sandbox;
        add_header X-Op $sandbox_op always;
        add_header X-Exit $sandbox_exit_code always;
        add_header X-Session $sandbox_session always;
    }
END

my $sid = "t027-$$";

my $r = api('POST', '/execute',
            { session_id => $sid, command => 'sh -c "exit 3"' });
is($r->{status}, 200, 'an execution');
is($r->{headers}{'x-op'}, 'exec', '$sandbox_op');
is($r->{headers}{'x-exit'}, '3', '$sandbox_exit_code');
is($r->{headers}{'x-session'}, $sid, '$sandbox_session');
my $exec_id = $r->{headers}{'x-request-id'};
like($exec_id, qr/^[0-9a-f]{32}$/, 'X-Request-Id');

$r = api('POST', '/execute',
         { session_id => $sid, command => 'sleep 5', timeout => 1 });
is($r->{json}{timed_out}, JSON::PP::true, 'a timed-out execution');
my $timeout_id = $r->{headers}{'x-request-id'};

$r = api('POST', '/sessions', {});
is($r->{status}, 201, 'a session with a made-up id');
my $made_up = $r->{json}{session_id};
is($r->{headers}{'x-session'}, $made_up, '$sandbox_session from the result');
my $create_id = $r->{headers}{'x-request-id'};

$r = api('GET', '/sessions/no-such-session');
is($r->{status}, 404, 'a missing session');
my $missing_id = $r->{headers}{'x-request-id'};

$r = api('GET', '/sessions', undef, key => 'wrong');
is($r->{status}, 401, 'a bad key');
ok(!exists $r->{headers}{'x-request-id'},
   'no X-Request-Id when nginx refused the request by itself');

api('DELETE', "/sessions/$_") for $sid, $made_up;

# nginx writes the access log line after the response is sent
select(undef, undef, undef, 0.2);

my (%line, $bad);
open my $fh, '<', $log or die "$log: $!";
while (<$fh>) {
    chomp;
    my %f = map { split /=/, $_, 2 } split / /;
    $line{ $f{id} } = \%f;
    $bad = \%f if $f{error} eq 'invalid_api_key';
}
close $fh;

is_deeply($line{$exec_id},
          { id => $exec_id, user => 'alice', op => 'exec', session => $sid,
            exit => '3', timed_out => '0', error => '-', status => '200' },
          'the execution logged with its request id, user, op, session, '
          . 'exit code');
is($line{$timeout_id}{timed_out}, '1', '$sandbox_timed_out');
is($line{$create_id}{session}, $made_up, 'the made-up session logged');
is($line{$create_id}{op}, 'session.create', 'its op');
is_deeply([ @{ $line{$missing_id} }{qw(error status exit)} ],
          [ 'not_found', '404', '-' ], '$sandbox_error of a missing session');
is_deeply([ @{$bad}{qw(user error status)} ],
          [ '-', 'invalid_api_key', '401' ], 'a refused key: no user');
like($bad->{id}, qr/^[0-9a-f]{32}$/, 'but a request id in the log');

done_testing();
