package Sbx::Test::HTTP;

# A small HTTP/1.x client for tests: raw requests over TCP or a unix socket,
# responses parsed by hand (Content-Length, chunked, or read to EOF), a hard
# deadline on every request so that a hang fails a test instead of the run.
#
#     my $r = Sbx::Test::HTTP::request(port => 1984, method => 'GET',
#                                      path => '/health');
#     $r->{status}, $r->{headers}{'content-type'}, $r->{body}, $r->{json},
#     $r->{elapsed}, $r->{error}
#
# Pass conn => connect_tcp(...) to send several requests on one kept-alive
# connection.

use strict;
use warnings;

use Errno ();
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::PP ();
use Socket qw(SOCK_STREAM);
use Time::HiRes ();

my $JSON = JSON::PP->new->utf8->allow_nonref;


sub connect_tcp
{
    my (%opt) = @_;
    my $host = $opt{host} // '127.0.0.1';

    my $sock = IO::Socket::INET->new(
        PeerAddr => $host,
        PeerPort => $opt{port},
        Proto    => 'tcp',
        Timeout  => $opt{timeout} // 10,
    ) or die "cannot connect to $host:$opt{port}: $@\n";

    return { sock => $sock, buf => '', peer => "$host:$opt{port}" };
}


sub connect_unix
{
    my (%opt) = @_;

    my $sock = IO::Socket::UNIX->new(Peer => $opt{path}, Type => SOCK_STREAM)
        or die "cannot connect to unix:$opt{path}: $!\n";

    return { sock => $sock, buf => '', peer => "unix:$opt{path}" };
}


sub close_conn
{
    my ($conn) = @_;

    close $conn->{sock} if $conn->{sock};
    $conn->{sock} = undef;
}


# Options: method, path, headers ({} or [[name, value], ...]), body,
# timeout (seconds, default 10), conn (reuse a connection; otherwise one is
# opened to host/port and closed), raw (bytes sent verbatim instead of a
# built request), version ("1.1"), host_header ("localhost").
#
# Never dies: a failure (connect, timeout, malformed response) is reported
# in {error}, with whatever was parsed before it.
sub request
{
    my (%opt) = @_;
    my $timeout = $opt{timeout} // 10;
    my $start = Time::HiRes::time();
    my $deadline = $start + $timeout;
    my $res = { status => undef, headers => {}, header_list => [],
                body => undef };
    my $own = !$opt{conn};
    my $conn = $opt{conn};

    my $method = $opt{method} // 'GET';
    $method = $1 if defined $opt{raw} && $opt{raw} =~ /^(\S+)/;

    my $ok = eval {
        $conn //= connect_tcp(%opt, timeout => $timeout);
        die "connection is closed\n" unless $conn->{sock};

        my $bytes = $opt{raw} // build_request(%opt, close => $own);
        send_all($conn, $bytes, $deadline);
        read_response($conn, $res, $deadline, $method);
        1;
    };

    if (!$ok) {
        my $error = $@;
        chomp $error;
        $error = "no complete response within ${timeout}s"
            if $error eq 'timeout';
        $res->{error} = $error;
    }

    close_conn($conn) if $conn && ($own || !$ok || $res->{closing});

    $res->{elapsed} = Time::HiRes::time() - $start;
    $res->{json} = decode_json_body($res->{body});

    return $res;
}


