# A request that records several conversions from Lua writes one line
# each into $persona_conversion (docs/lua.md); the live metrics count
# "the events of the logs" (docs/metrics.md), so every one of them must
# be counted too, with its value and its experiment, not only the last.

use strict;
use warnings;

use FindBin;
use Test::More;
use Persona::Test;
use Persona::Events qw(take);

my $lua = '/usr/lib/nginx/modules/ngx_http_lua_module.so';
my $ndk = '/usr/lib/nginx/modules/ndk_http_module.so';

plan skip_all => 'libnginx-mod-http-lua not installed' unless -e $lua;

my $t = Persona::Test->new;

open my $fh, '<:raw', "$FindBin::Bin/../src/lua/resty/persona.lua"
    or die "resty/persona.lua: $!\n";
$t->write_file('lua/resty/persona.lua', do { local $/; <$fh> });
close $fh;

$t->main_conf("load_module $ndk;\nload_module $lua;\n");

$t->conf(<<'CONF');
    lua_package_path "%%DIR%%/lua/?.lua;;";

    persona_metrics_zone persona 1m;
    persona_id $http_x_user_id;

    persona_experiment price {
        variant high;
        variant low;
    }

    log_format persona_conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;

        persona on;

        location = /two {
            content_by_lua_block {
                local p = require "resty.persona"
                p.convert("purchase", 10)
                p.convert("purchase", 5)
                p.convert("signup")
                ngx.say("ok")
            }
            access_log %%DIR%%/conversion.log persona_conversion
                       if=$persona_conversion;
        }

        location = /metrics {
            persona_metrics;
        }
    }
CONF

$t->start;

my $r = $t->request(GET => '/two', headers => { 'X-User-Id' => 'm1' });
is($r->{body}, "ok\n", 'three conversions from Lua');

my @c = take("$t->{dir}/conversion.log", 3);
is(scalar @c, 3, 'three lines in the log');
my $variant = $c[0] && $c[0]{assignments}{price};

my $m = $t->request(GET => '/metrics')->{body};

sub metric {
    my ($name) = @_;
    my ($v) = $m =~ /^\Q$name\E (\S+)$/m;
    return $v // 0;
}

my $l = 'goal="purchase",entry_channel="direct",holdout="false"';

is(metric("persona_conversions_total{$l}"), 2,
   'both purchases counted');
is(metric("persona_conversion_value_total{$l}"), 15,
   'with both values');
is(metric('persona_conversions_total{goal="signup",'
          . 'entry_channel="direct",holdout="false"}'), 1,
   'the signup counted');
is(metric("persona_experiment_conversions_total{experiment=\"price\","
          . "variant=\"$variant\",goal=\"purchase\"}"), 2,
   'both purchases counted for the variant');

done_testing;
