# The visitor cookie in the cases a browser really produces: an error
# finalized by a filter (416) still carries the cookie of the new id it
# was built for; two "persona" cookies (another path or domain) keep one
# id instead of a new one per request; a visitor who withdraws consent
# gets the cookie expired.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

$t->write_file('html/file.txt', "some text\n" x 10);
$t->write_file('html/index.html',
    "<p><!--persona:hero-->default<!--/persona:hero--></p>\n");

$t->conf(<<'CONF');
    persona_experiment hero {
        variant control 50% 'text=control';
        variant winter  50% 'text=winter';
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        listen 127.0.0.1:%%PORT2%% http2;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;

        location = /id {
            return 200 "id=$persona_id hero=$persona_variant_hero\n";
        }

        # the variant picks a file; ranges work on a file of another type
        location = /file.txt {
            set $v $persona_variant_hero;
            add_header X-Hero $v;
        }
    }

    server {
        listen 127.0.0.1:%%PORT1%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_consent '$cookie_consent = yes';

        location = /id {
            return 200 "id=$persona_id hero=$persona_variant_hero\n";
        }
    }
CONF

$t->start;

sub cookie_id {
    my ($res) = @_;
    my @c = $res->header_values('Set-Cookie');
    my ($id) = join("\n", @c) =~ /^persona=([0-9a-f]{32});/m;
    return $id;
}

# errors finalized by a filter (the range filter's 416, the not-modified
# filter's 412) for a new visitor whose variant was read

my @errors = ([ 416, Range => 'bytes=100000-' ], [ 412, 'If-Match' => '"x"' ],
    [ 412, 'If-Unmodified-Since' => 'Mon, 01 Jan 2001 00:00:00 GMT' ]);
my @protocols = ([ 'HTTP/1.1' ],
    [ 'HTTP/2', http => '2', port => $t->port(2) ]);

for my $case (map { my $p = $_; map { [ $p, $_ ] } @errors } @protocols) {
    my ($p, $e) = @$case;
    my ($proto, %o) = @$p;
    my ($status, $h, $hv) = @$e;
    my $name = "$proto, $h";

    my $res = $t->request(GET => '/file.txt', %o, headers => { $h => $hv });
    is($res->{status}, $status, "$name: $status");

    my $id = cookie_id($res);
    ok($id, "$name: the $status carries the new visitor's cookie")
        or diag(explain $res->{headers});

    SKIP: {
        skip 'no cookie', 1 unless $id;
        my $r = $t->request(GET => '/id', %o,
            headers => { Cookie => "persona=$id" });
        ok(!defined cookie_id($r) && $r->{body} =~ /^id=$id /,
            "$name: the next request keeps that id");
    }
}

# two persona cookies, as a browser sends them for two paths or domains

my ($a, $b) = ('1a' x 16, '2b' x 16);

for my $case ([ 'two valid ids' => "persona=$a; persona=$b", [ $a, $b ] ],
    [ 'two valid ids, other cookies between' =>
        "persona=$a; theme=dark; persona=$b", [ $a, $b ] ],
    [ 'an invalid one first' => "persona=junk; persona=$b", [ $b ] ],
    [ 'an invalid one last' => "persona=$a; persona=", [ $a ] ])
{
    my ($name, $cookie, $ok) = @$case;

    my @ids;
    my $new = 0;

    for (1 .. 3) {
        my $res = $t->request(GET => '/id', headers => { Cookie => $cookie });
        $new++ if defined cookie_id($res);
        push @ids, $res->{body} =~ /^id=(\w*) /;
    }

    is($new, 0, "$name: no new id is set");
    ok(@ids == 3 && (grep { $_ eq $ids[0] } @ids) == 3
        && grep({ $_ eq $ids[0] } @$ok),
        "$name: the same id each time, one of the cookies' "
        . "(@ids)");
}

# consent withdrawn: the cookie is expired

my $id = '3c' x 16;

for my $case ([ 'no consent any more' => { Cookie => "persona=$id" } ],
    [ 'consent refused' => { Cookie => "consent=no; persona=$id" } ],
    [ 'Sec-GPC: 1' => { Cookie => "consent=yes; persona=$id",
        'Sec-GPC' => 1 } ])
{
    my ($name, $h) = @$case;

    my $res = $t->request(GET => '/index.html', port => $t->port(1),
        headers => $h);
    is($res->{body}, "<p>default</p>\n", "$name: default content");

    my @c = grep { /^persona=/ } $res->header_values('Set-Cookie');
    is(scalar @c, 1, "$name: one Set-Cookie for the old cookie");
    like($c[0] // '',
        qr/^persona=(?:[^;]*)?;.*(?:Max-Age=0\b|Expires=Thu, 01 Jan 1970)/i,
        "$name: it expires the cookie");
    unlike($c[0] // '', qr/^persona=[0-9a-f]{32}/,
        "$name: and does not repeat the id");
}

my $res = $t->request(GET => '/index.html', port => $t->port(1),
    headers => { Cookie => 'consent=no' });
is(scalar $res->header_values('Set-Cookie'), 0,
    'no consent and no cookie: no Set-Cookie');

$t->stop;

done_testing;
