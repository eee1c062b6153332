package Persona::MMDB;

# MaxMind DB files for the tests, written with MaxMind::DB::Writer so that
# no test depends on a downloaded GeoLite2 database, plus damaged copies
# of them to show that a bad file is refused instead of crashing nginx.
#
#     use Persona::MMDB;
#     Persona::MMDB::write_city_db("$dir/city.mmdb",
#         networks => [
#             [ '10.9.0.0/16', Persona::MMDB::city_record(
#                   country => 'IT', city => 'Roma',
#                   time_zone => 'Europe/Rome') ],
#         ]);
#     Persona::MMDB::corrupt_copy("$dir/city.mmdb", "$dir/bad.mmdb",
#         mode => 'bitflip', where => 'tree', ip => '127.0.0.1');
#
# The database is shaped like GeoLite2-City: IPv6 tree, 28-bit records,
# IPv4 networks stored in ::/96 with ::ffff:0:0/96, 2001::/32 and 2002::/16
# aliased to them, so IPv4 and IPv4-mapped lookups both work.  Reserved
# networks are kept: the test client is 127.0.0.1 and the other networks
# are private or documentation ranges.

use strict;
use warnings;
use utf8;

use Carp qw(croak);
use MaxMind::DB::Reader;
use MaxMind::DB::Writer::Tree;
use Scalar::Util qw(looks_like_number);
use Socket qw(AF_INET AF_INET6 inet_pton);

our $MARKER = "\xAB\xCD\xEFMaxMind.com";

# geoname ids as in GeoNames; only their presence and type matter here
my %CONTINENTS = (
    EU => [ 6255148, 'Europe' ],
    NA => [ 6255149, 'North America' ],
    AS => [ 6255147, 'Asia' ],
    OC => [ 6255151, 'Oceania' ],
    AF => [ 6255146, 'Africa' ],
    SA => [ 6255150, 'South America' ],
    AN => [ 6255152, 'Antarctica' ],
);

my %COUNTRIES = (
    FR => [ 3017382, 'France', 'EU', 1 ],
    DE => [ 2921044, 'Germany', 'EU', 1 ],
    US => [ 6252001, 'United States', 'NA', 0 ],
    JP => [ 1861060, 'Japan', 'AS', 0 ],
    GB => [ 2635167, 'United Kingdom', 'EU', 0 ],
    AU => [ 2077456, 'Australia', 'OC', 0 ],
    CH => [ 2658434, 'Switzerland', 'EU', 0 ],
    BE => [ 2802361, 'Belgium', 'EU', 1 ],
);

# map key -> MaxMind DB type, for the keys GeoIP2 and GeoLite2 use; any
# other key gets a type guessed from the values inserted under it
my %KEY_TYPES = (
    city                           => 'map',
    continent                      => 'map',
    country                        => 'map',
    registered_country             => 'map',
    represented_country            => 'map',
    location                       => 'map',
    postal                         => 'map',
    traits                         => 'map',
    names                          => 'map',
    subdivisions                   => [ 'array', 'map' ],
    geoname_id                     => 'uint32',
    iso_code                       => 'utf8_string',
    code                           => 'utf8_string',
    type                           => 'utf8_string',
    time_zone                      => 'utf8_string',
    latitude                       => 'double',
    longitude                      => 'double',
    accuracy_radius                => 'uint16',
    metro_code                     => 'uint16',
    confidence                     => 'uint16',
    is_in_european_union           => 'boolean',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
    isp                            => 'utf8_string',
    organization                   => 'utf8_string',
);

