# Variant assignment through a real nginx: agreement with an independent
# implementation of the GrowthBook hashes, weights, traffic, layers,
# split_clients compatibility, stability across workers and reloads.

use strict;
use warnings;

use Test::More;
use Persona::Test;
use Persona::GrowthBook qw(v1 v2 choose);

my $t = Persona::Test->new(workers => 2);

$t->conf(<<'CONF');
    persona_id $http_x_user_id;

    persona_experiment hero {
        variant control 50%;
        variant winter  30%;
        variant summer  20%;
    }

    persona_experiment eq3 {
        variant a;
        variant b;
        variant c;
    }

    persona_experiment v1 {
        hash_version 1;
        seed s1;
        traffic 80%;
        variant a 50%;
        variant b 50%;
    }

    persona_experiment nobody {
        traffic 0%;
        variant a;
        variant b;
    }

    persona_experiment left {
        layer home 0% 50%;
        variant a;
        variant b;
    }

    persona_experiment right {
        layer home 50% 100%;
        variant a;
        variant b;
    }

    persona_experiment sc {
        hash split_clients;
        seed hero;
        variant a 50%;
        variant b 30%;
        variant c 20%;
    }

    split_clients "${http_x_user_id}hero" $split {
        50% a;
        30% b;
        20% c;
    }

    server {
        listen 127.0.0.1:%%PORT0%%;

        location / {
            return 200 "hero=$persona_variant_hero eq3=$persona_variant_eq3 v1=$persona_variant_v1 nobody=$persona_variant_nobody left=$persona_variant_left right=$persona_variant_right sc=$persona_variant_sc split=$split pid=$pid\n";
        }

        location /all {
            return 200 "$persona_assignments\n";
        }
    }
CONF

$t->start;

# the reference: GrowthBook's JS SDK (t/lib/Persona/GrowthBook.pm)

is(v2('seed', 'a'), 0.0505, 'reference implementation agrees with a vector');

my (%count, %mismatch, $both, $v1_out, %pids);
my $ids = 10000;

for my $k (1 .. $ids) {
    my $id = "user$k";
    my $res = $t->request(GET => '/', headers => { 'X-User-Id' => $id });
    my %v = $res->{body} =~ /(\w+)=(\w*)/g;
    $pids{$v{pid} // ''}++;

    my $want = (qw(control winter summer))
        [choose(v2('hero', $id), 1, 0.5, 0.3, 0.2)];
    $mismatch{hero}++ if ($v{hero} // '?') ne $want;
    $count{$v{hero} // '?'}++;

    my $i = choose(v2('eq3', $id), 1, (1 / 3) x 3);
    $mismatch{eq3}++ if ($v{eq3} // '?') ne (qw(a b c))[$i];

    $i = choose(v1('s1', $id), 0.8, 0.5, 0.5);
    $want = $i < 0 ? '' : (qw(a b))[$i];
    $mismatch{v1}++ if ($v{v1} // '?') ne $want;
    $v1_out++ if ($v{v1} // '?') eq '';

    $mismatch{nobody}++ if ($v{nobody} // '?') ne '';

    my $layer = v1('__home', $id);
    $mismatch{left}++ if (($v{left} // '') ne '') != ($layer < 0.5);
    $mismatch{right}++ if (($v{right} // '') ne '') != ($layer >= 0.5);
    $both++ if ($v{left} // '') ne '' && ($v{right} // '') ne '';

    $mismatch{sc}++ if ($v{sc} // '?') ne ($v{split} // '!');
}

for my $e (qw(hero eq3 v1 nobody left right sc)) {
    is($mismatch{$e} // 0, 0, "$e: every one of $ids ids as the reference");
}

is($both // 0, 0, 'disjoint layer ranges never share a visitor');
ok($v1_out > 0.15 * $ids && $v1_out < 0.25 * $ids,
    "80% traffic leaves about 20% out ($v1_out)");
ok(keys %pids >= 2, 'requests were served by both workers');

# chi-square goodness of fit, 2 degrees of freedom: p > 0.001 iff x2 < 13.816

my $x2 = 0;
my %w = (control => 0.5, winter => 0.3, summer => 0.2);

for my $v (keys %w) {
    my $e = $ids * $w{$v};
    $x2 += (($count{$v} // 0) - $e) ** 2 / $e;
}

ok($x2 < 13.816, "10000 ids split 50/30/20 (chi-square $x2, p > 0.001)");

# the list of assignments, in configuration order

my $one = $t->request(GET => '/', headers => { 'X-User-Id' => 'user1' });
my %v = $one->{body} =~ /(\w+)=(\w*)/g;
my $want = join ',', map { "$_=$v{$_}" }
    grep { $v{$_} ne '' } qw(hero eq3 v1 nobody left right sc);

my $res = $t->request(GET => '/all', headers => { 'X-User-Id' => 'user1' });
is($res->{body}, "$want\n", '$persona_assignments in configuration order');

# the same id, the same variants, after a reload

my $before = $one->{body} =~ s/ pid=\d+//r;
$t->reload;
$res = $t->request(GET => '/', headers => { 'X-User-Id' => 'user1' });
is($res->{body} =~ s/ pid=\d+//r, $before, 'same variants after a reload');

$t->stop;

done_testing;
