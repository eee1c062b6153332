# resty.persona, the Lua library, against Debian's libnginx-mod-http-lua
# (with its NDK and lua-resty-core): the visitor id, variants read as the
# variable reads them (an exposure) or only looked at, expose(), segments
# added from Lua and seen by conditions, the context, conversions into
# $persona_conversion; the modules loaded in either order.

use strict;
use warnings;

use FindBin;
use Test::More;
use Persona::Test;
use Persona::Events qw(take);

my $lua = '/usr/lib/nginx/modules/ngx_http_lua_module.so';
my $ndk = '/usr/lib/nginx/modules/ndk_http_module.so';

plan skip_all => 'libnginx-mod-http-lua not installed' unless -e $lua;

my $persona = persona_module_conf();

my $conf = <<'CONF';
    lua_package_path "%%DIR%%/lua/?.lua;;";

    persona_id $http_x_user_id;

    persona_segment gold;
    persona_segment vip 'segment(gold)';

    persona_experiment hero {
        variant control 50%;
        variant winter  50%;
    }

    log_format persona_exposure escape=none '$persona_exposures';
    log_format persona_conversion escape=none '$persona_conversion';

    server {
        listen 127.0.0.1:%%PORT0%%;

        persona on;

        access_log %%DIR%%/exposure.log persona_exposure
                   if=$persona_exposed;
        access_log %%DIR%%/conversion.log persona_conversion
                   if=$persona_conversion;

        location = /read {
            content_by_lua_block {
                local p = require "resty.persona"
                ngx.say(p.id() or "-", " ", p.variant("hero") or "-")
            }
        }

        location = /look {
            content_by_lua_block {
                local p = require "resty.persona"
                ngx.say(p.variant("hero", false) or "-")
            }
        }

        location = /expose {
            content_by_lua_block {
                local p = require "resty.persona"
                local v = p.variant("hero", false)
                p.expose("hero")
                ngx.say(v)
            }
        }

        location = /unknown {
            content_by_lua_block {
                local p = require "resty.persona"
                local v, err = p.variant("nope")
                ngx.say(tostring(v), " ", err)
            }
        }

        location = /segment {
            access_by_lua_block {
                local p = require "resty.persona"
                if ngx.var.http_x_gold then
                    p.add_segment("gold")
                end
            }
            content_by_lua_block {
                local p = require "resty.persona"
                ngx.say(table.concat(p.segments(), ","), " ",
                        tostring(p.in_segment("vip")), " ",
                        ngx.var.persona_segments)
            }
        }

        location = /context {
            content_by_lua_block {
                local p = require "resty.persona"
                local c = p.context()
                ngx.say(c.device, " ", c.channel, " ", type(c.hour))
            }
        }

        location = /convert {
            content_by_lua_block {
                local p = require "resty.persona"
                ngx.say(tostring(p.convert("signup", 12.5)), " ",
                        tostring(p.convert("bad goal!")))
            }
        }
    }
CONF

sub run {
    my ($order) = @_;

    # the harness loads the persona module first; for the other order it
    # is loaded here, after Lua
    local $ENV{PERSONA_MODULE} = $order eq 'persona first'
                                 ? $ENV{PERSONA_MODULE} : '';

    my $t = Persona::Test->new;

    # a copy the workers can read wherever the checkout is (a mode-700
    # home or mktemp directory is not readable by nginx's user)
    open my $fh, '<:raw', "$FindBin::Bin/../src/lua/resty/persona.lua"
        or die "resty/persona.lua: $!\n";
    $t->write_file('lua/resty/persona.lua', do { local $/; <$fh> });
    close $fh;

    $t->main_conf($order eq 'persona first'
                  ? "load_module $ndk;\nload_module $lua;\n"
                  : "load_module $ndk;\nload_module $lua;\n$persona");
    $t->conf($conf);
    $t->start;

    my $ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/120.0';
    my %h = ('X-User-Id' => 'lua1', 'User-Agent' => $ua);

    my $r = $t->request(GET => '/read', headers => \%h);
    like($r->{body}, qr/^lua1 (control|winter)$/, "$order: id and variant");
    my ($v) = $r->{body} =~ / (\w+)$/;

    my @e = take("$t->{dir}/exposure.log", 1);
    is(scalar @e, 1, "$order: a read is an exposure");
    is($e[0] && $e[0]{variant}, $v, "$order: of the variant read");

    $r = $t->request(GET => '/look', headers => \%h);
    is($r->{body}, "$v\n", "$order: looked at");
    is(scalar take("$t->{dir}/exposure.log", 0), 0,
       "$order: looking is no exposure");

    $r = $t->request(GET => '/expose', headers => \%h);
    @e = take("$t->{dir}/exposure.log", 1);
    is($e[0] && $e[0]{experiment}, 'hero', "$order: expose() exposes");

    $r = $t->request(GET => '/unknown', headers => \%h);
    like($r->{body}, qr/^nil .*nope/, "$order: unknown experiment");

    $r = $t->request(GET => '/segment',
                     headers => { %h, 'X-Gold' => 1 });
    is($r->{body}, "gold,vip true gold,vip\n",
       "$order: a segment from Lua, seen by a condition");

    $r = $t->request(GET => '/segment', headers => \%h);
    is($r->{body}, " false \n", "$order: not without it");

    $r = $t->request(GET => '/context', headers => \%h);
    is($r->{body}, "desktop direct number\n", "$order: context");

    $r = $t->request(GET => '/convert', headers => \%h);
    like($r->{body}, qr/^true nil/, "$order: conversion");
    my @c = take("$t->{dir}/conversion.log", 1);
    is($c[0] && $c[0]{goal}, 'signup', "$order: its goal");
    is($c[0] && $c[0]{value}, 12.5, "$order: its value");
    is($c[0] && $c[0]{assignments}{hero}, $v, "$order: its assignments");

    $r = $t->request(GET => '/convert', headers => { 'User-Agent' => $ua });
    like($r->{body}, qr/^false nil/, "$order: no conversion without an id");

    $t->stop;
}

run('persona first');
run('lua first');

done_testing;
