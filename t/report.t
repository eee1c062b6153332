# scripts/persona-report on synthetic logs of both event schemas with
# known effects (t/report/gen.py says which): counts against an
# attribution done here, statistics against scipy and statsmodels, a
# small log for each rule of attribution, and the SQL of docs/analysis.md
# run by a PostgreSQL server that the test starts.

use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use Cpanel::JSON::XS qw(decode_json);
use JSON::PP qw(encode_json);
use List::Util qw(max min sum);
use Test::More;

my $root = "$FindBin::Bin/..";
my $report = "$root/scripts/persona-report";
my $dir = tempdir('persona-report-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Debian's python, where python3-scipy and python3-statsmodels install
my $py = '/usr/bin/python3';
my $scipy = system("$py -c 'import scipy' 2>/dev/null") == 0;
my $statsmodels = system("$py -c 'import statsmodels' 2>/dev/null") == 0;

# the logs of the statistics, and smaller ones for the options
mkdir "$dir/small" or die;
system('python3', "$root/t/report/gen.py", $dir) == 0
    and system('python3', "$root/t/report/gen.py", "$dir/small", 3000) == 0
    or die 't/report/gen.py failed';
system("gzip -c $dir/small/events.log > $dir/small/events.log.gz") == 0
    or die;

my $logs = "$dir/events.log $dir/v1.log";
my $small = "$dir/small/events.log $dir/small/v1.log";

sub run {
    my ($args) = @_;
    my $out = `$report $args 2>$dir/stderr`;
    is($?, 0, "persona-report $args: exit 0");
    return $out;
}

sub stderr_text {
    open my $f, '<', "$dir/stderr" or return '';
    local $/;
    return <$f> // '';
}

# rows by section/experiment/group/variant (conversions: by goal/group)
sub parse_csv {
    my ($text) = @_;
    my @rows = split /\n/, $text;
    my @head = split /,/, shift @rows;
    my %r;
    for (@rows) {
        my %h;
        @h{@head} = split /,/, $_, -1;
        my $k = $h{section} eq 'conversions'
            ? "conversions/$h{goal}/$h{group}"
            : "$h{section}/$h{experiment}/$h{group}/$h{variant}";
        $r{$k} = \%h;
    }
    return \%r;
}

sub write_log {
    my ($name, @events) = @_;
    open my $fh, '>', "$dir/$name" or die;
    print $fh encode_json($_), "\n" for @events;
    close $fh;
    return "$dir/$name";
}

my $t0 = 1796083200;

sub ts {
    my ($s) = @_;
    my @t = gmtime($t0 + int $s);
    return sprintf '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900,
        $t[4] + 1, $t[3], $t[2], $t[1], $t[0],
        int(($s - int $s) * 1000 + 0.5);
}

# --- the attribution, done independently ------------------------------------

# the rules of docs/analysis.md: preview left out; ids stitched through
# anonymous_id (earliest replacement, to the end of the chain); the first
# exposure per experiment or content set; a conversion at or after it
sub attribute {
    my (@files) = @_;
    my (%alias, %preview, @events);
    for my $file (@files) {
        open my $f, '<', $file or die;
        while (<$f>) {
            my $e = eval { decode_json($_) };
            next unless ref $e eq 'HASH';
            if ($e->{preview}) {
                $preview{ $e->{event} }++;
                next;
            }
            push @events, $e;
            my $a = $e->{anonymous_id};
            next unless defined $a && $a ne '' && $a ne $e->{id};
            my $cur = $alias{$a};
            $alias{$a} = [ $e->{ts}, $e->{id} ]
                if !$cur || $e->{ts} lt $cur->[0]
                || ($e->{ts} eq $cur->[0] && $e->{id} lt $cur->[1]);
        }
    }
    my %canon;
    for my $a (keys %alias) {
        my ($cur, %seen) = ($a, $a => 1);
        while (my $n = $alias{$cur}) {
            last if $seen{ $n->[1] }++;
            $cur = $n->[1];
        }
        $canon{$a} = $cur;
    }
    my (%first, %content, %conv, @conversions);
    for my $e (@events) {
        my $id = $canon{ $e->{id} } // $e->{id};
        if ($e->{event} eq 'conversion') {
            push @{ $conv{$id} }, $e;
            push @conversions, $e;
        } elsif (defined $e->{experiment}) {
            # a visitor of the holdout saw the default: in no variant
            next if $e->{holdout};
            my $k = "$e->{experiment}\0$id";
            $first{$k} = $e if !$first{$k} || $e->{ts} lt $first{$k}{ts};
        } elsif (defined $e->{content}) {
            my $k = "$e->{content}\0$id";
            $content{$k} = $e
                if !$content{$k} || $e->{ts} lt $content{$k}{ts};
        }
    }
    return { first => \%first, content => \%content, conv => \%conv,
        conversions => \@conversions, preview => \%preview,
        stitched => scalar(keys %canon),
        ts => [ sort map { $_->{ts} } @events ] };
}

# visitors and converters per experiment/group/variant (group: a field of
# the first exposure, or '') and per content/rule/arm
sub tally {
    my ($att, $by) = @_;
    my (%n, %c, %v);
    my $converted = sub {
        my ($id, $ts) = @_;
        my @after = grep { $_->{ts} ge $ts } @{ $att->{conv}{$id} // [] };
        return (scalar(@after) ? 1 : 0, sum(0, map { $_->{value} // 0 }
            @after));
    };
    for my $k (keys %{ $att->{first} }) {
        my ($exp, $id) = split /\0/, $k;
        my $e = $att->{first}{$k};
        my ($conv, $value) = $converted->($id, $e->{ts});
        for my $g ($by ? ('(all)', $e->{$by}) : ('')) {
            my $key = "experiment/$exp/$g/$e->{variant}";
            $n{$key}++;
            $c{$key} += $conv;
            $v{$key} += $value;
        }
    }
    for my $k (keys %{ $att->{content} }) {
        my ($name, $id) = split /\0/, $k;
        my $e = $att->{content}{$k};
        my ($conv) = $converted->($id, $e->{ts});
        my $arm = $e->{holdout} ? 'holdout' : 'personalized';
        for my $g ('(all)', $e->{rule}) {
            $n{"content/$name/$g/$arm"}++;
            $c{"content/$name/$g/$arm"} += $conv;
        }
    }
    return (\%n, \%c, \%v);
}

my $att = attribute("$dir/events.log", "$dir/v1.log");
my ($n, $c, $v) = tally($att);

# --- the report's counts ----------------------------------------------------

my $csv = run("--format csv $logs");
my $r = parse_csv($csv);
my $notes = stderr_text();

for my $k (sort keys %$n) {
    is($r->{$k}{visitors}, $n->{$k}, "$k: visitors");
    is($r->{$k}{converters}, $c->{$k}, "$k: converters");
}
ok(!grep({ $_->{section} eq 'experiment' && !exists $n->{ join '/',
    @$_{qw(section experiment group variant)} } } values %$r),
    'no variant the attribution does not know');

like($notes, qr/3 of \d+ lines skipped/, 'bad lines counted');

# the logs hold what the rules are about, and the report says so
my $preview = sum(values %{ $att->{preview} });
ok($preview > 100, "the logs hold $preview preview lines");
my ($pc, $pe) = @{ $att->{preview} }{qw(conversion exposure)};
like($notes, qr/\b$preview preview lines left out \($pc conversions, $pe ex/,
    'preview lines: left out and counted');
ok(!grep({ $_->{variant} eq 'winter' && $_->{visitors} > $n->{
    'experiment/hero//winter'} } values %$r), 'preview visitors not counted');

ok($att->{stitched} > 1000, "the logs replace $att->{stitched} ids");
like($notes, qr/\b$att->{stitched} ids replaced by another/,
    'stitched ids counted');

my $same = 0;
for my $k (keys %{ $att->{first} }) {
    my ($exp, $id) = split /\0/, $k;
    my $ts = $att->{first}{$k}{ts};
    $same++ if $exp eq 'hero'
        && !grep({ $_->{ts} gt $ts } @{ $att->{conv}{$id} // [] })
        && grep({ $_->{ts} eq $ts } @{ $att->{conv}{$id} // [] });
}
ok($same > 100, "$same hero converters converted in the millisecond of "
    . 'their first exposure, and count');

# --- statistics against scipy and statsmodels -------------------------------

sub near {
    my ($got, $want, $rel, $name) = @_;
    ok(defined $got && $got ne ''
        && abs($got - $want) <= $rel * abs($want) + 1e-12,
        "$name: $got = $want");
}

SKIP: {
    skip 'python3-scipy is not installed', 10 unless $scipy;

    my $k = 'experiment/hero/';
    my ($nt, $ct, $nc, $cc) = ($n->{"$k/winter"}, $c->{"$k/winter"},
        $n->{"$k/control"}, $c->{"$k/control"});
    my @split = map { $n->{"experiment/split//$_"} } qw(big small);
    my @srm = map { $n->{"experiment/srm//$_"} } qw(a b);
    my @legacy = map { $n->{"experiment/legacy//$_"} } qw(control b);

    my @want = split ' ', `$py - <<'PY'
import math
from scipy import stats
nt, ct, nc, cc = $nt, $ct, $nc, $cc
pt, pc = ct / nt, cc / nc
se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
z = stats.norm.ppf(0.975)
pool = (ct + cc) / (nt + nc)
zz = (pt - pc) / math.sqrt(pool * (1 - pool) * (1 / nt + 1 / nc))
sel = math.sqrt((1 - pt) / ct + (1 - pc) / cc)
split = [$split[0], $split[1]]
srm = [$srm[0], $srm[1]]
print(pt - pc, pt - pc - z * se, pt - pc + z * se,
      pt / pc - 1, math.exp(math.log(pt / pc) - z * sel) - 1,
      math.exp(math.log(pt / pc) + z * sel) - 1,
      2 * stats.norm.sf(abs(zz)),
      stats.chisquare(srm, [sum(srm) / 2] * 2).pvalue,
      stats.chisquare(split, [sum(split) * 0.7, sum(split) * 0.3]).pvalue,
      stats.chisquare([$legacy[0], $legacy[1]]).pvalue)
PY
`;
    my $w = $r->{"$k/winter"};
    my @names = qw(abs_lift abs_low abs_high rel_lift rel_low rel_high);
    near($w->{ $names[$_] }, $want[$_], 1e-6, "hero $names[$_]")
        for 0 .. 5;
    near($w->{p_value}, $want[6], 1e-6, 'hero p-value');
    near($r->{'experiment/srm//b'}{srm_p}, $want[7], 1e-6,
        'sample ratio p-value of srm (weights 0.5/0.5 in the events)');
    near($r->{'experiment/split//big'}{srm_p}, $want[8], 1e-6,
        'sample ratio p-value of split (weights 0.7/0.3 in the events)');
    near($r->{'experiment/legacy//b'}{srm_p}, $want[9], 1e-6,
        'sample ratio p-value of legacy (schema 1: equal shares)');
}

# the known effects are found
ok($r->{'experiment/hero//winter'}{p_value} < 0.05,
    'hero: the lift of winter is found');
ok($r->{'experiment/checkout//new'}{p_value} > 0.01,
    'checkout: no effect, none found');
ok($r->{'content/greeting/vip/personalized'}{p_value} < 0.05,
    'greeting: rule vip lifts conversion against its holdout');
ok($r->{'content/greeting/2/personalized'}{p_value} > 0.05,
    'greeting: rule 2 does not');

# --- sample ratio: the weights of the events --------------------------------

is($r->{'experiment/split//big'}{srm}, 0,
    'split 70/30 as configured (weights in the events): no mismatch');
is($r->{'experiment/srm//a'}{srm}, 1, 'srm 55/45 against 50/50: mismatch');
is($r->{'experiment/hero//control'}{srm}, 0, 'hero 50/50: no mismatch');
my $wcsv = parse_csv(run("--format csv --weights split=big:50,small:50 "
    . $small));
is($wcsv->{'experiment/split//big'}{srm}, 1,
    '--weights overrides the weights of the events');

my $table = run($logs);
like($table, qr/SAMPLE\ RATIO\ MISMATCH\ in\ srm:\ .*
    expected\ a\ 50%,\ b\ 50%\ \(the\ weights\ in\ the\ events\)/x,
    'table: mismatch, with the shares expected and their source');
like($table, qr/^sample\ ratio\ of\ split:\ .*\ ok,\ expected\ big\ 70%,
    \ small\ 30%\ \(the\ weights\ in\ the\ events\)$/mx,
    'table: split ok against its weights');
like($table, qr/^sample ratio of legacy: .* \(equal shares\)$/m,
    'table: schema 1, equal shares');
unlike($table, qr/MISMATCH in (hero|split)/, 'table: no other mismatch');

# --- the control of each experiment -----------------------------------------

like($table, qr/^hero\s+control\s+\d+\s+\d+\s+[\d.]+%\s+\(control\)\s*$/m,
    'table: control row');
is($r->{'experiment/checkout//old'}{control}, 1,
    'checkout: variant_index 0 ("old") is the control, not "new"');
is($r->{'experiment/legacy//control'}{control}, 1,
    'schema 1: the variant named control');

my $k1 = parse_csv(run("--format csv --control checkout=new $small"));
is($k1->{'experiment/checkout//new'}{control}, 1, '--control checkout=new');
is($k1->{'experiment/hero//control'}{control}, 1, '... hero keeps its own');

my $k2 = parse_csv(run("--format csv --control b $small"));
is($k2->{'experiment/legacy//b'}{control}, 1,
    '--control b: legacy, which has a variant b');
is($k2->{'experiment/srm//b'}{control}, 1, '... and srm');
is($k2->{'experiment/hero//control'}{control}, 1,
    '... not hero, which has none');
is($k2->{'experiment/checkout//old'}{control}, 1, '... not checkout');

my $k3 = parse_csv(run("--format csv --control hero=nope $small"));
is($k3->{'experiment/hero//control'}{control}, 1,
    '--control hero=nope: hero keeps its control');
like(stderr_text(), qr/experiment "hero" has no variant "nope"/,
    '... and says so');

# --- breakdowns: Holm, and conversions by entry channel ---------------------

my ($nb, $cb) = tally($att, 'channel');
my $bycsv = run("--format csv --by channel $logs");
my $by = parse_csv($bycsv);
my @fam = grep { $_->{section} eq 'experiment' && $_->{experiment} eq 'hero'
    && $_->{group} ne '(all)' && !$_->{control} } values %$by;
is(scalar @fam, 6, 'hero by channel: 6 comparisons');
is($by->{"experiment/hero/email/winter"}{visitors},
    $nb->{"experiment/hero/email/winter"}, 'hero by channel: visitors');

# Holm, here: the i-th smallest of m p-values times m - i + 1, monotone
my @sorted = sort { $a->{p_value} <=> $b->{p_value} } @fam;
my $run = 0;
for my $i (0 .. $#sorted) {
    $run = max($run, min(1, (@sorted - $i) * $sorted[$i]{p_value}));
    near($sorted[$i]{p_holm}, $run, 1e-12,
        "Holm p of hero/$sorted[$i]{group}");
}
ok(!grep({ $_->{group} eq '(all)' && $_->{p_holm} ne '' } values %$by),
    'the (all) rows are not corrected');

SKIP: {
    skip 'python3-statsmodels is not installed', 1 unless $statsmodels;
    my @all = sort { $a->{experiment} cmp $b->{experiment}
        || $a->{group} cmp $b->{group} || $a->{variant} cmp $b->{variant} }
        grep { $_->{section} eq 'experiment' && $_->{group} ne '(all)'
            && !$_->{control} && $_->{p_value} ne '' } values %$by;
    my (%family, @order);
    for (@all) {
        push @order, $_->{experiment} unless $family{ $_->{experiment} };
        push @{ $family{ $_->{experiment} } }, $_->{p_value};
    }
    my $code = join '', map {
        "print(' '.join(repr(x) for x in multipletests(["
        . join(',', @{ $family{$_} }) . "], method='holm')[1]))\n"
    } @order;
    my @want = split ' ', `$py - <<'PY'
from statsmodels.stats.multitest import multipletests
$code
PY
`;
    my $worst = max(map { abs($all[$_]{p_holm} - $want[$_]) } 0 .. $#all);
    ok(@want == @all && $worst < 1e-12,
        scalar(@all) . " Holm p-values = statsmodels multipletests "
        . "(worst difference $worst)");
}

my $bytable = run("--by channel $logs");
like($bytable, qr/p \(Holm\)/, 'table: a Holm column with --by');
like($bytable, qr/note:\ p\ \(Holm\):\ the\ p-values\ of\ the\ channel\ rows
    \ are\ Holm-corrected\ for\ the\ comparisons\ of\ each\ experiment
    \ \(.*hero\ 6/x,
    'table: says how the p-values are corrected');

# conversions by the channel that brought the visitor
my (%entry, %beacon);
for (@{ $att->{conversions} }) {
    $entry{"$_->{goal}/" . ($_->{entry_channel} // '(unknown)')}++;
    $beacon{ $_->{channel} }++;
}
is(join(',', keys %beacon), 'direct',
    'the beacon channel of every conversion is direct');
for my $k (sort keys %entry) {
    my ($goal, $ch) = split m{/}, $k;
    is($by->{"conversions/$goal/$ch"}{conversions}, $entry{$k},
        "conversions of $goal by entry channel $ch");
}
like($bytable, qr/^conversions by entry channel/m,
    'table: conversions by entry channel');

# --- multivariate -----------------------------------------------------------

my %level;
for my $k (keys %$n) {
    next unless $k =~ m{^experiment/mvt//headline=(\w+);image=(\w+)$};
    $level{"headline/$1"}[0] += $n->{$k};
    $level{"headline/$1"}[1] += $c->{$k};
    $level{"image/$2"}[0] += $n->{$k};
    $level{"image/$2"}[1] += $c->{$k};
}
for my $k (sort keys %level) {
    is($r->{"factor/mvt/$k"}{visitors}, $level{$k}[0],
        "main effect $k: visitors");
    is($r->{"factor/mvt/$k"}{converters}, $level{$k}[1],
        "main effect $k: converters");
}
is($r->{'factor/mvt/headline/benefit'}{control}, 1,
    'reference level: that of the control cell');
my $inter = $r->{'interaction/mvt/headline x image/'};
is($inter->{df}, 1, 'interaction of a 2x2: 1 degree of freedom');
ok($inter->{p} < 0.001, "the interaction built in is found (p $inter->{p})");
like($table, qr/^interaction\ headline\ x\ image\ in\ mvt:
    \ likelihood-ratio\ chi-square\ [\d.]+,\ df\ 1/mx,
    'table: interaction test');

SKIP: {
    skip 'python3-statsmodels is not installed', 1 unless $statsmodels;
    my @cells = map { [ $_ =~ /headline=(\w+);image=(\w+)/, $n->{$_},
        $c->{$_} ] } grep { m{^experiment/mvt//} } keys %$n;
    my $data = join ',', map {
        sprintf '(%d,%d,%d,%d)', $_->[0] eq 'feature', $_->[1] eq 'drawing',
            $_->[2], $_->[3]
    } @cells;
    my $want = `$py - <<'PY'
import numpy as np, statsmodels.api as sm
from scipy import stats
cells = [$data]
x = np.array([[1, a, b] for a, b, n, c in cells], dtype=float)
y = np.array([[c, n - c] for a, b, n, c in cells], dtype=float)
main = sm.GLM(y, x, family=sm.families.Binomial()).fit()
full = sum(stats.binom.logpmf(c, n, c / n) for a, b, n, c in cells)
print(repr(2 * (full - main.llf)))
PY
`;
    chomp $want;
    near($inter->{chi2}, $want, 1e-8,
        'interaction chi-square = statsmodels GLM likelihood ratio');
}

# --- inputs, goals, formats -------------------------------------------------

my $scsv = run("--format csv $small");
is(run("--format csv - $dir/small/v1.log < $dir/small/events.log"), $scsv,
    'stdin');
is(run("--format csv $dir/small/events.log.gz $dir/small/v1.log"), $scsv,
    '.gz');

my $g = parse_csv(run("--format csv --goal signup $small"));
ok($g->{'experiment/hero//winter'}{converters}
    < parse_csv($scsv)->{'experiment/hero//winter'}{converters},
    '--goal counts only that goal');

like(run("--format csv --by segment $small"),
    qr/^experiment,hero,vip,winter,/m, '--by segment');

my $html = run("--format html --value $logs");
like($html, qr/<svg/, 'html: a chart');
like($html, qr/class='tick'>0%<.*class='tick'>5%</s, 'html: axis ticks');
like($html, qr/class='title'>conversion rate \(95% CI\)</,
    'html: axis title');
like($html, qr/from \Q$att->{ts}[0]\E to \Q$att->{ts}[-1]\E/,
    'html: the date range of the events');
like($html, qr{\Q$dir\E/events\.log: \d+ lines.*\Q$dir\E/v1\.log}s,
    'html: the inputs');
like($html, qr/purchase: \d+ conversions, signup: \d+ conversions/,
    'html: the goals in the logs');
like($html, qr/<dt>goal<\/dt><dd>any conversion/, 'html: the goal counted');
like($html, qr/<th>revenue\/visitor<\/th>/, 'html: revenue per visitor');
my $vcsv = parse_csv(run("--format csv --value $logs"));
my $rpv = sprintf '%.2f', $vcsv->{'experiment/hero//winter'}{value_mean};
near($vcsv->{'experiment/hero//winter'}{value_mean},
    $v->{'experiment/hero//winter'} / $n->{'experiment/hero//winter'}, 1e-9,
    'revenue per visitor of hero/winter');
like($html, qr{<td>winter</td>(<td>[^<]*</td>){9}<td>\Q$rpv\E</td>},
    "html: hero/winter makes $rpv per visitor");
like($html, qr/Personalization against its holdout/,
    'html: personalization');
unlike($html, qr/<(script|link|img)\b|src=|href=/i, 'html: self-contained');

# a reader that goes away: no traceback, no message
write_log('many.log', map { { v => 2, ts => ts($_), event => 'exposure',
    id => "m$_", experiment => "e$_", variant => 'a', variant_index => 0,
    weight => 1 } } 1 .. 3000);
my $first = `$report --format csv $dir/many.log 2>$dir/pipe.err | head -1`;
like($first, qr/^section,experiment,/, '| head -1: the first line');
is(-s "$dir/pipe.err" // 0, 0, '| head -1: nothing on stderr')
    or diag(`cat $dir/pipe.err`);

# --- one rule, one small log ------------------------------------------------

my %x = (v => 2, event => 'exposure', experiment => 'e', variant_index => 0,
    weight => 0.5);
my $o = parse_csv(run('--format csv --value ' . write_log('order.log',
    { v => 2, ts => ts(10), event => 'conversion', id => 'x', goal => 'g' },
    { %x, ts => ts(20), id => 'x', variant => 'a' },
    { %x, ts => ts(30), id => 'y', variant => 'b', variant_index => 1 },
    { v => 2, ts => ts(40), event => 'conversion', id => 'y', goal => 'g',
        value => 5 },
    { %x, ts => ts(50), id => 'z', variant => 'b', variant_index => 1 },
    { v => 2, ts => ts(50), event => 'conversion', id => 'z', goal => 'g',
        value => 7 })));
is($o->{'experiment/e//a'}{converters}, 0,
    'a conversion before the exposure: not counted');
is($o->{'experiment/e//b'}{converters}, 2,
    'after it, and in its very millisecond: counted');
is($o->{'experiment/e//b'}{value_mean}, '6.0', '--value: value per visitor');

# at login: the anonymous id's exposure, the user id's conversion
$o = parse_csv(run('--format csv ' . write_log('login.log',
    { %x, ts => ts(10), id => 'anon1', variant => 'a' },
    { %x, ts => ts(20), id => 'link1', anonymous_id => 'anon1',
        variant => 'b', variant_index => 1 },
    { %x, ts => ts(30), id => 'user1', anonymous_id => 'link1',
        variant => 'a' },
    { v => 2, ts => ts(40), event => 'conversion', id => 'user1',
        goal => 'g' },
    { %x, ts => ts(50), id => 'anon2', variant => 'b', variant_index => 1 })));
is($o->{'experiment/e//a'}{visitors}, 1,
    'stitched: three ids, one visitor');
is($o->{'experiment/e//a'}{converters}, 1,
    '... in the variant of the first id, converted as the last');
like(stderr_text(),
    qr/1 visitors of "e" were exposed to several variants.*2 ids replaced/s,
    '... the chain and the variants seen are noted');

# preview only: nothing counted
$o = parse_csv(run('--format csv ' . write_log('preview.log',
    { %x, ts => ts(10), id => 'p', variant => 'a', preview => JSON::PP::true },
    { %x, ts => ts(10), id => 'q', variant => 'a' },
    { v => 2, ts => ts(20), event => 'conversion', id => 'p', goal => 'g',
        preview => JSON::PP::true })));
is($o->{'experiment/e//a'}{visitors}, 1, 'preview exposure left out');
like(stderr_text(),
    qr/2 preview lines left out \(1 conversions, 1 exposures\)/,
    '... and counted');

# schema 1 alone
my $v1 = parse_csv(run("--format csv $dir/v1.log"));
is($v1->{'experiment/legacy//control'}{control}, 1, 'schema 1: control');
is($v1->{'experiment/legacy//b'}{visitors}, $n->{'experiment/legacy//b'},
    'schema 1: visitors');
is($v1->{'experiment/legacy//b'}{converters}, $c->{'experiment/legacy//b'},
    'schema 1: converters');

# --- the SQL of docs/analysis.md on PostgreSQL ------------------------------

# Only the server runs as the postgres user, in a directory of its own
# under /tmp, started from there: the checkout may be anywhere, in a
# directory postgres cannot enter (a clone in root's home, mktemp -d).
# psql is a client run as ourselves; it reads the SQL and the events.

my ($bin) = sort { $b cmp $a } glob '/usr/lib/postgresql/*/bin';

SKIP: {
    skip 'PostgreSQL server binaries are not installed', 1
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

    # the SQL blocks of the documentation, as they are: statements that
    # create, then queries, each named by its first comment line
    open my $doc, '<', "$root/docs/analysis.md" or die;
    my @sql = join('', <$doc>) =~ /```sql\n(.*?)```/sg;
    my @setup = grep { /^CREATE/m && !/^(WITH|SELECT)/ } @sql;
    my @queries = grep { /^(WITH|SELECT)/m && !/^CREATE/m } @sql;
    is(@setup + @queries, scalar @sql, 'every SQL block is one or other');

    # the lines of the logs that are events (the noise is not JSON)
    open my $clean, '>', "$dir/events.clean";
    for my $f ("$dir/events.log", "$dir/v1.log") {
        open my $in, '<', $f or die;
        print $clean grep { /^\{.*\}$/ } <$in>;
    }
    close $clean;

    my $script = join("\n", @setup)
        . "\n\\copy persona_events (e) FROM '$dir/events.clean' WITH "
        . "(FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')\n"
        . "\\pset format unaligned\n\\pset fieldsep ','\n"
        . "\\pset footer off\n";
    my @titles;
    for (@queries) {
        my ($title) = /^-- ([^:\n]+)/;
        push @titles, $title;
        $script .= "\\echo ==== $title\n$_";
    }
    open my $fh, '>', "$dir/load.sql" or die;
    print $fh $script;
    close $fh;

    my $cmd = "$bin/psql -X -q -v ON_ERROR_STOP=1 -h $pg -p $port "
        . "-U postgres -f $dir/load.sql 2>$dir/psql.err";
    my $out = `$cmd`;
    my $psql = $?;
    $stop->();
    is($psql, 0, 'psql: exit 0') or diag(`cat $dir/psql.err`);

    my %res;
    for my $part (split /^==== /m, $out) {
        my ($title, $head, @rows) = split /\n/, $part;
        next unless defined $head;
        my @head = split /,/, $head;
        $res{$title} = [ map { my %h; @h{@head} = split /,/, $_, -1; \%h }
            @rows ];
    }
    is_deeply([ sort keys %res ], [ sort @titles ], 'every query answered')
        or diag($out);

    my $vv = $vcsv;
    my $rows = $res{'which variant wins'} // [];
    is(scalar @$rows, scalar(grep { m{^experiment/[^/]+//} } keys %$n),
        'which variant wins: a row per variant');
    for my $s (@$rows) {
        my $k = "experiment/$s->{experiment}//$s->{variant}";
        my $w = $vv->{$k};
        is("$s->{visitors}/$s->{converters}",
            "$w->{visitors}/$w->{converters}", "SQL $k: visitors/converters");
        is($s->{is_control} eq 't' ? 1 : 0, $w->{control}, "SQL $k: control");
        near($s->{value_per_visitor}, $w->{value_mean}, 1e-9,
            "SQL $k: revenue per visitor");
        next if $w->{control};
        near($s->{abs_lift}, $w->{abs_lift}, 1e-9, "SQL $k: absolute lift");
        near($s->{z}, $w->{z}, 1e-9, "SQL $k: z");
    }

    for my $s (@{ $res{'is the split healthy'} // [] }) {
        my ($w) = grep { $_->{section} eq 'experiment'
            && $_->{experiment} eq $s->{experiment} } values %$r;
        near($s->{chi2}, $w->{srm_chi2}, 1e-9,
            "SQL sample ratio of $s->{experiment}");
        is($s->{mismatch} eq 't' ? 1 : 0, $w->{srm},
            "SQL sample ratio of $s->{experiment}: mismatch or not");
    }

    $rows = $res{'personalization lift'} // [];
    is(scalar @$rows, 3, 'personalization lift: (all) and two rules');
    for my $s (@$rows) {
        my $p = $r->{"content/$s->{content}/$s->{rule}/personalized"};
        my $h = $r->{"content/$s->{content}/$s->{rule}/holdout"};
        is("$s->{visitors}/$s->{converters}/$s->{h_visitors}/"
            . $s->{h_converters}, "$p->{visitors}/$p->{converters}/"
            . "$h->{visitors}/$h->{converters}",
            "SQL personalization $s->{content}/$s->{rule}: counts");
        near($s->{abs_lift}, $p->{abs_lift}, 1e-9,
            "SQL personalization $s->{content}/$s->{rule}: lift");
        near($s->{z}, $p->{z}, 1e-9,
            "SQL personalization $s->{content}/$s->{rule}: z");
    }

    $rows = $res{'conversions by channel'} // [];
    is(scalar @$rows, scalar(keys %entry),
        'conversions by channel: a row per goal and entry channel');
    for my $s (@$rows) {
        my $w = $by->{"conversions/$s->{goal}/$s->{entry_channel}"};
        is($s->{conversions}, $w->{conversions},
            "SQL conversions $s->{goal}/$s->{entry_channel}");
        near($s->{value}, $w->{value_sum}, 1e-9,
            "SQL value $s->{goal}/$s->{entry_channel}");
    }

    my $dev = parse_csv(run("--format csv --by device $logs"));
    $rows = $res{'by device'} // [];
    ok(@$rows > 20, 'by device: ' . scalar(@$rows) . ' rows');
    my $bad = grep {
        my $w = $dev->{"experiment/$_->{experiment}/$_->{device}/"
            . $_->{variant}};
        !$w || $w->{visitors} != $_->{visitors}
            || $w->{converters} != $_->{converters}
    } @$rows;
    is($bad, 0, 'by device: every row as the report\'s --by device');

    my ($ids) = @{ $res{'ids stitched'} // [ {} ] };
    is($ids->{anonymous_ids}, $att->{stitched}, 'SQL: ids stitched');
}

done_testing;
