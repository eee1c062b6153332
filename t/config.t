# Invalid configurations fail "nginx -t" with file:line and a message in
# nginx's style; valid ones pass.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my @cases = (
    [ 'weights not summing to 100%', <<'C', qr/variant weights of "hero" sum to 90%, must be 100% in \S+nginx\.conf:\d+/ ],
persona_experiment hero { variant a 50%; variant b 40%; }
C
    [ 'weights with decimals', <<'C', qr/variant weights of "hero" sum to 99\.99%, must be 100%/ ],
persona_experiment hero { variant a 33.33%; variant b 33.33%; variant c 33.33%; }
C
    [ 'weights given for some variants only', <<'C', qr/variant weights of "hero" are given for 1 of 2 variants/ ],
persona_experiment hero { variant a 50%; variant b; }
C
    [ 'duplicate variant', <<'C', qr/duplicate variant "a" in experiment "hero" in \S+:\d+/ ],
persona_experiment hero { variant a; variant a; }
C
    [ 'duplicate experiment', <<'C', qr/duplicate experiment "hero", first defined in \S+:\d+ in \S+:\d+/ ],
persona_experiment hero { variant a; }
persona_experiment hero { variant b; }
C
    [ 'bad percentage', <<'C', qr/invalid weight "5o%" of variant "a"/ ],
persona_experiment hero { variant a 5o%; variant b 50%; }
C
    [ 'too many decimals', <<'C', qr/invalid weight "33.333%" of variant "a"/ ],
persona_experiment hero { variant a 33.333%; variant b 66.667%; }
C
    [ 'traffic over 100%', <<'C', qr/invalid traffic "120%"/ ],
persona_experiment hero { traffic 120%; variant a; }
C
    [ 'unknown hash version', <<'C', qr/unknown hash version "3", must be 1 or 2/ ],
persona_experiment hero { hash_version 3; variant a; }
C
    [ 'unknown hash', <<'C', qr/unknown hash "md5"/ ],
persona_experiment hero { hash md5; variant a; }
C
    [ 'unknown option', <<'C', qr/unknown directive "colour" in experiment "hero"/ ],
persona_experiment hero { colour red; variant a; }
C
    [ 'empty experiment', <<'C', qr/experiment "hero" has no variants in \S+:\d+/ ],
persona_experiment hero { }
C
    [ 'layer range outside 0-100%', <<'C', qr/invalid layer range "50% 120%" of experiment "hero"/ ],
persona_experiment hero { layer home 50% 120%; variant a; }
C
    [ 'empty layer range', <<'C', qr/invalid layer range "50% 50%"/ ],
persona_experiment hero { layer home 50% 50%; variant a; }
C
    [ 'invalid experiment name', <<'C', qr/invalid experiment name "he-ro"/ ],
persona_experiment he-ro { variant a; }
C
    [ 'invalid variant parameter', <<'C', qr/invalid parameter "colour=red" of variant "a"/ ],
persona_experiment hero { variant a colour=red; }
C
    [ 'split_clients with 3 equal shares', <<'C', qr/give weights explicitly/ ],
persona_experiment hero { hash split_clients; variant a; variant b; variant c; }
C
    [ 'invalid cookie name', <<'C', qr/invalid cookie name "p;d"/ ],
persona_cookie "p;d";
C
    [ 'invalid cookie attribute', <<'C', qr/invalid parameter "colour=red"/ ],
persona_cookie pid colour=red;
C
    [ 'invalid samesite', <<'C', qr/invalid parameter "samesite=often"/ ],
persona_cookie pid samesite=often;
C
    [ 'samesite=none without secure', <<'C', qr/"samesite=none" requires "secure=on"/ ],
persona_cookie pid samesite=none;
C
    [ 'invalid max_age', <<'C', qr/invalid parameter "max_age=forever"/ ],
persona_cookie pid max_age=forever;
C
    [ 'missing fragment file', <<'C', qr/open\(\) fragment "\S+nonexistent.html" failed/ ],
persona_experiment hero { variant a fragment=nonexistent.html; }
C
    [ 'unknown slot target', <<'C', qr/unknown experiment or content "nope" in slot "hero" in \S+:\d+/ ],
server { listen 127.0.0.1:%%PORT0%%; persona on; persona_slot hero nope; }
C
    [ 'bad schedule', <<'C', qr/invalid schedule "2026-13-01 2027-01-01" of experiment "hero"/ ],
persona_experiment hero { schedule 2026-13-01 2027-01-01; variant a; }
C
    [ 'schedule ending before it starts', <<'C', qr/schedule of experiment "hero" ends before it starts/ ],
persona_experiment hero { schedule 2027-01-01 2026-12-01T00:00Z; variant a; }
C
);

for my $case (@cases) {
    my ($name, $conf, $re) = @$case;

    my $t = Persona::Test->new;
    $t->conf($conf);

    my ($rc, $out) = $t->nginx_t;

    isnt($rc, 0, "$name: nginx -t fails");
    like($out, qr/\[emerg\]/, "$name: at emerg level");
    like($out, $re, "$name: message") or diag($out);
}

# the same directives, correct, pass

my $t = Persona::Test->new;
$t->write_file('fragments/a.html', "<b>a</b>\n");
$t->conf(<<'C');
persona_cookie pid max_age=365d domain=example.org path=/ samesite=none
               secure=on;
persona_experiment hero {
    traffic 80%;
    seed winter-2026;
    hash_version 1;
    layer home 0% 50%;
    schedule 2026-12-01T00:00Z 2027-01-15T00:00:00Z;
    variant control 33.34%;
    variant a 33.33% fragment=fragments/a.html;
    variant b 33.33% text='<i>b</i> and more';
}
persona_experiment sc { hash split_clients; variant a 0.01%; variant b 99.99%; }
server {
    listen 127.0.0.1:%%PORT0%%;
    persona on;
    persona_slot hero hero;
}
C
my ($rc, $out) = $t->nginx_t;
is($rc, 0, 'a correct configuration passes nginx -t') or diag($out);

done_testing;
