
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The slot marker scanner (rules in persona_scan.h).  It follows the
 * states of HTML's tokenizer that decide where a comment can start,
 * one byte at a time like nginx's own parsers, except where a state can
 * only end at one character: text, quoted values, comments, raw text
 * and scripts are skipped with memchr().  Unchanged runs are reported
 * as one event, so a page without markers costs one callback per chunk.
 */


#include <stdint.h>
#include <string.h>

#if (defined __SSE2__ && defined __GNUC__)
#include <emmintrin.h>
#define PERSONA_SCAN_SSE2  1

/* the bytes equal to c in a block, as bits */
#define persona_scan_mask(v, c)                                              \
    ((unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))))
#endif

#include "persona_scan.h"


#define PERSONA_SCAN_NO       0
#define PERSONA_SCAN_PARTIAL  1
#define PERSONA_SCAN_MATCH    2


/* tokenizer states, named after those of the HTML standard */
enum {
    PS_DATA = 0,
    PS_TAG_OPEN,                /* "<" */
    PS_END_TAG_OPEN,            /* "</" */
    PS_TAG_NAME,
    PS_BEFORE_ATTR,
    PS_ATTR_NAME,
    PS_AFTER_ATTR,
    PS_BEFORE_VALUE,
    PS_VALUE_DQ,
    PS_VALUE_SQ,
    PS_VALUE_UQ,
    PS_DECL,                    /* "<!": a comment, CDATA or bogus */
    PS_COMMENT,
    PS_BOGUS,                   /* "<!DOCTYPE", "<?": up to ">" */
    PS_CDATA,
    PS_RAW,                     /* text of style, textarea, title... */
    PS_SCRIPT,
    PS_SCRIPT_ESC,              /* "<!--" inside a script */
    PS_SCRIPT_DESC              /* "<!--<script" inside a script */
};


/* s->sub in PS_COMMENT */
#define PS_COMMENT_START      0     /* "<!--" */
#define PS_COMMENT_START_DASH 1     /* "<!---" */
#define PS_COMMENT_BODY       2
#define PS_COMMENT_BANG       3     /* "--!" */

/*
 * s->sub in raw text and scripts: 0 outside a tag, 1 after "<", 2 + n
 * after "</" and n characters of the element's name; in scripts also
 * after "<!" and "<!-", and after "<" and n characters of "<script" in
 * an escaped script.
 */
#define PS_SUB_LT             1
#define PS_SUB_END            2
#define PS_SUB_BANG           100
#define PS_SUB_BANG_DASH      101
#define PS_SUB_SCRIPT         110

/* s->sub in PS_DECL: 1 after "<!-", 2 + n after n characters of "[" */
#define PS_DECL_DASH          1
#define PS_DECL_CDATA         2


/* character classes */
#define PS_WS     0x01
#define PS_SLASH  0x02
#define PS_GT     0x04
#define PS_EQ     0x08
#define PS_DASH   0x10
#define PS_LT     0x20


static const unsigned char  persona_scan_class[256] = {
    ['\t'] = PS_WS, ['\n'] = PS_WS, ['\f'] = PS_WS, ['\r'] = PS_WS,
    [' '] = PS_WS, ['/'] = PS_SLASH, ['>'] = PS_GT, ['='] = PS_EQ,
    ['-'] = PS_DASH, ['<'] = PS_LT
};


/* a letter a-z as a bit */
#define PS_LETTER(c)       ((uint32_t) 1 << (((c) - 'a') & 31))

#define PS_ELEM_SCRIPT     1
#define PS_ELEM_PLAINTEXT  9

/* elements whose text holds no markup, index = s->elem */
static const struct {
    const char  *name;
    size_t       len;
} persona_scan_elems[] = {
    { "", 0 },
    { "script", 6 },
    { "style", 5 },
    { "textarea", 8 },
    { "title", 5 },
    { "xmp", 3 },
    { "iframe", 6 },
    { "noembed", 7 },
    { "noframes", 8 },
    { "plaintext", 9 }
};


typedef struct {
    size_t                 len;        /* whole marker */
    const unsigned char   *name;
    size_t                 name_len;
    int                    close;
} persona_scan_marker_t;


static int persona_scan_match(const unsigned char *b, size_t n,
    persona_scan_marker_t *m);
static int persona_scan_emit(persona_scan_t *s, const unsigned char *p,
    size_t len, persona_scan_handler_pt h, void *data);
