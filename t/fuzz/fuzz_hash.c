
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Hashing against slow references written from the rules.  The input is
 * cut in two at a point chosen by its first byte:
 *   - streaming FNV-1a over both parts equals the one-shot hash of the
 *     whole, which equals FNV-1a over the UTF-16 units a reference
 *     decoder (maximal subparts of Unicode 3.9, what TextDecoder does)
 *     makes of it; v1, v2 and layer hashes equal the SDK's formulas over
 *     the two parts decoded apart;
 *   - MurmurHash2 of (part 1, part 2) equals nginx's over the whole;
 *   - an accepted percentage reads back as its own canonical spelling,
 *     and every canonical spelling is accepted;
 *   - GrowthBook ranges lie in [0, 1], never overlap, and more traffic
 *     never moves a visitor from one variant to another; split_clients
 *     boundaries grow, and at 100% equal nginx's.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persona_hash.h"


#define FUZZ_MAX  4096


static size_t ref_units(const unsigned char *p, size_t n, uint16_t *u);
static uint32_t ref_fnv(const uint16_t *u, size_t n);
static uint32_t ref_murmur(const unsigned char *data, size_t len);
static void check_fnv(const unsigned char *p, size_t n, size_t cut);
static void check_percent(const unsigned char *p, size_t n);
static void check_ranges(const unsigned char *p, size_t n);
static void check_split(const unsigned char *p, size_t n);


/*
 * UTF-8 to UTF-16 the long way: a well-formed sequence is one code
 * point; otherwise the lead byte and the continuation bytes that could
 * still have completed it (its maximal subpart) are one U+FFFD.
 */

static size_t
ref_units(const unsigned char *p, size_t n, uint16_t *u)
{
    size_t         i, j, k, len;
    uint32_t       cp;
    unsigned char  c, lo, hi;

    k = 0;
    i = 0;

    while (i < n) {
        c = p[i];
        lo = 0x80;
        hi = 0xbf;

        if (c < 0x80) {
            u[k++] = c;
            i++;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;

        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            lo = (c == 0xe0) ? 0xa0 : 0x80;
            hi = (c == 0xed) ? 0x9f : 0xbf;

        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            lo = (c == 0xf0) ? 0x90 : 0x80;
            hi = (c == 0xf4) ? 0x8f : 0xbf;

        } else {
            u[k++] = 0xfffd;
            i++;
            continue;
        }

        j = 1;

        if (i + 1 < n && p[i + 1] >= lo && p[i + 1] <= hi) {
            for (j = 2; j < len && i + j < n; j++) {
                if (p[i + j] < 0x80 || p[i + j] > 0xbf) {
                    break;
                }
            }
        }

        if (j < len) {
            u[k++] = 0xfffd;
            i += j;
            continue;
        }

        cp = c & (0x7f >> len);

        for (j = 1; j < len; j++) {
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }

        if (cp >= 0x10000) {
            u[k++] = (uint16_t) (0xd800 + ((cp - 0x10000) >> 10));
            u[k++] = (uint16_t) (0xdc00 + ((cp - 0x10000) & 0x3ff));

        } else {
            u[k++] = (uint16_t) cp;
        }

        i += len;
    }

    return k;
}


/* hashFnv32a() of the SDK, on a JavaScript string's code units */

static uint32_t
ref_fnv(const uint16_t *u, size_t n)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < n; i++) {
        h ^= u[i];
        h *= 16777619u;
    }

    return h;
}


/* ngx_murmur_hash2() as nginx has it */

