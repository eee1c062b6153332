# A condition that cannot be evaluated is false: a
# pathological regular expression against a hostile header gives up
# cheaply, the page is still served with the condition false, and a
# warning, rate-limited, says so.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

$t->write_file('html/index.html',
    "<p><!--persona:greet-->page default<!--/persona:greet--></p>\n");

$t->conf(<<'CONF');
    persona_segment evil '$http_x_foo ~ "^(a|aa)+$"';

    persona_content greet {
        when '$http_x_foo ~ "^(a|aa)+$"' 'text=MATCHED';
        default 'text=DEFAULT';
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot greet greet;

        location = /segments {
            return 200 "[$persona_segments]\n";
        }
    }
CONF

$t->start;

is($t->request(GET => '/', headers => { 'X-Foo' => 'aaaa' })->{body},
    "<p>MATCHED</p>\n", 'the condition holds for a plain value');

my $evil = ('a' x 40) . 'b';

my $res = $t->request(GET => '/', headers => { 'X-Foo' => $evil },
    timeout => 20);
is($res->{status}, 200, 'hostile header: the page is served');
is($res->{body}, "<p>DEFAULT</p>\n",
    'hostile header: the condition is false');

$res = $t->request(GET => '/segments', headers => { 'X-Foo' => $evil },
    timeout => 20);
is($res->{status}, 200, 'hostile header, segment: served');
is($res->{body}, "[]\n", 'hostile header: not in the segment');

my $n = 10;
my $served = 0;
for (1 .. $n) {
    my $r = $t->request(GET => '/', headers => { 'X-Foo' => $evil },
        timeout => 20);
    $served++ if $r->{status} == 200 && $r->{body} eq "<p>DEFAULT</p>\n";
}
is($served, $n, "$n more hostile requests, all served");

my @warn = grep { /\[warn\].*persona/ } split /\n/, $t->error_log;
ok(@warn >= 1, 'a warning names the failed condition')
    or diag($t->error_log);
ok(@warn < $n, 'warnings are rate-limited (' . scalar(@warn)
    . ' for ' . ($n + 2) . ' failures)');

$t->stop;

done_testing;
