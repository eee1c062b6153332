# persona_mode declared: only responses that declare slots are
# personalized, by a "Persona-Slots" header from the upstream (removed on
# the way out) or by a location's "persona_mode all"; every other page
# passes untouched with its caching: Content-Length, validators, byte
# ranges, no private, no cookie, and a caching nginx in front keeps it.
# In the default mode (all) the same page is personalized.

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
    my @declare = $r->{uri} =~ /slots/ ? ('Persona-Slots' => '1') : ();
    return { headers => [ 'Content-Type' => 'text/html',
        'Cache-Control' => 'public, max-age=600', 'ETag' => '"v1"',
        'Last-Modified' => 'Mon, 02 Nov 2026 10:00:00 GMT',
        'Content-Length' => length $page, @declare ], body => $page };
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
        persona_mode declared;
        persona_slot hero hero;

        location /up/ {
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }

        location /off/ {
            persona off;
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }

        location /static/ {
            persona_mode all;
            alias %%DIR%%/html/;
        }

        location /plain/ {
            alias %%DIR%%/html/;
        }

        location /all/ {
            persona_mode all;
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }
    }
CONF

$t->start;

my $front = $t->cache_front;

# where the module is off, the upstream's declaration still stays inside
my $off = $t->request(GET => '/off/slots');
is($off->{status}, 200, 'persona off: the page');
ok(!defined $off->header('Persona-Slots'),
    'persona off: no Persona-Slots header reaches the client');
is($off->{body}, $page, 'persona off: the page as it is');

my $u1 = 'persona=' . ('1a' x 16);
my $u2 = 'persona=' . ('2b' x 16);

# a page that declares nothing: untouched, with its caching

for my $uri ('/up/page', '/plain/index.html') {
    my $res = $t->request(GET => $uri, headers => { Cookie => $u1 });
    is($res->{body}, $page, "$uri: undeclared: the page as it is");
    is($res->header('Content-Length'), length $page,
        "$uri: undeclared: Content-Length kept");
    ok(defined $res->header('ETag'), "$uri: undeclared: ETag kept");
    ok(defined $res->header('Last-Modified'),
        "$uri: undeclared: Last-Modified kept");
    unlike(join(', ', $res->header_values('Cache-Control')), qr/private/,
        "$uri: undeclared: not private");
    ok(!$res->header('Set-Cookie'), "$uri: undeclared: no cookie");

}

# nginx serves ranges and 304 of static files (of proxied pages only with
# a cache or proxy_force_ranges)

my $res = $t->request(GET => '/plain/index.html',
    headers => { Range => 'bytes=0-5' });
is($res->{status}, 206, 'undeclared: byte ranges kept');

my $etag = $t->request(GET => '/plain/index.html')->header('ETag');
$res = $t->request(GET => '/plain/index.html',
    headers => { 'If-None-Match' => $etag });
is($res->{status}, 304, 'undeclared: revalidates to 304');

# declared by the upstream, or by the location

for my $uri ('/up/slots', '/static/index.html', '/all/page') {
    my $res = $t->request(GET => $uri, headers => { Cookie => $u1 });
    like($res->{body}, qr/<(?:b|i)>(?:winter|control) for 1a1a/,
        "$uri: declared: personalized");
    like($res->header('Cache-Control') // '', qr/^private/,
        "$uri: declared: private");
    ok(!defined $res->header('Content-Length'),
        "$uri: declared: no Content-Length");
    ok(!defined $res->header('Persona-Slots'),
        "$uri: declared: the declaration does not leave nginx");
}

# a caching nginx in front: the undeclared page is cached and shared, the
# declared one never

for my $id ($u1, $u2) {
    $front->request(GET => '/up/page', headers => { Cookie => $id });
}
$res = $front->request(GET => '/up/page', headers => { Cookie => $u1 });
is($res->header('X-Cache'), 'HIT', 'front cache: the undeclared page is a HIT');
is($res->{body}, $page, 'front cache: the undeclared page as it is');

for my $pass (1, 2) {
    for my $id ($u1, $u2) {
        my ($hex) = $id =~ /=(\w{4})/;
        my $res = $front->request(GET => '/up/slots',
            headers => { Cookie => $id });
        like($res->{body}, qr/ for \Q$hex\E/,
            "front cache, pass $pass: $hex gets its own declared page");
        isnt($res->header('X-Cache') // '', 'HIT',
            "front cache, pass $pass: the declared page is not cached");
    }
}

$front->stop;
$t->stop;

done_testing;
