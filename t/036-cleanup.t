# The cleanup loop, with second-scale settings on sandboxds of the test's
# own: idle sessions expire and go (a used one stays), containers past
# cleanup_max_container_age go and their session answers session_lost
# once, records whose container was removed by hand are dropped by the
# loop, containers left without a record (Redis wiped) go after the grace,
# workspace volumes unused for cleanup_volume_max_idle go (used ones stay),
# and "sandboxd --cleanup-once" does one pass and exits 0.  Each part ends
# with the leak check.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Sbx::Leaks qw(leak_check redis_cmd);
use Digest::SHA qw(sha256_hex);
use POSIX ();
use Time::HiRes qw(sleep time);

my $sa = Sbx::Sandboxd->new(instance => 't036a');
my $sb = Sbx::Sandboxd->new(instance => 't036b');
my $sc = Sbx::Sandboxd->new(instance => 't036c');
my $port = $ENV{SBX_REDIS_PORT};

start_nginx(config => <<"END");
    location /a/ {
        sandbox on;
        sandbox_pass unix:$sa->{socket};
        sandbox_api_key test-key-alice alice;
    }

    location /ap/ {
        sandbox on;
        sandbox_pass unix:$sa->{socket};
        sandbox_api_key test-key-alice alice;
        sandbox_workspace_persist on;
    }

    location /b/ {
        sandbox on;
        sandbox_pass unix:$sb->{socket};
        sandbox_api_key test-key-alice alice;
    }

    location /c/ {
        sandbox on;
        sandbox_pass unix:$sc->{socket};
        sandbox_api_key test-key-alice alice;
        sandbox_workspace_persist on;
    }
END

# short everything: session_ttl must exceed exec_timeout_max + grace
my %fast = (SANDBOXD_SESSION_TTL => 4, SANDBOXD_EXEC_TIMEOUT_MAX => 1,
            SANDBOXD_CLEANUP_INTERVAL => 1, SANDBOXD_CLEANUP_GRACE => 1);

$sa->start(%fast, SANDBOXD_CLEANUP_MAX_CONTAINER_AGE => 0,
           SANDBOXD_CLEANUP_VOLUME_MAX_IDLE => 2);
$sb->start(%fast, SANDBOXD_SESSION_TTL => 30,
           SANDBOXD_CLEANUP_MAX_CONTAINER_AGE => 3);
$sc->start(SANDBOXD_CLEANUP_GRACE => 0);    # no loop: cleanup_interval 0

my $base = "t036-$$";

sub cname {
    my ($instance, $sid) = @_;
    return 'sbx-' . substr(sha256_hex("$instance\0alice\0$sid"), 0, 24);
}

sub rkey {
    my ($instance, $what, $sid) = @_;
    return "$instance:$what:5:alice:$sid";
}

sub exists_key { (redis_cmd($port, 'EXISTS', $_[0]))[0] eq '1' }

sub container_there {
    my ($name) = @_;
    return docker_api('GET', "/containers/$name/json")->{status} == 200;
}

sub volume_there {
    my ($name) = @_;
    return docker_api('GET', "/volumes/$name")->{status} == 200;
}

# Polls $cond every 0.2 s for up to $secs; its last value.
sub wait_for {
    my ($secs, $cond) = @_;
    my $deadline = time + $secs;
    my $v;

    until (($v = $cond->()) || time >= $deadline) {
        sleep 0.2;
    }

    return $v;
}

sub wipe_keys {
    my ($pattern) = @_;
    my @keys = grep { length } redis_cmd($port, '--scan', '--pattern',
                                         $pattern);
    redis_cmd($port, 'DEL', @keys) if @keys;
    return scalar @keys;
}

sub exec_in {
    my ($loc, $sid, $cmd) = @_;
    return api('POST', "$loc/execute", { command => $cmd // 'true',
                                         session_id => $sid,
                                         timeout => 1 });
}

# A labelled workspace volume made by hand, as a crashed sandboxd leaves.
sub make_volume {
    my ($instance, $sid) = @_;
    my $name = cname($instance, $sid) . '-ws';
    my $r = docker_api('POST', '/volumes/create', {
        Name => $name,
        Labels => { 'io.ngx-sandbox.managed' => 'true',
                    'io.ngx-sandbox.instance' => $instance,
                    'io.ngx-sandbox.user' => 'alice',
                    'io.ngx-sandbox.session' => $sid } });
    return $r->{status} == 201 ? $name : undef;
}

# ------------------------------------------------------------- TTL expiry

my $idle = "$base-idle";
my $used = "$base-used";

is(api('POST', '/a/sessions', { session_id => $idle })->{status}, 201,
   'ttl: an idle session');
is(api('POST', '/a/sessions', { session_id => $used })->{status}, 201,
   'ttl: a session in use');

