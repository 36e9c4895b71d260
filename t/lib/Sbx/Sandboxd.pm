package Sbx::Sandboxd;

# A sandboxd of a test's own, beside the one scripts/test runs: the same
# binary and configuration file, with its own instance, socket, Redis
# prefix and agent directory, and whatever settings the test adds
# (SANDBOXD_<KEY> variables).  For tests that restart sandboxd or need
# another setting; it never touches the shared one.  Its audit log is
# $sd->{audit}.
#
#     my $sd = Sbx::Sandboxd->new(instance => 't045');
#     $sd->start(SANDBOXD_AGENT => 'off');   # nginx: sandbox_pass unix:$sd->{socket}
#     $sd->stop;                             # 2 tests: clean exit, clean log
#
# Its warm run pool is off (SANDBOXD_RUN_POOL_SIZE => 0) unless the test
# sets SANDBOXD_RUN_POOL_SIZE.
#
# For fault tests: $sd->signal('STOP'), $sd->wait_exit($seconds) (its exit
# status, once it has exited), and new(..., conf => $file) for a
# configuration file of the test's own (SIGHUP reads it again).

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep);


sub new {
    my ($class, %opt) = @_;
    my $tmp = tempdir("sbx-$opt{instance}-XXXXXX", TMPDIR => 1,
                      CLEANUP => 1);

    chmod 0755, $tmp;    # nginx's workers reach the socket in it

    return bless {
        instance => $opt{instance},
        tmp => $tmp,
        socket => "$tmp/sandboxd.sock",
        log => "$tmp/sandboxd.log",
        audit => "$tmp/audit.log",
        # agent_dir may not sit below a directory others may write (/tmp)
        agent_dir => "$ENV{SBX_AGENT_DIR}-$opt{instance}",
        conf => $opt{conf} // $ENV{SBX_SANDBOXD_CONF},
        pid => undef,
    }, $class;
}


sub start {
    my ($self, %env) = @_;
    my $bin = $ENV{SBX_SANDBOXD};
    my $conf = $self->{conf};

    my @cmd = ($self->valgrind, $bin, '-c', $conf);

    unlink $self->{socket};

    $self->{pid} = fork() // die "fork: $!";

    if ($self->{pid} == 0) {
        %ENV = (PATH => '/usr/sbin:/usr/bin:/sbin:/bin',
                SANDBOXD_LISTEN => "unix:$self->{socket}",
                SANDBOXD_LISTEN_TCP => '',
                SANDBOXD_INSTANCE => $self->{instance},
                SANDBOXD_REDIS_PREFIX => "$self->{instance}:",
                SANDBOXD_AGENT_DIR => $self->{agent_dir},
                SANDBOXD_CLEANUP_INTERVAL => '0',
                SANDBOXD_PID_FILE => '',
                SANDBOXD_LOG_FILE => '',
                SANDBOXD_AUDIT_LOG => $self->{audit},
                # no warm run pool unless the test asks for one
                SANDBOXD_RUN_POOL_SIZE => '0',
                map({ $_ => $ENV{$_} // '' } qw(ASAN_OPTIONS UBSAN_OPTIONS)),
                %env);
        # its log and any sanitizer report, checked by stop()
        open STDOUT, '>>', $self->{log} or die $!;
        open STDERR, '>&', \*STDOUT or die $!;
        # _exit, not exit, when exec fails: the END blocks are the parent's
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    # ready once the socket has its mode (set after bind(): nginx's
    # workers may not connect before)
    for (1 .. ($ENV{VALGRIND} ? 1200 : 100)) {
        return if -S $self->{socket} && ((stat _)[2] & 0060) == 0060;
        sleep 0.05;
    }

    die "sandboxd $self->{instance} did not start: " . `cat $self->{log}`;
}


# VALGRIND=1 (scripts/test): under valgrind, as scripts/test runs its own.
sub valgrind {
    my ($self) = @_;

    return () unless $ENV{VALGRIND};
    return ('valgrind', '--error-exitcode=99', '--leak-check=full',
            '--errors-for-leak-kinds=definite',
            "--log-file=$self->{tmp}/valgrind.log");
}


sub stop {
    my ($self) = @_;
    my $status;

    return unless $self->{pid};

    kill 'TERM', $self->{pid};
    for (1 .. ($ENV{VALGRIND} ? 1200 : 200)) {
        if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
            $status = $?;
            last;
        }
        sleep 0.05;
    }
    $self->{pid} = undef;

    is($status, 0, "sandboxd $self->{instance} stops cleanly");
    my $log = do { local (@ARGV, $/) = ($self->{log}); <> } // '';
    unlike($log, qr/Sanitizer|runtime error/, '  with no sanitizer report');
    unlink $self->{log};

    if ($ENV{VALGRIND}) {
        my $vg = do { local (@ARGV, $/) = ("$self->{tmp}/valgrind.log"); <> }
                 // '';
        like($vg, qr/ERROR SUMMARY: 0 errors/, '  valgrind: no error')
            or diag($vg);
    }
}


sub signal {
    my ($self, $sig) = @_;

    return $self->{pid} ? kill($sig, $self->{pid}) : 0;
}


# Waits up to $secs for it to exit: its wait status ($?), or undef when it
# still runs.
sub wait_exit {
    my ($self, $secs) = @_;
    my $until = Time::HiRes::time() + $secs;

    return undef unless $self->{pid};

    while (1) {
        if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
            $self->{pid} = undef;
            return $?;
        }
        return undef if Time::HiRes::time() >= $until;
        sleep 0.02;
    }
}


# Kills it if it runs, removes its containers, volumes and agent
# directory: for an END block.
sub cleanup {
    my ($self, $docker_api, $uri_escape) = @_;
    my $filters = JSON::PP->new->encode(
        { label => ["io.ngx-sandbox.instance=$self->{instance}"] });
    my $list;

    kill 'KILL', $self->{pid} if $self->{pid};

    $list = $docker_api->('GET', '/containers/json?all=true&filters='
                                 . $uri_escape->($filters))->{json} // [];
    $docker_api->('DELETE', "/containers/$_->{Id}?force=true&v=true")
        for @$list;

    $list = $docker_api->('GET', '/volumes?filters='
                                 . $uri_escape->($filters))->{json};
    $docker_api->('DELETE', "/volumes/$_->{Name}")
        for @{ $list->{Volumes} // [] };

    system('rm', '-rf', $self->{agent_dir});
}

1;
