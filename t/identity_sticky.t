# Sticky assignments: an experiment with "sticky on" keeps the variant a
# visitor was given in the signed NAME_sticky cookie, through a login
# (another id) and changes of weights and traffic, until its
# bucket_version changes; a variant removed or an experiment ended is
# handled as docs/identity.md says; the cookie is bounded; tampered data
# is ignored; without consent the cookie is expired.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::Sign;

use JSON::PP;

my $t = Persona::Test->new;

my $key = 's' x 32;

$t->write_file('persona.key', $key);
$t->write_file('html/index.html',
    "<p><!--persona:hero-->-<!--/persona:hero--></p>\n");

my $many = join '', map { sprintf "persona_experiment e%02d%s { sticky on; "
    . "variant v%s; }\n", $_, 'x' x 36, 'y' x 60 } 1 .. 20;

sub conf {
    my (%o) = @_;
    my $hero = $o{hero} // "variant a 50% text=A;\n variant b 50% text=B;";
    my $extra = $o{extra} // '';

    $t->conf(<<"CONF");
    persona_key %%DIR%%/persona.key;
    variables_hash_bucket_size 128;

    persona_experiment hero {
        sticky on;
        $extra
        $hero
    }

    persona_experiment other {
        sticky on;
        variant x;
        variant y;
    }

    $many

    log_format exposure escape=none '\$persona_exposures';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_id \$cookie_uid signed;

        access_log %%DIR%%/exposure.log exposure if=\$persona_exposed;

        location = /id {
            return 200 "id=\$persona_id hero=\$persona_variant_hero\\n";
        }

        location = /other {
            return 200 "other=\$persona_variant_other\\n";
        }

        location = /many {
            return 200 "\$persona_assignments\\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT1%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_consent '\$cookie_consent = yes';

        location = /id {
            return 200 "id=\$persona_id hero=\$persona_variant_hero\\n";
        }
    }
CONF
}

conf();
$t->start;

sub sticky_of {
    my ($res) = @_;
    my ($c) = grep { /^persona_sticky=/ } $res->header_values('Set-Cookie');
    return $c;
}

sub value_of {
    my ($c) = @_;
    return defined $c && $c =~ /^[^=]+=([^;]*)/ ? $1 : undef;
}

