package Sbx::Test::Blocks;

# Parses the __DATA__ of a test file into blocks, Test::Base style:
#
#     === TEST 1: title
#     --- name [modifier ...]          multi-line value up to the next ---/===
#     --- name [modifier ...]: value   one-line value
#
# A multi-line value loses its leading and trailing blank lines and ends in
# exactly one "\n"; a one-line value has no newline.  Modifiers: "eval"
# (the value is Perl code, run when the block runs) and "chomp" (drop the
# final newline).

use strict;
use warnings;

sub parse
{
    my ($text) = @_;
    my (@blocks, $block, $section);

    for my $line (split /\n/, $text) {
        if ($line =~ /^===\s*(.*?)\s*$/) {
            $block = new_block($1, scalar @blocks + 1);
            push @blocks, $block;
            $section = undef;

        } elsif ($block
                 && $line =~ /^---\s*(\w+)((?:[ \t]+\w+)*)[ \t]*(?::[ \t]*(.*?))?\s*$/)
        {
            my ($name, $mods, $inline) = ($1, $2, $3);

            $section = { name => $name, inline => defined $inline,
                         mods => { map { $_ => 1 } split ' ', $mods },
                         lines => [ $inline // () ] };
            $block->{sections}{$name} = $section;

        } elsif ($section && !$section->{inline}) {
            push @{ $section->{lines} }, $line;
        }
    }

    finish($_) for @blocks;

    my @only = grep { $_->{sections}{ONLY} } @blocks;

    return @only ? @only : @blocks;
}


sub new_block
{
    my ($title, $ordinal) = @_;
    my ($nr) = $title =~ /^TEST\s+(\d+)/;

    return { title => $title, nr => $nr // $ordinal, sections => {} };
}


sub finish
{
    my ($block) = @_;

    for my $s (values %{ $block->{sections} }) {
        my @lines = @{ delete $s->{lines} };

        if ($s->{inline}) {
            $s->{value} = $lines[0];
            next;
        }

        shift @lines while @lines && $lines[0] =~ /^\s*$/;
        pop @lines while @lines && $lines[-1] =~ /^\s*$/;

        $s->{value} = @lines ? join("\n", @lines) . "\n" : '';
        $s->{value} =~ s/\n\z// if $s->{mods}{chomp};
    }
}

1;
