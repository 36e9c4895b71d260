# Package installs: POST /sessions/{id}/install {manager, packages} is
# always a task (202).  A helper container mounts the session's
# /workspace and runs pip (into /workspace/.venv) or npm (node_modules
# under /workspace); the next execute imports or requires the package
# with no path set.  The helper has only the network the operator gives
# installs; the session keeps none.  Names that are options, paths, URLs
# or archives are refused with 400; an install that fails is a "failed"
# task with the installer's output.
#
# Three sandboxds of the test's own, and a package index made here
# (Sbx::Packages: wheels, npm tarballs, and a real HTTP server standing in
# for PyPI and the npm registry, on the Docker bridge's gateway):
#   w (t069w): install_network none, install_wheelhouse (offline pip);
#   n (t069n): install_network bridge, the index as pip index and npm
#              registry;
#   c (t069c): install_network none, an npm cache filled from the index
#              beforehand (offline npm).

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Sbx::Leaks qw(leak_check);
use Sbx::Packages qw(make_wheel npm_tarball start_index);
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->canonical;
my $TRUE = JSON::PP::true;
my $FALSE = JSON::PP::false;
my $base = "t069-$$";
my %TERMINAL = map { $_ => 1 } qw(succeeded failed cancelled);

# ------------------------------------------------------------ packages

