# The test GeoIP databases: what Persona::MMDB writes is read back with
# libmaxminddb's own mmdblookup, and each damaged copy fails the way the
# geo tests expect it to.

use strict;
use warnings;
use utf8;

use File::Temp qw(tempdir);
use Test::More;

BEGIN {
    eval { require MaxMind::DB::Writer::Tree; 1 }
        or plan skip_all => 'MaxMind::DB::Writer not installed '
            . '(libmaxmind-db-writer-perl)';
    system('mmdblookup --version >/dev/null 2>&1') == 0
        or plan skip_all => 'mmdblookup not installed (mmdb-bin)';
}

use Persona::MMDB;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

my $dir = tempdir('persona-mmdb-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# (exit status, value) of mmdblookup for one address and path; the value
# is the first scalar printed, decoded from UTF-8
sub lookup {
    my ($file, $ip, @path) = @_;

    my $pid = open(my $fh, '-|');
    defined $pid or die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec 'mmdblookup', '-f', $file, '-i', $ip, @path;
        exit 127;
    }
    binmode $fh, ':encoding(UTF-8)';
    my $out = do { local $/; <$fh> };
    close $fh;

    my $rc = $?;
    my $value;
    if ($out =~ /^\s*"((?:[^"\\]|\\.)*)" <utf8_string>/m) {
        $value = $1;
    } elsif ($out =~ /^\s*(-?[\d.]+) <(?:uint\d+|int32|double)>/m) {
        $value = $1;
    }

    return ($rc, $value, $out);
}

sub value { (lookup(@_))[1] }

my $db = "$dir/city.mmdb";
Persona::MMDB::write_city_db($db, build_epoch => 1700000000,
    description => 'test city data');

ok(-s $db, 'database written');
ok(!-e "$db.tmp", 'no temporary file left');

# the four addresses the geo tests lean on
is(value($db, '127.0.0.1', qw(country iso_code)), 'FR', '127.0.0.1 country');
is(value($db, '127.0.0.1', qw(city names en)), 'Paris', '127.0.0.1 city');
is(value($db, '127.0.0.1', qw(subdivisions 0 iso_code)), 'IDF',
    '127.0.0.1 region');
is(value($db, '127.0.0.1', qw(subdivisions 0 names en)), 'Île-de-France',
    '127.0.0.1 region name, non-ASCII');
is(value($db, '127.0.0.1', qw(continent code)), 'EU', '127.0.0.1 continent');
is(value($db, '127.0.0.1', qw(location time_zone)), 'Europe/Paris',
    '127.0.0.1 time zone');
like(value($db, '127.0.0.1', qw(location latitude)), qr/^48\.8566/,
    '127.0.0.1 latitude');
like(value($db, '127.0.0.1', qw(location longitude)), qr/^2\.3522/,
    '127.0.0.1 longitude');
is(value($db, '127.0.0.254', qw(city names en)), 'Paris',
    'the whole 127.0.0.0/24');
is((lookup($db, '127.0.1.1', qw(city names en)))[1], undef,
    '127.0.1.1 is outside the /24');

is(value($db, '10.3.1.1', qw(city names en)), '東京', 'non-ASCII city');
is(value($db, '10.3.1.1', qw(country iso_code)), 'JP', '10.3.1.1 country');
is(value($db, '10.3.1.1', qw(location time_zone)), 'Asia/Tokyo',
    '10.3.1.1 time zone');

is(value($db, '::ffff:10.1.0.1', qw(city names en)), 'Berlin',
    'IPv4-mapped address');
is(value($db, '::ffff:10.1.0.1', qw(location time_zone)), 'Europe/Berlin',
    'IPv4-mapped time zone');
is(value($db, '2002:a03:101::', qw(city names en)), '東京',
    '6to4 address aliased to IPv4');

is(value($db, '2001:db8:1::5', qw(city names en)), 'Zürich', 'IPv6 city');
is(value($db, '2001:db8:1::5', qw(country iso_code)), 'CH',
    'IPv6 country');
is(value($db, '2001:db8:1::5', qw(location time_zone)), 'Europe/Zurich',
    'IPv6 time zone');
is(value($db, '2001:db8:2::1', qw(city names en)), 'Bruxelles',
    'second IPv6 network');
is(value($db, '2001:db8:2::1', qw(country iso_code)), 'BE',
    'second IPv6 network country');

is(value($db, '10.2.3.4', qw(subdivisions 0 iso_code)), 'NY', 'US region');
is(value($db, '10.2.3.4', qw(city names en)), 'New York', 'US city');
is(value($db, '10.2.3.4', qw(continent code)), 'NA', 'US continent');
is(value($db, '10.4.0.1', qw(city names en)), '<script>alert(1)</script>',
    'hostile city name stored as is');
