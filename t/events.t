# Exposure and conversion events: one line per variant shown, none when
# nothing was shown, valid JSON whatever the input, syslog delivery, and
# nothing lost or added across reload, reopen and graceful shutdown.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Persona::Test;

my $t = Persona::Test->new(workers => 2);

my $page = "<p><!--persona:hero-->default<!--/persona:hero--></p>\n";
$t->write_file('html/index.html', $page);
$t->write_file('html/plain.html', "<p>no slot</p>\n");

$t->backend(sub {
    my ($r) = @_;
    return { body => $page, headers => [ 'Content-Type' => 'text/html',
        'Content-Encoding' => 'gzip' ] } if $r->{uri} =~ /gzip/;
    return { body => $page };
}, port => $t->port(1));

my $syslog = $t->udp_listener(port => $t->port(2));

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_consent '$http_x_consent = yes';

    persona_segment vip '$http_x_tier = gold';

    persona_experiment hero {
        variant control 50% 'text=<i>control</i>';
        variant winter  50% 'text=<b>winter</b>';
    }

    persona_experiment nobody {
        traffic 0%;
        variant a;
        variant b;
    }

    persona_experiment split {
        variant a;
        variant b;
    }

    log_format persona_exposure escape=none '$persona_exposures';
    log_format persona_conversion escape=none '$persona_conversion';
    log_format ids '$request_id $http_x_user_id';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot nobody nobody;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;
        access_log %%DIR%%/ids.log ids;
        access_log syslog:server=127.0.0.1:%%PORT2%%,tag=persona,nohostname
                   persona_exposure if=$persona_exposed;

        location /p/ {
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }

        location /split {
            # a server-side test: the variant picks the page
            rewrite ^ /$persona_variant_split.html last;
        }

        location /h/ {
            try_files /index.html =404;
        }

        location = /a.html { return 200 "page a\n"; }
        location = /b.html { return 200 "page b\n"; }

        location = /logged {
            # read only by the log: not an exposure
            access_log %%DIR%%/logged.log persona_exposure;
            return 200 "ok\n";
        }

        location = /persona/convert {
            persona_conversion goals=purchase,signup;
            access_log %%DIR%%/conversion.log persona_conversion
                       if=$persona_conversion;
        }
    }
CONF

$t->start;

my %ok = ('X-Consent' => 'yes');

