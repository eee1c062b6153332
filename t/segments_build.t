# scripts/persona-segments-build: a CSV export of "id,segment;segment"
# becomes a single-file LMDB database (id -> sorted segments joined with
# ","), replaced atomically; bad lines are reported with their number.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Test::More;

my $script = abs_path(dirname(__FILE__) . '/../scripts/persona-segments-build');

BEGIN {
    for my $tool (qw(mdb_load mdb_dump mdb_stat python3)) {
        system("command -v $tool >/dev/null 2>&1") == 0
            or plan skip_all => "$tool not installed";
    }
}

my $dir = tempdir('persona-segments-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub write_raw {
    my ($name, $content) = @_;

    open my $fh, '>:raw', "$dir/$name" or die "$dir/$name: $!";
    print $fh $content;
    close $fh;

    return "$dir/$name";
}

sub slurp {
    my ($path) = @_;

    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# (exit status, stdout, stderr) of the script
sub build {
    my (@args) = @_;

    my $stdin = '/dev/null';
    if (ref $args[0] eq 'SCALAR') {
        $stdin = write_raw('stdin.csv', ${ shift @args });
    }

    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', $stdin or die;
        open STDOUT, '>', "$dir/out.txt" or die;
        open STDERR, '>', "$dir/err.txt" or die;
        exec $script, @args;
        exit 127;
    }
    waitpid $pid, 0;

    return ($? >> 8, slurp("$dir/out.txt"), slurp("$dir/err.txt"));
}

# the whole database as { id bytes => value }, read with mdb_dump from a
# copy so that no lock file appears next to the database
sub dump_db { (dump_keys($_[0]))[0] }

# the list's vocabulary, stored under "\0segments"
sub vocabulary { (dump_keys($_[0]))[2] }

# the ids and the keys in the order stored, and the vocabulary
sub dump_keys {
    my ($db) = @_;

    my $copy = "$dir/dump-copy.mdb";
    write_raw('dump-copy.mdb', slurp($db));
    my @lines = `mdb_dump -n '$copy'`;
    die "mdb_dump failed on $db" if $?;
    unlink $copy, "$copy-lock";

    chomp @lines;
    shift @lines while @lines && $lines[0] ne 'HEADER=END';
    shift @lines;

    my (%db, @order, $vocabulary);
    while (@lines && $lines[0] ne 'DATA=END') {
        my ($k, $v) = map { pack 'H*', substr($_, 1) } splice @lines, 0, 2;
        if ($k eq "\0segments") {
            $vocabulary = $v;
            next;
        }
        $db{$k} = $v;
        push @order, $k;
    }

    return (\%db, \@order, $vocabulary);
}

sub leftovers {
    my ($db) = @_;

    opendir my $dh, dirname($db) or die;
    my $base = (split m{/}, $db)[-1];
    return [ grep { /^\Q$base\E./ } readdir $dh ];
}

# header, quoting, whitespace, sorting and deduplication of segments
my $db = "$dir/segments.mdb";
my $csv = write_raw('basic.csv',
    "\xef\xbb\xbfid,segments\r\n"
    . "u-1,vip;newsletter\r\n"
    . "\"u,2\",\"gold;vip\"\r\n"
    . "\"say \"\"hi\"\"\",b\r\n"
    . "  u-3 , newsletter ; ; vip;newsletter \r\n"
    . "jos\xc3\xa9,vip\r\n"
    . "\"t\tab\\\\x\",gold\r\n"
    . "u-4,\r\n"
    . "\r\n"
    . "u-1,gold\r\n");

my ($rc, $out, $err) = build($csv, $db);
is($rc, 0, 'basic: exit status');
is($err, '', 'basic: nothing on stderr');
like($out, qr/\Q$db\E: 6 ids, 4 segments \(b, gold, newsletter, vip\)/,
    'basic: summary of ids and segments');
like($out, qr/\d+(?:\.\d)? (?:bytes|KiB|MiB), \d+\.\d\d s/,
    'basic: summary of size and time');
like($out,
    qr/8 lines read, 0 invalid, 1 repeated ids merged, 1 without segments/,
    'basic: summary of lines');