is(value($db, '10.4.0.1', qw(country iso_code)), 'GB', 'GB country');
is(value($db, '10.5.0.1', qw(location time_zone)), 'Australia/Sydney',
    'southern hemisphere time zone');

is(value($db, '10.1.0.1', 'autonomous_system_number'), 64500,
    'ASN-like number field');
is(value($db, '10.1.0.1', 'autonomous_system_organization'),
    'Example Transit GmbH', 'ASN-like string field');
is((lookup($db, '10.2.0.1', 'autonomous_system_number'))[1], undef,
    'ASN field only where inserted');

my ($rc, undef, $out) = lookup($db, '192.0.2.1', qw(city names en));
isnt($rc, 0, 'address in no network: mmdblookup fails');
like($out, qr/Could not find an entry/, 'address in no network: no entry');
($rc) = lookup($db, '2001:db8:3::1');
isnt($rc, 0, 'IPv6 address in no network');

($rc, undef, $out) = lookup($db, '127.0.0.1', '-v');
like($out, qr/Type:\s+GeoLite2-City/, 'database type');
like($out, qr/IP version:\s+IPv6/, 'IPv6 tree');
like($out, qr/Record size:\s+28 bits/, '28-bit records');
like($out, qr/Build epoch:\s+1700000000/, 'build epoch');
like($out, qr/en:\s+test city data/, 'description');

# networks added to and overriding the defaults
my $db2 = "$dir/city2.mmdb";
Persona::MMDB::write_city_db($db2, networks => [
    [ '127.0.0.0/24', Persona::MMDB::city_record(country => 'IT',
          city => 'Roma', time_zone => 'Europe/Rome') ],
    [ '10.1.2.3/32', Persona::MMDB::city_record(country => 'AT',
          continent => 'EU', city => 'Wien',
          time_zone => 'Europe/Vienna') ],
    [ '10.9.0.0/16', { traits => { connection_type => 'Cellular' },
          score => 7, ratio => 0.25, tags => [ 'a', 'b' ] } ],
]);

is(value($db2, '127.0.0.1', qw(city names en)), 'Roma', 'default replaced');
is(value($db2, '127.0.0.1', qw(country iso_code)), 'IT',
    'default replaced: country');
is((lookup($db2, '127.0.0.1', qw(subdivisions 0 iso_code)))[1], undef,
    'default replaced as a whole, not merged');
is(value($db2, '10.1.2.3', qw(city names en)), 'Wien', '/32 inside a /16');
is(value($db2, '10.1.2.4', qw(city names en)), 'Berlin',
    'rest of the /16 kept');
is(value($db2, '10.9.1.1', qw(traits connection_type)), 'Cellular',
    'arbitrary nested field');
is(value($db2, '10.9.1.1', 'score'), 7, 'arbitrary integer field');
like(value($db2, '10.9.1.1', 'ratio'), qr/^0\.25/, 'arbitrary double field');
is(value($db2, '10.9.1.1', qw(tags 1)), 'b', 'arbitrary array field');

Persona::MMDB::write_city_db("$dir/empty.mmdb", defaults => 0,
    networks => [ [ '10.7.0.0/16', Persona::MMDB::city_record(
        country => 'FR', city => 'Lyon') ] ]);
is(value("$dir/empty.mmdb", '10.7.0.1', qw(city names en)), 'Lyon',
    'without the defaults');
isnt((lookup("$dir/empty.mmdb", '127.0.0.1'))[0], 0,
    'without the defaults: 127.0.0.1 unknown');

# damaged copies
my $size = -s $db;
my $l = Persona::MMDB::layout($db);
is($l->{data}[0], $l->{tree}[1] + 16, 'layout: data after tree and gap');
is($l->{marker}[0], $l->{data}[0] + $l->{data}[1], 'layout: marker after data');
is($l->{metadata}[0] + $l->{metadata}[1], $size, 'layout: metadata at end');

sub damaged {
    my ($name, @o) = @_;

    my $f = "$dir/$name.mmdb";
    my $r = Persona::MMDB::corrupt_copy($db, $f, @o);
    return ($f, $r);
}

