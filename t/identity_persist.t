# The email-link journey: a visitor known by a cookie clicks a signed
# link (persona_id ... persist), the link's id becomes the cookie's, and
# the next pages and the conversion use it: one id, one variant.  The
# events of the visit carry the cookie id it replaced (anonymous_id), for
# stitching.  A persisted cookie that is tampered, signed with another
# key or for another purpose, or malformed is replaced, never reflected.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::Sign;

use JSON::PP;

my $t = Persona::Test->new;

my $key = 'k' x 40;

$t->write_file('persona.key', $key);
$t->write_file('html/index.html',
    "<p><!--persona:bf-->-<!--/persona:bf-->"
    . "<!--persona:checkout-->-<!--/persona:checkout--></p>\n");
$t->write_file('html/page.html',
    "<p><!--persona:bf-->-<!--/persona:bf--></p>\n");
$t->write_file('html/cart.html',
    "<p><!--persona:checkout-->-<!--/persona:checkout--></p>\n");
$t->write_file('html/file.txt', "some text\n" x 10);

$t->conf(<<'CONF');
    persona_key %%DIR%%/persona.key;

    persona_experiment blackfriday {
        variant control text=control;
        variant bf      text=bf;
    }

    persona_experiment checkout {
        variant control text=control;
        variant express text=express;
    }

    log_format exposure escape=none '$persona_exposures';
    log_format conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot bf blackfriday;
        persona_slot checkout checkout;
        persona_id $http_x_user_id signed $arg_pid signed persist;

        access_log %%DIR%%/exposure.log exposure if=$persona_exposed;

        location = /id {
            return 200 "id=$persona_id $persona_assignments\n";
        }

        # a file of another type, whose error pages a filter finalizes
        location = /file.txt {
            set $id $persona_id;
            add_header X-Id $id;
        }

        location = /convert {
            persona_conversion;
            access_log %%DIR%%/conversion.log conversion
                       if=$persona_conversion;
        }
    }

    server {
        listen 127.0.0.1:%%PORT1%%;

        persona_id $arg_ref persist;
        persona_cookie pid max_age=7d;

        location = /id {
            return 200 "id=$persona_id\n";
        }
    }
CONF

$t->start;

sub set_cookie {
    my ($res, $name) = @_;
    $name //= 'persona';
    my ($c) = grep { /^\Q$name\E=/ } $res->header_values('Set-Cookie');
    return $c;
}

sub cookie_value {
    my ($c) = @_;
    return defined $c && $c =~ /^[^=]+=([^;]*)/ ? $1 : undef;
}

sub id_of {
    my ($res) = @_;
    return ($res->{body} =~ /^id=(\S*)/m)[0] // '';
}

# 1. an anonymous visitor

