package Persona::Test;

# A small harness for the integration tests: one nginx per test object,
# started from a generated configuration on free ports, real HTTP
# requests, and backends (HTTP and FastCGI) run by the test itself.
#
#     my $t = Persona::Test->new(workers => 2);
#     $t->write_file('html/index.html', '...');
#     $t->conf(<<'EOF');               # the inside of http { }
#         server { listen 127.0.0.1:%%PORT0%%; root %%DIR%%/html; }
#     EOF
#     $t->start;
#     my $res = $t->request(GET => '/', headers => { Cookie => 'a=b' });
#     is($res->{status}, 200);
#     $t->stop;                         # also checks error.log
#
# Placeholders: %%PORTn%% (a free port), %%DIR%% (the test directory),
# %%T%% (the t/ directory).  The error log fails the test when it holds
# [alert], [crit] or [emerg] lines or a worker exited on a signal.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Test::More;
use Time::HiRes qw(time sleep);

our $TDIR = abs_path(dirname(__FILE__) . '/../..');

# nginx takes an NGINX environment variable for inherited sockets (binary
# upgrade) and then stays in the foreground: never pass one on
delete $ENV{NGINX};

sub new {
    my ($class, %opts) = @_;

    my $dir = tempdir('persona-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $dir;

    my $self = bless {
        dir => $dir,
        workers => $opts{workers} // 1,
        ports => [],
        conf => '',
        main => '',
        pids => [],
        allow => [],
        nginx => $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx',
        module => $ENV{PERSONA_MODULE},
    }, $class;

    mkdir "$dir/tmp";
    chmod 0777, "$dir/tmp";

    return $self;
}

sub dir { $_[0]{dir} }

# a port that was free a moment ago; the same one for the same index
sub port {
    my ($self, $n) = @_;

    until (defined $self->{ports}[$n]) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => 0, Proto => 'tcp', Listen => 1, ReuseAddr => 0)
            or die "no free port: $!";
        my $p = $s->sockport;
        close $s;
        next if grep { defined $_ && $_ == $p } @{ $self->{ports} };
        $self->{ports}[$n] = $p;
    }

    return $self->{ports}[$n];
}

sub write_file {
    my ($self, $name, $content) = @_;

    my $path = "$self->{dir}/$name";
    make_path(dirname($path), { mode => 0755 });
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $content;
    close $fh;
    chmod 0644, $path;

    return $path;
}

sub conf { $_[0]{conf} = $_[1]; $_[0] }
sub main_conf { $_[0]{main} = $_[1]; $_[0] }
sub allow_log { push @{ $_[0]{allow} }, $_[1]; $_[0] }

sub expand {
    my ($self, $text) = @_;

    $text =~ s/%%PORT(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%DIR%%/$self->{dir}/g;
    $text =~ s/%%T%%/$TDIR/g;

    return $text;
}

sub write_conf {
    my ($self) = @_;

    my $d = $self->{dir};
    my $load = $self->{module} ? "load_module $self->{module};\n" : '';
    my $user = $> == 0 ? "user nobody nogroup;\n" : '';

    my $conf = <<"EOF";
$load$user
worker_processes $self->{workers};
pid $d/nginx.pid;
error_log $d/error.log notice;
$self->{main}

events {
    worker_connections 1024;
}

http {
    access_log $d/access.log;
    client_body_temp_path $d/tmp/client;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    default_type application/octet-stream;
    types { text/html html; text/plain txt; }

$self->{conf}
}
EOF

    $self->write_file('nginx.conf', $self->expand($conf));
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

    my @cmd = $self->nginx_cmd('-t');
    my $out = `@cmd 2>&1`;

    return ($? >> 8, $out);
}

sub wait_for {
    my ($what, $timeout, $cond) = @_;

    my $end = time + $timeout;

    while (time < $end) {
        return 1 if $cond->();
        sleep 0.02;
    }

    die "timeout waiting for $what\n";
}

sub listening_ports {
    my ($self) = @_;
    my @p;
    push @p, $1 while $self->{conf} =~ /listen\s+127\.0\.0\.1:%%PORT(\d+)%%/g;
    return map { $self->port($_) } @p;
}

sub start {
    my ($self) = @_;

    $self->write_conf;

    my @cmd = $self->nginx_cmd;
    my $out = `@cmd 2>&1`;

    if ($? != 0) {
        die "nginx failed to start: $out";
    }

    $self->{started} = 1;

    wait_for('nginx pid file', 10, sub { -s "$self->{dir}/nginx.pid" });

    for my $port ($self->listening_ports) {
        wait_for("port $port", 10, sub {
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
            return defined $s;
        });
    }

    wait_for('workers', 10,
        sub { my @w = $self->worker_pids; @w >= $self->{workers} });

    return $self;
}

sub master_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

# workers serving requests: children of the master not shutting down
sub worker_pids {
    my ($self) = @_;
    my $master = $self->master_pid or return ();
    my @w;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        next unless $ppid == $master;
        open my $cf, '<', "/proc/$pid/cmdline" or next;
        my $cmd = <$cf> // '';
        push @w, $pid if $cmd =~ /worker process/
            && $cmd !~ /shutting down/;
    }

    return sort @w;
}

