package Sbx::FakeWorker;

# A stand-in for sandboxd that answers every request frame with bytes the
# test chooses: for protocol faults (garbage, bad versions, lies, silence)
# that the real sandboxd never produces on demand.  Everything else is
# tested against the real sandboxd.

use strict;
use warnings;

use IO::Socket::UNIX;
use JSON::PP;
use POSIX ();
use Socket qw(SOCK_STREAM);

# Frames as in docs/PROTOCOL.md.

sub frame_raw {
    my ($header, $body) = @_;
    return 'SBXF' . pack('CCn', 1, 2, 0)
         . pack('NN', length $header, length $body) . $header . $body;
}

sub frame {
    my ($header, $body) = @_;
    return frame_raw(JSON::PP->new->canonical->encode($header), $body // '');
}

# Starts the worker in a child process.  $reply->($request_header) returns
# the bytes to send, or undef to say nothing at all.

sub start {
    my ($class, $path, $reply) = @_;

    unlink $path;
    my $listen = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path,
                                       Listen => 16)
        or die "fake worker: listen on $path: $!";
    chmod 0777, $path;

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        while (my $c = $listen->accept) {
            serve($c, $reply);
        }
        POSIX::_exit(0);
    }

    close $listen;

    return bless { pid => $pid, path => $path }, $class;
}

sub serve {
    my ($c, $reply) = @_;

    my $prefix = read_exactly($c, 16) // return;
    my ($hlen, $blen) = unpack('NN', substr($prefix, 8, 8));
    my $header = read_exactly($c, $hlen) // return;
    read_exactly($c, $blen) // return if $blen;

    my $bytes = $reply->(decode_json($header));

    if (!defined $bytes) {
        sleep 3600;
    }

    print {$c} $bytes;
    close $c;
}

sub read_exactly {
    my ($c, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $got = sysread($c, $buf, $n - length $buf, length $buf);
        return undef unless $got;
    }
    return $buf;
}

sub stop {
    my ($self) = @_;
    kill 'KILL', $self->{pid};
    waitpid $self->{pid}, 0;
    unlink $self->{path};
}

1;
