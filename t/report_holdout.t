# A visitor of the global holdout (persona_holdout) sees the default
# content and is in no experiment; the module logs their experiment
# exposures with "holdout":true and the variant they would have seen.
# The report must not count them in that variant: they never saw it.
# Here a real nginx serves visitors in and out of the holdout, the
# response says what each one saw, and the report's visitors per variant
# must be those who saw the variant.

use strict;
use warnings;

use FindBin;
use Test::More;
use Persona::Test;
use Persona::Events qw(take);

my $report = "$FindBin::Bin/../scripts/persona-report";

my $t = Persona::Test->new;

$t->write_file('html/index.html',
    "<p><!--persona:hero-->plain<!--/persona:hero--></p>\n");

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_holdout 50%;

    persona_experiment hero {
        variant control 50%;
        variant winter  50% 'text=<b>winter</b>';
    }

    log_format persona_exposure escape=none '$persona_exposures';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;
    }
CONF

$t->start;

my (%saw, $held);

for my $k (1 .. 80) {
    my $id = "r$k";
    my $res = $t->request(GET => '/', headers => { 'X-User-Id' => $id });
    $saw{$id} = $res->{body} =~ /winter/ ? 'winter' : 'control';
}

my @e = take("$t->{dir}/exposure.log", 80, keep => 1);
is(scalar @e, 80, 'one exposure per visitor');

my %shown = (control => 0, winter => 0);

for my $e (@e) {
    $held++ if $e->{holdout};
    $shown{$saw{$e->{id}}}++ unless $e->{holdout};
}

ok($held, "some visitors are held out ($held of 80)");

my @winter_held = grep { $_->{holdout} && $_->{variant} eq 'winter' } @e;
ok(@winter_held, 'some held-out visitors would have been in winter');
is(scalar(grep { $saw{$_->{id}} eq 'winter' } @winter_held), 0,
   'held-out visitors saw the default, not winter');

my $csv = `$report --format csv $t->{dir}/exposure.log 2>/dev/null`;
is($?, 0, 'the report runs');

my @rows = split /\n/, $csv;
my @head = split /,/, shift @rows;
my %visitors;

for (@rows) {
    my %h;
    @h{@head} = split /,/, $_, -1;
    next unless $h{section} eq 'experiment' && $h{experiment} eq 'hero';
    $visitors{$h{variant}} = $h{visitors};
}

# the visitors of a variant are those who were shown it
is($visitors{winter}, $shown{winter},
   'winter: the visitors shown winter, no held-out visitor');
is($visitors{control}, $shown{control},
   'control: the visitors shown control, no held-out visitor');

done_testing;
