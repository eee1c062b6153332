# Only workers serve requests: the cache manager and
# the cache loader of a proxy_cache_path must not run the geo and CRM
# reload timers, nor make their own copy of the geo database, nor open the
# segment store.

use strict;
use warnings;

use FindBin;
use Test::More;
use Persona::Test;
use Persona::MMDB;

my $t = Persona::Test->new(workers => 2);

Persona::MMDB::write_city_db("$t->{dir}/city.mmdb");
chmod 0644, "$t->{dir}/city.mmdb";

my $build = "$FindBin::Bin/../scripts/persona-segments-build";
$t->write_file('crm.csv', "id,segments\nu1,vip\nu2,newsletter\n");
my $out = `$build -q $t->{dir}/crm.csv $t->{dir}/crm.mdb 2>&1`;
is($?, 0, 'segment store built') or diag($out);
chmod 0644, "$t->{dir}/crm.mdb";

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_geoip2 %%DIR%%/city.mmdb reload=100ms;
    persona_segments_db %%DIR%%/crm.mdb reload=100ms;

    proxy_cache_path %%DIR%%/cache keys_zone=c:1m;

    server {
        listen 127.0.0.1:%%PORT0%%;

        location / {
            return 200 "country=$persona_country segments=$persona_segments\n";
        }
    }
CONF

$t->start;

# the master forks the cache processes after the workers: wait for them
my (%p, @cache);
for (1 .. 100) {
    %p = $t->processes;
    @cache = grep { $p{$_} =~ /^cache/ } keys %p;
    last if @cache >= 2;
    select undef, undef, undef, 0.05;
}
my @workers = $t->worker_pids;

is(scalar @cache, 2, 'a cache manager and a cache loader');

like($t->request(GET => '/', headers => { 'X-User-Id' => 'u1' })->{body},
    qr/country=FR segments=vip/, 'workers serve geo and segments');

# the geo database in each process's memory, as /proc/PID/maps shows it
sub geo_copies {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/maps" or return ();
    my %inode;
    for (<$fh>) {
        $inode{$1} = 1 if /\s(\d+)\s+\/memfd:persona-geoip2/;
    }
    return keys %inode;
}

sub maps_file {
    my ($pid, $file) = @_;
    open my $fh, '<', "/proc/$pid/maps" or return 0;
    return scalar grep { /\Q$file\E/ } <$fh>;
}

# a new geo database and a new segment store, as an update would leave
# them
my $log_from = length $t->error_log;

Persona::MMDB::write_city_db("$t->{dir}/city.mmdb", networks => [
    [ '127.0.0.0/24', Persona::MMDB::city_record(country => 'DE') ] ]);
chmod 0644, "$t->{dir}/city.mmdb";

$t->write_file('crm.csv', "id,segments\nu1,gold\n");
$out = `$build -q $t->{dir}/crm.csv $t->{dir}/crm.mdb 2>&1`;
chmod 0644, "$t->{dir}/crm.mdb";

Persona::Test::wait_for('the workers to load the new data', 10, sub {
    my @r = map { $t->request(GET => '/', headers => { 'X-User-Id' => 'u1' })
        ->{body} } 1 .. 4;
    return !grep { !/country=DE segments=gold/ } @r;
});
pass('workers use the new geo database and segment store');

# time for a few more ticks of any timer still running elsewhere
select undef, undef, undef, 0.5;

my @lines = split /\n/, substr($t->error_log, $log_from);
my %from = map { /\] (\d+)#\d+: .*persona/ ? ($1 => 1) : () } @lines;

for my $pid (@cache) {
    ok(!$from{$pid}, "no persona log line from the $p{$pid}")
        or diag(join "\n", grep { /\] $pid#/ } @lines);

    my %master = map { $_ => 1 } geo_copies($t->master_pid);
    my @own = grep { !$master{$_} } geo_copies($pid);
    is(scalar @own, 0,
        "the $p{$pid} made no copy of the geo database");

    is(maps_file($pid, "$t->{dir}/crm.mdb"), 0,
        "the $p{$pid} has not opened the segment store");
}

ok($from{$_}, "the worker $_ logged its reload") for @workers;

$t->stop;

done_testing;
