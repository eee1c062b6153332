# nginx -t and the identity directives: persona_key and what needs it
# (signed and persisted ids, sticky experiments, previews), bucket
# versions, persona_bots, persona_preview.  Each mistake is refused with
# the file and line and a message in nginx's style; a correct
# configuration passes.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $key = "%%DIR%%/persona.key";

my @cases = (
    [ 'signed without a key', <<'C', qr/persona_id needs signed values but there is no persona_key, in \S+nginx\.conf:\d+/ ],
persona_id $http_x_user_id signed;
C
    [ 'persist without a key', <<'C', qr/persona_id needs signed values but there is no persona_key/ ],
server { listen 127.0.0.1:%%PORT0%%; persona_id $arg_pid persist; }
C
    [ 'sticky without a key', <<'C', qr/sticky needs signed values but there is no persona_key/ ],
persona_experiment hero { sticky on; variant a; }
C
    [ 'preview without a key', <<'C', qr/persona_preview needs signed values but there is no persona_key/ ],
persona_preview on;
C
    [ 'a missing key file', <<'C', qr/open\(\) "\S+nope\.key" failed .*No such file/ ],
persona_key %%DIR%%/nope.key;
C
    [ 'a short key', <<'C', qr/key file "\S+short\.key" holds 10 bytes, a key needs at least 32 in \S+:\d+/ ],
persona_key %%DIR%%/short.key;
C
    [ 'a key file too large', <<'C', qr/key file "\S+big\.key" is not a file of at most 4096 bytes/ ],
persona_key %%DIR%%/big.key;
C
    [ 'three keys', <<'C', qr/invalid number of arguments in "persona_key"/ ],
persona_key %%DIR%%/persona.key %%DIR%%/persona.key %%DIR%%/persona.key;
C
    [ 'two persona_key', <<'C', qr/"persona_key" directive is duplicate/ ],
persona_key %%DIR%%/persona.key;
persona_key %%DIR%%/persona.key;
C
    [ 'persona_key in a server', <<'C', qr/"persona_key" directive is not allowed here/ ],
server { persona_key %%DIR%%/persona.key; }
C
    [ 'signed before any variable', <<'C', qr/"signed" must follow a variable/ ],
persona_key %%DIR%%/persona.key;
persona_id signed $http_x_user_id;
C
    [ 'sticky maybe', <<'C', qr/invalid value "maybe", must be "on" or "off"/ ],
persona_key %%DIR%%/persona.key;
persona_experiment hero { sticky maybe; variant a; }
C
    [ 'bucket version not a number', <<'C', qr/invalid bucket version "v2", must be a number from 0 to 999999/ ],
persona_experiment hero { bucket_version v2; variant a; }
C
    [ 'bucket version too large', <<'C', qr/invalid bucket version "1000000"/ ],
persona_experiment hero { bucket_version 1000000; variant a; }
C
    [ 'persona_bots maybe', <<'C', qr/invalid value "maybe", must be "exclude" or "include"/ ],
persona_bots maybe;
C
    [ 'persona_bots include with a condition', <<'C', qr/"persona_bots" directive takes no condition after "include"/ ],
persona_bots include '$persona_device = bot';
C
    [ 'persona_bots with a bad condition', <<'C', qr/invalid condition "\$persona_device = = bot": unexpected "="/ ],
persona_bots exclude '$persona_device = = bot';
C
    [ 'persona_preview maybe', <<'C', qr/invalid value "maybe", must be "on" or "off"/ ],
persona_preview maybe;
C
    [ 'persona_preview bad max_age', <<'C', qr/invalid parameter "max_age=soon"/ ],
persona_key %%DIR%%/persona.key;
persona_preview on max_age=soon;
C
);

# one test directory holds the key files every case may name

my $keys = Persona::Test->new;
$keys->write_file('persona.key', 'k' x 32 . "\n");
$keys->write_file('short.key', "0123456789\n");
$keys->write_file('big.key', 'k' x 5000);

for (@cases) {
    my ($name, $conf, $re) = @$_;
    $conf =~ s/%%DIR%%/$keys->{dir}/g;

    my ($rc, $out) = Persona::Test->new->conf($conf)->nginx_t;

    ok($rc && $out =~ /\[emerg\] .*$re/, "$name: refused at emerg level")
        or diag($out);
}

# all of them, correct

my $t = Persona::Test->new;
$t->write_file('new.key', 'n' x 64 . "\r\n");
$t->write_file('old.key', 'o' x 32);
$t->conf(<<'C');
persona_key %%DIR%%/new.key %%DIR%%/old.key;
persona_id $http_x_user_id signed $arg_pid signed persist $cookie_uid signed;
persona_bots exclude '$persona_device = bot or $http_x_monitor = 1';
persona_experiment hero {
    sticky on;
    bucket_version 2;
    variant a;
    variant b;
}
server {
    listen 127.0.0.1:%%PORT0%%;
    persona on;
    persona_preview on max_age=30m;
    persona_slot hero hero;
    location /crawlers/ { persona_bots include; }
    location /private/ { persona_preview off; persona_id off; }
}
C
my ($rc, $out) = $t->nginx_t;
is($rc, 0, 'a correct configuration passes nginx -t') or diag($out);

done_testing;
