
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The contents of signed values (see persona_token.h).
 */


#include <string.h>

#include "persona_list.h"
#include "persona_sign.h"
#include "persona_token.h"
#include "persona_tz.h"


static int persona_token_number(const unsigned char *p, size_t len,
    size_t max, int64_t *n);
static const unsigned char *persona_token_rchr(const unsigned char *p,
    const unsigned char *last, unsigned char c);
static int persona_token_b64(const unsigned char *p, size_t len,
    unsigned char *out, size_t max, size_t *outlen);
static int persona_preview_set(const unsigned char *p, size_t len,
    persona_preview_set_t *s);


/* decimal, 1 to max digits, no leading zero */

static int
persona_token_number(const unsigned char *p, size_t len, size_t max,
    int64_t *n)
{
    size_t  i;

    if (len == 0 || len > max || (p[0] == '0' && len > 1)) {
        return -1;
    }

    *n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        *n = *n * 10 + (p[i] - '0');
    }

    return 0;
}


static const unsigned char *
persona_token_rchr(const unsigned char *p, const unsigned char *last,
    unsigned char c)
{
    while (last > p) {
        last--;

        if (*last == c) {
            return last;
        }
    }

    return NULL;
}


int
persona_token_id(const unsigned char *p, size_t len,
    const unsigned char **id, size_t *idlen, int64_t *expires)
{
    const unsigned char  *dot;

    dot = persona_token_rchr(p, p + len, '.');

    if (dot == NULL || dot == p
        || (size_t) (dot - p) > PERSONA_TOKEN_ID_MAX
        || persona_token_number(dot + 1, p + len - dot - 1, 12, expires)
           != 0)
    {
        return -1;
    }

    *id = p;
    *idlen = dot - p;

    return 0;
}


static int
persona_token_b64(const unsigned char *p, size_t len, unsigned char *out,
    size_t max, size_t *outlen)
{
    long  n;

    if (len > persona_base64url_len(max)) {
        return -1;
    }

    n = persona_base64url_decode(out, p, len);

    if (n < 0 || (size_t) n > max) {
        return -1;
    }

    *outlen = (size_t) n;

    return 0;
}


int
persona_token_cookie(const unsigned char *p, size_t len, unsigned char *id,
    size_t *idlen, unsigned char *prev, size_t *prevlen, int64_t *since)
{
    const unsigned char  *last, *d1, *d2;

    last = p + len;

    d1 = memchr(p, '.', len);
    if (d1 == NULL) {
        return -1;
    }

    d2 = memchr(d1 + 1, '.', last - d1 - 1);
    if (d2 == NULL) {
        return -1;
    }

    if (persona_token_b64(p, d1 - p, id, PERSONA_TOKEN_ID_MAX, idlen) != 0
        || *idlen == 0
        || persona_token_b64(d1 + 1, d2 - d1 - 1, prev, PERSONA_TOKEN_ID_MAX,
                             prevlen)
           != 0
        || persona_token_number(d2 + 1, last - d2 - 1, 12, since) != 0)
    {
        return -1;
    }

    return 0;
}


size_t
persona_token_cookie_len(size_t idlen, size_t prevlen)
{
    return persona_base64url_len(idlen) + 1 + persona_base64url_len(prevlen)
           + 1 + 12;
}


unsigned char *
persona_token_cookie_write(unsigned char *p, const unsigned char *id,
    size_t idlen, const unsigned char *prev, size_t prevlen, int64_t since)
{
    int            n;
    unsigned char  digits[20];

    p = persona_base64url_encode(p, id, idlen);
    *p++ = '.';
    p = persona_base64url_encode(p, prev, prevlen);
    *p++ = '.';

    if (since < 0 || since > 999999999999LL) {
        since = 0;
    }

    n = 0;

    do {
        digits[n++] = (unsigned char) ('0' + since % 10);
        since /= 10;
    } while (since);

    while (n) {
        *p++ = digits[--n];
    }

    return p;
}


/* NAME ":" VALUE, VALUE a variant or rule name or "-" */

