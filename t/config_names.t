# Experiments and content sets share one name space (slots name either),
# whichever comes first in the configuration.

use strict;
use warnings;

use Test::More;
use Persona::Test;

for my $order ('experiment first', 'content first') {
    my $t = Persona::Test->new;
    my $exp = "persona_experiment hero { variant a; }\n";
    my $content = "persona_content hero { default 'text=x'; }\n";

    $t->conf(($order eq 'experiment first' ? $exp . $content
                                           : $content . $exp)
             . "server { listen 127.0.0.1:%%PORT0%%; }\n");

    my ($rc, $out) = $t->nginx_t;
    isnt($rc, 0, "$order: refused");
    like($out, qr/content "hero" has the name of an experiment in \S+nginx\.conf:(\d+)/,
        "$order: the message names the experiment's line");
    my ($line) = $out =~ /an experiment in \S+nginx\.conf:(\d+)/;
    is($line, $t->conf_line(qr/persona_experiment hero/),
        "$order: the line of the experiment");
}

done_testing;
