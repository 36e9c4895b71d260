# sandbox_pass to an upstream {} block: keepalive connections are reused,
# several servers with a dead one still serve, consistent hashing works.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;

my $sock = $ENV{SBX_SOCKET};

# connections sandboxd holds open (its side of each has the socket's path)

sub worker_connections {
    my @lines = grep { /\Q$sock\E/ } `ss -xH state connected 2>/dev/null`;
    return scalar @lines;
}

sub sessions_ok {
    my ($n) = @_;
    my $ok = 0;
    for (1 .. $n) {
        $ok++ if api('GET', '/sessions')->{status} == 200;
    }
    return $ok;
}

my $location = <<'END';
    location / {
        sandbox on;
        sandbox_pass sandboxd;
        sandbox_api_key test-key-alice alice;
    }
END

# without keepalive: a connection per request, closed after it

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$sock;
        sandbox_api_key test-key-alice alice;
    }
END

is(sessions_ok(5), 5, 'five requests without keepalive');
is(worker_connections(), 0, 'no connection is kept');

# with keepalive: one connection, reused

start_nginx(http_config => "upstream sandboxd { server unix:$sock; "
                           . "keepalive 4; }",
            config => $location);

is(sessions_ok(10), 10, 'ten requests through a keepalive upstream');
is(worker_connections(), 1, 'one connection is kept open');
is(sessions_ok(10), 10, 'ten more');
is(worker_connections(), 1, 'over the same connection');

# several servers, one dead: requests go to the live one

start_nginx(http_config => "upstream sandboxd { "
                           . "server unix:" . servroot() . "/dead.sock; "
                           . "server unix:$sock; keepalive 4; }",
            config => $location);

is(sessions_ok(6), 6, 'a dead server in the upstream is skipped');

# consistent hashing by user, the scale-out shape

start_nginx(http_config => "upstream sandboxd { "
                           . "hash \$http_x_api_key consistent; "
                           . "server unix:$sock; keepalive 4; }",
            config => $location);

is(sessions_ok(3), 3, 'hash ... consistent upstream serves');

# sandboxd's TCP listener (listen_tcp): sandbox_pass host:port

my $tcp = $ENV{SBX_TCP} // '127.0.0.1:7391';
my $log_off = error_log_offset();

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass $tcp;
        sandbox_api_key test-key-alice alice;
    }
END

is(sessions_ok(3), 3, "sandbox_pass $tcp serves GET /sessions");

my $tsid = "t080-tcp-$$-" . time;
my $x = api('POST', '/execute', { command => 'echo over tcp',
                                  session_id => $tsid });
is($x->{status}, 200, 'an execute through the TCP listener');
is($x->{json}{stdout}, "over tcp\n", 'runs the command');
is($x->{json}{session_created}, JSON::PP::true, 'in a new session');
is(api('DELETE', "/sessions/$tsid")->{status}, 204,
   'which is deleted through it too');
# error_log_clean() would see the dead server's [crit] above: the log is
# kept across restarts
my @bad = grep { /\[(error|crit|alert|emerg)\]/ }
               split /\n/, error_log_since($log_off) // '';
is_deeply(\@bad, [], 'no [error] in the error log over TCP');

done_testing();
