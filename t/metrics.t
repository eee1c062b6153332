# Live metrics: persona_metrics serves the Prometheus text format from a
# shared memory zone; counters are the events of the logs, summed over
# workers, kept across a reload; the module's health (databases, filter
# bailouts) is there too.  A real Prometheus server (Debian's package)
# scrapes the endpoint, and its query API returns the expected counts.

use strict;
use warnings;

use FindBin;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep);
use Persona::Test;
use Persona::MMDB;

my $prometheus = '/usr/bin/prometheus';
my $promtool = '/usr/bin/promtool';

plan skip_all => "no $prometheus (Debian package prometheus)"
    unless -x $prometheus;

my $t = Persona::Test->new(workers => 2);

my $db = "$t->{dir}/city.mmdb";
Persona::MMDB::write_city_db($db);
chmod 0644, $db;

# a segments database, which each worker opens for itself

my $build = "$FindBin::Bin/../scripts/persona-segments-build";
$t->write_file('crm.csv', "id,segments\nknown4,vip\n");
my $out = `$build -q $t->{dir}/crm.csv $t->{dir}/crm.mdb 2>&1`;
is($?, 0, 'segments database built') or diag($out);
chmod 0644, "$t->{dir}/crm.mdb";

my $page = "<!--persona:hero-->d<!--/persona:hero-->"
    . "<!--persona:greet-->hi<!--/persona:greet-->\n";
$t->write_file('html/index.html', $page);
$t->write_file('html/big.html',
    "<!--persona:greet-->" . ('x' x 3000) . "<!--/persona:greet-->\n");

$t->backend(sub {
    return { body => $page, headers => [ 'Content-Type' => 'text/html',
        'Content-Encoding' => 'gzip' ] };
}, port => $t->port(1));

$t->conf(<<'CONF');
    persona_metrics_zone persona 1m;
    persona_geoip2 %%DIR%%/city.mmdb reload=100ms;
    persona_segments_db %%DIR%%/crm.mdb;

    persona_id $http_x_user_id;

    persona_experiment hero {
        variant control 50%;
        variant winter  50% 'text=<b>winter</b>';
    }

    persona_content greet {
        when '$http_x_tier = gold' name=gold 'text=<b>gold</b>';
    }

    log_format persona_exposure escape=none '$persona_exposures';
    log_format persona_conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot greet greet;
        persona_slot_buffer_size 1k;

        add_header X-Pid $pid;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;

        location /gz/ {
            proxy_pass http://127.0.0.1:%%PORT1%%/;
        }

        location = /persona/convert {
            persona_conversion;
            access_log %%DIR%%/conversion.log persona_conversion
                       if=$persona_conversion;
        }

        location = /persona/metrics {
            persona_metrics;
            access_log off;
        }
    }
CONF

$t->start;

sub lines {
    my ($file) = @_;
    open my $fh, '<:raw', "$t->{dir}/$file" or return ();
    return map { decode_json($_) } grep { /\S/ } <$fh>;
}

# the text format, parsed: "name{labels}" => value

sub scrape {
    my $res = $t->request(GET => '/persona/metrics');
    my %m;
    for (split /\n/, $res->{body}) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return ($res, \%m);
}

sub sum_of {
    my ($m, $re) = @_;
    my $s = 0;
    $s += $m->{$_} for grep { $_ =~ $re } keys %$m;
    return $s;
}

my ($res, $m) = scrape();
is($res->{status}, 200, 'metrics served');
like($res->header('Content-Type'), qr{^text/plain; version=0\.0\.4},
    'Prometheus text format');
is($m->{'persona_exposures_total{experiment="hero",variant="winter",'
    . 'holdout="false"}'}, 0, 'configured series are there from the start');

SKIP: {
    skip "no $promtool", 1 unless -x $promtool;
    open my $p, '|-', "$promtool check metrics >$t->{dir}/promtool.out 2>&1"
        or die;
    print $p $res->{body};
    close $p;
    is($?, 0, 'promtool check metrics finds nothing to say')
        or diag($t->read_file('promtool.out'));
}

