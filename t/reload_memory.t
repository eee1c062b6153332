# Reloads do not make the master grow: each reload reads the whole
# configuration again in the master (the geo database, the segment store,
# every time zone of the tz database), and what the old configuration
# held must go with it.  The master's anonymous memory (its heap: what
# /proc/PID/smaps_rollup calls Anonymous, not RSS, which counts the
# shared pages of libraries and mapped files that stock nginx touches
# too) and its mappings of the databases stay flat over 20 reloads once
# the first reloads have shaped the heap.

use strict;
use warnings;

use FindBin;
use Test::More;
use Persona::Test;
use Persona::MMDB;

plan skip_all => 'no /proc/PID/smaps_rollup'
    unless -r '/proc/self/smaps_rollup';

my $t = Persona::Test->new;

Persona::MMDB::write_city_db("$t->{dir}/city.mmdb");
chmod 0644, "$t->{dir}/city.mmdb";

my $build = "$FindBin::Bin/../scripts/persona-segments-build";
$t->write_file('crm.csv', "id,segments\nu1,vip\nu2,newsletter\n");
my $out = `$build -q $t->{dir}/crm.csv $t->{dir}/crm.mdb 2>&1`;
is($?, 0, 'segment store built') or diag($out);
chmod 0644, "$t->{dir}/crm.mdb";

# the time zones are those of the system's tz database when it has one
# (tzdata); without it a smaller configuration is reloaded
my $zones = -d '/usr/share/zoneinfo/Europe';

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_geoip2 %%DIR%%/city.mmdb reload=100ms;
    persona_segments_db %%DIR%%/crm.mdb reload=100ms;

    server {
        listen 127.0.0.1:%%PORT0%%;

        location / {
            return 200 "$persona_country $persona_segments $persona_hour\n";
        }
    }
CONF

$t->start;

like($t->request(GET => '/', headers => { 'X-User-Id' => 'u1' })->{body},
    qr/^FR vip \d+$/, 'geo, segments and local time');

sub rollup {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/smaps_rollup" or return {};
    my %r;
    for (<$fh>) {
        $r{$1} = $2 if /^(\w+):\s+(\d+) kB/;
    }
    return \%r;
}

# mappings of the geo database (the master's memory copy) and of the
# segment store
sub db_maps {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/maps" or return 0;
    my $dir = $t->{dir};
    return scalar grep { /memfd:persona-geoip2|\Q$dir\E\/crm\.mdb/ } <$fh>;
}

# under valgrind or AddressSanitizer the heap is the tool's
sub instrumented {
    my ($pid) = @_;
    my $exe = readlink "/proc/$pid/exe" // '';
    return 1 if $exe =~ /valgrind|memcheck/;
    open my $fh, '<', "/proc/$pid/maps" or return 0;
    return scalar grep { /libasan|libubsan/ } <$fh>;
}

# the first reloads shape the heap (two configurations live at once)
$t->reload for 1 .. 3;

my $master = $t->master_pid;
my $before = rollup($master);
my $maps = db_maps($master);

$t->reload for 1 .. 20;

is($t->master_pid, $master, 'the same master after 20 reloads');

my $after = rollup($master);

ok($maps <= 1, "the master maps the geo database once ($maps)");
is(db_maps($master), $maps,
    'the master maps the databases as often after 20 more reloads');

SKIP: {
    skip 'the heap of an instrumented nginx', 1 if instrumented($master);

    # 20 reloads of a configuration that loses 50 kB each exceed 1 MB
    my $grown = ($after->{Anonymous} // 0) - ($before->{Anonymous} // 0);
    ok($grown < 1024, "the master's anonymous memory grew by ${grown} kB "
        . "in 20 reloads (of $before->{Anonymous} kB"
        . ($zones ? ', with every time zone' : '') . ')')
        or diag(explain { before => $before, after => $after });
}

like($t->request(GET => '/', headers => { 'X-User-Id' => 'u1' })->{body},
    qr/^FR vip /, 'workers still serve geo and segments');

$t->stop;

done_testing;
