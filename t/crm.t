# CRM segment lists: a million ids built by scripts/persona-segments-build,
# looked up through nginx, and the file replaced under traffic.

use strict;
use warnings;

use FindBin;
use Test::More;
use Persona::Test;
use Time::HiRes qw(time);

my $t = Persona::Test->new(workers => 2);

my $build = "$FindBin::Bin/../scripts/persona-segments-build";
my $csv = "$t->{dir}/crm.csv";

open my $fh, '>', $csv or die;
print $fh "id,segments\n";
for my $i (1 .. 1_000_000) {
    my @s;
    push @s, 'vip' if $i % 10 == 0;
    push @s, 'newsletter' if $i % 3 == 0;
    push @s, 'churn-risk' if $i % 7 == 0;
    print $fh "user$i,", join(';', @s), "\n";
}
close $fh;

my $start = time;
my $out = `$build -q $csv $t->{dir}/crm.mdb 2>&1`;
is($?, 0, 'segment store built') or diag($out);
diag(sprintf 'built 1,000,000 ids in %.1f s', time - $start);
chmod 0644, "$t->{dir}/crm.mdb";

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_segments_db %%DIR%%/crm.mdb reload=100ms;
    persona_segment big '$http_x_basket > 100';

    persona_experiment vip_offer {
        target 'segment(vip)';
        variant a;
        variant b;
    }

    server {
        listen 127.0.0.1:%%PORT0%%;

        location / {
            return 200 "segments=$persona_segments vip=$persona_variant_vip_offer\n";
        }
    }
CONF

$t->start;

sub segs {
    my ($id, %h) = @_;
    my $body = $t->request(GET => '/',
        headers => { 'X-User-Id' => $id, %h })->{body};
    return $body =~ /segments=(\S*)/ ? $1 : undef;
}

# segments the configuration names come first (vip, used by a target),
# then the others of the export, sorted
is(segs('user30'), 'vip,newsletter', 'CRM segments of an id');
is(segs('user21'), 'churn-risk,newsletter', 'another id');
is(segs('user1'), '', 'an id without segments');
is(segs('nobody'), '', 'an unknown id');
is(segs('user70', 'X-Basket' => 500), 'big,vip,churn-risk',
    'defined segments first, then the CRM ones');
like($t->request(GET => '/', headers => { 'X-User-Id' => 'user10' })->{body},
    qr/vip=[ab]$/m, 'a CRM segment targets an experiment');
like($t->request(GET => '/', headers => { 'X-User-Id' => 'user11' })->{body},
    qr/vip=$/m, 'not in the CRM segment: not targeted');

my $bad = 0;
for my $i (map { $_ * 9973 % 1_000_000 + 1 } 1 .. 300) {
    my @want;
    push @want, 'vip' if $i % 10 == 0;
    push @want, 'churn-risk' if $i % 7 == 0;
    push @want, 'newsletter' if $i % 3 == 0;
    $bad++ if segs("user$i") ne join(',', @want);
}
is($bad, 0, '300 ids spread over the million: all as exported');

# replaced under traffic

open $fh, '>', $csv or die;
print $fh "user1,gold\nuser30,gold\n";
close $fh;

system("$build -q $csv $t->{dir}/crm.mdb") == 0 or die;

my ($failed, $new) = (0, 0);
my $deadline = time + 10;

while (time < $deadline) {
    my $r = $t->request(GET => '/', headers => { 'X-User-Id' => 'user30' });
    $failed++ if $r->{status} != 200;
    my ($s) = $r->{body} =~ /segments=(\S*)/;
    $s //= '?';
    $failed++ unless $s eq 'gold' || $s eq 'vip,newsletter';
    $new++ if $s eq 'gold';
    last if $new >= 20;
}

is($failed, 0, 'no failed or torn answer during the replacement');
ok($new >= 20, 'the new list is used');

# each worker loads it on its own timer (later under valgrind)
eval {
    Persona::Test::wait_for('both workers to load the new list', 10, sub {
        my %pid = map { $_ => 1 } $t->error_log
            =~ /\] (\d+)#\d+: persona: segments database "[^"]*" reloaded/g;
        return keys %pid >= 2;
    });
};
is(segs('user1'), 'gold', 'new data for another id');
is(segs('user21'), '', 'ids gone from the export are gone');

$t->stop;

# a file that is not LMDB is refused by nginx -t

my $bt = Persona::Test->new;
$bt->write_file('bad.mdb', 'x' x 10000);
$bt->conf("persona_segments_db %%DIR%%/bad.mdb;\n");
my ($rc, $msg) = $bt->nginx_t;
isnt($rc, 0, 'not an LMDB file: nginx -t fails');
like($msg, qr/persona_segments_db ".*bad\.mdb" cannot be used in \S+:\d+/,
    'not an LMDB file: message') or diag($msg);

done_testing;
