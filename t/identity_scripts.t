# scripts/persona-preview prints a link nginx takes, or refuses: a host
# with a port (nginx's $host has none) or a clock out of range would make
# a link the module ignores as a whole, without a word.

use strict;
use warnings;

use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

my $key = 'q' x 32;

$t->write_file('persona.key', $key);

$t->conf(<<'CONF');
    persona_key %%DIR%%/persona.key;

    server {
        listen 127.0.0.1:%%PORT0%%;

        persona_preview on;

        location = /hour {
            return 200 "hour=$persona_hour\n";
        }
    }
CONF

$t->start;

my $script = "$Persona::Test::TDIR/../scripts/persona-preview";
my $k = $t->dir . '/persona.key';

my @cases = (
    [ 'a host with its port', '--host localhost:' . $t->port(0) ],
    [ 'an hour of 25', '--host localhost --time 2026-12-24T25:00Z' ],
    [ 'a month of 13', '--host localhost --time 2026-13-01T10:00Z' ],
    [ 'a minute of 60', '--host localhost --time 2026-12-24T10:60Z' ],
);

for my $c (@cases) {
    my ($name, $args) = @$c;
    my $link = `$script -k $k $args --url http://localhost/hour hero=x 2>/dev/null`;
    my $rc = $? >> 8;
    chomp $link;

    if ($rc != 0) {
        pass("$name: refused by the script");
        next;
    }

    my ($q) = $link =~ m{(/hour\?.*)$};
    my $res = $t->request(GET => $q);
    my @cc = $res->header_values('Cache-Control');
    ok(grep({ $_ eq 'no-store' } @cc),
        "$name: the script printed a link, so nginx previews it")
        or diag("link: $link, body: $res->{body}");
}

# what nginx takes, the script still makes

my $link = `$script -k $k --host localhost --time 2026-12-24T10:00Z --url http://localhost/hour hero=x`;
chomp $link;
my ($q) = $link =~ m{(/hour\?.*)$};
is($t->request(GET => $q)->{body}, "hour=10\n", 'a valid clock: taken');

$t->check_error_log;

done_testing;