sub reload {
    my ($self) = @_;

    my @old = $self->worker_pids;
    my @cmd = $self->nginx_cmd('-s', 'reload');
    $self->write_conf;
    system(@cmd) == 0 or die "reload failed";

    my %old = map { $_ => 1 } @old;

    wait_for('new workers', 10, sub {
        my @new = $self->worker_pids;
        return @new >= $self->{workers} && !grep { $old{$_} } @new;
    });

    wait_for('old workers to exit', 10,
        sub { !grep { kill 0, $_ } @old });

    return $self;
}

sub reopen {
    my ($self) = @_;
    kill 'USR1', $self->master_pid;
    return $self;
}

sub stop {
    my ($self) = @_;

    return unless $self->{started};
    $self->{started} = 0;

    if (my $pid = $self->master_pid) {
        kill 'QUIT', $pid;
        wait_for('nginx to exit', 20, sub { !kill 0, $pid });
    }

    $self->stop_backends;
    $self->check_error_log;
}

sub error_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/error.log" or return '';
    local $/;
    return <$fh> // '';
}

sub check_error_log {
    my ($self, $text) = @_;

    $text //= $self->error_log;

    my @bad = grep {
        /\[(alert|crit|emerg)\]|exited on signal/
    } split /\n/, $text;

    for my $re (@{ $self->{allow} }) {
        @bad = grep { $_ !~ $re } @bad;
    }

    ok(!@bad, 'error.log has no alert, crit, emerg or crash')
        or diag(join "\n", @bad);

    return !@bad;
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    if ($self->{started}) {
        if (my $pid = $self->master_pid) {
            kill 'TERM', $pid;
        }
    }
    $self->stop_backends;
}

# --- HTTP client ---

