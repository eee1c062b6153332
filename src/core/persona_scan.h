
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Streaming tokenizer of slot markers in HTML:
 *
 *     <!--persona:SLOT-->default content<!--/persona:SLOT-->
 *
 * Rules:
 *   - SLOT is 1 to 64 characters among A-Z a-z 0-9 _ -; markers are
 *     case-sensitive and contain no spaces.  Anything else that starts
 *     like a marker is ordinary text and passes unchanged.
 *   - A marker is a comment, so it is one only where HTML starts a
 *     comment: in text, not inside a tag (an attribute value), another
 *     comment, a CDATA section, <!DOCTYPE> or <?...>, nor in the text of
 *     script, style, textarea, title, xmp, iframe, noembed, noframes
 *     and plaintext.  The context is followed as HTML's tokenizer
 *     follows it (including "<!--" and "<script" inside a script), so
 *     that text a visitor controls, reflected there, never becomes a
 *     marker.
 *   - Outside a slot, an open marker emits OPEN; a close marker there is
 *     stray and is removed (nothing is emitted for it).
 *   - Inside a slot, bytes are DEFAULT; the close marker of the same slot
 *     emits CLOSE.  Any other marker inside a slot is DEFAULT text: slots
 *     do not nest.
 *   - At the end of the stream inside a slot, UNCLOSED is emitted after
 *     the last DEFAULT bytes.
 *   - In the last chunk (or one the caller knows no marker follows),
 *     the HTML context is followed only up to its last "<!--persona:"
 *     or "<!--/persona:": no marker can follow, so the rest is one run
 *     of TEXT or DEFAULT, found at the speed of memchr().
 *     persona_scan_horizon() tells whether a chunk may hold a marker.
 *   - Chunking never changes the result: the HTML context is kept in the
 *     state, and bytes that may start a marker at the end of a chunk (at
 *     most one marker's length) are held there and emitted, in order,
 *     once decided.
 *
 * Pointers given to the handler point into the chunk being fed or into
 * the state (held bytes); they are valid only during the call.
 */


#ifndef PERSONA_SCAN_H
#define PERSONA_SCAN_H


#include <stddef.h>
#include <stdint.h>


#define PERSONA_SCAN_NAME_MAX    64
#define PERSONA_SCAN_MARKER_MAX  (13 + PERSONA_SCAN_NAME_MAX + 3)
#define PERSONA_SCAN_TAG_MAX     9          /* "plaintext" */


typedef enum {
    PERSONA_SCAN_TEXT,
    PERSONA_SCAN_OPEN,
    PERSONA_SCAN_DEFAULT,
    PERSONA_SCAN_CLOSE,
    PERSONA_SCAN_UNCLOSED
} persona_scan_event_e;


typedef int (*persona_scan_handler_pt)(void *data, persona_scan_event_e ev,
    const unsigned char *p, size_t len);


typedef struct {
    unsigned char   hold[PERSONA_SCAN_MARKER_MAX];
    size_t          nhold;
    unsigned char   name[PERSONA_SCAN_NAME_MAX];
    size_t          name_len;

    /* the HTML context, private to persona_scan.c */
    unsigned char   tag[PERSONA_SCAN_TAG_MAX];
    unsigned char   tag_len;
    unsigned char   state;
    unsigned char   sub;
    unsigned char   elem;
    unsigned char   dashes;
    unsigned        end_tag:1;

    unsigned        in_slot:1;
    unsigned        quiet:1;            /* no marker can follow */
} persona_scan_t;


void persona_scan_init(persona_scan_t *s);
/* flags of persona_scan_feed() */
#define PERSONA_SCAN_LAST   1       /* the stream ends with these bytes */
#define PERSONA_SCAN_FINAL  2       /* no marker starts after them */

int persona_scan_feed(persona_scan_t *s, const unsigned char *p, size_t len,
    int flags, persona_scan_handler_pt h, void *data);
const unsigned char *persona_scan_horizon(const unsigned char *p,
    const unsigned char *end);


#endif /* PERSONA_SCAN_H */
