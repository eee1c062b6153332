package Persona::GrowthBook;

# The reference the tests check assignments against: GrowthBook's hashes
# and bucket ranges as its JavaScript SDK computes them, for ASCII ids
# (one byte is one UTF-16 code unit there).
#
#     use Persona::GrowthBook qw(v1 v2 choose);
#     my $n = v2('hero', $id);                  # 0 <= n < 1
#     my $i = choose($n, 0.8, 0.5, 0.5);        # variant, or -1

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(fnv1a32 v1 v2 choose);

sub fnv1a32 {
    my ($s) = @_;
    my $h = 0x811c9dc5;
    for my $c (unpack 'C*', $s) {
        $h ^= $c;
        $h = ($h * 0x01000193) & 0xffffffff;    # < 2**57: exact in an IV
    }
    return $h;
}

sub v2 {
    my ($seed, $id) = @_;
    return (fnv1a32(fnv1a32($seed . $id)) % 10000) / 10000;
}

sub v1 {
    my ($seed, $id) = @_;
    return (fnv1a32($id . $seed) % 1000) / 1000;
}

# the variant whose range [start, start + coverage * w) holds n, or -1
sub choose {
    my ($n, $coverage, @w) = @_;
    my $cum = 0;
    for my $i (0 .. $#w) {
        my $start = $cum;
        $cum += $w[$i];
        return $i if $n >= $start && $n < $start + $coverage * $w[$i];
    }
    return -1;
}

1;