# traffic: new visitors (the module issues their ids), known visitors,
# personalization, conversions; spread over both workers

my (%pids, @ids);

for my $k (1 .. 40) {
    my %h = $k % 4 ? () : ('X-User-Id' => "known$k");
    $h{'X-Tier'} = 'gold' if $k % 3 == 0;

    my $r = $t->request(GET => '/', headers => \%h);
    $pids{ $r->header('X-Pid') }++;

    my ($id) = map { /^persona=(\w+)/ ? $1 : () }
        $r->header_values('Set-Cookie');
    push @ids, $id // $h{'X-User-Id'};
}

for my $i (0 .. 9) {
    my $v = $i % 2 ? '&value=2.5' : '';
    $t->request(GET => "/persona/convert?goal=buy$v",
        headers => { Cookie => "persona=$ids[$i]",
                     'X-User-Id' => $ids[$i] =~ /^known/ ? $ids[$i] : '' });
}

$t->request(GET => '/persona/convert?goal=signup',
    headers => { 'X-User-Id' => 'known4' });

# filter bailouts: a compressed upstream, a default over the buffer

$t->request(GET => '/gz/', headers => { 'X-User-Id' => 'gz' });
$t->allow_log(qr/Content-Encoding/);

$t->request(GET => '/big.html', headers => { 'X-User-Id' => 'big1',
    'X-Tier' => 'gold' }) for 1 .. 2;
$t->allow_log(qr/larger than persona_slot_buffer_size/);

# the expected counts, from the logs themselves

sub expected {
    my (%x);
    for my $e (lines('exposure.log')) {
        if ($e->{experiment}) {
            $x{"exp $e->{variant}"}++;
        } else {
            $x{"content $e->{rule}"}++;
        }
    }
    for my $c (lines('conversion.log')) {
        $x{"conv $c->{goal}"}++;
        $x{"value $c->{goal}"} += $c->{value} // 0;
        $x{"conv $c->{goal} $c->{assignments}{hero}"}++
            if $c->{assignments}{hero};
    }
    return \%x;
}

# a request's events are counted, and logged, a moment after its response
# has been read: wait for the log lines, then for the metrics to follow

sub settle {
    my ($exposures, $conversions) = @_;

    Persona::Test::wait_for('the log lines', 10, sub {
        lines('exposure.log') == $exposures
            && lines('conversion.log') == $conversions;
    });

    my $x = expected();
    my $m;

    eval {
        Persona::Test::wait_for('the counters', 10, sub {
            (undef, $m) = scrape();
            sum_of($m, qr/^persona_exposures_total/) == $exposures
                && sum_of($m, qr/^persona_conversions_total/)
                   == $conversions;
        });
    };

    return ($m, $x);
}

sub check_counts {
    my ($m, $x, $when) = @_;

    for my $v (qw(control winter)) {
        is($m->{"persona_exposures_total{experiment=\"hero\",variant=\"$v\","
            . 'holdout="false"}'} // -1, $x->{"exp $v"} // 0,
            "$when: exposures of $v as logged");
        is($m->{"persona_experiment_conversions_total{experiment=\"hero\","
            . "variant=\"$v\",goal=\"buy\"}"} // 0, $x->{"conv buy $v"} // 0,
            "$when: conversions of $v as logged");
    }

    is($m->{'persona_content_exposures_total{content="greet",rule="gold",'
        . 'holdout="false"}'}, $x->{'content gold'},
        "$when: content exposures as logged");
    is($m->{'persona_conversions_total{goal="buy",entry_channel="direct",'
        . 'holdout="false"}'}, $x->{'conv buy'},
        "$when: conversions as logged");
    is($m->{'persona_conversion_value_total{goal="buy",'
        . 'entry_channel="direct",holdout="false"}'}, $x->{'value buy'},
        "$when: conversion value as logged");
    is($m->{'persona_conversions_total{goal="signup",entry_channel="direct",'
        . 'holdout="false"}'}, 1, "$when: a goal of its own");
}