# A GeoLite2-City record.  Keys: country (ISO code), continent (code,
# defaults from the country), city, region, region_name, time_zone,
# latitude, longitude, accuracy_radius, postal, plus names in other
# languages as city_names => { fr => ... }.  Anything missing is left out
# of the record, as in the real database.
sub city_record {
    my (%a) = @_;

    my %r;

    if (defined $a{country}) {
        my $c = $COUNTRIES{ $a{country} } // [ undef, $a{country}, undef ];
        my %country = (iso_code => $a{country},
            names => { en => $a{country_name} // $c->[1] });
        $country{geoname_id} = $c->[0] if defined $c->[0];
        $country{is_in_european_union} = 1 if $c->[3];
        $r{country} = \%country;
        $r{registered_country} = { %country };
        $a{continent} //= $c->[2];
    }

    if (defined $a{continent}) {
        my $c = $CONTINENTS{ $a{continent} } // [ undef, $a{continent} ];
        $r{continent} = { code => $a{continent},
            names => { en => $c->[1] } };
        $r{continent}{geoname_id} = $c->[0] if defined $c->[0];
    }

    if (defined $a{region}) {
        $r{subdivisions} = [ { iso_code => $a{region},
            names => { en => $a{region_name} // $a{region} } } ];
    }

    if (defined $a{city}) {
        $r{city} = { names => { en => $a{city},
            %{ $a{city_names} // {} } } };
        $r{city}{geoname_id} = $a{city_geoname_id}
            if defined $a{city_geoname_id};
    }

    my %loc;
    $loc{time_zone} = $a{time_zone} if defined $a{time_zone};
    $loc{latitude} = $a{latitude} if defined $a{latitude};
    $loc{longitude} = $a{longitude} if defined $a{longitude};
    $loc{accuracy_radius} = $a{accuracy_radius} // 20 if %loc;
    $r{location} = \%loc if %loc;

    $r{postal} = { code => $a{postal} } if defined $a{postal};

    return \%r;
}

# the networks every test database holds; the test client is 127.0.0.1
sub default_networks {
    return (
        [ '127.0.0.0/24', city_record(country => 'FR', region => 'IDF',
              region_name => 'Île-de-France', city => 'Paris',
              city_names => { fr => 'Paris' }, city_geoname_id => 2988507,
              time_zone => 'Europe/Paris', latitude => 48.8566,
              longitude => 2.3522, postal => '75001') ],
        [ '10.1.0.0/16', {
              %{ city_record(country => 'DE', region => 'BE',
                     region_name => 'Land Berlin', city => 'Berlin',
                     city_geoname_id => 2950159,
                     time_zone => 'Europe/Berlin', latitude => 52.5244,
                     longitude => 13.4105) },
              autonomous_system_number => 64500,
              autonomous_system_organization => 'Example Transit GmbH',
          } ],
        [ '10.2.0.0/16', city_record(country => 'US', region => 'NY',
              region_name => 'New York', city => 'New York',
              city_geoname_id => 5128581, time_zone => 'America/New_York',
              latitude => 40.7143, longitude => -74.006) ],
        [ '10.3.0.0/16', city_record(country => 'JP', region => '13',
              region_name => 'Tokyo', city => '東京',
              time_zone => 'Asia/Tokyo', latitude => 35.6895,
              longitude => 139.6917) ],
        [ '10.4.0.0/16', city_record(country => 'GB', region => 'ENG',
              region_name => 'England',
              city => '<script>alert(1)</script>',
              time_zone => 'Europe/London', latitude => 51.5085,
              longitude => -0.1257) ],
        [ '10.5.0.0/16', city_record(country => 'AU', region => 'NSW',
              region_name => 'New South Wales', city => 'Sydney',
              time_zone => 'Australia/Sydney', latitude => -33.8678,
              longitude => 151.2073) ],
        [ '2001:db8:1::/48', city_record(country => 'CH', region => 'ZH',
              region_name => 'Zurich', city => 'Zürich',
              time_zone => 'Europe/Zurich', latitude => 47.3667,
              longitude => 8.55) ],
        [ '2001:db8:2::/48', city_record(country => 'BE', region => 'BRU',
              region_name => 'Brussels Capital', city => 'Bruxelles',
              city_names => { fr => 'Bruxelles', nl => 'Brussel' },
              time_zone => 'Europe/Brussels', latitude => 50.8505,
              longitude => 4.3488) ],
    );
}

# Writes a GeoLite2-City-shaped database to $path (through $path.tmp and
# rename, so a running nginx never maps a half-written file).
# Options: networks => [ [ CIDR, DATA ], ... ] inserted after the defaults
# (the last insert wins where networks overlap); defaults => 0 to start
# from an empty tree; description => text or { lang => text };
# build_epoch => seconds; database_type; languages; types => { key => type }
# for keys whose type cannot be guessed from their values.
sub write_city_db {
    my ($path, %opts) = @_;

    my @networks = (($opts{defaults} // 1) ? default_networks() : (),
        @{ $opts{networks} // [] });

    my %types = (%KEY_TYPES, %{ _guess_types(\@networks) },
        %{ $opts{types} // {} });

    my $desc = $opts{description} // 'Persona test city database';
    $desc = { en => $desc } unless ref $desc;

    my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 28,
        database_type            => $opts{database_type} // 'GeoLite2-City',
        languages                => $opts{languages} // [ 'en', 'fr' ],
        description              => $desc,
        map_key_type_callback    => sub {
            $types{ $_[0] } // croak "no type for map key \"$_[0]\"";
        },
        alias_ipv6_to_ipv4       => 1,
        remove_reserved_networks => 0,
    );

    $tree->_set_build_epoch($opts{build_epoch}) if defined $opts{build_epoch};

    for my $n (@networks) {
        $tree->insert_network($n->[0], $n->[1]);
    }

    open my $fh, '>:raw', "$path.tmp" or croak "$path.tmp: $!";
    $tree->write_tree($fh);
    close $fh or croak "$path.tmp: $!";
    rename "$path.tmp", $path or croak "rename $path: $!";

    return $path;
}

# the type of each key not in %KEY_TYPES, from the values given for it:
# integers -> uint32 (int32 when negative), other numbers -> double,
# anything else -> utf8_string; a key seen with numbers and strings is
# a string
sub _guess_types {
    my ($networks) = @_;

    my %seen;
    my $walk;
    $walk = sub {
        my ($key, $v) = @_;

        my $t;
        if (ref $v eq 'HASH') {
            $t = 'map';
            $walk->($_, $v->{$_}) for keys %$v;
        } elsif (ref $v eq 'ARRAY') {
            my %elem;
            for my $e (@$v) {
                $elem{ ref $e eq 'HASH' ? 'map'
                    : ref $e eq 'ARRAY' ? croak "nested arrays under $key"
                    : _scalar_type($e) } = 1;
                $walk->(undef, $e) if ref $e;
            }
            my @e = sort keys %elem;
            $t = [ 'array', @e == 1 ? $e[0] : 'utf8_string' ];
        } else {
            $t = _scalar_type($v);
        }

        return unless defined $key && !exists $KEY_TYPES{$key};
        my $old = $seen{$key};
        if (!defined $old) {
            $seen{$key} = $t;
        } elsif (ref $old || ref $t) {
            croak "map key \"$key\" used with different types"
                unless ref $old && ref $t && $old->[1] eq $t->[1];
        } elsif ($old ne $t) {
            croak "map key \"$key\" used with different types"
                if $old eq 'map' || $t eq 'map';
            $seen{$key} = ($old =~ /int/ && $t =~ /int|double/
                    || $old eq 'double' && $t =~ /int/)
                ? 'double' : 'utf8_string';
        }
    };

    $walk->(undef, $_->[1]) for @$networks;

    return \%seen;
}

sub _scalar_type {
    my ($v) = @_;

    return 'utf8_string' unless defined $v && looks_like_number($v);
    return 'uint32' if $v =~ /^\d{1,9}$/;
    return 'int32' if $v =~ /^-\d{1,9}$/;
    return 'double' if $v =~ /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/;
    return 'utf8_string';
}

# Where the parts of an MMDB file are: tree (search tree), data (data
# section), marker (the metadata marker) and metadata (after it), as
# [ offset, length ] pairs, plus node_count and record_size.
sub layout {
    my ($file) = @_;

    my $bytes = _slurp($file);
    my $meta = MaxMind::DB::Reader->new(file => $file)->metadata;
    my $marker = rindex($bytes, $MARKER);
    croak "$file: no metadata marker" if $marker < 0;

    my $rb = $meta->record_size * 2 / 8;
    my $tree = $meta->node_count * $rb;

    return {
        node_count  => $meta->node_count,
        record_size => $meta->record_size,
        tree        => [ 0, $tree ],
        data        => [ $tree + 16, $marker - $tree - 16 ],
        marker      => [ $marker, length $MARKER ],
        metadata    => [ $marker + length $MARKER,
                         length($bytes) - $marker - length $MARKER ],
    };
}

# Follows the search tree for $ip the way libmaxminddb does (IPv4 from the
# ::/96 node) and returns the byte offset and bit position of the last
# record read, and the file offset of the data it points to (undef when
# the address has no data).
sub _path_end {
    my ($bytes, $l, $ip) = @_;

    my ($bits, $start);
    if (defined(my $a4 = inet_pton(AF_INET, $ip))) {
        $bits = unpack('B*', ("\0" x 12) . $a4);
    } elsif (defined(my $a6 = inet_pton(AF_INET6, $ip))) {
        $bits = unpack('B*', $a6);
    } else {
        croak "bad address \"$ip\"";
    }

    my $rs = $l->{record_size};
    my $rb = $rs * 2 / 8;
    my $n = $l->{node_count};
    my ($node, $last) = (0, undef);

    for my $i (0 .. 127) {
        my $right = substr($bits, $i, 1);
        my $off = $node * $rb;
        my $rec = _record($bytes, $off, $rs, $right);
        $last = [ $off, $right ];
        $node = $rec;
        last if $node >= $n;
    }

    my $data = $node > $n ? $l->{tree}[1] + $node - $n : undef;
    return ($last, $data);
}

sub _record {
    my ($bytes, $off, $rs, $right) = @_;

    my @b = unpack('C*', substr($bytes, $off, $rs * 2 / 8));

    if ($rs == 24) {
        my @r = $right ? @b[3 .. 5] : @b[0 .. 2];
        return ($r[0] << 16) | ($r[1] << 8) | $r[2];
    }
    if ($rs == 28) {
        return $right
            ? (($b[3] & 0x0f) << 24) | ($b[4] << 16) | ($b[5] << 8) | $b[6]
            : (($b[3] & 0xf0) << 20) | ($b[0] << 16) | ($b[1] << 8) | $b[2];
    }
    return unpack('N', substr($bytes, $off + ($right ? 4 : 0), 4));
}

# the byte and bit holding the most significant bit of a record
sub _record_msb {
    my ($off, $rs, $right) = @_;

    return $right ? ($off + 3, 3) : ($off + 3, 7) if $rs == 28;
    return ($off + ($right ? $rs / 8 : 0), 7);
}

# Writes a damaged copy of $src to $dst:
#   mode => 'empty'      a zero-length file
#   mode => 'garbage'    as many pseudo-random bytes as $src (no marker),
#                        or size => N
#   mode => 'truncate'   the first offset => N bytes (default: half, which
#                        loses the metadata); where => 'marker' keeps the
#                        file up to and including the metadata marker,
#                        where => 'metadata' cuts the metadata in two
#   mode => 'bitflip'    flips bit => B (0-7, default 7) of the byte at
#                        offset => N, or of the byte chosen by where:
#       'marker'    first byte of the metadata marker: no metadata found
#       'metadata'  the node_count value: the tree no longer fits the file
#       'tree'      most significant bit of the root's left record, or with
#                   ip => ADDR of the last record on ADDR's path: the record
#                   points past the data section
#       'data'      the first byte of the data section, or with ip => ADDR
#                   the control byte of ADDR's record: a map becomes a
#                   double of the wrong size
# Returns the offset that was changed (or the new length).
sub corrupt_copy {
    my ($src, $dst, %o) = @_;

    my $mode = $o{mode} // croak 'corrupt_copy: mode needed';
    my $bytes = _slurp($src);
    my $ret;

    if ($mode eq 'empty') {
        $bytes = '';
        $ret = 0;

    } elsif ($mode eq 'garbage') {
        my $size = $o{size} // length $bytes;
        my $x = $o{seed} // 12345;
        $bytes = '';
        while (length $bytes < $size) {
            $x = ($x * 1103515245 + 12345) % 2147483648;
            $bytes .= chr(($x >> 16) & 0xff);
        }
        $bytes =~ s/\xAB\xCD\xEF/\xAB\xCD\xEE/g;
        $ret = $size;

    } elsif ($mode eq 'truncate') {
        my $len = $o{offset};
        if (!defined $len && defined $o{where}) {
            my $l = layout($src);
            $len = $o{where} eq 'marker'
                ? $l->{marker}[0] + $l->{marker}[1]
                : $o{where} eq 'metadata'
                ? $l->{metadata}[0] + int($l->{metadata}[1] / 2)
                : croak "corrupt_copy: bad where \"$o{where}\"";
        }
        $len //= int(length($bytes) / 2);
        $bytes = substr($bytes, 0, $len);
        $ret = $len;

    } elsif ($mode eq 'bitflip') {
        my ($off, $bit) = ($o{offset}, $o{bit} // 7);
        if (!defined $off) {
            ($off, my $b) = _flip_target($src, $bytes, %o);
            $bit = $o{bit} // $b;
        }
        croak "corrupt_copy: offset $off outside the file"
            if $off >= length $bytes;
        substr($bytes, $off, 1) = chr(ord(substr($bytes, $off, 1))
            ^ (1 << $bit));
        $ret = $off;

    } else {
        croak "corrupt_copy: bad mode \"$mode\"";
    }

    open my $fh, '>:raw', $dst or croak "$dst: $!";
    print $fh $bytes;
    close $fh or croak "$dst: $!";

    return $ret;
}

sub _flip_target {
    my ($src, $bytes, %o) = @_;

    my $where = $o{where} // 'tree';
    my $l = layout($src);

    return ($l->{marker}[0], 7) if $where eq 'marker';

    if ($where eq 'metadata') {
        # the key is stored as a string, its value follows: a uint32
        # control byte (0xc0 | length) and the big-endian bytes; flipping
        # the top bit of the first value byte makes node_count far too big
        my $k = index($bytes, "node_count", $l->{metadata}[0]);
        croak "$src: no node_count in the metadata" if $k < 0;
        return ($k + length('node_count') + 1, 7);
    }

    if ($where eq 'tree') {
        return _record_msb(0, $l->{record_size}, 0) unless defined $o{ip};
        my ($last) = _path_end($bytes, $l, $o{ip});
        return _record_msb($last->[0], $l->{record_size}, $last->[1]);
    }

    if ($where eq 'data') {
        return ($l->{data}[0], 7) unless defined $o{ip};
        my (undef, $data) = _path_end($bytes, $l, $o{ip});
        croak "$src: no data for $o{ip}" unless defined $data;
        return ($data, 7);
    }

    croak "corrupt_copy: bad where \"$where\"";
}

sub _slurp {
    my ($file) = @_;

    open my $fh, '<:raw', $file or croak "$file: $!";
    local $/;
    my $bytes = <$fh>;
    close $fh;

    return $bytes;
}

1;
