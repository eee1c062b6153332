/*
 * The scanner fed in random chunks gives the same events as fed whole,
 * and as a plain non-streaming reference; no byte is lost or repeated.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona_scan.h"


typedef struct {
    unsigned char  *out;
    size_t          n;
    size_t          cap;
} rec_t;


static void
put(rec_t *r, int tag, const unsigned char *p, size_t len)
{
    if (r->n + len + 8 > r->cap) {
        r->cap = (r->n + len + 8) * 2;
        r->out = realloc(r->out, r->cap);
        if (r->out == NULL) {
            abort();
        }
    }

    /* TEXT and DEFAULT runs merge with a previous run of the same kind */
    if ((tag == 'T' || tag == 'D') && r->n >= 1 && r->out[r->n - 1] == tag) {
        r->n--;

    } else if (tag == 'T' || tag == 'D') {
        r->out[r->n++] = (unsigned char) (tag | 0x80);
    } else {
        r->out[r->n++] = (unsigned char) tag;
    }

    memcpy(r->out + r->n, p, len);
    r->n += len;
    r->out[r->n++] = (unsigned char) tag;
}


static int
rec(void *data, persona_scan_event_e ev, const unsigned char *p, size_t len)
{
    static const char  tags[] = "TODCU";

    if (len == 0 && (ev == PERSONA_SCAN_TEXT || ev == PERSONA_SCAN_DEFAULT)) {
        abort();
    }

    put(data, tags[ev], p, len);
    return 0;
}


static int
namec(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
}


/* reference: the length of a marker at p (0 if none), and its name */

static size_t
ref_marker(const unsigned char *p, size_t n, int *close,
    const unsigned char **name, size_t *nlen)
{
    size_t  i, k;

    if (n >= 13 && memcmp(p, "<!--/persona:", 13) == 0) {
        *close = 1;
        i = 13;

    } else if (n >= 12 && memcmp(p, "<!--persona:", 12) == 0) {
        *close = 0;
        i = 12;

    } else {
        return 0;
    }

    k = i;

    while (k < n && namec(p[k])) {
        k++;
    }

    /* the run of name characters ends with "--", then ">" */
    if (k >= n || p[k] != '>' || k - i < 3 || p[k - 1] != '-'
        || p[k - 2] != '-' || k - i - 2 > PERSONA_SCAN_NAME_MAX)
    {
        return 0;
    }

    *name = p + i;
    *nlen = k - i - 2;

    return k + 1;
}


static void
reference(const unsigned char *in, size_t n, rec_t *r)
{
    int                   close, in_slot;
    size_t                i, m, nlen, slen;
    const unsigned char  *name, *slot;

    in_slot = 0;
    slot = NULL;
    slen = 0;

    for (i = 0; i < n; /* void */) {
        m = ref_marker(in + i, n - i, &close, &name, &nlen);

        if (m == 0) {
            put(r, in_slot ? 'D' : 'T', in + i, 1);
            i++;
            continue;
        }

        if (!in_slot && !close) {
            put(r, 'O', name, nlen);
            in_slot = 1;
            slot = name;
            slen = nlen;

        } else if (in_slot && close && nlen == slen
                   && memcmp(name, slot, slen) == 0)
        {
            put(r, 'C', name, nlen);
            in_slot = 0;

        } else if (in_slot) {
            put(r, 'D', in + i, m);
        }

        i += m;
    }

    if (in_slot) {
        put(r, 'U', slot, slen);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          i, l, seedlen;
    rec_t           whole, part, ref;
    persona_scan_t  s;
    unsigned        seed;

    if (size < 2) {
        return 0;
    }

    seed = data[0] | (data[1] << 8);
    seedlen = 2;
    data += seedlen;
    size -= seedlen;

    memset(&whole, 0, sizeof(rec_t));
    memset(&part, 0, sizeof(rec_t));
    memset(&ref, 0, sizeof(rec_t));

    persona_scan_init(&s);
    persona_scan_feed(&s, data, size, 1, rec, &whole);

    persona_scan_init(&s);

    if (size == 0) {
        persona_scan_feed(&s, data, 0, 1, rec, &part);
    }

    for (i = 0; i < size; i += l) {
        seed = seed * 1103515245 + 12345;
        l = 1 + (seed >> 16) % 97;

        if (l > size - i) {
            l = size - i;
        }

        persona_scan_feed(&s, data + i, l, i + l == size, rec, &part);
    }

    reference(data, size, &ref);

    if (whole.n != part.n
        || (whole.n && memcmp(whole.out, part.out, whole.n) != 0))
    {
        abort();
    }

    if (whole.n != ref.n
        || (whole.n && memcmp(whole.out, ref.out, whole.n) != 0))
    {
        abort();
    }

    free(whole.out);
    free(part.out);
    free(ref.out);

    return 0;
}
