
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Hashes and bucket boundaries (see persona_hash.h).  Everything here
 * must agree bit for bit with code we do not control: GrowthBook's
 * JavaScript SDK for FNV-1a and the ranges, nginx for MurmurHash2 and
 * split_clients, so each function follows its model's order of
 * operations rather than a cleverer one.
 */


#include "persona_hash.h"


#define PERSONA_FNV_BASIS   0x811c9dc5
#define PERSONA_FNV_PRIME   0x01000193
#define PERSONA_MURMUR_M    0x5bd1e995


static void persona_fnv_unit(persona_fnv_t *f, uint32_t u);
static void persona_fnv_code_point(persona_fnv_t *f, uint32_t cp);
static void persona_fnv_byte(persona_fnv_t *f, unsigned char c);
static void persona_fnv_reset(persona_fnv_t *f);
static void persona_fnv_end_string(persona_fnv_t *f);
static uint32_t persona_murmur2_block(uint32_t h, const unsigned char *p);


int
persona_hash_parse_percent(const unsigned char *p, size_t len)
{
    int     v;
    size_t  i, digits, decimals;

    if (len < 2 || p[len - 1] != '%') {
        return -1;
    }

    len--;
    v = 0;

    for (i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        if (i == 3) {
            return -1;
        }

        v = v * 10 + (p[i] - '0');
    }

    digits = i;

    /* no leading zero ("05%"), so a value reads as it prints */

    if (digits == 0 || (digits > 1 && p[0] == '0')) {
        return -1;
    }

    decimals = 0;

    if (i < len && p[i] == '.') {

        for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
            if (decimals == 2) {
                return -1;
            }

            v = v * 10 + (p[i] - '0');
            decimals++;
        }

        if (decimals == 0) {
            return -1;
        }
    }

    if (i != len) {
        return -1;
    }

    for ( /* void */ ; decimals < 2; decimals++) {
        v *= 10;
    }

    return (v > 10000) ? -1 : v;
}


void
persona_fnv_init(persona_fnv_t *f)
{
    f->h = PERSONA_FNV_BASIS;
    persona_fnv_reset(f);
}


void
persona_fnv_update(persona_fnv_t *f, const unsigned char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {

        /* ids are nearly always ASCII: one unit per byte */

        if (p[i] < 0x80 && f->need == 0) {
            f->h ^= p[i];
            f->h *= PERSONA_FNV_PRIME;
            continue;
        }

        persona_fnv_byte(f, p[i]);
    }
}


uint32_t
persona_fnv_final(persona_fnv_t *f)
{
    persona_fnv_end_string(f);

    return f->h;
}


uint32_t
persona_fnv1a32(const unsigned char *p, size_t len)
{
    persona_fnv_t  f;

    persona_fnv_init(&f);
    persona_fnv_update(&f, p, len);

    return persona_fnv_final(&f);
}


static void
persona_fnv_unit(persona_fnv_t *f, uint32_t u)
{
    f->h ^= u;
    f->h *= PERSONA_FNV_PRIME;
}


static void
persona_fnv_code_point(persona_fnv_t *f, uint32_t cp)
{
    if (cp < 0x10000) {
        persona_fnv_unit(f, cp);
        return;
    }

    cp -= 0x10000;
    persona_fnv_unit(f, 0xd800 + (cp >> 10));
    persona_fnv_unit(f, 0xdc00 + (cp & 0x3ff));
}


static void
persona_fnv_reset(persona_fnv_t *f)
{
    f->cp = 0;
    f->need = 0;
    f->lower = 0x80;
    f->upper = 0xbf;
}


/*
 * TextDecoder turns a sequence cut by the end of its input into U+FFFD.
 * The SDK concatenates seed and id as strings, each decoded on its own:
 * a sequence cut at the end of one is never completed by the other.
 */

static void
persona_fnv_end_string(persona_fnv_t *f)
{
    if (f->need) {
        persona_fnv_reset(f);
        persona_fnv_unit(f, 0xfffd);
    }
}


/*
 * The WHATWG "UTF-8 decoder" algorithm, byte by byte, which is what
 * makes a sequence split between two updates hash like the whole.
 */

static void
persona_fnv_byte(persona_fnv_t *f, unsigned char c)
{
    if (f->need) {

        if (c < f->lower || c > f->upper) {
            /* the bytes so far are one U+FFFD, "c" starts afresh */
            persona_fnv_reset(f);
            persona_fnv_unit(f, 0xfffd);

            persona_fnv_byte(f, c);
            return;
        }

        f->lower = 0x80;
        f->upper = 0xbf;
        f->cp = (f->cp << 6) | (c & 0x3f);

        if (--f->need == 0) {
            persona_fnv_code_point(f, f->cp);
            f->cp = 0;
        }

        return;
    }

    if (c < 0x80) {
        persona_fnv_unit(f, c);

    } else if (c >= 0xc2 && c <= 0xdf) {
        f->need = 1;
        f->cp = c & 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        /* no overlong forms (E0 80..9F), no surrogates (ED A0..BF) */
        f->lower = (c == 0xe0) ? 0xa0 : 0x80;
        f->upper = (c == 0xed) ? 0x9f : 0xbf;
        f->need = 2;
        f->cp = c & 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        /* no overlong forms (F0 80..8F), nothing above U+10FFFF */
        f->lower = (c == 0xf0) ? 0x90 : 0x80;
        f->upper = (c == 0xf4) ? 0x8f : 0xbf;
        f->need = 3;
        f->cp = c & 0x07;

    } else {
        persona_fnv_unit(f, 0xfffd);
    }
}


