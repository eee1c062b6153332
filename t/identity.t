# Who the visitor is: persona_id variables, the visitor cookie, new ids,
# cookie attributes, consent and Global Privacy Control, internal redirects.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

$t->write_file('html/index.html', "index\n");

# a certificate for the https server (secure=auto)
system('openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost'
    . " -keyout $t->{dir}/key.pem -out $t->{dir}/cert.pem >/dev/null 2>&1")
    == 0 or die 'openssl failed';
chmod 0644, "$t->{dir}/key.pem", "$t->{dir}/cert.pem";
$t->write_file('html/page.html', "page\n");

$t->conf(<<'CONF');
    persona_experiment hero {
        variant a;
        variant b;
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona_id $http_x_user_id $arg_pid;

        location = /id {
            return 200 "id=$persona_id hero=$persona_variant_hero\n";
        }

        # an index redirect, then a variable read after it
        location / {
            add_header X-Id $persona_id;
            add_header X-Hero $persona_variant_hero;
        }

        location = /redirect {
            set $x $persona_id;
            rewrite ^ /id last;
        }

        location = /missing {
            set $x $persona_id;
            error_page 404 = /id;
            return 404;
        }

        location = /try {
            set $x $persona_id;
            try_files /nonexistent /page.html;
        }

        location = /nothing {
            return 200 "static\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT1%%;

        persona_cookie pid max_age=30d domain=example.org path=/shop
                       samesite=strict secure=on;

        location / {
            return 200 "id=$persona_id\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;

        persona_consent $cookie_consent;

        location / {
            return 200 "id=$persona_id hero=$persona_variant_hero\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT4%% ssl;
        ssl_certificate %%DIR%%/cert.pem;
        ssl_certificate_key %%DIR%%/key.pem;

        location / {
            return 200 "id=$persona_id\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT3%%;

        persona_cookie off;

        location / {
            return 200 "id=$persona_id hero=$persona_variant_hero\n";
        }
    }
CONF

$t->start;

my $hex32 = qr/^[0-9a-f]{32}$/;

sub cookies {
    my ($res) = @_;
    return @{ $res->{headers}{'set-cookie'} // [] };
}

# a new visitor

my $res = $t->request(GET => '/id');
my @c = cookies($res);
is(scalar @c, 1, 'new visitor: one Set-Cookie');
my ($id) = ($c[0] // '') =~ /^persona=([0-9a-f]+);/;
like($id // '', $hex32, 'new id: 128 random bits in hex');
like($c[0] // '', qr/; Max-Age=31536000(;|$)/, 'default Max-Age one year');
like($c[0] // '', qr/; Path=\/(;|$)/, 'Path=/');
like($c[0] // '', qr/; HttpOnly(;|$)/, 'HttpOnly');
like($c[0] // '', qr/; SameSite=Lax(;|$)/, 'SameSite=Lax');
unlike($c[0] // '', qr/Secure/, 'no Secure over http');
like($res->{body}, qr/^id=\Q$id\E hero=[ab]$/m, 'the id is $persona_id');

my $other = $t->request(GET => '/id');
my ($id2) = (cookies($other))[0] =~ /^persona=([0-9a-f]+);/;
isnt($id2, $id, 'two new visitors get two ids');

# a returning visitor

$res = $t->request(GET => '/id', headers => { Cookie => "persona=$id" });
is(scalar cookies($res), 0, 'known cookie: no Set-Cookie');
like($res->{body}, qr/^id=\Q$id\E /, 'known cookie: same id');

my $hero = ($t->request(GET => '/id', headers => { Cookie => "persona=$id" })
    ->{body} =~ /hero=(\w+)/)[0];
for (1 .. 10) {
    $res = $t->request(GET => '/id', headers => { Cookie => "persona=$id" });
    my ($h) = $res->{body} =~ /hero=(\w+)/;
    fail("variant changed for the same cookie") if $h ne $hero;
}
pass('same cookie, same variant, over 10 requests');

# cookies the module could not have produced are replaced, never reflected

for my $bad ('abc', uc($id), $id . '0', substr($id, 1) . 'g',
    '"' . substr($id, 2) . '"', 'x' x 5000, "$id,x", '../../etc/passwd',
    '%00' x 10, "<script>")
{
    my $r = $t->request(GET => '/id',
        headers => { Cookie => "persona=$bad; other=1" });
    my @sc = cookies($r);
    my $label = length($bad) > 40 ? 'x' x 10 . '...' : $bad;
    is($r->{status}, 200, "bad cookie \"$label\": 200");
    is(scalar @sc, 1, "bad cookie \"$label\": replaced");
    my ($new) = ($sc[0] // '') =~ /^persona=([^;]*)/;
    like($new // '', $hex32, "bad cookie \"$label\": new valid id");
    unlike($r->{body}, qr/\Q$bad\E/, "bad cookie \"$label\": not reflected")
        if length $bad > 3;
}

# persona_id comes first

$res = $t->request(GET => '/id',
    headers => { 'X-User-Id' => 'crm-42', Cookie => "persona=$id" });
like($res->{body}, qr/^id=crm-42 /, 'persona_id header beats the cookie');
is(scalar cookies($res), 0, 'no cookie for an id from persona_id');

$res = $t->request(GET => '/id?pid=email-7');
like($res->{body}, qr/^id=email-7 /, 'second persona_id variable');
is(scalar cookies($res), 0, 'no cookie for an id from an email link');

$res = $t->request(GET => '/id?pid=email-7',
    headers => { 'X-User-Id' => 'crm-42' });
like($res->{body}, qr/^id=crm-42 /, 'persona_id variables tried in order');

$res = $t->request(GET => '/id', headers => { 'X-User-Id' => 'x' x 300 });
like($res->{body}, qr/^id=[0-9a-f]{32} /, 'oversized persona_id ignored');

# internal redirects: one id, one Set-Cookie

for my $uri ('/', '/redirect', '/missing', '/try') {
    $res = $t->request(GET => $uri);
    @c = cookies($res);
    is(scalar @c, 1, "$uri: exactly one Set-Cookie");
    my ($cid) = ($c[0] // '') =~ /^persona=([0-9a-f]{32});/;
    my $body_id = ($res->{body} =~ /id=(\w+)/)[0]
        // ($res->{headers}{'x-id'} // [])->[0] // '';
    is($body_id, $cid // 'none', "$uri: the cookie carries the id used")
        if $uri ne '/try';
}

$res = $t->request(GET => '/');
is(($res->{headers}{'x-id'} // [])->[0],
    ((cookies($res))[0] =~ /^persona=(\w+)/)[0],
    'index redirect: the id after the redirect is the cookie\'s');

$res = $t->request(GET => '/nothing');
is(scalar cookies($res), 0, 'no cookie when nothing needs the visitor');

# cookie attributes

$res = $t->request(GET => '/', port => $t->port(1));
@c = cookies($res);
is(scalar @c, 1, 'persona_cookie pid: one cookie');
like($c[0] // '', qr/^pid=[0-9a-f]{32}; /, 'cookie name');
like($c[0] // '', qr/; Max-Age=2592000(;|$)/, 'max_age=30d');
like($c[0] // '', qr/; Domain=example\.org(;|$)/, 'domain');
like($c[0] // '', qr/; Path=\/shop(;|$)/, 'path');
like($c[0] // '', qr/; SameSite=Strict(;|$)/, 'samesite=strict');
like($c[0] // '', qr/; Secure(;|$)/, 'secure=on');

# secure=auto: Secure over https only

$res = $t->request(GET => '/', port => $t->port(4), ssl => 1);
@c = cookies($res);
is(scalar @c, 1, 'https: one cookie');
like($c[0] // '', qr/; Secure(;|$)/, 'https: Secure (secure=auto)');
like($c[0] // '', qr/; HttpOnly; SameSite=Lax/, 'https: HttpOnly, Lax');

# consent and Global Privacy Control

$res = $t->request(GET => '/', port => $t->port(2));
is(scalar cookies($res), 0, 'no consent: no cookie');
is($res->{body}, "id= hero=\n", 'no consent: no id, no experiment');

$res = $t->request(GET => '/', port => $t->port(2),
    headers => { Cookie => 'consent=0' });
is(scalar cookies($res), 0, 'consent=0: no cookie');

$res = $t->request(GET => '/', port => $t->port(2),
    headers => { Cookie => 'consent=1' });
is(scalar cookies($res), 1, 'consent: cookie');
like($res->{body}, qr/^id=[0-9a-f]{32} hero=[ab]$/m, 'consent: id, variant');

$res = $t->request(GET => '/', port => $t->port(2),
    headers => { Cookie => 'consent=1', 'Sec-GPC' => '1' });
is(scalar cookies($res), 0, 'Sec-GPC: 1 wins over consent: no cookie');
is($res->{body}, "id= hero=\n", 'Sec-GPC: 1: no id, no experiment');

$res = $t->request(GET => '/id', headers => { 'Sec-GPC' => '1' });
is(scalar cookies($res), 0, 'Sec-GPC: 1 without persona_consent');

$res = $t->request(GET => '/', port => $t->port(3));
is(scalar cookies($res), 0, 'persona_cookie off: no cookie');
is($res->{body}, "id= hero=\n", 'persona_cookie off, no persona_id: no id');

$t->stop;

done_testing;
