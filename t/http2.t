# The filter, the visitor cookie, exposures and conversions over HTTP/2,
# cleartext with prior knowledge and over TLS with ALPN, as browsers use
# it (over an HTTP/2 listener).  HTTP/2 has no
# chunked encoding and no Content-Length to lean on: the body arrives in
# DATA frames.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

$t->ssl_cert('localhost');

my $page = "<html><body>\n"
    . "<!--persona:hero-->default hero<!--/persona:hero-->\n"
    . "<!--persona:greet-->hello<!--/persona:greet-->\n"
    . "</body></html>\n";

$t->write_file('html/index.html', $page);

$t->backend(sub {
    my ($r) = @_;
    return { body => $page, byte_at_a_time => 1 } if $r->{uri} =~ /bytes/;
    return { chunks => [ split /(?<=-)/, $page ] };
}, port => $t->port(3));

$t->conf(<<'CONF');
    persona_experiment hero {
        variant control 50% 'text=<i>control</i>';
        variant winter  50% 'text=<b>winter</b>';
    }

    persona_content greet {
        when '$http_x_name' 'text=Hi {{$http_x_name}}';
    }

    log_format persona_exposure escape=none '$persona_exposures';
    log_format persona_conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        listen 127.0.0.1:%%PORT1%% http2;
        listen 127.0.0.1:%%PORT2%% ssl http2;
        ssl_certificate %%DIR%%/localhost.crt;
        ssl_certificate_key %%DIR%%/localhost.key;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot greet greet;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;

        location /p/ {
            proxy_pass http://127.0.0.1:%%PORT3%%/;
        }

        location = /persona/convert {
            persona_conversion goals=purchase;
            access_log %%DIR%%/conversion.log persona_conversion
                       if=$persona_conversion;
        }
    }
CONF

$t->start;

sub lines {
    my ($file) = @_;
    open my $fh, '<:raw', "$t->{dir}/$file" or return ();
    return map { decode_json($_) } grep { /\S/ } <$fh>;
}

my %h2c = (http => '2', port => $t->port(1));
my %h2 = (http => '2', port => $t->port(2), ssl => 1);

for my $v ([ h2c => %h2c ], [ 'h2 over TLS' => %h2 ]) {
    my ($name, %o) = @$v;

    # a new visitor: cookie, personalized page, cache headers

    my $res = $t->request(GET => '/index.html', %o,
        headers => { 'X-Name' => '<Ann>' });
    is($res->{status}, 200, "$name: 200");
    is($res->{version}, '2', "$name: over HTTP/2");

    my ($id) = ($res->header('Set-Cookie') // '') =~ /^persona=([0-9a-f]{32});/;
    ok($id, "$name: a new visitor gets the cookie");
    if ($o{ssl}) {
        like($res->header('Set-Cookie') // '', qr/; Secure(;|$)/,
            "$name: Secure over https");
    }

    my ($variant) = $res->{body} =~ /<[ib]>(\w+)</;
    ok($variant, "$name: the slot is filled ($variant)");
    like($res->{body}, qr/\nHi &lt;Ann&gt;\n/, "$name: a rule, escaped");
    unlike($res->{body}, qr/persona:/, "$name: markers removed");
    ok(!defined $res->header('Content-Length'), "$name: no Content-Length");
    like($res->header('ETag') // 'W/', qr/^W\//, "$name: no strong ETag");
    like(join(', ', $res->header_values('Cache-Control')), qr/\bprivate\b/,
        "$name: Cache-Control: private");

    # the same visitor again, proxied pages streamed in pieces

    for my $uri ('/p/chunks', '/p/bytes') {
        my $r = $t->request(GET => $uri, %o,
            headers => { Cookie => "persona=$id" });
        like($r->{body}, qr/<[ib]>$variant</, "$name: $uri: same variant");
        ok(!defined $r->header('Set-Cookie'), "$name: $uri: no new cookie");
    }

    # of the experiment (the rule of a content set has its own); a
    # request is logged after its response has gone out
    my $exposures = sub {
        grep { $_->{id} eq ($id // '') && defined $_->{experiment} }
            lines('exposure.log');
    };
    eval {
        Persona::Test::wait_for("$name: the exposures", 10,
            sub { $exposures->() >= 3 });
    };
    my @e = $exposures->();
    is(scalar @e, 3, "$name: one exposure per page view");
    ok(!grep({ $_->{variant} ne $variant } @e),
        "$name: exposures of the variant shown");

    # a conversion whose body comes in two DATA frames

    $res = $t->request(POST => '/persona/convert', %o,
        headers => { Cookie => "persona=$id",
            'Content-Type' => 'application/x-www-form-urlencoded' },
        body => [ 'goal=purch', 'ase&value=3' ], delay => 0.1);
    is($res->{status}, 204, "$name: conversion in two DATA frames: 204");

    my $conversions = sub {
        grep { $_->{id} eq ($id // '') } lines('conversion.log');
    };
    eval {
        Persona::Test::wait_for("$name: the conversion", 10,
            sub { $conversions->() >= 1 });
    };
    my @c = $conversions->();
    is(scalar @c, 1, "$name: one conversion event");
    is($c[0] && $c[0]{assignments}{hero}, $variant,
        "$name: the conversion carries the variant");
}

$t->stop;

done_testing;