my @st;
for (1 .. 7) {
    sleep 1;
    push @st, exec_in('/a', $used)->{status};
}
is("@st", '200 200 200 200 200 200 200',
   'ttl: the used one runs commands for 7 s (TTL 4 s)');

ok(wait_for(3, sub { !container_there(cname('t036a', $idle)) }),
   'ttl: the idle container is removed after TTL + an interval');
ok(!exists_key(rkey('t036a', 'session', $idle)), 'ttl: and its record');
ok(container_there(cname('t036a', $used)),
   'ttl: the used one keeps its container');
ok(exists_key(rkey('t036a', 'session', $used)), 'ttl: and its record');

my $r = exec_in('/a', $idle, 'echo again');
is($r->{status}, 200, 'ttl: the expired id runs a command again');
ok($r->{json}{session_created}, '  in a new session, said so');

leak_check(instance => 't036a', name => 'ttl', wait => 3);

# ------------------------------------------- container removed by hand

my $hand = "$base-hand";

is(api('POST', '/a/sessions', { session_id => $hand })->{status}, 201,
   'by hand: a session');
is(docker_api('DELETE', '/containers/' . cname('t036a', $hand)
                        . '?force=true')->{status}, 204,
   'by hand: its container is removed behind sandboxd\'s back');

# the TTL (4 s) would drop it too, but leave no "lost" mark
ok(wait_for(2.5, sub { !exists_key(rkey('t036a', 'session', $hand)) }),
   'by hand: the loop drops the record within 2.5 s');
ok(exists_key(rkey('t036a', 'lost', $hand)),
   'by hand: and marks the session lost');

$r = exec_in('/a', $hand);
is($r->{status}, 410, 'by hand: its next use is 410');
is($r->{json}{error}{code}, 'session_lost', '  session_lost');
like($r->{json}{error}{message}, qr/container was gone/, '  says why');

$r = exec_in('/a', $hand);
is($r->{status}, 200, 'by hand: the use after that makes it anew');
ok($r->{json}{session_created}, '  said so');
is(api('DELETE', "/a/sessions/$hand")->{status}, 204, 'by hand: delete');

leak_check(instance => 't036a', name => 'by hand', wait => 3);

# ------------------------------------------------ Redis keys wiped

my @wiped = map { "$base-wipe$_" } 1 .. 2;

is(api('POST', '/a/sessions', { session_id => $_ })->{status}, 201,
   "wiped: session $_") for @wiped;
ok(wipe_keys('t036a:*') > 0, 'wiped: every key of the instance deleted');
ok(container_there(cname('t036a', $_)), "wiped: $_ still has a container")
    for @wiped;
ok(wait_for(5, sub { !grep { container_there(cname('t036a', $_)) }
                          @wiped }),
   'wiped: both containers are removed after the grace');

leak_check(instance => 't036a', name => 'wiped', wait => 3);

# ----------------------------------------------------- orphan volumes

my $pv = "$base-pv";
my $pvol = cname('t036a', $pv) . '-ws';

is(api('POST', '/ap/sessions', { session_id => $pv })->{status}, 201,
   'volumes: a persistent session');
ok(volume_there($pvol), 'volumes: it has its volume');

@st = ();
for (1 .. 4) {
    sleep 1;
    push @st, exec_in('/ap', $pv)->{status};
}
is("@st", '200 200 200 200', 'volumes: used for 4 s');
ok(volume_there($pvol),
   'volumes: a used volume outlives cleanup_volume_max_idle (2 s)');

my $hvol = make_volume('t036a', "$base-hv");
ok($hvol, 'volumes: a labelled volume with neither container nor record');

# as a Redis that lost its data: the container goes, then the volume
wipe_keys(rkey('t036a', 'session', $pv));
my $t0 = time;
ok(wait_for(5, sub { !container_there(cname('t036a', $pv)) }),
   'volumes: the container without a record goes');
ok(volume_there($pvol), 'volumes: its volume stays for now');
ok(wait_for(6, sub { !volume_there($pvol) }),
   'volumes: and goes once unused for cleanup_volume_max_idle');
cmp_ok(time - $t0, '>=', 2, '  not before');
ok(wait_for(4, sub { !volume_there($hvol) }),
   'volumes: the hand-made one goes too');

leak_check(instance => 't036a', name => 'volumes', wait => 3);

# ------------------------------------------------- max container age

my $old = "$base-old";
my $t1 = time;

is(api('POST', '/b/sessions', { session_id => $old })->{status}, 201,
   'max age: a session (cleanup_max_container_age 3 s)');
sleep 1.5;
is(exec_in('/b', $old)->{status}, 200, 'max age: used after 1.5 s');

ok(wait_for(6, sub { !container_there(cname('t036b', $old)) }),
   'max age: its container is removed');
# the created label counts whole seconds
cmp_ok(time - $t1, '>=', 2, '  not before (3 s, to the second)');
ok(!exists_key(rkey('t036b', 'session', $old)),
   'max age: its record goes with it');
