/*
 * Event lines from a field table built out of the input: the length
 * function is exact (ASan: the buffer is exactly that long), skipped
 * fields leave nothing, and the line is a JSON object whose strings hold
 * no raw quote, backslash sequence error or control character: a small
 * validator walks it.  RAW values are the caller's JSON, so the fuzzer
 * only gives RAW fields digits.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona_event.h"


#define MAX_FIELDS  16


/* a JSON string starting at p[i] == '"'; returns the index after it */

static size_t
skip_string(const unsigned char *p, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (p[i] < 0x20) {
            abort();
        }

        if (p[i] == '\\') {
            i++;

            if (i >= n || strchr("\"\\/bfnrtu", p[i]) == NULL) {
                abort();
            }

            if (p[i] == 'u') {
                i += 4;
            }

            continue;
        }

        if (p[i] == '"') {
            return i + 1;
        }
    }

    abort();
}


static size_t
skip_value(const unsigned char *p, size_t n, size_t i)
{
    if (i >= n) {
        abort();
    }

    if (p[i] == '"') {
        return skip_string(p, n, i);
    }

    if (p[i] == '[') {
        i++;

        if (i < n && p[i] == ']') {
            return i + 1;
        }

        for ( ;; ) {
            i = skip_string(p, n, i);

            if (i < n && p[i] == ',') {
                i++;
                continue;
            }

            if (i < n && p[i] == ']') {
                return i + 1;
            }

            abort();
        }
    }

    while (i < n && p[i] >= '0' && p[i] <= '9') {
        i++;
    }

    return i;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                 i, j, n, len, flen;
    unsigned char         *buf, *end;
    persona_event_field_t  f[MAX_FIELDS];

    static const char  keys[] = "abcdefghijklmnop";

    n = 0;
    i = 0;

    while (i < size && n < MAX_FIELDS) {
        flen = data[i] % 32;
        i++;

        f[n].key = &keys[n];
        f[n].key_len = 1;
        f[n].type = (persona_event_type_e) (flen % 5);
        f[n].data = data + i;
        f[n].len = (i + flen <= size) ? flen : size - i;

        if (f[n].type == PERSONA_EVENT_RAW || f[n].type == PERSONA_EVENT_NAME)
        {
            /* the caller's promise: JSON digits, names needing no escape */
            for (j = 0; j < f[n].len; j++) {
                if (f[n].data[j] < '0' || f[n].data[j] > '9') {
                    f[n].type = PERSONA_EVENT_STR;
                    break;
                }
            }

            if (f[n].type == PERSONA_EVENT_RAW && f[n].len == 0) {
                f[n].type = PERSONA_EVENT_SKIP;
            }
        }

        i += f[n].len;
        n++;
    }

    len = persona_event_len(f, n);

    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return 0;
    }

    end = persona_event_write(buf, f, n);

    if ((size_t) (end - buf) != len || len < 2 || buf[0] != '{'
        || buf[len - 1] != '}')
    {
        abort();
    }

    /* {"k":value,...} */

    i = 1;

    while (i < len - 1) {
        if (buf[i] != '"' || i + 3 >= len) {
            abort();
        }

        i = skip_string(buf, len, i);

        if (buf[i] != ':') {
            abort();
        }

        i = skip_value(buf, len, i + 1);

        if (buf[i] == ',') {
            i++;
        }
    }

    free(buf);

    return 0;
}
