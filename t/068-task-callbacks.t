# Task callbacks: a task submitted with "callback_url" is POSTed, signed
# (X-Sandbox-Task, X-Sandbox-Timestamp, X-Sandbox-Signature: HMAC-SHA256
# of "<timestamp>.<body>" with callback_secret), to that URL when it ends;
# 408/429/5xx and network errors are retried (1 s, 2 s, ...), other
# statuses are not, redirects are not followed, and GET /tasks/{id} shows
# the delivery in "callback".  Only origins of callback_allow are
# accepted; a sandboxd without callback_allow refuses every callback_url;
# a cancelled task sends none.
#
# The receiver is a forked Perl HTTP server on 127.0.0.1: each request's
# line, headers and time go to <dir>/req-<n>.json, its raw body to
# <dir>/req-<n>.body; the status it answers on /hook/<name> is the first
# line of <dir>/status-<name> ("500\n200\n": 500, then 200; the last line
# stays; "302 <url>" adds a Location), 200 without one.
#
# A sandboxd of the test's own (t068, Redis) has callback_allow and
# callback_secret, callback_retries 2; location /plain/ is the shared
# sandboxd, without callback_allow.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Sbx::Leaks qw(leak_check);
use Digest::SHA qw(hmac_sha256_hex);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->utf8->canonical;
my $TRUE = JSON::PP::true;
my $SECRET = 'k3y-0f-t068-' . join('', map { ('a' .. 'z')[rand 26] } 1 .. 20);

# ------------------------------------------------------------ the receiver

my $HOOK_DIR = tempdir('t068-hook-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "listen: $@";
    my $port = $s->sockport;
    close $s;
    return $port;
}

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Proto => 'tcp', Listen => 64,
                                   ReuseAddr => 1)
    or die "listen: $@";
my $HOOK_PORT = $listen->sockport;
my $HOOK = "http://127.0.0.1:$HOOK_PORT";
my $PARENT = $$;

my $hook_pid = fork() // die "fork: $!";

if ($hook_pid == 0) {
    $SIG{TERM} = 'DEFAULT';
    serve($listen);
    POSIX::_exit(0);
}

close $listen;

