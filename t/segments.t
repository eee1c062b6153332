# Segments and targeting through nginx: conditions over variables and
# context, segment(), regex captures that do not leak, errors with
# positions, targets, schedules and consent conditions.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

$t->conf(<<'CONF');
    persona_id $http_x_user_id;

    persona_segment mobile   '$persona_device = mobile';
    persona_segment vip      '$cookie_tier ~ ^(gold|platinum)$';
    persona_segment big      '$http_x_basket > 100';
    persona_segment french   '$http_x_country in (FR BE CH)';
    persona_segment target   'segment(vip) and not segment(mobile) or segment(big)';
    persona_segment nocase   '$http_x_name ~* ^ALICE';

    persona_channel_rule medium   crm              email;
    persona_channel_rule referrer partner.example  paid;

    persona_experiment targeted {
        target 'segment(vip)';
        variant a;
        variant b;
    }

    persona_experiment winter {
        schedule 2026-12-01T00:00Z 2027-01-15T00:00Z;
        variant a;
        variant b;
    }

    server {
        listen 127.0.0.1:%%PORT0%%;

        persona_time $arg_at;

        location / {
            return 200 "segments=$persona_segments targeted=$persona_variant_targeted winter=$persona_variant_winter\n";
        }

        location = /channel {
            return 200 "$persona_channel\n";
        }

        # a condition with a regex must not change $1 of the location
        location ~ ^/cap/(\w+)$ {
            set $before $1;
            set $seg $persona_segments;
            return 200 "before=$before after=$1 seg=$seg\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT1%%;

        persona_consent '$cookie_consent ~ analytics and not $http_dnt';

        location / {
            return 200 "id=$persona_id\n";
        }
    }
CONF

$t->start;

sub segs {
    my ($uri, %h) = @_;
    my $body = $t->request(GET => $uri, headers => { 'X-User-Id' => 'u1',
        %h })->{body};
    my ($s) = $body =~ /segments=(\S*)/;
    return $s;
}

is(segs('/'), '', 'no segment');
is(segs('/', Cookie => 'tier=gold'), 'vip,target', 'regex segment');
is(segs('/', Cookie => 'tier=golden'), '', 'anchored regex');
is(segs('/', Cookie => 'tier=gold', 'User-Agent' => 'iPhone Mobile'),
    'mobile,vip', 'and not: a mobile vip is not in target');
is(segs('/', 'X-Basket' => '250'), 'big,target', 'numeric comparison');
is(segs('/', 'X-Basket' => '99.5'), '', 'numeric comparison, below');
is(segs('/', 'X-Country' => 'BE'), 'french', 'in list');
is(segs('/', 'X-Name' => 'alice'), 'nocase', 'caseless regex');

my $body = $t->request(GET => '/cap/word',
    headers => { Cookie => 'tier=gold' })->{body};
is($body, "before=word after=word seg=vip,target\n",
    'regex captures do not leak into the request');

# channels: configured rules first, then the defaults

for my $case ([ '/channel?utm_medium=crm', {}, 'email' ],
    [ '/channel?utm_medium=cpc', {}, 'paid' ],
    [ '/channel', { Referer => 'https://www.partner.example/x' }, 'paid' ],
    [ '/channel', { Referer => 'https://www.google.fr/' }, 'search' ],
    [ '/channel', { Referer => 'https://t.co/abc' }, 'social' ],
    [ '/channel?fbclid=1', {}, 'social' ],
    [ '/channel', {}, 'direct' ])
{
    my ($uri, $h, $want) = @$case;
    is($t->request(GET => $uri, headers => $h)->{body}, "$want\n",
        "channel of $uri " . join(' ', %$h));
}

# targeting

my $res = $t->request(GET => '/', headers => { 'X-User-Id' => 'u1' });
like($res->{body}, qr/targeted= /, 'target not met: not in experiment');
$res = $t->request(GET => '/', headers => { 'X-User-Id' => 'u1',
    Cookie => 'tier=platinum' });
like($res->{body}, qr/targeted=[ab] /, 'target met: in the experiment');

# schedule, with the clock given by persona_time

for my $case ([ 1796083199, "" ], [ 1796083200, "x" ], [ 1799971199, "x" ],
    [ 1799971200, "" ])
{
    my ($at, $in) = @$case;
    $res = $t->request(GET => "/?at=$at", headers => { 'X-User-Id' => 'u1' });
    my ($w) = $res->{body} =~ /winter=(\w*)/;
    is($w ne '' ? 'x' : '', $in, "schedule at $at: " . ($in ? 'in' : 'out'));
}

# consent as a full condition

for my $case ([ {}, '' ], [ { Cookie => 'consent=analytics,ads' }, 'id' ],
    [ { Cookie => 'consent=analytics', DNT => '1' }, '' ],
    [ { Cookie => 'consent=ads' }, '' ])
{
    my ($h, $want) = @$case;
    $res = $t->request(GET => '/', port => $t->port(1), headers => $h);
    my ($id) = $res->{body} =~ /id=(\w*)/;
    is($id ? 'id' : '', $want, 'consent ' . join(',', %$h));
}

$t->stop;

# errors at nginx -t, with positions

my @bad = (
    [ q{persona_segment s '$a = ';}, qr/invalid condition "\$a = ": missing value after "=" at position 4 in \S+:\d+/ ],
    [ q{persona_segment s '$a and or $b';}, qr/unexpected "or" at position 8/ ],
    [ q{persona_segment s '($a = 1';}, qr/missing "\)" at position 8/ ],
    [ q{persona_segment s 'segment(nope)';}, qr/unknown segment "nope"/ ],
    [ q{persona_segment s '$a ~ (';}, qr/invalid regex "\(" at position 6: pcre2_compile\(\) failed/ ],
    [ q{persona_segment s 'segment(s)';}, qr/segment "s" depends on itself/ ],
    [ q{persona_segment s 'segment(t)'; persona_segment t 'segment(s)';}, qr/segment "[st]" depends on itself/ ],
    [ q{persona_segment s '$a'; persona_segment s '$b';}, qr/duplicate segment "s"/ ],
    [ q{persona_segment "s s" '$a';}, qr/invalid segment name "s s"/ ],
    [ q{persona_experiment e { target 'not'; variant a; }}, qr/invalid condition "not": unexpected end at position 4/ ],
    [ q{persona_consent '';}, qr/empty condition/ ],
);

for my $b (@bad) {
    my ($conf, $re) = @$b;
    my $bt = Persona::Test->new;
    $bt->conf("$conf\n");
    my ($rc, $out) = $bt->nginx_t;
    isnt($rc, 0, "nginx -t fails: $conf");
    like($out, $re, "message: $conf") or diag($out);
}

done_testing;
