# Signed ids: a persona_id source marked "signed" gives an id only with a
# valid HMAC by one of the persona_key keys (two, for rotation).  Unsigned,
# tampered, truncated, oversized, expired, wrongly keyed or malformed
# values are ignored as if absent, never reflected, logged at debug level
# only.  A forged header gets neither the id's variants, nor its
# exposures, nor its conversions.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::Sign;

my $t = Persona::Test->new;

my $new = 'n' x 16 . '0123456789abcdef';
my $old = 'o' x 40;
my $other = 'x' x 32;

$t->write_file('new.key', "$new\n");
$t->write_file('old.key', $old);
$t->write_file('html/index.html',
    "<p><!--persona:hero-->default<!--/persona:hero--></p>\n");

$t->conf(<<'CONF');
    persona_key %%DIR%%/new.key %%DIR%%/old.key;

    persona_experiment hero {
        variant a 50% text=A;
        variant b 50% text=B;
    }

    log_format exposure escape=none '$persona_exposures';
    log_format conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;
        error_log %%DIR%%/debug.log debug;

        persona on;
        persona_slot hero hero;
        persona_id $http_x_user_id signed $arg_pid signed;

        access_log %%DIR%%/exposure.log exposure if=$persona_exposed;

        location = /id {
            return 200 "id=$persona_id\n";
        }

        location = /convert {
            persona_conversion;
            access_log %%DIR%%/conversion.log conversion
                       if=$persona_conversion;
        }
    }
CONF

$t->start;

