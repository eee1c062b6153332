
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The slot marker scanner (rules in persona_scan.h).  Text is skipped with
 * memchr() to the next "<!"; unchanged runs are reported as one event, so
 * a page without markers costs one callback per chunk.
 */


#define _GNU_SOURCE             /* memrchr() */

#include <string.h>

#include "persona_scan.h"


#define PERSONA_SCAN_NO       0
#define PERSONA_SCAN_PARTIAL  1
#define PERSONA_SCAN_MATCH    2


typedef struct {
    size_t                 len;        /* whole marker */
    const unsigned char   *name;
    size_t                 name_len;
    int                    close;
} persona_scan_marker_t;


static int persona_scan_match(const unsigned char *b, size_t n,
    persona_scan_marker_t *m);
static int persona_scan_run(persona_scan_t *s, const unsigned char *p,
    size_t len, persona_scan_handler_pt h, void *data);
static int persona_scan_marker(persona_scan_t *s, persona_scan_marker_t *m,
    const unsigned char *at, persona_scan_handler_pt h, void *data);
static int persona_scan_unhold(persona_scan_t *s, persona_scan_handler_pt h,
    void *data);


void
persona_scan_init(persona_scan_t *s)
{
    s->nhold = 0;
    s->name_len = 0;
    s->in_slot = 0;
}


static int
persona_scan_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
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
 * Scans a run of bytes; a possible marker cut by its end is held.  A
 * marker starts with "<!": the run is searched for '!', which is rare in
 * HTML, rather than for '<', which starts every tag.
 */

static int
persona_scan_run(persona_scan_t *s, const unsigned char *p, size_t len,
    persona_scan_handler_pt h, void *data)
{
    int                     rc;
    size_t                  tail;
    const unsigned char    *q, *end, *run, *lt, *bang;
    persona_scan_marker_t   m;

    q = p + 1;
    run = p;
    end = p + len;

    while (q < end) {
        bang = memchr(q, '!', end - q);

        if (bang == NULL) {
            break;
        }

        q = bang + 1;

        if (bang[-1] != '<') {
            continue;
        }

        lt = bang - 1;

        rc = persona_scan_match(lt, end - lt, &m);

        if (rc != PERSONA_SCAN_MATCH) {
            /* a partial marker can only end the run: the tail check */
            continue;
        }

        if (persona_scan_emit(s, run, lt - run, h, data) != 0) {
            return -1;
        }

        rc = persona_scan_marker(s, &m, lt, h, data);
        if (rc != 0) {
            return rc;
        }

        run = lt + m.len;
        q = run + 1;
    }

    /*
     * Only the last '<' of the run can start a marker that the run cuts:
     * a marker has no other '<'.
     */

    tail = (size_t) (end - run);

    if (tail > PERSONA_SCAN_MARKER_MAX) {
        tail = PERSONA_SCAN_MARKER_MAX;
    }

    lt = memrchr(end - tail, '<', tail);

    if (lt != NULL
        && persona_scan_match(lt, end - lt, &m) == PERSONA_SCAN_PARTIAL)
    {
        if (persona_scan_emit(s, run, lt - run, h, data) != 0) {
            return -1;
        }

        memcpy(s->hold, lt, end - lt);
        s->nhold = end - lt;

        return 0;
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

    return persona_scan_run(s, tmp + 1, n - 1, h, data);
}


int
persona_scan_feed(persona_scan_t *s, const unsigned char *p, size_t len,
    int last, persona_scan_handler_pt h, void *data)
{
    int                     rc, m;
    persona_scan_marker_t   mk;

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

        rc = persona_scan_run(s, p, len, h, data);
        if (rc != 0) {
            return rc;
        }

        p += len;
        len = 0;
    }

    if (last && s->in_slot) {
        s->in_slot = 0;
        return h(data, PERSONA_SCAN_UNCLOSED, s->name, s->name_len);
    }

    return 0;
}
