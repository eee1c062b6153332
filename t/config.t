# Invalid configurations fail "nginx -t" with file:line and a message in
# nginx's style; valid ones pass.

use strict;
use warnings;

use File::Temp ();
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

# --- mistakes a new user makes, caught by nginx -t ---

# runs nginx -t on a configuration; returns the exit code and the output
sub check_conf {
    my ($conf, %o) = @_;

    my $t = Persona::Test->new;
    $t->write_file($_, $o{files}{$_}) for keys %{ $o{files} // {} };
    $t->conf($conf);

    my ($rc, $out) = $t->nginx_t;
    return ($rc, $out, $t);
}

# both places of an overlap are named: the range refused and the one it
# overlaps, whatever the order of the experiments
{
    my ($rc, $out, $t) = check_conf(<<'C');
persona_experiment a { layer home 0% 50%; variant x; }
persona_experiment b {
    variant y;
    layer home 40% 100%;
}
C
    my $first = $t->conf_line(qr/layer home 0% 50%/);
    my $second = $t->conf_line(qr/layer home 40% 100%/);
    isnt($rc, 0, 'overlapping layer ranges: nginx -t fails');
    like($out, qr/\[emerg\] range "40% 100%" of layer "home" in experiment "b" overlaps range "0% 50%" of experiment "a" in \S+nginx\.conf:$first in \S+nginx\.conf:$second\b/,
        'overlapping layer ranges: both places named') or diag($out);
}

{
    my ($rc, $out) = check_conf(<<'C');
persona_experiment a { layer home 0% 50%; variant x; }
persona_experiment b { layer home 50% 100%; variant y; }
persona_experiment c { layer other 25% 75%; variant z; }
C
    is($rc, 0, 'adjacent ranges of a layer, and another layer, pass')
        or diag($out);
}

{
    my ($rc, $out) = check_conf(<<'C');
persona_experiment a { layer home 0% 50%; layer side 0% 50%; variant x; }
C
    like($out, qr/\[emerg\] "layer" is duplicate in experiment "a"/,
        'two layers in one experiment');
}

# a misspelt directive of an experiment block reads as nginx's own
for my $line ('layers home 0% 50%;', 'traffik 50%;', 'variants a b c;') {
    my ($name) = $line =~ /^(\w+)/;
    my ($rc, $out, $t) = check_conf("persona_experiment hero {\n"
        . "    variant a;\n    $line\n}\n");
    my $l = $t->conf_line(qr/^\s*\Q$line\E/);
    isnt($rc, 0, "\"$name\" in an experiment: nginx -t fails");
    like($out, qr/\[emerg\] unknown directive "$name" in experiment "hero" in \S+nginx\.conf:$l\b/,
        "\"$name\" in an experiment: unknown directive") or diag($out);
}

# persona_slot where persona is off: a warning, and the check passes
{
    my ($rc, $out, $t) = check_conf(<<'C');
persona_experiment hero { variant a; }
server {
    listen 127.0.0.1:%%PORT0%%;
    location / {
        persona_slot hero hero;
    }
    location /on/ {
        persona on;
        persona_slot hero hero;
    }
}
C
    my $l = $t->conf_line(qr/persona_slot hero hero/);
    is($rc, 0, 'persona_slot with persona off: nginx -t passes') or diag($out);
    like($out, qr/\[warn\] slot "hero" is not filled, "persona" is off in this location in \S+nginx\.conf:$l\b/,
        'persona_slot with persona off: warning with its place');
    is(() = $out =~ /is not filled/g, 1,
        'persona_slot with persona off: no warning where persona is on');
}

# persona_cache lists what it takes
{
    my ($rc, $out) = check_conf("persona_cache privat;\n");
    like($out, qr/\[emerg\] invalid value "privat", must be "private", "vary" or "none" in \S+nginx\.conf:\d+/,
        'invalid persona_cache value lists the values') or diag($out);
}

# an unknown variable is named with its place, in a condition, an inline
# text and a fragment; names known later (set, map) or by a prefix pass
{
    my ($rc, $out, $t) = check_conf(<<'C');
persona_segment ok '$http_x_a = 1 and $cookie_b and $arg_c and $later';
persona_segment bad '$persona_contry = FR';
server { listen 127.0.0.1:%%PORT0%%; set $later 1; }
C
    my $l = $t->conf_line(qr/persona_segment bad/);
    isnt($rc, 0, 'unknown variable in a condition: nginx -t fails');
    like($out, qr/\[emerg\] unknown "persona_contry" variable in \S+nginx\.conf:$l\b/,
        'unknown variable in a condition: named with its place') or diag($out);
    unlike($out, qr/unknown "(later|http_x_a|cookie_b|arg_c)"/,
        'variables defined later or by a prefix are known');
}

{
    my ($rc, $out, $t) = check_conf(<<'C');
persona_content greeting {
    when '$http_x_a' 'text=Hello {{$persona_cty}}';
}
C
    my $l = $t->conf_line(qr/persona_cty/);
    like($out, qr/\[emerg\] unknown "persona_cty" variable in \S+nginx\.conf:$l\b/,
        'unknown variable in a text: named with its place') or diag($out);
}

{
    my ($rc, $out, $t) = check_conf(<<'C',
persona_experiment hero {
    variant a fragment=fragments/a.html;
}
C
        files => { 'fragments/a.html' => "<b>{{ \$nope }}</b>\n" });
    my $l = $t->conf_line(qr/fragments\/a\.html/);
    like($out, qr/\[emerg\] unknown "nope" variable in fragment "\S+fragments\/a\.html" in \S+nginx\.conf:$l\b/,
        'unknown variable in a fragment: the fragment and its place')
        or diag($out);
}

# segments: a name no persona_segment defines and the CRM list does not
# know is a warning with its place; a segment without condition is one
# only the CRM list or Lua fill
{
    my ($rc, $out) = check_conf(<<'C');
persona_segment from_lua;
persona_segment both 'segment(from_lua) and $http_x_a';
C
    is($rc, 0, 'a segment without condition passes') or diag($out);
}

{
    my ($rc, $out) = check_conf(<<'C');
persona_segment from_lua;
persona_consent 'segment(from_lua)';
C
    like($out, qr/\[emerg\] segment "from_lua" has no condition and cannot be used in persona_consent/,
        'a segment without condition refused in persona_consent');
}

SKIP: {
    skip 'mdb_load not installed', 6
        if system('command -v mdb_load >/dev/null 2>&1') != 0;

    my $build = "$Persona::Test::TDIR/../scripts/persona-segments-build";
    my $t = Persona::Test->new;
    my $csv = $t->write_file('crm.csv', "alice,vip;newsletter\n");
    my $o = `$build -q $csv $t->{dir}/crm.mdb 2>&1`;
    is($?, 0, 'CRM list built') or diag($o);
    chmod 0644, "$t->{dir}/crm.mdb";

    $t->conf(<<'C');
persona_segments_db %%DIR%%/crm.mdb;
persona_experiment hero {
    target 'segment(vip) or segment(newsleter)';
    variant a;
}
C
    my ($rc, $out) = $t->nginx_t;
    my $l = $t->conf_line(qr/segment\(newsleter\)/);
    is($rc, 0, 'segment unknown to the CRM list: nginx -t passes')
        or diag($out);
    like($out, qr/\[warn\] segment "newsleter" is not defined by persona_segment and the persona_segments_db list does not know it in \S+nginx\.conf:$l\b/,
        'segment unknown to the CRM list: warning with its place');
    unlike($out, qr/segment "vip" is not defined/,
        'segment the CRM list knows: no warning');

    # a list without vocabulary (built by hand) cannot tell
    open my $ld, '|-', "mdb_load -n -T $t->{dir}/plain.mdb" or die;
    print $ld "alice\nvip\n";
    close $ld;
    is($?, 0, 'list without vocabulary built');
    chmod 0644, "$t->{dir}/plain.mdb";
    unlink "$t->{dir}/plain.mdb-lock";

    $t->conf(<<'C');
persona_segments_db %%DIR%%/plain.mdb;
persona_segment x 'segment(anything)';
C
    ($rc, $out) = $t->nginx_t;
    unlike($out, qr/\[warn\]/, 'list without vocabulary: no warning')
        or diag($out);
}

# relative paths are relative to the directory of nginx.conf, not to the
# prefix (-p): the same fragment is found with any prefix, and a file
# only under the prefix is not
{
    my $t = Persona::Test->new;
    $t->write_file('fragments/a.html', "<b>a</b>\n");
    my $other = File::Temp::tempdir('persona-prefix-XXXXXX', TMPDIR => 1,
        CLEANUP => 1);
    mkdir "$other/fragments";
    open my $fh, '>', "$other/fragments/b.html" or die;
    print $fh "<b>b</b>\n";
    close $fh;

    $t->conf("persona_experiment hero { variant a fragment=fragments/a.html; }\n");
    $t->write_conf;
    my @cmd = $t->nginx_cmd('-t');
    $cmd[2] = "$other/";
    my ($rc, $out) = Persona::Test::_run(@cmd);
    is($rc, 0, 'fragment relative to the directory of nginx.conf')
        or diag($out);

    $t->conf("persona_experiment hero { variant a fragment=fragments/b.html; }\n");
    $t->write_conf;
    ($rc, $out) = Persona::Test::_run(@cmd);
    like($out, qr/open\(\) fragment "\Q$t->{dir}\E\/fragments\/b\.html" failed/,
        'fragment not looked for under the prefix') or diag($out);
}

# slots merge across levels: a location adds to the server's slots, binds
# a name again, or unbinds one with "off"
{
    my $t = Persona::Test->new;
    $t->write_file('html/index.html',
        "<!--persona:top-->T<!--/persona:top-->"
        . "<!--persona:hero-->H<!--/persona:hero-->\n");
    $t->conf(<<'C');
persona_content top { default 'text=server-top'; }
persona_content hero { default 'text=location-hero'; }
persona_content other { default 'text=other-top'; }
server {
    listen 127.0.0.1:%%PORT0%%;
    root %%DIR%%/html;
    persona on;
    persona_slot top top;

    location = /index.html { }
    location /add/ {
        persona_slot hero hero;
        try_files /index.html =404;
    }
    location /rebind/ {
        persona_slot top other;
        try_files /index.html =404;
    }
    location /off/ {
        persona_slot top off;
        persona_slot hero hero;
        try_files /index.html =404;
    }
}
C
    $t->start;
    $t->run_blocks([
        { name => 'slots: the server slot alone', uri => '/index.html',
          body_is => "server-topH\n" },
        { name => 'slots: a location adds to the server slots',
          uri => '/add/', body_is => "server-toplocation-hero\n" },
        { name => 'slots: a location binds a name again', uri => '/rebind/',
          body_is => "other-topH\n" },
        { name => 'slots: "off" unbinds an inherited slot', uri => '/off/',
          body_is => "Tlocation-hero\n" },
    ]);
    $t->stop;
}

done_testing;
