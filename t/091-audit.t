# The audit log (audit_log): one JSON line per operation that changes or
# runs something, rejected ones included, none for reads; its request_id
# is nginx's $request_id; SIGUSR1 reopens the file after logrotate moved
# it.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use JSON::PP;
use Time::HiRes qw(sleep);

my $sd = Sbx::Sandboxd->new(instance => 't091');
my $rid_log = servroot() . '/logs/rid.log';

start_nginx(http_config => <<'END', config => <<"END2");
    log_format sbx_rid '$request_id $http_x_test_tag';
END
    location / {
        sandbox on;
        sandbox_pass unix:$sd->{socket};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
        access_log $rid_log sbx_rid;
    }
END2

$sd->start(SANDBOXD_MAX_SESSIONS_PER_USER => 1);

my $JSON = JSON::PP->new->utf8;
my $sid = "t091-$$";
my $ws = "/sessions/$sid/workspace";

sub slurp {
    my ($path) = @_;
    open my $f, '<', $path or return '';
    local $/;
    return scalar <$f>;
}

sub audit_lines {
    my ($path) = @_;
    return map { $JSON->decode($_) } split /\n/, slurp($path // $sd->{audit});
}

# api() with an X-Test-Tag header, which nginx logs beside $request_id
sub tagged {
    my ($tag, $method, $path, $body, %opt) = @_;
    $opt{headers} = { %{ $opt{headers} // {} }, 'X-Test-Tag' => $tag };
    return api($method, $path, $body, %opt);
}

# The request id nginx logged for a tag (its access log is written after
# the response: wait a little for it).
sub nginx_request_id {
    my ($tag) = @_;
    for (1 .. 20) {
        for (split /\n/, slurp($rid_log)) {
            return $1 if /^(\S+) \Q$tag\E$/;
        }
        sleep 0.05;
    }
    return undef;
}

sub line_of {
    my ($tag) = @_;
    my $id = nginx_request_id($tag);
    my @l = grep { $_->{request_id} eq ($id // '') } audit_lines();
    is(scalar(@l), 1, "$tag: one audit line, with nginx's request id")
        or diag("request id " . ($id // 'none'));
    return $l[0] // {};
}

my $r = tagged('create', 'POST', '/sessions', { session_id => $sid });
is($r->{status}, 201, 'a session');
my $l = line_of('create');
like(nginx_request_id('create'), qr/^[0-9a-f]{32}$/,
     '  nginx\'s $request_id');
is($l->{op}, 'session.create', '  op');
is($l->{user}, 'alice', '  user');
is($l->{session}, $sid, '  session');
is($l->{outcome}, 'ok', '  outcome');
is($l->{instance}, 't091', '  instance');
like($l->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     '  time: RFC 3339, UTC, milliseconds');
ok(!exists $l->{command}, '  no command');

$r = tagged('exec-ok', 'POST', '/execute',
            { command => 'echo hi', session_id => $sid });
is($r->{json}{stdout}, "hi\n", 'an exec');
$l = line_of('exec-ok');
is($l->{op}, 'exec', '  op');
is($l->{command}, 'echo hi', '  command');
is($l->{exit_code}, 0, '  exit_code');
ok(exists $l->{signal} && !defined $l->{signal}, '  signal null');
ok(JSON::PP::is_bool($l->{timed_out}) && !$l->{timed_out},
   '  timed_out false');
ok(defined $l->{duration_ms}
   && abs($l->{duration_ms} - $r->{json}{duration_ms}) < 0.0006,
   '  duration_ms, the command\'s as in the response')
    or diag("$l->{duration_ms} vs $r->{json}{duration_ms}");
ok($l->{op_ms} >= 0, '  op_ms');
is($l->{outcome}, 'ok', '  outcome ok');

$r = tagged('exec-fail', 'POST', '/execute',
            { command => 'exit 3', session_id => $sid });
is($r->{json}{exit_code}, 3, 'a failing command');
$l = line_of('exec-fail');
is($l->{exit_code}, 3, '  exit_code 3');
is($l->{outcome}, 'ok', '  the op itself went well');

$r = tagged('exec-timeout', 'POST', '/execute',
            { command => 'sleep 5', timeout => 1, session_id => $sid });
ok($r->{json}{timed_out}, 'a command that times out');
$l = line_of('exec-timeout');
ok($l->{timed_out}, '  timed_out true');
ok(!defined $l->{exit_code}, '  exit_code null');
is($l->{signal}, $r->{json}{signal}, "  signal $r->{json}{signal}");
ok(defined $l->{signal}, '  (a signal at all)');

my $odd = qq{printf '%s\\n' "q\\"b\\\\s\ttab \x{e9}t\x{e9}" # \r\n\x01 \x{2028}};
$r = tagged('exec-odd', 'POST', '/execute',
            { command => $odd, session_id => $sid });
is($r->{status}, 200, 'a command with quotes, controls and non-ASCII');
$l = line_of('exec-odd');
is($l->{command}, $odd, '  the audit line holds it exactly');
my ($raw) = grep { /exec-odd|printf/ } split /\n/, slurp($sd->{audit});
ok($raw !~ /[\x00-\x1f]/, '  with no raw control character in the line');

$r = tagged('write', 'PUT', "$ws/content?path=dir/a.txt", 'data',
            headers => { 'Content-Type' => 'application/octet-stream' });
is($r->{status}, 200, 'a file written');
$l = line_of('write');
is($l->{op}, 'file.write', '  op file.write');
is($l->{path}, 'dir/a.txt', '  path');
is($l->{session}, $sid, '  session');

my $b = 'sbxB' . $$;
$r = tagged('upload', 'POST', "$ws/upload?path=up.txt",
            "--$b\r\nContent-Disposition: form-data; name=\"file\"; "
            . "filename=\"up.txt\"\r\n\r\nup\r\n--$b--\r\n",
            headers => { 'Content-Type' =>
                         "multipart/form-data; boundary=$b" });
is($r->{status}, 201, 'an upload');
$l = line_of('upload');
is($l->{op}, 'file.write', '  audited as file.write');
is($l->{path}, 'up.txt', '  path');

$r = tagged('fdelete', 'DELETE', "$ws?path=dir");
is($r->{status}, 204, 'a delete');
$l = line_of('fdelete');
is($l->{op}, 'file.delete', '  op file.delete');
is($l->{path}, 'dir', '  path');

my $before = () = audit_lines();
tagged('read-1', 'GET', "/sessions/$sid");
tagged('read-2', 'GET', '/sessions');
tagged('read-3', 'GET', "$ws/content?path=up.txt");
tagged('read-4', 'GET', $ws);
tagged('read-5', 'GET', '/quota');
is(nginx_request_id('read-5') ? 1 : 0, 1, 'reads were made');
is(scalar(() = audit_lines()), $before, '  and left no audit line');

# rejected operations are audited with their error code
$r = tagged('quota', 'POST', '/sessions', { session_id => "$sid-2" });
is($r->{status}, 429, 'past the session quota');
$l = line_of('quota');
is($l->{outcome}, 'session_quota_exceeded', '  audited with its code');
is($l->{session}, "$sid-2", '  and the session asked for');

$r = tagged('exec-refused', 'POST', '/execute',
            { command => 'echo never' });
is($r->{status}, 429, 'an exec refused');
$l = line_of('exec-refused');
is($l->{outcome}, 'session_quota_exceeded', '  audited');
is($l->{command}, 'echo never', '  with its command');
ok(!defined $l->{exit_code} && !defined $l->{timed_out},
   '  and no outcome of a command');

$r = tagged('missing', 'DELETE', '/sessions/nope');
is($r->{status}, 404, 'deleting a missing session');
$l = line_of('missing');
is($l->{outcome}, 'not_found', '  audited: not_found');
is($l->{op}, 'session.delete', '  op');

# logrotate: the file is moved, SIGUSR1 reopens it
rename $sd->{audit}, "$sd->{audit}.1" or die $!;
kill 'USR1', $sd->{pid};
sleep 0.2;
tagged('rotated', 'POST', '/execute',
       { command => 'echo rotated', session_id => $sid });
my $id = nginx_request_id('rotated');
is(scalar(grep { $_->{request_id} eq $id } audit_lines()), 1,
   'after SIGUSR1 the next line goes to a new file');
is(scalar(grep { $_->{request_id} eq $id } audit_lines("$sd->{audit}.1")),
   0, '  not to the moved one');

$r = tagged('delete', 'DELETE', "/sessions/$sid");
is($r->{status}, 204, 'the session is deleted');
$l = line_of('delete');
is($l->{op}, 'session.delete', '  op session.delete');
is($l->{outcome}, 'ok', '  ok');

ok(error_log_clean(), 'no error in nginx\'s log');

$sd->stop;

done_testing();

END {
    local $?;

    $sd->cleanup(\&docker_api, \&uri_escape);
}