static int persona_scan_marker(persona_scan_t *s, persona_scan_marker_t *m,
    const unsigned char *at, persona_scan_handler_pt h, void *data);
static const unsigned char *persona_scan_closing(persona_scan_t *s,
    const unsigned char *p, const unsigned char *end, unsigned char ch);
static const unsigned char *persona_scan_html(persona_scan_t *s,
    const unsigned char *p, const unsigned char *end);
static const unsigned char *persona_scan_find(const unsigned char *p,
    const unsigned char *end, unsigned char c);
static const unsigned char *persona_scan_lt(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *persona_scan_tag(persona_scan_t *s,
    const unsigned char *p, const unsigned char *end);
#if (PERSONA_SCAN_SSE2)
static const unsigned char *persona_scan_tag16(persona_scan_t *s,
    const unsigned char *p, const unsigned char *end);
#endif
static void persona_scan_raw(persona_scan_t *s, const unsigned char *name,
    size_t n);
static void persona_scan_tag_end(persona_scan_t *s);
static int persona_scan_end_tag(persona_scan_t *s, unsigned char c,
    const char *name, size_t len);
static int persona_scan_run(persona_scan_t *s, const unsigned char *p,
    size_t len, persona_scan_handler_pt h, void *data);
static int persona_scan_unhold(persona_scan_t *s, persona_scan_handler_pt h,
    void *data);


void
persona_scan_init(persona_scan_t *s)
{
    memset(s, 0, sizeof(persona_scan_t));

    s->state = PS_DATA;
}


static int
persona_scan_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
}


static int
persona_scan_alpha(unsigned char c)
{
    c |= 0x20;

    return c >= 'a' && c <= 'z';
}


/*
 * "-" is a name character, so the name is the longest run of name
 * characters, which must end with the "--" of "-->".
 */

static int
persona_scan_match(const unsigned char *b, size_t n, persona_scan_marker_t *m)
{
    size_t  i, j, start;

    static const unsigned char  open[] = "<!--";
    static const unsigned char  word[] = "persona:";

    for (i = 0; i < 4; i++) {
        if (i >= n) {
            return PERSONA_SCAN_PARTIAL;
        }

        if (b[i] != open[i]) {
            return PERSONA_SCAN_NO;
        }
    }

    if (i >= n) {
        return PERSONA_SCAN_PARTIAL;
    }

    m->close = (b[i] == '/');
    i += m->close;

    for (j = 0; j < 8; j++, i++) {
        if (i >= n) {
            return PERSONA_SCAN_PARTIAL;
        }

        if (b[i] != word[j]) {
            return PERSONA_SCAN_NO;
        }
    }

    start = i;

    while (i < n && persona_scan_name_char(b[i])) {
        if (++i - start > PERSONA_SCAN_NAME_MAX + 2) {
            return PERSONA_SCAN_NO;
        }
    }

    if (i >= n) {
        return PERSONA_SCAN_PARTIAL;
    }

    if (b[i] != '>' || i - start < 3 || b[i - 1] != '-' || b[i - 2] != '-') {
        return PERSONA_SCAN_NO;
    }

    m->name = b + start;
    m->name_len = i - start - 2;
    m->len = i + 1;

    return PERSONA_SCAN_MATCH;
}


static int
persona_scan_emit(persona_scan_t *s, const unsigned char *p, size_t len,
    persona_scan_handler_pt h, void *data)
{
    if (len == 0) {
        return 0;
    }

    return h(data, s->in_slot ? PERSONA_SCAN_DEFAULT : PERSONA_SCAN_TEXT,
             p, len);
}


static int
persona_scan_marker(persona_scan_t *s, persona_scan_marker_t *m,
    const unsigned char *at, persona_scan_handler_pt h, void *data)
{
    if (!s->in_slot) {
        if (m->close) {
            /* stray close marker: removed */
            return 0;
        }

        memcpy(s->name, m->name, m->name_len);
        s->name_len = m->name_len;
        s->in_slot = 1;

        return h(data, PERSONA_SCAN_OPEN, s->name, s->name_len);
    }

    if (m->close && m->name_len == s->name_len
        && memcmp(m->name, s->name, s->name_len) == 0)
    {
        s->in_slot = 0;
        return h(data, PERSONA_SCAN_CLOSE, s->name, s->name_len);
    }

    /* no nesting: another marker inside a slot is default content */

    return h(data, PERSONA_SCAN_DEFAULT, at, m->len);
}