my $tmp = tempdir('t069-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;

my $wheels = "$tmp/wheels";
mkdir $wheels, 0755 or die $!;
make_wheel($wheels, 'mypkg', '1.0');
make_wheel($wheels, 'mydep', '0.2');
make_wheel($wheels, 'myapp', '2.0', 'mydep>=0.1');

my @npm = (
    { name => 'mydep', version => '0.2.0',
      tgz => npm_tarball('mydep', '0.2.0') },
    { name => 'mypkg', version => '1.0.0', bin => 1,
      dependencies => { mydep => '^0.2.0' },
      tgz => npm_tarball('mypkg', '1.0.0', bin => 1,
                         dependencies => { mydep => '^0.2.0' }) },
    { name => 'scripted', version => '1.0.0',
      scripts => { postinstall => 'touch /workspace/postinstall-ran' },
      tgz => npm_tarball('scripted', '1.0.0', scripts => {
                             postinstall => 'touch /workspace/postinstall-ran'
                         }) },
);

my $bridge = docker_api('GET', '/networks/bridge')->{json} // {};
my $gateway = $bridge->{IPAM}{Config}[0]{Gateway} // '172.17.0.1';
my $index_log = "$tmp/index.log";
my ($index, $index_pid) = start_index($gateway, $wheels, \@npm, $index_log);
END { kill 'KILL', $index_pid if $index_pid }

# an npm cache, filled from the index by the image's npm (as an operator
# would on a connected machine)
my $cache = "$tmp/npm-cache";
mkdir $cache, 0755 or die $!;
chown 1000, 1000, $cache;

sub run_container {
    my (%spec) = @_;
    my $r = docker_api('POST', '/containers/create', {
        Image => 'ngx-sandbox/runtime:latest', User => '1000:1000',
        Env => ['HOME=/tmp'], Labels => { 'io.ngx-sandbox.instance' => 't069' },
        %spec });
    my $id = $r->{json}{Id} // die 'create: ' . explain_r($r);
    docker_api('POST', "/containers/$id/start");
    my $w = docker_api('POST', "/containers/$id/wait", undef, timeout => 120);
    my $logs = docker_api('GET', "/containers/$id/logs?stdout=1&stderr=1");
    docker_api('DELETE', "/containers/$id?force=1");
    return ($w->{json}{StatusCode} // -1, $logs->{body} // '');
}

my ($code, $out) = run_container(
    Cmd => ['npm', 'cache', 'add', '--registry', "$index/", '--cache',
            '/cache', 'mypkg@1.0.0', 'mydep@0.2.0'],
    HostConfig => { NetworkMode => 'bridge', Binds => ["$cache:/cache"],
                    Tmpfs => { '/tmp' => '' } });
is($code, 0, 'the npm cache is filled from the index') or diag($out);

# ------------------------------------------------------------ the stack

my $sdw = Sbx::Sandboxd->new(instance => 't069w');
my $sdn = Sbx::Sandboxd->new(instance => 't069n');
my $sdc = Sbx::Sandboxd->new(instance => 't069c');

my $KEYS = <<'END';
        sandbox_api_key test-key-alice alice;
        sandbox_api_key test-key-bob bob;
        sandbox_allowed_commands off;
        sandbox_exec_timeout 20s;
END

my $config = '';
for my $l ([w => $sdw], [n => $sdn], [c => $sdc]) {
    $config .= <<"END";
    location /$l->[0]/ {
        sandbox on;
        sandbox_pass unix:$l->[1]{socket};
$KEYS
    }
END
}
start_nginx(config => $config);

$sdw->start(SANDBOXD_INSTALL_WHEELHOUSE => $wheels,
            SANDBOXD_INSTALL_TIMEOUT => 120, SANDBOXD_CLEANUP_INTERVAL => 1);
$sdn->start(SANDBOXD_INSTALL_NETWORK => 'bridge',
            SANDBOXD_INSTALL_PIP_INDEX_URL => "$index/simple/",
            SANDBOXD_INSTALL_NPM_REGISTRY => "$index/",
            SANDBOXD_INSTALL_TIMEOUT => 120);
$sdc->start(SANDBOXD_INSTALL_NPM_CACHE => $cache,
            SANDBOXD_INSTALL_NPM_REGISTRY => "$index/",
            SANDBOXD_INSTALL_TIMEOUT => 120);

my @sessions;

sub install {
    my ($prefix, $sid, $body, %opt) = @_;
    push @sessions, [$prefix, $sid] unless grep { $_->[1] eq $sid } @sessions;
    return api('POST', "/$prefix/sessions/$sid/install", $body, %opt);
}

# Submits an install, checks the 202, and waits for its end: the task.
sub installed {
    my ($prefix, $sid, $manager, $packages, $name) = @_;
    my $r = install($prefix, $sid, { manager => $manager,
                                     packages => $packages });
    my $j = $r->{json} // {};

    is($r->{status}, 202, "$name: 202") or diag(explain_r($r));
    is($j->{kind}, 'install', '  a task of kind install');
    is($j->{status_url}, "/$prefix/tasks/" . ($j->{task_id} // ''),
       '  its status_url');
    return {} unless $j->{task_id};

    my $t;
    wait_until(180, sub {
        $t = api('GET', $j->{status_url})->{json} // {};
        $TERMINAL{ $t->{status} // '' };
    });

    return $t;
}

sub execute {
    my ($prefix, $sid, $command) = @_;
    my $r = api('POST', "/$prefix/execute", { session_id => $sid,
                                             command => $command });
    return $r->{json} // {};
}

# ======================================== pip from an offline wheelhouse

my $sid = "$base-pip";
my $t = installed('w', $sid, 'pip', ['myapp'],
                  'pip, wheelhouse, no network');
is($t->{status}, 'succeeded', '  succeeded') or diag(explain $t);
my $res = $t->{result} // {};
is($res->{exit_code}, 0, '  the installer exited 0');
is($res->{manager}, 'pip', '  result.manager');
is_deeply($res->{packages}, ['myapp'], '  result.packages');
is($res->{session_id}, $sid, '  result.session_id');
is($res->{session_created}, $TRUE, '  the session was made for it');
like($res->{stdout} // '', qr/Successfully installed .*myapp-2\.0/,
     '  pip\'s output says what it installed')
    or diag($res->{stdout} . $res->{stderr});
like($res->{stdout} // '', qr/mydep-0\.2/, '  with its dependency');

my $e = execute('w', $sid, 'python3 -c "import myapp, mydep; '
                           . 'print(myapp.hello(), mydep.VERSION)"');
is($e->{stdout}, "hello from myapp 0.2\n",
   'execute: plain python3 imports the package and its dependency')
    or diag(explain $e);
$e = execute('w', $sid, 'myapp-hello');
is($e->{stdout}, "hello from myapp\n", '  its console script is on PATH')
    or diag(explain $e);
$e = execute('w', $sid, 'ls -d /workspace/.venv/bin && ls /sys/class/net');
is($e->{stdout}, "/workspace/.venv/bin\nlo\n",
   '  the venv is in /workspace; the session has no network but lo')
    or diag(explain $e);

$t = installed('w', $sid, 'pip', ['mypkg==1.0'],
               'a second install into the same session');
is($t->{status}, 'succeeded', '  succeeded') or diag(explain $t);
is($t->{result}{session_created}, $FALSE, '  into the existing session');
$e = execute('w', $sid, 'python3 -c "import myapp, mypkg; '
                        . 'print(mypkg.hello())"');
is($e->{stdout}, "hello from mypkg\n", '  both installs are importable')
    or diag(explain $e);

# a helper is gone once its install ended
ok(wait_until(10, sub {
       my $f = $JSON->encode({ label => ['io.ngx-sandbox.instance=t069w',
                                         'io.ngx-sandbox.run'] });
       !@{ docker_api('GET', '/containers/json?all=1&filters='
                             . uri_escape($f))->{json} // [1] };
   }), 'no helper container is left');

# a failing install: the installer's output in a failed task
$t = installed('w', $sid, 'pip', ['nosuchpkg'], 'pip of a missing package');
is($t->{status}, 'failed', '  failed') or diag(explain $t);
ok($t->{result}{exit_code}, '  with the installer\'s exit code')
    or diag(explain $t);
like(($t->{result}{stdout} // '') . ($t->{result}{stderr} // ''),
     qr/No matching distribution found for nosuchpkg/,
     '  and its output');
ok(!exists $t->{error}, '  the op itself did not fail');

# no network, no index: pip fails and says so
$t = installed('w', "$base-pip2", 'pip', ['requests'],
               'pip of a package the wheelhouse lacks');
is($t->{status}, 'failed', '  failed') or diag(explain $t);

# ======================================== pip and npm over the network

$sid = "$base-net";
$t = installed('n', $sid, 'pip', ['myapp>=2'],
               'pip from an index over install_network bridge');
is($t->{status}, 'succeeded', '  succeeded') or diag(explain $t);
$e = execute('n', $sid, 'python3 -c "import myapp; print(myapp.hello())"');
is($e->{stdout}, "hello from myapp\n", '  importable') or diag(explain $e);

$t = installed('n', $sid, 'npm', ['mypkg@^1.0.0'],
               'npm from a registry over install_network bridge');
is($t->{status}, 'succeeded', '  succeeded') or diag(explain $t);
is($t->{result}{manager}, 'npm', '  result.manager npm');
$e = execute('n', $sid, 'node -e "console.log(require(\'mypkg\').hello())"');
is($e->{stdout}, "hello from mypkg, deps ok\n",
   'execute: node requires the package and its dependency')
    or diag(explain $e);
$e = execute('n', $sid, 'mypkg-hello');
is($e->{stdout}, "hello from mypkg, deps ok\n",
   '  its bin is on PATH (node_modules/.bin)') or diag(explain $e);

$e = execute('n', $sid, "python3 -c \"import socket; "
                        . "socket.create_connection(('$gateway', "
                        . ($index =~ /:(\d+)$/)[0] . "), 3)\"");
isnt($e->{exit_code}, 0,
     'the session itself still cannot reach the index')
    or diag(explain $e);

$t = installed('n', $sid, 'npm', ['scripted'],
               'npm of a package with a postinstall script');
is($t->{status}, 'succeeded', '  succeeded') or diag(explain $t);
$e = execute('n', $sid, 'test -f /workspace/node_modules/scripted/index.js; '
                        . 'echo $?; test -e /workspace/postinstall-ran; '
                        . 'echo $?');
is($e->{stdout}, "0\n1\n", '  it is installed, and its script did not run')
    or diag(explain $e);

# a workspace .npmrc cannot turn scripts back on
execute('n', $sid, 'printf "ignore-scripts=false\n" > /workspace/.npmrc');
$t = installed('n', $sid, 'npm', ['scripted@1.0.0'],
               'npm again, with ignore-scripts=false in the workspace');
is($t->{status}, 'succeeded', '  succeeded') or diag(explain $t);
$e = execute('n', $sid, 'test -e /workspace/postinstall-ran; echo $?');
is($e->{stdout}, "1\n", '  still no script ran');

# cancelled while the helper waits on the registry: the helper goes
my $r = install('n', $sid, { manager => 'npm', packages => ['slowpkg'] });
my $url = $r->{json}{status_url} // '/n/tasks/none';
ok(wait_until(15, sub {
       (api('GET', $url)->{json}{status} // '') eq 'running' }),
   'a slow install runs') or diag(explain_r($r));
my $helpers = sub {
    my $f = $JSON->encode({ label => ['io.ngx-sandbox.instance=t069n',
                                      'io.ngx-sandbox.run'] });
    scalar @{ docker_api('GET', '/containers/json?all=1&filters='
                                . uri_escape($f))->{json} // [] };
};
is($helpers->(), 1, '  in its helper container');
$r = api('DELETE', $url);
is($r->{json}{status}, 'cancelled', '  DELETE cancels it')
    or diag(explain_r($r));
ok(wait_until(15, sub { $helpers->() == 0 }), '  and its helper is removed');
sleep 8;    # the index serves one request at a time

$t = installed('n', $sid, 'npm', ['nosuchpkg'], 'npm of a missing package');
is($t->{status}, 'failed', '  failed') or diag(explain $t);
like(($t->{result}{stdout} // '') . ($t->{result}{stderr} // ''),
     qr/E404|404/, '  with npm\'s 404 in the output') or diag(explain $t);

# ======================================== npm from an offline cache

$sid = "$base-cache";
$t = installed('c', $sid, 'npm', ['mypkg'],
               'npm from the offline cache, no network');
is($t->{status}, 'succeeded', '  succeeded') or diag(explain $t);
$e = execute('c', $sid, 'node -e "console.log(require(\'mypkg\').hello())"');
is($e->{stdout}, "hello from mypkg, deps ok\n", '  node requires it')
    or diag(explain $e);

# ======================================== names that are not names: 400

my @bad = (
    [pip => '--index-url=http://evil/'], [pip => '-e'],
    [pip => '-rrequirements.txt'], [pip => 'git+https://x/y.git'],
    [pip => 'pkg @ https://x/p.whl'], [pip => 'https://x/p.whl'],
    [pip => 'mypkg-1.0-py3-none-any.whl'], [pip => '../up'],
    [pip => '/abs/path'], [pip => 'pkg; python_version<"3"'],
    [pip => "pkg\n"], [pip => 'pkg==1.0 '], [pip => 'x.tar.gz'],
    [npm => '--registry=http://evil/'], [npm => 'git+https://x/y.git'],
    [npm => 'github:user/repo'], [npm => 'user/repo'], [npm => 'file:../x'],
    [npm => 'pkg@file:x'], [npm => '../x'], [npm => 'pkg@npm:other@1'],
    [npm => 'x.tgz'], [npm => 'Upper'], [npm => 'pkg@>=1 <2'],
);

for my $b (@bad) {
    my ($m, $p) = @$b;
    my $r = install('w', "$base-bad", { manager => $m,
                                        packages => ['mypkg', $p] });
    (my $shown = $p) =~ s/\n/\\n/g;
    is_error($r, 400, 'invalid_argument', "$m name \"$shown\": 400");
}

for my $case (
    [{ manager => 'apt', packages => ['x'] }, 'manager "apt"'],
    [{ packages => ['x'] }, 'no manager'],
    [{ manager => 'pip' }, 'no packages'],
    [{ manager => 'pip', packages => [] }, 'no package'],
    [{ manager => 'pip', packages => ['x'] x 65 }, '65 packages'],
    [{ manager => 'pip', packages => [1] }, 'a package that is no string'],
    [{ manager => 'pip', packages => 'x' }, 'packages a string'],
    [{ manager => 'pip', packages => ['x'], async => $FALSE },
     '"async": false'],
    [{ manager => 'pip', packages => ['x'], index_url => 'http://e/' },
     'an unknown member'],
    ['not json', 'a body that is no JSON', 'invalid_json'],
    [undef, 'no body'])
{
    my $r = install('w', "$base-bad", $case->[0]);
    is_error($r, 400, $case->[2] // 'invalid_request', "$case->[1]: 400");
}

is_error(api('POST', "/w/sessions/bad%20id/install",
             { manager => 'pip', packages => ['x'] }),
         400, 'invalid_request', 'a bad session id in the path: 400');
is(api('GET', "/w/sessions/$base-bad")->{status}, 404,
   'no refused install made a session');

# ======================================== another user's session

$t = installed('w', "$base-pip", 'pip', ['mypkg'],
               'bob installs into "his" session of alice\'s id');
# (a session id is per user: bob gets a session of his own)
$e = api('POST', '/w/execute', { session_id => "$base-pip",
                                 command => 'python3 -c "import myapp"' },
         key => 'test-key-bob')->{json} // {};
isnt($e->{exit_code}, 0, '  alice\'s packages are not in bob\'s session');
api('DELETE', "/w/sessions/$base-pip", undef, key => 'test-key-bob');

# ======================================== the shared tmpfs goes

# one a helper held when its session went: nothing uses it any more, the
# cleanup loop (every second on t069w) removes it; another volume of the
# instance is not its business
my %labels = ('io.ngx-sandbox.managed' => 'true',
              'io.ngx-sandbox.instance' => 't069w');
my $left = docker_api('POST', '/volumes/create', { Labels => {
    %labels, 'io.ngx-sandbox.workspace' => 'tmpfs' } })->{json}{Name};
my $other = docker_api('POST', '/volumes/create', { Labels => \%labels })
                ->{json}{Name};
ok(wait_until(15, sub {
       docker_api('GET', "/volumes/$left")->{status} == 404 }),
   'the cleanup loop removes a workspace tmpfs no container uses');
is(docker_api('GET', "/volumes/$other")->{status}, 200,
   '  and leaves other volumes alone');
docker_api('DELETE', "/volumes/$other");

for my $s (@sessions) {
    api('DELETE', "/$s->[0]/sessions/$s->[1]");
}

for my $inst (qw(t069w t069n t069c)) {
    my $f = $JSON->encode({ label => ["io.ngx-sandbox.instance=$inst"] });
    ok(wait_until(10, sub {
           !@{ docker_api('GET', '/volumes?filters=' . uri_escape($f))
                   ->{json}{Volumes} // [] };
       }), "$inst: no workspace volume is left once its sessions are gone");
}

leak_check(instance => $_, name => $_, wait => 5)
    for qw(t069w t069n t069c);

$sdw->stop;
$sdn->stop;
$sdc->stop;

done_testing();
