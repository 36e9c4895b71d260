# Persistent workspaces (workspace_persist_volumes, WORKSPACE_PERSIST_
# VOLUMES=true, or sandbox_workspace_persist in a location): /workspace is
# a named volume per (user, session) that outlives its container; the same
# session id mounts it again; deleting the session removes it, even once
# the container has expired.

use strict;
use warnings;

use lib 't/lib';
use Sbx::Test;
use Sbx::Sandboxd;
use Digest::SHA qw(sha256_hex);

my $sd = Sbx::Sandboxd->new(instance => 't057');

start_nginx(config => <<"END");
    location / {
        sandbox on;
        sandbox_pass unix:$sd->{socket};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
    }

    location /tmpfs/ {
        sandbox on;
        sandbox_pass unix:$sd->{socket};
        sandbox_api_key test-key-alice alice;
        sandbox_workspace_persist off;
    }

    location /persist/ {
        sandbox on;
        sandbox_pass unix:$ENV{SBX_SOCKET};
        sandbox_api_key test-key-alice alice;
        sandbox_allowed_commands off;
        sandbox_workspace_persist on;
    }
END

$sd->start(SANDBOXD_WORKSPACE_PERSIST_VOLUMES => 'true');

my $sid = "t057-$$";
my $name = 'sbx-' . substr(sha256_hex("t057\0alice\0$sid"), 0, 24);
my $volume = "$name-ws";

sub container_id {
    my $c = docker_api('GET', "/containers/$name/json");
    return $c->{status} == 200 ? $c->{json}{Id} : undef;
}

is(api('POST', '/sessions', { session_id => $sid })->{status}, 201,
   'a session');

my $c = docker_api('GET', "/containers/$name/json")->{json};
my ($mount) = grep { $_->{Destination} eq '/workspace' } @{ $c->{Mounts} };
is($mount->{Type}, 'volume', '/workspace is a volume');
is($mount->{Name}, $volume, 'named after the session');
ok(!$c->{HostConfig}{Tmpfs}{'/workspace'}, 'not a tmpfs');

my $v = docker_api('GET', "/volumes/$volume")->{json};
is($v->{Labels}{'io.ngx-sandbox.session'}, $sid,
   'the volume carries the session label');
is($v->{Labels}{'io.ngx-sandbox.instance'}, 't057', 'and the instance');

is(api('PUT', "/sessions/$sid/workspace/content?path=keep.txt", 'kept',
       headers => { 'Content-Type' => 'application/octet-stream' })
       ->{status}, 200, 'a file written');
my $r = api('POST', '/execute', { command => 'id -u; stat -c %u /workspace',
                                  session_id => $sid });
is($r->{json}{stdout}, "1000\n1000\n", 'the volume is uid 1000\'s');

# the container goes (as an expired one is reaped), the volume stays
docker_api('DELETE', "/containers/$name?force=true");
$r = api('POST', '/execute', { command => 'true', session_id => $sid });
is($r->{status}, 410, 'the container is gone: session_lost');
is(docker_api('GET', "/volumes/$volume")->{status}, 200,
   'the volume is still there');

is(api('POST', '/sessions', { session_id => $sid })->{status}, 201,
   'the same session id again');
is(api('GET', "/sessions/$sid/workspace/content?path=keep.txt")
       ->{json}{content}, 'kept', 'finds its files');

is(api('DELETE', "/sessions/$sid")->{status}, 204, 'delete the session');
is(docker_api('GET', "/volumes/$volume")->{status}, 404,
   'the volume is removed with it');

# deleting a session whose container already expired
api('POST', '/sessions', { session_id => $sid });
docker_api('DELETE', "/containers/$name?force=true");
api('POST', '/execute', { command => 'true', session_id => $sid });
is(api('GET', "/sessions/$sid")->{status}, 404, 'no record left');
is(api('DELETE', "/sessions/$sid")->{status}, 204,
   'deleting it still removes its volume');
is(docker_api('GET', "/volumes/$volume")->{status}, 404, 'gone');
is(api('DELETE', "/sessions/$sid")->{status}, 404,
   'and then there is nothing to delete');

# the location decides over sandboxd's setting, both ways

my $sid2 = "t057-b-$$";
my $name2 = 'sbx-' . substr(sha256_hex("t057\0alice\0$sid2"), 0, 24);
api('POST', '/tmpfs/sessions', { session_id => $sid2 });
$c = docker_api('GET', "/containers/$name2/json")->{json};
my ($ws) = grep { $_->{Target} eq '/workspace' }
           @{ $c->{HostConfig}{Mounts} // [] };
is($ws->{VolumeOptions}{DriverConfig}{Options}{type}, 'tmpfs',
   'sandbox_workspace_persist off: a tmpfs, whatever sandboxd says');
is(docker_api('GET', "/volumes/$name2-ws")->{status}, 404, '  no volume');
api('DELETE', "/tmpfs/sessions/$sid2");

my $name3 = 'sbx-' . substr(sha256_hex("test\0alice\0$sid2"), 0, 24);
$r = api('POST', '/persist/execute', { command => 'echo x > f',
                                       session_id => $sid2 });
is($r->{status}, 200, 'sandbox_workspace_persist on, sandboxd off');
is(docker_api('GET', "/volumes/$name3-ws")->{status}, 200, '  a volume');
is(api('DELETE', "/persist/sessions/$sid2")->{status}, 204, 'delete');
is(docker_api('GET', "/volumes/$name3-ws")->{status}, 404,
   '  removes it');

$sd->stop;

done_testing();

END {
    local $?;

    $sd->cleanup(\&docker_api, \&uri_escape);
}
