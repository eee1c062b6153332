# One visitor's journey as a browser makes it, every cookie the module
# sets kept in a jar and sent back: an anonymous page, an email click with
# a signed link (persist), two pages (one of them an error page a filter
# finalizes), a login by a signed header, a purchase.  One id per stage,
# chained by anonymous_id; the sticky experiment's variant on every page
# and in the conversion; one exposure per experiment and page; the
# conversion under the logged-in id with the email as channel of entry.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::Sign;

use JSON::PP;

my $t = Persona::Test->new;

my $key = 'j' x 40;

$t->write_file('persona.key', $key);
$t->write_file('html/index.html',
    "<p><!--persona:hero-->-<!--/persona:hero-->"
    . "|<!--persona:checkout-->-<!--/persona:checkout--></p>\n");
$t->write_file('html/page.html',
    "<p><!--persona:checkout-->-<!--/persona:checkout--></p>\n");
$t->write_file('html/file.txt', "some text\n" x 10);

$t->conf(<<'CONF');
    persona_key %%DIR%%/persona.key;

    persona_experiment hero {
        variant control text=control;
        variant winter  text=winter;
    }

    persona_experiment checkout {
        sticky on;
        bucket_version 1;
        variant control text=control;
        variant express text=express;
    }

    log_format exposure escape=none '$persona_exposures';
    log_format conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        listen 127.0.0.1:%%PORT1%% http2;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot checkout checkout;
        persona_id $http_x_user_id signed $arg_pid signed persist;
        persona_preview on;

        access_log %%DIR%%/exposure.log exposure if=$persona_exposed;

        location = /file.txt {
            set $v $persona_variant_checkout;
            add_header X-Checkout $v always;
        }

        location = /convert {
            persona_conversion;
            access_log %%DIR%%/conversion.log conversion
                       if=$persona_conversion;
        }
    }
CONF

$t->start;

my %jar;

sub visit {
    my ($uri, %h) = @_;
    my $cookie = join '; ', map { "$_=$jar{$_}" } sort keys %jar;
    $h{Cookie} = $cookie if length $cookie;
    my $res = $t->request(GET => $uri, headers => \%h);
    for ($res->header_values('Set-Cookie')) {
        my ($n, $v) = /^([^=]+)=([^;]*)/ or next;
        if (/Max-Age=0\b/) {
            delete $jar{$n};
        } else {
            $jar{$n} = $v;
        }
    }
    return $res;
}

sub checkout_of {
    my ($body) = @_;
    return $body =~ /(control|express)<\/p>/ ? $1 : '';
}

# an anonymous visitor, then an email click, with an anonymous cookie
# whose checkout variant is not the one alice's id hashes to

my ($anon, $kept);
for my $k (1 .. 64) {
    %jar = ();
    my $res = visit('/page.html');
    my $v = checkout_of($res->{body});
    my $res2 = $t->request(GET => '/page.html',
        headers => { 'X-User-Id' => signed_id($key, 'alice') });
    next if checkout_of($res2->{body}) eq $v;
    ($anon, $kept) = ($jar{persona}, $v);
    last;
}
ok($anon && $kept, 'an anonymous visitor in the variant alice is not in')
    or BAIL_OUT('no such visitor');
ok($jar{persona_sticky}, 'the anonymous page keeps the variant');

$t->write_file('exposure.log', '');

my $link = signed_id($key, 'alice', time + 86400);

my @seen;
my $res = visit("/?pid=$link&utm_medium=email&utm_source=newsletter");
push @seen, checkout_of($res->{body});
like($jar{persona} // '', qr/\./, 'the email click: a persisted cookie');
is($jar{persona_entry}, 'email', 'and the channel of entry');

$res = visit('/page.html', Referer => 'http://localhost/');
push @seen, checkout_of($res->{body});

$res = visit('/file.txt', Range => 'bytes=100000-',
    Referer => 'http://localhost/');
is($res->{status}, 416, 'an error page in the middle of the visit');
is($res->header("X-Checkout"), $kept,
    'it uses the kept variant');

my $login = signed_id($key, 'u-1001');

$res = visit('/page.html', 'X-User-Id' => $login,
    Referer => 'http://localhost/');
push @seen, checkout_of($res->{body});

$res = visit('/convert?goal=purchase&value=30', 'X-User-Id' => $login,
    Referer => 'http://localhost/');
is($res->{status}, 204, 'the purchase');

is_deeply(\@seen, [ ($kept) x 3 ], "every page: the kept $kept");
ok($jar{persona} && $jar{persona_sticky} && $jar{persona_entry},
    'the jar still has the visitor, sticky and entry cookies');

# the events

my @exp = map { decode_json($_) } grep { /\S/ }
    split /\n/, $t->read_file('exposure.log');
my @conv = map { decode_json($_) } grep { /\S/ }
    split /\n/, $t->read_file('conversion.log');

my %per;
$per{"$_->{request_id} $_->{experiment}"}++ for @exp;
ok(!grep({ $_ != 1 } values %per),
    'one exposure per experiment and request');

my @co = grep { $_->{experiment} eq 'checkout' } @exp;
is(scalar @co, 4, 'checkout: an exposure on each of the four pages');
is_deeply([ map { $_->{variant} } @co ], [ ($kept) x 4 ],
    'every checkout exposure: the kept variant');
is_deeply([ map { $_->{id} } @co ], [ qw(alice alice alice u-1001) ],
    'the link id, then the login id');
is_deeply([ map { $_->{anonymous_id} // '' } @co ],
    [ $anon, $anon, $anon, 'alice' ],
    'each stage names the id it replaced');

is(scalar @conv, 1, 'one conversion');
is($conv[0]{id}, 'u-1001', 'the conversion: the logged-in id');
is($conv[0]{anonymous_id}, 'alice', 'with the id it replaced');
is($conv[0]{assignments}{checkout}, $kept, 'and the kept variant');
is($conv[0]{entry_channel}, 'email', 'entered by the email');

# the email click landing on an error page a filter finalizes (416, 412),
# over HTTP/1.1 and HTTP/2: every cookie of the click is still set

my $preview = preview_token($key, host => 'localhost',
    expires => time + 3600, set => [ 'checkout:express' ]);

for my $case (map { my $p = $_; map { [ $p, @$_ ] }
    [ 416, Range => 'bytes=100000-' ], [ 412, 'If-Match' => '"x"' ] }
    [ 'HTTP/1.1' ], [ 'HTTP/2', http => '2', port => $t->port(1) ])
{
    my ($p, $status, $h, $hv) = @$case;
    my ($proto, %o) = @$p;

    $res = $t->request(GET => "/file.txt?pid=$link&utm_medium=email", %o,
        headers => { $h => $hv });
    is($res->{status}, $status, "$proto $status");
    my %set = map { /^([^=]+)=([^;]*)/ ? ($1 => $2) : () }
        $res->header_values('Set-Cookie');
    like($set{persona} // '', qr/\./, "$proto $status: the persisted id");
    ok($set{persona_sticky}, "$proto $status: the sticky cookie");
    is($set{persona_entry}, 'email', "$proto $status: the channel of entry");

    $res = $t->request(GET => "/file.txt?persona_preview=$preview", %o,
        headers => { $h => $hv, Cookie => "persona=$anon" });
    %set = map { /^([^=]+)=([^;]*)/ ? ($1 => $2) : () }
        $res->header_values('Set-Cookie');
    is($set{persona_preview}, $preview, "$proto $status: the preview cookie");
    is(join('|', $res->header_values('Cache-Control')), 'no-store',
        "$proto $status: one Cache-Control, no-store");
}

$t->check_error_log;

done_testing;
