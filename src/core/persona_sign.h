
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Signatures of the values the module trusts only when signed: ids from
 * links and headers, preview links, the cookies it writes itself.
 * SHA-256 (FIPS 180-4), HMAC (RFC 2104) and base64url without padding
 * (RFC 4648, section 5), so that any language can sign the same way.
 *
 * A signature of DATA for a purpose KIND ("id", "preview", "cookie",
 * "sticky") is
 *
 *     base64url(HMAC-SHA256(key, KIND "|" DATA))       43 characters
 *
 * and a signed value is DATA "." signature.  The kind keeps a value
 * signed for one purpose from being accepted for another.
 */


#ifndef PERSONA_SIGN_H
#define PERSONA_SIGN_H


#include <stddef.h>
#include <stdint.h>


#define PERSONA_SHA256_LEN      32
#define PERSONA_SIGN_LEN        43      /* base64url of 32 bytes */
#define PERSONA_SIGN_KEY_MIN    32


typedef struct {
    uint32_t       h[8];
    uint64_t       total;
    unsigned char  buf[64];
    size_t         used;
} persona_sha256_t;


typedef struct {
    persona_sha256_t  inner;
    persona_sha256_t  outer;
} persona_hmac_t;


void persona_sha256_init(persona_sha256_t *s);
void persona_sha256_update(persona_sha256_t *s, const unsigned char *p,
    size_t len);
/* writes PERSONA_SHA256_LEN bytes */
void persona_sha256_final(persona_sha256_t *s, unsigned char *out);

void persona_hmac_init(persona_hmac_t *h, const unsigned char *key,
    size_t klen);
void persona_hmac_update(persona_hmac_t *h, const unsigned char *p,
    size_t len);
void persona_hmac_final(persona_hmac_t *h, unsigned char *out);

/* the length of the encoding of len bytes */
size_t persona_base64url_len(size_t len);

/* writes the encoding (no padding); returns its end */
unsigned char *persona_base64url_encode(unsigned char *dst,
    const unsigned char *src, size_t len);

/*
 * Decodes a canonical encoding: only A-Z a-z 0-9 - _, no padding, no
 * length of 1 modulo 4, unused low bits zero.  dst holds at least
 * len * 3 / 4 bytes.  Returns the decoded length, or -1.
 */
long persona_base64url_decode(unsigned char *dst, const unsigned char *src,
    size_t len);

/* the signature of data for kind (a C string), PERSONA_SIGN_LEN bytes */
void persona_sign(unsigned char *sig, const unsigned char *key, size_t klen,
    const char *kind, const unsigned char *data, size_t len);

/*
 * 1 if sig (siglen bytes) is the signature of data for kind with this
 * key; the comparison takes the same time wherever the bytes differ.
 */
int persona_sign_check(const unsigned char *key, size_t klen,
    const char *kind, const unsigned char *data, size_t len,
    const unsigned char *sig, size_t siglen);

/*
 * Splits a signed value at its last ".": 0 with the data in *data and
 * *dlen and the signature in *sig (PERSONA_SIGN_LEN bytes), or -1 when
 * there is no "." or the part after it has not the length of one.
 */
int persona_sign_split(const unsigned char *p, size_t len,
    const unsigned char **data, size_t *dlen, const unsigned char **sig);


#endif /* PERSONA_SIGN_H */
