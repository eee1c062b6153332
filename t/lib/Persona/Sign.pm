package Persona::Sign;

# Signed values as docs/identity.md defines them, written with Perl's own
# HMAC (Digest::SHA), apart from the module's C and from
# scripts/persona-sign: tests sign with it what nginx must accept, and
# change it to make what nginx must refuse.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256);
use Exporter qw(import);
use MIME::Base64 qw(encode_base64url);

our @EXPORT = qw(signature signed_id preview_token sticky_cookie
    id_cookie b64u);

sub b64u { encode_base64url($_[0]) }

# base64url(HMAC-SHA256(key, KIND "|" DATA)), 43 characters
sub signature {
    my ($key, $kind, $data) = @_;
    return encode_base64url(hmac_sha256("$kind|$data", $key));
}

sub signed_id {
    my ($key, $id, $expires) = @_;
    my $data = "$id." . ($expires // 0);
    return "$data." . signature($key, 'id', $data);
}

# preview_token($key, host => H, expires => T, time => UTC, set => [...])
sub preview_token {
    my ($key, %o) = @_;
    my @p = ("host=$o{host}", "expires=$o{expires}");
    push @p, "time=$o{time}" if defined $o{time};
    push @p, map { "set=$_" } @{ $o{set} // [] };
    my $data = encode_base64url($o{payload} // join '&', @p);
    return "$data." . signature($key, 'preview', $data);
}

sub sticky_cookie {
    my ($key, $entries) = @_;
    return "$entries." . signature($key, 'sticky', $entries);
}

sub id_cookie {
    my ($key, $id, $previous, $since) = @_;
    my $data = join '.', encode_base64url($id),
        encode_base64url($previous // ''), $since // 0;
    return "$data." . signature($key, 'cookie', $data);
}

1;
