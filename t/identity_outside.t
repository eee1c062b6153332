# Identity tried from the outside: what a hostile visitor or a second
# server can do with cookies, tokens and headers, and what a page cache in
# front keeps.  Each case asserts the behaviour the documentation
# promises or the one a site needs:
#
# - a response built from $persona_variant_NAME (a server-side test, an
#   app that renders the variant) is not stored by a page cache in front
#   and shown to visitors of the other variant;
# - an id persisted from an unsigned source on one server is not taken as
#   a signed id by a server that trusts signed ids only;
# - repeated sticky and preview cookies (another path, a parent domain)
#   keep the first valid one, as the visitor cookie does;
# - a preview link made for one host does nothing on another server, even
#   when the client sends that host in Host;
# - a preview response says one Cache-Control, no-store;
# - a link of one person clicked in a browser that a link made another
#   person's (a shared computer, a forwarded email) does not name that
#   person as the new one's anonymous id: the report would merge them.
# The cases the module does not meet yet are TODO: they run, and say so.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::Sign;

use JSON::PP;

my $t = Persona::Test->new;
my $front = Persona::Test->new(module => 0);

my $key = 'r' x 40;

$t->write_file('persona.key', $key);
$t->write_file('html/index.html',
    "<p><!--persona:hero-->-<!--/persona:hero--></p>\n");

$t->conf(<<'CONF');
    persona_key %%DIR%%/persona.key;

    persona_experiment hero {
        variant control text=control;
        variant winter  text=winter;
    }

    persona_experiment checkout {
        sticky on;
        bucket_version 1;
        variant control;
        variant express;
    }

    log_format exposure escape=none '$persona_exposures';

    # the shop: ids only when signed
    server {
        listen 127.0.0.1:%%PORT0%%;
        server_name shop.example.com;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_preview on;
        persona_id $http_x_user_id signed $arg_pid signed persist;

        access_log %%DIR%%/exposure.log exposure if=$persona_exposed;

        location = /id {
            return 200 "id=$persona_id\n";
        }

        # a server-side test: the answer is the variant
        location = /api {
            default_type text/plain;
            return 200 "hero=$persona_variant_hero\n";
        }

        location = /checkout {
            default_type text/plain;
            return 200 "checkout=$persona_variant_checkout\n";
        }
    }

    # a tracking server of the same site: an unsigned id that persists
    server {
        listen 127.0.0.1:%%PORT1%%;
        server_name track.example.com;

        persona_id $arg_ref persist;

        location = /id {
            return 200 "id=$persona_id\n";
        }
    }
CONF

$t->start;

$front->conf(<<"CONF");
    proxy_cache_path %%DIR%%/cache keys_zone=front:1m;

    server {
        listen 127.0.0.1:%%PORT0%%;

        location / {
            proxy_pass http://127.0.0.1:@{[ $t->port(0) ]};
            proxy_cache front;
            proxy_cache_valid 200 10m;
            add_header X-Cache \$upstream_cache_status always;
        }
    }
CONF

$front->start;

sub get {
    my ($uri, %h) = @_;
    my $port = delete $h{port} // $t->port(0);
    return $t->request(GET => $uri, port => $port, headers => \%h);
}

sub body_id {
    my ($res) = @_;
    return $res->{body} =~ /^id=(.*)$/m ? $1 : undef;
}

# two visitors, one in each variant of hero
my %who;
for my $k (1 .. 64) {
    my $id = sprintf '%032x', 0xcafe00 + $k;
    my ($v) = get('/api', Cookie => "persona=$id")->{body} =~ /hero=(\w+)/;
    $who{$v} //= $id if defined $v;
    last if $who{winter} && $who{control};
}
ok($who{winter} && $who{control}, 'a visitor in each variant')
    or BAIL_OUT('no visitors in both variants');

# 1. a server-side test through a page cache

my $res = get('/api', Cookie => "persona=$who{winter}");
my $cc = join ', ', $res->header_values('Cache-Control');
like($cc, qr/\b(private|no-store)\b/,
    'a response built from $persona_variant_hero says private')
    or diag(explain $res->{headers});