sub request {
    my ($self, $method, $uri, %o) = @_;

    my $port = $o{port} // $self->port(0);
    my $s;

    if ($o{ssl}) {
        require IO::Socket::SSL;
        $s = IO::Socket::SSL->new(PeerAddr => "127.0.0.1:$port",
            SSL_verify_mode => 0) or die "ssl connect: $!";
    } else {
        $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
            Proto => 'tcp', Timeout => 10) or die "connect $port: $!";
    }

    my $raw = $o{raw};

    unless (defined $raw) {
        my %h = (Host => 'localhost', Connection => 'close',
            %{ $o{headers} // {} });
        my $body = $o{body};
        $h{'Content-Length'} = length $body if defined $body;
        $raw = "$method $uri HTTP/1.1\r\n";
        for my $k (sort keys %h) {
            for my $v (ref $h{$k} ? @{ $h{$k} } : $h{$k}) {
                $raw .= "$k: $v\r\n";
            }
        }
        $raw .= "\r\n" . ($body // '');
    }

    print $s $raw;

    my $resp = '';
    my $sel = IO::Select->new($s);
    my $end = time + ($o{timeout} // 30);

    while (time < $end) {
        last unless $sel->can_read($end - time);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
    }

    close $s;

    return parse_response($resp, $method eq 'HEAD');
}

sub parse_response {
    my ($resp, $head) = @_;

    my %r = (raw => $resp, headers => {});
    my ($h, $body) = split /\r\n\r\n/, $resp, 2;
    $h //= '';
    my @lines = split /\r\n/, $h;
    my $status = shift @lines // '';
    ($r{status}) = $status =~ m{^HTTP/\d\.\d (\d+)};
    $r{status} //= 0;

    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        push @{ $r{headers}{lc $k} }, $v;
    }

    $body //= '';

    if (!$head && ($r{headers}{'transfer-encoding'}[0] // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($body, 0, $n, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }

    $r{body} = $head ? '' : $body;

    return \%r;
}

sub header {
    my ($res, $name) = @_;
    return ($res->{headers}{lc $name} // [])->[0];
}

# data-driven blocks: { name, method, uri, headers, body, status,
# headers_like => { h => qr// }, header_absent => [h], body_is,
# body_like, body_unlike, port }
sub run_blocks {
    my ($self, $blocks) = @_;

    for my $b (@$blocks) {
        my $n = $b->{name} // $b->{uri};
        my $res = $self->request($b->{method} // 'GET', $b->{uri},
            headers => $b->{headers}, body => $b->{body},
            port => $b->{port});

        is($res->{status}, $b->{status}, "$n: status")
            if defined $b->{status};
        is($res->{body}, $b->{body_is}, "$n: body")
            if defined $b->{body_is};
        like($res->{body}, $b->{body_like}, "$n: body")
            if defined $b->{body_like};
        unlike($res->{body}, $b->{body_unlike}, "$n: body")
            if defined $b->{body_unlike};

        for my $h (sort keys %{ $b->{headers_like} // {} }) {
            like(header($res, $h) // '', $b->{headers_like}{$h},
                "$n: $h");
        }

        for my $h (@{ $b->{header_absent} // [] }) {
            ok(!defined header($res, $h), "$n: no $h");
        }
    }
}

# --- backends ---

# an HTTP server in a child process; the handler gets { method, uri,
# headers, body } and returns { status, headers => [..], body, chunks,
# byte_at_a_time, close_delimited }
sub backend {
    my ($self, $handler, %o) = @_;

    my $port = $o{port} // die 'port';
    my $ls = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
        Listen => 128, ReuseAddr => 1, Proto => 'tcp')
        or die "backend listen $port: $!";

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        while (my $c = $ls->accept) {
            serve_http($c, $handler);
            close $c;
        }
        POSIX::_exit(0);
    }

    close $ls;
    push @{ $self->{pids} }, $pid;

    return $pid;
}

sub read_http_request {
    my ($c) = @_;

    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        my $n = sysread($c, $buf, 65536, length $buf);
        return unless $n;
    }

    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my @l = split /\r\n/, $head;
    my ($method, $uri) = (shift @l) =~ /^(\S+) (\S+)/;
    my %h;
    for (@l) { my ($k, $v) = /^([^:]+):\s*(.*)$/ or next; $h{lc $k} = $v }

    my $len = $h{'content-length'} // 0;
    while (length($body) < $len) {
        my $n = sysread($c, $body, $len - length $body, length $body);
        last unless $n;
    }

    return { method => $method, uri => $uri, headers => \%h, body => $body };
}

sub serve_http {
    my ($c, $handler) = @_;

    my $req = read_http_request($c) or return;
    my $r = $handler->($req);

    my @chunks = $r->{chunks} ? @{ $r->{chunks} } : ($r->{body} // '');
    my $body = join '', @chunks;
    my $status = $r->{status} // 200;
    my @h = @{ $r->{headers} // ['Content-Type' => 'text/html'] };

    my $out = "HTTP/1.1 $status X\r\nConnection: close\r\n";
    while (my ($k, $v) = splice @h, 0, 2) { $out .= "$k: $v\r\n" }

    my $chunked = !$r->{close_delimited} && ($r->{chunks} || $r->{byte_at_a_time});
    if ($chunked) {
        $out .= "Transfer-Encoding: chunked\r\n";
    } elsif (!$r->{close_delimited}) {
        $out .= "Content-Length: " . length($body) . "\r\n";
    }
    $out .= "\r\n";

    setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
    syswrite($c, $out);
    return if $req->{method} eq 'HEAD';

    if ($r->{byte_at_a_time}) {
        @chunks = split //, $body;
    }

    for my $piece (@chunks) {
        next unless length $piece;
        my $data = $chunked
            ? sprintf("%x\r\n%s\r\n", length $piece, $piece) : $piece;
        syswrite($c, $data) // return;
    }

    syswrite($c, "0\r\n\r\n") if $chunked;
}

# a minimal FastCGI responder
sub fastcgi_backend {
    my ($self, $handler, %o) = @_;

    my $port = $o{port} // die 'port';
    my $ls = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
        Listen => 128, ReuseAddr => 1, Proto => 'tcp')
        or die "fastcgi listen $port: $!";

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        while (my $c = $ls->accept) {
            serve_fastcgi($c, $handler);
            close $c;
        }
        POSIX::_exit(0);
    }

    close $ls;
    push @{ $self->{pids} }, $pid;

    return $pid;
}

sub read_exact {
    my ($c, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $r = sysread($c, $buf, $n - length $buf, length $buf);
        return unless $r;
    }
    return $buf;
}

sub serve_fastcgi {
    my ($c, $handler) = @_;

    my ($id, %params, $stdin) = (1);
    $stdin = '';

    while (1) {
        my $h = read_exact($c, 8) // return;
        my ($ver, $type, $rid, $len, $pad) = unpack 'CCnnC', $h;
        $id = $rid;
        my $content = $len ? read_exact($c, $len) // return : '';
        read_exact($c, $pad) if $pad;

        if ($type == 4 && $len) {
            while (length $content) {
                my ($nl, $vl);
                for my $x (\$nl, \$vl) {
                    my $b = ord substr($content, 0, 1);
                    if ($b & 0x80) {
                        $$x = unpack('N', substr($content, 0, 4, ''))
                            & 0x7fffffff;
                    } else {
                        $$x = $b;
                        substr($content, 0, 1, '');
                    }
                }
                my $k = substr($content, 0, $nl, '');
                $params{$k} = substr($content, 0, $vl, '');
            }
        } elsif ($type == 5) {
            last unless $len;
            $stdin .= $content;
        }
    }

    my $r = $handler->({ method => $params{REQUEST_METHOD},
        uri => $params{REQUEST_URI}, headers => \%params, body => $stdin });

    my @chunks = $r->{chunks} ? @{ $r->{chunks} } : ($r->{body} // '');
    my @h = @{ $r->{headers} // ['Content-Type' => 'text/html'] };
    my $head = 'Status: ' . ($r->{status} // 200) . "\r\n";
    while (my ($k, $v) = splice @h, 0, 2) { $head .= "$k: $v\r\n" }
    $head .= "\r\n";

    for my $piece ($head, @chunks) {
        while (length $piece) {
            my $part = substr($piece, 0, 65535, '');
            syswrite($c, pack('CCnnCC', 1, 6, $id, length $part, 0, 0)
                . $part);
        }
    }

    syswrite($c, pack('CCnnCC', 1, 6, $id, 0, 0, 0));
    syswrite($c, pack('CCnnCC', 1, 3, $id, 8, 0, 0) . pack('NCx3', 0, 0));
}

# collects UDP datagrams (syslog) in a child, written to a file
sub udp_listener {
    my ($self, %o) = @_;

    my $port = $o{port} // die 'port';
    my $file = "$self->{dir}/udp-$port.log";
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
        Proto => 'udp') or die "udp $port: $!";

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        open my $fh, '>>', $file or POSIX::_exit(1);
        $fh->autoflush(1);
        while (defined $s->recv(my $msg, 65536)) {
            $msg =~ s/\n*$/\n/;
            print $fh $msg;
        }
        POSIX::_exit(0);
    }

    close $s;
    push @{ $self->{pids} }, $pid;

    return $file;
}

sub stop_backends {
    my ($self) = @_;

    for my $pid (@{ $self->{pids} }) {
        kill 'TERM', $pid;
        waitpid $pid, 0;
    }

    $self->{pids} = [];
}

1;
