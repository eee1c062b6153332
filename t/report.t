# scripts/persona-report on synthetic logs with a known effect and a
# deliberate sample ratio mismatch: counts from an independent
# attribution here, statistics from scipy, and the SQL of docs/analysis.md
# run by a PostgreSQL server started by the test.

use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/..";
my $report = "$root/scripts/persona-report";
my $dir = tempdir('persona-report-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# --- synthetic logs -------------------------------------------------------

# a small deterministic generator, so that the test needs no modules
my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; $seed / 2147483648 }

sub ts {
    my ($s) = @_;
    my @t = gmtime(1796083200 + int $s);
    return sprintf '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900,
        $t[4] + 1, $t[3], $t[2], $t[1], $t[0], int(($s - int $s) * 1000);
}

my @lines;

sub event { push @lines, encode_json({ @_ }) }

my %rate = (control => 0.10, winter => 0.12);

for my $i (1 .. 20000) {
    my $id = "v$i";
    my $t = rnd() * 86400;
    my $var = rnd() < 0.5 ? 'control' : 'winter';
    my $seg = rnd() < 0.3 ? ['mobile'] : [];

    # some conversions come before the visitor ever saw the experiment
    if (rnd() < 0.02) {
        event(ts => ts($t - 100), event => 'conversion', id => $id,
            goal => 'purchase', value => 10);
    }

    event(ts => ts($t), event => 'exposure', id => $id,
        experiment => 'hero', variant => $var, segments => $seg,
        country => 'FR', device => 'desktop', channel => 'email',
        uri => '/', request_id => sprintf('%032x', $i));

    # a second exposure, sometimes (the same variant)
    event(ts => ts($t + 50), event => 'exposure', id => $id,
        experiment => 'hero', variant => $var, segments => $seg,
        country => 'FR', device => 'desktop', channel => 'direct',
        uri => '/cart', request_id => sprintf('%032x', $i + 1e6))
        if rnd() < 0.2;

    if (rnd() < $rate{$var}) {
        event(ts => ts($t + 300), event => 'conversion', id => $id,
            goal => rnd() < 0.8 ? 'purchase' : 'signup',
            value => int(rnd() * 100) / 2, assignments => { hero => $var });
    }

    # a second experiment split 55/45 while configured 50/50
    event(ts => ts($t + 1), event => 'exposure', id => $id,
        experiment => 'srm', variant => rnd() < 0.55 ? 'a' : 'b',
        segments => [], country => 'DE', device => 'mobile',
        channel => 'search', uri => '/', request_id => 'x');
}

# noise the report must skip
push @lines, 'not json', '{"broken": ', '[1,2,3]';

open my $fh, '>:raw', "$dir/events.log" or die;
print $fh "$_\n" for @lines;
close $fh;

system("gzip -c $dir/events.log > $dir/events.log.gz") == 0 or die;

sub run {
    my ($args) = @_;
    my $out = `$report $args 2>$dir/stderr`;
    is($?, 0, "persona-report $args: exit 0");
    return $out;
}

sub parse_csv {
    my ($text) = @_;
    my @rows = split /\n/, $text;
    my @head = split /,/, shift @rows;
    my %r;
    for (@rows) {
        my %h;
        @h{@head} = split /,/, $_, -1;
        $r{"$h{experiment}/$h{variant}"} = \%h;
    }
    return \%r;
}

my $csv = run("--format csv $dir/events.log");
my $r = parse_csv($csv);

open my $err, '<', "$dir/stderr";
like(join('', <$err>), qr/3 of \d+ lines skipped/, 'bad lines counted');

# --- independent attribution ----------------------------------------------

my (%first, %conv);

for (@lines) {
    my $e = eval { decode_json($_) };
    next unless ref $e eq 'HASH';
    if ($e->{event} eq 'exposure') {
        my $k = "$e->{experiment}\0$e->{id}";
        $first{$k} = [ $e->{ts}, $e->{variant} ]
            if !$first{$k} || $e->{ts} lt $first{$k}[0];
    } else {
        push @{ $conv{ $e->{id} } }, $e->{ts};
    }
}

my (%n, %c);