for my $v (qw(winter control)) {
    $res = $front->request(GET => '/api?r12',
        headers => { Cookie => "persona=$who{$v}" });
    is($res->{body}, "hero=$v\n",
        "through a page cache: the $v visitor gets $v")
        or diag('X-Cache: ' . ($res->header('X-Cache') // ''));
}

# and a response that shows the id: nobody else is told it

for my $v (qw(winter control)) {
    $res = $front->request(GET => '/id?r12',
        headers => { Cookie => "persona=$who{$v}" });
    is(body_id($res), $who{$v},
        "through a page cache: the $v visitor is told their own id");
}

# 2. an id persisted from an unsigned source, shown to the shop

$res = get('/id?ref=alice', port => $t->port(1));
my ($minted) = map { /^persona=([^;]+)/ ? $1 : () }
    $res->header_values('Set-Cookie');
ok($minted, 'the tracking server persists its unsigned id');

TODO: {
    local $TODO = 'a persisted cookie does not say its id was unsigned';

    $res = get('/id', Cookie => "persona=$minted");
    isnt(body_id($res), 'alice',
        'a shop that trusts signed ids only is not alice for that cookie');
}

# 3. repeated sticky and preview cookies: the first valid one counts

my $sticky = sticky_cookie($key, 'checkout:1:express');
my $sticky_c = sticky_cookie($key, 'checkout:1:control');
my $vid = '5e' x 16;

TODO: {
    local $TODO = 'only the first sticky cookie is read';

    for my $s ($sticky, $sticky_c) {
        my ($kept) = $s =~ /:(\w+)\./;
        $res = get('/checkout',
            Cookie => "persona=$vid; persona_sticky=$s");
        is($res->{body}, "checkout=$kept\n", "one sticky cookie: $kept kept");
        for my $junk ('junk', 'checkout:1:express.' . ('A' x 43), '') {
            $res = get('/checkout', Cookie =>
                "persona=$vid; persona_sticky=$junk; persona_sticky=$s");
            is($res->{body}, "checkout=$kept\n",
                "an invalid sticky cookie first ('$junk'), then $kept: kept");
            my @w = grep { /^persona_sticky=/ }
                $res->header_values('Set-Cookie');
            ok(!grep({ !/^persona_sticky=checkout:1:$kept\./ } @w),
                "and a rewrite, if any, keeps $kept");
        }
    }
}

my $token = preview_token($key, host => 'shop.example.com',
    expires => time + 3600, set => [ 'hero:winter' ]);

$res = get('/api', Host => 'shop.example.com',
    Cookie => "persona=$who{control}; persona_preview=$token");
is($res->{body}, "hero=winter\n", 'a preview cookie: the forced variant');

TODO: {
    local $TODO = 'only the first preview cookie is read';

    $res = get('/api', Host => 'shop.example.com',
        Cookie => "persona=$who{control}; persona_preview=x; "
            . "persona_preview=$token");
    is($res->{body}, "hero=winter\n",
        'an invalid preview cookie first, then a valid one: the preview');
}

# 4. a preview link of another host, replayed with that Host

my $staging = preview_token($key, host => 'staging.example.com',
    expires => time + 3600, set => [ 'hero:winter' ]);

TODO: {
    local $TODO = 'the preview host is checked against Host (docs/identity.md)';

    $res = get("/api?persona_preview=$staging", Host => 'staging.example.com',
        Cookie => "persona=$who{control}");
    is($res->{body}, "hero=control\n",
        'a staging link does nothing on the shop server, whatever Host says');
}

# 5. a preview response: one Cache-Control

$res = get("/?persona_preview=$token", Host => 'shop.example.com',
    Cookie => "persona=$who{control}");
is($res->{body}, "<p>winter</p>\n", 'a preview page');
is(join('|', $res->header_values('Cache-Control')), 'no-store',
    'a preview page: one Cache-Control, no-store');

# 6. two people's links in one browser

my $anon = '6a' x 16;
$res = get('/?pid=' . signed_id($key, 'alice', time + 3600),
    Cookie => "persona=$anon");
my ($alice_c) = map { /^persona=([^;]+)/ ? $1 : () }
    $res->header_values('Set-Cookie');
ok($alice_c, "alice's link persists alice");

$t->write_file('exposure.log', '');
$res = get('/?pid=' . signed_id($key, 'bob', time + 3600),
    Cookie => "persona=$alice_c");
my @ev = map { JSON::PP::decode_json($_) } grep { /\S/ }
    split /\n/, $t->read_file('exposure.log');
ok(@ev && !grep({ $_->{id} ne 'bob' } @ev), "bob's link: bob's page");
TODO: {
    local $TODO = 'anonymous_id may name the person of an earlier link';

    ok(!grep({ ($_->{anonymous_id} // '') eq 'alice' } @ev),
        "bob's events do not name alice as his anonymous id");
}

$t->check_error_log;

done_testing;
