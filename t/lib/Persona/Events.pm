package Persona::Events;

# Event lines as the tests read them.  nginx writes a request's access
# log line when it frees the request, a moment after the client has read
# the response: a test waits for the lines it expects instead of reading
# the file at once.
#
#     use Persona::Events qw(take);
#     my @e = take("$t->{dir}/exposure.log", 2);   # waits for 2 lines,
#                                                  # decoded, file emptied

use strict;
use warnings;

use Exporter qw(import);
use JSON::PP;
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(take);

# the JSON lines of $path once there are $n (or after 5 seconds), then
# the file is emptied; with $n = 0, what is there after a short while
sub take {
    my ($path, $n, %o) = @_;

    my $end = time + ($n ? $o{timeout} // 5 : 0.2);
    my @lines;

    while (1) {
        @lines = ();
        if (open my $fh, '<:raw', $path) {
            @lines = grep { /\S/ } <$fh>;
            close $fh;
        }
        last if $n && @lines >= $n || time >= $end;
        sleep 0.01;
    }

    truncate $path, 0 unless $o{keep};

    return map { decode_json($_) } @lines;
}

1;
