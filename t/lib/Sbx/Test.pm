package Sbx::Test;

use strict;
use warnings;

=head1 NAME

Sbx::Test - data-driven tests against real nginx with the sandbox module

=head1 SYNOPSIS

    use lib 't/lib';
    use Sbx::Test;              # also exports Test::More

    plan 'no_plan';
    run_blocks();

    __DATA__

    === TEST 1: health answers without credentials
    --- config
        location / {
            sandbox on;
            sandbox_pass unix:$SBX_SOCKET;
        }
    --- request
    GET /health
    --- error_code: 200
    --- json
    .status == "ok"
    --- no_error_log
    [error]

Each block renders a full nginx.conf into C<$SERVROOT/conf/nginx.conf>
(C<load_module $SBX_MODULE>, workers as www-data when run as root, a
debug error log, temp paths under the servroot, one server on
127.0.0.1:$SBX_PORT), restarts nginx only when the configuration differs
from the previous block's, sends one request and checks the response and
the part of error.log written meanwhile.  nginx is stopped at exit;
F<t/servroot> is kept for post-mortems and wiped by the next run.  Test
files share port and servroot: run them one at a time (no C<prove -j>).

=head1 SECTIONS

C<--- name: value> is a one-line value; C<--- name> takes the lines up
to the next section.  Modifier C<eval>: the value is Perl code (the
variables below are in scope as Perl scalars); C<chomp>: drop the final
newline.

=over

=item main_config, http_config, config

Top level, inside C<http {}> before the server, inside C<server {}>.
A block without one of them uses the file's C<default_config(config =>
..., http_config => ...)>, if it set one.
Mind nginx's quoting: in C<'...'> and C<"..."> it turns C<\n> into a
newline, so a JSON escape in a C<return 200 '...'> body is written
C<\\n>.

=item no_module, workers: N

Leave out C<load_module>; C<worker_processes> (default 1).

=item request

C<METHOD /uri> on the first line, the body below (final newline
dropped; with C<eval> the returned string is used verbatim).
C<Host>, C<Connection: close> and C<Content-Length> are added unless
given.

=item raw_request

Bytes sent as they are (use C<eval> to write C<\r\n>).

=item more_headers

C<Name: value> lines.

=item timeout: N, wait: N

Seconds for the request (default 10; a hang fails the block), seconds
to sleep before the error log is read.

=item error_code: N

=item response_body, response_body_like

Exact body; regex (C<eval> may return a C<qr//>).

=item response_headers, response_headers_like

C<Name: value> exact (C<!Name>: must be absent); C<Name: regex>.

=item json

One check per line on the decoded body; blank lines and C<#> comments
are skipped.  Paths: C<.> (the document), C<.a.b[0].c>, C<.list[-1]>,
C<.["odd key"]>.  Operators: C<== LITERAL>, C<!= LITERAL> (any JSON
literal; types are strict, C<0> is not C<"0">), C<=~ /re/imsx>,
C<!~ /re/>, C<< > >= < <= >> (numbers), C<# N> or C<# OP N> (array
length, object key count), C<exists>, C<!exists>.

=item error_log, no_error_log

