package Persona::Backend;

# Servers run by an integration test in forked Perl processes: an HTTP
# upstream, a FastCGI responder and a UDP (syslog) collector.  They are
# normally created through Persona::Test (backend, fastcgi_backend,
# udp_listener), which stops them when the test ends.

use strict;
use warnings;

use Errno qw(EINTR);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time sleep);

=head1 NAME

Persona::Backend - upstream servers for the integration tests

=head1 SYNOPSIS

    my $b = Persona::Backend::HTTP->new(sub {
        my ($req) = @_;             # { method, uri, version, headers, body }
        return { status => 200, body => "hello $req->{uri}" };
    }, port => $port);

    my $f = Persona::Backend::FastCGI->new(sub { ... }, port => $port2);

    my $u = Persona::Backend::UDP->new(port => $port3);
    my @lines = $u->wait_for(2, timeout => 5);

    $b->stop; $f->stop; $u->stop;   # also done when the object goes away

=head1 HANDLERS

A handler gets the request as a hash reference: C<method>, C<uri>,
C<version> (HTTP only), C<headers> (lower-case names; repeated headers
joined with ", "), C<body> (chunked request bodies decoded) and, for
FastCGI, C<params> (every FastCGI parameter).

It returns a plain string (the body of a 200 text/html response) or a
hash reference:

=over

=item status

Default 200.

=item headers

An array reference of name/value pairs, in order.  Default
C<< [ 'Content-Type' => 'text/html' ] >>.  When it names Content-Length
or Transfer-Encoding the body is sent as is, without framing of ours.

=item body, chunks

The body as one string, or as a list of pieces written (and flushed)
one at a time.  Over HTTP, pieces go out with C<Transfer-Encoding:
chunked> (one chunk each); over FastCGI, one STDOUT record each.

=item byte_at_a_time

Write the body one byte per write (HTTP: chunked, one byte per chunk),
with TCP_NODELAY set.

=item content_length

Send this Content-Length (even a wrong one) and the body unframed.

=item http10 (or close_delimited)

Answer with an HTTP/1.0 status line and a body delimited by closing the
connection.

=item delay

Seconds to wait before each piece of the body (shapes the stream, e.g.
to make the pieces reach nginx in separate reads).

=item raw

Bytes written instead of a response (malformed upstream answers).

=item stderr

FastCGI only: text sent in an FCGI_STDERR record before the response.

=back

A handler that dies produces a 500 response whose body is the error.

Connections are served one after the other (handler state such as a
counter survives between requests), or each in its own process with
C<< fork => 1 >> (for slow responses that must not hold others up).
Connections are closed after each response.

=cut

# --- common part: a listening socket served by a forked child ---

sub _start {
    my ($class, $sock, $serve, %o) = @_;

    my $parent = $$;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        # never return into the test script from here
        eval { _child_loop($sock, $serve, $parent, %o) };
        warn "backend: $@" if $@;
        POSIX::_exit(0);
    }

    my $self = bless {
        pid => $pid,
        port => $sock->sockport,
        owner => $$,
    }, $class;

    close $sock;

    return $self;
}

sub _child_loop {
    my ($sock, $serve, $parent, %o) = @_;

    $SIG{TERM} = sub { POSIX::_exit(0) };
    $SIG{PIPE} = 'IGNORE';
    $SIG{CHLD} = 'IGNORE' if $o{fork};

    my $sel = IO::Select->new($sock);

    while (1) {
        # an orphan (the test was killed) goes away by itself
        POSIX::_exit(0) if getppid() != $parent;

        next unless $sel->can_read(1);

        if ($o{udp}) {
            $serve->($sock);
            next;
        }

        my $c = $sock->accept or next;

        if ($o{fork}) {
            my $pid = fork;
            if (defined $pid && $pid == 0) {
                eval { $serve->($c) };
                POSIX::_exit(0);
            }
            close $c;
            next;
        }

        eval { $serve->($c) };
        warn "backend: $@" if $@;
        close $c;
    }
}

