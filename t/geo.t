# Geolocation: values through realip and X-Forwarded-For, IPv4 and IPv6,
# any field as a variable, escaping in fragments, local time across DST,
# broken databases refused, replacement under traffic.

use strict;
use warnings;
use utf8;

use Test::More;
use Time::HiRes qw(time);
use Persona::Test;
use Persona::MMDB;

my $t = Persona::Test->new(workers => 2);

my $db = "$t->{dir}/city.mmdb";
Persona::MMDB::write_city_db($db);
chmod 0644, $db;

$t->write_file('html/index.html',
    "<p><!--persona:hello-->hi<!--/persona:hello--></p>\n");

$t->conf(<<'CONF');
    persona_geoip2 %%DIR%%/city.mmdb reload=100ms;
    persona_geoip2_variable $geo_asn autonomous_system_organization;
    persona_geoip2_variable $geo_postal postal.code;

    persona_content hello {
        when '$persona_country in (GB FR JP)'
             'text=Hello {{$persona_city}} ({{$persona_country}})';
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;

        persona on;
        persona_slot hello hello;
        persona_time $arg_at;

        location = /geo {
            default_type text/plain;
            return 200 "country=$persona_country region=$persona_region city=$persona_city continent=$persona_continent tz=$persona_timezone lat=$persona_latitude lon=$persona_longitude asn=$geo_asn postal=$geo_postal hour=$persona_hour day=$persona_weekday\n";
        }
    }
CONF

$t->start;

sub geo {
    my (%h) = @_;
    my $at = delete $h{at};
    my $res = $t->request(GET => '/geo' . (defined $at ? "?at=$at" : ''),
        headers => \%h);
    my $body = $res->{body};
    utf8::decode($body);
    return { $body =~ /(\w+)=(\S*)/g };
}

my $g = geo();
is($g->{country}, 'FR', 'client address: country');
is($g->{region}, 'IDF', 'region');
is($g->{city}, 'Paris', 'city');
is($g->{continent}, 'EU', 'continent');
is($g->{tz}, 'Europe/Paris', 'time zone');
is($g->{lat}, '48.8566', 'latitude');
is($g->{lon}, '2.3522', 'longitude');
is($g->{postal}, '75001', 'any field as a variable');

$g = geo('X-Forwarded-For' => '10.3.1.1');
is($g->{country}, 'JP', 'realip + X-Forwarded-For');
is($g->{city}, '東京', 'non-ASCII city');

my $asn = $t->request(GET => '/geo',
    headers => { 'X-Forwarded-For' => '10.1.2.3' })->{body};
like($asn, qr/asn=Example Transit GmbH postal=/, 'ASN field');

$g = geo('X-Forwarded-For' => '2001:db8:1::5');
is($g->{country}, 'CH', 'IPv6');
is($g->{city}, 'Zürich', 'IPv6 city');

$g = geo('X-Forwarded-For' => '192.0.2.1');
is($g->{country}, '', 'unknown address: empty');
is($g->{city}, '', 'unknown address: no city');

# local time on both sides of daylight-saving changes (a fixed clock)

$g = geo(at => 1774745999);      # 2026-03-29T00:59:59Z
is($g->{hour}, '01', 'Paris before the spring change: 01h');
is($g->{day}, 'sun', 'weekday');
$g = geo(at => 1774746000);      # 01:00:00Z
is($g->{hour}, '03', 'Paris after the spring change: 03h');
$g = geo(at => 1792889999, 'X-Forwarded-For' => '10.2.0.1');
is($g->{hour}, '20', 'New York, 2026-10-25T00:59:59Z: 20h (EDT)');
$g = geo(at => 1793512800, 'X-Forwarded-For' => '10.2.0.1');
is($g->{hour}, '01', 'New York after its autumn change: 01h (EST)');
$g = geo(at => 1767225600, 'X-Forwarded-For' => '10.5.0.1');
is($g->{hour}, '11', 'Sydney in January: UTC+11');

# escaping of geo values in fragments

my $res = $t->request(GET => '/', headers => {
    'X-Forwarded-For' => '10.4.0.1' });
is($res->{body},
    "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt; (GB)</p>\n",
    'a city named <script> is escaped');

# replacement by rename under traffic: new values, no failed request

my $new = "$t->{dir}/city.new";
Persona::MMDB::write_city_db($new, networks => [
    [ '127.0.0.0/24', Persona::MMDB::city_record(country => 'IT',
        city => 'Roma', time_zone => 'Europe/Rome') ] ]);
chmod 0644, $new;

my ($failed, $old, $newer) = (0, 0, 0);
my $renamed = 0;

# traffic until the new data is seen 20 times (10 s at most)
my $deadline = time + 10;

