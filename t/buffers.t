# Buffers shared with the filters after the module:
# the body filter may reuse only buffers it owns and that nobody holds any
# more.  A slow add_before_body subrequest keeps the page's buffers in the
# postpone filter; gzip with small gzip_buffers and a slow reader keeps
# them in gzip.  Every byte must come out once, in order.

use strict;
use warnings;

use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

# a page whose upstream chunks end in the middle of markers, or in
# something that only starts like one (closed: inside an unclosed
# comment no marker counts, as in a browser)
my @chunks = ("<p>head <!--pe", "X-->rest of page</p>\n<!--persona:greet",
    "-->hello<!--/persona:gr", "eet--> after <!--", "persona:none-->kept",
    "<!--/persona:none--> end <", "!--p", "ersona:greet-->x<!--/persona:greet",
    "--> tail <!--pe", "rsona:");

my $page = join '', @chunks;

(my $member = $page) =~
    s/<!--persona:greet-->.*?<!--\/persona:greet-->/<b>MEMBER<\/b>/g;
$member =~ s/<!--\/?persona:[\w-]+-->//g;

# a long page for gzip: the same pieces many times, with random bytes
# between them so that compression does not shrink it to nothing
my @long;
srand 10;
for my $i (1 .. 150) {
    push @long, join('', map { chr(97 + int rand 26) } 1 .. 200 + $i % 50),
        @chunks[0 .. 8];
}
push @long, "--> end\n";
my $long = join '', @long;
(my $long_member = $long) =~
    s/<!--persona:greet-->.*?<!--\/persona:greet-->/<b>MEMBER<\/b>/g;
$long_member =~ s/<!--\/?persona:[\w-]+-->//g;

$t->backend(sub {
    my ($r) = @_;
    return { headers => [ 'Content-Type' => 'text/plain' ], body => 'SUBREQ',
        delay => 0.3 } if $r->{uri} =~ /^\/slow/;
    return { chunks => \@long } if $r->{uri} =~ /^\/long/;
    return { chunks => \@chunks, delay => 0.02 };
}, port => $t->port(1), fork => 1);

$t->conf(<<'CONF');
    persona_content greet {
        when '$http_x_member' 'text=<b>MEMBER</b>';
    }

    server {
        listen 127.0.0.1:%%PORT0%% sndbuf=4k;

        persona on;
        persona_slot greet greet;
        persona_slot_once off;   # the page holds the slot twice

        location = /slow {
            proxy_pass http://127.0.0.1:%%PORT1%%;
        }

        location /before/ {
            add_before_body /slow;
            proxy_pass http://127.0.0.1:%%PORT1%%/page;
        }

        location /before-unbuffered/ {
            add_before_body /slow;
            proxy_buffering off;
            proxy_pass http://127.0.0.1:%%PORT1%%/page;
        }

        location /before-after/ {
            add_before_body /slow;
            add_after_body /slow;
            proxy_buffering off;
            proxy_pass http://127.0.0.1:%%PORT1%%/page;
        }

        location /gzip/ {
            gzip on;
            gzip_min_length 0;
            gzip_buffers 2 1k;
            gzip_types text/html;
            proxy_buffering off;
            proxy_pass http://127.0.0.1:%%PORT1%%/long;
        }

        # the write filter holds the output as a slow client makes it do
        location /gzip-limited/ {
            gzip on;
            gzip_min_length 0;
            gzip_buffers 2 1k;
            gzip_types text/html;
            proxy_buffering off;
            limit_rate 300k;
            proxy_pass http://127.0.0.1:%%PORT1%%/long;
        }

    }
CONF

$t->start;

for my $loc (qw(before before-unbuffered)) {
    for my $m ([ member => { 'X-Member' => 1 }, $member ],
        [ visitor => {}, $page =~ s/<!--\/?persona:[\w-]+-->//gr ])
    {
        my ($who, $h, $want) = @$m;

        my $res = $t->request(GET => "/$loc/", headers => $h);
        is($res->{body}, "SUBREQ$want",
            "add_before_body of a slow subrequest, $loc, $who");
    }
}

my $res = $t->request(GET => '/before-after/', headers => { 'X-Member' => 1 });
is($res->{body}, "SUBREQ${member}SUBREQ",
    'add_before_body and add_after_body, both slow');

# gzip after the module, small gzip_buffers, a client that reads slowly
# (or limit_rate, which holds the output the same way, more reliably)
for my $loc (qw(gzip gzip-limited)) {
    my $bad = 0;
    my $runs = 12;

    for my $run (1 .. $runs) {
        my $res = $t->request(GET => "/$loc/",
            headers => { 'X-Member' => 1, 'Accept-Encoding' => 'gzip' },
            $loc eq 'gzip' ? (slow_read => [ 2048, 0.003 ], rcvbuf => 2048)
                : ());

        my $plain;
        my $ok = ($res->header('Content-Encoding') // '') eq 'gzip'
            && gunzip(\$res->{body} => \$plain)
            && $plain eq $long_member;

        unless ($ok) {
            $bad++;
            diag("run $run: " . ($GunzipError || 'body differs at byte '
                . _diff_at($plain // '', $long_member)));
        }
    }

    is($bad, 0, "$loc with gzip_buffers 2 1k and "
        . ($loc eq 'gzip' ? 'a slow reader' : 'limit_rate')
        . ": $runs runs, none corrupted");
}

sub _diff_at {
    my ($a, $b) = @_;
    my $i = 0;
    $i++ while $i < length $a && $i < length $b
        && substr($a, $i, 1) eq substr($b, $i, 1);
    return "$i: got \"" . substr($a, $i, 40) . '" want "'
        . substr($b, $i, 40) . '"';
}

$t->stop;

done_testing;