sub lines {
    my ($file) = @_;
    open my $fh, '<:raw', "$t->{dir}/$file" or return ();
    return grep { length } map { s/\r?\n$//r } <$fh>;
}

# one exposure per response that showed the fragment

my $res = $t->request(GET => '/', headers => { %ok, 'X-User-Id' => 'v1',
    'X-Tier' => 'gold', 'User-Agent' => 'Mozilla/5.0 (iPhone) Mobile',
    Referer => 'https://www.google.com/' });
my ($variant) = $res->{body} =~ /<(?:i|b)>(\w+)</;
ok($variant, "fragment shown: $variant");

$t->request(GET => '/p/', headers => { %ok, 'X-User-Id' => 'v2' });
$t->request(GET => '/split', headers => { %ok, 'X-User-Id' => 'v3' });

# no exposure: HEAD, compressed upstream, no consent, no slot, log-only

$t->request(HEAD => '/', headers => { %ok, 'X-User-Id' => 'n1' });
$t->request(GET => '/p/gzip', headers => { %ok, 'X-User-Id' => 'n2' });
$t->request(GET => '/', headers => { 'X-User-Id' => 'n3' });
$t->request(GET => '/plain.html', headers => { %ok, 'X-User-Id' => 'n4' });
$t->request(GET => '/logged', headers => { %ok, 'X-User-Id' => 'n5' });

$t->allow_log(qr/Content-Encoding/);

my @e = map { decode_json($_) } lines('exposure.log');

is(scalar @e, 3, 'three exposures') or diag(join "\n", lines('exposure.log'));
is_deeply([ map { $_->{id} } @e ], [qw(v1 v2 v3)],
    'from the three requests that showed a variant');

my $first = $e[0];
is($first->{event}, 'exposure', 'event');
is($first->{experiment}, 'hero', 'experiment');
is($first->{variant}, $variant, 'the variant that was shown');
is_deeply($first->{segments}, ['vip'], 'segments');
is($first->{device}, 'mobile', 'device');
is($first->{channel}, 'search', 'channel');
is($first->{uri}, '/', 'uri');
like($first->{ts}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    'ts in UTC with milliseconds');
like($first->{request_id}, qr/^[0-9a-f]{32}$/, 'request_id');
ok(!grep({ /127\.0\.0\.1/ } lines('exposure.log')), 'no client address');

my %rid = map { (split / /)[1] => (split / /)[0] } lines('ids.log');
is($first->{request_id}, $rid{v1},
    'request_id is the request\'s $request_id');

is($e[2]->{experiment}, 'split', 'a variable read for a rewrite counts');
is(scalar(grep { $_->{experiment} eq 'nobody' } @e), 0,
    'nothing for visitors not in the experiment');

is_deeply([ lines('logged.log') ], [], 'a log-only read is no exposure')
    or diag(lines('logged.log'));

# hostile input still gives valid JSON

my @hostile = ("q\"uote", "back\\slash", "ctl\x01\x1f\x7f", "bad\xff\xfeutf8",
    "line\nbreak", "\xe2\x80\xa8sep", "<script>");

for my $id (@hostile) {
    $t->request(GET => '/', raw =>
        "GET /h/%22q%5C%01%FF\"\\?x=1 HTTP/1.1\r\nHost: h\r\n"
        . "Connection: close\r\n"
        . "X-Consent: yes\r\nX-User-Id: $id\r\n"
        . "User-Agent: \"\\\x01\xff\r\nReferer: http://\"\\\xff/\r\n\r\n")
        unless $id =~ /\n/;
}

my @all = lines('exposure.log');
my $valid = grep { eval { decode_json($_); 1 } } @all;
is($valid, scalar @all, 'every line is valid JSON (' . scalar(@all) . ')');

for my $l (@all) {
    ok(utf8::decode(my $copy = $l), 'valid UTF-8') or last;
}

my @ids = map { decode_json($_)->{id} } @all;
ok((grep { $_ eq "q\"uote" } @ids) && (grep { $_ eq "back\\slash" } @ids),
    'quotes and backslashes round-trip');
ok((grep { $_ eq "bad\x{fffd}\x{fffd}utf8" } @ids),
    'invalid UTF-8 becomes U+FFFD');
ok((grep { $_ eq "ctl\x01\x1f\x7f" } @ids), 'control bytes escaped');

# syslog

Persona::Test::wait_for('syslog datagrams', 10, sub {
    my @s = grep { /persona: \{/ } do {
        open my $fh, '<:raw', $syslog or return 0; <$fh>
    };
    return @s >= @all;
});

open my $sfh, '<:raw', $syslog;
my @s = grep { /persona: \{/ } <$sfh>;
is(scalar @s, scalar @all, 'syslog got every exposure');
like($s[0], qr/persona: \{"v":2,"ts":/, 'syslog line carries the JSON event');

# conversions

$res = $t->request(GET => '/persona/convert?goal=purchase&value=12.5',
    headers => { %ok, 'X-User-Id' => 'v1' });
is($res->{status}, 204, 'conversion: 204');

$res = $t->request(POST => '/persona/convert',
    headers => { %ok, 'X-User-Id' => 'v2',
        'Content-Type' => 'application/x-www-form-urlencoded' },
    body => 'goal=signup');
is($res->{status}, 204, 'conversion by POST: 204');

for my $bad ('goal=unknown', 'goal=purchase&value=abc', 'value=3',
    'goal=purchase&value=1e5', 'goal=purchase&value=', 'goal=a%22b',
    'goal=purchase&value=007')
{
    $res = $t->request(GET => "/persona/convert?$bad",
        headers => { %ok, 'X-User-Id' => 'v1' });
    is($res->{status}, 400, "conversion $bad: 400");
}

$res = $t->request(GET => '/persona/convert?goal=purchase',
    headers => { %ok });
is($res->{status}, 204, 'conversion of an unknown visitor: 204');
ok(!defined Persona::Test::header($res, 'Set-Cookie'),
    'a beacon creates no visitor');

my @c = map { decode_json($_) } lines('conversion.log');
is(scalar @c, 2, 'two conversion events');
is($c[0]{event}, 'conversion', 'event');
is($c[0]{goal}, 'purchase', 'goal');
is($c[0]{value}, 12.5, 'value is a number');
is($c[0]{assignments}{hero}, $variant, 'assignments');
is($c[1]{goal}, 'signup', 'POST goal');
ok(!exists $c[1]{value}, 'no value given, none logged');

$t->stop;

done_testing;
