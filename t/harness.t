# The harness itself, with stock nginx directives only: static files, a
# proxied HTTP backend, a FastCGI backend, HTTPS, data-driven blocks,
# nginx -t, reload, reopen, the error.log check, syslog over UDP, and
# that everything started is stopped.

use strict;
use warnings;

use Cwd qw(abs_path);
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test2::API qw(intercept);
use Test::More;
use Time::HiRes qw(time);

use Persona::Test;

# a process that exited may stay a zombie when nobody reaps it
sub running {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    return (<$fh> // '') !~ /\) Z /;
}

my $t = Persona::Test->new(workers => 2);

# --- ports, files, module ---

my $p0 = $t->port(0);
is($t->port(0), $p0, 'a port stays the same');
my %uniq = map { $t->port($_) => 1 } 0 .. 5;
is(scalar keys %uniq, 6, 'ports are distinct');
isnt(free_port(), free_port(), 'free_port never hands out a port twice');

my $page = "<html><body>static page</body></html>\n";
my $path = $t->write_file('html/index.html', $page);
is($path, $t->dir . '/html/index.html', 'write_file returns the path');
is((stat $path)[2] & 0777, 0644, 'written files are world-readable');
is((stat $t->dir)[2] & 0777, 0755, 'the test directory is world-readable');
$t->write_file('html/a.txt', "text a\n");

my $module = $ENV{PERSONA_MODULE};
if (defined $module && length $module) {
    is(persona_module_conf(), 'load_module ' . abs_path($module) . ";\n",
        'persona_module_conf loads PERSONA_MODULE');
} else {
    is(persona_module_conf(), '', 'persona_module_conf: nothing to load');
}

# --- backends ---

my $upstream = $t->backend(sub {
    my ($r) = @_;
    my $u = $r->{uri};

    return { body => "$r->{method} $u x-test=" . ($r->{headers}{'x-test'} // '')
        . " body=$r->{body}" } if $u =~ m{^/p/echo};
    return { chunks => [ 'one,', 'two,', 'three' ] } if $u =~ m{/chunks$};
    return { body => 'byte by byte', byte_at_a_time => 1 } if $u =~ m{/bytes$};
    return { body => 'closed at the end', http10 => 1 } if $u =~ m{/http10$};
    return { chunks => [ 'slow ', 'but ', 'complete' ], delay => 0.2 }
        if $u =~ m{/slow$};
    return { status => 404, body => 'no such thing' } if $u =~ m{/missing$};
    die "handler error\n" if $u =~ m{/die$};
    return 'plain string';
}, port => $t->port(2));

is($upstream->port, $t->port(2), 'backend listens on the port given');

my $fastcgi = $t->fastcgi_backend(sub {
    my ($r) = @_;
    return { status => 201,
        headers => [ 'Content-Type' => 'text/plain', 'X-Fcgi' => 'yes' ],
        chunks => [ "fcgi $r->{method} $r->{uri}", " x-test=",
            $r->{headers}{'x-test'} // '', " body=$r->{body}" ],
        $r->{uri} =~ /stderr/ ? (stderr => 'a note on stderr') : () };
}, port => $t->port(3));

my $syslog = $t->udp_listener(port => $t->port(4));

my ($crt, $key) = $t->ssl_cert('localhost');
ok(-s $crt && -s $key, 'ssl_cert makes a certificate and a key');

my $conf = <<'CONF';
    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        location /p/ {
            proxy_pass http://127.0.0.1:%%PORT2%%;
            proxy_http_version 1.1;
            proxy_buffering off;
        }

        location /f/ {
            fastcgi_pass 127.0.0.1:%%PORT3%%;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param CONTENT_LENGTH $content_length;
        }

        location = /cookies {
            add_header Set-Cookie a=1;
            add_header Set-Cookie b=2;
            return 200 "two cookies\n";
        }

        location = /log {
            access_log syslog:server=127.0.0.1:%%PORT4%%,tag=harness;
            return 204;
        }

        location = /version {
            return 200 "v1\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT1%% ssl;
        ssl_certificate %%DIR%%/localhost.crt;
        ssl_certificate_key %%DIR%%/localhost.key;

        location / {
            return 200 "tls $ssl_protocol\n";
        }
    }
CONF

$t->conf($conf);
$t->start;

my $conf_text = $t->read_file('nginx.conf');
if (defined $module && length $module) {
    like($conf_text, qr/\A\s*load_module \S+;/, 'the module is loaded first');
} else {
    unlike($conf_text, qr/load_module/, 'no module loaded');
}

my @w1 = $t->worker_pids;
is(scalar @w1, 2, 'two workers');

SKIP: {
    skip 'not running as root', 1 if $> != 0;
    # a worker drops root once started (later under valgrind)
    my $uid;
    eval {
        Persona::Test::wait_for('the worker to run as nobody', 10, sub {
            open my $fh, '<', "/proc/$w1[0]/status" or return 0;
            ($uid) = join('', <$fh>) =~ /^Uid:\s+(\d+)/m;
            return $uid == getpwnam('nobody');
        });
    };
    is($uid, scalar getpwnam('nobody'), 'workers run as nobody');
}

# --- static files ---

my $res = $t->request(GET => '/');
is($res->{status}, 200, 'static: 200');
is($res->{body}, $page, 'static: body');
is($res->header('Content-Type'), 'text/html', 'static: header method');
is(Persona::Test::header($res, 'content-length'), length $page,
    'static: header function, any case');

$res = $t->request(HEAD => '/');
is($res->{status}, 200, 'HEAD: 200');
is($res->{body}, '', 'HEAD: no body');
is($res->header('Content-Length'), length $page, 'HEAD: Content-Length');
ok(!$res->{timed_out}, 'HEAD: not read until a timeout');

my $start = time;
$res = $t->request(GET => '/a.txt', headers => { Connection => 'keep-alive' });
is($res->{body}, "text a\n", 'keep-alive: body');
ok(time - $start < 5, 'keep-alive: read by Content-Length, not until close');

$res = $t->request(GET => '/a.txt', http => '1.0');
is($res->{version}, '1.1', 'HTTP/1.0 request answered');
is($res->{body}, "text a\n", 'HTTP/1.0 request: body');

$res = $t->request(GET => '/', raw => "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    . "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is(scalar @{ $res->{responses} }, 2, 'raw pipelined: two responses');
is(join(',', map { $_->{status} } @{ $res->{responses} }), '200,404',
    'raw pipelined: statuses');
is($res->{responses}[0]{body}, "text a\n", 'raw pipelined: first body');

my @many = $t->requests(3, GET => '/a.txt');
is(scalar(grep { $_->{body} eq "text a\n" } @many), 3, 'requests: three');

# --- proxied backend ---

$res = $t->request(POST => '/p/echo', headers => { 'X-Test' => 'v' },
    body => 'hello');
is($res->{status}, 200, 'proxy: 200');
is($res->{body}, 'POST /p/echo x-test=v body=hello',
    'proxy: method, header and body reach the backend');

$res = $t->request(GET => '/p/chunks');
is($res->{body}, 'one,two,three', 'proxy: chunked backend body');
is($res->header('Transfer-Encoding'), 'chunked',
    'proxy: chunked to the client');

$res = $t->request(GET => '/p/bytes');
is($res->{body}, 'byte by byte', 'proxy: byte_at_a_time body');

$res = $t->request(GET => '/p/http10');
is($res->{body}, 'closed at the end', 'proxy: close-delimited body');

$res = $t->request(HEAD => '/p/echo');
is($res->{status}, 200, 'proxy HEAD: 200');
is($res->{body}, '', 'proxy HEAD: no body');

$res = $t->request(GET => '/p/missing');
is($res->{status}, 404, 'proxy: backend status');

# the backend's framing, seen directly
my $bp = $t->port(2);
$res = $t->request(GET => '/bytes', port => $bp);
is(scalar @{ $res->{chunks} }, length 'byte by byte',
    'backend byte_at_a_time: one chunk per byte');
$res = $t->request(GET => '/chunks', port => $bp);
is_deeply($res->{chunks}, [ 'one,', 'two,', 'three' ], 'backend chunks');
$res = $t->request(GET => '/http10', port => $bp);
ok($res->{version} eq '1.0' && !defined $res->header('Content-Length')
    && $res->{body} eq 'closed at the end', 'backend http10: close-delimited');
$res = $t->request(GET => '/', port => $bp);
is($res->{body}, 'plain string', 'backend: a plain string is the body');
$res = $t->request(GET => '/die', port => $bp);
ok($res->{status} == 500 && $res->{body} =~ /handler error/,
    'backend: a dying handler gives 500');

# --- FastCGI backend ---

$res = $t->request(POST => '/f/x', headers => { 'X-Test' => 'w' },
    body => 'form');
is($res->{status}, 201, 'fastcgi: status');
is($res->header('X-Fcgi'), 'yes', 'fastcgi: header');
is($res->{body}, 'fcgi POST /f/x x-test=w body=form', 'fastcgi: body');

$res = $t->request(GET => '/f/stderr');
is($res->{status}, 201, 'fastcgi with stderr: status');
Persona::Test::wait_for('the FastCGI stderr in error.log', 5,
    sub { $t->error_log =~ /FastCGI sent in stderr: "a note on stderr"/ });
pass('fastcgi: stderr logged by nginx');

# --- HTTPS ---

$res = $t->request(GET => '/', port => $t->port(1), ssl => 1);
is($res->{status}, 200, 'https: 200');
like($res->{body}, qr/^tls TLSv1\.[23]$/m, 'https: over TLS');

# --- data-driven blocks ---

my @r = $t->run_blocks([
    { name => 'index', uri => '/', status => 200, body_is => $page,
      headers_like => { 'Content-Type' => qr{^text/html$} },
      headers_unlike => { Server => qr/Apache/ },
      header_absent => [ 'X-Nope', 'Set-Cookie' ] },
    { name => 'cookies', uri => '/cookies', cookie_count => 2,
      headers_is => { 'Set-Cookie' => "a=1\nb=2", 'X-Nope' => undef },
      body_like => qr/two/, body_unlike => qr/three/ },
    { name => 'fastcgi', method => 'POST', uri => '/f/b', body => 'x',
      status => 201, body_is => 'fcgi POST /f/b x-test= body=x' },
    { name => 'custom', uri => '/p/echo', headers => { 'X-Test' => [ 'q' ] },
      check => sub { like($_[0]{body}, qr/x-test=q/, 'custom: check sub') } },
]);
is(scalar @r, 4, 'run_blocks returns the responses');

my $ev = intercept {
    $t->run_blocks([ { name => 'wrong', uri => '/', status => 500,
        body_is => 'nope', cookie_count => 1 } ]);
};
my @oks = grep { $_->isa('Test2::Event::Ok') } @$ev;
is(scalar(grep { !$_->pass } @oks), 3, 'run_blocks: wrong expectations fail');
is($oks[0]->name, 'wrong: status', 'run_blocks: names carry the block name');

ok(!eval { $t->run_blocks([ { uri => '/' } ]); 1 }
    && $@ =~ /no expectation/, 'run_blocks: a block without expectation dies');

# --- syslog over UDP ---

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $syslog->port,
    Proto => 'udp') or die "udp: $!";
$s->send("datagram one\n");
$s->send('datagram two');
$t->request(GET => '/log');

my @m = $syslog->wait_for(3, timeout => 5);
is(scalar @m, 3, 'udp: three datagrams');
ok((grep { $_ eq 'datagram one' } @m) && (grep { $_ eq 'datagram two' } @m),
    'udp: datagrams received as sent');
like(join("\n", @m), qr/harness: 127\.0\.0\.1 .*"GET \/log HTTP\/1\.1" 204/,
    'udp: nginx syslog line');
ok(-s "$syslog", 'udp: the object is also the path of its file');

# --- nginx -t ---

my $bad = Persona::Test->new;
$bad->conf(<<'CONF');
    server {
        listen 127.0.0.1:%%PORT0%%;
        bogus_directive on;
    }
CONF
my ($rc, $out) = $bad->nginx_t;
isnt($rc, 0, 'nginx -t: bad configuration fails');
my $line = $bad->conf_line(qr/bogus_directive/);
my $where = $bad->dir . "/nginx.conf:$line";
like($out, qr/\[emerg\] unknown directive "bogus_directive" in \Q$where\E\b/,
    "nginx -t: message names nginx.conf:$line");
ok(!-e $bad->dir . '/nginx.pid' || !running($bad->master_pid),
    'nginx -t starts nothing');

($rc, $out) = $t->nginx_t;
is($rc, 0, 'nginx -t on the running configuration');
like($out, qr/syntax is ok/, 'nginx -t output');
is($t->read_file('nginx.pid'), $t->master_pid . "\n",
    'nginx -t leaves the pid file of the running nginx');

# --- a worker crash is detected, then recovered from ---

my $victim = $w1[0];
kill 'KILL', $victim;
Persona::Test::wait_for('a new worker', 10, sub {
    my @w = $t->worker_pids;
    @w == 2 && !grep { $_ == $victim } @w;
});

$ev = intercept { $t->check_error_log };
@oks = grep { $_->isa('Test2::Event::Ok') } @$ev;
ok(@oks == 1 && !$oks[0]->pass, 'check_error_log fails on a killed worker');
like(join('', map { $_->isa('Test2::Event::Diag') ? $_->message : '' } @$ev),
    qr/worker process $victim exited on signal 9/, 'and shows the line');

$ev = intercept { $t->check_error_log };
ok($ev->[0]->pass, 'each problem is reported once');

# --- reload ---

@w1 = $t->worker_pids;

(my $conf2 = $conf) =~ s/"v1\\n"/"v2\\n"/;
$conf2 .= <<'CONF';
    server {
        listen 127.0.0.1:%%PORT5%%;
        return 200 "new server\n";
    }
CONF
$t->conf($conf2);

# a response in progress across the reload
my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(0))
    or die "connect: $!";
print $slow "GET /p/slow HTTP/1.0\r\n\r\n";
Persona::Test::wait_for('the slow response to begin', 5,
    sub { IO::Select->new($slow)->can_read(0) });

$t->reload;

my @w2 = $t->worker_pids;
is(scalar @w2, 2, 'reload: two workers');
ok(!grep({ my $o = $_; grep { $_ == $o } @w2 } @w1), 'reload: new workers');
ok(!grep({ running($_) } @w1), 'reload: old workers gone');
is($t->request(GET => '/version')->{body}, "v2\n", 'reload: new configuration');
is($t->request(GET => '/', port => $t->port(5))->{body}, "new server\n",
    'reload: new listen port serves');

my $got = '';
while (sysread($slow, my $buf, 4096)) { $got .= $buf }
like($got, qr/\r\n\r\nslow but complete\z/,
    'reload: the response in progress completed');

$t->conf($conf2 . "    bogus_directive on;\n");
is($t->reload(allow_failure => 1), 0, 'reload: refused configuration');
is_deeply([ $t->worker_pids ], \@w2, 'reload refused: same workers');
is($t->request(GET => '/version')->{body}, "v2\n",
    'reload refused: still serving');
like($t->error_log, qr/\[emerg\] \S+ unknown directive "bogus_directive"/,
    'reload refused: logged');

$t->conf($conf2);
ok(!eval { $t->conf($conf2 . "bogus_directive on;\n"); $t->reload; 1 }
    && $@ =~ /reload refused:.*bogus_directive/s, 'reload: dies when refused');
$t->allow_log(qr/unknown directive "bogus_directive"/);
$t->conf($conf2);

# --- reopen ---

$t->request(GET => '/a.txt');
rename $t->dir . '/access.log', $t->dir . '/access.log.1' or die;
$t->reopen;
$t->request(GET => '/version?reopened');
# a request is logged after its response has gone out
eval {
    Persona::Test::wait_for('the access log line', 10, sub {
        ($t->read_file('access.log') // '') =~ /reopened/ });
};
like($t->read_file('access.log') // '', qr/GET \/version\?reopened/,
    'reopen: new access.log written');
unlike($t->read_file('access.log.1'), qr/reopened/,
    'reopen: old log left alone');

# --- the error.log check on fake logs ---

my $fake = <<'LOG';
2026/11/22 10:00:00 [notice] 1#1: start worker processes
2026/11/22 10:00:00 [error] 2#2: *1 open() "/x" failed (2: No such file)
2026/11/22 10:00:01 [emerg] 2#2: something impossible
2026/11/22 10:00:02 [alert] 1#1: worker process 7 exited on signal 11
2026/11/22 10:00:03 [crit] 2#2: accept4() failed (24: Too many open files)
src/x.c:12:5: runtime error: signed integer overflow
LOG

my @p = Persona::Test::error_log_problems($fake);
is(scalar @p, 4, 'problems: emerg, alert, crit and a sanitizer report');
ok(!grep({ /\[(notice|error)\]/ } @p), 'problems: not notice or error');
@p = Persona::Test::error_log_problems($fake, qr/Too many open/,
    qr/signal 11/);
is(scalar @p, 2, 'problems: allowed lines are left out');

$ev = intercept { Persona::Test::check_error_log($fake) };
ok(!$ev->[0]->pass, 'check_error_log fails on a fake log');
$ev = intercept { Persona::Test::check_error_log("[warn] fine\n") };
ok($ev->[0]->pass, 'check_error_log passes a clean one');
$ev = intercept { $t->check_error_log("x [emerg] y\n") };
ok(!$ev->[0]->pass, 'check_error_log with a text, as a method');

# --- an object that goes away stops its nginx and backends ---

my ($gone_master, $gone_backend);
{
    my $tmp = Persona::Test->new;
    $tmp->conf("server { listen 127.0.0.1:%%PORT0%%; return 204; }\n");
    my $b = $tmp->backend(sub { 'x' });
    $tmp->start;
    is($tmp->request(GET => '/')->{status}, 204, 'second nginx serves');
    ok($tmp->port(0) != $t->port(0), 'second nginx, another port');
    ($gone_master, $gone_backend) = ($tmp->master_pid, $b->pid);
}
ok(!running($gone_master), 'nginx stopped when its object went away');
ok(!running($gone_backend), 'backend stopped when its object went away');

# --- a plain nginx: HTTP/2, request bodies in pieces, slow reads, roles ---

{
    my $h = Persona::Test->new(module => 0);

    unlike($h->_conf_text, qr/load_module/, 'module => 0: no load_module');

    $h->ssl_cert('localhost');
    $h->write_file('html/big.txt', join '', map { "line $_\n" } 1 .. 20000);
    $h->write_file('html/small.html', "<p>small</p>\n");

    $h->backend(sub {
        my ($r) = @_;
        return { headers => [ 'Content-Type' => 'text/plain',
            'X-Method' => $r->{method} ], body => "body=$r->{body}" };
    }, port => $h->port(3));

    $h->conf(<<'CONF');
    proxy_cache_path %%DIR%%/cache keys_zone=c:1m;

    server {
        listen 127.0.0.1:%%PORT0%%;
        listen 127.0.0.1:%%PORT1%% http2;
        listen 127.0.0.1:%%PORT2%% ssl http2;
        ssl_certificate %%DIR%%/localhost.crt;
        ssl_certificate_key %%DIR%%/localhost.key;
        root %%DIR%%/html;

        location /echo {
            proxy_pass http://127.0.0.1:%%PORT3%%;
        }

        location = /hdr {
            add_header X-Two a;
            add_header X-Two b;
            add_header Set-Cookie c=1;
            return 200 "$server_protocol $http_x_in $content_length\n";
        }
    }
CONF

    $h->start;

    # the master forks the cache processes after the workers
    my %roles;
    eval {
        Persona::Test::wait_for('the cache processes', 10, sub {
            %roles = reverse $h->processes;
            return $roles{'cache manager'} && $roles{'cache loader'};
        });
    };
    ok($roles{worker} && $roles{'cache manager'} && $roles{'cache loader'},
        'processes: worker, cache manager and cache loader')
        or diag(explain { $h->processes });

    for my $v ([ 'h2c', $h->port(1), 0 ], [ 'h2 over TLS', $h->port(2), 1 ]) {
        my ($name, $port, $ssl) = @$v;

        my $r = $h->request(GET => '/hdr', http => '2', port => $port,
            ssl => $ssl, headers => { 'X-In' => 'yes' });
        is($r->{status}, 200, "$name: status");
        is($r->{version}, '2', "$name: version");
        is($r->{body}, "HTTP/2.0 yes \n", "$name: body, request header");
        is(join(',', $r->header_values('X-Two')), 'a,b',
            "$name: repeated response headers");
        is($r->header('Set-Cookie'), 'c=1', "$name: Set-Cookie");

        $r = $h->request(GET => '/big.txt', http => '2', port => $port,
            ssl => $ssl);
        is(length $r->{body}, -s $h->dir . '/html/big.txt',
            "$name: a body larger than a window");

        $r = $h->request(HEAD => '/small.html', http => '2', port => $port,
            ssl => $ssl);
        ok($r->{status} == 200 && $r->{body} eq '' && !$r->{incomplete},
            "$name: HEAD");

        $r = $h->request(POST => '/echo', http => '2', port => $port,
            ssl => $ssl, body => [ 'goal=', 'signup' ], delay => 0.05);
        is($r->{body}, 'body=goal=signup', "$name: body in two DATA frames");
        is(scalar(grep { $_->[0] == 0 } @{ $r->{frames} }) >= 1, 1,
            "$name: frames recorded");
    }

    my $r = $h->request(POST => '/echo', body => [ 'a=1', '&b=2' ],
        delay => 0.05);
    is($r->{body}, 'body=a=1&b=2', 'body in pieces, Content-Length');

    $r = $h->request(POST => '/echo', chunked => 1, body => 'a=1&b=2');
    is($r->{body}, 'body=a=1&b=2', 'chunked body in one write');

    $r = $h->request(POST => '/echo', chunked => 1, body => [ 'a=1', '&b=2' ],
        delay => 0.05);
    is($r->{body}, 'body=a=1&b=2', 'chunked body in pieces');

    $r = $h->request(GET => '/', raw => [ "GET /small.html HTTP/1.1\r\n",
        "Host: x\r\nConnection: close\r\n\r\n" ], delay => 0.05);
    is($r->{body}, "<p>small</p>\n", 'raw request in two writes');

    $r = $h->request(GET => '/big.txt', slow_read => [ 16384, 0.001 ],
        rcvbuf => 4096);
    is(length $r->{body}, -s $h->dir . '/html/big.txt',
        'slow reader with a small receive buffer gets everything');

    # what a server sees of a body in pieces: the head first, alone
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
        Listen => 1) or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        eval { $h->request(POST => '/x', port => $l->sockport,
            body => [ 'one', 'two' ], delay => 0.3, timeout => 3) };
        POSIX::_exit(0);
    }
    my $c = $l->accept;
    IO::Select->new($c)->can_read(5);
    sysread($c, my $first, 65536);
    my $rest = '';
    while (IO::Select->new($c)->can_read(3)) {
        sysread($c, my $more, 65536) or last;
        $rest .= $more;
        last if $rest =~ /two\z/;
    }
    close $c;
    waitpid $pid, 0;
    ok($first =~ /\r\nContent-Length: 6\r\n/ && $first =~ /\r\n\r\n\z/,
        'body in pieces: the head is written alone') or diag($first);
    is($rest, 'onetwo', 'then the pieces');

    $h->stop;
}

# --- stop ---

my $master = $t->master_pid;
my @pids = ($upstream->pid, $fastcgi->pid, $syslog->pid);

$t->stop;

ok(!running($master), 'stop: master gone');
ok(!grep({ running($_) } @w2), 'stop: workers gone');
ok(!grep({ running($_) } @pids), 'stop: backends and udp listener gone');
ok(!IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(0)),
    'stop: port closed');

done_testing;
