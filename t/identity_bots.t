# Bots: by default (persona_bots exclude) a visitor whose $persona_device
# is "bot" (crawlers, curl, no User-Agent) is in no experiment: the slot
# keeps its default content, the variant is empty, no exposure is logged.
# Content rules still apply.  "include" puts bots in experiments; a
# condition after "exclude" changes what counts as a bot.

use strict;
use warnings;

use Test::More;
use Persona::Test;

use JSON::PP;

my $t = Persona::Test->new;

$t->write_file('html/index.html',
    "<p><!--persona:hero-->default<!--/persona:hero-->"
    . "|<!--persona:hi-->-<!--/persona:hi--></p>\n");

$t->conf(<<'CONF');
    persona_experiment hero {
        variant a 50% text=A;
        variant b 50% text=B;
    }

    persona_content hi {
        when '$persona_device = bot' text=robot;
        default text=human;
    }

    log_format exposure escape=none '$persona_exposures';
    log_format conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot hi hi;

        access_log %%DIR%%/exposure.log exposure if=$persona_exposed;

        location = /v {
            return 200 "hero=$persona_variant_hero\n";
        }

        location = /convert {
            persona_conversion;
            access_log %%DIR%%/conversion.log conversion
                       if=$persona_conversion;
        }

        location /include/ {
            persona_bots include;
            alias %%DIR%%/html/;
        }

        location /monitor/ {
            persona_bots exclude '$persona_device = bot or $http_x_monitor = 1';
            alias %%DIR%%/html/;
        }

        location /google/ {
            persona_bots exclude '$http_user_agent ~* googlebot';
            alias %%DIR%%/html/;
        }
    }
CONF

$t->start;

my $cookie = 'persona=' . 'c1' x 16;

my %ua = (
    googlebot => 'Mozilla/5.0 (compatible; Googlebot/2.1; '
        . '+http://www.google.com/bot.html)',
    curl => 'curl/7.88.1',
    none => undef,
    bingbot => 'Mozilla/5.0 (compatible; bingbot/2.0)',
);

sub page {
    my ($uri, $ua, %h) = @_;
    return $t->request(GET => $uri, headers => {
        Cookie => $cookie, 'User-Agent' => $ua, %h });
}

# a browser is in the experiment

my $res = page('/', $Persona::Test::UA);
like($res->{body}, qr/^<p>[AB]\|human<\/p>$/m, 'a browser: a variant');

# bots are not, but content rules apply

for my $name (sort keys %ua) {
    $res = page('/', $ua{$name});
    is($res->{body}, "<p>default|robot</p>\n",
        "$name: the default content, the content rule");
    is(page('/v', $ua{$name})->{body}, "hero=\n", "$name: no variant");
    $t->request(GET => '/convert?goal=buy', headers => {
        Cookie => $cookie, 'User-Agent' => $ua{$name} });
}

# include: bots in experiments

$res = page('/include/', $ua{googlebot});
like($res->{body}, qr/^<p>[AB]\|robot<\/p>$/m, 'include: a bot gets a variant');

# what counts as a bot, changed

$res = page('/monitor/', $Persona::Test::UA, 'X-Monitor' => 1);
is($res->{body}, "<p>default|human</p>\n",
    'exclude with a condition: a monitor counts as a bot');
$res = page('/monitor/', $ua{curl});
is($res->{body}, "<p>default|robot</p>\n", 'and curl still does');
$res = page('/google/', $ua{curl});
like($res->{body}, qr/^<p>[AB]\|robot<\/p>$/m,
    'exclude googlebot only: curl is in');
$res = page('/google/', $ua{googlebot});
is($res->{body}, "<p>default|robot</p>\n", 'and googlebot is not');

$t->stop;

my @exp = map { decode_json($_) } split /\n/, $t->read_file('exposure.log');
is(scalar(grep { $_->{device} eq 'bot' && $_->{experiment} } @exp), 2,
    'exposures of bots: only where included (include, curl in /google/)');
is(scalar(grep { $_->{device} eq 'bot' && $_->{content} } @exp), 2,
    'content exposures of bots: only where included');
is(scalar(grep { $_->{uri} eq '/' && $_->{device} eq 'bot' } @exp), 0,
    'by default, no exposure of a bot, of an experiment or of content');

my @conv = map { decode_json($_) } split /\n/,
    $t->read_file('conversion.log');
is(scalar @conv, scalar keys %ua, 'conversions of bots are logged');
ok(!grep({ %{ $_->{assignments} } } @conv), 'with no assignment');

done_testing;
