# Async tasks: "async": true on POST /execute and POST /run answers 202
# at once with a task, GET /tasks/{id} follows it (queued, running, then
# succeeded, failed or cancelled) and, once it finished, holds exactly
# the body the synchronous call returns; DELETE /tasks/{id} cancels it
# (a running command is killed).  Ids are the owner's only, the per-user
# limit (max_tasks_per_user) and the queue (task_workers) hold, a task
# outlives an nginx reload, and with the Redis store a sandboxd killed
# mid-task marks its tasks "interrupted" when it starts again.
#
# The shared sandboxd (location / and /api/, Redis) and three of the
# test's own:
#   q (t067q): Redis, max_tasks_per_user 2, task_workers 1,
#              max_sessions_per_user 1;
#   m (t067m): the memory store;
#   r (t067r): Redis, task_workers 1, task_ttl 600, killed with SIGKILL
#              and restarted.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Sbx::Leaks qw(leak_check redis_cmd);
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep time);

my $sdq = Sbx::Sandboxd->new(instance => 't067q');
my $sdm = Sbx::Sandboxd->new(instance => 't067m');
my $sdr = Sbx::Sandboxd->new(instance => 't067r');

my $KEYS = <<'END';
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
        sandbox_allowed_commands off;
        sandbox_exec_timeout 10s;
        sandbox_exec_timeout_max 60s;
END

my $CONFIG = <<"END";
    location /api/ {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
$KEYS
    }

    location /q/ {
        sandbox on;
        sandbox_pass unix:$sdq->{socket};
$KEYS
    }

    location /m/ {
        sandbox on;
        sandbox_pass unix:$sdm->{socket};
$KEYS
    }

    location /r/ {
        sandbox on;
        sandbox_pass unix:$sdr->{socket};
$KEYS
    }

    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
$KEYS
    }
END

start_nginx(config => $CONFIG);

my %q_env = (SANDBOXD_MAX_TASKS_PER_USER => 2, SANDBOXD_TASK_WORKERS => 1,
             SANDBOXD_MAX_SESSIONS_PER_USER => 1);
my %m_env = (SANDBOXD_REDIS_HOST => '');
my %r_env = (SANDBOXD_TASK_WORKERS => 1, SANDBOXD_TASK_TTL => 600);

$sdq->start(%q_env);
$sdm->start(%m_env);
$sdr->start(%r_env);

my $TRUE = JSON::PP::true;
my $FALSE = JSON::PP::false;
my $base = "t067-$$";
my $ID_RE = qr/^[0-9a-f]{32}$/;
my $TIME_RE = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
my %TERMINAL = map { $_ => 1 } qw(succeeded failed cancelled);
my %RANK = (queued => 0, running => 1, succeeded => 2, failed => 2,
            cancelled => 2);

# what differs from one call to the next of the same body
my %VARYING = map { $_ => 1 }
    qw(duration_ms cpu_ms max_rss_kb run_id session_created
       wall_ms memory_peak_bytes);

sub stable {
    my ($v) = @_;
    return { map { $_ => stable($v->{$_}) } grep { !$VARYING{$_} } keys %$v }
        if ref $v eq 'HASH';
    return [ map { stable($_) } @$v ] if ref $v eq 'ARRAY';
    return $v;
}


# submit($prefix, '/execute' | '/run', $body, %api_opt): the body with
# "async": true
sub submit {
    my ($prefix, $path, $body, %opt) = @_;
    return api('POST', "$prefix$path", { %$body, async => $TRUE }, %opt);
}

sub task {
    my ($url, %opt) = @_;
    return api('GET', $url, undef, %opt);
}