static int
persona_preview_set(const unsigned char *p, size_t len,
    persona_preview_set_t *s)
{
    const unsigned char  *colon;

    colon = memchr(p, ':', len);
    if (colon == NULL) {
        return -1;
    }

    s->name = p;
    s->name_len = colon - p;
    s->value = colon + 1;
    s->value_len = p + len - colon - 1;

    if (!persona_name_valid(s->name, s->name_len, "-")) {
        return -1;
    }

    if (s->value_len == 1 && s->value[0] == '-') {
        return 0;
    }

    return persona_name_valid(s->value, s->value_len, "-.") ? 0 : -1;
}


int
persona_preview_parse(const unsigned char *p, size_t len,
    persona_preview_t *pv)
{
    size_t                klen, vlen, i;
    const unsigned char  *last, *amp, *eq, *v;

    if (len > PERSONA_PREVIEW_MAX) {
        return -1;
    }

    memset(pv, 0, sizeof(persona_preview_t));
    pv->expires = -1;
    pv->time = -1;

    last = p + len;

    while (p < last) {
        amp = memchr(p, '&', last - p);
        if (amp == NULL) {
            amp = last;
        }

        eq = memchr(p, '=', amp - p);
        if (eq == NULL) {
            return -1;
        }

        klen = eq - p;
        v = eq + 1;
        vlen = amp - v;

        if (klen == 4 && memcmp(p, "host", 4) == 0) {
            if (pv->host != NULL || vlen == 0 || vlen > 255) {
                return -1;
            }

            /* a host name as nginx keeps it: lowercase, no port */

            for (i = 0; i < vlen; i++) {
                if (!((v[i] >= 'a' && v[i] <= 'z')
                      || (v[i] >= '0' && v[i] <= '9')
                      || v[i] == '-' || v[i] == '.' || v[i] == '_'
                      || v[i] == '[' || v[i] == ']' || v[i] == ':'))
                {
                    return -1;
                }
            }

            pv->host = v;
            pv->host_len = vlen;

        } else if (klen == 7 && memcmp(p, "expires", 7) == 0) {
            if (pv->expires != -1
                || persona_token_number(v, vlen, 12, &pv->expires) != 0)
            {
                return -1;
            }

        } else if (klen == 4 && memcmp(p, "time", 4) == 0) {
            if (pv->time != -1
                || persona_tz_parse_utc(v, vlen, &pv->time) != 0)
            {
                return -1;
            }

        } else if (klen == 3 && memcmp(p, "set", 3) == 0) {
            if (pv->nsets == PERSONA_PREVIEW_SETS
                || persona_preview_set(v, vlen, &pv->set[pv->nsets]) != 0)
            {
                return -1;
            }

            pv->nsets++;

        } else {
            return -1;
        }

        p = amp + (amp < last);

        if (amp + 1 == last) {
            return -1;
        }
    }

    return (pv->host != NULL && pv->expires != -1) ? 0 : -1;
}


int
persona_sticky_next(const unsigned char **p, const unsigned char *last,
    persona_sticky_entry_t *e)
{
    int64_t               version;
    const unsigned char  *s, *end, *c1, *c2;

    s = *p;

    if (s == last) {
        return 0;
    }

    end = memchr(s, '|', last - s);
    if (end == NULL) {
        end = last;
    }

    c1 = memchr(s, ':', end - s);
    if (c1 == NULL) {
        return -1;
    }

    c2 = memchr(c1 + 1, ':', end - c1 - 1);
    if (c2 == NULL) {
        return -1;
    }

    e->experiment = s;
    e->experiment_len = c1 - s;
    e->variant = c2 + 1;
    e->variant_len = end - c2 - 1;

    if (!persona_name_valid(e->experiment, e->experiment_len, "")
        || !persona_name_valid(e->variant, e->variant_len, "-.")
        || persona_token_number(c1 + 1, c2 - c1 - 1, 6, &version) != 0)
    {
        return -1;
    }

    e->version = (unsigned long) version;

    /* "a:0:b|" ends with an empty entry: not a form the module writes */

    if (end < last && end + 1 == last) {
        return -1;
    }

    *p = (end < last) ? end + 1 : last;

    return 1;
}
