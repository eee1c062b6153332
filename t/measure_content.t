# Personalization is measured: a content rule that is shown logs an
# exposure of its set and rule (named by name= or by position), the
# default logs nothing; holdouts (per set, and persona_holdout for the
# whole site) keep a deterministic share of visitors on the default,
# logged as holdout exposures with the rule they would have seen; a
# variant read by a rule's condition is an exposure of its experiment
# once the set is shown, for every variant, default included.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Persona::Test;
use Persona::Events qw(take);
use Persona::GrowthBook qw(v2);

my $t = Persona::Test->new;

$t->write_file('html/index.html',
    "<p><!--persona:greet-->Hello<!--/persona:greet--></p>\n");
$t->write_file('html/banner.html',
    "<p><!--persona:banner-->none<!--/persona:banner--></p>\n");
$t->write_file('html/hero.html',
    "<p><!--persona:hero-->plain<!--/persona:hero--></p>\n"
    . "<p><!--persona:offer-->none<!--/persona:offer--></p>\n");
$t->write_file('html/twice.html',
    "<!--persona:greet-->a<!--/persona:greet-->"
    . "<!--persona:greet2-->b<!--/persona:greet2-->\n");

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_consent '$http_x_consent != no';

    persona_segment vip '$http_x_tier = gold';

    persona_content greet {
        when 'segment(vip)' name=vip 'text=<b>Welcome back</b>';
        when '$http_x_country = FR' 'text=<b>Bonjour</b>';
        default 'text=<i>Hello you</i>';
    }

    persona_content banner {
        holdout 50%;
        when '$http_x_tier = gold' 'text=<b>gold offer</b>' name=gold;
    }

    persona_content seeded {
        holdout 50% seed=spring;
        when '$http_x_tier = gold' 'text=<b>seeded</b>';
    }

    persona_experiment hero {
        variant control 50%;
        variant winter  50% 'text=<b>winter</b>';
    }

    persona_content offer {
        when '$persona_variant_hero = winter' 'text=<b>winter offer</b>';
    }

    log_format persona_exposure escape=none '$persona_exposures';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot greet greet;
        persona_slot greet2 greet;
        persona_slot banner banner;
        persona_slot hero hero;
        persona_slot offer offer;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;

        location = /seeded.html {
            persona_slot banner seeded;
            try_files /banner.html =404;
        }

        location = /id {
            return 200 "$persona_variant_hero\n";
        }
    }
CONF

$t->start;

# the exposure lines of the last requests, $n of them
sub events {
    my ($n) = @_;
    return take("$t->{dir}/exposure.log", $n);
}

sub get {
    my ($uri, %h) = @_;
    return $t->request(GET => $uri, headers => \%h);
}

# a rule shown is an exposure of the set and the rule

my $res = get('/', 'X-User-Id' => 'v1', 'X-Tier' => 'gold');
like($res->{body}, qr/Welcome back/, 'the vip rule is shown');
my @e = events(1);
is(scalar @e, 1, 'one exposure') or diag(explain \@e);
is($e[0]{v}, 2, 'schema 2');
is($e[0]{event}, 'exposure', 'an exposure');
is($e[0]{content}, 'greet', 'of the content set');
is($e[0]{rule}, 'vip', 'the rule named by name=');
is($e[0]{holdout}, JSON::PP::false, 'not in a holdout');
ok(!exists $e[0]{experiment} && !exists $e[0]{variant},
    'no experiment fields on a content exposure');
is($e[0]{id}, 'v1', 'the visitor');

get('/', 'X-User-Id' => 'v2', 'X-Country' => 'FR');
@e = events(1);
is($e[0] && $e[0]{rule}, '2', 'a rule without name= is its position');

$res = get('/', 'X-User-Id' => 'v3');
like($res->{body}, qr/Hello you/, 'no rule applies: the default rule');
is(scalar(events(0)), 0, 'the default logs nothing');

$res = $t->request(HEAD => '/', headers => { 'X-User-Id' => 'v1',
    'X-Tier' => 'gold' });
is(scalar(events(0)), 0, 'HEAD shows nothing, logs nothing');

get('/twice.html', 'X-User-Id' => 'v1', 'X-Tier' => 'gold');
@e = events(1);
is(scalar @e, 1, 'a set shown in two slots is one exposure');

