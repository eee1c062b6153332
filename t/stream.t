# A 100 MB response streamed through the filter: the output is byte-exact
# and the worker's memory stays flat.  Every one of the 200 occurrences
# of the slot is filled (persona_slot_once off).

use strict;
use warnings;

use Digest::MD5;
use IO::Socket::INET;
use Test::More;
use Persona::Test;

my $t = Persona::Test->new(workers => 1);

# one 1 MB block with two slots, one of them cut by a 4 KB boundary
my $filler = ('<p>lorem ipsum dolor sit amet</p>' x 32) . "\n";
my $block = '';
$block .= $filler while length $block < 500_000;
$block .= "<!--persona:hero-->default<!--/persona:hero-->";
$block .= $filler while length $block < 1_048_576 - 4096 - 10;
$block .= "<!--persona:hero-->default<!--/persona:hero-->";
$block .= 'x' x (1_048_576 - length $block);

my $blocks = 100;

(my $expected = $block) =~ s/<!--persona:hero-->default<!--\/persona:hero-->/<b>W<\/b>/g;

$t->backend(sub {
    return { chunks => [ ($block) x $blocks ] };
}, port => $t->port(1));

$t->conf(<<'CONF');
    persona_experiment hero {
        variant winter 'text=<b>W</b>';
    }

    server {
        listen 127.0.0.1:%%PORT0%%;

        persona on;
        persona_id $http_x_user_id;
        persona_slot hero hero;
        persona_slot_once off;

        location / {
            proxy_buffer_size 4k;
            proxy_buffers 8 4k;
            proxy_pass http://127.0.0.1:%%PORT1%%;
        }
    }
CONF

$t->start;

my ($worker) = $t->worker_pids;

sub rss {
    open my $fh, '<', "/proc/$worker/status" or return 0;
    my ($kb) = join('', <$fh>) =~ /VmRSS:\s+(\d+)/;
    return $kb;
}

sub fetch {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(0))
        or die "connect: $!";
    print $s "GET / HTTP/1.0\r\nX-User-Id: u1\r\n"
        . "User-Agent: $Persona::Test::UA\r\n\r\n";

    my ($head, $md5, $n) = ('', Digest::MD5->new, 0);

    while (sysread($s, my $buf, 65536)) {
        if (defined $head && $head !~ /\r\n\r\n/) {
            $head .= $buf;
            next unless $head =~ /\r\n\r\n/;
            ($head, $buf) = split /\r\n\r\n/, $head, 2;
            $head .= "\r\n\r\n";
        }

        $md5->add($buf);
        $n += length $buf;
    }

    return ($head, $md5->hexdigest, $n);
}

# a first response warms the worker up
fetch();
my $before = rss();

my ($head, $got, $n) = fetch();
my $after = rss();

my $want = Digest::MD5->new;
$want->add($expected) for 1 .. $blocks;

like($head, qr/^HTTP\/1\.1 200/, 'status 200');
is($n, $blocks * length $expected, 'every byte delivered');
is($got, $want->hexdigest, 'output byte-exact');
ok($after - $before < 8192,
    "worker memory flat: ${before} kB before, ${after} kB after");

$t->stop;

done_testing;
