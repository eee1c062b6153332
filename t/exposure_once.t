# One page view, one exposure per experiment shown, whatever built the
# page: a variant read by SSI is an exposure; SSI
# subrequests logged with log_subrequest on do not log the main request's
# events again.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Persona::Test qw(wait_for);

my $t = Persona::Test->new;

$t->write_file('html/if.html',
    '<p><!--# if expr="$persona_variant_hero = winter" -->WINTER'
    . '<!--# else -->CONTROL<!--# endif --></p>' . "\n");
$t->write_file('html/echo.html',
    '<p>[<!--# echo var="persona_variant_hero" -->]</p>' . "\n");
$t->write_file('html/slot.html',
    "<!--persona:hero-->default<!--/persona:hero-->\n"
    . '<!--# include virtual="/inc/a.html" -->'
    . '<!--# include virtual="/inc/b.html" -->' . "\n");
$t->write_file('html/inc/a.html', "<i>a</i>\n");
$t->write_file('html/inc/b.html', "<i>b</i>\n");
$t->write_file('html/inc/reads.html',
    '<i><!--# echo var="persona_variant_hero" --></i>' . "\n");
$t->write_file('html/mixed.html',
    "<!--persona:hero-->default<!--/persona:hero-->\n"
    . '<!--# include virtual="/inc/reads.html" -->'
    . '<!--# if expr="$persona_variant_hero = winter" -->W<!--# endif -->'
    . "\n");

$t->conf(<<'CONF');
    persona_id $http_x_user_id;

    persona_experiment hero {
        variant control 50% 'text=<i>control</i>';
        variant winter  50% 'text=<b>winter</b>';
    }

    log_format persona_exposure escape=none '$persona_exposures';
    log_format done '$http_x_seq $uri';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        ssi on;

        # subrequests (the SSI includes) are logged too
        log_subrequest on;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;

        # written after the exposure log, in the same log phase: the main
        # request's line here means its exposures are in exposure.log
        access_log %%DIR%%/done.log done;

        location = /id {
            return 200 "$persona_variant_hero\n";
        }
    }
CONF

$t->start;

my %who;
for my $k (1 .. 64) {
    my $v = $t->request(GET => '/id', headers => { 'X-User-Id' => "u$k" })
        ->{body};
    chomp $v;
    $who{$v} //= "u$k";
    last if $who{winter} && $who{control};
}

# the look-ups above were exposures of their own
truncate "$t->{dir}/exposure.log", 0;

sub events_of {
    my ($id) = @_;
    open my $fh, '<:raw', "$t->{dir}/exposure.log" or return ();
    return grep { $_->{id} eq $id } map { decode_json($_) } grep { /\S/ } <$fh>;
}

for my $v (qw(winter control)) {
    my $id = $who{$v};

    for my $case (
        [ 'SSI if on the variant' => '/if.html', qr/<p>\U$v\E<\/p>/ ],
        [ 'SSI echo of the variant' => '/echo.html', qr/\[$v\]/ ],
        [ 'slot and two SSI includes' => '/slot.html', qr/<(?:b|i)>$v</ ],
        [ 'slot, an include reading the variant, an SSI if' => '/mixed.html',
          qr/<(?:b|i)>$v<.*<i>$v<\/i>/s ])
    {
        my ($name, $uri, $shown) = @$case;

        my $visitor = $id;
        my $seq = "$v$uri";
        my $res = $t->request(GET => $uri,
            headers => { 'X-User-Id' => $visitor, 'X-Seq' => $seq });
        like($res->{body}, $shown, "$name, $v: the variant shown");

        # nginx logs a request after its response has gone out
        eval {
            wait_for("the log lines of $uri", 5, sub {
                ($t->read_file('done.log') // '') =~ /^\Q$seq $uri\E$/m });
        };

        my @e = grep { $_->{experiment} eq 'hero' } events_of($visitor);
        is(scalar @e, 1, "$name, $v: one exposure")
            or diag(explain \@e);
        is($e[0] && $e[0]{variant}, $v, "$name, $v: its variant");

        # start the next case from an empty log
        truncate "$t->{dir}/exposure.log", 0;
    }
}

$t->stop;

done_testing;