$res = get('/', 'X-User-Id' => 'v1', 'X-Tier' => 'gold',
    'X-Consent' => 'no');
like($res->{body}, qr/Welcome back/, 'without consent the rule applies');
is(scalar(events(0)), 0, 'but nothing is logged');

# a holdout of the set: the default, and a holdout exposure

my (%held, $in, $out);

for my $k (1 .. 40) {
    my $id = "h$k";
    my $want = v2('persona:holdout:banner', $id) < 0.5;

    $res = get('/banner.html', 'X-User-Id' => $id, 'X-Tier' => 'gold');
    @e = events(1);

    my $shown = $res->{body} =~ /gold offer/ ? 1 : 0;
    $held{$id} = !$shown;
    $want ? $in++ : $out++;

    is($shown, $want ? 0 : 1,
        "$id: " . ($want ? 'held out: the default' : 'shown the rule'));
    is(scalar @e, 1, "$id: one exposure") or next;
    is($e[0]{rule}, 'gold', "$id: the rule shown or that would be");
    is($e[0]{holdout} ? 1 : 0, $want ? 1 : 0, "$id: its holdout flag");
}

ok($in && $out, "both sides of the holdout seen ($in held, $out not)");

$res = get('/banner.html', 'X-User-Id' => 'h1');
like($res->{body}, qr/none/, 'no rule applies: the slot default stays');
is(scalar(events(0)), 0, 'and no holdout exposure: no rule to hold out');

# seed= moves the holdout

my $moved = 0;

for my $k (1 .. 20) {
    my $id = "h$k";
    my $want = v2('spring', $id) < 0.5;
    $res = get('/seeded.html', 'X-User-Id' => $id, 'X-Tier' => 'gold');
    events(1);
    is($res->{body} =~ /seeded/ ? 0 : 1, $want ? 1 : 0,
        "$id: the holdout of seed=spring");
    $moved++ if $want != (v2('persona:holdout:banner', $id) < 0.5);
}

ok($moved, "another seed holds out others ($moved of 20 differ)");

# a variant read by a condition is an exposure of the experiment, once,
# whatever the variant; the set logs its rule only when one applies

my %who;

for my $k (1 .. 64) {
    my $v = get('/id', 'X-User-Id' => "w$k")->{body};
    chomp $v;
    events(1);
    $who{$v} //= "w$k";
    last if $who{winter} && $who{control};
}

