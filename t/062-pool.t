# The warm pool of POST /run: it fills, a run takes a container from it
# (a hit) and it refills, runs from it still isolate, a run asking for
# other memory starts its own (a miss), a pool container that died is
# replaced, not handed out, a pool of 0 runs cold, stopping
# sandboxd removes the pool, and a crashed sandboxd's pool is removed by
# the next one's cleanup loop.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Time::HiRes qw(sleep time);

my $sd = Sbx::Sandboxd->new(instance => 't062');
my $cold = Sbx::Sandboxd->new(instance => 't062c');

END {
    $_->cleanup(\&docker_api, \&uri_escape) for grep { $_ } $sd, $cold;
}

start_nginx(config => <<"END");
    location /c/ {
        sandbox on;
        sandbox_pass unix:$cold->{socket};
        sandbox_api_key test-key-alice alice;
    }

    location / {
        sandbox on;
        sandbox_pass unix:$sd->{socket};
        sandbox_api_key test-key-alice alice;
    }
END


# The instance's containers with the given labels, running or not.
sub labelled {
    my ($instance, @labels) = @_;
    my $filters = uri_escape(JSON::PP->new->encode({ label => [
        "io.ngx-sandbox.instance=$instance", @labels] }));

    return @{ docker_api('GET', "/containers/json?all=1&filters=$filters")
                  ->{json} // [] };
}

sub pool_ids {
    return sort map { $_->{Id} }
                grep { ($_->{State} // '') eq 'running' }
                labelled($_[0], 'io.ngx-sandbox.pool');
}

# Waits until check returns true, up to secs seconds.
sub wait_for {
    my ($secs, $check) = @_;
    my $until = time + $secs;

    until ($check->()) {
        return 0 if time >= $until;
        sleep 0.25;
    }

    return 1;
}

sub pool_of {
    return api('GET', $_[0] // '/ready')->{json}{run_pool} // {};
}

sub run_code {
    my ($prefix, $code, %extra) = @_;
    return api('POST', "${prefix}run",
               { language => 'python', code => $code, %extra });
}


# the pool fills

$sd->start(SANDBOXD_RUN_POOL_SIZE => '2');

ok(wait_for(30, sub { pool_of()->{ready} == 2 }), 'the pool fills: 2 ready');
my @idle = pool_ids('t062');
is(scalar @idle, 2, '  Docker lists 2 pool containers');
my $p = pool_of();
is($p->{size}, 2, '  /ready gives the pool size');
is($p->{hits}, 0, '  no hit yet');
ok(!grep({ exists $_->{Labels}{'io.ngx-sandbox.user'} }
         labelled('t062', 'io.ngx-sandbox.pool')),
   '  pool containers have no user yet');

# a run takes one and the pool refills

my $r = run_code('/', 'open("mark", "w").write("1"); '
                      . 'open("/tmp/mark", "w").write("1"); print("one")');
is($r->{json}{status}, 'ok', 'a run with the pool');
is($r->{json}{run}{stdout}, "one\n", '  its output');
is(pool_of()->{hits}, 1, '  a hit is counted');

ok(wait_for(30, sub {
       my %now = map { ($_ => 1) } pool_ids('t062');
       pool_of()->{ready} == 2 && keys %now == 2
           && grep({ !$now{$_} } @idle) == 1
   }), '  the pool refills, the used container is gone');

# runs with the pool still isolate

$r = run_code('/', 'import os; print(os.path.exists("mark"), '
                   . 'os.path.exists("/tmp/mark"))');
is($r->{json}{run}{stdout}, "False False\n",
   'a file of run 1 is absent in run 2');
is(pool_of()->{hits}, 2, '  a second hit');

# other memory: a container of its own

my $misses = pool_of()->{misses};
$r = run_code('/', 'print(2)', memory_limit => 64 * 1024 * 1024);
is($r->{json}{status}, 'ok', 'a run with its own memory_limit');
is(pool_of()->{misses}, $misses + 1, '  is a miss, started cold');

# a pool of 0

$cold->start;
$r = run_code('/c/', 'print(3)');
is($r->{json}{run}{stdout}, "3\n", 'a pool of 0 runs cold');
is(pool_of('/c/ready')->{size}, 0, '  its size is 0');
is(scalar(my @none = pool_ids('t062c')), 0, '  no pool container');
sleep 1;
$cold->stop;

# pool containers that died while they waited are not handed out

ok(wait_for(30, sub { pool_of()->{ready} == 2 }), 'the pool is full again');
my @doomed = pool_ids('t062');
docker_api('POST', "/containers/$_/kill") for @doomed;
ok(wait_for(10, sub { !pool_ids('t062') }), '  both pool containers killed');
$p = pool_of();
$r = run_code('/', 'print(4)');
is($r->{json}{status}, 'ok', 'a run after the pool died is ok');
is($r->{json}{run}{stdout}, "4\n", '  its output');
is(pool_of()->{dead}, $p->{dead} + 2, '  both dead containers are counted');
is(pool_of()->{misses}, $p->{misses} + 1, '  the run started cold (a miss)');
ok(wait_for(30, sub {
       my %gone = map { ($_->{Id} => 1) } labelled('t062');
       !grep { $gone{$_} } @doomed
   }), '  the dead containers are removed');
ok(wait_for(30, sub { pool_of()->{ready} == 2 }), '  the pool refills');
$r = run_code('/', 'print(5)');
is($r->{json}{run}{stdout}, "5\n", '  and serves runs again');

# stopping sandboxd removes its pool

ok(wait_for(30, sub { pool_of()->{ready} == 2 }), 'the pool is full again');
$sd->stop;
is(scalar labelled('t062'), 0, 'stopping sandboxd removes the pool')
    or diag(explain [map { $_->{Names}[0] } labelled('t062')]);

# a crashed sandboxd's pool: the next one's cleanup loop removes it

$sd->start(SANDBOXD_RUN_POOL_SIZE => '2');
ok(wait_for(30, sub { pool_of()->{ready} == 2 }), 'a new pool fills');
my @old = pool_ids('t062');
$sd->signal('KILL');
$sd->wait_exit(10);

$sd->start(SANDBOXD_RUN_POOL_SIZE => '1', SANDBOXD_CLEANUP_INTERVAL => '1');
ok(wait_for(30, sub {
       my %now = map { ($_ => 1) } pool_ids('t062');
       !grep { $now{$_} } @old
   }), "the crashed one's pool is removed by the cleanup loop");
ok(wait_for(30, sub { pool_of()->{ready} == 1 }),
   '  and the new pool stays');
$sd->stop;

# leak check: no run container of either instance

for my $instance ('t062', 't062c') {
    my @left = labelled($instance, 'io.ngx-sandbox.run');
    is(scalar @left, 0, "no run container of $instance is left")
        or diag(explain [map { $_->{Names}[0] } @left]);
}

ok(error_log_clean(), 'no [error] in the error log');
done_testing();
