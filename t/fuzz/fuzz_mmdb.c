/*
 * The MaxMind DB data checker on arbitrary bytes: it accepts or refuses
 * with a message, within its budget, and never reads outside the input;
 * and the text of any double stays within its bound.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona_mmdb.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  err[128];
    uint32_t              off;
    uint8_t              *copy;
    persona_mmdb_check_t  ck;

    /* an exact-size copy: ASan sees any read past the end */
    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);

    memset(&ck, 0, sizeof(ck));
    ck.data = copy;
    ck.size = size;
    ck.seen = calloc(size / 8 + 1, 1);
    ck.budget = 16 * (uint64_t) size + 1000;
    ck.err = err;
    ck.errlen = sizeof(err);

    for (off = 0; off < size && off < 64; off += 7) {
        err[0] = '\0';

        if (persona_mmdb_check_record(&ck, off) != 0 && err[0] == '\0') {
            abort();
        }
    }

    (void) persona_mmdb_metadata(copy, size);

    /* any 8 bytes as a double: its text stays within the bound */
    if (size >= 8) {
        double  d;
        char    text[PERSONA_MMDB_DOUBLE_LEN + 1];
        int     n;

        memcpy(&d, copy, 8);
        n = persona_mmdb_format_double(text, sizeof(text), d);

        if (n > PERSONA_MMDB_DOUBLE_LEN || (n >= 0 && text[n] != '\0')) {
            abort();
        }
    }

    free(ck.seen);
    free(copy);

    return 0;
}