sub port { $_[0]{port} }
sub pid { $_[0]{pid} }

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;
    return if $self->{owner} != $$;

    kill 'TERM', $pid;

    my $end = time + 5;
    while (time < $end) {
        return if waitpid($pid, WNOHANG) != 0;
        sleep 0.01;
    }

    kill 'KILL', $pid;
    waitpid $pid, 0;
}

sub DESTROY {
    local ($?, $@, $!);
    $_[0]->stop;
}

sub _listen {
    my ($what, $port, $proto) = @_;

    my %a = (LocalAddr => '127.0.0.1', LocalPort => $port // 0,
        Proto => $proto);
    %a = (%a, Listen => 128, ReuseAddr => 1) if $proto eq 'tcp';

    return IO::Socket::INET->new(%a)
        // die "$what: cannot listen on 127.0.0.1:" . ($port // 0)
            . ": $@\n";
}

# reads exactly $n bytes, or what arrived before EOF or a 30 s silence
sub _read_n {
    my ($c, $buf, $n) = @_;

    my $sel = IO::Select->new($c);

    while (length $$buf < $n) {
        return 0 unless $sel->can_read(30);
        my $r = sysread($c, $$buf, 65536, length $$buf);
        next if !defined $r && $! == EINTR;
        return 0 unless $r;
    }

    return 1;
}

sub _read_until {
    my ($c, $buf, $re) = @_;

    my $sel = IO::Select->new($c);

    while ($$buf !~ $re) {
        return 0 unless $sel->can_read(30);
        my $r = sysread($c, $$buf, 65536, length $$buf);
        next if !defined $r && $! == EINTR;
        return 0 unless $r;
    }

    return 1;
}

sub _write {
    my ($c, $data) = @_;

    while (length $data) {
        my $n = syswrite($c, $data);
        next if !defined $n && $! == EINTR;
        return 0 unless $n;
        substr($data, 0, $n, '');
    }

    return 1;
}

sub _call {
    my ($handler, $req) = @_;

    my $r = eval { $handler->($req) };

    unless (defined $r) {
        my $err = $@ || "handler returned nothing\n";
        warn "backend handler: $err";
        return { status => 500, headers => [ 'Content-Type' => 'text/plain' ],
            body => $err };
    }

    return ref $r ? $r : { body => $r };
}

sub _pieces {
    my ($r) = @_;

    my @p = $r->{chunks} ? @{ $r->{chunks} } : ($r->{body} // '');

    @p = split //, join '', @p if $r->{byte_at_a_time};

    return grep { length } @p;
}


package Persona::Backend::HTTP;

our @ISA = ('Persona::Backend');

my %REASON = (200 => 'OK', 201 => 'Created', 204 => 'No Content',
    206 => 'Partial Content', 301 => 'Moved Permanently', 302 => 'Found',
    304 => 'Not Modified', 400 => 'Bad Request', 403 => 'Forbidden',
    404 => 'Not Found', 500 => 'Internal Server Error',
    502 => 'Bad Gateway', 503 => 'Service Unavailable');

sub new {
    my ($class, $handler, %o) = @_;

    my $sock = Persona::Backend::_listen('backend', $o{port}, 'tcp');

    return $class->_start($sock, sub { _serve($_[0], $handler) }, %o);
}

sub _read_request {
    my ($c) = @_;

    my $buf = '';
    Persona::Backend::_read_until($c, \$buf, qr/\r?\n\r?\n/) or return;

    my ($head, $rest) = split /\r?\n\r?\n/, $buf, 2;
    my @l = split /\r?\n/, $head;
    my ($method, $uri, $version) = (shift @l) =~ /^(\S+) (\S+)(?: (\S+))?/
        or return;

    my %h;
    for (@l) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $k = lc $k;
        $h{$k} = defined $h{$k} ? "$h{$k}, $v" : $v;
    }

    my $body = '';

    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            Persona::Backend::_read_until($c, \$rest, qr/\r\n/) or last;
            $rest =~ s/^([0-9a-fA-F]+)[^\r]*\r\n// or last;
            my $n = hex $1;
            if ($n == 0) {
                Persona::Backend::_read_until($c, \$rest, qr/^\r\n|\r\n\r\n/);
                last;
            }
            Persona::Backend::_read_n($c, \$rest, $n + 2) or last;
            $body .= substr($rest, 0, $n);
            substr($rest, 0, $n + 2, '');
        }

    } else {
        my $len = $h{'content-length'} // 0;
        Persona::Backend::_read_n($c, \$rest, $len);
        $body = substr($rest, 0, $len);
    }

    return { method => $method, uri => $uri, version => $version // '',
        headers => \%h, body => $body };
}

