# The Debian package, installed on this system with apt-get: its files
# where Debian's nginx modules have theirs, the module enabled by the
# maintainer scripts, the system nginx passing "nginx -t" and serving a
# personalized page with it, the tools working from /usr/bin; then
# removed, installed again and purged, with nothing of it left.
#
# It changes the system, so it runs only when PERSONA_DEB names the
# package ("make test-deb"), as root.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use POSIX ();
use Test::More;
use Persona::Test;

my $deb = $ENV{PERSONA_DEB};

plan skip_all => 'PERSONA_DEB not set: "make test-deb" runs this test'
    unless defined $deb && length $deb;
plan skip_all => 'installs a package: needs root' unless $> == 0;

die "no package \"$deb\"\n" unless -f $deb;
$deb = abs_path($deb);

my $root = abs_path(dirname(__FILE__) . '/..');
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $enabled = '/etc/nginx/modules-enabled';
my $link = "$enabled/50-mod-http-persona.conf";
my $avail = '/usr/share/nginx/modules-available/mod-http-persona.conf';
my $so = '/usr/lib/nginx/modules/ngx_http_persona_module.so';

# the system nginx loads the module from its load file, not the harness
delete $ENV{PERSONA_MODULE};

# (exit status, stdout and stderr) of a command, without a shell
sub run {
    my (@cmd) = @_;

    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        open STDIN, '<', '/dev/null';
        delete $ENV{NGINX};
        exec { $cmd[0] } @cmd or print "cannot run $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    local $/;
    my $out = <$fh> // '';
    close $fh;

    return ($? >> 8, $out);
}

sub apt {
    my (@args) = @_;

    local $ENV{DEBIAN_FRONTEND} = 'noninteractive';

    # other apt-get or dpkg runs on this machine hold the lock a while
    return run('apt-get', '-y', '-q', '-o', 'DPkg::Lock::Timeout=600',
        @args);
}

sub field {
    my ($name) = @_;
    my ($rc, $v) = run('dpkg-deb', '-f', $deb, $name);
    die "dpkg-deb -f: $v" if $rc;
    chomp $v;
    return $v;
}

sub status {
    my ($pkg) = @_;
    my ($rc, $s) = run('dpkg-query', '-W', '-f=${Status}', $pkg);
    return $rc ? 'unknown' : $s;
}

sub persona_links {
    opendir my $dh, $enabled or die "$enabled: $!";
    return join ' ', sort grep { /persona/ } readdir $dh;
}

my $pkg = field('Package');
my $depends = field('Depends');

if (status($pkg) ne 'unknown' && status($pkg) !~ /not-installed/) {
    BAIL_OUT("$pkg is on this system already (" . status($pkg)
        . "): this test installs and purges it, so purge it first");
}

# what exists before: the purge must leave exactly this
my ($rc, $paths) = run('sh', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -t',
    'sh', $deb);
my @paths = map { s{^\./}{/}r =~ s{/$}{}r } grep { $_ ne './' }
    split /\n/, $paths;
my %existed = map { $_ => 1 } grep { -e $_ || -l $_ } @paths;

ok(!$existed{$so} && !-e $link, 'nothing of the package before');

my ($out, $installed) = ('', 0);

END {
    # a failed or interrupted run leaves no package behind
    apt('purge', $pkg) if $installed && status($pkg) ne 'unknown';
}

# --- install ---

($rc, $out) = apt('install', $deb);
$installed = 1;
is($rc, 0, 'apt-get install ./' . $pkg . '_..._amd64.deb') or diag($out);
is(status($pkg), 'install ok installed', 'installed');

($rc, my $files) = run('dpkg', '-L', $pkg);
my @files = grep { $_ ne '/.' } split /\n/, $files;

# the ABI: the package depends on the one the installed nginx provides
my ($abi) = $depends =~ /\b(nginx-abi-[\w.+~-]+)/;
ok($abi, "depends on an nginx ABI ($abi)");
(undef, my $provides) = run('dpkg-query', '-W', '-f=${Provides}', 'nginx');
like($provides, qr/(^|[ ,])\Q$abi\E(,|$)/, "nginx provides $abi");
like($depends, qr/\blibmaxminddb0\b/, 'depends on libmaxminddb0');
like($depends, qr/\bliblmdb0\b/, 'depends on liblmdb0');

ok(-f $so, 'the module in /usr/lib/nginx/modules');
open my $fh, '<', $avail or die "$avail: $!";
is(do { local $/; <$fh> }, "load_module modules/ngx_http_persona_module.so;\n",
    'its load file in modules-available');
close $fh;
is(readlink($link), $avail, 'enabled by the postinst');

# --- the system nginx ---

($rc, $out) = run($nginx, '-t');
is($rc, 0, 'nginx -t of the system configuration') or diag($out);
($rc, $out) = run($nginx, '-T');
like($out, qr{^# configuration file \Q$link\E:\n
              load_module\ modules/ngx_http_persona_module\.so;$}mx,
    'nginx -T: the module loaded through modules-enabled');

