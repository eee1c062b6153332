/*
 * The scanner fed in random chunks gives the same events as fed whole,
 * and as a plain non-streaming reference of the HTML context; no byte
 * is lost or repeated.
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


/*
 * Reference HTML context, written from the HTML standard with the whole
 * input at hand (no states across chunks): where each construct ends.
 */

static int
ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}


static int
alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static int
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}


/* "</name" (any case) and a space, "/" or ">" at i */

static int
end_tag_at(const unsigned char *in, size_t n, size_t i, const char *name)
{
    size_t  k, len;

    len = strlen(name);

    if (i + 2 + len >= n || in[i] != '<' || in[i + 1] != '/') {
        return 0;
    }

    for (k = 0; k < len; k++) {
        if (lower(in[i + 2 + k]) != name[k]) {
            return 0;
        }
    }

    k = in[i + 2 + len];

    return ws(k) || k == '/' || k == '>';
}


/* from the first character of a tag name: the end of the tag */

static size_t
tag_end(const unsigned char *in, size_t n, size_t i, char *name)
{
    size_t         k;
    unsigned char  q;

    for (k = 0; i < n && !ws(in[i]) && in[i] != '/' && in[i] != '>'; i++) {
        /* a NUL in a name is U+FFFD to HTML, not the end of a C string */
        if (k < 15) {
            name[k++] = in[i] ? (char) lower(in[i]) : '?';
        }
    }

    name[k] = '\0';

    for ( ;; ) {
        while (i < n && (ws(in[i]) || in[i] == '/')) {
            i++;
        }

        if (i >= n) {
            return n;
        }

        if (in[i] == '>') {
            return i + 1;
        }

        i++;

        while (i < n && !ws(in[i]) && in[i] != '/' && in[i] != '>'
               && in[i] != '=')
        {
            i++;
        }

        while (i < n && ws(in[i])) {
            i++;
        }

        if (i >= n || in[i] != '=') {
            continue;
        }

        i++;

        while (i < n && ws(in[i])) {
            i++;
        }

        if (i < n && (in[i] == '"' || in[i] == '\'')) {
            q = in[i++];

            while (i < n && in[i] != q) {
                i++;
            }

            i += (i < n);

        } else if (i < n && in[i] == '>') {
            return i + 1;

        } else {
            while (i < n && !ws(in[i]) && in[i] != '>') {
                i++;
            }
        }
    }
}


static size_t
find(const unsigned char *in, size_t n, size_t i, const char *what)
{
    size_t  len;

    len = strlen(what);

    for ( /* void */ ; i + len <= n; i++) {
        if (memcmp(in + i, what, len) == 0) {
            return i;
        }
    }

    return n;
}


/* after "<!--": the end of the comment */

static size_t
comment_end(const unsigned char *in, size_t n, size_t i)
{
    size_t  a, b;

    if (i < n && in[i] == '>') {
        return i + 1;
    }

    if (i + 1 < n && in[i] == '-' && in[i + 1] == '>') {
        return i + 2;
    }

    a = find(in, n, i, "-->");
    b = find(in, n, i, "--!>");

    if (a < b) {
        return a + 3;
    }

    return (b < n) ? b + 4 : n;
}


/* after "<script ...>": the end of the script element's text */

static size_t
script_end(const unsigned char *in, size_t n, size_t i)
{
    int     mode, d;
    size_t  k;

    mode = 0;           /* 0 data, 1 escaped, 2 double escaped */
    d = 0;

    while (i < n) {
        if (mode == 0) {
            if (i + 4 <= n && memcmp(in + i, "<!--", 4) == 0) {
                mode = 1;
                d = 2;
                i += 4;

            } else if (end_tag_at(in, n, i, "script")) {
                return i;

            } else {
                i++;
            }

            continue;
        }

        if (in[i] == '-') {
            d += (d < 2);
            i++;

        } else if (in[i] == '>' && d == 2) {
            mode = 0;
            d = 0;
            i++;

        } else if (end_tag_at(in, n, i, "script")) {
            if (mode == 1) {
                return i;
            }

            mode = 1;
            d = 0;
            i += 9;

        } else if (mode == 1 && in[i] == '<' && i + 7 < n) {
            for (k = 0; k < 6 && lower(in[i + 1 + k]) == "script"[k]; k++) {
                /* void */
            }

            d = 0;

            if (k == 6 && (ws(in[i + 7]) || in[i + 7] == '/'
                           || in[i + 7] == '>'))
            {
                mode = 2;
                i += 8;

            } else {
                i++;
            }

        } else {
            d = 0;
            i++;
        }
    }

    return n;
}


static void
reference(const unsigned char *in, size_t n, rec_t *r)
{
    int                   close, in_slot;
    char                  tag[16];
    size_t                i, j, k, m, nlen, slen;
    const unsigned char  *name, *slot;

    static const char  *raw[] = { "style", "textarea", "title", "xmp",
                                  "iframe", "noembed", "noframes", NULL };

    in_slot = 0;
    slot = NULL;
    slen = 0;

    for (i = 0; i < n; /* void */) {
        m = ref_marker(in + i, n - i, &close, &name, &nlen);

        if (m == 0) {
            /* text up to j, markup included */

            j = i + 1;

            if (in[i] == '<' && i + 1 < n) {
                if (n - i >= 4 && memcmp(in + i, "<!--", 4) == 0) {
                    j = comment_end(in, n, i + 4);

                } else if (n - i >= 9 && memcmp(in + i, "<![CDATA[", 9) == 0)
                {
                    j = find(in, n, i + 9, "]]>");
                    j = (j < n) ? j + 3 : n;

                } else if (in[i + 1] == '!' || in[i + 1] == '?'
                           || (in[i + 1] == '/' && i + 2 < n
                               && !alpha(in[i + 2]) && in[i + 2] != '>'))
                {
                    for (j = i + 2; j < n && in[j] != '>'; j++) {
                        /* void */
                    }

                    j += (j < n);

                } else if (in[i + 1] == '/' && i + 2 < n && in[i + 2] == '>') {
                    j = i + 3;

                } else if (in[i + 1] == '/' && i + 2 < n) {
                    j = tag_end(in, n, i + 2, tag);

                } else if (alpha(in[i + 1])) {
                    j = tag_end(in, n, i + 1, tag);

                    if (strcmp(tag, "script") == 0) {
                        j = script_end(in, n, j);

                    } else if (strcmp(tag, "plaintext") == 0) {
                        j = n;

                    } else {
                        for (k = 0; raw[k]; k++) {
                            if (strcmp(tag, raw[k]) == 0) {
                                break;
                            }
                        }

                        while (raw[k] && j < n && !end_tag_at(in, n, j, raw[k]))
                        {
                            j++;
                        }
                    }
                }
            }

            if (j > n) {
                j = n;
            }

            put(r, in_slot ? 'D' : 'T', in + i, j - i);
            i = j;
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
