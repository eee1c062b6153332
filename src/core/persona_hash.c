/*
 * Copyright (C) ngx_http_persona_module authors
 */

#include <string.h>
#include "persona_hash.h"

int
persona_hash_parse_percent(const unsigned char *p, size_t len)
{
    size_t  i, dec;
    int     v, seen_dot, digits;

    if (len < 2 || p[len - 1] != '%') {
        return -1;
    }
    len--;
    v = 0; dec = 0; seen_dot = 0; digits = 0;
    for (i = 0; i < len; i++) {
        if (p[i] == '.' && !seen_dot && digits) {
            seen_dot = 1;
            continue;
        }
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        if (seen_dot) {
            if (++dec > 2) {
                return -1;
            }
        } else if (++digits > 3) {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    if (!digits || (seen_dot && dec == 0)) {
        return -1;
    }
    while (dec++ < 2) {
        v *= 10;
    }
    return v > 10000 ? -1 : v;
}

static void
persona_fnv_unit(persona_fnv_t *f, uint32_t u)
{
    f->h ^= u;
    f->h *= 0x01000193;
}

static void
persona_fnv_cp(persona_fnv_t *f, uint32_t cp)
{
    if (cp >= 0x10000) {
        cp -= 0x10000;
        persona_fnv_unit(f, 0xd800 + (cp >> 10));
        persona_fnv_unit(f, 0xdc00 + (cp & 0x3ff));
    } else {
        persona_fnv_unit(f, cp);
    }
}

void
persona_fnv_init(persona_fnv_t *f)
{
    f->h = 0x811c9dc5;
    f->npend = 0;
    f->need = 0;
}

static void
persona_fnv_flush(persona_fnv_t *f)
{
    size_t  i;

    for (i = 0; i < f->npend; i++) {
        persona_fnv_unit(f, 0xfffd);
    }
    f->npend = 0;
    f->need = 0;
}

static void
persona_fnv_byte(persona_fnv_t *f, unsigned char c)
{
    uint32_t  cp;
    size_t    i;

    if (f->npend) {
        if ((c & 0xc0) == 0x80) {
            /* reject overlong/surrogate/out of range second bytes */
            if (f->npend == 1) {
                unsigned char b0 = f->pend[0];
                if ((b0 == 0xe0 && c < 0xa0) || (b0 == 0xed && c > 0x9f)
                    || (b0 == 0xf0 && c < 0x90) || (b0 == 0xf4 && c > 0x8f))
                {
                    persona_fnv_flush(f);
                    persona_fnv_byte(f, c);
                    return;
                }
            }
            f->pend[f->npend++] = c;
            if (f->npend == f->need) {
                cp = f->pend[0] & (0xff >> (f->need + 1));
                for (i = 1; i < f->need; i++) {
                    cp = (cp << 6) | (f->pend[i] & 0x3f);
                }
                f->npend = 0;
                f->need = 0;
                persona_fnv_cp(f, cp);
            }
            return;
        }
        persona_fnv_flush(f);
    }

    if (c < 0x80) {
        persona_fnv_unit(f, c);
    } else if (c >= 0xc2 && c <= 0xdf) {
        f->pend[0] = c; f->npend = 1; f->need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        f->pend[0] = c; f->npend = 1; f->need = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
        f->pend[0] = c; f->npend = 1; f->need = 4;
    } else {
        persona_fnv_unit(f, 0xfffd);
    }
}

void
persona_fnv_update(persona_fnv_t *f, const unsigned char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] < 0x80 && f->npend == 0) {
            f->h ^= p[i];
            f->h *= 0x01000193;
            continue;
        }
        persona_fnv_byte(f, p[i]);
    }
}

uint32_t
persona_fnv_final(persona_fnv_t *f)
{
    persona_fnv_flush(f);
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

double
persona_hash_v1(const unsigned char *seed, size_t slen,
    const unsigned char *id, size_t idlen)
{
    persona_fnv_t  f;

    persona_fnv_init(&f);
    persona_fnv_update(&f, id, idlen);
    persona_fnv_update(&f, seed, slen);
    return (persona_fnv_final(&f) % 1000) / 1000.0;
}

double
persona_hash_v2(const unsigned char *seed, size_t slen,
    const unsigned char *id, size_t idlen)
{
    char           buf[16];
    uint32_t       h;
    size_t         n;
    persona_fnv_t  f;

    persona_fnv_init(&f);
    persona_fnv_update(&f, seed, slen);
    persona_fnv_update(&f, id, idlen);
    h = persona_fnv_final(&f);

    n = sizeof(buf);
    do {
        buf[--n] = (char) ('0' + h % 10);
        h /= 10;
    } while (h);

    return (persona_fnv1a32((unsigned char *) buf + n, sizeof(buf) - n)
            % 10000) / 10000.0;
}

double
persona_hash_layer(const unsigned char *layer, size_t llen,
    const unsigned char *id, size_t idlen)
{
    persona_fnv_t  f;

    persona_fnv_init(&f);
    persona_fnv_update(&f, id, idlen);
    persona_fnv_update(&f, (const unsigned char *) "__", 2);
    persona_fnv_update(&f, layer, llen);
    return (persona_fnv_final(&f) % 1000) / 1000.0;
}

void
persona_hash_ranges(const unsigned *weights_bp, size_t n, int equal,
    unsigned traffic_bp, double *start, double *end)
{
    double  cum, w, coverage;
    size_t  i;

    coverage = traffic_bp / 10000.0;
    cum = 0;
    for (i = 0; i < n; i++) {
        w = equal ? 1.0 / n : weights_bp[i] / 10000.0;
        start[i] = cum;
        cum += w;
        end[i] = start[i] + coverage * w;
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

uint32_t
persona_murmur2(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
    uint32_t       h, k;
    size_t         len, i;
    unsigned char  q[4];
    size_t         nq;

    len = alen + blen;
    h = 0 ^ (uint32_t) len;
    nq = 0;

    for (i = 0; i < len; i++) {
        q[nq++] = i < alen ? a[i] : b[i - alen];
        if (nq == 4) {
            k = q[0] | (q[1] << 8) | (q[2] << 16) | ((uint32_t) q[3] << 24);
            k *= 0x5bd1e995;
            k ^= k >> 24;
            k *= 0x5bd1e995;
            h *= 0x5bd1e995;
            h ^= k;
            nq = 0;
        }
    }

    switch (nq) {
    case 3:
        h ^= q[2] << 16;
        /* fall through */
    case 2:
        h ^= q[1] << 8;
        /* fall through */
    case 1:
        h ^= q[0];
        h *= 0x5bd1e995;
    }

    h ^= h >> 13;
    h *= 0x5bd1e995;
    h ^= h >> 15;

    return h;
}

void
persona_hash_split_ranges(const unsigned *weights_bp, size_t n,
    unsigned traffic_bp, uint32_t *end)
{
    uint64_t  last;
    size_t    i;

    last = 0;
    for (i = 0; i < n; i++) {
        last += (uint64_t) weights_bp[i] * traffic_bp * 0xffffffff
                / 100000000;
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