for my $v (qw(winter control)) {
    $res = get('/hero.html', 'X-User-Id' => $who{$v});
    @e = events($v eq 'winter' ? 2 : 1);

    like($res->{body}, $v eq 'winter' ? qr/winter offer/ : qr/none/,
        "$v: the offer slot follows the variant");

    my @h = grep { ($_->{experiment} // '') eq 'hero' } @e;
    is(scalar @h, 1, "$v: one exposure of hero") or diag(explain \@e);
    is($h[0] && $h[0]{variant}, $v, "$v: its variant");

    my @c = grep { ($_->{content} // '') eq 'offer' } @e;
    is(scalar @c, $v eq 'winter' ? 1 : 0,
        "$v: the offer rule logged only when shown");
}

$t->write_file('html/offer.html',
    "<p><!--persona:offer-->none<!--/persona:offer--></p>\n");

for my $v (qw(winter control)) {
    get('/offer.html', 'X-User-Id' => $who{$v});
    my @h = grep { ($_->{experiment} // '') eq 'hero' }
        events($v eq 'winter' ? 2 : 1);
    is(scalar @h, 1, "$v: the condition alone exposes hero");
}

$t->stop;

# persona_holdout: a share of visitors held out of every set and
# experiment, on the default everywhere

my $g = Persona::Test->new;

$g->write_file('html/index.html',
    "<p><!--persona:greet-->Hello<!--/persona:greet--></p>\n"
    . "<p><!--persona:hero-->plain<!--/persona:hero--></p>\n");

$g->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_holdout 30%;

    persona_content greet {
        when '$http_x_tier = gold' name=gold 'text=<b>Welcome back</b>';
    }

    persona_experiment hero {
        variant a 50% 'text=<b>A</b>';
        variant b 50% 'text=<b>B</b>';
    }

    log_format persona_exposure escape=none '$persona_exposures';
    log_format persona_conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot greet greet;
        persona_slot hero hero;

        add_header X-Holdout "[$persona_holdout]";
        add_header X-Hero "[$persona_variant_hero]";
        add_header X-Assignments "[$persona_assignments]";

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;

        location = /persona/convert {
            persona_conversion;
            access_log %%DIR%%/conversion.log persona_conversion
                       if=$persona_conversion;
        }
    }
CONF

$g->start;

my ($gin, $gout) = (0, 0);

for my $k (1 .. 30) {
    my $id = "g$k";
    my $want = v2('persona:holdout', $id) < 0.3;
    $want ? $gin++ : $gout++;

    my $r = $g->request(GET => '/', headers => { 'X-User-Id' => $id,
        'X-Tier' => 'gold' });

    my @x = take("$g->{dir}/exposure.log", 2);

    my ($c) = grep { $_->{content} } @x;
    my ($h) = grep { $_->{experiment} } @x;

    if ($want) {
        like($r->{body}, qr/Hello.*plain/s, "$id: held out, all default");
        is($r->header('X-Holdout'), '[1]', "$id: \$persona_holdout is 1");
        is($r->header('X-Hero'), '[]', "$id: in no variant");
        is($r->header('X-Assignments'), '[]', "$id: in no experiment");
    } else {
        like($r->{body}, qr/Welcome back.*<b>[AB]<\/b>/s,
            "$id: personalized");
        is($r->header('X-Holdout'), '[]', "$id: \$persona_holdout empty");
        like($r->header('X-Hero'), qr/^\[[ab]\]$/, "$id: in a variant");
    }

    is($c && ($c->{holdout} ? 1 : 0), $want ? 1 : 0,
        "$id: content exposure and its holdout flag");
    is($h && ($h->{holdout} ? 1 : 0), $want ? 1 : 0,
        "$id: experiment exposure and its holdout flag");
    like($h && $h->{variant}, qr/^[ab]$/, "$id: the variant it would be");

    $g->request(GET => '/persona/convert?goal=buy',
        headers => { 'X-User-Id' => $id });
}

ok($gin && $gout, "both sides of persona_holdout ($gin held, $gout not)");

my @conv = take("$g->{dir}/conversion.log", 30);
is(scalar @conv, 30, 'every conversion logged');

for my $cv (@conv) {
    my $want = v2('persona:holdout', $cv->{id}) < 0.3;
    if ($want) {
        is($cv->{holdout}, JSON::PP::true, "$cv->{id}: conversion holdout");
        is_deeply($cv->{assignments}, {}, "$cv->{id}: no assignments");
    } else {
        ok(!exists $cv->{holdout}, "$cv->{id}: no holdout field");
        ok(exists $cv->{assignments}{hero}, "$cv->{id}: assigned to hero");
    }
}

$g->stop;

# nginx -t refuses what cannot be measured

my @cases = (
    [ 'a holdout that is no percentage', <<'C', qr/invalid holdout "5", must be a percentage/ ],
persona_holdout 5;
C
    [ 'two global holdouts', <<'C', qr/"persona_holdout" directive is duplicate/ ],
persona_holdout 5%;
persona_holdout 10%;
C
    [ 'a bad seed parameter', <<'C', qr/invalid parameter "salt=x", must be "seed=SEED"/ ],
persona_holdout 5% salt=x;
C
    [ 'two holdouts in a set', <<'C', qr/duplicate "holdout" in content "c"/ ],
persona_content c { holdout 5%; holdout 6%; when '$arg_a' 'text=a'; }
C
    [ 'a rule named default', <<'C', qr/invalid rule name "default"/ ],
persona_content c { when '$arg_a' name=default 'text=a'; }
C
    [ 'two rules of one name', <<'C', qr/duplicate rule name "a" in content "c"/ ],
persona_content c { when '$arg_a' name=a 'text=a'; when '$arg_b' name=a 'text=b'; }
C
    [ 'a name clashing with a position', <<'C', qr/duplicate rule name "2" in content "c"/ ],
persona_content c { when '$arg_a' name=2 'text=a'; when '$arg_b' 'text=b'; }
C
    [ 'a rule without content', <<'C', qr/rule "a" of content "c" has no "fragment=PATH" or "text=TEXT"/ ],
persona_content c { when '$arg_a' name=a; }
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

done_testing;
