# Text processing: build a document line by line, count words, sort them, and
# rewrite every line with a regex substitution.
use strict;
use warnings;

my @words = map { join '', map { chr(97 + ($_ * 7 + length($_)) % 26) } 1 .. (3 + $_ % 9) } 1 .. 400;
my $doc = '';
for my $i (1 .. 6000) {
    $doc .= join(' ', map { $words[($i * 31 + $_ * 17) % @words] } 1 .. (4 + $i % 11)) . "\n";
}
my %count;
$count{$_}++ for split /\s+/, $doc;
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
my @lines = split /\n/, $doc;
s/(\w+)/\u$1/g for @lines;
my $out = join "\n", grep { length > 40 } @lines;
print scalar(@lines), " ", length($out), " @top[0..2]\n";