my ($data, $order) = dump_keys($db);
is_deeply($data, {
    'u-1'        => 'gold,newsletter,vip',
    'u,2'        => 'gold,vip',
    'say "hi"'   => 'b',
    'u-3'        => 'newsletter,vip',
    "jos\xc3\xa9" => 'vip',
    "t\tab\\\\x" => 'gold',
}, 'basic: contents');
ok(!exists $data->{'id'}, 'basic: header not loaded');
ok(!exists $data->{'u-4'}, 'basic: id without segments not stored');
is_deeply(leftovers($db), [], 'basic: one file, no lock or temporary file');

($rc, $out) = build('-q', $csv, $db);
is($rc, 0, 'quiet: exit status');
is($out, '', 'quiet: no summary');

# without a header the first line is data; a later "id,segments" too
($rc, $out) = build(write_raw('nohdr.csv', "a,x\nid,segments\nb,y\n"), $db);
is_deeply(dump_db($db), { a => 'x', id => 'segments', b => 'y' },
    'no header: every line is data');

# bad lines: reported with their line numbers and skipped
my $long = 'i' x 257;
my $max = 'm' x 256;
$csv = write_raw('bad.csv', join '',
    "id,segments\n",                        # 1
    "ok-1,vip\n",                           # 2
    "ok-2,vip,extra\n",                     # 3
    ",vip\n",                               # 4
    "$long,vip\n",                          # 5
    "$max,vip\n",                           # 6
    "ok-3,v.i.p\n",                         # 7
    "\"multi\nline\",vip\n",                # 8-9
    "ok-4,bad segment\n",                   # 10
    "ok-5,gold\n",                          # 11
    "ok-6,\xc3\xa9t\xc3\xa9\n",             # 12
    "\"open,vip\n");                        # 13

($rc, $out, $err) = build($csv, $db);
is($rc, 0, 'bad lines: skipped, exit status 0');
like($err, qr/bad\.csv:3: expected 2 fields "id,segments", found 3/,
    'bad lines: extra field');
like($err, qr/bad\.csv:4: empty id/, 'bad lines: empty id');
like($err, qr/bad\.csv:5: id is 257 bytes long, at most 256 allowed/,
    'bad lines: id too long');
like($err, qr/bad\.csv:7: invalid segment name "v\.i\.p"/,
    'bad lines: segment name');
like($err, qr/bad\.csv:10: invalid segment name "bad segment"/,
    'bad lines: line number after a quoted newline');
like($err, qr/bad\.csv:12: invalid segment name "été"/,
    'bad lines: non-ASCII segment name shown as UTF-8');
like($err, qr/bad\.csv:13: malformed CSV/, 'bad lines: unterminated quote');
is(scalar(() = $err =~ /^persona-segments-build: /mg), 7,
    'bad lines: one message per bad line');
like($out, qr/11 lines read, 7 invalid/, 'bad lines: counted');
is_deeply(dump_db($db), { 'ok-1' => 'vip', $max => 'vip',
    "multi\nline" => 'vip', 'ok-5' => 'gold' },
    'bad lines: good lines loaded, 256-byte id accepted');

($rc, undef, $err) = build('--max-errors', 2, $csv, $db);
is(scalar(() = $err =~ /bad\.csv:\d+:/g), 2, '--max-errors: lines shown');
like($err, qr/5 more invalid lines not shown/, '--max-errors: the rest');

# --strict refuses to replace the database
my $before = slurp($db);
my $ino = (stat $db)[1];
($rc, $out, $err) = build('--strict', $csv, $db);
is($rc, 1, 'strict: exit status 1');
like($err, qr/7 invalid lines, \Q$db\E left unchanged/, 'strict: message');
is((stat $db)[1], $ino, 'strict: same file');
ok(slurp($db) eq $before, 'strict: same contents');
is_deeply(leftovers($db), [], 'strict: no temporary file');

($rc) = build('--strict', write_raw('good.csv', "a,x\n"), $db);
is($rc, 0, 'strict: clean input accepted');
is_deeply(dump_db($db), { a => 'x' }, 'strict: clean input loaded');

# missing input: an error, the database untouched
$before = slurp($db);
($rc, undef, $err) = build("$dir/missing.csv", $db);
is($rc, 2, 'missing input: exit status 2');
like($err, qr/missing\.csv: No such file/, 'missing input: message');
ok(slurp($db) eq $before, 'missing input: database kept');