sub build_request
{
    my (%opt) = @_;
    my $method = $opt{method} // 'GET';
    my $path = $opt{path} // '/';
    my $version = $opt{version} // '1.1';
    my $body = $opt{body};
    my @headers = header_pairs($opt{headers});
    my %have = map { lc $_->[0] => 1 } @headers;

    unshift @headers, ['Host', $opt{host_header} // 'localhost']
        unless $have{host};

    push @headers, ['Connection', 'close']
        if $opt{close} && !$have{connection};

    if (!$have{'content-length'} && !$have{'transfer-encoding'}
        && (defined $body || $method =~ /^(POST|PUT|PATCH)$/))
    {
        push @headers, ['Content-Length', length($body // '')];
    }

    return "$method $path HTTP/$version\r\n"
           . join('', map { "$_->[0]: $_->[1]\r\n" } @headers)
           . "\r\n" . ($body // '');
}


sub header_pairs
{
    my ($headers) = @_;

    return () unless $headers;
    return @$headers if ref $headers eq 'ARRAY';
    return map { [$_, $headers->{$_}] } sort keys %$headers;
}


# Writes everything, unless the peer stops reading: a server may answer
# (413, 400) and close before it has read the whole body, and that answer
# is what the test wants to see.
sub send_all
{
    my ($conn, $bytes, $deadline) = @_;
    my $sel = IO::Select->new($conn->{sock});
    my $off = 0;

    local $SIG{PIPE} = 'IGNORE';

    while ($off < length $bytes) {
        my $left = $deadline - Time::HiRes::time();
        die "timeout\n" if $left <= 0 || !$sel->can_write($left);

        my $n = syswrite $conn->{sock}, $bytes, 65536, $off;

        if (!defined $n) {
            next if $! == Errno::EINTR || $! == Errno::EAGAIN;
            return if $! == Errno::EPIPE || $! == Errno::ECONNRESET;
            die "write to $conn->{peer}: $!\n";
        }

        $off += $n;
    }
}


# Appends to the connection buffer; returns the byte count, 0 at EOF.
sub read_more
{
    my ($conn, $deadline) = @_;
    my $sel = IO::Select->new($conn->{sock});

    for (;;) {
        my $left = $deadline - Time::HiRes::time();
        die "timeout\n" if $left <= 0 || !$sel->can_read($left);

        my $n = sysread $conn->{sock}, $conn->{buf}, 65536,
                        length $conn->{buf};
        return $n if defined $n;
        next if $! == Errno::EINTR || $! == Errno::EAGAIN;
        return 0 if $! == Errno::ECONNRESET && length $conn->{buf};
        die "read from $conn->{peer}: $!\n";
    }
}


sub read_response
{
    my ($conn, $res, $deadline, $method) = @_;

    do {
        read_head($conn, $res, $deadline);
    } while ($res->{status} >= 100 && $res->{status} < 200
             && $res->{status} != 101);

    my $h = $res->{headers};
    my $no_body = $method eq 'HEAD' || $res->{status} == 204
                  || $res->{status} == 304 || $res->{status} == 101;

    $res->{closing} = 1
        if ($h->{connection} // '') =~ /close/i || $res->{protocol} eq '1.0';

    if ($no_body) {
        $res->{body} = '';
    } elsif (($h->{'transfer-encoding'} // '') =~ /chunked/i) {
        $res->{body} = read_chunked($conn, $deadline);
    } elsif (defined $h->{'content-length'}) {
        $res->{body} = read_exact($conn, $h->{'content-length'}, $deadline);
    } else {
        $res->{body} = read_to_eof($conn, $deadline);
        $res->{closing} = 1;
    }
}


sub read_head
{
    my ($conn, $res, $deadline) = @_;
    my $end;

    until (($end = index $conn->{buf}, "\r\n\r\n") >= 0) {
        next if read_more($conn, $deadline);
        die "connection closed before a response header"
            . (length $conn->{buf} ? " (got \"$conn->{buf}\")" : '') . "\n";
    }

    my $head = substr $conn->{buf}, 0, $end + 4, '';
    my ($status_line, @lines) = split /\r\n/, $head;

    $status_line =~ m{^HTTP/(\d\.\d) (\d{3})(?: (.*))?$}
        or die "bad status line: \"$status_line\"\n";

    @$res{qw(protocol status reason)} = ($1, $2 + 0, $3 // '');
    $res->{headers} = {};
    $res->{header_list} = [];

    for my $line (@lines) {
        my ($name, $value) = $line =~ /^([^:\s]+):[ \t]*(.*?)[ \t]*$/
            or die "bad header line: \"$line\"\n";
        push @{ $res->{header_list} }, [$name, $value];

        my $key = lc $name;
        $res->{headers}{$key} = exists $res->{headers}{$key}
                                ? "$res->{headers}{$key}, $value" : $value;
    }
}


sub read_exact
{
    my ($conn, $len, $deadline) = @_;

    while (length $conn->{buf} < $len) {
        read_more($conn, $deadline)
            or die "connection closed after " . length($conn->{buf})
                   . " of $len body bytes\n";
    }

    return substr $conn->{buf}, 0, $len, '';
}


sub read_line
{
    my ($conn, $deadline) = @_;
    my $end;

    until (($end = index $conn->{buf}, "\r\n") >= 0) {
        read_more($conn, $deadline)
            or die "connection closed inside a chunked body\n";
    }

    my $line = substr $conn->{buf}, 0, $end + 2, '';
    return substr $line, 0, $end;
}


sub read_chunked
{
    my ($conn, $deadline) = @_;
    my $body = '';

    for (;;) {
        my $line = read_line($conn, $deadline);
        my ($size) = $line =~ /^([0-9a-fA-F]+)\s*(?:;.*)?$/
            or die "bad chunk size line: \"$line\"\n";

        last if hex $size == 0;

        $body .= read_exact($conn, hex $size, $deadline);
        read_line($conn, $deadline) eq ''
            or die "chunk not followed by CRLF\n";
    }

    1 while read_line($conn, $deadline) ne '';   # trailers

    return $body;
}


sub read_to_eof
{
    my ($conn, $deadline) = @_;

    1 while read_more($conn, $deadline);

    return substr $conn->{buf}, 0, length $conn->{buf}, '';
}


sub decode_json_body
{
    my ($body) = @_;

    return undef unless defined $body && $body =~ /^\s*[\[{"\d\-tfn]/;
    return eval { $JSON->decode($body) };
}

1;
