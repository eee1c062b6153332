/*
 * Signed values as they arrive from links, headers and cookies: the
 * first byte picks the parser, the rest is the value.  base64url must
 * round-trip (a decodable input is its own canonical encoding), a value
 * signed here must check and the same value changed anywhere must not,
 * and every parser must stay inside its input.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona_sign.h"
#include "persona_token.h"


static const unsigned char  key[] = "fuzz-key-fuzz-key-fuzz-key-fuzz!";


static void
check_inside(const unsigned char *p, size_t len, const unsigned char *q,
    size_t qlen)
{
    if (qlen && (q < p || q + qlen > p + len)) {
        abort();
    }
}


static void
fuzz_base64(const unsigned char *p, size_t len)
{
    long            n;
    unsigned char  *dec, *enc, *end;

    dec = malloc(len + 1);
    enc = malloc(persona_base64url_len(len) + 1);

    if (dec == NULL || enc == NULL) {
        abort();
    }

    n = persona_base64url_decode(dec, p, len);

    if (n >= 0) {
        if ((size_t) n > len * 3 / 4) {
            abort();
        }

        end = persona_base64url_encode(enc, dec, (size_t) n);

        if ((size_t) (end - enc) != len || memcmp(enc, p, len) != 0) {
            abort();
        }
    }

    end = persona_base64url_encode(enc, p, len);

    if ((size_t) (end - enc) != persona_base64url_len(len)
        || persona_base64url_decode(dec, enc, end - enc) != (long) len
        || memcmp(dec, p, len) != 0)
    {
        abort();
    }

    free(dec);
    free(enc);
}


static void
fuzz_sign(const unsigned char *p, size_t len)
{
    size_t                dlen, i;
    unsigned char         sig[PERSONA_SIGN_LEN];
    const unsigned char  *data, *s;

    persona_sign(sig, key, 32, "id", p, len);

    if (!persona_sign_check(key, 32, "id", p, len, sig, PERSONA_SIGN_LEN)) {
        abort();
    }

    for (i = 0; len && i < PERSONA_SIGN_LEN; i += 7) {
        sig[i] ^= p[0] | 1;

        if (persona_sign_check(key, 32, "id", p, len, sig,
                               PERSONA_SIGN_LEN))
        {
            abort();
        }

        sig[i] ^= p[0] | 1;
    }

    /* the input as a signed value: checking it never crashes */

    if (persona_sign_split(p, len, &data, &dlen, &s) == 0) {
        check_inside(p, len, data, dlen);
        (void) persona_sign_check(key, 32, "id", data, dlen, s,
                                  PERSONA_SIGN_LEN);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                  n, idlen, plen, i;
    int64_t                 t;
    persona_preview_t       pv;
    const unsigned char    *p, *last, *id;
    persona_sticky_entry_t  e;
    unsigned char           idb[PERSONA_TOKEN_ID_MAX],
                            pb[PERSONA_TOKEN_ID_MAX];

    if (size == 0) {
        return 0;
    }

    p = data + 1;
    n = size - 1;

    switch (data[0] % 6) {

    case 0:
        fuzz_base64(p, n);
        break;

    case 1:
        fuzz_sign(p, n);
        break;

    case 2:
        if (persona_token_id(p, n, &id, &idlen, &t) == 0) {
            check_inside(p, n, id, idlen);

            if (idlen == 0 || idlen > PERSONA_TOKEN_ID_MAX || t < 0) {
                abort();
            }
        }
        break;

    case 3:
        if (persona_token_cookie(p, n, idb, &idlen, pb, &plen, &t) == 0) {
            if (idlen == 0 || idlen > PERSONA_TOKEN_ID_MAX
                || plen > PERSONA_TOKEN_ID_MAX || t < 0)
            {
                abort();
            }
        }
        break;

    case 4:
        if (persona_preview_parse(p, n, &pv) == 0) {
            check_inside(p, n, pv.host, pv.host_len);

            if (pv.host_len == 0 || pv.expires < 0
                || pv.nsets > PERSONA_PREVIEW_SETS)
            {
                abort();
            }

            for (i = 0; i < pv.nsets; i++) {
                check_inside(p, n, pv.set[i].name, pv.set[i].name_len);
                check_inside(p, n, pv.set[i].value, pv.set[i].value_len);
            }
        }
        break;

    default:
        last = p + n;

        for (i = 0; persona_sticky_next(&p, last, &e) == 1; i++) {
            check_inside(data + 1, n, e.experiment, e.experiment_len);
            check_inside(data + 1, n, e.variant, e.variant_len);

            if (i > n || e.version > PERSONA_STICKY_VERSION_MAX) {
                abort();
            }
        }
        break;
    }

    return 0;
}
