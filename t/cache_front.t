# A caching nginx in front of the module's nginx: two
# visitors in two variants, whose pages carry their own id, never receive
# each other's page, whatever expires, add_header, the upstream's
# Cache-Control or proxy_hide_header do; a personalized response always
# says private (or no-store), never public; persona_cache vary keeps its
# Vary: Cookie and a cache that honours it keeps one copy per visitor.

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
    my ($r) = @_;
    my @cc = $r->{uri} =~ /nostore/ ? ('Cache-Control' => 'no-store')
        : ('Cache-Control' => 'public, max-age=600');
    return { headers => [ 'Content-Type' => 'text/html', @cc,
        'Expires' => 'Thu, 01 Jan 2037 00:00:00 GMT' ], body => $page };
}, port => $t->port(1));

$t->conf(<<'CONF');
    persona_experiment hero {
        variant control 50% 'text=<i>control for {{$persona_id}}</i>';
        variant winter  50% 'text=<b>winter for {{$persona_id}}</b>';
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;

        location = /id {
            return 200 "$persona_variant_hero\n";
        }

        location /expires/ {
            expires 1h;
            alias %%DIR%%/html/;
        }

        location /expires-max/ {
            expires max;
            alias %%DIR%%/html/;
        }

        location /add-header/ {
            add_header Cache-Control "public, max-age=600";
            alias %%DIR%%/html/;
        }

        location /upstream/ {
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }

        location /upstream-expires/ {
            expires 1h;
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }

        location /hidden/ {
            proxy_hide_header Cache-Control;
            add_header Cache-Control "public, max-age=60";
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }

        location /vary/ {
            persona_cache vary;
            expires 1h;
            add_header Cache-Control "public, max-age=600";
            alias %%DIR%%/html/;
        }
    }
CONF

$t->start;

my $front = $t->cache_front;

# two visitors with cookies the module issued, one in each variant
my %who = %{ $t->visitors_in('/id', 0xabc000, qw(winter control)) };

ok($who{winter} && $who{control}, 'a visitor in each variant')
    or BAIL_OUT('no visitors in both variants');

my ($u1, $u3) = @who{qw(winter control)};

sub page_of {
    my ($res, $id) = @_;
    my $v = $id eq $u1 ? "<b>winter for $u1</b>" : "<i>control for $u3</i>";
    return $page =~ s/<!--persona:hero-->.*<!--\/persona:hero-->/$v/r;
}

for my $loc (qw(expires expires-max add-header upstream upstream-expires
    hidden vary))
{
    my $uri = "/$loc/index.html";

    # what the module's nginx says, directly

    my $res = $t->request(GET => $uri, headers => { Cookie => "persona=$u1" });
    is($res->{body}, page_of($res, $u1), "$loc: u1's page");

    my $cc = join ', ', $res->header_values('Cache-Control');

    if ($loc eq 'vary') {
        like(join(', ', $res->header_values('Vary')), qr/\bCookie\b/i,
            "$loc: Vary: Cookie kept after expires and add_header");
    } else {
        like($cc, qr/\b(?:private|no-store)\b/i,
            "$loc: Cache-Control says private ($cc)");
        unlike($cc, qr/\bpublic\b/i,
            "$loc: Cache-Control never says public ($cc)");
    }

    # through the cache: u1 first, then u3, then u1 again

    for my $id ($u1, $u3, $u1) {
        my $name = $id eq $u1 ? 'u1' : 'u3';
        $res = $front->request(GET => $uri,
            headers => { Cookie => "persona=$id" });
        is($res->{body}, page_of($res, $id),
            "$loc through a shared cache: $name gets $name\'s page"
            . ' (X-Cache: ' . ($res->header('X-Cache') // '') . ')');
    }
}

$front->stop;
$t->stop;

done_testing;
