package Persona::Test;

# The integration test harness: one real nginx per test object, started
# from a generated configuration in a temporary directory on free ports,
# real HTTP(S) requests, upstream servers run by the test, and a check of
# error.log for alerts and crashes whenever nginx stops.

use strict;
use warnings;

use Cwd qw(abs_path);
use Errno qw(EINTR ESRCH);
use Exporter qw(import);
use Fcntl qw(O_CREAT O_EXCL O_WRONLY SEEK_END);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use IO::Socket::IP;
use POSIX qw(WNOHANG);
use Scalar::Util qw(refaddr weaken);
use Socket ();
use Test::More;
use Time::HiRes qw(time sleep);

use Persona::Backend;

our @EXPORT = qw(persona_module_conf free_port);
our @EXPORT_OK = qw(wait_for error_log_problems);

=head1 NAME

Persona::Test - run nginx with the persona module in integration tests

=head1 SYNOPSIS

    use Test::More;
    use Persona::Test;

    my $t = Persona::Test->new(workers => 2);

    $t->write_file('html/index.html', "<p>hello</p>\n");

    $t->backend(sub {
        my ($req) = @_;
        return { body => "upstream saw $req->{uri}" };
    }, port => $t->port(1));

    $t->conf(<<~'EOF');         # the inside of http { }
        server {
            listen 127.0.0.1:%%PORT0%%;
            root %%DIR%%/html;
            location /app/ { proxy_pass http://127.0.0.1:%%PORT1%%; }
        }
    EOF

    $t->start;

    my $res = $t->request(GET => '/', headers => { Cookie => 'a=b' });
    is($res->{status}, 200, 'static page');
    is($res->header('Content-Type'), 'text/html', 'its type');

    $t->run_blocks([
        { name => 'proxied', uri => '/app/x', status => 200,
          body_is => 'upstream saw /app/x' },
        { name => 'missing', uri => '/nope', status => 404 },
    ]);

    $t->reload;                 # after $t->conf(...) changes, if any
    $t->stop;                   # also fails the test on a bad error.log

    done_testing;

Run with C<prove -I t/lib t/>.  C<$ENV{TEST_NGINX_BINARY}> (or
C<$ENV{NGINX}>) names the nginx binary (default F</usr/sbin/nginx>); nginx
itself never sees an NGINX variable, which it would take for sockets
inherited from a binary upgrade.  When C<$ENV{PERSONA_MODULE}> is set and not
empty, the generated configuration loads that module first.  With
C<$ENV{PERSONA_TEST_KEEP}> set, the temporary directories are kept (they
are kept anyway when a test fails, and their path is printed).
C<$ENV{PERSONA_TEST_SLOW}> (a number, default 1) multiplies every
timeout of wait_for (nginx starting, reloading, reopening, stopping, and
the tests' own waits), for an nginx run under valgrind; such a wrapper
hides the process titles, so workers are then told from the master's
"start worker process" lines in error.log.

=head1 EXPORTED FUNCTIONS

=over

=item persona_module_conf()

C<"load_module /abs/path/ngx_http_persona_module.so;\n"> when
C<$ENV{PERSONA_MODULE}> is set, otherwise the empty string.

=item free_port()

A TCP port on 127.0.0.1 that was free a moment ago.  Ports handed out
are reserved (in a directory under the system temporary directory) until
the test process exits, so tests running in parallel never get the same
one.

=back

On request: C<wait_for($what, $timeout, sub { condition })> polls the
condition until it is true and dies with "timeout ... waiting for $what"
otherwise; C<error_log_problems($text, @allowed_regexps)> returns the
lines of an error log that would fail the test.

=head1 METHODS

=over

=item new(workers => N, module => 1)

Creates the temporary directory (C<< $t->dir >>, world-readable, since
workers run as nobody when the test runs as root).  Nothing is started.
With C<< module => 0 >> the configuration does not load the module: a
plain nginx, e.g. a caching proxy in front of the one under test.

=item port(N)

The N-th free port of this test, allocated on first use, then stable.

=item write_file($name, $content), read_file($name)

Writes (creating directories) or reads a file relative to C<< $t->dir >>.
Written files are world-readable.  write_file returns the absolute path.

=item conf($text), main_conf($text)

The inside of C<http { }>, and extra lines at the main level (C<env>,
C<thread_pool>, C<load_module> of another module, C<stream { }>, ...).
Placeholders: C<%%PORTn%%> (C<< $t->port(n) >>), C<%%DIR%%> (the test
directory), C<%%T%%> (the absolute path of F<t/>).  Without an argument,
they return the current text.

=item conf_line($regexp)

The line number, in the generated F<nginx.conf>, of the first line that
matches: what C<nginx -t> names in its "in FILE:LINE" messages.

=item ssl_cert($name)

Makes a self-signed certificate for CN C<$name> (default localhost) with
the openssl command; returns the paths of the certificate and the key.

=item start

Writes F<nginx.conf> and starts nginx (master and workers, as a daemon,
C<-p DIR -c DIR/nginx.conf -e DIR/error.log>), then waits until the pid
file names the master, the workers run and every C<listen> address
accepts connections.  Dies with nginx's output and the end of error.log
when it does not.  A port taken by another program between its
allocation and nginx's bind() is replaced and nginx started again, as
long as the test has not read that port itself.

=item nginx_t

Runs C<nginx -t> on the current configuration, without touching a
running nginx; returns its exit code and its combined output, whose
messages name F<nginx.conf> and a line (see conf_line).

=item reload(allow_failure => 0)

Writes the current configuration and sends HUP; returns once workers
started after the signal serve, the previous workers have exited and
every listen address accepts.  When nginx refuses the new
configuration, dies with its message, or with C<< allow_failure => 1 >>
returns false (the refusal's lines then do not fail the log check).

=item reopen

Sends USR1 and returns once the master and every worker have reopened
their logs.

=item stop(timeout => 30)

Sends QUIT, waits for the master to exit (after the timeout: KILL and a
failed test), stops the backends and checks error.log (one assertion
when all went well).

=item master_pid, worker_pids, processes

The master's pid, and the pids of its workers that are not shutting
down (read from /proc).  processes returns every child that is not
shutting down as pid => role, the role as its title names it
(C<worker>, C<cache manager>, C<cache loader>).

=item error_log, check_error_log, allow_log($regexp)

error_log returns the content of error.log.  check_error_log adds one
assertion: that error.log, since the last check, has no [alert], [crit]
or [emerg] line, no "exited on signal" and no sanitizer report, apart
from lines matching a regexp given to allow_log.  stop runs it, and so
do the end of the test and the destruction of a started object (these
two only add a failing assertion, never a passing one, so a plan stays
right).  Called with a text, C<< $t->check_error_log($text) >> checks that
text instead; C<Persona::Test::check_error_log($text, @allowed)> works
without an object.

=item request($method, $uri, %options)

Sends one request and returns the response.  Options: C<headers> (a hash,
a value may be an array of repeated values or undef to leave a default
header out; or an array of name/value pairs, sent in order), C<body>
(Content-Length added), C<port> (default port 0), C<http> ("1.1" by
default, or "1.0"), C<ssl> (TLS without certificate check; C<sni> sets
the server name), C<timeout> (seconds, default 30), C<raw> (bytes sent
as they are instead of a request built from the options).  HTTP/1.1
requests carry C<Host: localhost> and C<Connection: close> unless
headers say otherwise; every request carries the User-Agent of a desktop
browser (C<$Persona::Test::UA>) unless headers give another or undef.

How the request is written: C<body> may be a list of pieces (an array):
the head goes out first, then each piece in its own write, C<delay>
seconds apart (default 0.2), Content-Length giving their total.  With
C<< chunked => 1 >> the body is sent with C<Transfer-Encoding: chunked>,
one chunk per piece (a string is one chunk, sent with the head), the
last chunk in a write of its own when the body is in pieces.  C<raw>
may also be a list of writes.

How the response is read: C<< slow_read => [ $bytes, $pause ] >> reads at
most $bytes at a time and pauses after each read; C<< rcvbuf => $bytes >>
sets the client's socket receive buffer before connecting, so that
nginx really has to wait for a slow reader.

HTTP/2: C<< http => '2' >> sends the request over HTTP/2 on a new
connection, cleartext with prior knowledge (a C<listen ... http2> without
C<ssl>, as C<curl --http2-prior-knowledge> does) or, with C<ssl>, over TLS
with ALPN C<h2> as browsers do.  A body in pieces becomes one DATA frame
per piece, C<delay> seconds apart; Content-Length is sent unless the
headers give one (undef leaves it out).  The response has the same shape,
with C<version> "2", C<data> (the DATA payloads as received), C<frames>
([type, flags, stream, length] of every frame), C<trailers>, and
C<reset> or C<goaway> (the error code) when the server sent one.  Needs
Protocol::HTTP2 (Debian: libprotocol-http2-perl) for HPACK decoding.

The response is read according to its framing (Content-Length, chunked,
or until the connection closes; no body for HEAD, 1xx, 204 and 304), so
keep-alive connections do not stall.  With C<raw> (or C<< read_all => 1 >>)
everything is read until the server closes the connection, and
C<< $res->{responses} >> holds every response found (pipelining).

A response is a hash: C<status> (0 when none arrived), C<version>,
C<reason>, C<headers> (lower-case name => array of values), C<body>
(chunked encoding removed), C<chunks> (the chunks as received, for a
chunked response), C<raw> (the bytes received), C<incomplete> and
C<timed_out> flags.  C<< $res->header($name) >> returns the first value
of a header, C<< $res->header_values($name) >> all of them;
C<Persona::Test::header($res, $name)> is the same as a function.

=item requests($n, $method, $uri, %options)

The same request sent $n times; returns the responses.

=item run_blocks(\@blocks)

Data-driven tests.  Each block is a hash with request keys (C<name>,
C<method> (GET), C<uri> (/), C<headers>, C<body>, C<port>, C<http>,
C<ssl>, C<raw>, C<timeout>; and C<conf>: when present nginx is
(re)started with it first) and expectations, each one assertion named
after the block: C<status>; C<headers_is> (name => value, undef meaning
absent); C<headers_like> and C<headers_unlike> (name => qr//, matched
against the header's values joined by newlines, "" when absent);
C<header_absent> (or C<headers_absent>): names; C<body_is>, C<body_like>,
C<body_unlike>; C<cookie_count> (number of Set-Cookie headers); C<check>
(a sub given the response, for anything else).  Returns the responses.

=item backend($handler, port => P, fork => 0)

=item fastcgi_backend($handler, port => P, fork => 0)

An HTTP or FastCGI upstream in a child process, listening on 127.0.0.1
(port P, or a free one); returns an object with C<port>, C<pid> and
C<stop>.  See L<Persona::Backend> for the handler's request and answer
(status, headers, body, chunks, byte_at_a_time, content_length, http10,
delay, raw, stderr).  Stopped by C<< $t->stop >> and at the end.

=item udp_listener(port => P)

Collects UDP datagrams (syslog) in a child process; returns an object
with C<port>, C<file>, C<messages> (every datagram received so far, one
string each) and C<wait_for($n, timeout => 5)> (the messages once there
are $n, or all there are when the time is up).  The object also works
as the path of the file that holds them, one datagram per line.

=back

=cut

our $TDIR = abs_path(dirname(__FILE__) . '/../..');

# a browser's, so that requests count as a visitor's and not a bot's
# (persona_bots exclude); headers => { 'User-Agent' => undef } sends none
our $UA = 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0';

my $OWNER = $$;
my $SLOW = ($ENV{PERSONA_TEST_SLOW} // '') =~ /^(\d+(?:\.\d+)?)$/ && $1 > 0
    ? $1 : 1;
my $PORT_DIR = File::Spec->catdir(File::Spec->tmpdir, 'persona-test-ports');
my %RESERVED;
my %LIVE;
my @DIRS;

# END blocks, which stop nginx, run on exit() but not on a fatal signal
for my $sig ([ INT => 2 ], [ TERM => 15 ]) {
    my ($name, $n) = @$sig;
    next if $SIG{$name} && $SIG{$name} ne 'DEFAULT';
    $SIG{$name} = sub { warn "caught SIG$name\n"; exit 128 + $n };
}

# --- free ports ---

sub free_port {
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => 0, Proto => 'tcp', Listen => 1)
            or die "cannot bind 127.0.0.1:0: $@\n";
        my $port = $s->sockport;
        close $s;

        next if $RESERVED{$port} || !_reserve($port);

        $RESERVED{$port} = $$;
        return $port;
    }

    die "no free port found\n";
}

sub _reserve {
    my ($port) = @_;

    unless (-d $PORT_DIR) {
        mkdir $PORT_DIR;
        chmod 01777, $PORT_DIR;
    }

    my $file = "$PORT_DIR/$port";

    for (1 .. 3) {
        if (sysopen my $fh, $file, O_CREAT | O_EXCL | O_WRONLY, 0644) {
            print $fh "$$\n";
            close $fh;
            return 1;
        }

        # no reservations possible here: the kernel's choice will do
        return 1 unless -e $file;

        open my $fh, '<', $file or next;
        my $pid = <$fh> // '';
        close $fh;
        chomp $pid;

        return 0 if $pid =~ /^\d+$/ && (kill(0, $pid) || $! != ESRCH);

        # left by a test that was killed
        unlink $file;
    }

    return 0;
}

sub persona_module_conf {
    my $m = $ENV{PERSONA_MODULE};
    return '' unless defined $m && length $m;
    return 'load_module ' . (abs_path($m) // $m) . ";\n";
}

sub wait_for {
    my ($what, $timeout, $cond) = @_;

    my $end = time + $timeout * $SLOW;
    my $pause = 0.002;

    while (1) {
        return 1 if $cond->();
        die sprintf("timeout after %gs waiting for %s\n",
            $timeout * $SLOW, $what) if time >= $end;
        sleep $pause;
        $pause *= 2 if $pause < 0.05;
    }
}

# --- the object ---

sub new {
    my ($class, %o) = @_;

    my $dir = tempdir('persona-test-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    chmod 0755, $dir;
    mkdir "$dir/tmp", 0755;
    push @DIRS, $dir;

    my $self = bless {
        dir => $dir,
        workers => $o{workers} // 1,
        module => $o{module} // 1,
        nginx => $ENV{TEST_NGINX_BINARY} || $ENV{NGINX} || '/usr/sbin/nginx',
        conf => '',
        main => '',
        ports => [],
        port_seen => {},
        backends => [],
        allow => [],
        allow_lines => {},
        log_checked => 0,
        started => 0,
        owner => $$,
    }, $class;

    $LIVE{refaddr $self} = $self;
    weaken $LIVE{refaddr $self};

    return $self;
}

sub dir { $_[0]{dir} }

sub port {
    my ($self, $n) = @_;
    $n //= 0;
    $self->{port_seen}{$n} = 1;
    return $self->_port($n);
}

sub _port {
    my ($self, $n) = @_;
    return $self->{ports}[$n] //= free_port();
}

sub write_file {
    my ($self, $name, $content) = @_;

    my $path = "$self->{dir}/$name";
    make_path(dirname($path), { mode => 0755 });
    open my $fh, '>:raw', $path or die "$path: $!\n";
    print $fh $content;
    close $fh or die "$path: $!\n";
    chmod 0644, $path;

    return $path;
}

sub read_file {
    my ($self, $name) = @_;

    open my $fh, '<:raw', "$self->{dir}/$name" or return undef;
    local $/;
    return <$fh> // '';
}

sub conf {
    my ($self, $text) = @_;
    return $self->{conf} if @_ < 2;
    $self->{conf} = $text;
    return $self;
}

sub main_conf {
    my ($self, $text) = @_;
    return $self->{main} if @_ < 2;
    $self->{main} = $text;
    return $self;
}

sub allow_log {
    my ($self, $re) = @_;
    push @{ $self->{allow} }, $re;
    return $self;
}

sub expand {
    my ($self, $text) = @_;

    $text =~ s/%%PORT(\d+)%%/$self->_port($1)/ge;
    $text =~ s/%%DIR%%/$self->{dir}/g;
    $text =~ s/%%T%%/$TDIR/g;

    return $text;
}

sub _conf_text {
    my ($self) = @_;

    my $d = $self->{dir};
    my $load = $self->{module} ? persona_module_conf() : '';
    my $user = '';

    if ($> == 0) {
        my $group = getgrnam('nogroup') ? 'nogroup' : 'nobody';
        $user = "user nobody $group;\n";
    }

    return $self->expand(<<"EOF");
$load$user
$self->{main}

worker_processes $self->{workers};
pid $d/nginx.pid;
error_log $d/error.log notice;

events {
    worker_connections 1024;
}

http {
    access_log $d/access.log;
    client_body_temp_path $d/tmp/client_body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;

    default_type application/octet-stream;
    types {
        text/html html;
        text/plain txt;
        text/css css;
        application/javascript js;
        application/json json;
    }

$self->{conf}
}
EOF
}

sub write_conf {
    my ($self) = @_;
    $self->{conf_text} = $self->_conf_text;
    return $self->write_file('nginx.conf', $self->{conf_text});
}

sub conf_line {
    my ($self, $re) = @_;

    my @l = split /\n/, $self->_conf_text;

    for my $i (0 .. $#l) {
        return $i + 1 if $l[$i] =~ $re;
    }

    return undef;
}

sub ssl_cert {
    my ($self, $name) = @_;

    $name //= 'localhost';

    my ($crt, $key) = map { "$self->{dir}/$name.$_" } qw(crt key);
    my @cmd = ('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:prime256v1', '-nodes', '-days', '7',
        '-subj', "/CN=$name", '-keyout', $key, '-out', $crt);

    my ($rc, $out) = _run(@cmd);
    die "openssl failed ($rc): $out" if $rc != 0;
    chmod 0644, $crt, $key;

    return ($crt, $key);
}

# runs a command, returns its exit code and its output (stdout + stderr)
sub _run {
    my (@cmd) = @_;

    my $pid = open(my $fh, '-|') // die "fork: $!\n";

    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;

        # nginx takes NGINX for sockets inherited from a binary upgrade,
        # and then neither daemonizes nor trusts its configuration
        delete $ENV{NGINX};
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        syswrite STDOUT, "cannot run $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    local $/;
    my $out = <$fh> // '';
    close $fh;

    return ($? >> 8 || ($? & 127 ? 128 + ($? & 127) : 0), $out);
}

sub nginx_cmd {
    my ($self, @args) = @_;
    my $d = $self->{dir};
    return ($self->{nginx}, '-p', "$d/", '-c', "$d/nginx.conf",
        '-e', "$d/error.log", @args);
}

sub nginx_t {
    my ($self) = @_;

    $self->write_conf;

    # nginx -t logs its verdict to the -e file and writes the pid file:
    # keep both away from a running nginx
    my @cmd = $self->nginx_cmd;
    $cmd[-1] = "$self->{dir}/nginx-t.log";
    my ($rc, $out) = _run(@cmd, '-t');

    if ($self->{started}) {
        $self->write_file('nginx.pid', "$self->{master}\n");
    }

    return ($rc, $out);
}

# --- processes ---

sub _proc_stat {
    my ($pid) = @_;

    open my $fh, '<', "/proc/$pid/stat" or return;
    my $line = <$fh> // return;
    my ($state, $ppid) = $line =~ /^\d+ \(.*\) (\S) (\d+)/s or return;

    return ($state, $ppid);
}

sub _alive {
    my ($pid) = @_;
    my ($state) = _proc_stat($pid);
    return defined $state && $state ne 'Z';
}

sub _children {
    my ($master) = @_;

    my @c;

    opendir my $dh, '/proc' or return ();

    for my $pid (grep { /^\d+$/ } readdir $dh) {
        my ($state, $ppid) = _proc_stat($pid);
        push @c, $pid if defined $ppid && $ppid == $master && $state ne 'Z';
    }

    return @c;
}

sub master_pid {
    my ($self) = @_;

    return $self->{master} if $self->{started};

    open my $fh, '<', "$self->{dir}/nginx.pid" or return;
    my $pid = <$fh> // return;
    return $pid =~ /^(\d+)$/ ? $1 : undef;
}

sub worker_pids {
    my ($self) = @_;

    my $master = $self->master_pid or return ();
    my (@w, $log, %started, %leaving);

    for my $pid (_children($master)) {
        open my $fh, '<', "/proc/$pid/cmdline" or next;
        my $cmd = <$fh> // '';

        if ($cmd =~ / process/) {
            push @w, $pid
                if $cmd =~ /worker process/ && $cmd !~ /shutting down/;
            next;
        }

        # no title: nginx runs under a wrapper (valgrind)
        unless (defined $log) {
            $log = $self->error_log;
            %started = map { $_ => 1 }
                $log =~ /start worker process (\d+)$/mg;
            %leaving = map { $_ => 1 }
                $log =~ /\] (\d+)#\d+: (?:gracefully shutting down|exiting)$/mg;
        }

        push @w, $pid if $started{$pid} && !$leaving{$pid};
    }

    @w = sort { $a <=> $b } @w;

    return @w;
}

sub _log_tail {
    my ($self) = @_;

    my @l = split /\n/, $self->error_log;
    splice @l, 0, @l - 20 if @l > 20;

    return join '', map { "    $_\n" } @l;
}

# waits, or dies with the end of error.log
sub _wait {
    my ($self, $what, $timeout, $cond) = @_;

    eval { wait_for($what, $timeout, $cond) } and return 1;
    die $@ . "error.log ends with:\n" . $self->_log_tail;
}

sub _listen_addrs {
    my ($self) = @_;

    my @a;

    for my $line (split /\n/, $self->{conf_text}) {
        next if $line =~ /^\s*#/;

        while ($line =~ /(?:^|[;{])\s*listen\s+([^\s;]+)([^;]*)/g) {
            my ($addr, $params) = ($1, $2);

            next if $params =~ /\budp\b/ || $addr =~ /^unix:/;

            if ($addr =~ /^\[([^\]]+)\]:(\d+)$/) {
                push @a, [ $1, $2 ];
            } elsif ($addr =~ /^([^:]+):(\d+)$/) {
                push @a, [ $1 =~ /^(\*|0\.0\.0\.0|localhost)$/
                    ? '127.0.0.1' : $1, $2 ];
            } elsif ($addr =~ /^(\d+)$/) {
                push @a, [ '127.0.0.1', $1 ];
            }
        }
    }

    return @a;
}

sub _wait_listening {
    my ($self) = @_;

    for my $a ($self->_listen_addrs) {
        my ($host, $port) = @$a;
        $self->_wait("$host:$port to accept connections", 10, sub {
            my $s = IO::Socket::IP->new(PeerHost => $host,
                PeerPort => $port, Proto => 'tcp', Timeout => 1);
            return defined $s;
        });
    }
}

sub start {
    my ($self) = @_;

    die "nginx is already running\n" if $self->{started};

    my ($rc, $out);

    for my $attempt (1 .. 5) {
        $self->write_conf;
        unlink "$self->{dir}/nginx.pid";

        ($rc, $out) = _run($self->nginx_cmd);
        last if $rc == 0;

        # a port taken by someone else since it was found free
        my %index;
        @index{ @{ $self->{ports} } } = 0 .. $#{ $self->{ports} };
        my @busy = grep { defined && !$self->{port_seen}{$_} }
            map { $index{$_} } $out =~ /bind\(\) to \S+:(\d+) failed \(98:/g;

        last unless @busy && $attempt < 5;

        $self->{ports}[$_] = free_port() for @busy;

        # the failed attempt's complaints are not the test's problem
        $self->{allow_lines}{$_} = 1
            for grep { /\[emerg\]/ } split /\n/, $self->error_log;
    }

    die "nginx failed to start (exit code $rc):\n$out"
        . "error.log ends with:\n" . $self->_log_tail
        if $rc != 0;

    my $pid;
    $self->_wait('the pid file', 10, sub {
        $pid = $self->master_pid;
        return defined $pid && _alive($pid);
    });

    $self->{master} = $pid;
    $self->{started} = 1;

    $self->_wait("$self->{workers} worker(s)", 10,
        sub { $self->worker_pids >= $self->{workers} });

    $self->_wait_listening;

    return $self;
}

sub reload {
    my ($self, %o) = @_;

    die "reload: nginx is not running\n" unless $self->{started};

    my %old = map { $_ => 1 } $self->worker_pids;
    my $offset = (-s "$self->{dir}/error.log") || 0;

    $self->write_conf;
    kill 'HUP', $self->{master} or die "reload: cannot signal nginx: $!\n";

    my $refused;

    $self->_wait('workers with the new configuration', 30, sub {
        my $log = $self->error_log;
        my @l = split /\n/, substr($log, $offset <= length $log ? $offset : 0);
        my @emerg = grep { /\[emerg\]/ } @l;

        if (@emerg) {
            $refused = \@emerg;
            return 1;
        }

        return grep({ !$old{$_} } $self->worker_pids) >= $self->{workers};
    });

    if ($refused) {
        die "reload refused:\n" . join("\n", @$refused) . "\n"
            unless $o{allow_failure};

        $self->{allow_lines}{$_} = 1 for @$refused;
        return 0;
    }

    $self->_wait('the previous workers to exit', 30,
        sub { !grep { _alive($_) } keys %old });

    $self->_wait_listening;

    return 1;
}

sub reopen {
    my ($self) = @_;

    die "reopen: nginx is not running\n" unless $self->{started};

    my $log = "$self->{dir}/error.log";
    my $want = 1 + $self->{workers};

    # the lines announcing the reopening go to the file open before it
    if (open my $fh, '<', $log) {
        seek $fh, 0, SEEK_END;
        kill 'USR1', $self->{master};

        my $seen = 0;
        $self->_wait('logs to be reopened', 10, sub {
            # "signal 10 (SIGUSR1) received from N, reopening logs"
            # comes first, before the process reopens anything
            while (my $l = <$fh>) { $seen++ if $l =~ /#\d+: reopening logs$/ }
            seek $fh, 0, 1;
            return $seen >= $want;
        });

    } else {
        kill 'USR1', $self->{master};
        $self->_wait('error.log to be reopened', 10, sub { -e $log });
    }

    return $self;
}

sub _stop_nginx {
    my ($self, $timeout) = @_;

    return 1 unless $self->{started};
    $self->{started} = 0;

    my $pid = $self->{master};
    kill 'QUIT', $pid;

    return 1 if eval { wait_for('nginx to exit', $timeout,
        sub { !_alive($pid) }) };

    my @workers = _children($pid);
    kill 'KILL', $pid, @workers;

    return 0;
}

sub stop {
    my ($self, %o) = @_;

    my $was = $self->{started};
    my $timeout = $o{timeout} // 30;

    # one assertion, as a plan expects: a hang only adds a failure
    if ($was && !$self->_stop_nginx($timeout)) {
        ok(0, "nginx exited within ${timeout}s after QUIT");
        diag($self->_log_tail);
    }

    $self->stop_backends;

    return $was ? $self->check_error_log : 1;
}

sub stop_backends {
    my ($self) = @_;
    $_->stop for @{ $self->{backends} };
    $self->{backends} = [];
}

# every child of the master that is not shutting down: pid => its role
# as the process title says it ("worker", "cache manager", "cache loader")
sub processes {
    my ($self) = @_;

    my $master = $self->master_pid or return ();
    my (%p, $log, %started, %leaving);

    for my $pid (_children($master)) {
        open my $fh, '<', "/proc/$pid/cmdline" or next;
        my $cmd = <$fh> // '';

        if ($cmd =~ / process/) {
            next if $cmd =~ /shutting down/;
            $p{$pid} = $1 if $cmd =~ /nginx: (.+?) process/;
            next;
        }

        # no title: nginx runs under a wrapper (valgrind); error.log
        # names the role of each process the master started
        unless (defined $log) {
            $log = $self->error_log;
            %started = reverse $log =~
                /start (worker|cache manager|cache loader) process (\d+)$/mg;
            %leaving = map { $_ => 1 }
                $log =~ /\] (\d+)#\d+: (?:gracefully shutting down|exiting)$/mg;
        }

        $p{$pid} = $started{$pid} if $started{$pid} && !$leaving{$pid};
    }

    return %p;
}

# at the end of a test or when an object goes away: stop everything,
# and add an assertion only if something went wrong
sub _finish {
    my ($self) = @_;

    my $was = $self->{started};
    my $exited = $self->_stop_nginx(10);

    $self->stop_backends;
    return unless $was;

    ok(0, 'nginx exited within 10s at the end of the test') unless $exited;

    my @bad = $self->_new_problems;
    if (@bad) {
        ok(0, 'error.log has no alert, crit, emerg or crash');
        diag(join "\n", @bad);
    }
}

sub DESTROY {
    my ($self) = @_;

    return if ($self->{owner} // 0) != $$;
    local ($?, $@, $!);

    if (${^GLOBAL_PHASE} eq 'DESTRUCT') {
        $self->_stop_nginx(5) if $self->{started};
        $self->stop_backends;
        return;
    }

    $self->_finish;
}

END {
    if ($$ == $OWNER) {
        local ($?, $@, $!);

        for my $t (grep { defined } values %LIVE) {
            eval { $t->_finish };
        }

        my $tb = Test::More->builder;
        my $keep = $ENV{PERSONA_TEST_KEEP} || !$tb->is_passing;

        for my $d (@DIRS) {
            if ($keep) {
                $tb->diag("test files kept in $d");
            } else {
                remove_tree($d);
            }
        }

        for my $port (keys %RESERVED) {
            unlink "$PORT_DIR/$port" if $RESERVED{$port} == $$;
        }
    }
}

# --- error.log ---

sub error_log {
    my ($self) = @_;
    return $self->read_file('error.log') // '';
}

my $PROBLEM = qr/\[(?:alert|crit|emerg)\]|exited on signal
    |AddressSanitizer|LeakSanitizer|^\S+:\d+:\d+:\ runtime\ error:/x;

sub error_log_problems {
    my ($text, @allow) = @_;

    my @bad = grep { $_ =~ $PROBLEM } split /\n/, $text // '';

    for my $re (@allow) {
        @bad = grep { $_ !~ $re } @bad;
    }

    return @bad;
}

sub _new_problems {
    my ($self, $text) = @_;

    unless (defined $text) {
        my $log = $self->error_log;
        my $from = $self->{log_checked} <= length $log
            ? $self->{log_checked} : 0;
        $text = substr($log, $from);
        $self->{log_checked} = length $log;
    }

    return grep { !$self->{allow_lines}{$_} }
        error_log_problems($text, @{ $self->{allow} });
}

sub check_error_log {
    my ($self, @args) = @_;

    my @bad;

    if (ref $self && eval { $self->isa(__PACKAGE__) }) {
        @bad = $self->_new_problems(@args);
    } else {
        @bad = error_log_problems($self, @args);
    }

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    ok(!@bad, 'error.log has no alert, crit, emerg or crash')
        or diag(join "\n", @bad);

    return !@bad;
}

# --- HTTP client ---

# the request's header lines as name/value pairs, in order
sub _header_pairs {
    my ($h) = @_;

    my @pairs;

    $h //= {};

    if (ref $h eq 'ARRAY') {
        @pairs = @$h;
    } else {
        for my $k (sort keys %$h) {
            my $v = $h->{$k};
            push @pairs, map { ($k, $_) } ref $v eq 'ARRAY' ? @$v : ($v);
        }
    }

    return @pairs;
}

# the body as the list of pieces written one at a time
sub _body_pieces {
    my ($body) = @_;
    return () unless defined $body;
    return ref $body eq 'ARRAY' ? @$body : ($body);
}

# the request as the list of writes: the whole request, or with a body
# given in pieces (or chunked) the head and then each piece
sub _build_request {
    my ($method, $uri, %o) = @_;

    my $version = $o{http} // '1.1';
    my @pairs = _header_pairs($o{headers});
    my @pieces = _body_pieces($o{body});

    my %given;
    for (my $i = 0; $i < @pairs; $i += 2) { $given{lc $pairs[$i]} = 1 }

    my @defaults;
    push @defaults, 'User-Agent' => $UA;
    push @defaults, Host => 'localhost' if $version ne '1.0';
    push @defaults, Connection => 'close' if $version ne '1.0';
    push @defaults, 'Transfer-Encoding' => 'chunked' if $o{chunked};
    push @defaults, 'Content-Length' => length join '', @pieces
        if defined $o{body} && !$given{'transfer-encoding'} && !$o{chunked};

    while (my ($k, $v) = splice @defaults, 0, 2) {
        unshift @pairs, $k, $v unless $given{lc $k};
    }

    my $raw = "$method $uri HTTP/$version\r\n";
    while (my ($k, $v) = splice @pairs, 0, 2) {
        $raw .= "$k: $v\r\n" if defined $v;
    }
    $raw .= "\r\n";

    if ($o{chunked}) {
        @pieces = map { sprintf("%x\r\n%s\r\n", length, $_) }
            grep { length } @pieces;
        push @pieces, "0\r\n\r\n";
    }

    return ($raw . join '', @pieces) unless ref $o{body} eq 'ARRAY';
    return ($raw, @pieces);
}

sub _connect {
    my ($port, %o) = @_;

    my $addr = '127.0.0.1:' . $port;
    my $s;

    if ($o{rcvbuf}) {
        # a small receive buffer must be set before the handshake, where
        # the window is agreed
        $s = IO::Socket::INET->new(Proto => 'tcp')
            or die "request: socket: $!\n";
        setsockopt($s, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(),
            $o{rcvbuf}) or die "request: SO_RCVBUF: $!\n";
        $s->connect(Socket::pack_sockaddr_in($port,
            Socket::inet_aton('127.0.0.1')))
            or die "request: cannot connect to $addr: $!\n";
    }

    if ($o{ssl}) {
        require IO::Socket::SSL;
        my %alpn = $o{alpn} ? (SSL_alpn_protocols => $o{alpn}) : ();
        my %tls = (SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
            SSL_hostname => $o{sni} // '', %alpn);
        $s = $s ? IO::Socket::SSL->start_SSL($s, %tls, Timeout => 10)
            : IO::Socket::SSL->new(PeerAddr => $addr, Timeout => 10, %tls);
        $s or die "request: TLS connection to $addr failed: "
            . IO::Socket::SSL::errstr() . "\n";
    } elsif (!$s) {
        $s = IO::Socket::INET->new(PeerAddr => $addr, Proto => 'tcp',
            Timeout => 10)
            or die "request: cannot connect to $addr: $@\n";
    }

    return $s;
}

# writes everything, or returns false when the peer has gone
sub _write_all {
    my ($s, $data) = @_;

    for (my $off = 0; $off < length $data; ) {
        my $n = syswrite($s, $data, length($data) - $off, $off);
        next if !defined $n && $! == EINTR;
        return 0 unless $n;
        $off += $n;
    }

    return 1;
}

# reading a response: $rd holds the socket, the bytes not parsed yet
# (buf) and every byte read (raw)
sub _fill {
    my ($rd) = @_;

    return 0 if $rd->{eof};

    my $s = $rd->{sock};

    while (1) {
        my $left = $rd->{deadline} - time;
        my $ready = $s->isa('IO::Socket::SSL') && $s->pending
            || $left > 0 && IO::Select->new($s)->can_read($left);

        unless ($ready) {
            $rd->{timed_out} = 1;
            $rd->{eof} = 1;
            return 0;
        }

        my $n = sysread($s, my $data, $rd->{read_size} // 65536);
        sleep $rd->{read_pause} if $rd->{read_pause} && $n;

        if (!defined $n) {
            next if $! == EINTR || ($s->isa('IO::Socket::SSL')
                && $IO::Socket::SSL::SSL_ERROR
                && $IO::Socket::SSL::SSL_ERROR
                    == IO::Socket::SSL::SSL_WANT_READ());
            $rd->{eof} = 1;
            return 0;
        }

        if ($n == 0) {
            $rd->{eof} = 1;
            return 0;
        }

        $rd->{buf} .= $data;
        $rd->{raw} .= $data;
        return 1;
    }
}

sub _fill_until {
    my ($rd, $re) = @_;

    until ($rd->{buf} =~ $re) {
        _fill($rd) or return 0;
    }

    return 1;
}

sub _fill_n {
    my ($rd, $n) = @_;

    while (length $rd->{buf} < $n) {
        _fill($rd) or return 0;
    }

    return 1;
}

sub _read_one {
    my ($rd, $head) = @_;

    my $r = bless { status => 0, headers => {}, body => '' },
        'Persona::Test::Response';

    while (1) {
        unless (_fill_until($rd, qr/\r?\n\r?\n/)) {
            return undef unless length $rd->{buf};

            # a response cut short in its header
            $r->{incomplete} = 1;
            $rd->{buf} = '';
            return $r;
        }

        $rd->{buf} =~ s/^(.*?)\r?\n\r?\n//s;
        my ($status, @lines) = split /\r?\n/, $1;

        @$r{qw(version status reason)} =
            $status =~ m{^HTTP/(\d\.\d) (\d{3})(?: ([^\r\n]*))?};
        $r->{status} //= 0;
        $r->{headers} = {};

        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
            push @{ $r->{headers}{lc $k} }, $v;
        }

        # interim responses (100 Continue) precede the real one
        last unless $r->{status} =~ /^1/ && $r->{status} != 101;
    }

    my $te = join ',', @{ $r->{headers}{'transfer-encoding'} // [] };
    my $len = $r->{headers}{'content-length'};

    if ($head || $r->{status} =~ /^(?:1\d\d|204|304)$/) {
        return $r;
    }

    if ($te =~ /chunked/i) {
        my @chunks;

        while (1) {
            unless (_fill_until($rd, qr/\r?\n/)) {
                $r->{incomplete} = 1;
                last;
            }

            unless ($rd->{buf} =~ s/^([0-9a-fA-F]+)[^\r\n]*\r?\n//) {
                $r->{incomplete} = $r->{bad_chunk} = 1;
                last;
            }

            my $n = hex $1;

            if ($n == 0) {
                # optional trailers, then an empty line
                if (_fill_until($rd, qr/^\r?\n|\r?\n\r?\n/)) {
                    $rd->{buf} =~ s/^(?:.*?\r?\n)??\r?\n//s;
                } else {
                    $r->{incomplete} = 1;
                }
                last;
            }

            unless (_fill_n($rd, $n)) {
                push @chunks, $rd->{buf};
                $rd->{buf} = '';
                $r->{incomplete} = 1;
                last;
            }

            push @chunks, substr($rd->{buf}, 0, $n, '');
            _fill_until($rd, qr/^\r?\n/);
            $rd->{buf} =~ s/^\r?\n//;
        }

        $r->{chunks} = \@chunks;
        $r->{body} = join '', @chunks;

    } elsif (defined $len) {
        $len = $len->[0];
        $r->{incomplete} = 1 unless _fill_n($rd, $len);
        $r->{body} = substr($rd->{buf}, 0, $len, '');

    } else {
        1 while _fill($rd);
        $r->{body} = $rd->{buf};
        $rd->{buf} = '';
    }

    return $r;
}

sub request {
    my ($self, $method, $uri, %o) = @_;

    local $SIG{PIPE} = 'IGNORE';

    my $port = $o{port} // $self->port(0);

    return Persona::Test::H2::request($port, $method, $uri, %o)
        if ($o{http} // '') eq '2';

    my $s = _connect($port, %o);
    my @writes = defined $o{raw}
        ? (ref $o{raw} ? @{ $o{raw} } : ($o{raw}))
        : _build_request($method, $uri, %o);

    for my $i (0 .. $#writes) {
        sleep($o{delay} // 0.2) if $i > 0;
        _write_all($s, $writes[$i]) or last;
    }

    my $rd = { sock => $s, buf => '', raw => '', eof => 0,
        deadline => time + ($o{timeout} // 30) };

    if ($o{slow_read}) {
        @$rd{qw(read_size read_pause)} = @{ $o{slow_read} };
    }
    my $head = $method eq 'HEAD';
    my $all = defined $o{raw} || $o{read_all};

    my $res = _read_one($rd, $head);

    my @all = $res // ();

    if ($all && $res) {
        1 while _fill($rd);
        while (length $rd->{buf}) {
            push @all, _read_one($rd, $head) // last;
        }
    }

    $res //= bless { status => 0, headers => {}, body => '' },
        'Persona::Test::Response';

    $res->{raw} = $rd->{raw};
    $res->{timed_out} = 1 if $rd->{timed_out};
    $res->{responses} = @all ? \@all : [ $res ];

    close $s;

    return $res;
}

sub requests {
    my ($self, $n, @args) = @_;
    return map { $self->request(@args) } 1 .. $n;
}

sub header {
    my ($res, $name) = @_;
    return ($res->{headers}{lc $name} // [])->[0];
}

sub _header_text {
    my ($res, $name) = @_;
    my $v = $res->{headers}{lc $name};
    return defined $v ? join("\n", @$v) : undef;
}

sub run_blocks {
    my ($self, $blocks) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    my @res;

    for my $b (@$blocks) {
        my $method = $b->{method} // 'GET';
        my $uri = $b->{uri} // '/';
        my $n = $b->{name} // "$method $uri";

        if (defined $b->{conf}) {
            $self->stop if $self->{started};
            $self->conf($b->{conf});
            $self->start;
        }

        my $res = $self->request($method, $uri,
            map { exists $b->{$_} ? ($_ => $b->{$_}) : () }
                qw(headers body port http ssl sni raw timeout read_all
                    chunked delay slow_read rcvbuf));
        push @res, $res;

        my $checks = 0;

        if (defined $b->{status}) {
            is($res->{status}, $b->{status}, "$n: status");
            $checks++;
        }

        for my $h (sort keys %{ $b->{headers_is} // {} }) {
            is(_header_text($res, $h), $b->{headers_is}{$h}, "$n: $h");
            $checks++;
        }

        for my $h (sort keys %{ $b->{headers_like} // {} }) {
            like(_header_text($res, $h) // '', $b->{headers_like}{$h},
                "$n: $h");
            $checks++;
        }

        for my $h (sort keys %{ $b->{headers_unlike} // {} }) {
            unlike(_header_text($res, $h) // '', $b->{headers_unlike}{$h},
                "$n: $h");
            $checks++;
        }

        for my $h (@{ $b->{header_absent} // [] },
            @{ $b->{headers_absent} // [] })
        {
            ok(!exists $res->{headers}{lc $h}, "$n: no $h")
                or diag("$h: " . _header_text($res, $h));
            $checks++;
        }

        if (exists $b->{body_is}) {
            is($res->{body}, $b->{body_is}, "$n: body");
            $checks++;
        }

        if (defined $b->{body_like}) {
            like($res->{body}, $b->{body_like}, "$n: body");
            $checks++;
        }

        if (defined $b->{body_unlike}) {
            unlike($res->{body}, $b->{body_unlike}, "$n: body");
            $checks++;
        }

        if (defined $b->{cookie_count}) {
            is(scalar @{ $res->{headers}{'set-cookie'} // [] },
                $b->{cookie_count}, "$n: Set-Cookie count");
            $checks++;
        }

        if (defined $b->{check}) {
            $b->{check}->($res);
            $checks++;
        }

        die "block \"$n\" has no expectation\n" unless $checks;
    }

    return @res;
}

# --- what a site has around the module ---

# A caching nginx, without the module, in front of port 0 of this one,
# started: every 200 cached ten minutes, X-Cache says HIT or MISS.

sub cache_front {
    my ($self) = @_;

    my $front = Persona::Test->new(module => 0);
    my $port = $self->port(0);

    $front->conf(<<"CONF");
    proxy_cache_path %%DIR%%/cache keys_zone=front:1m;

    server {
        listen 127.0.0.1:%%PORT0%%;

        location / {
            proxy_pass http://127.0.0.1:$port;
            proxy_cache front;
            proxy_cache_valid 200 10m;
            add_header X-Cache \$upstream_cache_status always;
        }
    }
CONF

    $front->start;

    return $front;
}

# Visitors, one in each variant named: ids from $base up, whose variant
# GET $uri answers in its body; a hash of variant => id.

sub visitors_in {
    my ($self, $uri, $base, @variants) = @_;

    my %who;

    for my $k (1 .. 64) {
        my $id = sprintf '%032x', $base + $k;
        my $v = $self->request(GET => $uri,
            headers => { Cookie => "persona=$id" })->{body};
        chomp $v;
        $who{$v} //= $id;
        last unless grep { !$who{$_} } @variants;
    }

    return { map { $_ => $who{$_} } @variants };
}


# --- backends ---

sub backend {
    my ($self, $handler, %o) = @_;

    my $b = Persona::Backend::HTTP->new($handler, %o);
    push @{ $self->{backends} }, $b;

    return $b;
}

sub fastcgi_backend {
    my ($self, $handler, %o) = @_;

    my $b = Persona::Backend::FastCGI->new($handler, %o);
    push @{ $self->{backends} }, $b;

    return $b;
}

sub udp_listener {
    my ($self, %o) = @_;

    my $port = $o{port} // free_port();
    my $u = Persona::Backend::UDP->new(%o, port => $port,
        file => "$self->{dir}/udp-$port.log");
    push @{ $self->{backends} }, $u;

    return $u;
}


package Persona::Test::H2;

# A small HTTP/2 client: one request per connection, cleartext with prior
# knowledge (nginx "listen ... http2" without ssl) or TLS with ALPN "h2"
# (ssl => 1).  The request's headers are sent as HPACK literals; the
# response's are decoded with Protocol::HTTP2's HPACK decoder.  A body
# given as a list of pieces goes out as one DATA frame per piece, with
# a pause between them, as a browser may send it.

use strict;
use warnings;

use Errno qw(EINTR);
use IO::Select;
use Time::HiRes qw(time sleep);

use constant {
    DATA => 0, HEADERS => 1, RST_STREAM => 3, SETTINGS => 4, PING => 6,
    GOAWAY => 7, WINDOW_UPDATE => 8, CONTINUATION => 9,
    END_STREAM => 0x1, ACK => 0x1, END_HEADERS => 0x4, PADDED => 0x8,
    PRIORITY => 0x20, MAX_FRAME => 16384, WINDOW => 1 << 30,
};

sub _frame {
    my ($type, $flags, $stream, $payload) = @_;
    my $len = length $payload;
    return pack('nCCCN', $len >> 8, $len & 0xff, $type, $flags, $stream)
        . $payload;
}

sub _int {
    my ($n, $bits, $first) = @_;

    my $max = (1 << $bits) - 1;
    return chr($first | $n) if $n < $max;

    my $out = chr($first | $max);
    $n -= $max;
    while ($n >= 0x80) { $out .= chr(($n & 0x7f) | 0x80); $n >>= 7 }

    return $out . chr($n);
}

# literal header field without indexing, new name, no Huffman coding
sub _hpack {
    my (@pairs) = @_;

    my $out = '';
    while (my ($k, $v) = splice @pairs, 0, 2) {
        $out .= "\0" . _int(length $k, 7, 0) . $k . _int(length $v, 7, 0) . $v;
    }

    return $out;
}

{
    # what Protocol::HTTP2's decoder asks of a connection
    package Persona::Test::H2::Decoder;

    sub new {
        return bless { context => { header_table => [], ht_size => 0,
            max_ht_size => 4096, settings => { 1 => 4096 },
            emitted_headers => [] } }, shift;
    }
    sub decode_context { $_[0]{context} }
    sub error { $_[0]{error} = $_[1] }
    sub stream_error { $_[0]{error} = $_[2] }
}

sub request {
    my ($port, $method, $uri, %o) = @_;

    require Protocol::HTTP2::HeaderCompression;

    my $s = Persona::Test::_connect($port, %o,
        $o{ssl} ? (alpn => [ 'h2' ]) : ());

    my @pieces = Persona::Test::_body_pieces($o{body});
    my @user = Persona::Test::_header_pairs($o{headers});
    my (@pairs, %given, $authority);

    while (my ($k, $v) = splice @user, 0, 2) {
        $k = lc $k;
        $given{$k} = 1;
        next unless defined $v;
        if ($k eq 'host') { $authority = $v; next }
        next if $k =~ /^(?:connection|keep-alive|transfer-encoding)$/;
        push @pairs, $k, $v;
    }

    # a browser's, as over HTTP/1.x: without one, a client is a bot
    push @pairs, 'user-agent', $Persona::Test::UA
        unless $given{'user-agent'};
    push @pairs, 'content-length', length join '', @pieces
        if defined $o{body} && !exists $given{'content-length'};

    my $block = _hpack(':method' => $method,
        ':scheme' => $o{ssl} ? 'https' : 'http',
        ':authority' => $authority // 'localhost', ':path' => $uri, @pairs);

    my $out = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        . _frame(SETTINGS, 0, 0, pack('nN', 2, 0) . pack('nN', 4, WINDOW))
        . _frame(WINDOW_UPDATE, 0, 0, pack('N', WINDOW - 65535));

    my @parts = unpack '(a' . MAX_FRAME . ')*', $block;
    for my $i (0 .. $#parts) {
        my $flags = ($i == $#parts ? END_HEADERS : 0)
            | ($i == 0 && !@pieces ? END_STREAM : 0);
        $out .= _frame($i == 0 ? HEADERS : CONTINUATION, $flags, 1,
            $parts[$i]);
    }

    Persona::Test::_write_all($s, $out);

    for my $i (0 .. $#pieces) {
        sleep($o{delay} // 0.2) if $i > 0;
        my @d = unpack '(a' . MAX_FRAME . ')*', $pieces[$i];
        @d = ('') unless @d;
        for my $j (0 .. $#d) {
            my $last = $i == $#pieces && $j == $#d;
            Persona::Test::_write_all($s,
                _frame(DATA, $last ? END_STREAM : 0, 1, $d[$j])) or last;
        }
    }

    my $res = bless { status => 0, headers => {}, body => '', version => '2',
        raw => '', frames => [] }, 'Persona::Test::Response';

    my $dec = Persona::Test::H2::Decoder->new;
    my ($buf, $hblock, $done) = ('', undef, 0);
    my $deadline = time + ($o{timeout} // 30);
    my $sel = IO::Select->new($s);

    READ: until ($done) {
        while (length $buf >= 9) {
            my ($l1, $l2, $type, $flags, $stream) = unpack 'nCCCN', $buf;
            my $len = $l1 << 8 | $l2;
            last if length $buf < 9 + $len;

            my $payload = substr($buf, 9, $len);
            substr($buf, 0, 9 + $len, '');
            $stream &= 0x7fffffff;
            push @{ $res->{frames} }, [ $type, $flags, $stream, $len ];

            if ($type == SETTINGS && !($flags & ACK)) {
                Persona::Test::_write_all($s, _frame(SETTINGS, ACK, 0, ''));
            } elsif ($type == PING && !($flags & ACK)) {
                Persona::Test::_write_all($s, _frame(PING, ACK, 0, $payload));
            } elsif ($type == GOAWAY) {
                $res->{goaway} = unpack 'x4N', $payload;
                $done = 1;
            } elsif ($stream != 1) {
                next;
            } elsif ($type == RST_STREAM) {
                $res->{reset} = unpack 'N', $payload;
                $done = 1;
            } elsif ($type == HEADERS || $type == CONTINUATION) {
                if ($type == HEADERS) {
                    my $pad = 0;
                    if ($flags & PADDED) {
                        $pad = ord $payload;
                        substr($payload, 0, 1, '');
                    }
                    substr($payload, 0, 5, '') if $flags & PRIORITY;
                    substr($payload, -$pad, $pad, '') if $pad;
                    $hblock = { data => '', end => $flags & END_STREAM };
                }
                $hblock->{data} .= $payload;

                if ($flags & END_HEADERS) {
                    _headers($res, $dec, $hblock->{data});
                    $done = 1 if $hblock->{end};
                }
            } elsif ($type == DATA) {
                if ($flags & PADDED) {
                    my $pad = ord $payload;
                    $payload = substr($payload, 1, length($payload) - 1 - $pad);
                }
                push @{ $res->{data} }, $payload;
                $res->{body} .= $payload;
                $done = 1 if $flags & END_STREAM;
            }

            last READ if $done;
        }

        my $left = $deadline - time;
        my $ready = $s->isa('IO::Socket::SSL') && $s->pending
            || $left > 0 && $sel->can_read($left);

        unless ($ready) {
            $res->{timed_out} = $res->{incomplete} = 1;
            last;
        }

        my $n = sysread($s, my $data, 65536);
        next if !defined $n && $! == EINTR;

        unless ($n) {
            $res->{incomplete} = 1;
            last;
        }

        $buf .= $data;
        $res->{raw} .= $data;
    }

    $res->{incomplete} = 1 if !$done || $res->{reset}
        || defined $res->{goaway} && !$res->{status};
    $res->{responses} = [ $res ];

    close $s;

    return $res;
}

sub _headers {
    my ($res, $dec, $block) = @_;

    $dec->{context}{emitted_headers} = [];

    my $n = Protocol::HTTP2::HeaderCompression::headers_decode($dec, \$block,
        0, length $block, 1);
    die "HTTP/2: bad header block from the server\n"
        unless defined $n && !$dec->{error};

    my @h = @{ $dec->{context}{emitted_headers} };
    my $trailers = $res->{status} && $res->{status} !~ /^1/;

    while (my ($k, $v) = splice @h, 0, 2) {
        if ($k eq ':status') {
            # an interim response (100) is followed by the real one
            $res->{status} = $v;
            $res->{headers} = {} if $v =~ /^1/;
            next;
        }
        push @{ $res->{ $trailers ? 'trailers' : 'headers' }{$k} }, $v;
    }
}


package Persona::Test::Response;

sub header { Persona::Test::header(@_) }

sub header_values {
    my ($res, $name) = @_;
    return @{ $res->{headers}{lc $name} // [] };
}

1;