double
persona_hash_v1(const unsigned char *seed, size_t slen,
    const unsigned char *id, size_t idlen)
{
    persona_fnv_t  f;

    persona_fnv_init(&f);
    persona_fnv_update(&f, id, idlen);
    persona_fnv_end_string(&f);
    persona_fnv_update(&f, seed, slen);

    return (persona_fnv_final(&f) % 1000) / 1000.0;
}


double
persona_hash_v2(const unsigned char *seed, size_t slen,
    const unsigned char *id, size_t idlen)
{
    size_t         n;
    uint32_t       h;
    persona_fnv_t  f;
    unsigned char  dec[10];

    persona_fnv_init(&f);
    persona_fnv_update(&f, seed, slen);
    persona_fnv_end_string(&f);
    persona_fnv_update(&f, id, idlen);
    h = persona_fnv_final(&f);

    /* JavaScript's String(h) of an unsigned 32-bit value */

    n = sizeof(dec);

    do {
        dec[--n] = (unsigned char) ('0' + h % 10);
        h /= 10;
    } while (h);

    h = persona_fnv1a32(dec + n, sizeof(dec) - n);

    return (h % 10000) / 10000.0;
}


double
persona_hash_layer(const unsigned char *layer, size_t llen,
    const unsigned char *id, size_t idlen)
{
    persona_fnv_t  f;

    persona_fnv_init(&f);
    persona_fnv_update(&f, id, idlen);
    persona_fnv_end_string(&f);
    persona_fnv_update(&f, (const unsigned char *) "__", 2);
    persona_fnv_update(&f, layer, llen);

    return (persona_fnv_final(&f) % 1000) / 1000.0;
}


void
persona_hash_ranges(const unsigned *weights_bp, size_t n, int equal,
    unsigned traffic_bp, double *start, double *end)
{
    size_t           i;
    double           w, coverage, cumulative;
    volatile double  scaled;

    if (traffic_bp > 10000) {
        traffic_bp = 10000;
    }

    /* a division of two exact doubles: the double nearest the decimal */
    coverage = traffic_bp / 10000.0;
    cumulative = 0;

    for (i = 0; i < n; i++) {
        w = equal ? 1.0 / (double) n : weights_bp[i] / 10000.0;

        start[i] = cumulative;
        cumulative += w;

        /*
         * JavaScript rounds the product before adding it; the volatile
         * keeps compilers from fusing both into one multiply-add, which
         * rounds once and may move a boundary by one ulp
         */
        scaled = coverage * w;
        end[i] = start[i] + scaled;
    }
}


int
persona_hash_choose(double h, const double *start, const double *end,
    size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (h >= start[i] && h < end[i]) {
            return (int) i;
        }
    }

    return -1;
}


/*
 * ngx_murmur_hash2() reads the key in 4-byte blocks; only the block that
 * straddles the end of "a" and the start of "b" needs copying.
 */

uint32_t
persona_murmur2(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
    size_t         n;
    uint32_t       h;
    unsigned char  q[4];

    h = 0 ^ (uint32_t) (alen + blen);

    while (alen >= 4) {
        h = persona_murmur2_block(h, a);
        a += 4;
        alen -= 4;
    }

    /* no memcpy(): an empty "a" or "b" may be NULL */

    for (n = 0; n < alen; n++) {
        q[n] = a[n];
    }

    while (n < 4 && blen) {
        q[n++] = *b++;
        blen--;
    }

    if (n == 4) {
        h = persona_murmur2_block(h, q);

        while (blen >= 4) {
            h = persona_murmur2_block(h, b);
            b += 4;
            blen -= 4;
        }

        for (n = 0; n < blen; n++) {
            q[n] = b[n];
        }
    }

    switch (n) {
    case 3:
        h ^= (uint32_t) q[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t) q[1] << 8;
        /* fall through */
    case 1:
        h ^= q[0];
        h *= PERSONA_MURMUR_M;
    }

    h ^= h >> 13;
    h *= PERSONA_MURMUR_M;
    h ^= h >> 15;

    return h;
}


static uint32_t
persona_murmur2_block(uint32_t h, const unsigned char *p)
{
    uint32_t  k;

    k = p[0];
    k |= (uint32_t) p[1] << 8;
    k |= (uint32_t) p[2] << 16;
    k |= (uint32_t) p[3] << 24;

    k *= PERSONA_MURMUR_M;
    k ^= k >> 24;
    k *= PERSONA_MURMUR_M;

    h *= PERSONA_MURMUR_M;
    h ^= k;

    return h;
}


/*
 * split_clients: "last += percent * (uint64_t) 0xffffffff / 10000", each
 * part rounded down on its own.  Traffic scales each percent inside the
 * same single division, so at 100% this is split_clients exactly, and
 * below it equals a split_clients block written with the scaled percents
 * whenever those are whole hundredths ("50%" at 80% traffic is "40%").
 */

void
persona_hash_split_ranges(const unsigned *weights_bp, size_t n,
    unsigned traffic_bp, uint32_t *end)
{
    size_t    i;
    uint64_t  w, last;

    if (traffic_bp > 10000) {
        traffic_bp = 10000;
    }

    last = 0;

    for (i = 0; i < n; i++) {
        w = (weights_bp[i] > 10000) ? 10000 : weights_bp[i];

        last += w * traffic_bp * 0xffffffff / 100000000;

        /* only weights summing to more than 100% get here */
        if (last > 0xffffffff) {
            last = 0xffffffff;
        }

        end[i] = (uint32_t) last;
    }
}


int
persona_hash_split_choose(uint32_t h, const uint32_t *end, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (h < end[i]) {
            return (int) i;
        }
    }

    return -1;
}
