# Isolation of a session's container, read from Docker's side through the
# Engine API and from inside the container.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
    }
END

my $sid = "t050-$$-" . time;

sub run {
    my ($command) = @_;
    my $r = api('POST', '/execute',
                { command => $command, session_id => $sid, timeout => 20 });
    die "execute failed: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r->{json};
}

run('true');

# from outside: docker inspect

my $list = containers_of($sid);
is(scalar @$list, 1, 'one container for the session');

my $c = docker_api('GET', "/containers/$list->[0]{Id}/json")->{json};
my $hc = $c->{HostConfig};

is($hc->{ReadonlyRootfs}, JSON::PP::true, 'read-only root filesystem');
is($hc->{NetworkMode}, 'none', 'network none');
ok($c->{Config}{NetworkDisabled}, 'networking disabled');
is_deeply($hc->{CapDrop}, ['ALL'], 'all capabilities dropped');
ok(!$hc->{CapAdd} || !@{ $hc->{CapAdd} }, 'none added back');
ok((grep { /^no-new-privileges/ } @{ $hc->{SecurityOpt} }),
   'no-new-privileges');
ok(!$hc->{Privileged}, 'not privileged');
is($c->{Config}{User}, '1000:1000', 'uid/gid 1000');
ok($hc->{Memory} > 0, "memory limit ($hc->{Memory})");
is($hc->{MemorySwap}, $hc->{Memory}, 'no swap beyond it');
ok($hc->{NanoCpus} > 0, "CPU limit ($hc->{NanoCpus})");
ok($hc->{PidsLimit} > 0, "pids limit ($hc->{PidsLimit})");

my %ulimit = map { $_->{Name} => $_ } @{ $hc->{Ulimits} // [] };
ok($ulimit{$_} && $ulimit{$_}{Hard} > 0, "ulimit $_") for qw(nofile nproc fsize);

like($hc->{Tmpfs}{'/tmp'}, qr/size=/, '/tmp is a sized tmpfs');
like($hc->{Tmpfs}{'/tmp'}, qr/nosuid/, '/tmp nosuid');
like($hc->{Tmpfs}{'/tmp'}, qr/nodev/, '/tmp nodev');
# /workspace: a tmpfs made as an anonymous volume (an install helper
# mounts it too), sized, nosuid and nodev
my ($ws) = grep { $_->{Target} eq '/workspace' } @{ $hc->{Mounts} // [] };
my $ws_driver = $ws->{VolumeOptions}{DriverConfig} // {};
is($ws->{Type}, 'volume', '/workspace is a volume mount');
ok(!defined $ws->{Source} || $ws->{Source} eq '',
   '  an anonymous one (it goes with the container)');
is($ws_driver->{Options}{type}, 'tmpfs', '  of a tmpfs');
like($ws_driver->{Options}{o} // '', qr/(^|,)size=\d+(,|$)/, '  sized');
like($ws_driver->{Options}{o} // '', qr/(^|,)nosuid(,|$)/, '  nosuid');
like($ws_driver->{Options}{o} // '', qr/(^|,)nodev(,|$)/, '  nodev');
ok(!exists $hc->{Tmpfs}{'/workspace'}, '  and not also a Tmpfs entry');
is($hc->{LogConfig}{Type}, 'none', 'container log driver off');

# the agent: PID 1, its binary and its channel mounted read-only, and
# nothing else of the host
is_deeply($c->{Config}{Entrypoint}, ['/.sbx/agent', '/.sbx/run/agent.sock'],
          'the agent is the entrypoint');
my %bind = map { $_->{Destination} => $_ }
           grep { $_->{Type} eq 'bind' } @{ $c->{Mounts} // [] };
is_deeply([sort keys %bind], ['/.sbx/agent', '/.sbx/run'],
          'the only host mounts are the agent and its channel');
ok(!$bind{$_}{RW}, "$_ is read-only") for sort keys %bind;

my $labels = $c->{Config}{Labels};
is($labels->{'io.ngx-sandbox.managed'}, 'true', 'managed label');
is($labels->{'io.ngx-sandbox.user'}, 'alice', 'user label');
is($labels->{'io.ngx-sandbox.session'}, $sid, 'session label');
like($labels->{'io.ngx-sandbox.created'}, qr/^\d+$/, 'created label');

# from inside

like(run('id')->{stdout}, qr/^uid=1000\b.*gid=1000\b/, 'runs as 1000:1000');

my $status = run(q{grep -E 'CapEff|NoNewPrivs' /proc/self/status})->{stdout};
like($status, qr/CapEff:\s+0{16}/, 'no effective capabilities');
like($status, qr/NoNewPrivs:\s+1/, 'no new privileges');

isnt(run('touch /etc/x')->{exit_code}, 0, 'the root filesystem is read-only');
isnt(run('cp /bin/true /.sbx/agent')->{exit_code}, 0,
     'the agent binary cannot be replaced');
is(run('touch /tmp/x && touch /workspace/x')->{exit_code}, 0,
   '/tmp and /workspace are writable');

my $mounts = run('cat /proc/mounts')->{stdout};
like($mounts, qr{^tmpfs /workspace tmpfs [^ ]*nosuid[^ ]*nodev}m,
     '/workspace mounted nosuid,nodev');
like($mounts, qr{^tmpfs /tmp tmpfs [^ ]*nosuid[^ ]*nodev}m,
     '/tmp mounted nosuid,nodev');

is(run(q{ls /sys/class/net | grep -v '^lo$' | wc -l})->{stdout}, "0\n",
   'no network interface but loopback');
is(run('tail -n +2 /proc/net/route | wc -l')->{stdout}, "0\n",
   'no route out: the routing table is empty');

like(run('ulimit -n')->{stdout}, qr/^\d+$/, 'nofile limit applies inside');
isnt(run('ulimit -f')->{stdout}, "unlimited\n", 'file size limit applies');

api('DELETE', "/sessions/$sid");

done_testing();