/*
 * memchr() for runs that are mostly short in HTML (values, words between
 * tags): a few bytes are looked at before the call costs more than them.
 */

static const unsigned char *
persona_scan_find(const unsigned char *p, const unsigned char *end,
    unsigned char c)
{
    const unsigned char  *stop;

    stop = (end - p > 16) ? p + 16 : end;

    for ( /* void */ ; p < stop; p++) {
        if (*p == c) {
            return p;
        }
    }

    return (p == end) ? NULL : memchr(p, c, end - p);
}


/*
 * The next "<" in text.  Runs of text in HTML are mostly short: sixteen
 * bytes at a time in line, then memchr() once the run is long.
 */

static const unsigned char *
persona_scan_lt(const unsigned char *p, const unsigned char *end)
{
#if (PERSONA_SCAN_SSE2)
    unsigned  m, k;

    for (k = 0; k < 4 && end - p >= 16; k++, p += 16) {
        m = persona_scan_mask(_mm_loadu_si128((const __m128i *) p), '<');

        if (m) {
            return p + __builtin_ctz(m);
        }
    }
#endif

    return persona_scan_find(p, end, '<');
}


/*
 * The common case at a "<" in text: a whole tag within the bytes at hand,
 * read in one go with the rules of the states above.  Returns what
 * follows its ">", or NULL (nothing changed) when the tag is not whole
 * here or is not a plain tag; then the states take it byte by byte.
 */

static const unsigned char *
persona_scan_tag(persona_scan_t *s, const unsigned char *p,
    const unsigned char *end)
{
    size_t                  n;
    unsigned                end_tag;
    const unsigned char    *name, *q;

#if (PERSONA_SCAN_SSE2)
    q = persona_scan_tag16(s, p, end);

    if (q != NULL) {
        return q;
    }
#endif

    end_tag = (p < end && *p == '/');
    p += end_tag;

    if (p == end || !persona_scan_alpha(*p)) {
        return NULL;
    }

    name = p;

    while (!(persona_scan_class[*p] & (PS_WS | PS_SLASH | PS_GT))) {
        if (++p == end) {
            return NULL;
        }
    }

    n = p - name;

    for ( ;; ) {
        while (persona_scan_class[*p] & (PS_WS | PS_SLASH)) {
            if (++p == end) {
                return NULL;
            }
        }

        if (*p == '>') {
            break;
        }

        /* an attribute name: its first character may be anything */

        do {
            if (++p == end) {
                return NULL;
            }
        } while (!(persona_scan_class[*p]
                   & (PS_WS | PS_SLASH | PS_GT | PS_EQ)));

        while (persona_scan_class[*p] & PS_WS) {
            if (++p == end) {
                return NULL;
            }
        }

        if (*p != '=') {
            continue;
        }

        do {
            if (++p == end) {
                return NULL;
            }
        } while (persona_scan_class[*p] & PS_WS);

        if (*p == '"' || *p == '\'') {
            q = persona_scan_find(p + 1, end, *p);

            if (q == NULL || q + 1 == end) {
                return NULL;
            }

            p = q + 1;
            continue;
        }

        while (!(persona_scan_class[*p] & (PS_WS | PS_GT))) {
            if (++p == end) {
                return NULL;
            }
        }
    }

    if (!end_tag) {
        persona_scan_raw(s, name, n);
    }

    return p + 1;
}


#if (PERSONA_SCAN_SSE2)

/*
 * persona_scan_tag() sixteen bytes at a time: the bytes that matter in a
 * tag are ">", quotes and "=", and a quote opens a value only right after
 * "name=".  Tags of any other form (a quote after "= ", in a name or an
 * unquoted value, a name of 16 bytes or more), or too near the end of the
 * bytes at hand, are left to persona_scan_tag(): NULL.
 */

