# Events of schema 2 carry what analysis needs without the configuration:
# "v":2, the variant's index and configured weight (exactly 1/n for
# equal shares), the traffic share, the holdout flag; conversions carry
# the channel of entry, kept by a cookie of its own (persona_entry_cookie)
# from the visit that brought the visitor, besides the beacon's channel.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Persona::Test;
use Persona::Events qw(take);
use Persona::GrowthBook qw(v2 choose);

my $t = Persona::Test->new;

$t->write_file('html/index.html',
    "<!--persona:hero-->d<!--/persona:hero-->"
    . "<!--persona:three-->d<!--/persona:three-->\n");

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_consent '$http_x_consent != no';

    persona_experiment hero {
        traffic 80%;
        variant control 12.5%;
        variant winter  87.5% 'text=<b>winter</b>';
    }

    persona_experiment three {
        variant a;
        variant b;
        variant c;
    }

    log_format persona_exposure escape=none '$persona_exposures';
    log_format persona_conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot three three;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;

        location = /persona/convert {
            persona_conversion;
            access_log %%DIR%%/conversion.log persona_conversion
                       if=$persona_conversion;
        }

        location /kept/ {
            persona_entry_cookie visit max_age=1h;
            try_files /index.html =404;
        }

        location /none/ {
            persona_entry_cookie off;
            try_files /index.html =404;
        }

        location = /none/convert {
            persona_entry_cookie off;
            persona_conversion;
            access_log %%DIR%%/conversion.log persona_conversion
                       if=$persona_conversion;
        }
    }
CONF

$t->start;

