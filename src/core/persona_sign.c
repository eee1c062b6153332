
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * SHA-256, HMAC-SHA256, base64url and signed values (see persona_sign.h).
 * Written out here rather than taken from OpenSSL so that the unit tests
 * and fuzzers, which link src/core alone, check the very code that runs.
 */


#include <string.h>

#include "persona_sign.h"


#define ROR(x, n)  (((x) >> (n)) | ((x) << (32 - (n))))


static void persona_sha256_block(persona_sha256_t *s,
    const unsigned char *p);


static const uint32_t  persona_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};


static const char  persona_base64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


void
persona_sha256_init(persona_sha256_t *s)
{
    s->h[0] = 0x6a09e667;
    s->h[1] = 0xbb67ae85;
    s->h[2] = 0x3c6ef372;
    s->h[3] = 0xa54ff53a;
    s->h[4] = 0x510e527f;
    s->h[5] = 0x9b05688c;
    s->h[6] = 0x1f83d9ab;
    s->h[7] = 0x5be0cd19;
    s->total = 0;
    s->used = 0;
}


static void
persona_sha256_block(persona_sha256_t *s, const unsigned char *p)
{
    int       i;
    uint32_t  w[64], a, b, c, d, e, f, g, h, t1, t2;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16
               | (uint32_t) p[4 * i + 2] << 8 | (uint32_t) p[4 * i + 3];
    }

    for (i = 16; i < 64; i++) {
        t1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        t2 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        w[i] = t1 + w[i - 7] + t2 + w[i - 16];
    }

    a = s->h[0];
    b = s->h[1];
    c = s->h[2];
    d = s->h[3];
    e = s->h[4];
    f = s->h[5];
    g = s->h[6];
    h = s->h[7];

    for (i = 0; i < 64; i++) {
        t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g))
             + persona_sha256_k[i] + w[i];
        t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22))
             + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }

    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}


void
persona_sha256_update(persona_sha256_t *s, const unsigned char *p,
    size_t len)
{
    size_t  n;

    s->total += len;

    if (s->used) {
        n = 64 - s->used;
        n = (len < n) ? len : n;

        memcpy(s->buf + s->used, p, n);
        s->used += n;
        p += n;
        len -= n;

        if (s->used < 64) {
            return;
        }

        persona_sha256_block(s, s->buf);
        s->used = 0;
    }

    while (len >= 64) {
        persona_sha256_block(s, p);
        p += 64;
        len -= 64;
    }

    if (len) {
        memcpy(s->buf, p, len);
        s->used = len;
    }
}


void
persona_sha256_final(persona_sha256_t *s, unsigned char *out)
{
    int       i;
    uint64_t  bits;

    bits = s->total * 8;

    s->buf[s->used++] = 0x80;

    if (s->used > 56) {
        memset(s->buf + s->used, 0, 64 - s->used);
        persona_sha256_block(s, s->buf);
        s->used = 0;
    }

    memset(s->buf + s->used, 0, 56 - s->used);

    for (i = 0; i < 8; i++) {
        s->buf[56 + i] = (unsigned char) (bits >> (56 - 8 * i));
    }

    persona_sha256_block(s, s->buf);

    for (i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char) (s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char) (s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char) (s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char) s->h[i];
    }
}


void
persona_hmac_init(persona_hmac_t *h, const unsigned char *key, size_t klen)
{
    int                i;
    unsigned char      k[64], pad[64];
    persona_sha256_t   s;

    memset(k, 0, sizeof(k));

    if (klen > 64) {
        persona_sha256_init(&s);
        persona_sha256_update(&s, key, klen);
        persona_sha256_final(&s, k);

    } else if (klen) {
        memcpy(k, key, klen);
    }

    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x36;
    }

    persona_sha256_init(&h->inner);
    persona_sha256_update(&h->inner, pad, 64);

    for (i = 0; i < 64; i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    persona_sha256_init(&h->outer);
    persona_sha256_update(&h->outer, pad, 64);
}


void
persona_hmac_update(persona_hmac_t *h, const unsigned char *p, size_t len)
{
    persona_sha256_update(&h->inner, p, len);
}