sub slurp {
    my ($path) = @_;

    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub differs {
    my ($a, $b) = @_;

    my ($x, $y) = (slurp($a), slurp($b));
    return undef if length $x != length $y;
    my @d = grep { substr($x, $_, 1) ne substr($y, $_, 1) } 0 .. length($x) - 1;
    return \@d;
}

sub refused {
    my ($f, $why, $name) = @_;

    my ($rc, undef, $out) = lookup($f, '127.0.0.1', qw(city names en));
    is($rc & 127, 0, "$name: no crash");
    isnt($rc >> 8, 0, "$name: refused");
    like($out, qr/Can't open.*$why/s, "$name: reason");
}

my ($f, $r) = damaged('empty', mode => 'empty');
is(-s $f, 0, 'empty: zero bytes');
refused($f, 'read data', 'empty');

($f, $r) = damaged('garbage', mode => 'garbage');
is(-s $f, $size, 'garbage: same size');
refused($f, 'invalid metadata', 'garbage');

# libmaxminddb 1.7.1 reads one byte past such a file: when the file fills
# its last page exactly that byte may be unmapped, so only a shorter file
# goes through mmdblookup here
($f, $r) = damaged('marker-end', mode => 'garbage', marker => 1);
is(-s $f, 4096, 'marker at the end: one page');
is(substr(slurp($f), -14), $Persona::MMDB::MARKER,
    'marker at the end: nothing after it');
($f, $r) = damaged('marker-end-short', mode => 'garbage', marker => 1,
    size => 4000);
refused($f, '', 'marker at the end');

($f, $r) = damaged('truncated', mode => 'truncate');
is(-s $f, int($size / 2), 'truncate: half');
refused($f, 'invalid metadata', 'truncate');

($f, $r) = damaged('truncated-marker', mode => 'truncate', where => 'marker');
is(-s $f, $l->{metadata}[0], 'truncate after the marker');
refused($f, '', 'truncate after the marker');

($f, $r) = damaged('truncated-metadata', mode => 'truncate',
    where => 'metadata');
ok(-s $f > $l->{metadata}[0] && -s $f < $size, 'truncate in the metadata');
refused($f, 'bad data', 'truncate in the metadata');

($f, $r) = damaged('flip-marker', mode => 'bitflip', where => 'marker');
is_deeply(differs($db, $f), [ $l->{marker}[0] ], 'flip marker: one byte');
refused($f, 'invalid metadata', 'flip marker');

($f, $r) = damaged('flip-metadata', mode => 'bitflip', where => 'metadata');
my $d = differs($db, $f);
ok(@$d == 1 && $d->[0] > $l->{metadata}[0], 'flip metadata: one byte');
($rc, undef, $out) = lookup($f, '127.0.0.1', qw(city names en));
isnt($rc, 0, 'flip metadata: Paris lost');
unlike($out, qr/Paris/, 'flip metadata: no Paris');

($f, $r) = damaged('flip-tree', mode => 'bitflip', where => 'tree');
is_deeply(differs($db, $f), [ 3 ], 'flip root record');
for my $ip ('127.0.0.1', '10.3.1.1', '2001:db8:1::5') {
    ($rc, undef, $out) = lookup($f, $ip, qw(city names en));
    like($out, qr/search tree is corrupt/, "flip root record: $ip");
}

($f, $r) = damaged('flip-tree-ip', mode => 'bitflip', where => 'tree',
    ip => '127.0.0.1');
$d = differs($db, $f);
ok(@$d == 1 && $d->[0] < $l->{tree}[1], 'flip a record: in the tree');
like((lookup($f, '127.0.0.1', qw(city names en)))[2],
    qr/search tree is corrupt/, 'flip a record: that address broken');
is(value($f, '10.3.1.1', qw(city names en)), '東京',
    'flip a record: other addresses intact');

($f, $r) = damaged('flip-data-ip', mode => 'bitflip', where => 'data',
    ip => '2001:db8:1::5');
$d = differs($db, $f);
ok(@$d == 1 && $d->[0] >= $l->{data}[0] && $d->[0] < $l->{marker}[0],
    'flip data: in the data section');
like((lookup($f, '2001:db8:1::5', qw(city names en)))[2],
    qr/bad data/, 'flip data: that record broken');
is(value($f, '127.0.0.1', qw(city names en)), 'Paris',
    'flip data: other records intact');

($f, $r) = damaged('flip-offset', mode => 'bitflip', offset => 10, bit => 0);
is_deeply(differs($db, $f), [ 10 ], 'flip at a given offset');

# a well-formed but hostile file
Persona::MMDB::write_nested_db("$dir/nested10.mmdb", depth => 10);
is(value("$dir/nested10.mmdb", '1.2.3.4', qw(city names en)), 'Deep',
    'nested arrays, shallow: readable');
Persona::MMDB::write_nested_db("$dir/nested.mmdb");
ok(-s "$dir/nested.mmdb" > 2_000_000, 'nested arrays, deep: 2 MB');
($rc, undef, $out) = lookup("$dir/nested.mmdb", '1.2.3.4');
like($out, qr/bad data/, 'nested arrays, deep: opened, entry refused');

done_testing;