sub id_of {
    my (%h) = @_;
    my $uri = delete $h{uri} // '/id';
    my $res = $t->request(GET => $uri, headers => \%h);
    my ($id) = $res->{body} =~ /^id=(.*)$/m;
    return ($id // '', $res);
}

my $hex32 = qr/^[0-9a-f]{32}$/;

# accepted: either key, with or without expiry, from a header or a link

my $now = time;

for my $case ([ 'first key' => signed_id($new, 'alice') ],
    [ 'second key (rotation)' => signed_id($old, 'alice') ],
    [ 'expiring in an hour' => signed_id($new, 'alice', $now + 3600) ])
{
    my ($name, $token) = @$case;
    my ($id) = id_of('X-User-Id' => $token);
    is($id, 'alice', "signed id, $name: the id");
}

my ($id) = id_of(uri => '/id?pid=' . signed_id($new, 'bob'));
is($id, 'bob', 'signed id from a link');

($id) = id_of('X-User-Id' => signed_id($new, 'crm.42.eu'));
is($id, 'crm.42.eu', 'an id with dots: the last two dots separate');

($id) = id_of('X-User-Id' => signed_id($new, 'z' x 256));
is($id, 'z' x 256, 'an id of 256 bytes');

# the vector of docs/identity.md, and scripts/persona-sign agrees

my $doc = 'alice.0.EUBsnQAW5lTJvkfWHNojy2X_hNqopQNRXXt2KRdbkS4';
is(signed_id('0123456789abcdef0123456789abcdef', 'alice'), $doc,
    'the documented vector');

$t->write_file('doc.key', "0123456789abcdef0123456789abcdef\n");
my $script = "$Persona::Test::TDIR/../scripts/persona-sign";
is(`$script -k $t->{dir}/doc.key alice`, "$doc\n",
    'scripts/persona-sign makes the documented vector');
is(`$script -k $t->{dir}/new.key -e 1767225600 alice`,
    signed_id($new, 'alice', 1767225600) . "\n",
    'scripts/persona-sign with an expiry');
is(`printf 'alice\\nbob\\n' | $script -k $t->{dir}/new.key`,
    signed_id($new, 'alice') . "\n" . signed_id($new, 'bob') . "\n",
    'scripts/persona-sign reads ids from stdin');

# refused: as if there were no id at all, and never reflected

my $good = signed_id($new, 'alice');
my $sig = substr($good, -43);

my @bad = (
    [ 'unsigned' => 'alice' ],
    [ 'unsigned with a dot' => 'alice.0' ],
    [ 'another id under the signature' => "alicf.0.$sig" ],
    [ 'another expiry under the signature' => "alice.1.$sig" ],
    [ 'truncated signature' => substr($good, 0, -1) ],
    [ 'signature only' => $sig ],
    [ 'signature one byte longer' => $good . 'A' ],
    [ 'a key nginx does not have' => signed_id($other, 'alice') ],
    [ 'expired' => signed_id($new, 'alice', $now - 10) ],
    [ 'signed for a preview' =>
        "alice.0." . signature($new, 'preview', 'alice.0') ],
    [ 'malformed base64 signature' => 'alice.0.' . ('!' x 43) ],
    [ 'padded signature' => 'alice.0.' . substr($sig, 0, 42) . '=' ],
    [ 'leading zero in the expiry' => signed_id($new, 'alice', '00') ],
    [ 'empty id' => signed_id($new, '') ],
    [ 'oversized id' => signed_id($new, 'z' x 257) ],
    [ 'oversized value' => 'z' x 5000 ],
    [ 'binary' => "al\x01ice.0.$sig" ],
);

my $cookie_id = '5e' x 16;

for my $case (@bad) {
    my ($name, $token) = @$case;

    my ($got, $res) = id_of('X-User-Id' => $token);
    is($res->{status}, 200, "$name: 200, not an error");
    like($got, $hex32, "$name: ignored, a new visitor id instead");
    unlike($res->{raw}, qr/alice|zzzz/, "$name: not reflected");

    ($got) = id_of('X-User-Id' => $token, Cookie => "persona=$cookie_id");
    is($got, $cookie_id, "$name: the cookie's id is used");
}

# a refused source does not hide the next one

($id) = id_of(uri => '/id?pid=' . signed_id($new, 'bob'),
    'X-User-Id' => 'alice');
is($id, 'bob', 'a forged header, then a signed link: the link');

# debug level only, never the value

my $log = $t->read_file('debug.log');
like($log, qr/id from "\$http_x_user_id" is not validly signed, ignored/,
    'a debug line names the source');
like($log, qr/signed id from "\$http_x_user_id" has expired, ignored/,
    'a debug line for the expired one');
unlike($log, qr/\[(?:info|notice|warn|error)\].*not validly signed/,
    'nothing above debug level');
unlike(join("\n", grep { /persona:/ } split /\n/, $log),
    qr/alicf|\Q$sig\E/, 'the module does not log the values');

# the journey of a forged header: no variant, exposure or conversion of
# alice's

my $alice = signed_id($new, 'alice');
my $real = $t->request(GET => '/', headers => { 'X-User-Id' => $alice });
my $forged = $t->request(GET => '/', headers => { 'X-User-Id' => 'alice' });
my ($fid) = join("\n", $forged->header_values('Set-Cookie'))
    =~ /persona=([0-9a-f]{32})/;
ok($fid, 'forged header: treated as a new visitor, with a cookie');

$t->request(GET => '/convert?goal=buy', headers => { 'X-User-Id' => 'alice' });
$t->request(GET => '/convert?goal=signup',
    headers => { 'X-User-Id' => $alice });

$t->stop;

my @exp = map { $_ } split /\n/, $t->read_file('exposure.log');
is(scalar(grep { /"id":"alice"/ } @exp), 1,
    'exposures of alice: only the signed request');
is(scalar(grep { /"id":"\Q$fid\E"/ } @exp), 1,
    'the forged request logs under its own new id');

my $conv = $t->read_file('conversion.log');
unlike($conv, qr/"goal":"buy"/,
    'a forged conversion is not logged: a beacon never creates a visitor');
like($conv, qr/"id":"alice".*"goal":"signup"/, 'a signed one is');

done_testing;
