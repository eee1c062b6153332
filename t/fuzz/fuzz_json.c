/*
 * JSON escaping: the length function is exact, the output is valid UTF-8
 * without raw control characters, and valid UTF-8 input decodes back to
 * itself.  HTML escaping: exact length, no raw < > & " '.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona_json.h"


static size_t
put_utf8(unsigned char *d, uint32_t cp)
{
    if (cp < 0x80) { d[0] = cp; return 1; }
    if (cp < 0x800) { d[0] = 0xc0 | cp >> 6; d[1] = 0x80 | (cp & 0x3f);
                      return 2; }
    d[0] = 0xe0 | cp >> 12; d[1] = 0x80 | ((cp >> 6) & 0x3f);
    d[2] = 0x80 | (cp & 0x3f);
    return 3;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          n, i, k;
    uint32_t        cp;
    unsigned char  *out, *end, *dec;

    n = persona_json_escape_len(data, size);
    out = malloc(n + 1);
    end = persona_json_escape(out, data, size);

    if ((size_t) (end - out) != n || !persona_utf8_valid(out, n)) {
        abort();
    }

    dec = malloc(n + 1);
    k = 0;

    for (i = 0; i < n; i++) {
        if (out[i] < 0x20 || out[i] == 0x7f || out[i] == '"') {
            abort();
        }

        if (out[i] != '\\') {
            dec[k++] = out[i];
            continue;
        }

        i++;

        switch (out[i]) {
        case 'n': dec[k++] = '\n'; break;
        case 'r': dec[k++] = '\r'; break;
        case 't': dec[k++] = '\t'; break;
        case 'b': dec[k++] = '\b'; break;
        case 'f': dec[k++] = '\f'; break;
        case '"': dec[k++] = '"'; break;
        case '\\': dec[k++] = '\\'; break;
        case 'u':
            cp = (uint32_t) strtoul((char []) { out[i + 1], out[i + 2],
                                     out[i + 3], out[i + 4], 0 }, NULL, 16);
            k += put_utf8(dec + k, cp);
            i += 4;
            break;
        default:
            abort();
        }
    }

    if (persona_utf8_valid(data, size)
        && (k != size || memcmp(dec, data, size) != 0))
    {
        abort();
    }

    free(out);
    free(dec);

    n = persona_html_escape_len(data, size);
    out = malloc(n + 1);
    end = persona_html_escape(out, data, size);

    if ((size_t) (end - out) != n) {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (out[i] == '<' || out[i] == '>' || out[i] == '"'
            || out[i] == '\'')
        {
            abort();
        }
    }

    free(out);

    return 0;
}
