package Sbx::Leaks;

# The leak check a fault test ends with: what Docker holds for an instance
# agrees with what the store says, nothing runs in a container but its
# agent, and every store key of the instance will expire.
#
#     use Sbx::Leaks qw(leak_check);
#     leak_check(instance => 't075');            # 4 tests
#     leak_check(instance => 'test', prefix => 'sbx:', name => 'after ...');
#
# The warm run pool's containers (io.ngx-sandbox.pool) belong to no
# session: left out here; t/062-pool.t checks that they go at shutdown.
#
# Options: instance (the io.ngx-sandbox.instance label), prefix (its Redis
# key prefix; default "<instance>:", as Sbx::Sandboxd sets it), redis_port
# (default $SBX_REDIS_PORT), name (a prefix for the test names), wait (s:
# containers being removed may take this long to go; default 0).
#
# A sandboxd with the memory store (no redis_host) has no records to read:
# sessions => sub { ... } returns its live sessions as [user, session_id]
# pairs (from GET /sessions of each user), the containers are compared
# with those, and the last test checks that it wrote nothing to Redis.
#
#     leak_check(instance => 't058', sessions => \&all_sessions);

use strict;
use warnings;

use Exporter 'import';
use Test::More;
use Time::HiRes qw(sleep time);

use Sbx::Test ();

*docker_api = \&Sbx::Test::docker_api;
*uri_escape = \&Sbx::Test::uri_escape;

our @EXPORT_OK = qw(leak_check redis_cmd instance_containers);


# redis_cmd($port, @args): redis-cli's raw answer lines.
sub redis_cmd {
    my ($port, @args) = @_;
    my @q = map { my $a = $_; $a =~ s/'/'\\''/g; "'$a'" } @args;
    my @out = `redis-cli -p $port --raw @q 2>&1`;
    chomp @out;
    return @out;
}


# The instance's containers, as Docker lists them (running or not).
sub instance_containers {
    my ($instance) = @_;
    my $filters = uri_escape(qq({"label":["io.ngx-sandbox.instance=$instance"]}));
    my $r = docker_api('GET', "/containers/json?all=1&filters=$filters");

    return ref $r->{json} eq 'ARRAY' ? @{ $r->{json} } : ();
}


# Those that should have a session: all but the warm pool's.
sub session_containers {
    return grep { !exists(($_->{Labels} // {})->{'io.ngx-sandbox.pool'}) }
                instance_containers(@_);
}


sub record_key {
    my ($prefix, $user, $sid) = @_;
    return "${prefix}session:" . length($user) . ":$user:$sid";
}


sub leak_check {
    my (%opt) = @_;

    return leak_check_memory(%opt) if $opt{sessions};

    my $instance = $opt{instance} // die "leak_check: no instance\n";
    my $prefix = $opt{prefix} // "$instance:";
    my $port = $opt{redis_port} // $ENV{SBX_REDIS_PORT};
    my $name = defined $opt{name} ? "$opt{name}: " : '';
    my $deadline = time + ($opt{wait} // 0);
    my @orphans;

    # 1. every labelled container has its session record, and the reverse
    while (1) {
        @orphans = ();
        for my $c (session_containers($instance)) {
            my $l = $c->{Labels} // {};
            my $key = record_key($prefix, $l->{'io.ngx-sandbox.user'} // '',
                                 $l->{'io.ngx-sandbox.session'} // '');
            my ($exists) = redis_cmd($port, 'EXISTS', $key);
            push @orphans, "$c->{Names}[0] (no record $key)"
                unless ($exists // '') eq '1';
        }
        last if !@orphans || time >= $deadline;
        sleep 0.5;
    }

    ok(!@orphans, "${name}every $instance container has a session")
        or diag("orphans: @orphans");

    my @records = grep { length } redis_cmd($port, '--scan', '--pattern',
                                            "${prefix}session:*");
    my %names = map { ($_->{Names}[0] // '') =~ s{^/}{}r => 1 }
                    instance_containers($instance);
    my @lost;
    for my $key (@records) {
        my ($cname) = redis_cmd($port, 'HGET', $key, 'container_name');
        push @lost, "$key ($cname)" unless $cname && $names{$cname};
    }
    ok(!@lost, "${name}every session record has its container")
        or diag("records without a container: @lost");

    # 2. nothing but the agent runs in a container
    stray_check($instance, $name);

    # 3. every key of the instance expires
    my @forever;
    for my $key (grep { length } redis_cmd($port, '--scan', '--pattern',
                                           "${prefix}*")) {
        my ($ttl) = redis_cmd($port, 'PTTL', $key);
        push @forever, $key if defined $ttl && $ttl == -1;
    }
    ok(!@forever, "${name}every Redis key of $instance has a TTL")
        or diag("keys without TTL: @forever");
}


sub key_of_container {
    my ($c) = @_;
    my $l = $c->{Labels} // {};
    return ($l->{'io.ngx-sandbox.user'} // '') . "\0"
           . ($l->{'io.ngx-sandbox.session'} // '');
}


# The memory store: Docker's containers against the sessions sandboxd lists.
sub leak_check_memory {
    my (%opt) = @_;
    my $instance = $opt{instance};
    my $prefix = $opt{prefix} // "$instance:";
    my $port = $opt{redis_port} // $ENV{SBX_REDIS_PORT};
    my $name = defined $opt{name} ? "$opt{name}: " : '';
    my $deadline = time + ($opt{wait} // 0);
    my (@orphans, @lost);

    while (1) {
        my %live = map { ("$_->[0]\0$_->[1]" => 1) } $opt{sessions}->();
        my %held = map { (key_of_container($_) => $_->{Names}[0]) }
                       session_containers($instance);
        @orphans = map { "$held{$_} (no session)" }
                       grep { !$live{$_} } sort keys %held;
        @lost = map { s/\0/\//r } grep { !$held{$_} } sort keys %live;
        last if (!@orphans && !@lost) || time >= $deadline;
        sleep 0.5;
    }

    ok(!@orphans, "${name}every $instance container has a session")
        or diag("orphans: @orphans");
    ok(!@lost, "${name}every session has its container")
        or diag("sessions without a container: @lost");

    stray_check($instance, $name);

    my @keys = grep { length } redis_cmd($port, '--scan', '--pattern',
                                         "${prefix}*");
    ok(!@keys, "${name}$instance wrote nothing to Redis")
        or diag("keys: @keys");
}


sub stray_check {
    my ($instance, $name) = @_;
    my @stray;

    for my $c (instance_containers($instance)) {
        next unless ($c->{State} // '') eq 'running';
        my $top = docker_api('GET', "/containers/$c->{Id}/top?ps_args=-eo%20pid,args");
        next unless ref $top->{json} eq 'HASH';
        for my $p (@{ $top->{json}{Processes} // [] }) {
            my $cmd = $p->[-1] // '';
            # the agent, or tini and its sleep when there is no agent
            push @stray, "$c->{Names}[0]: $cmd"
                unless $cmd =~ m{^/\.sbx/agent\b|^/sbin/tini\b|^tini\b
                                 |^sleep\ infinity$}x;
        }
    }
    ok(!@stray, "${name}no stray process in $instance containers")
        or diag("stray: @stray");
}


1;