static const unsigned char *
persona_scan_tag16(persona_scan_t *s, const unsigned char *p,
    const unsigned char *end)
{
    unsigned               gt, dq, sq, eq, ws, stop, m, i, n, pos, floor;
    unsigned               end_tag;
    __m128i                v;
    const unsigned char   *name, *q;

    end_tag = (*p == '/');
    name = p + end_tag;

    if (end - name < 16 || !persona_scan_alpha(*name)) {
        return NULL;
    }

    p = name;
    v = _mm_loadu_si128((const __m128i *) p);

    gt = persona_scan_mask(v, '>');
    dq = persona_scan_mask(v, '"');
    sq = persona_scan_mask(v, '\'');
    eq = persona_scan_mask(v, '=');

    /* spaces, "/" and the other bytes up to 0x20, which are not spaces */
    ws = (unsigned) _mm_movemask_epi8(
             _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(' ')),
                                         v),
                          _mm_cmpeq_epi8(v, _mm_set1_epi8('/'))));

    n = __builtin_ctz(gt | ws | 0x10000);

    if (n == 16 || ((dq | sq) & ((1u << n) - 1))
        || (p[n] != '>' && !(persona_scan_class[p[n]] & (PS_WS | PS_SLASH))))
    {
        return NULL;
    }

    pos = n;
    floor = n;

    for ( ;; ) {
        stop = (gt | dq | sq) >> pos << pos;

        if (stop == 0) {
            /* names and spaces to the end of the block, or a value */

            if (eq >> pos) {
                return NULL;
            }

            p += 16;

            if (end - p < 16) {
                return NULL;
            }

            goto load;
        }

        i = __builtin_ctz(stop);

        if (p[i] == '>') {
            break;
        }

        /* "name=" and the quote: [floor, i - 1) holds no "=" */

        if (i < floor + 2
            || !((eq >> (i - 1)) & 1)
            || (eq & ((1u << (i - 1)) - 1)) >> floor
            || ((ws >> (i - 2)) & 1))
        {
            return NULL;
        }

        m = ((p[i] == '"') ? dq : sq) >> (i + 1) << (i + 1);

        if (m) {
            pos = __builtin_ctz(m) + 1;
            floor = pos;

            if (pos < 16) {
                continue;
            }

            p += 16;

        } else {
            q = persona_scan_find(p + 16, end, p[i]);

            if (q == NULL) {
                return NULL;
            }

            p = q + 1;
        }

        if (end - p < 16) {
            return NULL;
        }

    load:

        v = _mm_loadu_si128((const __m128i *) p);

        gt = persona_scan_mask(v, '>');
        dq = persona_scan_mask(v, '"');
        sq = persona_scan_mask(v, '\'');
        eq = persona_scan_mask(v, '=');
        ws = (unsigned) _mm_movemask_epi8(
                 _mm_or_si128(
                     _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(' ')), v),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('/'))));

        pos = 0;
        floor = 0;
    }

    if (!end_tag) {
        persona_scan_raw(s, name, n);
    }

    return p + i + 1;
}

#endif


/*
 * After a start tag: does the element hold raw text?  Most names are
 * told apart by their length and first letter alone.
 */

static void
persona_scan_raw(persona_scan_t *s, const unsigned char *name, size_t n)
{
    size_t  i;

    /* by length, the first letters of the elements: "xmp", "style"... */

    static const uint32_t  first[PERSONA_SCAN_TAG_MAX + 1] = {
        0, 0, 0,
        PS_LETTER('x'), 0, PS_LETTER('s') | PS_LETTER('t'),
        PS_LETTER('s') | PS_LETTER('i'), PS_LETTER('n'),
        PS_LETTER('t') | PS_LETTER('n'), PS_LETTER('p')
    };

    if (n > PERSONA_SCAN_TAG_MAX || !(first[n] & PS_LETTER(*name | 0x20))) {
        return;
    }

    s->end_tag = 0;
    s->tag_len = (unsigned char) n;

    for (i = 0; i < n; i++) {
        s->tag[i] = persona_scan_alpha(name[i]) ? (name[i] | 0x20) : name[i];
    }

    persona_scan_tag_end(s);
}


/* the ">" of a start tag: the element may hold raw text */

static void
persona_scan_tag_end(persona_scan_t *s)
{
    size_t  i;

    s->state = PS_DATA;

    if (s->end_tag) {
        return;
    }

    for (i = 1; i <= PS_ELEM_PLAINTEXT; i++) {
        if (persona_scan_elems[i].len == s->tag_len
            && (unsigned char) persona_scan_elems[i].name[0] == s->tag[0]
            && memcmp(persona_scan_elems[i].name, s->tag, s->tag_len) == 0)
        {
            s->state = (i == PS_ELEM_SCRIPT) ? PS_SCRIPT : PS_RAW;
            s->elem = (unsigned char) i;
            s->sub = 0;
            s->dashes = 0;
            return;
        }
    }
}


/*
 * "</NAME" and a space, "/" or ">", after s->sub = PS_SUB_LT: 1 once
 * complete (the last character not consumed), 0 while it may be, -1 when
 * it is not (the character not consumed, s->sub reset).
 */

