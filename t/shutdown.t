# A graceful stop with requests still delayed by limit_req: persona on at
# http level with a slot and an exposure log, two pipelined HEAD requests
# on one keepalive connection, the second held by limit_req, then QUIT.  A
# worker once exited on signal 11 here; no crash is acceptable, at
# shutdown included.  The loop is bounded (30 stops); the ASan build and
# the soak are the tools that look harder.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);
use Persona::Test;

my $t = Persona::Test->new;

$t->write_file('html/index.html',
    "<p><!--persona:hero-->default<!--/persona:hero--></p>\n");

$t->conf(<<'CONF');
    persona on;
    persona_slot hero hero;

    persona_experiment hero {
        variant control 50%;
        variant winter  50% 'text=<b>winter</b>';
    }

    log_format persona_exposure escape=none '$persona_exposures';
    access_log %%DIR%%/exposure.log persona_exposure if=$persona_exposed;

    # 10r/s: the second request waits 100 ms, long enough to be pending
    # when the stop begins
    limit_req_zone $binary_remote_addr zone=one:1m rate=10r/s;

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        limit_req zone=one burst=5;
    }
CONF

my $runs = 30;
my ($clean, $answered) = (0, 0);

for my $run (1 .. $runs) {
    $t->start;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(0))
        or die "connect: $!";

    my $head = "HEAD / HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: keep-alive\r\n\r\n";
    my $get = "GET / HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: keep-alive\r\n\r\n";

    # HEAD, HEAD; and every third run HEAD then GET
    syswrite $s, $head . ($run % 3 ? $head : $get);

    # every other run, the stop begins once the first answer is in;
    # otherwise at once
    my $got = '';
    if ($run % 2) {
        while ($got !~ /\r\n\r\n/ && IO::Select->new($s)->can_read(5)) {
            sysread($s, $got, 4096, length $got) or last;
        }
        $answered++ if $got =~ /^HTTP\/1\.1 200/;
    }

    kill 'QUIT', $t->master_pid;

    # what the worker still sends, then the client goes away, as
    # browsers do (nginx would otherwise linger on the connection)
    my $end = time + 1;
    while (time < $end && IO::Select->new($s)->can_read(0.2)) {
        sysread($s, $got, 4096, length $got) or last;
    }
    close $s;

    $clean++ if $t->stop;
}

is($clean, $runs, "$runs graceful stops with a delayed request, "
    . 'no worker crashed');
is($answered, int(($runs + 1) / 2),
    'the first request was answered whenever it was waited for');

done_testing;
