# Conditional requests on personalized pages: one
# visitor's validator must never get a 304 for another visitor's page.
# A validator matches only the same personalized content, or there is no
# 304 at all; a 304 that is sent says private and carries neither a strong
# ETag nor Last-Modified.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

my $page = "<html><body>\n"
    . "<!--persona:hero-->default hero<!--/persona:hero-->\n"
    . "</body></html>\n";

$t->write_file('html/index.html', $page);

$t->backend(sub {
    return { headers => [ 'Content-Type' => 'text/html', 'ETag' => '"v42"',
        'Last-Modified' => 'Mon, 02 Nov 2026 10:00:00 GMT' ], body => $page };
}, port => $t->port(1));

$t->conf(<<'CONF');
    proxy_cache_path %%DIR%%/cache keys_zone=c:1m;

    persona_experiment hero {
        variant control 50% 'text=<i>control</i>';
        variant winter  50% 'text=<b>winter</b>';
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;

        location = /id {
            return 200 "$persona_variant_hero\n";
        }

        location /plain/ {
            persona off;
            alias %%DIR%%/html/;
        }

        location /up/ {
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }

        # the upstream's page cached here, personalized on the way out:
        # nginx answers conditional requests for cacheable responses
        location /cached/ {
            proxy_cache c;
            proxy_cache_valid 200 10m;
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }
    }
CONF

$t->start;

my %who = %{ $t->visitors_in('/id', 0xbcd000, qw(winter control)) };

ok($who{winter} && $who{control}, 'a visitor in each variant')
    or BAIL_OUT('no visitors in both variants');

my ($u1, $u3) = @who{qw(winter control)};

# the file's own validators, as a cache or a browser may have kept them
my $plain = $t->request(GET => '/plain/index.html');
my $file_lm = $plain->header('Last-Modified');
my $file_etag = $plain->header('ETag');

for my $where ([ static => '/index.html' ], [ proxied => '/up/' ],
    [ 'proxied and cached' => '/cached/' ])
{
    my ($name, $uri) = @$where;

    my $r1 = $t->request(GET => $uri, headers => { Cookie => "persona=$u1" });
    like($r1->{body}, qr/<b>winter<\/b>/, "$name: u1 sees winter");
    my $etag = $r1->header('ETag');

    my @cond = (
        [ "u1's ETag" => 'If-None-Match' => $etag ],
        [ "u1's ETag, strong form" => 'If-None-Match' =>
            defined $etag ? $etag =~ s/^W\///r : undef ],
        [ "the file's ETag" => 'If-None-Match' =>
            $name eq 'static' ? $file_etag : '"v42"' ],
        [ 'If-Modified-Since' => 'If-Modified-Since' =>
            $name eq 'static' ? $file_lm : 'Mon, 02 Nov 2026 10:00:00 GMT' ],
    );

    for my $c (@cond) {
        my ($what, $h, $v) = @$c;
        next unless defined $v;

        my $r3 = $t->request(GET => $uri,
            headers => { Cookie => "persona=$u3", $h => $v });
        is($r3->{status}, 200, "$name: u3 with $what: no 304");
        like($r3->{body}, qr/<i>control<\/i>/,
            "$name: u3 with $what: u3's own page");
    }

    # a 304 to the visitor whose page it is may be fine, but then it is
    # private and carries no strong validator
    for my $c ([ "own ETag" => 'If-None-Match' => $etag ],
        [ 'If-Modified-Since' => 'If-Modified-Since' =>
            $name eq 'static' ? $file_lm : 'Mon, 02 Nov 2026 10:00:00 GMT' ])
    {
        my ($what, $h, $v) = @$c;
        next unless defined $v;

        my $r = $t->request(GET => $uri,
            headers => { Cookie => "persona=$u1", $h => $v });

        if ($r->{status} == 304) {
            like(join(', ', $r->header_values('Cache-Control')),
                qr/\b(?:private|no-store)\b/,
                "$name: 304 to u1 with $what says private");
            unlike($r->header('ETag') // 'W/', qr/^"/,
                "$name: 304 to u1 with $what: no strong ETag");
            ok(!defined $r->header('Last-Modified'),
                "$name: 304 to u1 with $what: no Last-Modified");
        } else {
            is($r->{status}, 200, "$name: u1 with $what: 200");
            like($r->{body}, qr/<b>winter<\/b>/,
                "$name: u1 with $what: the page");
        }
    }
}

$t->stop;

done_testing;
