/*
 * Hashing: streaming equals one-shot over the concatenation, for FNV-1a
 * (UTF-16 units) and MurmurHash2; ranges stay in [0, 1] and do not
 * overlap; percentages parse only from their canonical forms.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persona_hash.h"


static uint32_t
murmur_ref(const unsigned char *data, size_t len)
{
    uint32_t  h, k;

    h = 0 ^ (uint32_t) len;

    while (len >= 4) {
        k = data[0] | data[1] << 8 | data[2] << 16 | (uint32_t) data[3] << 24;
        k *= 0x5bd1e995;
        k ^= k >> 24;
        k *= 0x5bd1e995;
        h *= 0x5bd1e995;
        h ^= k;
        data += 4;
        len -= 4;
    }

    switch (len) {
    case 3:
        h ^= data[2] << 16;
        /* fall through */
    case 2:
        h ^= data[1] << 8;
        /* fall through */
    case 1:
        h ^= data[0];
        h *= 0x5bd1e995;
    }

    h ^= h >> 13;
    h *= 0x5bd1e995;
    h ^= h >> 15;

    return h;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            bp;
    char           buf[16];
    size_t         cut, i, n;
    double         start[8], end[8];
    unsigned       w[8], sum;
    persona_fnv_t  f;

    if (size == 0) {
        return 0;
    }

    cut = data[0] % size;

    persona_fnv_init(&f);
    persona_fnv_update(&f, data, cut);
    persona_fnv_update(&f, data + cut, size - cut);

    if (persona_fnv_final(&f) != persona_fnv1a32(data, size)) {
        abort();
    }

    if (persona_murmur2(data, cut, data + cut, size - cut)
        != murmur_ref(data, size))
    {
        abort();
    }

    /* an accepted percentage is in range and survives a round trip */
    bp = persona_hash_parse_percent(data, size);

    if (bp >= 0) {
        if (bp > 10000) {
            abort();
        }

        n = (size_t) snprintf(buf, sizeof(buf), "%d.%02d%%", bp / 100,
                              bp % 100);

        if (persona_hash_parse_percent((unsigned char *) buf, n) != bp) {
            abort();
        }
    }

    /* weights from the input, normalised to sum to 10000 */
    n = 1 + data[0] % 8;
    sum = 0;

    for (i = 0; i < n; i++) {
        w[i] = (i + 1 < size) ? data[i + 1] : 1;
        sum += w[i];
    }

    if (sum == 0) {
        return 0;
    }

    for (i = 0, sum = 0; i + 1 < n; i++) {
        w[i] = w[i] * 10000 / (sum + 1 > 0 ? 255 * n : 1);
        sum += w[i];
    }

    w[n - 1] = 10000 - sum;

    persona_hash_ranges(w, n, data[0] & 1, (data[0] * 7919u) % 10001,
                        start, end);

    for (i = 0; i < n; i++) {
        if (start[i] < 0 || end[i] > 1.0000001 || end[i] < start[i]
            || (i > 0 && start[i] < end[i - 1]))
        {
            abort();
        }
    }

    return 0;
}
