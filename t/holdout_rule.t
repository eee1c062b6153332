# The holdout of personalization logs, for a held-out visitor, the rule
# they would have seen (docs/content.md, "Measuring personalization"),
# so that each rule's visitors are compared with held-out visitors of the
# same rule.  A rule whose condition reads a variant must be no
# exception: a held-out visitor who would be in winter would have seen
# the winter rule, and must be logged as its holdout exposure.  Without
# that, the rule has no holdout arm and the set's lift compares visitors
# of that rule against a holdout that has none of them.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::Events qw(take);

my $t = Persona::Test->new;

$t->write_file('html/index.html',
    "<p><!--persona:hero-->plain<!--/persona:hero--></p>\n"
    . "<p><!--persona:offer-->none<!--/persona:offer--></p>\n");

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_holdout 50%;

    persona_experiment hero {
        variant control 50%;
        variant winter  50% 'text=<b>winter</b>';
    }

    persona_content offer {
        when '$persona_variant_hero = winter' name=wint
             'text=<b>winter offer</b>';
    }

    log_format persona_exposure escape=none '$persona_exposures';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot offer offer;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;
    }
CONF

$t->start;

my ($held, $shown) = (0, 0);

for my $k (1 .. 60) {
    my $id = "o$k";
    my $res = $t->request(GET => '/', headers => { 'X-User-Id' => $id });
    my @e = take("$t->{dir}/exposure.log", 1);
    my ($hero) = grep { ($_->{experiment} // '') eq 'hero' } @e;
    my @offer = grep { ($_->{content} // '') eq 'offer' } @e;

    next unless $hero && $hero->{variant} eq 'winter';

    if (!$hero->{holdout}) {
        $shown++;
        like($res->{body}, qr/winter offer/, "$id: the winter rule shown");
        is(scalar @offer, 1, "$id: one exposure of the rule");
        next;
    }

    $held++;
    unlike($res->{body}, qr/winter offer/, "$id: held out, the default");
    is(scalar @offer, 1,
       "$id: held out, the rule they would have seen is logged");
    ok(@offer && $offer[0]{holdout}, "$id: as a holdout exposure");
    is($offer[0] && $offer[0]{rule}, 'wint', "$id: of the winter rule");
}

ok($held && $shown, "visitors of winter in ($held) and out ($shown) "
   . 'of the holdout');

done_testing;