static int
persona_scan_end_tag(persona_scan_t *s, unsigned char c, const char *name,
    size_t len)
{
    size_t  k;

    if (s->sub == PS_SUB_LT) {
        if (c == '/') {
            s->sub = PS_SUB_END;
            return 0;
        }

        s->sub = 0;
        return -1;
    }

    k = s->sub - PS_SUB_END;

    if (k < len) {
        if ((c | 0x20) == (unsigned char) name[k]) {
            s->sub++;
            return 0;
        }

        s->sub = 0;
        return -1;
    }

    if (persona_scan_class[c] & (PS_WS | PS_SLASH | PS_GT)) {
        return 1;
    }

    s->sub = 0;
    return -1;
}


/*
 * In a comment or a CDATA section, ended by "-->" or "]]>": the next
 * byte to look at, skipping to the next "-" or "]" (ch) unless a run of
 * them is under way; NULL if there is none.
 */

static const unsigned char *
persona_scan_closing(persona_scan_t *s, const unsigned char *p,
    const unsigned char *end, unsigned char ch)
{
    return (s->dashes == 0) ? memchr(p, ch, end - p) : p;
}


/*
 * Follows the HTML context from p, in any state but PS_DATA, until the
 * context is text again or the bytes end; returns where it stopped.
 */

