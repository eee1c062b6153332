# Consent and CRM lists together.  persona_consent is decided before the
# visitor has an id, so segment() there is the segment's condition alone;
# once the id is known, the CRM list of that id counts, whatever the order
# in which the request reads $persona_id and $persona_segments.

use strict;
use warnings;

use FindBin;
use Test::More;
use Persona::Test;

my $t = Persona::Test->new;

my $build = "$FindBin::Bin/../scripts/persona-segments-build";

$t->write_file('crm.csv', "id,segments\nalice,vip;newsletter\nbob,human\n");
my $out = `$build -q $t->{dir}/crm.csv $t->{dir}/crm.mdb 2>&1`;
is($?, 0, 'segment store built') or diag($out);
chmod 0644, "$t->{dir}/crm.mdb";

$t->conf(<<'CONF');
    persona_id $http_x_user_id;
    persona_segments_db %%DIR%%/crm.mdb;
    persona_segment human '$http_user_agent !~* bot';
    persona_consent 'segment(human)';

    server {
        listen 127.0.0.1:%%PORT0%%;

        location /id-first {
            return 200 "id=$persona_id segments=$persona_segments\n";
        }

        location /segments-first {
            return 200 "segments=$persona_segments id=$persona_id\n";
        }
    }
CONF

$t->start;

sub get {
    my ($uri, %h) = @_;
    return $t->request(GET => $uri, headers => { 'User-Agent' => 'Mozilla/5.0',
                                                  %h })->{body};
}

like(get('/id-first', 'X-User-Id' => 'alice'),
    qr/^id=alice segments=human,newsletter,vip$/m,
    'id read first: the CRM list of the id counts');
like(get('/segments-first', 'X-User-Id' => 'alice'),
    qr/^segments=human,newsletter,vip id=alice$/m,
    'segments read first: the same answer');
like(get('/id-first', 'X-User-Id' => 'bob'),
    qr/^id=bob segments=human$/m,
    'a CRM segment that is also defined is listed once');
like(get('/id-first', 'X-User-Id' => 'alice', 'User-Agent' => 'Googlebot'),
    qr/^id= segments=$/m,
    'no consent: no id, no CRM segments');
like(get('/segments-first', 'X-User-Id' => 'alice', 'User-Agent' => 'a bot'),
    qr/^segments= id=$/m, 'no consent, segments read first');

$t->stop;

# a segment only the CRM list defines can never hold before there is an id

my $u = Persona::Test->new;
$u->write_file('crm.mdb', '');
system("cp $t->{dir}/crm.mdb $u->{dir}/crm.mdb");
$u->conf(<<'CONF');
    persona_segments_db %%DIR%%/crm.mdb;
    persona_segment loyal 'segment(vip) or $cookie_loyal = 1';
    persona_consent 'segment(loyal)';
    server { listen 127.0.0.1:%%PORT0%%; }
CONF

my ($rc, $text) = $u->nginx_t;
isnt($rc, 0, 'nginx -t refuses a CRM-only segment in persona_consent');
like($text, qr/segment "vip" is only defined by the persona_segments_db list and cannot be used in persona_consent, which is decided before the visitor's id is known, in \S+nginx\.conf:(\d+)/,
    'the message names the segment and the persona_consent line');
my ($line) = $text =~ /nginx\.conf:(\d+)/;
is($line, $u->conf_line(qr/persona_consent/), 'the line of persona_consent');

done_testing;