void
persona_hmac_final(persona_hmac_t *h, unsigned char *out)
{
    unsigned char  inner[PERSONA_SHA256_LEN];

    persona_sha256_final(&h->inner, inner);
    persona_sha256_update(&h->outer, inner, sizeof(inner));
    persona_sha256_final(&h->outer, out);
}


size_t
persona_base64url_len(size_t len)
{
    return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}


unsigned char *
persona_base64url_encode(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    uint32_t  v;

    while (len >= 3) {
        v = (uint32_t) src[0] << 16 | (uint32_t) src[1] << 8 | src[2];

        *dst++ = persona_base64url_chars[v >> 18];
        *dst++ = persona_base64url_chars[(v >> 12) & 0x3f];
        *dst++ = persona_base64url_chars[(v >> 6) & 0x3f];
        *dst++ = persona_base64url_chars[v & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len) {
        v = (uint32_t) src[0] << 16 | (len == 2 ? (uint32_t) src[1] << 8 : 0);

        *dst++ = persona_base64url_chars[v >> 18];
        *dst++ = persona_base64url_chars[(v >> 12) & 0x3f];

        if (len == 2) {
            *dst++ = persona_base64url_chars[(v >> 6) & 0x3f];
        }
    }

    return dst;
}


static int
persona_base64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


long
persona_base64url_decode(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    int             d;
    size_t          i, rest;
    uint32_t        v;
    unsigned char  *start;

    rest = len % 4;

    if (rest == 1) {
        return -1;
    }

    start = dst;
    v = 0;

    for (i = 0; i < len; i++) {
        d = persona_base64url_value(src[i]);
        if (d < 0) {
            return -1;
        }

        v = v << 6 | (uint32_t) d;

        if (i % 4 == 3) {
            *dst++ = (unsigned char) (v >> 16);
            *dst++ = (unsigned char) (v >> 8);
            *dst++ = (unsigned char) v;
            v = 0;
        }
    }

    /* one encoding per value: the bits past the last byte are zero */

    if (rest == 2) {
        if (v & 0x0f) {
            return -1;
        }

        *dst++ = (unsigned char) (v >> 4);

    } else if (rest == 3) {
        if (v & 0x03) {
            return -1;
        }

        *dst++ = (unsigned char) (v >> 10);
        *dst++ = (unsigned char) (v >> 2);
    }

    return (long) (dst - start);
}


void
persona_sign(unsigned char *sig, const unsigned char *key, size_t klen,
    const char *kind, const unsigned char *data, size_t len)
{
    unsigned char   mac[PERSONA_SHA256_LEN];
    persona_hmac_t  h;

    persona_hmac_init(&h, key, klen);
    persona_hmac_update(&h, (const unsigned char *) kind, strlen(kind));
    persona_hmac_update(&h, (const unsigned char *) "|", 1);
    persona_hmac_update(&h, data, len);
    persona_hmac_final(&h, mac);

    (void) persona_base64url_encode(sig, mac, sizeof(mac));
}


int
persona_sign_check(const unsigned char *key, size_t klen, const char *kind,
    const unsigned char *data, size_t len, const unsigned char *sig,
    size_t siglen)
{
    size_t         i;
    unsigned char  want[PERSONA_SIGN_LEN], diff;

    if (siglen != PERSONA_SIGN_LEN) {
        return 0;
    }

    persona_sign(want, key, klen, kind, data, len);

    diff = 0;

    for (i = 0; i < PERSONA_SIGN_LEN; i++) {
        diff |= want[i] ^ sig[i];
    }

    return diff == 0;
}


int
persona_sign_split(const unsigned char *p, size_t len,
    const unsigned char **data, size_t *dlen, const unsigned char **sig)
{
    if (len < PERSONA_SIGN_LEN + 1 || p[len - PERSONA_SIGN_LEN - 1] != '.') {
        return -1;
    }

    *data = p;
    *dlen = len - PERSONA_SIGN_LEN - 1;
    *sig = p + len - PERSONA_SIGN_LEN;

    return 0;
}