sub hero {
    my (%h) = @_;
    my $res = $t->request(GET => '/id', headers => { %h });
    my ($v) = $res->{body} =~ /hero=(\w*)/;
    return ($v // '', $res);
}

my $uid = 'uid=' . signed_id($key, 'alice');
my ($alice) = hero(Cookie => $uid);
like($alice, qr/^[ab]$/, "alice's own variant: $alice");

# an anonymous id whose variant is not alice's

my ($anon, $v);
for my $i (1 .. 64) {
    $anon = sprintf '%032x', $i * 7919;
    ($v) = hero(Cookie => "persona=$anon");
    last if $v ne $alice;
}
isnt($v, $alice, 'an anonymous id in the other variant');

# the anonymous visit: the page shows $v and the cookie keeps it

my $res = $t->request(GET => '/', headers => { Cookie => "persona=$anon" });
is($res->{body}, '<p>' . uc($v) . "</p>\n", 'the anonymous page');
my $sc = sticky_of($res);
my $sticky = value_of($sc);
is($sticky, sticky_cookie($key, "hero:0:$v"),
    'the sticky cookie: hero:0:VARIANT, signed');
like($sc, qr/; Max-Age=31536000; Path=\/; HttpOnly; SameSite=Lax$/,
    'with the attributes of the visitor cookie');

$res = $t->request(GET => '/',
    headers => { Cookie => "persona=$anon; persona_sticky=$sticky" });
ok(!defined sticky_of($res), 'unchanged entries: no Set-Cookie');

# the login: another id, the same variant, both ids in the exposure

my $jar = "persona=$anon; persona_sticky=$sticky; $uid";
$res = $t->request(GET => '/', headers => { Cookie => $jar });
is($res->{body}, '<p>' . uc($v) . "</p>\n", 'after login: the variant kept');
($v) = hero(Cookie => $jar);
ok(!defined sticky_of($res), 'after login: nothing to write');

my ($line) = reverse grep { /"id":"alice"/ }
    split /\n/, $t->read_file('exposure.log');
my $e = decode_json($line // '{}');
is($e->{variant}, $v, 'the exposure of alice: the kept variant');
is($e->{anonymous_id}, $anon, 'and the anonymous id, for stitching');

# a variable read outside any slot keeps its variant too

$res = $t->request(GET => '/other', headers => { Cookie => $jar });
my ($o) = $res->{body} =~ /other=(\w)/;
$sticky = value_of(sticky_of($res));
is($sticky, sticky_cookie($key, "hero:0:$v|other:0:$o"), 'a second entry');
$jar = "persona=$anon; persona_sticky=$sticky; $uid";

# the weights change: the visitor keeps the variant, newcomers follow

my ($w_a, $w_b) = $v eq 'a' ? (0, 100) : (100, 0);
conf(hero => "variant a $w_a% text=A;\n variant b $w_b% text=B;");
$t->reload;

my ($now) = hero(Cookie => $jar);
is($now, $v, 'weights moved to the other variant: the variant kept');
my ($fresh) = hero(Cookie => $uid);
isnt($fresh, $v, 'alice without the cookie follows the new weights');

conf(extra => 'traffic 1%;');
$t->reload;
($now) = hero(Cookie => $jar);
is($now, $v, 'traffic lowered to 1%: still in, the variant kept');

# a new bucket version: assigned afresh, the entry replaced

conf(extra => 'bucket_version 3;',
    hero => "variant a $w_a% text=A;\n variant b $w_b% text=B;");
$t->reload;
($now, $res) = hero(Cookie => $jar);
isnt($now, $v, 'bucket_version raised: assigned afresh');
is(value_of(sticky_of($res)),
    sticky_cookie($key, "other:0:$o|hero:3:$now"),
    'the entry now has the new version, and is the newest');

# the visitor's variant removed: assigned afresh

conf(hero => $v eq 'a' ? "variant b text=B;\n variant c text=C;"
                       : "variant a text=A;\n variant c text=C;");
$t->reload;
($now, $res) = hero(Cookie => $jar);
ok($now ne $v && $now =~ /^[abc]$/, "variant $v removed: now $now");
like(value_of(sticky_of($res)) // '', qr/^other:0:$o\|hero:0:$now\./,
    'and kept from now on');

# the experiment ended: nobody in it, the entry kept for nothing

conf(extra => 'schedule 2020-01-01 2021-01-01;');
$t->reload;
($now, $res) = hero(Cookie => $jar);
is($now, '', 'schedule over: not in the experiment');
ok(!defined sticky_of($res), 'and nothing written');

conf();
$t->reload;

# entries of experiments this configuration does not know are kept

my $foreign = sticky_cookie($key, "gone:2:x|hero:0:$v");
$res = $t->request(GET => '/other',
    headers => { Cookie => "persona=$anon; persona_sticky=$foreign" });
like(value_of(sticky_of($res)) // '', qr/^gone:2:x\|hero:0:$v\|other:0:\w\./,
    'an unknown experiment\'s entry is kept, the new one added last');

# bounded: the newest entries that fit in 1024 bytes

$res = $t->request(GET => '/many', headers => { Cookie => "persona=$anon" });
my $big = value_of(sticky_of($res)) // '';
my ($entries) = $big =~ /^(.*)\.[\w-]{43}$/;
ok(defined $entries && length $entries <= 1024,
    'the entries stay within 1024 bytes (' . length($entries // '') . ')');
like($entries // '', qr/\|e20x+:0:vy+$/, 'the newest entry is kept');
unlike($entries // '', qr/^hero:/, 'the oldest are dropped');
is($big, sticky_cookie($key, $entries // ''), 'still signed');

# tampered or malformed: ignored, never reflected, rewritten

$sticky = sticky_cookie($key, "hero:0:$v");
my $sig = substr($sticky, -43);
my $other = $v eq 'a' ? 'b' : 'a';

for my $case ([ 'another variant under the signature' => "hero:0:$other.$sig" ],
    [ 'another key' => sticky_cookie('t' x 32, "hero:0:$other") ],
    [ 'truncated' => substr($sticky, 0, -2) ],
    [ 'signed for an id cookie' => "hero:0:$other."
        . signature($key, 'cookie', "hero:0:$other") ],
    [ 'malformed entries under a valid signature' =>
        sticky_cookie($key, "hero:0:<$other>") ],
    [ 'oversized' => sticky_cookie($key, join '|', ("hero:0:$other") x 200) ])
{
    my ($name, $value) = @$case;
    my ($got, $r) = hero(Cookie => "persona=$anon; persona_sticky=$value");
    is($got, $v, "$name: ignored, the variant by hash");
    is(value_of(sticky_of($r)), sticky_cookie($key, "hero:0:$v"),
        "$name: rewritten");
    unlike($r->{body}, qr/</, "$name: not reflected");
}

# consent withdrawn: the sticky data is dropped, and the id with it

my $expired = quotemeta('=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
    . '; Path=/; HttpOnly; SameSite=Lax') . '$';

for my $case ([ 'no consent' =>
        { Cookie => "persona=$anon; persona_sticky=$sticky" } ],
    [ 'consent refused' =>
        { Cookie => "consent=no; persona=$anon; persona_sticky=$sticky" } ],
    [ 'Sec-GPC: 1' => { 'Sec-GPC' => 1,
        Cookie => "consent=yes; persona=$anon; persona_sticky=$sticky" } ])
{
    my ($name, $h) = @$case;
    $res = $t->request(GET => '/', port => $t->port(1), headers => $h);
    is($res->{body}, "<p>-</p>\n", "$name: the default content");

    my @sticky = grep { /^persona_sticky=/ }
        $res->header_values('Set-Cookie');
    my @id = grep { /^persona=/ } $res->header_values('Set-Cookie');

    is(scalar @sticky, 1, "$name: one Set-Cookie for the sticky cookie");
    like($sticky[0] // '', qr/^persona_sticky$expired/,
        "$name: the sticky cookie is expired");
    is(scalar @id, 1, "$name: one Set-Cookie for the id cookie");
    like($id[0] // '', qr/^persona$expired/,
        "$name: the id cookie is expired next to it");
}

$res = $t->request(GET => '/', port => $t->port(1), headers => {
    Cookie => "persona=$anon", 'Sec-GPC' => 1 });
ok(!defined sticky_of($res), 'no sticky cookie to drop: nothing sent');

$res = $t->request(GET => '/', port => $t->port(1), headers => {
    Cookie => "consent=yes; persona=$anon; persona_sticky=$sticky" });
is($res->{body}, '<p>' . uc($v) . "</p>\n", 'consent: kept');
ok(!defined sticky_of($res), 'consent: nothing to write');

$t->stop;

done_testing;
