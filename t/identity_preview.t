# Previews: a signed, expiring link forces variants, content rules and
# the clock for its host, sets a short-lived preview cookie, and makes the
# responses Cache-Control: no-store and their events "preview":true.
# Tampered, expired, other-host, truncated, oversized, malformed links or
# cookies are ignored as if absent, and never reflected.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::Sign;

use JSON::PP;

my $t = Persona::Test->new;

my $key = 'p' x 32;

$t->write_file('persona.key', $key);
$t->write_file('html/index.html',
    "<p><!--persona:hero-->-<!--/persona:hero-->"
    . "|<!--persona:greeting-->page<!--/persona:greeting--></p>\n");

$t->conf(<<'CONF');
    persona_key %%DIR%%/persona.key;

    persona_experiment hero {
        schedule 2030-01-01 2031-01-01;
        variant control text=control;
        variant winter  text=winter;
    }

    persona_experiment side {
        sticky on;
        variant a;
        variant b;
    }

    persona_content greeting {
        when '$http_x_fr = 1'  text=Bonjour;
        when '$http_x_vip = 1' name=vip text=VIP;
        default                text=Hello;
    }

    log_format exposure escape=none '$persona_exposures';
    log_format conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_preview on max_age=10m;
        persona_slot hero hero;
        persona_slot greeting greeting;

        access_log %%DIR%%/exposure.log exposure if=$persona_exposed;

        location / {
            expires 1h;
            add_header Cache-Control public;
        }

        location = /vars {
            return 200 "hero=$persona_variant_hero side=$persona_variant_side $persona_weekday\n";
        }

        location = /convert {
            persona_conversion;
            access_log %%DIR%%/conversion.log conversion
                       if=$persona_conversion;
        }
    }

    server {
        listen 127.0.0.1:%%PORT1%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot greeting greeting;
    }
CONF

$t->start;

my $now = time;

sub token {
    my (%o) = @_;
    return preview_token($key, host => 'localhost', expires => $now + 3600,
        %o);
}

sub get {
    my ($uri, %h) = @_;
    my $port = delete $h{port} // $t->port(0);
    return $t->request(GET => $uri, port => $port, headers => \%h);
}

sub preview_cookie {
    my ($res) = @_;
    my ($c) = grep { /^persona_preview=/ } $res->header_values('Set-Cookie');
    return $c;
}

sub no_store {
    my ($res) = @_;
    my @cc = $res->header_values('Cache-Control');
    return scalar grep { /^no-store$/ } @cc;
}

my $cid = 'ab' x 16;
my $visitor = "persona=$cid";

# before: the experiment has not started, the page is the default

my $res = get('/', Cookie => $visitor);
is($res->{body}, "<p>-|Hello</p>\n", 'no preview: defaults');
ok(!no_store($res), 'no preview: cacheable as configured');

# the link

my $link = token(set => [ 'hero:winter', 'greeting:vip' ]);
$res = get("/?persona_preview=$link", Cookie => $visitor);
is($res->{body}, "<p>winter|VIP</p>\n",
    'preview link: the forced variant (before its schedule) and rule');
my $pc = preview_cookie($res);
like($pc // '', qr/^persona_preview=\Q$link\E; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/,
    'the preview cookie: the token, max_age=10m');
ok(no_store($res), 'Cache-Control: no-store, which wins over the '
    . '"public" and max-age added after the module');

# the next page: the cookie alone

$res = get('/', Cookie => "$visitor; persona_preview=$link");
is($res->{body}, "<p>winter|VIP</p>\n", 'the next page: still the preview');
ok(!defined preview_cookie($res), 'no new preview cookie');
ok(no_store($res), 'still no-store');

# scripts/persona-preview makes such links