for my $k (keys %first) {
    my ($exp, $id) = split /\0/, $k;
    my ($ts, $var) = @{ $first{$k} };
    $n{"$exp/$var"}++;
    $c{"$exp/$var"}++ if grep { $_ gt $ts } @{ $conv{$id} // [] };
}

for my $k (sort keys %n) {
    is($r->{$k}{visitors}, $n{$k}, "$k: visitors");
    is($r->{$k}{converters}, $c{$k} // 0, "$k: converters");
}

# --- statistics against scipy ---------------------------------------------

my $py = '/usr/bin/python3';

SKIP: {
    skip 'python3-scipy is not installed', 8
        if system("$py -c 'import scipy' 2>/dev/null") != 0;

    my ($nt, $ct, $nc, $cc) = ($n{'hero/winter'}, $c{'hero/winter'},
        $n{'hero/control'}, $c{'hero/control'});
    my ($na, $nb) = ($n{'srm/a'}, $n{'srm/b'});

    my $ref = `$py - <<'PY'
import math
from scipy import stats
nt, ct, nc, cc, na, nb = $nt, $ct, $nc, $cc, $na, $nb
pt, pc = ct / nt, cc / nc
se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
z = stats.norm.ppf(0.975)
pool = (ct + cc) / (nt + nc)
zz = (pt - pc) / math.sqrt(pool * (1 - pool) * (1 / nt + 1 / nc))
sel = math.sqrt((1 - pt) / ct + (1 - pc) / cc)
chi = stats.chisquare([na, nb])
hero = stats.chisquare([nt, nc])
print(pt - pc, pt - pc - z * se, pt - pc + z * se,
      pt / pc - 1, math.exp(math.log(pt / pc) - z * sel) - 1,
      math.exp(math.log(pt / pc) + z * sel) - 1,
      2 * stats.norm.sf(abs(zz)), chi.pvalue, hero.pvalue)
PY
`;
    my @want = split ' ', $ref;
    my $w = $r->{'hero/winter'};

    my @got = ($w->{abs_lift}, $w->{abs_low}, $w->{abs_high},
        $w->{rel_lift}, $w->{rel_low}, $w->{rel_high});
    my @names = qw(abs_lift abs_low abs_high rel_lift rel_low rel_high);

    for my $i (0 .. 5) {
        ok(abs($got[$i] - $want[$i]) <= 1e-6 * abs($want[$i]) + 1e-12,
            "$names[$i]: $got[$i] = scipy $want[$i]");
    }

    ok(abs($w->{p_value} - $want[6]) <= 1e-4 * $want[6] + 1e-12,
        "p-value $w->{p_value} = scipy $want[6]");
    ok(abs($r->{'srm/b'}{srm_p} - $want[7]) <= 1e-4 * $want[7] + 1e-300,
        "sample ratio p-value $r->{'srm/b'}{srm_p} = scipy $want[7]");
}

ok($r->{'hero/winter'}{p_value} < 0.05,
    'the known effect (10% -> 12%) is found');
is($r->{'srm/a'}{srm}, 1, '55/45 against 50/50: mismatch flagged');
is($r->{'hero/winter'}{srm}, 0, 'a 50/50 split: no mismatch');

my $table = run("$dir/events.log");
like($table, qr/SAMPLE RATIO MISMATCH in srm/, 'table: mismatch warning');
unlike($table, qr/MISMATCH in hero/, 'table: no warning for hero');
# the control row says so where the lifts of the others are
like($table, qr/^hero\s+control\s+\d+\s+\d+\s+[\d.]+%\s+\(control\)\s*$/m,
    'table: control row');

# configured weights change the expectation
my $wcsv = parse_csv(run("--format csv --weights srm=a:55,b:45 "
    . "$dir/events.log"));
is($wcsv->{'srm/a'}{srm}, 0, '--weights 55/45: no mismatch');

# inputs: stdin and gzip give the same numbers
is(run("--format csv - < $dir/events.log"), $csv, 'stdin');
is(run("--format csv $dir/events.log.gz"), $csv, '.gz');

# goal filter
my $g = parse_csv(run("--format csv --goal signup $dir/events.log"));
ok($g->{'hero/winter'}{converters} < $r->{'hero/winter'}{converters},
    '--goal counts only that goal');

# breakdown
my $by = run("--format csv --by segment $dir/events.log");
like($by, qr/^hero,mobile,winter,/m, '--by segment');

# html
my $html = run("--format html $dir/events.log");
like($html, qr/<svg/, 'html: a chart');
unlike($html, qr/<(script|link|img)\b|src=|href=/i,
    'html: self-contained');

# attribution: a conversion before the exposure does not count

open $fh, '>', "$dir/order.log" or die;
print $fh encode_json({ ts => ts(10), event => 'conversion', id => 'x',
    goal => 'g' }), "\n";
print $fh encode_json({ ts => ts(20), event => 'exposure', id => 'x',
    experiment => 'e', variant => 'control' }), "\n";
print $fh encode_json({ ts => ts(30), event => 'exposure', id => 'y',
    experiment => 'e', variant => 'b' }), "\n";
print $fh encode_json({ ts => ts(40), event => 'conversion', id => 'y',
    goal => 'g', value => 5 }), "\n";
close $fh;

my $o = parse_csv(run("--format csv --value $dir/order.log"));
is($o->{'e/control'}{converters}, 0, 'conversion before exposure: not counted');
is($o->{'e/b'}{converters}, 1, 'conversion after exposure: counted');
is($o->{'e/b'}{value_mean}, '5.0', '--value: value per visitor');

# --- the SQL of docs/analysis.md on PostgreSQL ------------------------------

# Only the server runs as the postgres user, in a directory of its own
# under /tmp, started from there: the checkout may be anywhere, in a
# directory postgres cannot enter (a clone in root's home, mktemp -d).
# psql is a client run as ourselves; it reads the SQL and the events.

my ($bin) = sort { $b cmp $a } glob '/usr/lib/postgresql/*/bin';

SKIP: {
    skip 'PostgreSQL server binaries are not installed', 6
        unless $bin && -x "$bin/initdb";

    my @as = $> == 0 ? ('runuser', '-u', 'postgres', '--') : ();
    my $pg = tempdir('persona-pg-XXXXXX', DIR => '/tmp', CLEANUP => 1);
    chown((getpwnam('postgres'))[2, 3], $pg) if $> == 0;

    my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
        Listen => 1);
    my $port = $sock->sockport;
    close $sock;

    my $as_pg = sub {
        my $cmd = join ' ', @_;
        return system("cd $pg && @as $cmd >> $pg/commands.log 2>&1");
    };

    $as_pg->("$bin/initdb", '-D', "$pg/data", '-A', 'trust', '-U',
        'postgres', '--no-sync') == 0
        or die "initdb failed: " . `cat $pg/commands.log`;
    $as_pg->("$bin/pg_ctl", '-D', "$pg/data", '-l', "$pg/log", '-w', '-o',
        qq{"-k $pg -p $port -c listen_addresses='' -c fsync=off"},
        'start') == 0
        or die "pg_ctl start failed: " . `cat $pg/commands.log`;

    my $stopped = 0;
    my $stop = sub {
        return if $stopped++;
        $as_pg->("$bin/pg_ctl", '-D', "$pg/data", '-m', 'fast', '-w',
            'stop');
    };
    local $SIG{__DIE__} = sub { $stop->() };

    # the SQL blocks of the documentation, as they are
    open my $doc, '<', "$root/docs/analysis.md" or die;
    my @sql = join('', <$doc>) =~ /```sql\n(.*?)```/sg;
    is(scalar @sql, 2, 'docs/analysis.md has the table and the query');

    my $copy = "\\copy persona_events (e) FROM '$dir/events.log' WITH "
        . "(FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')";

    # the noise lines are not JSON: load the events only
    open my $in, '<', "$dir/events.log";
    open my $clean, '>', "$dir/events.clean";
    print $clean grep { /^\{.*\}$/ } <$in>;
    close $clean;
    $copy =~ s/events\.log/events.clean/;

    open my $script, '>', "$dir/load.sql";
    print $script "$sql[0]\n$copy\n\\pset format unaligned\n"
        . "\\pset fieldsep ','\n\\pset footer off\n$sql[1]";
    close $script;

    my $out = `$bin/psql -X -q -v ON_ERROR_STOP=1 -h $pg -p $port -U postgres -f $dir/load.sql 2>$dir/psql.err`;
    my $psql = $?;
    $stop->();
    is($psql, 0, 'psql: exit 0') or diag(`cat $dir/psql.err`);

    my @rows = split /\n/, $out;
    my @head = split /,/, shift @rows;
    my %sql;
    for (@rows) {
        my %h;
        @h{@head} = split /,/;
        $sql{"$h{experiment}/$h{variant}"} = \%h if defined $h{variant};
    }

    is($sql{'hero/winter'}{visitors}, $r->{'hero/winter'}{visitors},
        'SQL: visitors') or diag($out);
    is($sql{'hero/winter'}{converters}, $r->{'hero/winter'}{converters},
        'SQL: converters');
    ok(abs(($sql{'hero/winter'}{abs_lift} // 0)
        - $r->{'hero/winter'}{abs_lift}) < 1e-9, 'SQL: absolute lift');
    ok(abs(($sql{'hero/winter'}{z} // 0) - $r->{'hero/winter'}{z}) < 1e-9,
        'SQL: z');
}

done_testing;