static const unsigned char *
persona_scan_html(persona_scan_t *s, const unsigned char *p,
    const unsigned char *end)
{
    int                     rc;
    size_t                  k;
    unsigned char           c;
    const unsigned char    *q;

    while (p < end) {

        c = *p;

        switch (s->state) {

        case PS_DATA:
            return p;

        case PS_TAG_OPEN:
            if (c == '!') {
                s->state = PS_DECL;
                s->sub = 0;
                p++;

            } else if (c == '/') {
                s->state = PS_END_TAG_OPEN;
                p++;

            } else if (persona_scan_alpha(c)) {
                s->state = PS_TAG_NAME;
                s->end_tag = 0;
                s->tag_len = 0;

            } else if (c == '?') {
                s->state = PS_BOGUS;
                p++;

            } else {
                /* a lone "<" is text; c may start a marker */
                s->state = PS_DATA;
            }

            break;

        case PS_END_TAG_OPEN:
            if (persona_scan_alpha(c)) {
                s->state = PS_TAG_NAME;
                s->end_tag = 1;
                s->tag_len = 0;

            } else if (c == '>') {
                s->state = PS_DATA;
                p++;

            } else {
                s->state = PS_BOGUS;
            }

            break;

        case PS_TAG_NAME:
            while (!(persona_scan_class[*p] & (PS_WS | PS_SLASH | PS_GT))) {
                if (s->tag_len < PERSONA_SCAN_TAG_MAX) {
                    s->tag[s->tag_len] = persona_scan_alpha(*p) ? (*p | 0x20)
                                                                : *p;
                }

                /* a longer name is none of the elements */
                if (s->tag_len <= PERSONA_SCAN_TAG_MAX) {
                    s->tag_len++;
                }

                if (++p == end) {
                    return p;
                }
            }

            if (*p++ == '>') {
                persona_scan_tag_end(s);

            } else {
                s->state = PS_BEFORE_ATTR;
            }

            break;

        case PS_BEFORE_ATTR:
            p++;

            if (c == '>') {
                persona_scan_tag_end(s);

            } else if (!(persona_scan_class[c] & (PS_WS | PS_SLASH))) {
                /* even "=" or a quote starts a name here */
                s->state = PS_ATTR_NAME;
            }

            break;

        case PS_ATTR_NAME:
            while (!(persona_scan_class[*p]
                     & (PS_WS | PS_SLASH | PS_GT | PS_EQ)))
            {
                if (++p == end) {
                    return p;
                }
            }

            c = *p++;

            if (c == '>') {
                persona_scan_tag_end(s);

            } else if (c == '=') {
                s->state = PS_BEFORE_VALUE;

            } else if (c == '/') {
                s->state = PS_BEFORE_ATTR;

            } else {
                s->state = PS_AFTER_ATTR;
            }

            break;

        case PS_AFTER_ATTR:
            p++;

            if (c == '>') {
                persona_scan_tag_end(s);

            } else if (c == '=') {
                s->state = PS_BEFORE_VALUE;

            } else if (c == '/') {
                s->state = PS_BEFORE_ATTR;

            } else if (!(persona_scan_class[c] & PS_WS)) {
                s->state = PS_ATTR_NAME;
            }

            break;

        case PS_BEFORE_VALUE:
            p++;

            if (c == '"') {
                s->state = PS_VALUE_DQ;

            } else if (c == '\'') {
                s->state = PS_VALUE_SQ;

            } else if (c == '>') {
                persona_scan_tag_end(s);

            } else if (!(persona_scan_class[c] & PS_WS)) {
                s->state = PS_VALUE_UQ;
            }

            break;

        case PS_VALUE_DQ:
        case PS_VALUE_SQ:
            q = memchr(p, s->state == PS_VALUE_DQ ? '"' : '\'', end - p);

            if (q == NULL) {
                return end;
            }

            /* what follows a quoted value is as before a name */
            s->state = PS_BEFORE_ATTR;
            p = q + 1;
            break;

        case PS_VALUE_UQ:
            while (!(persona_scan_class[*p] & (PS_WS | PS_GT))) {
                if (++p == end) {
                    return p;
                }
            }

            if (*p++ == '>') {
                persona_scan_tag_end(s);

            } else {
                s->state = PS_BEFORE_ATTR;
            }

            break;

        case PS_DECL:
            if (s->sub == 0 && c == '-') {
                s->sub = PS_DECL_DASH;
                p++;

            } else if (s->sub == PS_DECL_DASH && c == '-') {
                s->state = PS_COMMENT;
                s->sub = PS_COMMENT_START;
                p++;

            } else if (s->sub != PS_DECL_DASH
                       && c == "[CDATA["[s->sub ? s->sub - PS_DECL_CDATA : 0])
            {
                k = s->sub ? s->sub - PS_DECL_CDATA + 1 : 1;
                s->sub = (unsigned char) (PS_DECL_CDATA + k);
                p++;

                if (k == 7) {
                    s->state = PS_CDATA;
                    s->dashes = 0;
                }

            } else {
                /* <!DOCTYPE ...> and the like; c may be its ">" */
                s->state = PS_BOGUS;
            }

            break;

        case PS_BOGUS:
            q = memchr(p, '>', end - p);

            if (q == NULL) {
                return end;
            }

            s->state = PS_DATA;
            p = q + 1;
            break;

        case PS_CDATA:
            p = persona_scan_closing(s, p, end, ']');

            if (p == NULL) {
                return end;
            }

            c = *p++;

            if (c == ']') {
                s->dashes += (s->dashes < 2);

            } else if (c == '>' && s->dashes == 2) {
                s->state = PS_DATA;

            } else {
                s->dashes = 0;
            }

            break;

        case PS_COMMENT:

            switch (s->sub) {

            case PS_COMMENT_START:
            case PS_COMMENT_START_DASH:
                if (c == '>') {
                    /* "<!-->" and "<!--->" are whole comments */
                    s->state = PS_DATA;
                    p++;

                } else if (c == '-') {
                    p++;

                    if (s->sub == PS_COMMENT_START) {
                        s->sub = PS_COMMENT_START_DASH;

                    } else {
                        s->sub = PS_COMMENT_BODY;
                        s->dashes = 2;
                    }

                } else {
                    s->sub = PS_COMMENT_BODY;
                    s->dashes = 0;
                }

                break;

            case PS_COMMENT_BODY:
                p = persona_scan_closing(s, p, end, '-');

                if (p == NULL) {
                    return end;
                }

                c = *p++;

                if (c == '-') {
                    s->dashes += (s->dashes < 2);

                } else if (c == '>' && s->dashes == 2) {
                    s->state = PS_DATA;

                } else if (c == '!' && s->dashes == 2) {
                    s->sub = PS_COMMENT_BANG;

                } else {
                    s->dashes = 0;
                }

                break;

            default: /* PS_COMMENT_BANG: "--!>" also ends a comment */
                p++;

                if (c == '>') {
                    s->state = PS_DATA;

                } else {
                    s->sub = PS_COMMENT_BODY;
                    s->dashes = (c == '-');
                }

                break;
            }

            break;

        case PS_RAW:
            if (s->sub == 0) {
                if (s->elem == PS_ELEM_PLAINTEXT) {
                    return end;
                }

                q = memchr(p, '<', end - p);

                if (q == NULL) {
                    return end;
                }

                s->sub = PS_SUB_LT;
                p = q + 1;
                break;
            }

            rc = persona_scan_end_tag(s, c, persona_scan_elems[s->elem].name,
                                      persona_scan_elems[s->elem].len);

            if (rc == 1) {
                s->state = PS_BEFORE_ATTR;
                s->end_tag = 1;

            } else if (rc == 0) {
                p++;
            }

            break;

        case PS_SCRIPT:
            if (s->sub == 0) {
                q = memchr(p, '<', end - p);

                if (q == NULL) {
                    return end;
                }

                s->sub = PS_SUB_LT;
                p = q + 1;
                break;
            }

            if (s->sub == PS_SUB_LT && c == '!') {
                s->sub = PS_SUB_BANG;
                p++;
                break;
            }

            if (s->sub == PS_SUB_BANG || s->sub == PS_SUB_BANG_DASH) {
                if (c != '-') {
                    s->sub = 0;
                    break;
                }

                p++;

                if (s->sub == PS_SUB_BANG) {
                    s->sub = PS_SUB_BANG_DASH;

                } else {
                    /* "<!--" in a script, as in HTML's tokenizer */
                    s->state = PS_SCRIPT_ESC;
                    s->sub = 0;
                    s->dashes = 2;
                }

                break;
            }

            rc = persona_scan_end_tag(s, c, "script", 6);

            if (rc == 1) {
                s->state = PS_BEFORE_ATTR;
                s->end_tag = 1;

            } else if (rc == 0) {
                p++;
            }

            break;

        default: /* PS_SCRIPT_ESC, PS_SCRIPT_DESC */

            if (s->sub == 0) {
                if (s->dashes == 0) {
                    while (!(persona_scan_class[*p] & (PS_DASH | PS_LT))) {
                        if (++p == end) {
                            return p;
                        }
                    }

                    c = *p;
                }

                p++;

                if (c == '-') {
                    s->dashes += (s->dashes < 2);

                } else if (c == '>' && s->dashes == 2) {
                    s->state = PS_SCRIPT;
                    s->dashes = 0;

                } else {
                    s->dashes = 0;
                    s->sub = (c == '<') ? PS_SUB_LT : 0;
                }

                break;
            }

            if (s->state == PS_SCRIPT_ESC
                && (s->sub >= PS_SUB_SCRIPT
                    || (s->sub == PS_SUB_LT && (c | 0x20) == 's')))
            {
                /* "<script" and a space, "/" or ">" nests once more */

                k = (s->sub == PS_SUB_LT) ? 0 : s->sub - PS_SUB_SCRIPT;

                if (k < 6 && (c | 0x20) == (unsigned char) "script"[k]) {
                    s->sub = (unsigned char) (PS_SUB_SCRIPT + k + 1);
                    p++;

                } else if (k == 6
                           && (persona_scan_class[c]
                               & (PS_WS | PS_SLASH | PS_GT)))
                {
                    s->state = PS_SCRIPT_DESC;
                    s->sub = 0;
                    p++;

                } else {
                    s->sub = 0;
                }

                break;
            }

            rc = persona_scan_end_tag(s, c, "script", 6);

            if (rc == 1) {
                s->sub = 0;

                if (s->state == PS_SCRIPT_ESC) {
                    s->state = PS_BEFORE_ATTR;
                    s->end_tag = 1;

                } else {
                    s->state = PS_SCRIPT_ESC;
                    p++;
                }

            } else if (rc == 0) {
                p++;
            }

            break;
        }
    }

    return p;
}