my $script = "$Persona::Test::TDIR/../scripts/persona-preview";
my $url = `$script -k $t->{dir}/persona.key --host LocalHost -e 30m --url http://localhost/?utm_source=qa hero=winter greeting=default`;
chomp $url;
like($url, qr{^http://localhost/\?utm_source=qa&persona_preview=[\w-]+\.[\w-]{43}$},
    'persona-preview: a link');
my ($path) = $url =~ m{^http://localhost(/.*)$};
$res = get($path // '/', Cookie => $visitor);
is($res->{body}, "<p>winter|Hello</p>\n", 'persona-preview: nginx takes it');
like(preview_cookie($res) // '', qr/Max-Age=600;/, 'and sets the cookie');
is(system("$script -k $t->{dir}/persona.key --host localhost -e 0 hero=a"
    . ' 2>/dev/null') >> 8, 2, 'persona-preview: a preview must expire');

# the cookie lives no longer than the token

my $short = token(expires => $now + 120, set => [ 'hero:control' ]);
$res = get("/?persona_preview=$short", Cookie => $visitor);
my ($age) = (preview_cookie($res) // '') =~ /Max-Age=(\d+)/;
ok(defined $age && $age <= 120 && $age > 100,
    'the cookie expires with the token (' . ($age // 'none') . 's)');
is($res->{body}, "<p>control|Hello</p>\n", 'hero:control');

for my $case ([ [ 'greeting:default' ] => "<p>-|Hello</p>\n" ],
    [ [ 'greeting:-', 'hero:-' ] => "<p>-|page</p>\n" ],
    [ [ 'greeting:1' ] => "<p>-|Bonjour</p>\n" ],
    [ [ 'greeting:2' ] => "<p>-|Hello</p>\n" ],
    [ [ 'greeting:9', 'hero:summer' ] => "<p>-|Hello</p>\n" ])
{
    my ($set, $body) = @$case;
    $res = get('/?persona_preview=' . token(set => $set), Cookie => $visitor);
    is($res->{body}, $body, "preview of @$set");
}

# the clock: a scheduled experiment runs, local time follows

my $clock = token(time => '2030-06-15T10:00Z');
$res = get("/vars?persona_preview=$clock", Cookie => $visitor);
like($res->{body}, qr/^hero=(control|winter) side=[ab] sat$/,
    'time=2030-06-15T10:00Z: the experiment runs, Saturday');
ok(!grep({ /^persona_sticky=/ } $res->header_values('Set-Cookie')),
    'a preview keeps no sticky assignment');

$res = get('/vars', Cookie => $visitor);
like($res->{body}, qr/^hero= side=[ab] \w{3}$/,
    'without the preview, the real clock');
ok(grep({ /^persona_sticky=/ } $res->header_values('Set-Cookie')),
    'and the sticky assignment is kept');

# a bot's screenshot of a preview: forced variants still apply

$res = get("/?persona_preview=$link", Cookie => $visitor,
    'User-Agent' => 'Mozilla/5.0 HeadlessChrome/126.0');
is($res->{body}, "<p>winter|VIP</p>\n", 'a bot previews too');

# the events of a preview say so; a conversion too

get("/?persona_preview=$link", Cookie => "$visitor; persona_preview=x");
get('/convert?goal=buy', Cookie => "$visitor; persona_preview=$link");
get('/convert?goal=other', Cookie => $visitor);

# bad links: ignored as if absent, never reflected

my ($data, $sig) = $link =~ /^(.*)\.(.{43})$/;
my $payload = "host=localhost&expires=" . ($now + 3600) . '&set=hero:winter';

my @bad = (
    [ 'expired' => token(expires => $now - 1, set => [ 'hero:winter' ]) ],
    [ 'for another host' => preview_token($key, host => 'shop.example.com',
        expires => $now + 3600, set => [ 'hero:winter' ]) ],
    [ 'host with a port' => preview_token($key, host => 'localhost:80',
        expires => $now + 3600, set => [ 'hero:winter' ]) ],
    [ 'another key' => preview_token('q' x 32, host => 'localhost',
        expires => $now + 3600, set => [ 'hero:winter' ]) ],
    [ 'payload changed' => b64u($payload . '&set=greeting:1') . ".$sig" ],
    [ 'truncated' => substr($link, 0, -3) ],
    [ 'signature only' => $sig ],
    [ 'signed as an id' => "$data." . signature($key, 'id', $data) ],
    [ 'malformed base64 under a valid signature' =>
        'aG9zdD1!.' . signature($key, 'preview', 'aG9zdD1!') ],
    [ 'padded base64 under a valid signature' =>
        b64u($payload) . '==.' . signature($key, 'preview', b64u($payload)
        . '==') ],
    [ 'malformed payload under a valid signature' =>
        token(payload => "host=localhost&set=hero:winter") ],
    [ 'unknown key under a valid signature' =>
        token(payload => "$payload&admin=1") ],
    [ 'oversized' => b64u('x' x 1500) . ".$sig" ],
    [ 'markup' => '<script>alert(1)</script>' ],
);

for my $case (@bad) {
    my ($name, $value) = @$case;

    for my $via ('link', 'cookie') {
        my $r = $via eq 'link'
            ? get("/?persona_preview=$value", Cookie => $visitor)
            : get('/', Cookie => "$visitor; persona_preview=$value");

        is($r->{status}, 200, "$name ($via): 200");
        is($r->{body}, "<p>-|Hello</p>\n", "$name ($via): no preview");
        ok(!defined preview_cookie($r) && !no_store($r),
            "$name ($via): no cookie, no no-store");
        unlike($r->{raw}, qr/script|admin|\Q$sig\E/,
            "$name ($via): not reflected");
    }
}

# a bad link with a good cookie: the cookie's preview

$res = get('/?persona_preview=' . substr($link, 0, -3),
    Cookie => "$visitor; persona_preview=$link");
is($res->{body}, "<p>winter|VIP</p>\n", 'bad link, good cookie: preview');

# off ends a preview

$res = get('/?persona_preview=off', Cookie => "$visitor; persona_preview=$link");
is($res->{body}, "<p>-|Hello</p>\n", '?persona_preview=off: no preview');
my $gone = '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
like(preview_cookie($res) // '', qr/^persona_preview=\Q$gone\E; Path=\//,
    'and the cookie is expired');

# where persona_preview is off (the default), links do nothing

$res = get("/?persona_preview=$link", Cookie => $visitor,
    port => $t->port(1));
is($res->{body}, "<p>-|Hello</p>\n", 'persona_preview off: no preview');
ok(!defined preview_cookie($res), 'persona_preview off: no cookie');

$t->stop;

my @exp = map { decode_json($_) } split /\n/, $t->read_file('exposure.log');
my @p = grep { $_->{preview} } @exp;
ok(@p >= 5, 'preview exposures are logged (' . scalar(@p) . ')');
ok(!grep({ exists $_->{preview} && $_->{preview} ne JSON::PP::true } @exp),
    '"preview" is true or absent');
ok(!grep({ ($_->{variant} // '') eq 'winter' && !$_->{preview} } @exp),
    'no forced variant counted as a real exposure');
ok(grep({ !exists $_->{preview} } @exp), 'real exposures have no field');

my @conv = map { decode_json($_) } split /\n/,
    $t->read_file('conversion.log');
is(scalar @conv, 2, 'two conversions');
is($conv[0]{preview}, JSON::PP::true, 'a preview conversion says so');
ok(!exists $conv[1]{preview}, 'a real one does not');

done_testing;