Lines that must (not) occur, as substrings, in the error.log written
during the block (C<eval> may return strings and C<qr//>s).  A worker
crash or sanitizer report in that log always fails the block.

=item must_die

The configuration must fail C<nginx -t>; no request is made and
C<error_log>/C<no_error_log> match nginx -t's output.

=item SKIP, ONLY

Skip the block; run only the blocks that have ONLY.

=back

Every check is one assertion named "TEST n: title - what".  When nginx
cannot start or the request fails, each check still runs (and fails), so
the count of assertions per block does not depend on the outcome.

=head1 VARIABLES

Substituted as C<$NAME> or C<${NAME}> in every section:
C<SBX_ROOT SBX_MODULE SBX_NGINX SBX_SOCKET SBX_PORT SBX_REDIS_PORT
SBX_IMAGE SBX_INSTANCE DOCKER_SOCK> (from the environment,
docs/CONVENTIONS-dev.md, with scripts/test's defaults), C<SERVROOT>
(C<$SBX_ROOT/t/servroot>), C<RUN_ID> (pid-time, unique per run: use it in
session ids), C<TEST_NR> (the block's number).  C<${ENV:NAME}> is any
environment variable.  Other C<$names> (nginx variables) are left alone.

=head1 HELPERS

For flow tests written as plain Test::More:

    start_nginx(config => ..., http_config => ..., main_config => ...,
                no_module => 1)          # true, or false with a diag
    reload_nginx(%same)                  # SIGHUP; waits for an old worker
                                         # to exit
    stop_nginx()
    my ($ok, $out) = nginx_config_test(%same)

    my $r = http_request(method => 'POST', path => '/execute',
                         headers => {...}, body => '...', timeout => 10);
    # {status, reason, headers (lowercase => value), header_list, body,
    #  json (decoded or undef), elapsed (seconds), error (on failure)}
    my $c = http_connect();              # keep-alive: pass conn => $c
    my $r = api(POST => '/execute', {command => 'true'},
                key => 'test-key-bob');  # key => undef: no X-API-Key
    my $r = docker_api(GET => '/containers/json?all=1');   # /v1.41 added

    my $off = error_log_offset();  ...  error_log_since($off)
    json_path($r->{json}, '.entries[0].name')
    sbx_var('RUN_ID')

=cut

use Exporter qw(import);
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep);

use Sbx::Test::Blocks;
use Sbx::Test::Env qw(var expand eval_code);
use Sbx::Test::HTTP;
use Sbx::Test::Json;
use Sbx::Test::Nginx;

our @EXPORT = (
    @Test::More::EXPORT,
    qw(blocks run_blocks
       start_nginx reload_nginx stop_nginx nginx_config_test
       http_request http_connect api docker_api
       error_log_offset error_log_since error_log_clean json_path sbx_var
       servroot api_async uri_escape containers_of default_config
       wait_until explain_r is_error),
);

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;
my $STARTED_BY = $$;
my @BLOCKS;
my $BLOCKS_READ = 0;

# Seconds to let nginx finish writing its log after the response, and the
# longest wait for lines an error_log section expects.
my $LOG_SETTLE = 0.05;
my $LOG_WAIT = 1;

END {
    local $?;
    Sbx::Test::Nginx::stop() if $$ == $STARTED_BY;
}


# ---------------------------------------------------------------- helpers

sub sbx_var  { var($_[0]) }
sub servroot { Sbx::Test::Nginx::servroot() }


# The error log offset at the last start_nginx(), for error_log_clean().
my $STARTED_AT_OFFSET = 0;

sub start_nginx
{
    my (%opt) = @_;
    my ($ok, $error) = Sbx::Test::Nginx::ensure(Sbx::Test::Nginx::render(%opt));

    diag($error) unless $ok;
    $STARTED_AT_OFFSET = error_log_offset() // 0;
    return $ok;
}


sub reload_nginx
{
    my (%opt) = @_;
    my ($ok, $error) = Sbx::Test::Nginx::reload(Sbx::Test::Nginx::render(%opt));

    diag($error) unless $ok;
    return $ok;
}


sub stop_nginx { Sbx::Test::Nginx::stop() }


sub nginx_config_test
{
    my (%opt) = @_;

    return Sbx::Test::Nginx::test_config(Sbx::Test::Nginx::render(%opt));
}


sub http_request
{
    my (%opt) = @_;

    return Sbx::Test::HTTP::request(port => var('SBX_PORT'), %opt);
}


sub http_connect
{
    my (%opt) = @_;

    return Sbx::Test::HTTP::connect_tcp(port => var('SBX_PORT'), %opt);
}


# api($method, $path, $body, %opt): $body is a Perl structure (sent as
# JSON), a string (sent as is) or undef.  X-API-Key is $opt{key}, default
# test-key-alice; key => undef sends none.  $opt{headers} adds headers.
sub api
{
    my ($method, $path, $body, %opt) = @_;

    return http_request(%opt, api_request($method, $path, $body, %opt));
}


# The request options of api() and api_async().
sub api_request
{
    my ($method, $path, $body, %opt) = @_;
    my %headers = %{ $opt{headers} // {} };
    my $key = exists $opt{key} ? $opt{key} : 'test-key-alice';

    $headers{'X-API-Key'} = $key if defined $key;
    $headers{'Content-Type'} //= 'application/json' if defined $body;
    $body = $JSON->encode($body) if ref $body;

    return (method => $method, path => $path, headers => \%headers,
            body => $body);
}


# docker_api($method, $path, $body, %opt): HTTP/1.0 to the Docker Engine
# API on $DOCKER_SOCK; "/v1.41" is prepended unless $path has a version.
sub docker_api
{
    my ($method, $path, $body, %opt) = @_;
    my %headers = (%{ $opt{headers} // {} });
    my $conn = eval { Sbx::Test::HTTP::connect_unix(path => var('DOCKER_SOCK')) };

    return { status => undef, headers => {}, body => undef, error => $@ }
        unless $conn;

    $path = "/v1.41$path" unless $path =~ m{^/v\d+\.\d+/};
    $headers{'Content-Type'} //= 'application/json' if defined $body;
    $body = $JSON->encode($body) if ref $body;

    my $res = Sbx::Test::HTTP::request(%opt, conn => $conn, version => '1.0',
                                       method => $method, path => $path,
                                       headers => \%headers, body => $body,
                                       host_header => 'docker');
    Sbx::Test::HTTP::close_conn($conn);

    return $res;
}


# api_async(...): as api(), but returns once the request is sent; the
# returned sub waits for the response and returns it.
sub api_async
{
    my ($method, $path, $body, %opt) = @_;
    my %req = (api_request($method, $path, $body, %opt),
               timeout => $opt{timeout} // 30);
    my $conn = http_connect();

    Sbx::Test::HTTP::send_all($conn,
                              Sbx::Test::HTTP::build_request(%req, close => 1),
                              Time::HiRes::time() + 10);

    return sub {
        my $res = Sbx::Test::HTTP::request(%req, conn => $conn, raw => '');
        Sbx::Test::HTTP::close_conn($conn);
        return $res;
    };
}


# The containers of a session of the test instance, from Docker's list.
sub containers_of
{
    my ($session) = @_;
    my $filters = $JSON->encode({ label => [
        'io.ngx-sandbox.instance=' . var('SBX_INSTANCE'),
        "io.ngx-sandbox.session=$session",
    ] });
    my $res = docker_api('GET', '/containers/json?all=true&filters='
                                . uri_escape($filters));

    return $res->{json} // [];
}


# Polls $cond (a code ref) every 50 ms until it is true or $secs passed:
# its last answer.
sub wait_until
{
    my ($secs, $cond) = @_;
    my $until = Time::HiRes::time() + $secs;

    while (Time::HiRes::time() < $until) {
        return 1 if $cond->();
        sleep 0.05;
    }

    return $cond->();
}


# An api() answer in one line, for diag().
sub explain_r
{
    my ($r) = @_;

    return "HTTP " . ($r->{status} // '-') . ': ' . ($r->{body} // '')
           . ($r->{error} ? " ($r->{error})" : '');
}


# One test: the answer has that status and error code.
sub is_error
{
    my ($r, $status, $code, $name) = @_;

    ok(($r->{status} // 0) == $status
       && ($r->{json}{error}{code} // '') eq $code, "$name: $status $code")
        or diag(explain_r($r));
}


sub uri_escape
{
    my ($s) = @_;

    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;

    return $s;
}


# No [error], [crit], [alert] or [emerg] line since the last start_nginx().
sub error_log_clean
{
    my $log = error_log_since($STARTED_AT_OFFSET) // '';
    my @bad = grep { /\[(error|crit|alert|emerg)\]/ } split /\n/, $log;

    diag("error log: $_") for @bad;

    return !@bad;
}


sub error_log_offset { Sbx::Test::Nginx::log_offset() }
sub error_log_since  { Sbx::Test::Nginx::log_since($_[0]) }
sub json_path        { Sbx::Test::Json::json_path(@_) }


# ---------------------------------------------------------------- blocks

sub blocks
{
    read_blocks();
    return scalar @BLOCKS;
}


sub read_blocks
{
    return if $BLOCKS_READ++;

    no warnings 'once';
    my $fh = \*main::DATA;
    return unless defined fileno $fh;

    my $text = do { local $/; <$fh> } // '';
    @BLOCKS = Sbx::Test::Blocks::parse($text);
}


sub run_blocks
{
    read_blocks();
    run_block($_) for @BLOCKS;
}


sub run_block
{
    my ($block) = @_;
    my $name = $block->{title};

    if ($block->{sections}{SKIP}) {
        SKIP: { skip("$name: SKIP", scalar block_checks($block)) }
        return;
    }

    my ($results, $crash) = evaluate_block($block);

    # Failures point at the test file's run_blocks() line.
    local $Test::Builder::Level = $Test::Builder::Level + 2;

    for my $r (@$results) {
        my ($label, $ok, $diag) = @$r;
        ok($ok, "$name - $label") or diag($diag // '');
    }

    if ($crash) {
        fail("$name - nginx worker healthy");
        diag($crash);
    }
}


# Runs a block and all its checks without reporting them.  Returns
# ([[label, ok, diag], ...], crash report or undef).  The harness's own
# test calls it to see that wrong expectations do fail.
sub evaluate_block
{
    my ($block) = @_;

    Sbx::Test::Env::set_test_nr($block->{nr});

    my $ctx = { block => $block };
    my $ok = eval { run_steps($ctx); 1 };
    $ctx->{fatal} = clean_error($@) unless $ok;

    my @results = map { [$_->{label}, run_check($ctx, $_)] }
                  block_checks($block);

    return (\@results, crash_report($ctx));
}


# Renders the config, gets nginx running (or runs nginx -t for must_die),
# sends the request and collects the error log written meanwhile.
sub run_steps
{
    my ($ctx) = @_;
    my $block = $ctx->{block};
    my $conf = Sbx::Test::Nginx::render(config_options($block));

    if (has($block, 'must_die')) {
        ($ctx->{config_ok}, $ctx->{log})
            = Sbx::Test::Nginx::test_config($conf, 'must_die.conf');
        return;
    }

    my ($ok, $error) = Sbx::Test::Nginx::ensure($conf);
    die "$error\n" unless $ok;

    my $offset = Sbx::Test::Nginx::log_offset();

    $ctx->{res} = send_block_request($block);

    sleep(value($block, 'wait') // 0);
    $ctx->{log} = collect_log($block, $offset);
}


# Sections a block without its own takes (default_config()).
my %DEFAULT_SECTIONS;

# default_config(config => ..., http_config => ...): what blocks of this
# file that have no such section use, as Test::Nginx files share one
# config; variables are expanded as in a section.
sub default_config
{
    my (%sections) = @_;

    %DEFAULT_SECTIONS = %sections;
}


sub config_options
{
    my ($block) = @_;
    my %opt;

    for my $name (qw(config http_config main_config workers)) {
        if (has($block, $name)) {
            $opt{$name} = value($block, $name);

        } elsif (defined $DEFAULT_SECTIONS{$name}) {
            $opt{$name} = expand($DEFAULT_SECTIONS{$name});
        }
    }
    $opt{no_module} = has($block, 'no_module');

    return %opt;
}


sub send_block_request
{
    my ($block) = @_;
    my %opt = (timeout => value($block, 'timeout') // 10);

    if (has($block, 'raw_request')) {
        return http_request(%opt, raw => value($block, 'raw_request'));
    }

    return undef unless has($block, 'request');

    my $text = value($block, 'request');
    my ($line, $body) = split /\n/, $text, 2;

    $body =~ s/\n\z// if defined $body && !$block->{sections}{request}{mods}{eval};
    $body = undef if defined $body && $body eq '';

    my ($method, $uri, $version) = split ' ', $line;
    $version = $version && $version =~ m{^HTTP/(\d\.\d)$} ? $1 : undef;

    my @headers = map { /^([^:]+):\s*(.*)$/ ? [$1, $2] : () }
                  value_lines($block, 'more_headers');

    return http_request(%opt, method => $method, path => $uri,
                        version => $version, headers => \@headers,
                        body => $body);
}


sub collect_log
{
    my ($block, $offset) = @_;
    my @want = value_lines($block, 'error_log');

    sleep $LOG_SETTLE;

    my $deadline = Time::HiRes::time() + $LOG_WAIT;
    my $log;

    for (;;) {
        $log = Sbx::Test::Nginx::log_since($offset);
        my $missing = grep { ref ? $log !~ $_ : index($log, $_) < 0 } @want;
        last if !$missing || Time::HiRes::time() > $deadline;
        sleep 0.05;
    }

    return $log;
}


# ---------------------------------------------------------------- checks

# Each check: { label, needs => 'response' | 'log' | 'config', run => sub
# ($ctx) returning (ok, diag) }.
sub block_checks
{
    my ($block) = @_;
    my @checks;

    if (has($block, 'must_die')) {
        push @checks, { label => 'nginx -t rejects the configuration',
                        needs => 'config', run => \&check_must_die };
    }

    push @checks, status_check($block) if has($block, 'error_code');
    push @checks, header_checks($block, 'response_headers');
    push @checks, header_checks($block, 'response_headers_like');
    push @checks, body_checks($block);
    push @checks, json_checks($block);
    push @checks, log_checks($block, 'error_log');
    push @checks, log_checks($block, 'no_error_log');

    return @checks;
}


sub status_check
{
    my ($block) = @_;

    return {
        label => 'status code', needs => 'response',
        run => sub {
            my $want = value($block, 'error_code');
            my $got = $_[0]{res}{status};
            return (1) if $got == $want;
            return (0, "got status $got, expected $want");
        },
    };
}


sub header_checks
{
    my ($block, $section) = @_;
    my $like = $section =~ /_like$/;

    return map {
        my $line = $_;
        my ($absent, $name, $want) = $line =~ /^(!?)\s*([^:\s]+)\s*(?::\s?(.*))?$/;

        +{
            label => "header $line", needs => 'response',
            run => sub {
                my $got = $_[0]{res}{headers}{ lc $name };
                return check_header($name, $got, $absent, $want, $like);
            },
        };
    } value_lines($block, $section);
}


sub check_header
{
    my ($name, $got, $absent, $want, $like) = @_;

    if ($absent) {
        return (1) unless defined $got;
        return (0, "$name is present: \"$got\"");
    }

    return (0, "no $name header") unless defined $got;
    return (1) if $like ? $got =~ /$want/ : $got eq ($want // '');
    return (0, "     got: $name: $got\nexpected: $name: "
               . ($like ? "/$want/" : $want));
}


sub body_checks
{
    my ($block) = @_;
    my @checks;

    if (has($block, 'response_body')) {
        push @checks, {
            label => 'response body', needs => 'response',
            run => sub {
                my $got = $_[0]{res}{body};
                my $want = value($block, 'response_body');
                return (1) if $got eq $want;
                return (0, "     got: " . quote($got)
                           . "\nexpected: " . quote($want));
            },
        };
    }

    if (has($block, 'response_body_like')) {
        push @checks, {
            label => 'response body like', needs => 'response',
            run => sub {
                my $got = $_[0]{res}{body};
                my $re = value($block, 'response_body_like');
                $re =~ s/\n\z// unless ref $re;
                return (1) if $got =~ /$re/;
                return (0, "     got: " . quote($got) . "\ndoes not match /$re/");
            },
        };
    }

    return @checks;
}


sub json_checks
{
    my ($block) = @_;

    return map {
        my $line = $_;
        +{
            label => "json $line", needs => 'response',
            run => sub { check_json($_[0]{res}, $line) },
        };
    } grep { !/^\s*#/ } value_lines($block, 'json');
}


# Decodes for each check: a check must never see what another one did to
# the decoded values.
sub check_json
{
    my ($res, $line) = @_;
    my $data = eval { $JSON->decode($res->{body}) };

    return (0, "response is not JSON (" . clean_error($@) . "): "
               . quote($res->{body}))
        if $@;

    return Sbx::Test::Json::check($data, $line);
}


sub log_checks
{
    my ($block, $section) = @_;
    my $negate = $section eq 'no_error_log';

    return map {
        my $want = $_;
        my $what = ref $want ? "$want" : "\"$want\"";
        +{
            label => $negate ? "no $what in error log" : "$what in error log",
            needs => 'log',
            run => sub { check_log($_[0]{log}, $want, $negate) },
        };
    } value_lines($block, $section);
}


sub check_log
{
    my ($log, $want, $negate) = @_;
    my @hits = grep { ref $want ? /$want/ : index($_, $want) >= 0 }
               split /\n/, $log;

    return (1) if !@hits == !!$negate;
    return (0, "found: " . join("\n       ", @hits[0 .. min(4, $#hits)]))
        if $negate;
    return (0, "not found in:\n" . tail($log, 30));
}


sub check_must_die
{
    my ($ctx) = @_;

    return (1) unless $ctx->{config_ok};
    return (0, "nginx -t accepted the configuration:\n$ctx->{log}");
}


sub run_check
{
    my ($ctx, $check) = @_;

    if ($ctx->{fatal}) {
        my $fatal = $ctx->{fatal};
        $ctx->{fatal} = 'see the first failure of this block';
        return (0, $fatal);
    }

    if ($check->{needs} eq 'response') {
        return (0, 'the block sends no request') unless $ctx->{res};
        return (0, "request failed: $ctx->{res}{error}")
            if $ctx->{res}{error};
    }

    return $check->{run}->($ctx);
}


sub crash_report
{
    my ($ctx) = @_;
    my $log = $ctx->{log} // '';

    return undef if has($ctx->{block}, 'must_die');
    return $1 if $log =~ /(worker\ process\ \d+\ exited\ on\ signal.*
                           |ERROR:\ AddressSanitizer.*
                           |ERROR:\ LeakSanitizer.*
                           |\S+\.c:\d+:\d+:\ runtime\ error:.*)/x;
    return undef;
}


# ---------------------------------------------------------------- values

sub has { exists $_[0]{sections}{ $_[1] } }


# A section's value: Perl result for "eval" sections, otherwise the text
# with the variables substituted.  undef when the section is absent.
sub value
{
    my ($block, $name) = @_;
    my $s = $block->{sections}{$name} or return undef;

    return expand($s->{value}) unless $s->{mods}{eval};
    return eval_code($s->{value}, "$block->{title} --- $name");
}


# A multi-line section as a list of non-blank lines.  An eval section may
# return a string (split into lines, as Test::Nginx's more_headers eval),
# a list, or an array reference; qr//s are kept as they are.
sub value_lines
{
    my ($block, $name) = @_;
    my $s = $block->{sections}{$name} or return ();

    my @values = $s->{mods}{eval}
                 ? eval_code($s->{value}, "$block->{title} --- $name")
                 : expand($s->{value});

    return grep { ref || /\S/ }
           map { ref eq 'ARRAY' ? @$_ : ref ? $_ : split /\n/ } @values;
}


sub quote
{
    my ($text) = @_;

    return 'undef' unless defined $text;
    $text = substr($text, 0, 2000) . '...' if length $text > 2000;
    $text =~ s/([\\"])/\\$1/g;
    $text =~ s/\n/\\n/g;
    $text =~ s/\r/\\r/g;
    $text =~ s/\t/\\t/g;

    return "\"$text\"";
}


sub tail
{
    my ($text, $n) = @_;
    my @lines = split /\n/, $text;

    return join "\n", @lines > $n ? @lines[-$n .. -1] : @lines;
}


sub clean_error
{
    my ($error) = @_;

    $error //= '';
    chomp $error;
    return $error;
}


sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

1;