/*
 * Scans a run of bytes; a possible marker cut by its end is held.  In
 * text, a marker can only start at a "<"; once it is clear that a "<"
 * starts none, the HTML context takes over until it is text again.
 */

static int
persona_scan_run(persona_scan_t *s, const unsigned char *p, size_t len,
    persona_scan_handler_pt h, void *data)
{
    int                     rc;
    const unsigned char    *end, *run, *lt;
    persona_scan_marker_t   m;

    run = p;
    end = p + len;

    while (p < end) {

        if (s->state != PS_DATA) {
            p = persona_scan_html(s, p, end);
            continue;
        }

        lt = persona_scan_lt(p, end);

        if (lt == NULL) {
            break;
        }

        /* most "<" start a tag: no call for them */

        rc = (lt + 1 < end && lt[1] != '!')
             ? PERSONA_SCAN_NO : persona_scan_match(lt, end - lt, &m);

        if (rc == PERSONA_SCAN_NO) {
            p = persona_scan_tag(s, lt + 1, end);

            if (p == NULL) {
                s->state = PS_TAG_OPEN;
                p = lt + 1;
            }

            continue;
        }

        if (persona_scan_emit(s, run, lt - run, h, data) != 0) {
            return -1;
        }

        if (rc == PERSONA_SCAN_PARTIAL) {
            /* a marker has no other "<": the rest of the run is held */

            memcpy(s->hold, lt, end - lt);
            s->nhold = end - lt;

            return 0;
        }

        rc = persona_scan_marker(s, &m, lt, h, data);
        if (rc != 0) {
            return rc;
        }

        p = run = lt + m.len;
    }

    return persona_scan_emit(s, run, end - run, h, data);
}