sub lines {
    my ($file, $n) = @_;
    return take("$t->{dir}/$file", $n // 1);
}

# exposure fields

my %variants;

for my $k (1 .. 40) {
    $t->request(GET => '/', headers => { 'X-User-Id' => "e$k" });

    my $in = choose(v2('hero', "e$k"), 0.8, 0.125, 0.875) >= 0;
    my @e = lines('exposure.log', 1 + $in);

    is(scalar(grep { $_->{experiment} eq 'hero' } @e), $in ? 1 : 0,
        "e$k: in hero as GrowthBook says, with traffic 80%");

    for my $e (@e) {
        is($e->{v}, 2, "e$k: v is 2");
        is($e->{holdout}, JSON::PP::false, "e$k: holdout false");
        ok(!exists $e->{factors}, "e$k: no factors in a plain experiment");

        if ($e->{experiment} eq 'hero') {
            my %want = (control => [0, 0.125], winter => [1, 0.875]);
            is_deeply([ $e->{variant_index}, $e->{weight} ],
                $want{$e->{variant}}, "e$k: hero index and weight");
            is($e->{traffic}, 0.8, "e$k: hero traffic");
        } else {
            my %index = (a => 0, b => 1, c => 2);
            is($e->{variant_index}, $index{$e->{variant}},
                "e$k: three index");
            is($e->{weight}, 1 / 3, "e$k: exactly 1/3, as the SDK");
            is($e->{traffic}, 1, "e$k: full traffic");
        }

        $variants{"$e->{experiment}.$e->{variant}"}++;
    }
}

ok($variants{'hero.control'} && $variants{'hero.winter'}
    && $variants{'three.c'}, 'variants seen: ' . join ' ', sort keys %variants);

# "v" comes first in the line

$t->request(GET => '/', headers => { 'X-User-Id' => 'first' });
take("$t->{dir}/exposure.log", 1, keep => 1);
my $line = $t->read_file('exposure.log');
like($line, qr/^\{"v":2,"ts":/, 'the line starts with "v":2');
truncate "$t->{dir}/exposure.log", 0;

# the channel of entry: set by a visit that came by a channel, kept by
# navigation, replaced by a new channel

my $res = $t->request(GET => '/?utm_medium=email&utm_source=news',
    headers => { 'X-User-Id' => 'c1' });
my ($set) = grep { /^persona_entry=/ } $res->header_values('Set-Cookie');
is($set, 'persona_entry=email; Path=/; HttpOnly; SameSite=Lax',
    'an email visit: the entry cookie, until the browser closes');

$res = $t->request(GET => '/', headers => { 'X-User-Id' => 'c1',
    Cookie => 'persona_entry=email', Referer => 'http://localhost/' });
ok(!grep({ /^persona_entry=/ } $res->header_values('Set-Cookie')),
    'navigation within the site keeps it');

$res = $t->request(GET => '/?utm_medium=email', headers => {
    'X-User-Id' => 'c1', Cookie => 'persona_entry=email' });
ok(!grep({ /^persona_entry=/ } $res->header_values('Set-Cookie')),
    'the same channel again: no new cookie');

$t->request(GET => '/persona/convert?goal=buy&value=12.5', headers => {
    'X-User-Id' => 'c1', Cookie => 'persona_entry=email',
    Referer => 'http://localhost/cart' });
my ($c) = lines('conversion.log');
is($c->{v}, 2, 'conversion: v is 2');
is($c->{entry_channel}, 'email', 'conversion: the channel of entry');
is($c->{channel}, 'direct', 'conversion: the beacon\'s own channel');
is($c->{value}, 12.5, 'conversion: its value');
ok(!exists $c->{holdout}, 'conversion: no holdout field outside one');

$res = $t->request(GET => '/', headers => { 'X-User-Id' => 'c1',
    Cookie => 'persona_entry=email',
    Referer => 'https://www.google.com/' });
($set) = grep { /^persona_entry=/ } $res->header_values('Set-Cookie');
like($set // '', qr/^persona_entry=search;/, 'a search visit replaces it');

$t->request(GET => '/persona/convert?goal=buy',
    headers => { 'X-User-Id' => 'c1', Cookie => 'persona_entry=bogus' });
($c) = lines('conversion.log');
is($c->{entry_channel}, 'direct',
    'a cookie that is no channel: the beacon\'s channel');

$t->request(GET => '/persona/convert?goal=buy',
    headers => { 'X-User-Id' => 'c2' });
($c) = lines('conversion.log');
is($c->{entry_channel}, 'direct', 'no cookie: the beacon\'s channel');

$res = $t->request(GET => '/?utm_medium=email',
    headers => { 'X-User-Id' => 'c3', 'X-Consent' => 'no' });
ok(!grep({ /^persona_entry=/ } $res->header_values('Set-Cookie')),
    'no consent: no entry cookie');

$res = $t->request(GET => '/favicon.ico?utm_medium=email',
    headers => { 'X-User-Id' => 'c4' });
ok(!grep({ /^persona_entry=/ } $res->header_values('Set-Cookie')),
    'a response that did not identify the visitor sets none');

$res = $t->request(GET => '/kept/?utm_medium=social',
    headers => { 'X-User-Id' => 'c5' });
($set) = grep { /^visit=/ } $res->header_values('Set-Cookie');
is($set, 'visit=social; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax',
    'persona_entry_cookie NAME max_age=');

$res = $t->request(GET => '/none/?utm_medium=social',
    headers => { 'X-User-Id' => 'c6' });
is(scalar(grep { /^persona_entry=|^visit=/ }
    $res->header_values('Set-Cookie')), 0, 'persona_entry_cookie off');

$t->request(GET => '/none/convert?goal=buy&utm_medium=paid',
    headers => { 'X-User-Id' => 'c6', Cookie => 'persona_entry=email' });
($c) = lines('conversion.log');
is($c->{entry_channel}, 'paid', 'off: the beacon\'s own channel');

$t->stop;

# the entry cookie takes the visitor cookie's attributes

my $a = Persona::Test->new;
$a->write_file('html/index.html', "<!--persona:s-->d<!--/persona:s-->\n");
$a->conf(<<'CONF');
    persona_cookie pid max_age=30d domain=example.org path=/shop
                   samesite=strict secure=on;
    persona_experiment s { variant a; }
    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;
        persona on;
        persona_slot s s;
    }
CONF
$a->start;

$res = $a->request(GET => '/?utm_medium=cpc');
($set) = grep { /^persona_entry=/ } $res->header_values('Set-Cookie');
is($set, 'persona_entry=paid; Domain=example.org; Path=/shop; HttpOnly; '
    . 'SameSite=Strict; Secure', 'the visitor cookie\'s attributes');
ok(grep({ /^pid=/ } $res->header_values('Set-Cookie')),
    'next to the new visitor\'s cookie');

$a->stop;

my $bad = Persona::Test->new;
$bad->conf("persona_entry_cookie visit max_age=often;\n");
my ($rc, $out) = $bad->nginx_t;
like($out, qr/invalid parameter "max_age=often"/, 'a bad max_age refused');

$bad->conf("persona_entry_cookie 'v;x';\n");
($rc, $out) = $bad->nginx_t;
like($out, qr/invalid cookie name "v;x"/, 'a bad name refused');

done_testing;