static uint32_t
ref_murmur(const unsigned char *data, size_t len)
{
    uint32_t  h, k;

    h = 0 ^ (uint32_t) len;

    while (len >= 4) {
        k  = data[0];
        k |= data[1] << 8;
        k |= data[2] << 16;
        k |= (uint32_t) data[3] << 24;

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


static void
check_fnv(const unsigned char *p, size_t n, size_t cut)
{
    int            dn;
    char           dec[16];
    size_t         na, nb, nl;
    uint16_t       ua[FUZZ_MAX + 8], ub[FUZZ_MAX + 8], uw[2 * FUZZ_MAX + 8];
    uint32_t       whole;
    persona_fnv_t  f;

    whole = persona_fnv1a32(p, n);

    persona_fnv_init(&f);
    persona_fnv_update(&f, p, cut);
    persona_fnv_update(&f, p + cut, n - cut);

    if (persona_fnv_final(&f) != whole) {
        abort();
    }

    if (ref_fnv(uw, ref_units(p, n, uw)) != whole) {
        abort();
    }

    if (persona_murmur2(p, cut, p + cut, n - cut) != ref_murmur(p, n)) {
        abort();
    }

    /* the SDK: two strings (seed, id) concatenated after decoding */

    na = ref_units(p, cut, ua);
    nb = ref_units(p + cut, n - cut, ub);

    /* v1: id + seed, id is the second part */
    memcpy(uw, ub, nb * sizeof(uint16_t));
    memcpy(uw + nb, ua, na * sizeof(uint16_t));

    if (persona_hash_v1(p, cut, p + cut, n - cut)
        != (ref_fnv(uw, na + nb) % 1000) / 1000.0)
    {
        abort();
    }

    /* layer: id + "__" + layer */
    uw[nb] = '_';
    uw[nb + 1] = '_';
    memcpy(uw + nb + 2, ua, na * sizeof(uint16_t));

    if (persona_hash_layer(p, cut, p + cut, n - cut)
        != (ref_fnv(uw, na + nb + 2) % 1000) / 1000.0)
    {
        abort();
    }

    /* v2: String(fnv(seed + id)), hashed again */
    memcpy(uw, ua, na * sizeof(uint16_t));
    memcpy(uw + na, ub, nb * sizeof(uint16_t));

    dn = snprintf(dec, sizeof(dec), "%lu",
                  (unsigned long) ref_fnv(uw, na + nb));

    for (nl = 0; nl < (size_t) dn; nl++) {
        uw[nl] = (unsigned char) dec[nl];
    }

    if (persona_hash_v2(p, cut, p + cut, n - cut)
        != (ref_fnv(uw, nl) % 10000) / 10000.0)
    {
        abort();
    }
}


static void
check_percent(const unsigned char *p, size_t n)
{
    int     bp, want;
    char    buf[16];
    size_t  len;

    bp = persona_hash_parse_percent(p, n);

    if (bp >= 0) {
        if (bp > 10000) {
            abort();
        }

        /* the input without trailing zero decimals is the canonical form */

        len = n - 1;

        if (memchr(p, '.', len) != NULL) {
            while (p[len - 1] == '0') {
                len--;
            }

            if (p[len - 1] == '.') {
                len--;
            }
        }

        if (bp % 100 == 0) {
            snprintf(buf, sizeof(buf), "%d", bp / 100);

        } else if (bp % 10 == 0) {
            snprintf(buf, sizeof(buf), "%d.%d", bp / 100, bp % 100 / 10);

        } else {
            snprintf(buf, sizeof(buf), "%d.%02d", bp / 100, bp % 100);
        }

        if (strlen(buf) != len || memcmp(buf, p, len) != 0) {
            abort();
        }
    }

    /* every value has its spellings accepted */

    if (n < 2) {
        return;
    }

    want = (p[0] | p[1] << 8) % 10001;

    len = (size_t) snprintf(buf, sizeof(buf), "%d.%02d%%", want / 100,
                            want % 100);

    if (persona_hash_parse_percent((unsigned char *) buf, len) != want) {
        abort();
    }

    if (want % 100 == 0) {
        len = (size_t) snprintf(buf, sizeof(buf), "%d%%", want / 100);

        if (persona_hash_parse_percent((unsigned char *) buf, len) != want) {
            abort();
        }
    }
}


static void
check_ranges(const unsigned char *p, size_t n)
{
    int       equal, v, v2;
    size_t    i, k;
    double    h, s[8], e[8], s2[8], e2[8];
    unsigned  w[8], sum, t, t2;

    if (n < 12) {
        return;
    }

    k = 1 + p[0] % 8;
    equal = p[1] & 1;
    t = (p[2] | p[3] << 8) % 10001;
    t2 = t + (p[4] | p[5] << 8) % (10001 - t);

    /* whole basis points summing to 100% */

    for (i = 0, sum = 0; i < k; i++) {
        sum += p[6 + i % 6];
    }

    for (i = 0; i < k; i++) {
        w[i] = (sum == 0) ? 10000 / k : p[6 + i % 6] * 10000u / sum;
    }

    for (i = 1, sum = w[0]; i < k; i++) {
        sum += w[i];
    }

    w[k - 1] += 10000 - sum;

    persona_hash_ranges(w, k, equal, t, s, e);
    persona_hash_ranges(w, k, equal, t2, s2, e2);

    for (i = 0; i < k; i++) {

        /*
         * the SDK's running sum may pass 1 by a few ulps (nine equal
         * variants end at 1.0000000000000002); no hash reaches 1
         */

        if (s[i] < 0 || e[i] < s[i] || e[i] > 1 + 1e-12) {
            abort();
        }

        if (i > 0 && s[i] < e[i - 1]) {
            abort();
        }

        if (s2[i] != s[i] || e2[i] < e[i]) {
            abort();
        }
    }

    /* GrowthBook's hashes are k / 10000 (v2) or k / 1000 (v1) */

    h = ((p[6] | p[7] << 8) % 10000) / 10000.0;

    v = persona_hash_choose(h, s, e, k);
    v2 = persona_hash_choose(h, s2, e2, k);

    if (v >= 0 && v2 != v) {
        abort();
    }

    if (v >= 0 && (h < s[v] || h >= e[v])) {
        abort();
    }

    if (t == 10000 && v < 0) {
        abort();
    }
}


static void
check_split(const unsigned char *p, size_t n)
{
    int       v;
    size_t    i, k;
    uint32_t  h, last, e[8], ref[8];
    unsigned  w[8], sum, t;

    if (n < 14) {
        return;
    }

    k = 1 + p[8] % 8;
    t = (p[9] | p[10] << 8) % 10001;

    /* whole percents or 0.01% steps, summing to at most 100% */

    for (i = 0, sum = 0; i < k; i++) {
        w[i] = (p[11] & 1) ? (p[12 + i % 2] % 101) * 100u
                           : (p[12 + i % 2] | p[13] << 8) % 10001;

        if (sum + w[i] > 10000) {
            w[i] = 10000 - sum;
        }

        sum += w[i];
    }

    persona_hash_split_ranges(w, k, t, e);
    persona_hash_split_ranges(w, k, 10000, ref);

    /* nginx's split_clients block */

    for (i = 0, last = 0; i < k; i++) {
        last += w[i] * (uint64_t) 0xffffffff / 10000;

        if (ref[i] != last) {
            abort();
        }

        if (e[i] > ref[i] || (i > 0 && e[i] < e[i - 1])) {
            abort();
        }
    }

    h = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | p[2] << 8 | p[3];

    v = persona_hash_split_choose(h, e, k);

    if (v >= 0 && (h >= e[v] || (v > 0 && h < e[v - 1]))) {
        abort();
    }

    if (v < 0 && h < e[k - 1]) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t  cut;

    if (size == 0 || size > FUZZ_MAX) {
        return 0;
    }

    cut = data[0] % (size + 1);

    check_fnv(data, size, cut);
    check_percent(data, size);
    check_percent(data + cut, size - cut);
    check_ranges(data, size);
    check_split(data, size);

    return 0;
}