/* held bytes that are not a marker: the '<' is text, the rest rescanned */

static int
persona_scan_unhold(persona_scan_t *s, persona_scan_handler_pt h, void *data)
{
    int             rc;
    size_t          n;
    unsigned char   tmp[PERSONA_SCAN_MARKER_MAX];

    n = s->nhold;
    memcpy(tmp, s->hold, n);
    s->nhold = 0;

    rc = persona_scan_emit(s, tmp, 1, h, data);
    if (rc != 0) {
        return rc;
    }

    s->state = PS_TAG_OPEN;

    return persona_scan_run(s, tmp + 1, n - 1, h, data);
}


/*
 * Where the HTML context stops mattering in bytes no marker follows: the
 * end of the last marker that may start there, or NULL if none may.  A
 * marker starts with "<!", and "!" is rare in HTML: memchr() skips to
 * each.  A "!" first may follow a "<" of bytes before.
 */

const unsigned char *
persona_scan_horizon(const unsigned char *p, const unsigned char *end)
{
    size_t                  n;
    const unsigned char    *q, *last;

    last = NULL;

    for (q = p; (q = memchr(q, '!', end - q)) != NULL; q++) {

        if (q == p) {
            last = q;
            continue;
        }

        if (q[-1] != '<') {
            continue;
        }

        /* "<!--persona:" or "<!--/persona:", or as much as there is */

        n = end - (q - 1);

        if (memcmp(q - 1, "<!--persona:", n < 12 ? n : 12) == 0
            || memcmp(q - 1, "<!--/persona:", n < 13 ? n : 13) == 0)
        {
            last = q - 1;
        }
    }

    if (last == NULL) {
        return NULL;
    }

    return (end - last > PERSONA_SCAN_MARKER_MAX)
           ? last + PERSONA_SCAN_MARKER_MAX : end;
}


int
persona_scan_feed(persona_scan_t *s, const unsigned char *p, size_t len,
    int flags, persona_scan_handler_pt h, void *data)
{
    int                     rc, m, last;
    size_t                  n;
    const unsigned char    *q;
    persona_scan_marker_t   mk;

    last = flags & PERSONA_SCAN_LAST;

    for ( ;; ) {

        if (s->nhold) {
            m = PERSONA_SCAN_PARTIAL;

            while (len) {
                s->hold[s->nhold++] = *p++;
                len--;

                m = persona_scan_match(s->hold, s->nhold, &mk);

                if (m != PERSONA_SCAN_PARTIAL) {
                    break;
                }
            }

            if (m == PERSONA_SCAN_PARTIAL) {
                if (!last) {
                    return 0;
                }

                /* the stream ends: what looked like a marker is not one */

                rc = persona_scan_unhold(s, h, data);

            } else if (m == PERSONA_SCAN_MATCH) {
                s->nhold = 0;
                rc = persona_scan_marker(s, &mk, s->hold, h, data);

            } else {
                rc = persona_scan_unhold(s, h, data);
            }

            if (rc != 0) {
                return rc;
            }

            continue;
        }

        if (len == 0) {
            break;
        }

        if (s->quiet) {
            rc = persona_scan_emit(s, p, len, h, data);
            if (rc != 0) {
                return rc;
            }

            break;
        }

        n = len;

        if (flags & (PERSONA_SCAN_LAST | PERSONA_SCAN_FINAL)) {
            /* the context matters only up to the last possible marker */

            q = persona_scan_horizon(p, p + len);
            n = (q == NULL) ? 0 : (size_t) (q - p);
            s->quiet = 1;
        }

        rc = persona_scan_run(s, p, n, h, data);
        if (rc != 0) {
            return rc;
        }

        p += n;
        len -= n;
    }

    if (last && s->in_slot) {
        s->in_slot = 0;
        return h(data, PERSONA_SCAN_UNCLOSED, s->name, s->name_len);
    }

    return 0;
}
