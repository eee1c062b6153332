# Markers from user input: text a visitor controls,
# reflected inside script, style, textarea, title or another kind of
# comment, is not a marker; the filter leaves it as it is and fills the
# page's real slot.  A slot is filled at most once per response.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

my $q = '<!--persona:hero-->';
my $qc = '<!--/persona:hero-->';

# each page reflects the query in one context, then has its real slot
my %ctx = (
    script => qq{<script>var search = {"q":"$q"};\n}
        . qq{var csrf = "c5rf-t0ken";</script>\n}
        . qq{<form method="post"><input type="hidden" name="csrf" }
        . qq{value="c5rf-t0ken"><button>Buy</button></form>\n},
    'script, both markers' => qq{<script>var a = "$q", b = "$qc";</script>\n}
        . qq{<p>after the script</p>\n},
    style => qq{<style>/* $q */ .q { content: "$q"; }</style>\n}
        . qq{<p>after the style</p>\n},
    textarea => qq{<form><textarea name="q">$q</textarea>\n}
        . qq{<input type="hidden" name="csrf" value="c5rf-t0ken"></form>\n},
    title => qq{<title>Results for $q</title>\n<p>after the title</p>\n},
    comment => qq{<!--[if IE]><p class="search">$q</p><![endif]-->\n}
        . qq{<p>after the comment</p>\n},
    'script with a type' => qq{<script type="application/ld+json">}
        . qq{{"name":"$q"}</script>\n<p>after the data</p>\n},
);

my $i = 0;
my %uri;

for my $name (sort keys %ctx) {
    $i++;
    $uri{$name} = "/c$i.html";
    $t->write_file("html/c$i.html", "<html><head></head><body>\n"
        . $ctx{$name}
        . "<!--persona:hero-->DEFAULT<!--/persona:hero-->\n"
        . "<p>footer</p>\n</body></html>\n");
}

$t->write_file('html/twice.html', "<html><body>\n"
    . "<!--persona:hero-->FIRST<!--/persona:hero-->\n"
    . "<p>middle</p>\n"
    . "<!--persona:hero-->SECOND<!--/persona:hero-->\n"
    . "</body></html>\n");

$t->conf(<<'CONF');
    persona_id $http_x_user_id;

    persona_experiment hero {
        variant control 50%;
        variant winter  50% 'text=<b>WINTER</b>';
    }

    server {
        listen 127.0.0.1:%%PORT0%%;
        root %%DIR%%/html;

        persona on;
        persona_slot hero hero;

        location = /id {
            return 200 "$persona_variant_hero\n";
        }
    }
CONF

$t->start;

my %who;
for my $k (1 .. 64) {
    my $v = $t->request(GET => '/id', headers => { 'X-User-Id' => "u$k" })
        ->{body};
    chomp $v;
    $who{$v} //= "u$k";
    last if $who{winter} && $who{control};
}

for my $v (qw(winter control)) {
    for my $name (sort keys %ctx) {
        my $res = $t->request(GET => $uri{$name},
            headers => { 'X-User-Id' => $who{$v} });

        my $slot = $v eq 'winter' ? '<b>WINTER</b>' : 'DEFAULT';
        my $want = "<html><head></head><body>\n$ctx{$name}$slot\n"
            . "<p>footer</p>\n</body></html>\n";

        is($res->{body}, $want,
            "marker inside $name, $v: reflected text kept, "
            . 'real slot ' . ($v eq 'winter' ? 'filled' : 'kept'));
    }

    my $res = $t->request(GET => '/twice.html',
        headers => { 'X-User-Id' => $who{$v} });

    if ($v eq 'winter') {
        my $n = () = $res->{body} =~ /<b>WINTER<\/b>/g;
        is($n, 1, 'a slot twice in the page is filled once');
        like($res->{body}, qr/SECOND/,
            'the second occurrence keeps its default content');
    } else {
        like($res->{body}, qr/FIRST.*SECOND/s,
            'a slot twice in the page, control: both defaults');
    }

    unlike($res->{body}, qr/<!--\/?persona:/,
        "a slot twice in the page, $v: markers removed");
}

$t->stop;

done_testing;