my $res = $t->request(GET => '/index.html');
my $anon = cookie_value(set_cookie($res));
like($anon // '', qr/^[0-9a-f]{32}$/, 'anonymous visitor: a random id');

# 2. the email link: the link's id replaces the cookie's

my $link = signed_id($key, 'alice', time + 86400);

$res = $t->request(GET => "/index.html?pid=$link&utm_medium=email",
    headers => { Cookie => "persona=$anon" });
my $sc = set_cookie($res);
my $cookie = cookie_value($sc);
ok($cookie, 'the link sets the cookie');
like($sc // '', qr/; Max-Age=31536000; Path=\/; HttpOnly; SameSite=Lax/,
    'with the attributes of the visitor cookie');
unlike($cookie // '', qr/alice|\Q$link\E/,
    'the cookie is not the link, nor the id in clear');
my ($shown) = $res->{body} =~ m{<p>(\w+)(\w*)</p>};
my ($bf_shown, $co_shown) = $res->{body} =~ m{<p>(control|bf)(control|express)</p>};
ok($bf_shown && $co_shown, 'the landing page shows both experiments');

# 3. the next pages, with nothing in the URL: the cookie says alice

for my $uri ('/page.html', '/cart.html', '/id') {
    $res = $t->request(GET => $uri, headers => { Cookie => "persona=$cookie" });
    ok(!defined set_cookie($res), "$uri: no new cookie");

    if ($uri eq '/id') {
        like($res->{body}, qr/^id=alice blackfriday=$bf_shown,checkout=$co_shown$/m,
            '/id: alice, the same variants');
    } elsif ($uri eq '/page.html') {
        is($res->{body}, "<p>$bf_shown</p>\n", "$uri: the same variant");
    } else {
        is($res->{body}, "<p>$co_shown</p>\n", "$uri: the same variant");
    }
}

# 4. the conversion

$res = $t->request(GET => '/convert?goal=purchase&value=30',
    headers => { Cookie => "persona=$cookie" });
is($res->{status}, 204, 'conversion: 204');

# a link to the id the cookie already has sets nothing

$res = $t->request(GET => "/id?pid=$link",
    headers => { Cookie => "persona=$cookie" });
ok(!defined set_cookie($res), 'the same link again: no new cookie');
is(id_of($res), 'alice', 'and the same id');

# the visit is over after 30 minutes: no anonymous_id any more

my $later = id_cookie($key, 'alice', $anon, time - 1801);
$res = $t->request(GET => '/page.html',
    headers => { Cookie => "persona=$later" });
ok(!defined set_cookie($res), 'a later visit: the cookie is kept');

# a browser with another "persona" cookie (another path or domain) sends
# both, in any order: the persisted one is the visitor's

for my $both ("persona=junk; persona=$cookie", "persona=$cookie; persona=",
    "persona=; theme=dark; persona=$cookie")
{
    $res = $t->request(GET => '/id', headers => { Cookie => $both });
    ok(!defined set_cookie($res), "$both: no new cookie");
    is(id_of($res), 'alice', "$both: alice");
}

# the link on an error page a filter finalizes (416, 412): it still
# persists the link's id

for my $e ([ 416, Range => 'bytes=100000-' ], [ 412, 'If-Match' => '"x"' ])
{
    my ($status, $h, $hv) = @$e;

    $res = $t->request(GET => "/file.txt?pid=$link",
        headers => { Cookie => "persona=$anon", $h => $hv });
    is($res->{status}, $status, "$h: $status");
    my $c = cookie_value(set_cookie($res));
    unlike($c // '', qr/^[0-9a-f]{32}$/,
        "$h: the $status carries a persisted cookie")
        or diag(explain $res->{headers});
    $res = $t->request(GET => '/id', headers => { Cookie => "persona=$c" });
    is(id_of($res), 'alice', "$h: the link's id");
}

# a signed header (login) over a persisted cookie: the header's id, and
# the cookie's as the previous one

$res = $t->request(GET => '/page.html', headers => {
    Cookie => "persona=$cookie", 'X-User-Id' => signed_id($key, 'u-7') });
ok(!defined set_cookie($res), 'header id (no persist): cookie kept');

# persisted cookies that are not the module's

my $sig = substr($cookie, -43);
my $data = substr($cookie, 0, -44);
my $forged = id_cookie('f' x 32, 'alice', '', time);

my @bad = (
    [ 'another id under the signature' =>
        b64u('mallory') . substr($data, index($data, '.')) . ".$sig" ],
    [ 'truncated' => substr($cookie, 0, -1) ],
    [ 'signed with another key' => $forged ],
    [ 'signed for sticky data' =>
        "$data." . signature($key, 'sticky', $data) ],
    [ 'malformed base64 under a valid signature' =>
        'YWxpY2U=..1.' . signature($key, 'cookie', 'YWxpY2U=..1') ],
    [ 'no id under a valid signature' =>
        '..1.' . signature($key, 'cookie', '..1') ],
    [ 'an id too long under a valid signature' =>
        id_cookie($key, 'z' x 257, '', time) ],
    [ 'oversized' => 'A' x 3000 . ".$sig" ],
);

for my $case (@bad) {
    my ($name, $value) = @$case;

    $res = $t->request(GET => '/id', headers => { Cookie => "persona=$value" });
    my $new = cookie_value(set_cookie($res));
    like($new // '', qr/^[0-9a-f]{32}$/, "$name: replaced by a new id");
    is(id_of($res), $new // 'none', "$name: which is the id used");
    unlike($res->{raw}, qr/alice|mallory|zzzz/, "$name: not reflected");
}

# an unsigned source may persist too (docs: only as safe as its source)

$res = $t->request(GET => '/id?ref=partner-9', port => $t->port(1));
$sc = set_cookie($res, 'pid');
like($sc // '', qr/^pid=[^;]+; Max-Age=604800;/,
    'unsigned persist: the cookie of persona_cookie');
is(id_of($res), 'partner-9', 'unsigned persist: the id');
$res = $t->request(GET => '/id', port => $t->port(1),
    headers => { Cookie => 'pid=' . cookie_value($sc) });
is(id_of($res), 'partner-9', 'unsigned persist: the next request');

$t->stop;

# the events: one id, one variant per experiment, both ids for stitching

my @exp = map { decode_json($_) } split /\n/, $t->read_file('exposure.log');
my @conv = map { decode_json($_) } split /\n/,
    $t->read_file('conversion.log');

my @anon = grep { $_->{id} eq $anon } @exp;
is(scalar @anon, 2, 'the anonymous page: two exposures under the cookie id');
ok(!grep({ exists $_->{anonymous_id} } @anon),
    'an id that replaced nothing has no anonymous_id');

my @alice = grep { $_->{id} eq 'alice' } @exp;
is(scalar @alice, 2 + 1 + 1 + 1, 'alice: every exposure of the journey');

my %variant;
$variant{ $_->{experiment} }{ $_->{variant} }++ for @alice;
is_deeply([ map { [ sort keys %{ $variant{$_} } ] } sort keys %variant ],
    [ [ $bf_shown ], [ $co_shown ] ], 'alice: one variant per experiment');

is(scalar(grep { ($_->{anonymous_id} // '') eq $anon } @alice), 4,
    'the visit carries the replaced cookie id as anonymous_id');
is(scalar(grep { !exists $_->{anonymous_id} } @alice), 1,
    'a later visit does not');

my @u7 = grep { $_->{id} eq 'u-7' } @exp;
is($u7[0]{anonymous_id} // '', 'alice',
    'a login over a persisted id: that id is the previous one');

is(scalar @conv, 1, 'one conversion');
is($conv[0]{id}, 'alice', 'conversion: alice');
is($conv[0]{anonymous_id}, $anon, 'conversion: with the anonymous id');
is_deeply($conv[0]{assignments},
    { blackfriday => $bf_shown, checkout => $co_shown },
    'conversion: the variants shown');

done_testing;