# standard input
($rc) = build(\"s1,vip\ns2,gold\n", '-', $db);
is($rc, 0, 'stdin: exit status');
is_deeply(dump_db($db), { s1 => 'vip', s2 => 'gold' }, 'stdin: contents');

# empty input: a valid empty database and a warning
($rc, $out, $err) = build(write_raw('empty.csv', "id,segments\n"), $db);
is($rc, 0, 'empty: exit status');
like($err, qr/warning: no ids/, 'empty: warning');
is_deeply(dump_db($db), {}, 'empty: no entries');
is(vocabulary($db), '', 'empty: an empty vocabulary');

# duplicates spread through an unsorted file, and the same data sorted:
# the same database either way
srand(42);
my (%want, @rows);
for my $i (1 .. 20000) {
    my $id = sprintf 'user-%06d', $i;
    my @s = grep { rand() < 0.4 } qw(vip gold churn-risk newsletter b2b_x);
    @s = ('vip') unless @s;
    $want{$id} = join ',', sort @s;
    my $half = int(@s / 2);
    push @rows, "$id," . join(';', @s[0 .. $half - 1]) if $half;
    push @rows, "$id," . join(';', reverse @s[$half .. $#s]);
}
my @shuffled = map { $_->[1] } sort { $a->[0] <=> $b->[0] }
    map { [ rand(), $_ ] } @rows;

($rc, $out) = build('--tmpdir', $dir,
    write_raw('shuffled.csv', join("\n", 'id,segments', @shuffled) . "\n"),
    $db);
is($rc, 0, 'shuffled: exit status');
my $dups = @rows - 20000;
like($out,
    qr/20000 ids, 5 segments.*\n.*$dups repeated ids merged.*sorted first/,
    'shuffled: summary');
($data, $order) = dump_keys($db);
is_deeply($data, \%want, 'shuffled: every id with the union of its segments');
is_deeply($order, [ sort keys %want ], 'shuffled: keys in byte order');
my $stat = `mdb_stat -n '$db'`;
like($stat, qr/Entries: 20001\b/, 'shuffled: mdb_stat agrees (and the '
    . 'vocabulary)');
is(vocabulary($db), 'b2b_x,churn-risk,gold,newsletter,vip',
    'shuffled: the vocabulary lists every segment once, sorted');
unlink "$db-lock";
my $shuffled = slurp($db);

($rc, $out) = build(
    write_raw('sorted.csv', join("\n", sort @rows) . "\n"), "$dir/sorted.mdb");
like($out, qr/input sorted\n/, 'sorted: sort step skipped');
is_deeply(dump_db("$dir/sorted.mdb"), \%want, 'sorted: same contents');

# an id with a NUL byte could be the vocabulary's key: refused
($rc, $out, $err) = build(write_raw('nul.csv', "a\0b,vip\nok,gold\n"), $db);
is($rc, 0, 'NUL: exit status');
like($err, qr/nul\.csv:1: id contains a NUL byte/, 'NUL: line reported');
is_deeply(dump_db($db), { ok => 'gold' }, 'NUL: the other lines kept');

# atomic replacement: a reader that opened the old file keeps a complete
# old database, new readers see the new one, nothing is left behind
build(write_raw('v1.csv', "old,vip\n"), $db);
my $v1 = slurp($db);
open my $reader, '<:raw', $db or die;
my $old_ino = (stat $reader)[1];

($rc) = build(write_raw('v2.csv', "new,gold\n"), $db);
is($rc, 0, 'replace: exit status');
isnt((stat $db)[1], $old_ino, 'replace: new inode');
is((stat $reader)[3], 0, 'replace: old inode unlinked');
my $kept = do { local $/; <$reader> };
close $reader;
ok($kept eq $v1, 'replace: open reader still sees the whole old file');
write_raw('kept.mdb', $kept);
is_deeply(dump_db("$dir/kept.mdb"), { old => 'vip' },
    'replace: old file still a valid database');
is_deeply(dump_db($db), { new => 'gold' }, 'replace: new contents');
is_deeply(leftovers($db), [], 'replace: no temporary file left');

done_testing;