sub _serve {
    my ($c, $handler) = @_;

    my $req = _read_request($c) or return;
    my $r = Persona::Backend::_call($handler, $req);

    setsockopt($c, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);

    if (defined $r->{raw}) {
        Persona::Backend::_write($c, $r->{raw});
        return;
    }

    my $status = $r->{status} // 200;
    my @h = @{ $r->{headers} // [ 'Content-Type' => 'text/html' ] };
    my $http10 = $r->{http10} || $r->{close_delimited};
    my $nobody = $req->{method} eq 'HEAD' || $status == 204
        || $status == 304 || $status < 200;
    my @pieces = Persona::Backend::_pieces($r);

    my %given;
    for (my $i = 0; $i < @h; $i += 2) { $given{lc $h[$i]} = 1 }

    my $framed = $given{'content-length'} || $given{'transfer-encoding'};
    my $chunked = 0;

    if ($framed || $http10) {
        # the handler frames the body itself, or closing does
    } elsif (defined $r->{content_length}) {
        push @h, 'Content-Length' => $r->{content_length};
    } elsif ($r->{chunks} || $r->{byte_at_a_time}) {
        push @h, 'Transfer-Encoding' => 'chunked';
        $chunked = 1;
    } elsif ($status != 204 && $status != 304 && $status >= 200) {
        push @h, 'Content-Length' => length join '', @pieces;
    }

    my $out = ($http10 ? 'HTTP/1.0' : 'HTTP/1.1')
        . " $status " . ($REASON{$status} // 'Status') . "\r\n"
        . "Connection: close\r\n";
    while (my ($k, $v) = splice @h, 0, 2) { $out .= "$k: $v\r\n" }
    $out .= "\r\n";

    Persona::Backend::_write($c, $out) or return;
    return if $nobody;

    for my $p (@pieces) {
        sleep $r->{delay} if $r->{delay};
        my $data = $chunked ? sprintf("%x\r\n%s\r\n", length $p, $p) : $p;
        Persona::Backend::_write($c, $data) or return;
    }

    Persona::Backend::_write($c, "0\r\n\r\n") if $chunked;
}


package Persona::Backend::FastCGI;

our @ISA = ('Persona::Backend');

use constant {
    FCGI_BEGIN_REQUEST => 1,
    FCGI_ABORT_REQUEST => 2,
    FCGI_END_REQUEST => 3,
    FCGI_PARAMS => 4,
    FCGI_STDIN => 5,
    FCGI_STDOUT => 6,
    FCGI_STDERR => 7,
};

sub new {
    my ($class, $handler, %o) = @_;

    my $sock = Persona::Backend::_listen('fastcgi backend', $o{port},
        'tcp');

    return $class->_start($sock, sub { _serve($_[0], $handler) }, %o);
}

sub _record {
    my ($type, $id, $content) = @_;

    my $out = '';

    # an empty content is a stream's end; longer ones are split
    do {
        my $part = substr($content, 0, 65535, '');
        my $pad = (8 - length($part) % 8) % 8;
        $out .= pack('CCnnCx', 1, $type, $id, length $part, $pad)
            . $part . ("\0" x $pad);
    } while (length $content);

    return $out;
}

sub _parse_params {
    my ($data, $params) = @_;

    while (length $data) {
        my @len;
        for (1, 2) {
            last unless length $data;
            if (ord($data) & 0x80) {
                push @len, unpack('N', substr($data, 0, 4, '')) & 0x7fffffff;
            } else {
                push @len, ord substr($data, 0, 1, '');
            }
        }
        return unless @len == 2;
        my $k = substr($data, 0, $len[0], '');
        $params->{$k} = substr($data, 0, $len[1], '');
    }
}

sub _serve {
    my ($c, $handler) = @_;

    my ($id, $params, $stdin, %p) = (1, '', '');

    my $buf = '';

    while (1) {
        Persona::Backend::_read_n($c, \$buf, 8) or return;
        my (undef, $type, $rid, $len, $pad) = unpack 'CCnnC', $buf;
        Persona::Backend::_read_n($c, \$buf, 8 + $len + $pad) or return;
        my $content = substr($buf, 8, $len);
        substr($buf, 0, 8 + $len + $pad, '');

        if ($type == FCGI_BEGIN_REQUEST) {
            $id = $rid;
        } elsif ($type == FCGI_PARAMS) {
            $params .= $content;
        } elsif ($type == FCGI_STDIN) {
            last unless $len;
            $stdin .= $content;
        } elsif ($type == FCGI_ABORT_REQUEST) {
            return;
        }
    }

    _parse_params($params, \%p);

    my %h;
    for my $k (keys %p) {
        my $n = $k =~ /^HTTP_(.+)$/ ? $1
            : $k =~ /^(CONTENT_(?:TYPE|LENGTH))$/ ? $1 : next;
        $n = lc $n;
        $n =~ tr/_/-/;
        $h{$n} = $p{$k};
    }

    my $r = Persona::Backend::_call($handler, { method => $p{REQUEST_METHOD},
        uri => $p{REQUEST_URI}, headers => \%h, params => \%p,
        body => $stdin });

    setsockopt($c, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);

    if (defined $r->{stderr} && length $r->{stderr}) {
        Persona::Backend::_write($c, _record(FCGI_STDERR, $id, $r->{stderr}))
            or return;
    }

    if (defined $r->{raw}) {
        Persona::Backend::_write($c, $r->{raw});
        return;
    }

    my @h = @{ $r->{headers} // [ 'Content-Type' => 'text/html' ] };
    my $head = 'Status: ' . ($r->{status} // 200) . "\r\n";
    while (my ($k, $v) = splice @h, 0, 2) { $head .= "$k: $v\r\n" }
    $head .= "\r\n";

    Persona::Backend::_write($c, _record(FCGI_STDOUT, $id, $head)) or return;

    for my $p (Persona::Backend::_pieces($r)) {
        sleep $r->{delay} if $r->{delay};
        Persona::Backend::_write($c, _record(FCGI_STDOUT, $id, $p)) or return;
    }

    Persona::Backend::_write($c, _record(FCGI_STDOUT, $id, '')
        . _record(FCGI_END_REQUEST, $id, pack('NCx3', 0, 0)));
}


package Persona::Backend::UDP;

# Each datagram becomes one line of a file (trailing newlines removed),
# so the test reads them whenever it likes.  The object stringifies to
# that file's path.

our @ISA = ('Persona::Backend');

use overload '""' => sub { $_[0]{file} }, fallback => 1;

sub new {
    my ($class, %o) = @_;

    my $file = $o{file} // die "udp listener: no file\n";
    my $sock = Persona::Backend::_listen('udp listener', $o{port}, 'udp');

    open my $touch, '>>', $file or die "$file: $!\n";
    close $touch;

    my $self = $class->_start($sock, sub {
        my ($s) = @_;
        defined $s->recv(my $msg, 65536) or return;
        $msg =~ s/[\r\n]+\z//;
        open my $fh, '>>:raw', $file or return;
        syswrite $fh, "$msg\n";
        close $fh;
    }, %o, udp => 1);

    $self->{file} = $file;

    return $self;
}

sub file { $_[0]{file} }

sub messages {
    my ($self) = @_;

    open my $fh, '<:raw', $self->{file} or return ();
    my @m = <$fh>;

    # a line still being written is not a message yet
    pop @m if @m && $m[-1] !~ /\n\z/;
    chomp @m;

    return @m;
}

# the messages once there are at least $n of them, or when the time is up
sub wait_for {
    my ($self, $n, %o) = @_;

    my $end = time + ($o{timeout} // 5);
    my @m;

    while (1) {
        @m = $self->messages;
        last if @m >= $n || time >= $end;
        sleep 0.01;
    }

    return @m;
}

1;
