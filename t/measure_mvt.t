# Multivariate experiments: factors and levels in the configuration,
# every cell a variant assigned with one hash as GrowthBook assigns an
# experiment with the cells as variations, a slot per factor, variables
# per factor, one exposure per page naming the levels, and the mistakes
# nginx -t refuses.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Persona::Test;
use Persona::Events qw(take);
use Persona::GrowthBook qw(v2 choose);

my $t = Persona::Test->new;

$t->write_file('html/index.html',
    "<h1><!--persona:headline-->Shop<!--/persona:headline--></h1>\n"
    . "<p><!--persona:image-->no image<!--/persona:image--></p>\n");
$t->write_file('html/rules.html',
    "<p><!--persona:note-->plain<!--/persona:note--></p>\n");

$t->conf(<<'CONF');
    persona_id $http_x_user_id;

    persona_experiment mvt {
        factor headline benefit 'text=Save time';
        factor headline price   'text=From 9.90';
        factor image    photo   'text=[photo]';
        factor image    drawing;
    }

    persona_experiment weighted {
        traffic 80%;
        factor size  small 80%;
        factor size  large 20%;
        factor color red   50%;
        factor color blue  50%;
    }

    persona_content note {
        when '$persona_level_mvt_headline = price' 'text=prices shown';
    }

    log_format persona_exposure escape=none '$persona_exposures';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot headline mvt.headline;
        persona_slot image mvt.image;
        persona_slot note note;

        add_header X-Cell "$persona_variant_mvt";

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;

        location = /rules.html {
            add_header X-Cell "";
        }

        location = /vars {
            return 200 "$persona_variant_mvt|$persona_level_mvt_headline|$persona_level_mvt_image|$persona_variant_weighted|$persona_assignments\n";
        }
    }
CONF

$t->start;

my @cells = ('headline=benefit;image=photo', 'headline=benefit;image=drawing',
    'headline=price;image=photo', 'headline=price;image=drawing');
my @wcells = ('size=small;color=red', 'size=small;color=blue',
    'size=large;color=red', 'size=large;color=blue');
my @wweights = (0.4, 0.4, 0.1, 0.1);

sub events {
    my ($n) = @_;
    return take("$t->{dir}/exposure.log", $n);
}

my (%seen, %wseen);

