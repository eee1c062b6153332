# Numbers from a geo database are untrusted: a
# database with impossible coordinates is refused, at nginx -t and when
# it replaces a good one, and every double a variable prints comes out as
# a short, faithful number, however large it is.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::MMDB;

my $t = Persona::Test->new;

sub paris {
    my (%o) = @_;
    return [ '127.0.0.0/24', { %{ Persona::MMDB::city_record(country => 'FR',
        city => 'Paris', time_zone => 'Europe/Paris', latitude => 48.8566,
        longitude => 2.3522, %o) } } ];
}

my %db = (
    good => [ paris() ],
    huge_latitude => [ paris(latitude => 9.224e18) ],
    huge_longitude => [ paris(longitude => -1.5e300) ],
    latitude_91 => [ paris(latitude => 91.5) ],
    longitude_181 => [ paris(longitude => -181) ],
);

for my $name (sort keys %db) {
    Persona::MMDB::write_city_db("$t->{dir}/$name.mmdb",
        networks => $db{$name});
    chmod 0644, "$t->{dir}/$name.mmdb";
}

# any double field, for persona_geoip2_variable
for my $v ([ max => 1.7976931348623157e308 ], [ big => 9.224e18 ],
    [ neg => -1.5e300 ], [ tiny => 1e-300 ], [ plain => 1234.5 ])
{
    my ($name, $score) = @$v;
    Persona::MMDB::write_city_db("$t->{dir}/score-$name.mmdb",
        networks => [ [ '127.0.0.0/24', { %{ paris()->[1] },
            score => $score } ] ],
        types => { score => 'double' });
    chmod 0644, "$t->{dir}/score-$name.mmdb";
}

my $conf = <<'CONF';
    persona_geoip2 %%DIR%%/DB.mmdb reload=100ms;
    persona_geoip2_variable $geo_score score;

    server {
        listen 127.0.0.1:%%PORT0%%;

        location = /geo {
            default_type text/plain;
            return 200 "lat=$persona_latitude lon=$persona_longitude score=$geo_score\n";
        }
    }
CONF

sub conf_for { my ($db) = @_; return $conf =~ s/DB\.mmdb/$db.mmdb/r }

# nginx -t refuses impossible coordinates

for my $bad (qw(huge_latitude huge_longitude latitude_91 longitude_181)) {
    $t->conf(conf_for($bad));
    my ($rc, $out) = $t->nginx_t;
    isnt($rc, 0, "nginx -t refuses a database with $bad")
        or diag($out);
    like($out, qr/\Q$bad.mmdb\E/, "$bad: the message names the file");
}

# a replacement with impossible coordinates is refused, the old data stays

$t->write_file('live.mmdb', $t->read_file('good.mmdb'));
$t->conf(conf_for('live'));
$t->start;

sub geo {
    my $body = $t->request(GET => '/geo')->{body};
    return { $body =~ /(\w+)=(\S*)/g };
}

is(geo()->{lat}, '48.8566', 'latitude from the good database');

for my $bad (qw(huge_latitude longitude_181)) {
    my $before = () = $t->error_log =~ /not reloaded/g;

    # a new inode, as an update tool would leave it
    $t->write_file('live.mmdb.new', $t->read_file("$bad.mmdb"));
    rename "$t->{dir}/live.mmdb.new", "$t->{dir}/live.mmdb" or die $!;

    my $refused = eval {
        Persona::Test::wait_for('the replacement to be refused', 3, sub {
            (() = $t->error_log =~ /not reloaded/g) > $before
        });
    };
    ok($refused, "replacement with $bad refused");

    my $g = geo();
    is("$g->{lat} $g->{lon}", '48.8566 2.3522',
        "after the $bad replacement, the old coordinates stay");
}

$t->stop;

# a double of any size prints as a bounded, faithful number: one database
# per value, each read through persona_geoip2_variable

my @doubles = ([ max => 1.7976931348623157e308 ], [ big => 9.224e18 ],
    [ neg => -1.5e300 ], [ tiny => 1e-300 ], [ plain => 1234.5 ]);

$t->conf(join('', map {
    "    persona_geoip2 %%DIR%%/score-$_->[0].mmdb name=$_->[0];\n"
    . "    persona_geoip2_variable \$score_$_->[0] $_->[0]:score;\n" } @doubles)
    . <<'CONF');

    server {
        listen 127.0.0.1:%%PORT0%%;

        location /score/ {
            default_type text/plain;
            return 200 "[$score_max][$score_big][$score_neg][$score_tiny][$score_plain]\n";
        }
    }
CONF

$t->start;

my $res = $t->request(GET => '/score/');
is($res->{status}, 200, 'doubles: 200');

my @got = $res->{body} =~ /\[([^\]]*)\]/g;

for my $i (0 .. $#doubles) {
    my ($name, $score) = @{ $doubles[$i] };
    my $s = $got[$i] // '';

    ok(length $s <= 32, "double $name: at most 32 characters ($s)");
    ok($s =~ /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/
        && abs($s - $score) <= abs($score) * 1e-4 + 1e-4,
        "double $name: a faithful number ($s for $score)");
}

$t->stop;

done_testing;