for (my $i = 1; time < $deadline; $i++) {
    if ($i == 50) {
        rename $new, $db or die;
        $renamed = 1;
    }

    my $r = $t->request(GET => '/geo');
    $failed++ if $r->{status} != 200;
    my ($c) = $r->{body} =~ /country=(\w*)/;
    $c //= '';
    $newer++ if $c eq 'IT';
    $old++ if $c eq 'FR';
    last if $newer >= 20;
}

is($failed, 0, 'no failed request during the replacement');
ok($newer >= 20, "the new data is served ($newer)");

# once every worker has switched (each on its own timer), none answers
# from the old file
my $workers = () = $t->worker_pids;
for (1 .. 200) {
    my $n = () = $t->error_log =~ /geoip2 database .* reloaded/g;
    last if $n >= $workers;
    select undef, undef, undef, 0.05;
}
my $stale = 0;
for (1 .. 50) {
    $stale++ if $t->request(GET => '/geo')->{body} =~ /country=FR/;
}
is($stale, 0, 'no old value after the switch')
    or diag(grep { /persona/ } split /\n/, $t->error_log);

# a bad replacement is refused, the current data stays

Persona::MMDB::corrupt_copy(
    $db, "$t->{dir}/bad.mmdb", mode => 'truncate');
rename "$t->{dir}/bad.mmdb", $db;

Persona::Test::wait_for('refusal logged', 10, sub {
    $t->error_log =~ /not reloaded, the previous data stays/;
});

is(geo()->{country}, 'IT', 'bad new file: previous data still served');

# overwriting in place never crashes a worker

Persona::MMDB::write_city_db($new);
open my $in, '<:raw', $new or die;
my $bytes = do { local $/; <$in> };
close $in;

open my $out, '+<:raw', $db or die;
truncate $out, 0;
print $out substr($bytes, 0, 100);
close $out;

$failed = 0;
for (1 .. 30) {
    $failed++ if $t->request(GET => '/geo')->{status} != 200;
}

open $out, '>:raw', $db or die;
print $out $bytes;
close $out;

for (1 .. 30) {
    $failed++ if $t->request(GET => '/geo')->{status} != 200;
}

is($failed, 0, 'overwritten in place: every request answered');

$t->stop;

# databases refused by nginx -t

my $src = "$t->{dir}/src.mmdb";
Persona::MMDB::write_city_db($src);

my @bad = (
    [ 'missing', sub { unlink $_[0] }, qr/open\(\) ".*" failed/ ],
    [ 'empty', sub { Persona::MMDB::corrupt_copy($src, $_[0],
        mode => 'empty') }, qr/geoip2 database ".*":/ ],
    [ 'not an MMDB', sub { Persona::MMDB::corrupt_copy($src, $_[0],
        mode => 'garbage') }, qr/geoip2 database ".*":/ ],
    [ 'truncated', sub { Persona::MMDB::corrupt_copy($src, $_[0],
        mode => 'truncate') }, qr/geoip2 database ".*":/ ],
    [ 'truncated metadata', sub { Persona::MMDB::corrupt_copy($src, $_[0],
        mode => 'truncate', where => 'metadata') },
        qr/geoip2 database ".*":/ ],
    [ 'bit flip in the tree', sub { Persona::MMDB::corrupt_copy($src,
        $_[0], mode => 'bitflip', where => 'tree', ip => '127.0.0.1') },
        qr/geoip2 database ".*":/ ],
    [ 'bit flip in a record', sub { Persona::MMDB::corrupt_copy($src,
        $_[0], mode => 'bitflip', where => 'data', ip => '127.0.0.1') },
        qr/geoip2 database ".*":/ ],
    [ 'bit flip in the metadata', sub { Persona::MMDB::corrupt_copy($src,
        $_[0], mode => 'bitflip', where => 'metadata') },
        qr/geoip2 database ".*":/ ],
    [ 'bit flip in the first data byte', sub { Persona::MMDB::corrupt_copy(
        $src, $_[0], mode => 'bitflip', where => 'data') },
        qr/geoip2 database ".*":/ ],
    [ 'marker at the very end', sub { Persona::MMDB::corrupt_copy($src,
        $_[0], mode => 'garbage', marker => 1, size => 4096) },
        qr/geoip2 database ".*": no metadata/ ],
    [ 'arrays nested a million deep', sub { Persona::MMDB::write_nested_db(
        $_[0], depth => 1_000_000) }, qr/data nested too deep/ ],
);

for my $b (@bad) {
    my ($name, $make, $re) = @$b;
    my $bt = Persona::Test->new;
    my $path = "$bt->{dir}/city.mmdb";
    $make->($path);
    $bt->conf("persona_geoip2 $path;\n");
    my ($rc, $out) = $bt->nginx_t;
    isnt($rc, 0, "$name database: nginx -t fails");
    like($out, $re, "$name database: the reason") or diag($out);
    like($out, qr/cannot use geoip2 database ".*" in .*nginx\.conf:\d+/,
        "$name database: file:line");
    unlike($out, qr/signal|Segmentation/, "$name database: no crash");
}

done_testing;
