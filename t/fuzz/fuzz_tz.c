/*
 * TZif parsing of arbitrary bytes: refused, or offsets within +-26 hours
 * at any time.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona_tz.h"


typedef struct {
    void    *blocks[16];
    size_t   n;
} arena_t;


static void *
f_alloc(void *ctx, size_t size)
{
    arena_t  *a = ctx;

    if (a->n == 16) {
        return NULL;
    }

    return a->blocks[a->n++] = malloc(size ? size : 1);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            i, hour, wday;
    char           err[128];
    int32_t        off;
    int64_t        t;
    arena_t        a;
    persona_tz_t  *tz;

    a.n = 0;

    tz = persona_tz_parse(data, size, f_alloc, &a, err, sizeof(err));

    if (tz == NULL) {
        if (err[0] == '\0') {
            abort();
        }

    } else {
        for (i = -3; i < 40; i++) {
            t = (int64_t) i * 86400 * 365 * 5 + i * 7919;
            off = persona_tz_offset(tz, t);

            if (off < -26 * 3600 || off > 26 * 3600) {
                abort();
            }

            persona_tz_local(t, off, &hour, &wday);

            if (hour < 0 || hour > 23 || wday < 0 || wday > 6) {
                abort();
            }
        }
    }

    while (a.n) {
        free(a.blocks[--a.n]);
    }

    return 0;
}