# 40 pages show hero, 13 of them the gold rule; 11 conversions

($m, my $x) = settle(40 + 13, 11);

is(scalar(keys %pids), 2, 'both workers served: ' . join ' ', keys %pids);
check_counts($m, $x, 'before reload');

is($m->{'persona_filter_bailouts_total{reason="compressed"}'}, 1,
    'a compressed upstream response counted');
is($m->{'persona_filter_bailouts_total{reason="slot_too_large"}'}, 2,
    'slot defaults over the buffer counted');

my $new = sum_of($m, qr/^persona_new_visitor_exposures_total/);
is($new, 30, 'new visitors: the 30 requests without an id');
is($m->{'persona_visitors_total{holdout="false"}'}, 30,
    'visitor ids issued: the same 30');

my $srm = $m->{'persona_sample_ratio_p_value{experiment="hero"}'};
ok(defined $srm && $srm >= 0 && $srm <= 1, "sample-ratio p-value $srm");

# the same p-value as scipy's chisquare on the new visitors

SKIP: {
    my @o = map { $m->{"persona_new_visitor_exposures_total{experiment="
        . "\"hero\",variant=\"$_\"}"} } qw(control winter);
    my $py = `/usr/bin/python3 -c 'from scipy import stats; print(repr(stats.chisquare([$o[0], $o[1]])[1]))' 2>/dev/null`;
    skip 'no scipy', 1 unless $py =~ /\d/;
    chomp $py;
    ok(abs($srm - $py) <= 1e-9 * $py, "scipy agrees: $py");
}

my $dbl = "{database=\"geoip2\",path=\"$db\"}";
is($m->{"persona_database_generation$dbl"}, 1, 'database generation 1')
    or diag($res->{body});
is($m->{"persona_database_reload_failures_total$dbl"}, 0, 'no failure');
ok(defined $m->{"persona_database_age_seconds$dbl"}
    && $m->{"persona_database_age_seconds$dbl"} >= 0, 'database age');

my $crm = "{database=\"segments\",path=\"$t->{dir}/crm.mdb\"}";
is($m->{"persona_database_generation$crm"}, 1,
    'segments database: opened by both workers, one version');

# a reload keeps the counters; a new variant gets its series

my $before = $m;
$t->reload;

($res, $m) = scrape();
check_counts($m, $x, 'after reload');

for (1 .. 6) {
    $t->request(GET => '/', headers => { 'X-User-Id' => "after$_" });
}

