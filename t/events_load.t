# Under load, across a reload, a log reopen and a graceful shutdown: the
# exposure lines are exactly the responses that carried a fragment.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Persona::Test;

my $t = Persona::Test->new(workers => 2);

$t->write_file('html/index.html',
    "<p><!--persona:hero-->default<!--/persona:hero--></p>\n");

$t->conf(<<'CONF');
    persona_experiment hero {
        variant control 50% 'text=<i>control</i>';
        variant winter  50% 'text=<b>winter</b>';
    }

    log_format persona_exposure escape=none '$persona_exposures';

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_id $http_x_user_id;
        persona_slot hero hero;

        access_log %%DIR%%/exposure.log persona_exposure buffer=64k
                   flush=1m if=$persona_exposed;
    }
CONF

$t->start;

my $port = $t->port(0);
my @clients;

# each client counts the responses that carried a fragment, until nginx
# stops accepting connections
for my $c (1 .. 3) {
    my $pid = fork // die;

    if ($pid == 0) {
        my ($n, $k) = (0, 0);
        open my $out, '>', "$t->{dir}/client-$c" or POSIX::_exit(1);

        while (1) {
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
                or last;
            $k++;
            print $s "GET / HTTP/1.0\r\nX-User-Id: c$c-$k\r\n"
                . "User-Agent: $Persona::Test::UA\r\n\r\n";
            my $resp = do { local $/; <$s> } // '';
            $n++ if $resp =~ m{<(i|b)>(control|winter)</\1>};
            last if -e "$t->{dir}/stop-clients" && $k > 50;
        }

        print $out "$n\n";
        close $out;
        POSIX::_exit(0);
    }

    push @clients, $pid;
}

Persona::Test::wait_for('traffic', 30,
    sub { -s "$t->{dir}/exposure.log" > 20000 });

$t->reload;

rename "$t->{dir}/exposure.log", "$t->{dir}/exposure.log.1";
$t->reopen;

Persona::Test::wait_for('log reopened', 30,
    sub { -s "$t->{dir}/exposure.log" });

Persona::Test::wait_for('more traffic', 30,
    sub { -s "$t->{dir}/exposure.log" > 20000 });

# graceful shutdown while the clients are still sending
$t->stop;

open my $stop, '>', "$t->{dir}/stop-clients";
close $stop;

waitpid $_, 0 for @clients;

my $shown = 0;

for my $c (1 .. 3) {
    open my $fh, '<', "$t->{dir}/client-$c" or die;
    $shown += <$fh>;
}

my @lines;

for my $f ("$t->{dir}/exposure.log.1", "$t->{dir}/exposure.log") {
    open my $fh, '<', $f or next;
    push @lines, grep { length > 1 } <$fh>;
}

ok($shown > 100, "responses with a fragment: $shown");
is(scalar @lines, $shown, 'one exposure line per response that showed one');

my $valid = grep { eval { decode_json($_); 1 } } @lines;
is($valid, scalar @lines, 'every line is a JSON object');

my %seen;
my $dup = grep { $seen{ decode_json($_)->{request_id} }++ } @lines;
is($dup, 0, 'no line written twice');

done_testing;
