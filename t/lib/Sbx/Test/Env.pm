package Sbx::Test::Env;

# The variables tests may use: the environment of docs/CONVENTIONS-dev.md
# (with the defaults scripts/test would set) plus a few the harness makes up.
# expand() substitutes them in section text; eval_code() offers them to
# Perl code as package variables.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Exporter qw(import);

our @EXPORT_OK = qw(var vars expand eval_code);

# t/lib/Sbx/Test/Env.pm -> the repository root, four levels up.
my $ROOT_GUESS = abs_path(dirname(__FILE__) . '/../../../..');

my %DEFAULTS = (
    SBX_ROOT       => $ROOT_GUESS,
    SBX_NGINX      => '/usr/sbin/nginx',
    SBX_SOCKET     => '/run/sandboxd-test/sandboxd.sock',
    SBX_PORT       => 1984,
    SBX_REDIS_PORT => 6391,
    SBX_TCP        => '127.0.0.1:7391',
    SBX_IMAGE      => 'ngx-sandbox/runtime:latest',
    SBX_INSTANCE   => 'test',
    DOCKER_SOCK    => '/var/run/docker.sock',
);

my %VARS;


sub init
{
    return if %VARS;

    for my $name (keys %DEFAULTS) {
        my $env = $ENV{$name};
        $VARS{$name} = defined $env && $env ne '' ? $env : $DEFAULTS{$name};
    }

    $VARS{SBX_MODULE} = $ENV{SBX_MODULE}
        || "$VARS{SBX_ROOT}/build/ngx_http_sandbox_module.so";
    $VARS{SERVROOT} = "$VARS{SBX_ROOT}/t/servroot";
    $VARS{RUN_ID}   = sprintf '%d-%d', $$, time;
    $VARS{TEST_NR}  = 0;
}


sub var
{
    my ($name) = @_;

    init();
    die "Sbx::Test: unknown variable \$$name\n" unless exists $VARS{$name};

    return $VARS{$name};
}


sub vars
{
    init();
    return %VARS;
}


# The harness sets TEST_NR while it runs a block.
sub set_test_nr
{
    init();
    $VARS{TEST_NR} = $_[0];
}


# $NAME and ${NAME} for the names above, ${ENV:NAME} for any environment
# variable.  Other $words (nginx variables) are left alone.
sub expand
{
    my ($text) = @_;

    return $text unless defined $text;
    init();

    my $names = join '|', sort { length $b <=> length $a } keys %VARS;

    $text =~ s{\$\{ENV:(\w+)\}}{$ENV{$1} // ''}ge;
    $text =~ s/\$\{($names)\}/$VARS{$1}/g;
    $text =~ s/\$($names)(?![A-Za-z0-9_])/$VARS{$1}/g;

    return $text;
}


# Evaluates Perl code from an "eval" section with the variables in scope
# as package scalars ($RUN_ID, $SBX_PORT, ...).  Dies with the section name
# on a compile or run error.
sub eval_code
{
    my ($code, $where) = @_;

    init();

    no strict 'refs';
    ${"Sbx::Test::Eval::$_"} = $VARS{$_} for keys %VARS;
    use strict 'refs';

    my @result = eval "package Sbx::Test::Eval; no strict; no warnings;\n"
                      . "#line 1 \"$where\"\n$code";
    die "Sbx::Test: $where: $@" if $@;

    return wantarray ? @result : $result[-1];
}

1;
