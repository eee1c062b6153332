
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * JSON and HTML escaping (rules in persona_json.h).  The JSON output must
 * stay valid UTF-8 whatever the input, because one bad byte in a User-Agent
 * or a URI would otherwise make a whole exposure log line unreadable to
 * JSON parsers; U+2028 and U+2029 are escaped so a line is also safe to
 * embed in JavaScript.
 */


#include <string.h>

#include "persona_json.h"


static size_t persona_json_seq(const unsigned char *p, size_t len);


static const char  persona_hex[] = "0123456789abcdef";


/* bytes copied as they are: printable ASCII but '"' and '\\' */

static const unsigned char  persona_json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};


/* length of the well-formed UTF-8 sequence at p, or 0 */

static size_t
persona_json_seq(const unsigned char *p, size_t len)
{
    unsigned char  c;

    c = p[0];

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        return (len >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    }

    if (c >= 0xe0 && c <= 0xef) {
        if (len < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) {
            return 0;
        }

        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)) {
            return 0;
        }

        return 3;
    }

    if (c >= 0xf0 && c <= 0xf4) {
        if (len < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80
            || (p[3] & 0xc0) != 0x80)
        {
            return 0;
        }

        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)) {
            return 0;
        }

        return 4;
    }

    return 0;
}


int
persona_json_utf8_valid(const unsigned char *p, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        n = persona_json_seq(p + i, len - i);

        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


size_t
persona_json_escape_len(const unsigned char *p, size_t len)
{
    size_t          i, n, out;
    unsigned char   c;

    out = 0;

    for (i = 0; i < len; i += n) {
        c = p[i];
        n = 1;

        if (persona_json_plain[c]) {
            out++;
            continue;
        }

        if (c == '"' || c == '\\') {
            out += 2;
            continue;
        }

        if (c < 0x80) {
            out += (c == '\n' || c == '\r' || c == '\t' || c == '\b'
                    || c == '\f') ? 2 : 6;
            continue;
        }

        n = persona_json_seq(p + i, len - i);

        if (n == 0) {
            n = 1;
            out += 6;

        } else if (n == 3 && c == 0xe2 && p[i + 1] == 0x80
                   && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
        {
            out += 6;

        } else {
            out += n;
        }
    }

    return out;
}


unsigned char *
persona_json_escape(unsigned char *dst, const unsigned char *p, size_t len)
{
    size_t          i, n;
    unsigned char   c;

    for (i = 0; i < len; i += n) {
        c = p[i];
        n = 1;

        if (persona_json_plain[c]) {
            /* the common case: a run of plain bytes in one copy */

            for (n = 1; i + n < len && persona_json_plain[p[i + n]]; n++) {
                /* void */
            }

            memcpy(dst, p + i, n);
            dst += n;
            continue;
        }

        if (c == '"' || c == '\\') {
            *dst++ = '\\';
            *dst++ = c;
            continue;
        }

        if (c < 0x80) {
            *dst++ = '\\';

            switch (c) {
            case '\n': *dst++ = 'n'; break;
            case '\r': *dst++ = 'r'; break;
            case '\t': *dst++ = 't'; break;
            case '\b': *dst++ = 'b'; break;
            case '\f': *dst++ = 'f'; break;
            default:
                *dst++ = 'u';
                *dst++ = '0';
                *dst++ = '0';
                *dst++ = persona_hex[c >> 4];
                *dst++ = persona_hex[c & 0xf];
            }

            continue;
        }

        n = persona_json_seq(p + i, len - i);

        if (n == 0) {
            n = 1;
            memcpy(dst, "\\ufffd", 6);
            dst += 6;

        } else if (n == 3 && c == 0xe2 && p[i + 1] == 0x80
                   && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
        {
            memcpy(dst, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            dst += 6;

        } else {
            memcpy(dst, p + i, n);
            dst += n;
        }
    }

    return dst;
}


size_t
persona_html_escape_len(const unsigned char *p, size_t len)
{
    size_t  i, out;

    out = len;

    for (i = 0; i < len; i++) {
        switch (p[i]) {
        case '&': out += 4; break;         /* &amp; */
        case '<': case '>': out += 3; break;  /* &lt; &gt; */
        case '"': out += 5; break;          /* &quot; */
        case '\'': out += 4; break;         /* &#39; */
        }
    }

    return out;
}


unsigned char *
persona_html_escape(unsigned char *dst, const unsigned char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (p[i]) {
        case '&': memcpy(dst, "&amp;", 5); dst += 5; break;
        case '<': memcpy(dst, "&lt;", 4); dst += 4; break;
        case '>': memcpy(dst, "&gt;", 4); dst += 4; break;
        case '"': memcpy(dst, "&quot;", 6); dst += 6; break;
        case '\'': memcpy(dst, "&#39;", 5); dst += 5; break;
        default: *dst++ = p[i];
        }
    }

    return dst;
}