($m, $x) = settle(40 + 13 + 6, 11);
check_counts($m, $x, 'after reload and traffic');
is(sum_of($m, qr/^persona_exposures_total\{experiment="hero"/),
    sum_of($before, qr/^persona_exposures_total\{experiment="hero"/) + 6,
    'six more exposures on top of the old counts');

# a new version of the database, then a bad one

my $tmp = "$t->{dir}/new.mmdb";
Persona::MMDB::write_city_db($tmp);
chmod 0644, $tmp;
utime time - 100, time - 100, $tmp;
rename $tmp, $db;

Persona::Test::wait_for('generation 2', 10, sub {
    (undef, $m) = scrape();
    ($m->{"persona_database_generation$dbl"} // 0) == 2;
});
pass('a new version of the database: generation 2, counted once');
ok($m->{"persona_database_age_seconds$dbl"} >= 100,
    'its age, from its modification time');

Persona::MMDB::corrupt_copy($db, "$t->{dir}/bad.mmdb", mode => 'truncate');
rename "$t->{dir}/bad.mmdb", $db;
$t->allow_log(qr/not reloaded|persona: /);

Persona::Test::wait_for('a failure', 10, sub {
    (undef, $m) = scrape();
    ($m->{"persona_database_reload_failures_total$dbl"} // 0) >= 1;
});

sleep 0.5;
(undef, $m) = scrape();
is($m->{"persona_database_reload_failures_total$dbl"}, 1,
    'a bad version counted once for both workers');
is($m->{"persona_database_generation$dbl"}, 2, 'the good one stays');

# a real Prometheus scrapes the endpoint

my $pport = free_port();
my $pdir = "$t->{dir}/prometheus";
mkdir $pdir;

$t->write_file('prometheus/prometheus.yml', <<"YML");
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: persona
    metrics_path: /persona/metrics
    static_configs:
      - targets: ['127.0.0.1:@{[ $t->port(0) ]}']
YML

my $ppid = fork // die "fork: $!";

if ($ppid == 0) {
    open STDOUT, '>', "$pdir/out.log";
    open STDERR, '>&', \*STDOUT;
    exec $prometheus, "--config.file=$pdir/prometheus.yml",
        "--storage.tsdb.path=$pdir/data",
        "--web.listen-address=127.0.0.1:$pport", '--log.level=warn';
    exit 127;
}

END {
    local $?;

    if ($ppid) {
        kill 'TERM', $ppid;
        for (1 .. 100) {
            last if waitpid($ppid, WNOHANG) == $ppid;
            sleep 0.1;
        }
    }
}

sub query {
    my ($q) = @_;
    (my $enc = $q) =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    # refused until Prometheus listens
    my $r = eval { $t->request(GET => "/api/v1/query?query=$enc",
        port => $pport, timeout => 5) };
    return undef unless $r && $r->{status} == 200;
    my $j = eval { decode_json($r->{body}) } or return undef;
    return $j->{data}{result};
}

sub value_of {
    my ($q) = @_;
    my $r = query($q) or return undef;
    return @$r ? $r->[0]{value}[1] : undef;
}

(undef, $m) = scrape();
my $total = sum_of($m, qr/^persona_exposures_total\{experiment="hero"/);

my $seen;
eval {
    Persona::Test::wait_for('Prometheus to scrape', 60, sub {
        $seen = value_of('sum(persona_exposures_total{experiment="hero"})');
        defined $seen && $seen == $total;
    });
};

is($seen, $total, "Prometheus: sum of hero exposures is $total")
    or diag($@, `cat $pdir/out.log`);
is(value_of('up{job="persona"}'), 1, 'Prometheus: the target is up');
is(value_of('persona_conversions_total{goal="buy"}'), $x->{'conv buy'},
    'Prometheus: conversions of goal buy');
is(value_of('persona_conversion_value_total{goal="buy"}'),
    $x->{'value buy'}, 'Prometheus: their value');
is(value_of('sum by (experiment) (persona_experiment_conversions_total'
    . '{experiment="hero",goal="buy"})'),
    ($x->{'conv buy control'} // 0) + ($x->{'conv buy winter'} // 0),
    'Prometheus: conversions of hero by variant, summed');
my $p = value_of('persona_sample_ratio_p_value{experiment="hero"}');
ok(defined $p && abs($p - $srm) < 1e-9, "Prometheus: the SRM gauge ($p)");
is(value_of('persona_filter_bailouts_total{reason="compressed"}'), 1,
    'Prometheus: bailouts');

$t->stop;

# nginx -t refuses a metrics location without its zone, a zone too small

for my $c (
    [ 'persona_metrics without a zone',
      "server { location /m { persona_metrics; } }\n",
      qr/"persona_metrics" needs a "persona_metrics_zone"/ ],
    [ 'a zone too small', "persona_metrics_zone m 4k;\n",
      qr/invalid zone size "4k", must be at least 32k/ ],
    [ 'two zones', "persona_metrics_zone m 1m;\npersona_metrics_zone n 1m;\n",
      qr/"persona_metrics_zone" directive is duplicate/ ])
{
    my ($name, $conf, $re) = @$c;
    my $n = Persona::Test->new;
    $n->conf($conf);
    my ($rc, $out) = $n->nginx_t;
    isnt($rc, 0, "$name: refused");
    like($out, $re, "$name: message") or diag($out);
}

my $later = Persona::Test->new;
$later->conf("server { location /m { persona_metrics; } }\n"
    . "persona_metrics_zone m 1m;\n");
my $rc;
($rc, $out) = $later->nginx_t;
is($rc, 0, 'the zone may come after the location') or diag($out);

done_testing;
