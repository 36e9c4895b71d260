# Session lifecycle: every call refreshes the TTL, the cleanup loop reaps
# containers whose record vanished (and only those), and concurrent
# creation of one session id makes one session and one container.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Time::HiRes qw(sleep);
use Time::Local qw(timegm);

# scripts/test sets no session_ttl: sandboxd's default (worker/sbx_config.c)
my $TTL = 600;

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
    }
END

my $base = "t035-$$-" . time;
my @created;

# "2026-11-23T12:00:00Z" to Unix seconds; undef when it is not that.
sub epoch {
    my ($iso) = @_;
    return undef unless defined $iso
        && $iso =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/;
    return timegm($6, $5, $4, $3, $2 - 1, $1);
}

sub is_true {
    my ($v) = @_;
    return JSON::PP::is_bool($v) && $v ? 1 : 0;
}

# the session's record key (worker/sbx_store.c), default redis_prefix
sub record_key {
    my ($user, $session) = @_;
    return 'sbx:session:' . length($user) . ":$user:$session";
}

sub redis {
    my @args = @_;
    my $out = `redis-cli -p $ENV{SBX_REDIS_PORT} @args 2>&1`;
    chomp $out;
    return $out;
}

# A live session for the cleanup part, made first: older than the orphan
# below, it is past cleanup_grace in the pass that reaps the orphan.

my $live = "$base-live";
push @created, $live;

is(api('POST', '/sessions', { session_id => $live })->{status}, 201,
   'cleanup: a live session');

# ------------------------------------------------------------ TTL refresh

my $sid = "$base-ttl";
push @created, $sid;

my $c = api('POST', '/sessions', { session_id => $sid });
is($c->{status}, 201, 'ttl: the session is created');

my $g1 = api('GET', "/sessions/$sid");
is($g1->{status}, 200, 'ttl: get it');
my ($exp1, $used1) = map { epoch($g1->{json}{$_}) }
                         qw(expires_at last_used_at);
ok(defined $exp1 && defined $used1, 'ttl: expires_at and last_used_at')
    or diag(explain $g1->{json});

sleep 2;

my $x = api('POST', '/execute', { command => 'true', session_id => $sid });
is($x->{status}, 200, 'ttl: an execute in it');
is($x->{json}{session_created}, JSON::PP::false, 'ttl: in that session');

my $g2 = api('GET', "/sessions/$sid");
is($g2->{status}, 200, 'ttl: get it again');
my ($exp2, $used2) = map { epoch($g2->{json}{$_}) }
                         qw(expires_at last_used_at);

cmp_ok(($exp2 // 0) - ($exp1 // 0), '>=', 2,
       'ttl: expires_at moved forward by >= 2 s');
cmp_ok(($used2 // 0) - ($used1 // 0), '>=', 2,
       'ttl: last_used_at moved forward by >= 2 s');
is(($exp2 // 0) - ($used2 // 0), $TTL,
   "ttl: expires_at is last_used_at + the session TTL ($TTL s)");
is($g2->{json}{created_at}, $g1->{json}{created_at},
   'ttl: created_at is unchanged');

my $rttl = redis('TTL', record_key('alice', $sid));
ok($rttl =~ /^\d+$/ && $rttl > $TTL - 10 && $rttl <= $TTL,
   "ttl: the Redis record expires in about $TTL s")
    or diag("TTL: $rttl");

# -------------------------------------------------- cleanup of orphans

my $orphan = "$base-orphan";
push @created, $orphan;

is(api('POST', '/sessions', { session_id => $orphan })->{status}, 201,
   'cleanup: a session to orphan');

my $oc = containers_of($orphan);
is(scalar @$oc, 1, 'cleanup: the orphan-to-be has its container');
is(scalar @{ containers_of($live) }, 1,
   'cleanup: the live one has its container');

is(redis('DEL', record_key('alice', $orphan)), '1',
   "cleanup: its Redis record is deleted (as when it expires)");
is(api('GET', "/sessions/$orphan")->{status}, 404,
   'cleanup: the session is gone for the API');

# cleanup_interval=5, cleanup_grace=5 in the test stack
my $gone = 0;
for (1 .. 60) {
    if (@{ containers_of($orphan) } == 0) {
        $gone = 1;
        last;
    }
    sleep 0.5;
}

ok($gone, 'cleanup: the orphan container is removed within 30 s');
is(scalar @{ containers_of($live) }, 1,
   'cleanup: the live session keeps its container');
my $lx = api('POST', '/execute', { command => 'echo alive',
                                   session_id => $live });
is($lx->{status}, 200, 'cleanup: the live session still runs commands');
is($lx->{json}{stdout}, "alive\n", 'cleanup: in its container');
is($lx->{json}{session_created}, JSON::PP::false,
   'cleanup: without being created again');

# ------------------------------------------- concurrent session.create

my $cs = "$base-cc";
push @created, $cs;

my @waits = map { api_async('POST', '/sessions', { session_id => $cs }) }
                1 .. 6;
my @res = map { $_->() } @waits;
my @status = map { $_->{status} // 'none' } @res;

is(scalar(grep { $_ eq '201' } @status), 1,
   'concurrent create: exactly one 201') or diag("@status");
is(scalar(grep { $_ eq '200' } @status), 5,
   'concurrent create: the five others 200') or diag("@status");
is(scalar(grep { is_true($_->{json}{created}) } @res), 1,
   'concurrent create: exactly one says created');
is(scalar(keys %{{ map { ($_->{json}{created_at} // '') => 1 } @res }}), 1,
   'concurrent create: all answer the same session');
is(scalar @{ containers_of($cs) }, 1,
   'concurrent create: exactly one container');

# ------------------------------------------- concurrent execute, new id

my $ce = "$base-ce";
push @created, $ce;

@waits = map { api_async('POST', '/execute', { command => 'echo hi',
                                                session_id => $ce }) }
             1 .. 4;
@res = map { $_->() } @waits;
@status = map { $_->{status} // 'none' } @res;

is(scalar(grep { $_ eq '200' } @status), 4,
   'concurrent execute: all four 200') or diag("@status");
is(scalar(grep { ($_->{json}{stdout} // '') eq "hi\n" } @res), 4,
   'concurrent execute: all four ran');
is(scalar(grep { is_true($_->{json}{session_created}) } @res), 1,
   'concurrent execute: exactly one created the session');
is(scalar @{ containers_of($ce) }, 1,
   'concurrent execute: exactly one container');

# ---------------------------------------------------------------- clean up

for my $s (@created) {
    my $d = api('DELETE', "/sessions/$s");
    my $want = $s eq $orphan ? 404 : 204;
    is($d->{status}, $want, "delete $s");
    is(scalar @{ containers_of($s) }, 0, "no container left for $s");
}

ok(error_log_clean(), 'no [error] in the error log');

done_testing();