for my $k (1 .. 60) {
    my $id = "m$k";

    my $want = choose(v2('mvt', $id), 1, (1 / 4) x 4);
    my $wwant = choose(v2('weighted', $id), 0.8, @wweights);

    my $vars = $t->request(GET => '/vars', headers => { 'X-User-Id' => $id })
        ->{body};
    chomp $vars;
    my ($cell, $hl, $img, $wcell, $assign) = split /\|/, $vars, -1;

    is($cell, $cells[$want], "$id: the cell GrowthBook gives");
    my ($h, $i) = $cells[$want] =~ /headline=(\w+);image=(\w+)/;
    is("$hl $img", "$h $i", "$id: the level of each factor");
    is($wcell, $wwant < 0 ? '' : $wcells[$wwant],
        "$id: weighted cells and traffic");
    like($assign, qr/^mvt=\Q$cell\E(?:,weighted=\Q$wcell\E)?$/,
        "$id: \$persona_assignments");
    $seen{$want}++;
    $wseen{$wwant}++;

    events(1 + ($wwant >= 0));

    my $res = $t->request(GET => '/', headers => { 'X-User-Id' => $id });
    like($res->{body},
        qr/<h1>\Q@{[ $h eq 'benefit' ? 'Save time' : 'From 9.90' ]}\E<\/h1>/,
        "$id: the headline slot shows its level");
    like($res->{body},
        qr/<p>\Q@{[ $i eq 'photo' ? '[photo]' : 'no image' ]}\E<\/p>/,
        "$id: the image slot (a level without fragment keeps the default)");

    my @e = events(1);
    is(scalar @e, 1, "$id: two factor slots, one exposure")
        or diag(explain \@e);
    is($e[0]{experiment}, 'mvt', "$id: of the experiment");
    is($e[0]{variant}, $cells[$want], "$id: the cell");
    is($e[0]{variant_index}, $want, "$id: its index");
    is($e[0]{weight}, 0.25, "$id: its weight");
    is_deeply($e[0]{factors}, { headline => $h, image => $i },
        "$id: the levels");

    # a rule set reading a factor's level exposes the experiment

    $res = $t->request(GET => '/rules.html',
        headers => { 'X-User-Id' => $id });
    like($res->{body}, $h eq 'price' ? qr/prices shown/ : qr/plain/,
        "$id: a rule on the level");
    my @m = grep { ($_->{experiment} // '') eq 'mvt' }
        events(1 + ($h eq 'price'));
    is(scalar @m, 1, "$id: the rule's read is one exposure of mvt");
}

is(scalar(keys %seen), 4, 'all four cells seen');
ok($wseen{-1} && $wseen{0}, 'weighted: outside traffic and inside seen');

$t->stop;

# nginx -t refuses what cannot be a factorial experiment

my @cases = (
    [ 'variants and factors', <<'C', qr/experiment "x" has both variants and factors/ ],
persona_experiment x { variant a; factor f l1; factor f l2; }
C
    [ 'a factor of one level', <<'C', qr/factor "f" of experiment "x" has one level, give at least two/ ],
persona_experiment x { factor f l1; factor g a; factor g b; }
C
    [ 'level weights not summing to 100%', <<'C', qr/level weights of "x.f" sum to 90%, must be 100%/ ],
persona_experiment x { factor f a 50%; factor f b 40%; }
C
    [ 'duplicate level', <<'C', qr/duplicate level "a" in factor "x.f"/ ],
persona_experiment x { factor f a; factor f a; }
C
    [ 'cell weight finer than a basis point', <<'C', qr/cell "f=a;g=c" of experiment "x" gets a weight finer than 0.01%/ ],
persona_experiment x { factor f a 33.33%; factor f b 66.67%; factor g c 50%; factor g d 50%; }
C
    [ 'unweighted factor that cannot split equally', <<'C', qr/levels of factor "g" of experiment "x" cannot share 100% equally/ ],
persona_experiment x { factor f a 50%; factor f b 50%; factor g c; factor g d; factor g e; }
C
    [ 'invalid factor name', <<'C', qr/invalid factor name "f-1"/ ],
persona_experiment x { factor f-1 a; factor f-1 b; }
C
    [ 'a slot on the whole experiment', <<'C', qr/experiment "x" in slot "s" is multivariate, a slot shows one of its factors: "x.FACTOR"/ ],
persona_experiment x { factor f a; factor f b; }
server { persona_slot s x; }
C
    [ 'a slot on an unknown factor', <<'C', qr/unknown factor "g" of experiment "x" in slot "s"/ ],
persona_experiment x { factor f a; factor f b; }
server { persona_slot s x.g; }
C
    [ 'a factor of a plain experiment', <<'C', qr/unknown factor "f" of experiment "x"/ ],
persona_experiment x { variant a; variant b; }
server { persona_slot s x.f; }
C
);

for my $c (@cases) {
    my ($name, $conf, $re) = @$c;
    my $n = Persona::Test->new;
    $n->conf($conf);
    my ($rc, $out) = $n->nginx_t;
    isnt($rc, 0, "$name: refused");
    like($out, $re, "$name: message") or diag($out);
}

my $ok = Persona::Test->new;
$ok->conf(<<'C');
persona_experiment x { factor f a 80%; factor f b 20%; factor g c; factor g d; }
server { persona_slot s x.f; persona_slot t x.g; }
C
my ($rc, $out) = $ok->nginx_t;
is($rc, 0, 'weighted and equal factors together') or diag($out);

done_testing;