# the next status for /hook/$name: the file's first line, the last one
# staying
sub next_status {
    my ($name) = @_;
    my $file = "$HOOK_DIR/status-$name";
    open my $f, '<', $file or return (200);
    my @lines = grep { /\S/ } <$f>;
    close $f;
    return (200) unless @lines;
    my $line = $lines[0];
    if (@lines > 1) {
        open my $w, '>', "$file.tmp" or die $!;
        print $w @lines[1 .. $#lines];
        close $w;
        rename "$file.tmp", $file;
    }
    chomp $line;
    return split ' ', $line, 2;
}

sub write_file {
    my ($file, $data) = @_;
    open my $f, '>:raw', "$file.tmp" or die "$file: $!";
    print $f $data;
    close $f;
    rename "$file.tmp", $file or die "$file: $!";
}

# reads from $c until $done->($buf) or the deadline; false on EOF/timeout
sub read_until {
    my ($c, $bufref, $deadline, $done) = @_;
    my $sel = IO::Select->new($c);
    until ($done->($$bufref)) {
        my $left = $deadline - time;
        return 0 if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($c, $$bufref, 65536, length $$bufref);
        return 0 unless $n;
    }
    return 1;
}

sub handle {
    my ($c, $n) = @_;
    my $deadline = time + 10;
    my $buf = '';
    my $at = time;

    read_until($c, \$buf, $deadline, sub { $_[0] =~ /\r\n\r\n/ }) or return;
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my ($line, @lines) = split /\r\n/, $head;
    my ($method, $target) = split ' ', $line;
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $h{lc $k} = exists $h{lc $k} ? "$h{lc $k}, $v" : $v;
    }

    syswrite($c, "HTTP/1.1 100 Continue\r\n\r\n")
        if lc($h{expect} // '') eq '100-continue';

    if (defined $h{'content-length'}) {
        my $len = $h{'content-length'};
        read_until($c, \$body, $deadline, sub { length $_[0] >= $len })
            or return;
        $body = substr($body, 0, $len);
    } elsif (lc($h{'transfer-encoding'} // '') eq 'chunked') {
        read_until($c, \$body, $deadline,
                   sub { $_[0] =~ /(?:^|\r\n)0\r\n\r\n/ }) or return;
        my ($raw, $out) = ($body, '');
        while ($raw =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $size = hex $1;
            last unless $size;
            $out .= substr($raw, 0, $size);
            substr($raw, 0, $size + 2) = '';
        }
        $body = $out;
    }

    my $name = $target =~ m{/hook/([^/?]+)} ? $1 : 'none';
    my ($status, $location) = next_status($name);

    write_file("$HOOK_DIR/req-$n.body", $body // '');
    write_file("$HOOK_DIR/req-$n.json", $JSON->encode({
        n => $n, time => $at, method => $method, target => $target,
        name => $name, headers => \%h, answered => $status + 0,
    }));

    my $reply = "HTTP/1.1 $status Test\r\nContent-Type: text/plain\r\n"
              . ($location ? "Location: $location\r\n" : '')
              . "Content-Length: 3\r\nConnection: close\r\n\r\nok\n";
    syswrite($c, $reply);
}

sub serve {
    my ($l) = @_;
    my $sel = IO::Select->new($l);
    my $n = 0;

    while (1) {
        POSIX::_exit(0) if getppid() != $PARENT;
        next unless $sel->can_read(0.5);
        my $c = $l->accept or next;
        eval { handle($c, ++$n) };
        close $c;
    }
}

# the requests the receiver got on /hook/$name, in order
sub hook_requests {
    my ($name) = @_;
    my @reqs;

    opendir my $d, $HOOK_DIR or return ();
    for my $f (readdir $d) {
        next unless $f =~ /^req-(\d+)\.json$/;
        my $text = do { local (@ARGV, $/) = ("$HOOK_DIR/$f"); <> };
        my $req = eval { $JSON->decode($text) } or next;
        next if defined $name && $req->{name} ne $name;
        $req->{body} = do {
            open my $b, '<:raw', "$HOOK_DIR/req-$1.body" or next;
            local $/;
            <$b> // '';
        };
        push @reqs, $req;
    }
    closedir $d;

    my @sorted = sort { $a->{n} <=> $b->{n} } @reqs;
    return @sorted;    # in scalar context: how many
}

sub set_status {
    my ($name, @statuses) = @_;
    write_file("$HOOK_DIR/status-$name", join('', map { "$_\n" } @statuses));
}

# ------------------------------------------------------------ nginx, sandboxd

my $sd = Sbx::Sandboxd->new(instance => 't068');

my $KEYS = <<'END';
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
        sandbox_allowed_commands off;
END

start_nginx(config => <<"END");
    location /plain/ {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
$KEYS
    }

    location / {
        sandbox on;
        sandbox_pass unix:$sd->{socket};
$KEYS
    }
END

my $CLOSED = free_port();    # allowed, but nothing listens there

my %sd_env = (SANDBOXD_CALLBACK_ALLOW => "$HOOK http://127.0.0.1:$CLOSED",
              SANDBOXD_CALLBACK_SECRET => $SECRET,
              SANDBOXD_CALLBACK_RETRIES => 2,
              SANDBOXD_CALLBACK_TIMEOUT => 3);

$sd->start(%sd_env);

my $sid = "t068-$$";
my $ID_RE = qr/^[0-9a-f]{32}$/;
my %TERMINAL = map { $_ => 1 } qw(succeeded failed cancelled);




# an async execute with a callback to /hook/$name: the task id
sub submit {
    my ($command, $name, %opt) = @_;
    my $prefix = delete $opt{prefix} // '';
    my $r = api('POST', "$prefix/execute",
                { command => $command, session_id => $sid, async => $TRUE,
                  callback_url => $opt{url} // "$HOOK/hook/$name" });
    is($r->{status}, 202, "submit with a callback to /hook/$name: 202")
        or diag(explain_r($r));
    return $r->{json}{task_id};
}

sub task { api('GET', '/tasks/' . ($_[0] // 'none')) }

# GET until the callback's status is no longer pending
sub callback_done {
    my ($id) = @_;
    my $r;
    wait_until($id ? 20 : 0, sub {
        $r = task($id);
        my $s = ($r->{json}{callback} // {})->{status} // 'pending';
        return $s ne 'pending' || ($r->{status} // 0) != 200;
    });
    return $r;
}

sub signature {
    my ($req, $secret) = @_;
    my $ts = $req->{headers}{'x-sandbox-timestamp'} // '';
    return 'sha256=' . hmac_sha256_hex("$ts.$req->{body}", $secret);
}

is(api('POST', '/execute', { command => 'true', session_id => $sid })
       ->{status}, 200, 'a session for the tasks');

# a cancelled task sends nothing: checked at the end, when all the others
# have had their callbacks
my $cancel_id = submit('sleep 30', 'cancelled');
my $r;
ok(wait_until($cancel_id ? 10 : 0,
              sub { (task($cancel_id)->{json}{status} // '') eq 'running' }),
   '  the task to cancel runs');
$r = api('DELETE', '/tasks/' . ($cancel_id // 'none'));
is($r->{json}{status}, 'cancelled', '  cancelled') or diag(explain_r($r));

# ------------------------------------------------- delivered, signed

my $id = submit('echo hello', 'ok');
like($id, $ID_RE, '  a task id');
ok(wait_until($id ? 20 : 0, sub { hook_requests('ok') >= 1 }),
   'the callback arrives');
my ($req) = hook_requests('ok');
$req //= { headers => {}, body => '', time => 0 };
my $h = $req->{headers};

is($req->{method}, 'POST', '  a POST');
is($req->{target}, '/hook/ok', '  to the callback_url\'s path');
like($h->{'content-type'} // '', qr{^application/json\b}, '  JSON');
like($h->{'user-agent'} // '', qr{^ngx-sandbox/\S+},
     '  User-Agent ngx-sandbox/<version>');
is($h->{'x-sandbox-task'}, $id, '  X-Sandbox-Task: the task id');
like($h->{'x-sandbox-timestamp'} // '', qr/^\d+$/,
     '  X-Sandbox-Timestamp: unix seconds');
ok(abs(($h->{'x-sandbox-timestamp'} // 0) - $req->{time}) < 60,
   '  of about now');
like($h->{'x-sandbox-signature'} // '', qr/^sha256=[0-9a-f]{64}$/,
     '  X-Sandbox-Signature: sha256=<hex>');
is($h->{'x-sandbox-signature'}, signature($req, $SECRET),
   '  HMAC-SHA256(secret, "<timestamp>.<body>")');
isnt($h->{'x-sandbox-signature'}, signature($req, "not-$SECRET"),
     '  which does not verify with another secret');
isnt($h->{'x-sandbox-signature'},
     'sha256=' . hmac_sha256_hex(($h->{'x-sandbox-timestamp'} // 0) + 1
                                 . ".$req->{body}", $SECRET),
     '  nor with another timestamp');

my $body = eval { $JSON->decode($req->{body}) } // {};
is($body->{task_id}, $id, 'the body is the task: task_id');
is($body->{status}, 'succeeded', '  status succeeded');
is($body->{kind}, 'execute', '  kind execute');
is($body->{result}{stdout}, "hello\n", '  result.stdout');
ok(!exists $body->{callback}, '  no "callback" member');

$r = callback_done($id);
is($r->{json}{callback}{status}, 'delivered', 'GET: callback delivered')
    or diag(explain_r($r));
is($r->{json}{callback}{attempts}, 1, '  at the first attempt');
is($r->{json}{callback}{url}, "$HOOK/hook/ok", '  to the callback_url');
ok(!defined $r->{json}{callback}{last_error}, '  no last_error');
my %without = %{ $r->{json} // {} };
delete $without{callback};
is_deeply($body, \%without, '  the body is the task as GET shows it');

# a failed task calls back too
$id = submit('echo bad; exit 3', 'failed');
ok(wait_until($id ? 20 : 0, sub { hook_requests('failed') >= 1 }),
   'a failed task calls back');
($req) = hook_requests('failed');
$req //= { headers => {}, body => '' };
$body = eval { $JSON->decode($req->{body}) } // {};
is($body->{status}, 'failed', '  status failed');
is($body->{result}{exit_code}, 3, '  result.exit_code 3');
is(($req->{headers}{'x-sandbox-signature'} // ''), signature($req, $SECRET),
   '  signed');

# ------------------------------------------------- retries

set_status('retry', 500, 200);
set_status('always', 503);
set_status('gone', 404);
set_status('moved', "302 $HOOK/hook/target");

my $retry_id = submit('echo retry', 'retry');
my $always_id = submit('echo always', 'always');
my $gone_id = submit('echo gone', 'gone');
my $moved_id = submit('echo moved', 'moved');
my $closed_id = submit('echo closed', 'closed',
                       url => "http://127.0.0.1:$CLOSED/hook/closed");

# 500, then 200: delivered at the second attempt
$r = callback_done($retry_id);
my @reqs = hook_requests('retry');
is(scalar @reqs, 2, '500 then 200: 2 requests');
is_deeply([map { $_->{answered} } @reqs], [500, 200], '  answered 500, 200');
ok(@reqs == 2 && $reqs[1]{time} - $reqs[0]{time} >= 0.9,
   '  the second about 1 s after the first')
    or diag(join ' ', map { $_->{time} } @reqs);
ok(@reqs == 2 && $reqs[0]{body} eq $reqs[1]{body}
   && ($reqs[1]{headers}{'x-sandbox-task'} // '') eq ($retry_id // ''),
   '  the same task, the same body');
my $last = $reqs[-1] // { headers => {}, body => '' };
is($last->{headers}{'x-sandbox-signature'} // '', signature($last, $SECRET),
   '  signed');
is($r->{json}{callback}{status}, 'delivered', '  GET: delivered')
    or diag(explain_r($r));
is($r->{json}{callback}{attempts}, 2, '  attempts 2');

# 503 every time: the first attempt and callback_retries (2) more
$r = callback_done($always_id);
is(scalar(hook_requests('always')), 3,
   '503 always: 3 requests (1 + 2 retries)');
is($r->{json}{callback}{status}, 'failed', '  GET: failed')
    or diag(explain_r($r));
is($r->{json}{callback}{attempts}, 3, '  attempts 3');
like($r->{json}{callback}{last_error} // '', qr/503/, '  last_error: 503');
is($r->{json}{status}, 'succeeded', '  the task itself succeeded');

# 404: not retried
$r = callback_done($gone_id);
is($r->{json}{callback}{status}, 'failed', '404: GET: failed')
    or diag(explain_r($r));
is($r->{json}{callback}{attempts}, 1, '  attempts 1');
like($r->{json}{callback}{last_error} // '', qr/404/, '  last_error: 404');
is(scalar(hook_requests('gone')), 1, '  one request: not retried');

# 302: not followed, not retried
$r = callback_done($moved_id);
is($r->{json}{callback}{status}, 'failed', '302: GET: failed')
    or diag(explain_r($r));
is($r->{json}{callback}{attempts}, 1, '  attempts 1');
is(scalar(hook_requests('moved')), 1, '  one request');
is(scalar(hook_requests('target')), 0, '  the redirect is not followed');

# nothing listens: a network error, retried
$r = callback_done($closed_id);
is($r->{json}{callback}{status}, 'failed', 'connection refused: GET: failed')
    or diag(explain_r($r));
is($r->{json}{callback}{attempts}, 3, '  after 3 attempts');
like($r->{json}{callback}{last_error} // '', qr/\S/, '  with the error');

# ------------------------------------------------- origins refused at submit

my $OTHER = free_port();
$OTHER = free_port() while $OTHER == $CLOSED || $OTHER == $HOOK_PORT;

# [url, what, whether the message must say callback_allow]
for my $u (["http://127.0.0.1:$OTHER/hook/ok", 'another port', 1],
           ['http://169.254.169.254/latest/meta-data/',
            'http://169.254.169.254/', 1],
           ["https://127.0.0.1:$HOOK_PORT/hook/ok", 'https instead of http', 1],
           ["http://localhost:$HOOK_PORT/hook/ok", 'localhost for 127.0.0.1',
            1],
           ["http://127.0.0.1/hook/ok", 'the default port', 1],
           ["http://127.0.0.1:$HOOK_PORT\@169.254.169.254/hook/ok",
            'a user part that looks like the allowed origin', 0],
           ["http://127.0.0.1:$HOOK_PORT.evil.example/hook/ok",
            'a host that starts like it', 0])
{
    my ($url, $name, $says) = @$u;
    # sandboxd checks the origin: its refusals are invalid_argument
    $r = api('POST', '/execute', { command => 'true', session_id => $sid,
                                   async => $TRUE, callback_url => $url });
    is_error($r, 400, 'invalid_argument', "callback_url, $name");
    next unless $says;
    like($r->{json}{error}{message} // '', qr/callback_allow/,
         '  the message says it is not in callback_allow');
}
$r = api('POST', '/execute', { command => 'true', session_id => $sid,
                               async => $TRUE,
                               callback_url => 'http://169.254.169.254/' });
like($r->{json}{error}{message} // '', qr{http://169\.254\.169\.254},
     '  naming the origin');

$r = api('POST', '/plain/execute', { command => 'true', async => $TRUE,
                                     callback_url => "$HOOK/hook/plain" });
is_error($r, 400, 'invalid_argument', 'a sandboxd without callback_allow');
like($r->{json}{error}{message} // '', qr/not enabled/,
     '  callbacks are not enabled');
$r = api('POST', '/plain/execute', { command => 'echo x', async => $TRUE,
                                     session_id => "$sid-plain" });
is($r->{status}, 202, '  without a callback_url it takes tasks')
    or diag(explain_r($r));
my $plain_id = $r->{json}{task_id} // '0' x 32;
ok(wait_until($r->{status} == 202 ? 20 : 0,
              sub { (api('GET', "/plain/tasks/$plain_id")->{json}{status}
                         // '') eq 'succeeded' }),
   '  and runs them');
is(api('DELETE', "/plain/sessions/$sid-plain")->{status}, 204,
   '  (its session deleted)');

# ------------------------------------------------- callback_secret

# sandboxd with callback_allow and %env: (its exit status, its log) when it
# exits within 5 s; (undef, log) when it started (then it is stopped)
my $C_AGENT_DIR = "$ENV{SBX_AGENT_DIR}-t068c";

sub start_status {
    my (%env) = @_;
    my $dir = tempdir('t068c-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my @cmd = ($ENV{SBX_SANDBOXD}, '-c', $ENV{SBX_SANDBOXD_CONF});
    my %keep = map { $_ => $ENV{$_} // '' } qw(ASAN_OPTIONS UBSAN_OPTIONS);
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        %ENV = (PATH => '/usr/sbin:/usr/bin:/sbin:/bin', %keep,
                SANDBOXD_LISTEN => "unix:$dir/sandboxd.sock",
                SANDBOXD_LISTEN_TCP => '',
                SANDBOXD_INSTANCE => 't068c',
                SANDBOXD_REDIS_PREFIX => 't068c:',
                SANDBOXD_AGENT_DIR => $C_AGENT_DIR,
                SANDBOXD_CLEANUP_INTERVAL => '0',
                SANDBOXD_PID_FILE => '', SANDBOXD_LOG_FILE => '',
                SANDBOXD_AUDIT_LOG => "$dir/audit.log",
                SANDBOXD_RUN_POOL_SIZE => '0',
                SANDBOXD_CALLBACK_ALLOW => $HOOK, %env);
        open STDOUT, '>', "$dir/log" or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    my $status;
    wait_until(5, sub {
        return 0 unless waitpid($pid, POSIX::WNOHANG()) == $pid;
        $status = $?;
        return 1;
    });
    unless (defined $status) {
        kill 'TERM', $pid;
        waitpid($pid, 0);
    }
    my $log = do { local (@ARGV, $/) = ("$dir/log"); <> } // '';
    return ($status, $log);
}

my ($status, $log) = start_status(SANDBOXD_CALLBACK_SECRET => '');
ok(defined $status && $status != 0,
   'callback_allow without callback_secret: sandboxd refuses to start')
    or diag($log);
like($log, qr/callback_secret/, '  saying why');
($status, $log) = start_status(SANDBOXD_CALLBACK_SECRET => 'x' x 15);
ok(defined $status && $status != 0, '  nor with a secret of 15 bytes')
    or diag($log);
like($log, qr/callback_secret/, '  saying why');

# ------------------------------------------------- cancelled: no callback

is(scalar(hook_requests('cancelled')), 0,
   'the cancelled task sent no callback');
is(task($cancel_id)->{json}{status}, 'cancelled', '  and is cancelled');
is(scalar(hook_requests('none')) + scalar(hook_requests('plain')), 0,
   'no request went anywhere else');

is(api('DELETE', "/sessions/$sid")->{status}, 204, 'delete the session');
leak_check(instance => 't068', wait => 3);
ok(error_log_clean(), 'no error in nginx\'s log');
$sd->stop;

done_testing();

END {
    if ($$ == $PARENT) {
        local $?;
        if ($hook_pid) {
            kill 'TERM', $hook_pid;
            waitpid($hook_pid, 0);
        }
        $sd->cleanup(\&docker_api, \&uri_escape) if $sd;
        system('rm', '-rf', $C_AGENT_DIR) if $C_AGENT_DIR;
    }
}
