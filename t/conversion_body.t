# Conversion beacons whatever way the client sends a small body: chunked,
# in two writes after the headers, together with headers that fill most of
# client_header_buffer_size, over HTTP/2 in one or two DATA frames.  Each
# answers 204 and logs exactly one event; a body over the limit answers
# 413 and logs none.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Persona::Test qw(wait_for);

my $t = Persona::Test->new;

$t->conf(<<'CONF');
    persona_id $http_x_user_id;

    log_format persona_conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        listen 127.0.0.1:%%PORT1%% http2;

        client_header_buffer_size 1k;

        location = /persona/convert {
            persona_conversion goals=purchase,signup;

            # the limit of a beacon body assumed here: what nginx keeps in
            # one memory buffer
            client_body_buffer_size 1k;

            access_log %%DIR%%/conversion.log persona_conversion
                       if=$persona_conversion;
        }
    }
CONF

$t->start;

sub events {
    open my $fh, '<:raw', "$t->{dir}/conversion.log" or return ();
    return map { decode_json($_) } grep { /\S/ } <$fh>;
}

my %form = ('Content-Type' => 'application/x-www-form-urlencoded');

# browser-sized headers: 750 to 1000 bytes, under the 1k header buffer,
# so that headers and body together are over it
my %browser = (%form,
    'User-Agent' => 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
        . '(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    Accept => '*/*',
    'Accept-Language' => 'fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7',
    Origin => 'https://shop.example',
    Referer => 'https://shop.example/checkout/thank-you?order=12345',
    'Sec-Fetch-Mode' => 'no-cors',
    'Sec-Fetch-Site' => 'same-origin',
    'Sec-Fetch-Dest' => 'empty',
    Cookie => 'consent=analytics; ' . join('; ',
        map { "c$_=" . ('v' x 40) } 1 .. 6));

my $beacon = 'goal=purchase&value=12.5';

# a session cookie brings the head to 1010 bytes: under 1k, with the
# body over it
{
    my ($r) = Persona::Test::_build_request(POST => '/persona/convert',
        headers => { %browser, 'X-User-Id' => 'v5' }, body => $beacon);
    my $head = index($r, "\r\n\r\n") + 4;
    $browser{Cookie} .= '; sid=' . ('s' x (1010 - $head - 6));
}

my @cases = (
    [ 'Content-Length, one write' => body => 'goal=purchase&value=12.5' ],
    [ 'chunked, one write (curl -H "Transfer-Encoding: chunked")' =>
        chunked => 1, body => 'goal=purchase&value=12.5' ],
    [ 'chunked, two chunks in two writes' =>
        chunked => 1, body => [ 'goal=purch', 'ase&value=12.5' ] ],
    [ 'body in two writes after the headers' =>
        body => [ 'goal=purch', 'ase&value=12.5' ] ],
    [ 'browser headers under client_header_buffer_size, with the body over it'
        => body => $beacon, headers => { %browser } ],
    [ 'HTTP/2, one DATA frame' =>
        http => '2', port => $t->port(1), body => 'goal=purchase&value=12.5' ],
    [ 'HTTP/2, body in two DATA frames' =>
        http => '2', port => $t->port(1),
        body => [ 'goal=purch', 'ase&value=12.5' ] ],
    [ 'HTTP/2, two DATA frames, no Content-Length' =>
        http => '2', port => $t->port(1),
        headers => { 'Content-Length' => undef },
        body => [ 'goal=purch', 'ase&value=12.5' ] ],
);

my $n = 0;

for my $c (@cases) {
    my ($name, %o) = @$c;
    $n++;

    my %h = (%form, %{ delete $o{headers} // {} }, 'X-User-Id' => "v$n");

    my $res = $t->request(POST => '/persona/convert', %o, delay => 0.1,
        headers => \%h);

    is($res->{status}, 204, "$name: 204");

    # the log line is written a moment after the response
    my @e;
    eval { wait_for("the event of v$n", 5,
        sub { @e = grep { $_->{id} eq "v$n" } events() }) };
    is(scalar @e, 1, "$name: one event");
    is($e[0] && $e[0]{goal}, 'purchase', "$name: its goal");
    is($e[0] && $e[0]{value}, 12.5, "$name: its value");
}

# too large: 413 and no event, whatever the framing

my $big = 'goal=signup&pad=' . ('x' x 3000);

for my $c (
    [ 'Content-Length' => body => $big ],
    [ 'chunked' => chunked => 1, body => [ substr($big, 0, 1500),
        substr($big, 1500) ] ],
    [ 'HTTP/2' => http => '2', port => $t->port(1), body => $big ],
    [ 'HTTP/2 without Content-Length' => http => '2', port => $t->port(1),
        headers => { 'Content-Length' => undef },
        body => [ substr($big, 0, 1500), substr($big, 1500) ] ])
{
    my ($name, %o) = @$c;
    $n++;

    my %h = (%form, %{ delete $o{headers} // {} }, 'X-User-Id' => "v$n");

    my $res = $t->request(POST => '/persona/convert', %o, delay => 0.1,
        headers => \%h);

    is($res->{status}, 413, "body over the limit, $name: 413");
    is(scalar(grep { $_->{id} eq "v$n" } events()), 0,
        "body over the limit, $name: no event");
}

$t->stop;

done_testing;