# a system nginx of its own (prefix, port), loading the module as the
# system configuration does: the enabled load file, with "modules/"
# relative to a prefix that has Debian's modules link
my $t = Persona::Test->new(workers => 1);
symlink('/usr/share/nginx/modules', "$t->{dir}/modules") or die $!;

# a CRM list built by the packaged tool
$t->write_file('crm.csv',
    "id,segments\nalice,vip;newsletter\nbob,newsletter\n");
($rc, $out) = run('/usr/bin/persona-segments-build', "$t->{dir}/crm.csv",
    "$t->{dir}/crm.mdb");
is($rc, 0, '/usr/bin/persona-segments-build') or diag($out);
chmod 0644, "$t->{dir}/crm.mdb";

$t->write_file('winter.html', '<h1>Winter sale</h1>');
$t->write_file('html/index.html',
    "<!--persona:hero--><h1>Autumn sale</h1><!--/persona:hero-->\n"
    . "<p><!--persona:greeting-->Hi<!--/persona:greeting--></p>\n");

$t->main_conf("include $link;\n");
$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_segments_db %%DIR%%/crm.mdb;

    persona_experiment hero {
        variant winter fragment=%%DIR%%/winter.html;
    }

    persona_content greeting {
        when 'segment(vip)' 'text=Welcome back, {{$persona_id}}';
        default 'text=Hello';
    }

    log_format persona_exposure escape=none '$persona_exposures';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;
        persona_slot greeting greeting;

        access_log %%DIR%%/exposure.log persona_exposure if=$persona_exposed;
    }
CONF

($rc, $out) = $t->nginx_t;
is($rc, 0, 'nginx -t of a configuration with persona directives')
    or diag($out);

$t->start;

$t->run_blocks([
    { name => 'a new visitor', uri => '/', status => 200,
      body_is => "<h1>Winter sale</h1>\n<p>Hello</p>\n",
      headers_like => { 'Set-Cookie' => qr/^persona=\w+/,
                        'Cache-Control' => qr/private/ } },
    { name => 'a VIP of the CRM list', uri => '/',
      headers => { 'X-User-Id' => 'alice' }, status => 200,
      body_is => "<h1>Winter sale</h1>\n<p>Welcome back, alice</p>\n" },
]);

$t->stop;

my @events = grep { /"experiment":"hero"/ }
    split /\n/, $t->read_file('exposure.log');
is(scalar @events, 2, 'two exposures to hero logged');
like($events[1] // '', qr/"id":"alice".*"variant":"winter"/,
    'the second one is alice in winter');

# --- the tools ---

($rc, $out) = run('/usr/bin/persona-report', "$t->{dir}/exposure.log");
is($rc, 0, '/usr/bin/persona-report on the exposure log') or diag($out);
like($out, qr/hero/, 'it reports hero');
like($out, qr/winter/, 'and its variant');

for my $tool (map { s{.*/}{}r } grep { -x } glob "$root/scripts/persona-*") {
    my $bin = "/usr/bin/$tool";
    ($rc, $out) = run($bin, '--help');
    is($rc, 0, "$bin --help") or diag($out);
    ok((grep { $_ eq "/usr/share/man/man1/$tool.1.gz" } @files),
        "$tool has a manual page");
}

my $lua = "$root/src/lua/resty/persona.lua";
if (-f $lua) {
    ($rc, $out) = run('cmp', $lua, '/usr/share/lua/5.1/resty/persona.lua');
    is($rc, 0, 'the Lua library in /usr/share/lua/5.1/resty') or diag($out);
} else {
    ok(!(grep { m{/lua/} } @files),
        'no Lua library in the project, none packaged');
}

ok((grep { $_ eq "/usr/share/doc/$pkg/README.md" } @files)
    && (grep { m{^/usr/share/doc/\Q$pkg\E/docs/directives\.md$} } @files)
    && (grep { m{^/usr/share/doc/\Q$pkg\E/conf-examples/} } @files),
    'README, docs and conf-examples in /usr/share/doc');

# --- remove, install again, purge ---

($rc, $out) = apt('remove', $pkg);
is($rc, 0, 'apt-get remove') or diag($out);
ok(!-e $so && !-l $link && -l "$link.removed",
    'removed: module gone, link put aside as Debian modules do');
($rc, $out) = run($nginx, '-t');
is($rc, 0, 'nginx -t without the module') or diag($out);

($rc, $out) = apt('install', $deb);
is($rc, 0, 'installed again') or diag($out);
ok(-l $link && !-l "$link.removed", 'the link restored');

($rc, $out) = apt('purge', $pkg);
is($rc, 0, 'apt-get purge') or diag($out);
$installed = 0;
like(status($pkg), qr/^(unknown|.*not-installed)$/, 'not known to dpkg');

my @left = grep { !$existed{$_} && (-e $_ || -l $_) } @files, @paths;
is("@left", '', 'no file or directory of the package left');
is(persona_links(), '', 'no link of it left in modules-enabled');

($rc, $out) = run($nginx, '-t');
is($rc, 0, 'nginx -t after the purge') or diag($out);

done_testing;
