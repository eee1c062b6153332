# HEAD and GET of a personalized location carry the same headers: no
# Content-Length, weak ETag, no Last-Modified, no Accept-Ranges,
# Cache-Control: private, the cookie of a new visitor, for static files
# and proxied pages, over HTTP/1.1 and HTTP/2.

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
        'Last-Modified' => 'Mon, 02 Nov 2026 10:00:00 GMT',
        'Accept-Ranges' => 'bytes', 'Content-Length' => length $page ],
        body => $page };
}, port => $t->port(1));

$t->conf(<<'CONF');
    persona_experiment hero {
        variant control 50% 'text=<i>control</i>';
        variant winter  50% 'text=<b>winter</b>';
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        listen 127.0.0.1:%%PORT2%% http2;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;

        location /up/ {
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }
    }
CONF

$t->start;

my $id = 'persona=' . ('5a' x 16);

# the headers that say what the body is and how it may be cached
my @compared = qw(Content-Type Content-Length ETag Last-Modified
    Accept-Ranges Cache-Control Vary Expires Content-Encoding);

for my $case (
    [ 'static, returning visitor' => '/index.html', { Cookie => $id } ],
    [ 'static, new visitor' => '/index.html', {} ],
    [ 'proxied, returning visitor' => '/up/', { Cookie => $id } ],
    [ 'proxied, new visitor' => '/up/', {} ],
    [ 'static over HTTP/2' => '/index.html', { Cookie => $id }, 2 ],
    [ 'proxied over HTTP/2' => '/up/', { Cookie => $id }, 2 ])
{
    my ($name, $uri, $h, $v) = @$case;
    my %o = $v ? (http => '2', port => $t->port(2)) : ();

    my $get = $t->request(GET => $uri, headers => $h, %o);
    my $head = $t->request(HEAD => $uri, headers => $h, %o);

    is($head->{status}, $get->{status}, "$name: same status");

    for my $k (@compared) {
        is(join("\n", $head->header_values($k)) || undef,
            join("\n", $get->header_values($k)) || undef,
            "$name: same $k");
    }

    is(scalar $head->header_values('Set-Cookie'),
        scalar $get->header_values('Set-Cookie'),
        "$name: Set-Cookie on both or neither");
}

$t->stop;

done_testing;
