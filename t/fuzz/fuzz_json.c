/*
 * JSON escaping against a slow reference written from the rules: the
 * output is byte for byte the reference's, the length function is exact,
 * the output is valid UTF-8 with no raw control character, quote, U+2028
 * or U+2029, and decoding its escapes gives back the input with each
 * invalid byte as U+FFFD (so valid UTF-8 round-trips exactly).  HTML
 * escaping: byte for byte the reference's, exact length.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona_json.h"


/*
 * Decodes one code point at p the long way: lead byte pattern, tail
 * bytes, then the range checks of RFC 3629.  Returns its length, or 0
 * when the byte at p does not start a well-formed sequence.
 */

static size_t
ref_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c, min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }

    if ((p[0] & 0xe0) == 0xc0) {
        n = 2; c = p[0] & 0x1f; min = 0x80;

    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3; c = p[0] & 0x0f; min = 0x800;

    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4; c = p[0] & 0x07; min = 0x10000;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = c << 6 | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return n;
}


static size_t
put_utf8(unsigned char *d, uint32_t c)
{
    if (c < 0x80) {
        d[0] = c;
        return 1;
    }

    if (c < 0x800) {
        d[0] = 0xc0 | c >> 6;
        d[1] = 0x80 | (c & 0x3f);
        return 2;
    }

    if (c < 0x10000) {
        d[0] = 0xe0 | c >> 12;
        d[1] = 0x80 | ((c >> 6) & 0x3f);
        d[2] = 0x80 | (c & 0x3f);
        return 3;
    }

    d[0] = 0xf0 | c >> 18;
    d[1] = 0x80 | ((c >> 12) & 0x3f);
    d[2] = 0x80 | ((c >> 6) & 0x3f);
    d[3] = 0x80 | (c & 0x3f);
    return 4;
}


static int
ref_valid(const uint8_t *data, size_t size)
{
    size_t    i, n;
    uint32_t  c;

    for (i = 0; i < size; i += n) {
        n = ref_decode(data + i, size - i, &c);

        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


/* the input as it should read after decoding: invalid bytes as U+FFFD */

static size_t
ref_text(unsigned char *d, const uint8_t *data, size_t size)
{
    size_t    i, n, k;
    uint32_t  c;

    k = 0;

    for (i = 0; i < size; i += n) {
        n = ref_decode(data + i, size - i, &c);

        if (n == 0) {
            n = 1;
            c = 0xfffd;
        }

        k += put_utf8(d + k, c);
    }

    return k;
}


static size_t
ref_json(unsigned char *d, const uint8_t *data, size_t size)
{
    static const char  hex[] = "0123456789abcdef";

    size_t    i, n, k;
    uint32_t  c;

    k = 0;

    for (i = 0; i < size; i += n) {
        n = ref_decode(data + i, size - i, &c);

        if (n == 0) {
            n = 1;
            memcpy(d + k, "\\ufffd", 6);
            k += 6;
            continue;
        }

        if (c == '"' || c == '\\') {
            d[k++] = '\\';
            d[k++] = c;

        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b'
                   || c == '\f')
        {
            d[k++] = '\\';
            d[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't'
                     : c == '\b' ? 'b' : 'f';

        } else if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
            d[k++] = '\\';
            d[k++] = 'u';
            d[k++] = hex[c >> 12];
            d[k++] = hex[(c >> 8) & 0xf];
            d[k++] = hex[(c >> 4) & 0xf];
            d[k++] = hex[c & 0xf];

        } else {
            memcpy(d + k, data + i, n);
            k += n;
        }
    }

    return k;
}


static size_t
ref_html(unsigned char *d, const uint8_t *data, size_t size)
{
    size_t       i, k, n;
    const char  *e;

    k = 0;

    for (i = 0; i < size; i++) {
        switch (data[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default: d[k++] = data[i]; continue;
        }

        n = strlen(e);
        memcpy(d + k, e, n);
        k += n;
    }

    return k;
}


static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/*
 * Checks the escaped string as a JSON parser would see it and decodes
 * it into dec; aborts on anything a strict parser would reject.
 */

static size_t
check_decode(unsigned char *dec, const unsigned char *out, size_t n)
{
    int       h;
    size_t    i, j, k, m;
    uint32_t  c;

    k = 0;

    for (i = 0; i < n; /* void */) {
        if (out[i] < 0x20 || out[i] == 0x7f || out[i] == '"') {
            abort();
        }

        if (out[i] != '\\') {
            m = ref_decode(out + i, n - i, &c);

            if (m == 0 || c == 0x2028 || c == 0x2029) {
                abort();
            }

            memcpy(dec + k, out + i, m);
            k += m;
            i += m;
            continue;
        }

        if (i + 1 >= n) {
            abort();
        }

        switch (out[i + 1]) {
        case 'n': dec[k++] = '\n'; break;
        case 'r': dec[k++] = '\r'; break;
        case 't': dec[k++] = '\t'; break;
        case 'b': dec[k++] = '\b'; break;
        case 'f': dec[k++] = '\f'; break;
        case '"': dec[k++] = '"'; break;
        case '\\': dec[k++] = '\\'; break;

        case 'u':
            if (i + 6 > n) {
                abort();
            }

            c = 0;

            for (j = 2; j < 6; j++) {
                h = hexval(out[i + j]);

                if (h < 0) {
                    abort();
                }

                c = c << 4 | h;
            }

            /* no surrogate pairs: nothing above U+FFFF is escaped */

            if (c >= 0xd800 && c <= 0xdfff) {
                abort();
            }

            k += put_utf8(dec + k, c);
            i += 4;
            break;

        default:
            abort();
        }

        i += 2;
    }

    return k;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             valid;
    size_t          n, k, r;
    unsigned char  *out, *end, *ref, *dec;

    /* at worst 6 output bytes per input byte */

    ref = malloc(6 * size + 1);
    dec = malloc(3 * size + 1);

    if (ref == NULL || dec == NULL) {
        abort();
    }

    /* JSON; the output buffer is exactly as long as announced */

    n = persona_json_escape_len(data, size);
    out = malloc(n + 1);

    if (out == NULL) {
        abort();
    }

    end = persona_json_escape(out, data, size);

    if ((size_t) (end - out) != n) {
        abort();
    }

    r = ref_json(ref, data, size);

    if (r != n || memcmp(out, ref, n) != 0) {
        abort();
    }

    k = check_decode(dec, out, n);
    r = ref_text(ref, data, size);

    if (k != r || memcmp(dec, ref, k) != 0) {
        abort();
    }

    valid = ref_valid(data, size);

    if (persona_json_utf8_valid(data, size) != valid) {
        abort();
    }

    if (valid && (k != size || memcmp(dec, data, size) != 0)) {
        abort();
    }

    free(out);

    /* HTML */

    n = persona_html_escape_len(data, size);
    out = malloc(n + 1);

    if (out == NULL) {
        abort();
    }

    end = persona_html_escape(out, data, size);
    r = ref_html(ref, data, size);

    if ((size_t) (end - out) != n || r != n || memcmp(out, ref, n) != 0) {
        abort();
    }

    free(out);
    free(ref);
    free(dec);

    return 0;
}