my ($lttl) = redis_cmd($port, 'TTL', rkey('t036b', 'lost', $old));
ok($lttl > 0 && $lttl <= 30, 'max age: a lost mark, for session_ttl')
    or diag("TTL $lttl");

$r = exec_in('/b', $old);
is($r->{status}, 410, 'max age: its next use is 410');
is($r->{json}{error}{code}, 'session_lost', '  session_lost');
like($r->{json}{error}{message}, qr/maximum container age/, '  says why');

$r = exec_in('/b', $old, 'echo new');
is($r->{status}, 200, 'max age: the use after that makes it anew');
ok($r->{json}{session_created}, '  said so');
is($r->{json}{stdout}, "new\n", '  and runs');

my $gone = "$base-gone";
is(api('POST', '/b/sessions', { session_id => $gone })->{status}, 201,
   'max age: another session');
ok(wait_for(6, sub { !container_there(cname('t036b', $gone)) }),
   'max age: removed too');
is(api('GET', "/b/sessions/$gone")->{status}, 410,
   'max age: GET says session_lost');
is(api('DELETE', "/b/sessions/$gone")->{status}, 404,
   'max age: then there is nothing to delete');

api('DELETE', "/b/sessions/$old");
leak_check(instance => 't036b', name => 'max age', wait => 3);

# ---------------------------------------------------------- --cleanup-once

sub cleanup_once {
    my (%env) = @_;
    my $bin = $ENV{SBX_SANDBOXD};
    my $conf = $ENV{SBX_SANDBOXD_CONF};
    my $pid = open(my $fh, '-|') // die "fork: $!";

    if ($pid == 0) {
        %ENV = (PATH => '/usr/sbin:/usr/bin:/sbin:/bin',
                SANDBOXD_INSTANCE => 't036c',
                SANDBOXD_REDIS_PREFIX => 't036c:',
                SANDBOXD_AGENT_DIR => $sc->{agent_dir},
                SANDBOXD_CLEANUP_GRACE => '0',
                SANDBOXD_PID_FILE => '', SANDBOXD_LOG_FILE => '',
                SANDBOXD_AUDIT_LOG => 'off', %env);
        open STDERR, '>&', \*STDOUT or die $!;
        # not exit: END would kill the sandboxds
        exec($bin, -c => $conf, '--cleanup-once') or POSIX::_exit(127);
    }

    my $out = do { local $/; <$fh> };
    close $fh;

    return ($? >> 8, $out);
}

my $orphan = "$base-orphan";

is(api('POST', '/c/sessions', { session_id => $orphan })->{status}, 201,
   'once: a session');
ok(wipe_keys('t036c:*') > 0, 'once: its keys wiped');
my $ovol = make_volume('t036c', "$base-ov");
ok($ovol, 'once: an orphan volume');

my ($rc, $out) = cleanup_once();
is($rc, 0, 'once: sandboxd --cleanup-once exits 0') or diag($out);
like($out, qr/removed container \w+ of session "\Q$orphan\E"/,
     '  and says what it removed');
ok(!container_there(cname('t036c', $orphan)),
   'once: the orphan container is gone');
ok(volume_there(cname('t036c', $orphan) . '-ws'),
   'once: the volumes stay (cleanup_volume_max_idle 7 days)');

# the idle clocks the first run started restart here: however slowly the
# runs start (valgrind, ASan), the next one is the first to see them idle
redis_cmd($ENV{SBX_REDIS_PORT}, 'DEL', $_)
    for grep { length } redis_cmd($ENV{SBX_REDIS_PORT}, '--scan', '--pattern',
                                  't036c:volume-idle:*');

($rc, $out) = cleanup_once(SANDBOXD_CLEANUP_VOLUME_MAX_IDLE => 1);
is($rc, 0, 'once: again, with cleanup_volume_max_idle 1 s');
ok(volume_there($ovol), '  an idle volume is only seen idle');
sleep 1.2;
($rc, $out) = cleanup_once(SANDBOXD_CLEANUP_VOLUME_MAX_IDLE => 1);
is($rc, 0, 'once: a second later');
ok(!volume_there($ovol) && !volume_there(cname('t036c', $orphan) . '-ws'),
   '  both volumes are gone') or diag($out);

($rc, $out) = cleanup_once(SANDBOXD_REDIS_PORT => 1);
is($rc, 1, 'once: exits 1 when Redis is unreachable');

leak_check(instance => 't036c', name => 'once');

$_->stop for $sa, $sb, $sc;

done_testing();

END {
    local $?;

    $_->cleanup(\&docker_api, \&uri_escape) for $sa, $sb, $sc;
    redis_cmd($port, 'DEL', grep { length }
              map { redis_cmd($port, '--scan', '--pattern', "$_:*") }
              qw(t036a t036b t036c));
}
