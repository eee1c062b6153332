# What one response may cost: a template is rendered
# once per request and reused, not once per occurrence kept in the request
# pool; what one response may add is bounded, with a warning when the
# bound is hit.  Here a 10 KB template fills 5000 slots of a 200 KB page:
# unbounded, that is a 50 MB response and 50 MB more in the worker.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $t = Persona::Test->new(workers => 1);

my $slots = 5000;

$t->write_file('fragments/big.html',
    '<div class="offer">Hello {{$http_x_name}}. '
    . ('x' x 10200) . "</div>\n");

$t->write_file('html/many.html', "<html><body>\n"
    . join('', map { "<!--persona:s$_-->-<!--/persona:s$_-->\n" } 1 .. $slots)
    . "</body></html>\n");

$t->conf(<<"CONF");
    persona_content offer {
        default fragment=fragments/big.html;
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
@{[ join '', map { "        persona_slot s$_ offer;\n" } 1 .. $slots ]}
    }
CONF

$t->start;

sub rss_peak {
    my ($pid) = $t->worker_pids;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    my ($kb) = join('', <$fh>) =~ /^VmHWM:\s+(\d+) kB/m;
    return $kb * 1024;
}

# a small page first, so that the worker's own start-up is not counted
$t->write_file('html/small.html',
    "<!--persona:s1-->-<!--/persona:s1-->\n");
my $small = $t->request(GET => '/small.html',
    headers => { 'X-Name' => 'Ann' });
like($small->{body}, qr/^<div class="offer">Hello Ann\. x+<\/div>\n\n\z/,
    'one slot, one rendering');

my $before = rss_peak();

my $res = $t->request(GET => '/many.html', headers => { 'X-Name' => 'Ann' },
    timeout => 60);
is($res->{status}, 200, '5000 slots of a 10 KB template: 200');

my $len = length $res->{body};
my $grew = rss_peak() - $before;

diag(sprintf 'response %.1f MB, worker peak RSS grew by %.1f MB',
    $len / 1e6, $grew / 1e6);

ok($len <= 16e6,
    sprintf('the response is bounded (%.1f MB, at most 16 MB)',
        $len / 1e6));
ok($grew <= 32e6,
    sprintf('the worker does not keep every rendering '
        . '(peak RSS +%.1f MB, at most 32 MB)', $grew / 1e6));
like($t->error_log, qr/\[warn\].*persona.*(?:limit|bound|exceed|too)/i,
    'a warning says the bound was hit');

$t->stop;

done_testing;