# Polls $url until the task is in one of @want (or has finished, or the
# deadline passed): the last answer, and the statuses seen in order.
sub poll {
    my ($url, $secs, $want, %opt) = @_;
    my %want = map { $_ => 1 } @$want;
    my $until = time + $secs;
    my (@seen, $r);

    while (1) {
        $r = task($url, %opt);
        my $s = ($r->{status} // 0) == 200 ? $r->{json}{status} // '?'
                                            : "HTTP " . ($r->{status} // '-');
        push @seen, $s unless @seen && $seen[-1] eq $s;
        last if $want{$s} || $TERMINAL{$s} || $s =~ /^HTTP/
                || time >= $until;
        sleep 0.05;
    }

    return ($r, \@seen);
}

sub finish {
    my ($url, %opt) = @_;
    return poll($url, 60, [], %opt);
}

sub wait_status {
    my ($url, $status, %opt) = @_;
    my ($r) = poll($url, 15, [$status], %opt);
    return $r;
}

sub in_order {
    my ($seen) = @_;
    for my $i (1 .. $#$seen) {
        return 0 unless defined $RANK{ $seen->[$i] }
                        && defined $RANK{ $seen->[$i - 1] }
                        && $RANK{ $seen->[$i] } > $RANK{ $seen->[$i - 1] };
    }
    return 1;
}

# the command lines running in a session's container, the agent's aside
sub commands {
    my ($instance, $sid, $user) = @_;
    my $name = 'sbx-' . substr(sha256_hex("$instance\0" . ($user // 'alice')
                                          . "\0$sid"), 0, 24);
    my $top = docker_api('GET', "/containers/$name/top?ps_args=-eo%20pid,args");
    return () unless ref $top->{json} eq 'HASH';
    return grep { !m{^/\.sbx/agent} }
           map { $_->[-1] } @{ $top->{json}{Processes} // [] };
}



# the 202 of a submit: its shape; returns the task id
sub accepted {
    my ($r, $prefix, $kind, $name) = @_;
    my $j = $r->{json} // {};
    my $id = $j->{task_id} // '';

    is($r->{status}, 202, "$name: 202") or diag(explain_r($r));
    like($id, $ID_RE, '  task_id: 32 lowercase hex');
    is($j->{kind}, $kind, "  kind $kind");
    is($j->{status}, 'queued', '  status queued');
    is($j->{status_url}, "$prefix/tasks/$id",
       "  status_url $prefix/tasks/<id>");
    like($r->{headers}{location} // '',
         qr{^(?:https?://[^/]+)?\Q$prefix\E/tasks/$id$},
         "  Location $prefix/tasks/<id>")
        or diag('Location: ' . ($r->{headers}{location} // 'none'));
    like($j->{created_at} // '', $TIME_RE, '  created_at, with milliseconds');

    return $id;
}

my @sessions;    # [prefix, user, sid] to delete at the end

# ============================================ execute: 202, poll, result

my $sid = "$base-a";
push @sessions, ['', 'alice', $sid];

my %body = (command => 'sleep 1; echo hello; echo oops >&2',
            session_id => $sid);

my $sync = api('POST', '/execute', \%body);
is($sync->{status}, 200, 'the synchronous execute') or diag(explain_r($sync));

my $t0 = time;
my $r = submit('', '/execute', \%body);
my $took = time - $t0;
my $id = accepted($r, '', 'execute', 'async execute');
ok($took < 0.9,
   "  answered before the command ran (${\ sprintf '%.2f', $took} s)");
my $url = "/tasks/$id";
my $done_id = $id;

my $seen;
($r, $seen) = finish($url);
is($r->{status}, 200, 'GET /tasks/{id}: 200') or diag(explain_r($r));
my $t = $r->{json} // {};
is($t->{status}, 'succeeded', '  succeeded') or diag(explain_r($r));
ok((grep { $_ eq 'running' } @$seen), '  was seen running on the way')
    or diag("seen: @$seen");
ok(in_order($seen), '  statuses in order (queued, running, succeeded)')
    or diag("seen: @$seen");
is($t->{task_id}, $id, '  task_id');
is($t->{kind}, 'execute', '  kind execute');
is($t->{session_id}, $sid, '  session_id');
like($t->{$_} // '', $TIME_RE, "  $_")
    for qw(created_at started_at finished_at);
ok(($t->{created_at} // '') le ($t->{started_at} // '')
   && ($t->{started_at} // '') le ($t->{finished_at} // ''),
   '  created_at <= started_at <= finished_at');
ok(!exists $t->{error}, '  no error');
ok(!exists $t->{callback}, '  no callback');
is($t->{result}{stdout}, "hello\n", '  result.stdout');
ok(exists $t->{result}{duration_ms}, '  result has the sync body\'s fields');
is_deeply(stable($t->{result}), stable($sync->{json}),
          '  result is the synchronous call\'s body')
    or diag(explain { async => $t->{result}, sync => $sync->{json} });

# a task record lives in Redis, and expires
my ($pttl) = redis_cmd($ENV{SBX_REDIS_PORT}, 'PTTL', "sbx:task:$id");
ok(defined $pttl && $pttl > 0 && $pttl <= 86400 * 1000,
   'the task is kept in Redis (sbx:task:<id>) with a TTL of at most a day')
    or diag('PTTL: ' . ($pttl // 'undef'));

# without a session id: the one made for it is named once it ran
$r = submit('', '/execute', { command => 'echo made' });
$id = accepted($r, '', 'execute', 'async execute without a session_id');
($r) = finish("/tasks/$id");
is($r->{json}{status}, 'succeeded', '  succeeded') or diag(explain_r($r));
like($r->{json}{session_id} // '', qr/\S/, '  names the session it ran in');
is($r->{json}{session_id}, $r->{json}{result}{session_id},
   '  the result\'s session');
push @sessions, ['', 'alice', $r->{json}{session_id}]
    if $r->{json}{session_id};

# "async": false is the synchronous call
$r = api('POST', '/execute', { command => 'echo sync', session_id => $sid,
                               async => $FALSE });
is($r->{status}, 200, '"async": false: synchronous, 200');
is($r->{json}{stdout}, "sync\n", '  with the command\'s output');

# null is no value, as for every other member
$r = api('POST', '/execute', { command => 'echo null', session_id => $sid,
                               async => undef });
is($r->{status}, 200, '"async": null: synchronous, 200');
is($r->{json}{stdout}, "null\n", '  with the command\'s output');

# ============================================ a location prefix

$r = submit('/api', '/execute', { command => 'echo prefixed',
                                  session_id => $sid });
$id = accepted($r, '/api', 'execute', 'under location /api/');
($r) = finish("/api/tasks/$id");
is($r->{status}, 200, '  GET /api/tasks/{id}: 200');
is($r->{json}{status}, 'succeeded', '  succeeded');
is($r->{json}{result}{stdout}, "prefixed\n", '  its output');

# ============================================ failed: exit code, timeout

%body = (command => 'echo bad; exit 3', session_id => $sid);
$sync = api('POST', '/execute', \%body);
$r = submit('', '/execute', \%body);
$id = accepted($r, '', 'execute', 'async exit 3');
($r) = finish("/tasks/$id");
is($r->{json}{status}, 'failed', '  failed') or diag(explain_r($r));
is($r->{json}{result}{exit_code}, 3, '  result.exit_code 3');
ok(!exists $r->{json}{error}, '  no error: the command ran');
is_deeply(stable($r->{json}{result}), stable($sync->{json}),
          '  result is the synchronous call\'s body')
    or diag(explain { async => $r->{json}{result}, sync => $sync->{json} });
my $failed_id = $id;

$r = submit('', '/execute', { command => 'sleep 10', session_id => $sid,
                              timeout => 1 });
$id = accepted($r, '', 'execute', 'async with a timeout of 1 s');
($r) = finish("/tasks/$id");
is($r->{json}{status}, 'failed', '  failed') or diag(explain_r($r));
is($r->{json}{result}{timed_out}, $TRUE, '  result.timed_out true');
is($r->{json}{result}{exit_code}, undef, '  no exit code');

# ============================================ run

my %run = (language => 'bash', code => 'echo from-run; echo err >&2');
$sync = api('POST', '/run', \%run, timeout => 60);
is($sync->{status}, 200, 'the synchronous run') or diag(explain_r($sync));

$r = submit('', '/run', \%run);
$id = accepted($r, '', 'run', 'async run');
($r) = finish("/tasks/$id");
is($r->{json}{status}, 'succeeded', '  succeeded') or diag(explain_r($r));
is($r->{json}{kind}, 'run', '  kind run');
is($r->{json}{result}{status}, 'ok', '  result.status ok');
is($r->{json}{result}{run}{stdout}, "from-run\n", '  result.run.stdout');
like($r->{json}{result}{run_id} // '', qr/\S/, '  result.run_id');
is_deeply(stable($r->{json}{result}), stable($sync->{json}),
          '  result is the synchronous call\'s body')
    or diag(explain { async => $r->{json}{result}, sync => $sync->{json} });

$r = submit('', '/run', { language => 'bash', code => 'exit 3' });
$id = accepted($r, '', 'run', 'async run that exits 3');
($r) = finish("/tasks/$id");
is($r->{json}{status}, 'failed', '  failed') or diag(explain_r($r));
is($r->{json}{result}{status}, 'runtime_error',
   '  result.status runtime_error');
is($r->{json}{result}{run}{exit_code}, 3, '  result.run.exit_code 3');

# ============================================ refused at submit

# as the synchronous call refuses them, 400 before any task exists
my @refused = (
    ['/run', { language => 'cobol', code => 'x' }, 'an unknown language'],
    ['/run', { code => 'x', version => '2' }, 'a version the image lacks'],
    ['/run', { language => 'bash' }, 'a run without code'],
    ['/execute', { session_id => $sid }, 'an execute without a command'],
    ['/execute', { command => 'true', session_id => '-bad' },
     'a bad session id'],
    ['/execute', { command => 'true', timeout => 61 },
     'a timeout over the maximum'],
    ['/execute', { command => 'true', colour => 'red' }, 'an unknown field'],
);

for my $b (@refused) {
    my ($path, $body, $name) = @$b;
    my $s = api('POST', $path, $body);
    my $a = submit('', $path, $body);
    is($a->{status}, 400, "async, $name: 400") or diag(explain_r($a));
    is($s->{status}, 400, '  as the synchronous call');
    is_deeply($a->{json}, $s->{json}, '  with the same body')
        or diag("async: $a->{body}\n sync: $s->{body}");
}

my @bad = (
    [{ command => 'true', async => 'yes' }, qr/async/, '"async": "yes"'],
    [{ command => 'true', async => 1 }, qr/async/, '"async": 1'],
    [{ command => 'true', callback_url => 'http://127.0.0.1:9/x' },
     qr/callback|async/, 'callback_url without async'],
    [{ command => 'true', async => $FALSE,
       callback_url => 'http://127.0.0.1:9/x' },
     qr/callback|async/, 'callback_url with "async": false'],
    [{ command => 'true', async => $TRUE, callback_url => 'ftp://x' },
     qr/callback/, 'callback_url "ftp://x"'],
    [{ command => 'true', async => $TRUE, callback_url => 42 },
     qr/callback/, 'callback_url that is a number'],
    [{ command => 'true', async => $TRUE,
       callback_url => 'http://127.0.0.1/' . ('x' x 2048) },
     qr/callback/, 'callback_url over 2048 bytes'],
);

for my $b (@bad) {
    my ($body, $re, $name) = @$b;
    $r = api('POST', '/execute', $body);
    is_error($r, 400, 'invalid_request', $name);
    like($r->{json}{error}{message} // '', $re, '  naming the member');
}

$r = api('POST', '/run', { code => 'x', async => 'yes' });
is_error($r, 400, 'invalid_request', '/run with "async": "yes"');

# ============================================ ids: malformed, unknown, others'

my $nobody = '0123456789abcdef' x 2;
$r = task("/tasks/$nobody");
is_error($r, 404, 'not_found', 'an unknown id');
my $unknown_body = ($r->{body} // '') =~ s/$nobody/ID/gr;

$r = task("/tasks/$done_id", key => 'test-key-bob');
is_error($r, 404, 'not_found', 'another user\'s task');
is(($r->{body} // '') =~ s/$done_id/ID/gr, $unknown_body,
   '  the same body as an unknown id');
is_error(api('DELETE', "/tasks/$done_id", undef, key => 'test-key-bob'),
         404, 'not_found', 'another user cannot cancel it');
is_error(api('DELETE', "/tasks/$nobody"), 404, 'not_found',
         'DELETE of an unknown id');
is(task("/tasks/$done_id")->{json}{status}, 'succeeded',
   '  the owner still sees it as it was');

for my $bad_id ('xyz', uc($done_id), substr($done_id, 0, 31),
                "${done_id}0", ('g' x 32), 'a-b' . ('0' x 29))
{
    is_error(task("/tasks/$bad_id"), 400, 'invalid_request',
             "a malformed id \"$bad_id\"");
}
is_error(api('DELETE', '/tasks/xyz'), 400, 'invalid_request',
         'DELETE of a malformed id');

# ============================================ cancel

my $csid = "$base-c";
push @sessions, ['', 'alice', $csid];
is(api('POST', '/execute', { command => 'rm -f /workspace/x',
                             session_id => $csid })->{status},
   200, 'cancel: a session of its own');

my $submitted = time;
$r = submit('', '/execute', { command => 'sleep 4; touch /workspace/x',
                              session_id => $csid });
$id = accepted($r, '', 'execute', 'a task of sleep 4; touch x');
ok(wait_until(5, sub { grep { /^sleep 4$/ }
                        commands($ENV{SBX_INSTANCE}, $csid) }),
   '  its command runs');
is(task("/tasks/$id")->{json}{status}, 'running', '  GET says running');

$r = api('DELETE', "/tasks/$id");
is($r->{status}, 200, 'DELETE a running task: 200') or diag(explain_r($r));
is($r->{json}{status}, 'cancelled', '  status cancelled');
like($r->{json}{finished_at} // '', $TIME_RE, '  finished_at set');
ok(!exists $r->{json}{result}, '  no result');
my $cancelled = $r->{json};

ok(wait_until(2, sub { !grep { /sleep 4/ }
                           commands($ENV{SBX_INSTANCE}, $csid) }),
   '  its process is gone within 2 s')
    or diag(join ', ', commands($ENV{SBX_INSTANCE}, $csid));

$r = task("/tasks/$id");
is($r->{json}{status}, 'cancelled', '  GET: cancelled');
$r = api('DELETE', "/tasks/$id");
is($r->{status}, 200, 'DELETE again: 200');
is_deeply($r->{json}, $cancelled, '  the same object');

sleep($submitted + 6 - time) if $submitted + 6 > time;
$r = api('POST', '/execute', { command => 'ls /workspace',
                               session_id => $csid });
is($r->{status}, 200, 'past the end of its sleep, the session works');
unlike($r->{json}{stdout} // '', qr/^x$/m, '  and x was never made');
is(task("/tasks/$id")->{json}{status}, 'cancelled', '  still cancelled');

$r = api('DELETE', "/tasks/$done_id");
is_error($r, 409, 'conflict', 'DELETE a succeeded task');
is(task("/tasks/$done_id")->{json}{status}, 'succeeded', '  it stays so');
is_error(api('DELETE', "/tasks/$failed_id"), 409, 'conflict',
         'DELETE a failed task');

# a long run, cancelled
$r = submit('', '/run', { language => 'bash', code => 'sleep 30' });
$id = accepted($r, '', 'run', 'a run of sleep 30');
$r = wait_status("/tasks/$id", 'running');
is($r->{json}{status}, 'running', '  runs') or diag(explain_r($r));
$r = api('DELETE', "/tasks/$id");
is($r->{status}, 200, '  DELETE: 200');
is($r->{json}{status}, 'cancelled', '  cancelled');
($r) = finish("/tasks/$id");
is($r->{json}{status}, 'cancelled', '  and stays so');

# ============================================ nginx reload

$r = submit('', '/execute', { command => 'sleep 2; echo after-reload',
                              session_id => $sid });
$id = accepted($r, '', 'execute', 'a task of 2 s');
$r = task("/tasks/$id");
ok(!$TERMINAL{ $r->{json}{status} // 'succeeded' }, '  not finished yet')
    or diag(explain_r($r));
ok(reload_nginx(config => $CONFIG), 'nginx -s reload');
($r) = finish("/tasks/$id");
is($r->{status}, 200, '  GET after the reload: 200');
is($r->{json}{status}, 'succeeded', '  the task finished normally');
is($r->{json}{result}{stdout}, "after-reload\n", '  with its output');

# ============================================ per-user limit, the queue (q)

my $qsid = "$base-q";
is(api('POST', '/q/execute', { command => 'true', session_id => $qsid })
       ->{status}, 200, 'q: a session (max_tasks_per_user 2, task_workers 1)');

my %long = (command => 'sleep 30', session_id => $qsid);
$r = submit('/q', '/execute', \%long);
my $q1 = accepted($r, '/q', 'execute', 'q: task 1');
$r = wait_status("/q/tasks/$q1", 'running');
is($r->{json}{status}, 'running', '  runs');

$r = submit('/q', '/execute', \%long);
my $q2 = accepted($r, '/q', 'execute', 'q: task 2');
sleep 0.3;
$r = task("/q/tasks/$q2");
is($r->{json}{status}, 'queued', '  queued while task 1 runs (1 worker)')
    or diag(explain_r($r));
is($r->{json}{started_at}, undef, '  started_at null');

$r = submit('/q', '/execute', \%long);
is_error($r, 429, 'task_quota_exceeded', 'q: a third task');

$r = submit('/q', '/execute', { command => 'true' }, key => 'test-key-bob');
is($r->{status}, 202, 'q: bob has his own limit: 202') or diag(explain_r($r));
my $qb = $r->{json}{task_id} // $nobody;
is(api('DELETE', "/q/tasks/$qb", undef, key => 'test-key-bob')->{status},
   200, '  cancelled while queued');
$r = task("/q/tasks/$qb", key => 'test-key-bob');
is($r->{json}{status}, 'cancelled', '  cancelled');
is($r->{json}{started_at}, undef, '  it never started');
ok(!exists $r->{json}{session_id}, '  nor made a session');

is(api('DELETE', "/q/tasks/$q1")->{json}{status}, 'cancelled',
   'q: cancel task 1');
$r = submit('/q', '/execute', \%long);
my $q3 = accepted($r, '/q', 'execute', '  a slot is free at once: task 3');
$r = wait_status("/q/tasks/$q2", 'running');
is($r->{json}{status}, 'running', '  task 2 runs now');
is(task("/q/tasks/$q3")->{json}{status}, 'queued', '  task 3 waits its turn');
is_deeply(api('GET', '/q/ready')->{json}{tasks},
          { queued => 1, running => 1, workers => 1 },
          '  GET /ready counts them: 1 queued, 1 running, 1 worker');
is_error(submit('/q', '/execute', \%long), 429, 'task_quota_exceeded',
         '  and the limit holds again');

for my $q ($q3, $q2) {
    is(api('DELETE', "/q/tasks/$q")->{json}{status}, 'cancelled',
       "q: cancel $q");
}
ok(wait_until(3, sub { !grep { /sleep 30/ } commands('t067q', $qsid) }),
   'q: no command left running') or diag(join ', ', commands('t067q', $qsid));

# the operation fails (a second session is over the quota of 1): "error",
# no "result"
my $sync_q = api('POST', '/q/execute', { command => 'true',
                                         session_id => "$qsid-2" });
is_error($sync_q, 429, 'session_quota_exceeded',
         'q: synchronously, a second session');
$r = submit('/q', '/execute', { command => 'true', session_id => "$qsid-3" });
$id = accepted($r, '/q', 'execute', 'q: async, a second session');
($r) = finish("/q/tasks/$id");
is($r->{json}{status}, 'failed', '  failed') or diag(explain_r($r));
is($r->{json}{error}{code}, 'session_quota_exceeded',
   '  error.code session_quota_exceeded');
like($r->{json}{error}{message} // '', qr/\S/, '  with a message');
ok(!exists $r->{json}{result}, '  no result');
is(api('DELETE', "/q/sessions/$qsid")->{status}, 204, 'q: delete the session');
leak_check(instance => 't067q', name => 'q', wait => 3);

# ============================================ the memory store (m)

my $msid = "$base-m";
$r = submit('/m', '/execute', { command => 'echo memory',
                                session_id => $msid });
$id = accepted($r, '/m', 'execute', 'memory store: async execute');
($r) = finish("/m/tasks/$id");
is($r->{json}{status}, 'succeeded', '  succeeded') or diag(explain_r($r));
is($r->{json}{result}{stdout}, "memory\n", '  its output');
my $m_done = $id;

$r = submit('/m', '/run', { language => 'bash', code => 'echo mrun' });
$id = accepted($r, '/m', 'run', 'memory store: async run');
($r) = finish("/m/tasks/$id");
is($r->{json}{status}, 'succeeded', '  succeeded') or diag(explain_r($r));
is($r->{json}{result}{run}{stdout}, "mrun\n", '  its output');

$r = submit('/m', '/execute', { command => 'sleep 30', session_id => $msid });
$id = accepted($r, '/m', 'execute', 'memory store: sleep 30');
is(wait_status("/m/tasks/$id", 'running')->{json}{status}, 'running',
   '  runs');
is(api('DELETE', "/m/tasks/$id")->{json}{status}, 'cancelled', '  cancelled');
is_error(task("/m/tasks/$id", key => 'test-key-bob'), 404, 'not_found',
         '  not bob\'s');
ok(wait_until(3, sub { !grep { /sleep 30/ } commands('t067m', $msid) }),
   '  its command is gone');

$sdm->stop;
$sdm->start(%m_env);
is_error(task("/m/tasks/$m_done"), 404, 'not_found',
         'memory store: restarted, its tasks are gone');

is(api('DELETE', "/m/sessions/$msid")->{status}, 204,
   'memory store: delete the session');
leak_check(instance => 't067m', name => 'm', wait => 3, sessions => sub {
    map { my $u = $_;
          map { [$u, $_->{session_id}] }
              @{ api('GET', '/m/sessions', undef, key => "test-key-$u")
                     ->{json}{sessions} // [] } } qw(alice bob);
});

# ============================================ sandboxd killed (r, Redis)

my $rsid = "$base-r";
is(api('POST', '/r/execute', { command => 'true', session_id => $rsid })
       ->{status}, 200, 'r: a session');
$r = submit('/r', '/execute', { command => 'sleep 30', session_id => $rsid });
my $r1 = accepted($r, '/r', 'execute', 'r: a task of sleep 30');
$r = submit('/r', '/execute', { command => 'echo never', session_id => $rsid });
my $r2 = accepted($r, '/r', 'execute', 'r: one queued behind it');
ok(wait_until(5, sub { grep { /^sleep 30$/ } commands('t067r', $rsid) }),
   '  the first runs');
is(task("/r/tasks/$r2")->{json}{status}, 'queued', '  the second is queued');

$sdr->signal('KILL');
ok(defined $sdr->wait_exit(5), 'r: sandboxd killed (SIGKILL)');
$sdr->start(%r_env);

for my $rid ($r1, $r2) {
    ($r) = poll("/r/tasks/$rid", 5, ['failed']);
    is($r->{json}{status}, 'failed', "r restarted: task $rid failed")
        or diag(explain_r($r));
    is($r->{json}{error}{code}, 'interrupted', '  error.code interrupted');
    like($r->{json}{error}{message} // '', qr/restart/i,
         '  saying sandboxd restarted');
    ok(!exists $r->{json}{result}, '  no result');
    like($r->{json}{finished_at} // '', $TIME_RE, '  finished_at set');
    is_error(api('DELETE', "/r/tasks/$rid"), 409, 'conflict',
             '  DELETE: it has finished');
}
sleep 1;
is(task("/r/tasks/$r2")->{json}{status}, 'failed',
   '  the queued one never runs after all');
ok(wait_until(3, sub { !grep { /sleep 30/ } commands('t067r', $rsid) }),
   'r: no command left running');

$r = submit('/r', '/execute', { command => 'echo again', session_id => $rsid });
$id = accepted($r, '/r', 'execute', 'r: a new task after the restart');
($r) = finish("/r/tasks/$id");
is($r->{json}{result}{stdout}, "again\n", '  runs');
($pttl) = redis_cmd($ENV{SBX_REDIS_PORT}, 'PTTL', "t067r:task:$id");
ok(defined $pttl && $pttl > 590 * 1000 && $pttl <= 600 * 1000,
   '  its record (t067r:task:<id>) expires after task_ttl (600 s)')
    or diag('PTTL: ' . ($pttl // 'undef'));

is(api('DELETE', "/r/sessions/$rsid")->{status}, 204, 'r: delete the session');
leak_check(instance => 't067r', name => 'r', wait => 3);

# ============================================ the end

for my $s (@sessions) {
    my ($prefix, $user, $s_id) = @$s;
    is(api('DELETE', "$prefix/sessions/$s_id", undef,
           key => "test-key-$user")->{status}, 204, "delete session $s_id");
}
leak_check(instance => $ENV{SBX_INSTANCE}, prefix => 'sbx:',
           name => 'shared', wait => 3);

ok(error_log_clean(), 'no error in nginx\'s log');

$_->stop for $sdq, $sdm, $sdr;

done_testing();

END {
    local $?;

    $_->cleanup(\&docker_api, \&uri_escape) for grep { $_ } $sdq, $sdm, $sdr;
}
