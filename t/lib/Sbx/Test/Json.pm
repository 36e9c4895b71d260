package Sbx::Test::Json;

# JSON paths and the one-line checks of a "--- json" section.
#
#     my ($ok, $diag) = Sbx::Test::Json::check($data, '.stdout == "hi\n"');
#
# Types are strict, as in JSON: 0 is not "0", and null is not missing.
# Never stringify a value taken from the decoded data in place: Perl would
# remember the string form and the number would look like a string to a
# later check.  Copy first (see type_of and show).

use strict;
use warnings;

use B ();
use JSON::PP ();
use Exporter qw(import);

our @EXPORT_OK = qw(check json_path parse_path type_of);

# Literals in a test file are bytes (UTF-8), like response bodies; the
# diagnostics escape anything that is not ASCII.
my $JSON = JSON::PP->new->utf8->allow_nonref;
my $SHOW = JSON::PP->new->ascii->allow_nonref->canonical;


# ".a.b[0].c", ".[\"odd key\"]", ".list[-1]"; "." is the document itself.
# Returns an array of segments, each {key => ...} or {index => ...}; dies
# on a malformed path.
sub parse_path
{
    my ($path) = @_;
    my @segments;

    die "a path starts with \".\": $path\n" unless $path =~ /^\./;
    return () if $path eq '.';

    pos($path) = 0;

    while (pos($path) < length $path) {
        if ($path =~ /\G\.?\[(-?\d+)\]/gc) {
            push @segments, { index => $1 };

        } elsif ($path =~ /\G\.?\[("(?:[^"\\]|\\.)*")\]/gc) {
            push @segments, { key => decode_literal($1) };

        } elsif ($path =~ /\G\.([^.\[\s]+)/gc) {
            push @segments, { key => $1 };

        } else {
            die "bad path at \"" . substr($path, pos $path) . "\": $path\n";
        }
    }

    return @segments;
}


# Returns (1, value) or (0, why the path does not resolve).
sub resolve
{
    my ($data, $path) = @_;
    my $node = $data;
    my $at = '.';

    for my $seg (parse_path($path)) {
        my $type = type_of($node);

        if (exists $seg->{key}) {
            my $key = $seg->{key};

            return (0, "$at is $type, not an object") if $type ne 'object';
            return (0, "$at has no key \"$key\"") unless exists $node->{$key};

            $node = $node->{$key};
            $at = ($at eq '.' ? '' : $at) . ".$key";

        } else {
            my $i = $seg->{index};

            return (0, "$at is $type, not an array") if $type ne 'array';
            return (0, "$at has no index $i (length " . @$node . ")")
                if $i >= @$node || -$i > @$node;

            $node = $node->[$i];
            $at = ($at eq '.' ? '' : $at) . "[$i]";
        }
    }

    return (1, $node);
}


# Convenience for plain tests: the value at a path, or undef.
sub json_path
{
    my ($data, $path) = @_;
    my ($found, $value) = resolve($data, $path);

    return $found ? $value : undef;
}


# null, bool, number, string, array, object.  Looks at the scalar's flags
# the way JSON::PP does; a number that was stringified keeps only the
# private POK flag (perl >= 5.36), so it still counts as a number.
sub type_of
{
    return 'null' unless defined $_[0];

    my $ref = ref $_[0];

    return 'bool'   if $ref eq 'JSON::PP::Boolean';
    return 'array'  if $ref eq 'ARRAY';
    return 'object' if $ref eq 'HASH';
    return "a Perl $ref" if $ref;

    my $flags = B::svref_2object(\$_[0])->FLAGS;

    return 'number'
        if ($flags & (B::SVp_IOK | B::SVp_NOK)) && !($flags & B::SVf_POK);

    return 'string';
}


sub show
{
    my ($value) = @_;   # a copy: encoding it cannot touch the data

    return type_of($value) . ' ' . $SHOW->encode($value);
}


sub decode_literal
{
    my ($text) = @_;

    utf8::encode($text) if utf8::is_utf8($text);
    return $JSON->decode($text);
}


sub equal
{
    my $type = type_of($_[0]);

    return 0 if $type ne type_of($_[1]);

    my ($x, $y) = @_;

    return 1 if $type eq 'null';
    return ($x ? 1 : 0) == ($y ? 1 : 0) if $type eq 'bool';
    return $x == $y if $type eq 'number';
    return $x eq $y if $type eq 'string';

    if ($type eq 'array') {
        return 0 if @$x != @$y;
        for my $i (0 .. $#$x) {
            return 0 unless equal($x->[$i], $y->[$i]);
        }
        return 1;
    }

    return 0 if join("\0", sort keys %$x) ne join("\0", sort keys %$y);
    for my $k (keys %$x) {
        return 0 unless equal($x->{$k}, $y->{$k});
    }
    return 1;
}


my %NUM_OP = (
    '==' => sub { $_[0] == $_[1] },
    '!=' => sub { $_[0] != $_[1] },
    '>'  => sub { $_[0] >  $_[1] },
    '>=' => sub { $_[0] >= $_[1] },
    '<'  => sub { $_[0] <  $_[1] },
    '<=' => sub { $_[0] <= $_[1] },
);


# One check line against decoded JSON.  Returns (1) or (0, diagnostic).
#
#     PATH exists | PATH !exists
#     PATH == LITERAL | PATH != LITERAL       (any JSON literal)
#     PATH =~ /re/flags | PATH !~ /re/flags   (strings and numbers)
#     PATH > N | >= N | < N | <= N            (numbers only)
#     PATH # N | PATH # OP N                  (array length, object keys)
sub check
{
    my ($data, $line) = @_;

    my ($path, $op, $arg) = eval { parse_line($line) };
    return (0, bad_check($@)) if $@;

    my ($found, $got) = eval { resolve($data, $path) };
    return (0, bad_check($@)) if $@;

    if ($op eq 'exists' || $op eq '!exists') {
        return (1) if $found == ($op eq 'exists');
        return (0, $found ? "$path exists: " . show($got) : $got);
    }

    return (0, $got) unless $found;

    return check_equal($got, $op, $arg)  if $op eq '==' || $op eq '!=';
    return check_match($got, $op, $arg)  if $op eq '=~' || $op eq '!~';
    return check_count($got, $op, $arg)  if $op =~ /^#/;
    return check_number($got, $op, $arg);
}


sub bad_check
{
    my ($error) = @_;

    chomp $error;
    return "bad check: $error";
}


sub parse_line
{
    my ($line) = @_;

    $line =~ s/^\s+|\s+$//g;

    my ($path, $rest) = $line =~ /^(\.\S*)\s*(.*)$/
        or die "expected \"PATH OP VALUE\", got \"$line\"\n";

    return ($path, $1) if $rest =~ /^(!?exists)$/;

    if ($rest =~ m{^(=~|!~)\s*/(.*)/([imsx]*)$}) {
        my $re = eval { $3 ? qr/(?$3)$2/ : qr/$2/ };
        die "bad regex /$2/: $@" if $@;
        return ($path, $1, $re);
    }

    if ($rest =~ /^#\s*(==|!=|>=|<=|>|<)?\s*(\d+)$/) {
        return ($path, '#' . ($1 // '=='), $2);
    }

    if ($rest =~ /^(==|!=|>=|<=|>|<)\s*(.+)$/) {
        my ($op, $literal) = ($1, $2);
        my $value = eval { decode_literal($literal) };
        die "not a JSON literal: $literal\n" if $@;
        die "$op needs a number, not $literal\n"
            if $op !~ /^[!=]=$/ && type_of($value) ne 'number';
        return ($path, $op, $value);
    }

    die "unknown operator in \"$rest\"\n";
}


sub check_equal
{
    my ($got, $op, $want) = @_;
    my $same = equal($got, $want);

    return (1) if $same == ($op eq '==');
    return (0, "     got: " . show($got) . "\nexpected: "
               . ($op eq '!=' ? 'anything but ' : '') . show($want));
}


sub check_match
{
    my ($got, $op, $re) = @_;
    my $type = type_of($got);

    return (0, "got " . show($got) . ", not a string or number")
        if $type ne 'string' && $type ne 'number';

    my $copy = $got;
    my $matched = $copy =~ $re ? 1 : 0;

    return (1) if $matched == ($op eq '=~');
    return (0, "     got: " . show($got) . "\n"
               . ($op eq '=~' ? "does not match" : "matches") . " $re");
}


sub check_number
{
    my ($got, $op, $want) = @_;

    return (0, "got " . show($got) . ", not a number")
        if type_of($got) ne 'number';

    my $copy = $got;

    return (1) if $NUM_OP{$op}->($copy, $want);
    return (0, "got " . show($got) . ", expected $op $want");
}


sub check_count
{
    my ($got, $op, $want) = @_;
    my $type = type_of($got);
    my $n;

    if ($type eq 'array') {
        $n = @$got;
    } elsif ($type eq 'object') {
        $n = keys %$got;
    } else {
        return (0, "got " . show($got) . ", not an array or object");
    }

    (my $num_op = $op) =~ s/^#//;

    return (1) if $NUM_OP{$num_op}->($n, $want);
    return (0, "$type has $n element" . ($n == 1 ? '' : 's')
               . ", expected $num_op $want");
}

1;
