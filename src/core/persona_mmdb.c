
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * A bounded decoder of the MaxMind DB data format (version 2), used to
 * check a file once when it is loaded: every value must fit in the data
 * section, with the sizes its type allows; pointers must land in the
 * section on something that is not a pointer; map keys must be strings;
 * nesting is limited.  Each pointer target is checked once (a bitmap),
 * and a budget caps the total work, so a hostile file costs bounded time.
 * A number under a "latitude" or "longitude" key must be a coordinate:
 * the check of a map depends on its content alone, so a map checked once,
 * wherever it was reached from, is checked for good.
 */


#include <math.h>
#include <stdio.h>
#include <string.h>

#include "persona_mmdb.h"


static int persona_mmdb_value(persona_mmdb_check_t *ck, uint32_t off,
    unsigned depth, int key, uint32_t *next);
static uint32_t persona_mmdb_pointer(const unsigned char *data,
    uint32_t p, unsigned char c, unsigned n);
static uint32_t persona_mmdb_resolve(persona_mmdb_check_t *ck,
    uint32_t off);
static int persona_mmdb_coordinate(persona_mmdb_check_t *ck, uint32_t key,
    uint32_t value);


static const unsigned char  persona_mmdb_marker[] =
    "\xab\xcd\xefMaxMind.com";


int64_t
persona_mmdb_metadata(const unsigned char *file, size_t size)
{
    size_t  n, from, i;

    n = sizeof(persona_mmdb_marker) - 1;
    from = size > 128 * 1024 ? size - 128 * 1024 : 0;

    if (size < n) {
        return -1;
    }

    for (i = size - n + 1; i-- > from; ) {
        if (memcmp(file + i, persona_mmdb_marker, n) == 0) {
            /* the metadata is a map: at least a control byte and a key */
            return (size - (i + n) >= 8) ? (int64_t) (i + n) : -1;
        }
    }

    return -1;
}


static int
persona_mmdb_fail(persona_mmdb_check_t *ck, uint32_t off, const char *what)
{
    snprintf(ck->err, ck->errlen, "%s at data offset %u", what,
             (unsigned) off);
    return -1;
}


static int
persona_mmdb_value(persona_mmdb_check_t *ck, uint32_t off, unsigned depth,
    int key, uint32_t *next)
{
    int            type;
    uint32_t       p, size, i, n, end, target, skip, k, v;
    unsigned char  c;

    if (ck->budget-- == 0) {
        return persona_mmdb_fail(ck, off, "data too complex");
    }

    if (depth > PERSONA_MMDB_MAX_DEPTH) {
        return persona_mmdb_fail(ck, off, "data nested too deep");
    }

    if (off >= ck->size) {
        return persona_mmdb_fail(ck, off, "value outside the data section");
    }

    p = off;
    c = ck->data[p++];
    type = c >> 5;

    if (type == 1) {
        n = ((c >> 3) & 3) + 1;

        if (ck->size - p < n) {
            return persona_mmdb_fail(ck, off, "truncated pointer");
        }

        target = persona_mmdb_pointer(ck->data, p, c, n);

        *next = p + n;

        if (target >= ck->size) {
            return persona_mmdb_fail(ck, off, "pointer outside the data");
        }

        if ((ck->data[target] >> 5) == 1) {
            return persona_mmdb_fail(ck, off, "pointer to a pointer");
        }

        if (key && (ck->data[target] >> 5) != 2) {
            return persona_mmdb_fail(ck, off, "map key is not a string");
        }

        if (ck->seen[target / 8] & (1 << (target % 8))) {
            return 0;
        }

        if (persona_mmdb_value(ck, target, depth + 1, key, &skip) != 0) {
            return -1;
        }

        ck->seen[target / 8] |= 1 << (target % 8);

        return 0;
    }

    if (type == 0) {
        if (p >= ck->size) {
            return persona_mmdb_fail(ck, off, "truncated type");
        }

        type = 7 + ck->data[p++];

        if (type < 8 || type > 15) {
            return persona_mmdb_fail(ck, off, "unknown type");
        }
    }

    if (key && type != 2) {
        return persona_mmdb_fail(ck, off, "map key is not a string");
    }

    size = c & 0x1f;

    if (size >= 29) {
        n = size - 28;

        if (ck->size - p < n) {
            return persona_mmdb_fail(ck, off, "truncated size");
        }

        if (n == 1) {
            size = 29 + ck->data[p];

        } else if (n == 2) {
            size = 285 + ((ck->data[p] << 8) | ck->data[p + 1]);

        } else {
            size = 65821 + ((ck->data[p] << 16) | (ck->data[p + 1] << 8)
                            | ck->data[p + 2]);
        }

        p += n;
    }

    switch (type) {

    case 7:     /* map: size pairs */
    case 11:    /* array: size values */
        for (i = 0; i < size; i++) {
            k = p;

            if (type == 7) {
                if (persona_mmdb_value(ck, p, depth + 1, 1, &p) != 0) {
                    return -1;
                }
            }

            v = p;

            if (persona_mmdb_value(ck, p, depth + 1, 0, &p) != 0) {
                return -1;
            }

            if (type == 7 && persona_mmdb_coordinate(ck, k, v) != 0) {
                return -1;
            }
        }

        *next = p;
        return 0;

    case 3:     /* double */
        if (size != 8) {
            return persona_mmdb_fail(ck, off, "double of a wrong size");
        }
        break;

    case 15:    /* float */
        if (size != 4) {
            return persona_mmdb_fail(ck, off, "float of a wrong size");
        }
        break;

    case 5:
        if (size > 2) {
            return persona_mmdb_fail(ck, off, "uint16 too large");
        }
        break;

    case 6:
    case 8:
        if (size > 4) {
            return persona_mmdb_fail(ck, off, "32-bit integer too large");
        }
        break;

    case 9:
        if (size > 8) {
            return persona_mmdb_fail(ck, off, "uint64 too large");
        }
        break;

    case 10:
        if (size > 16) {
            return persona_mmdb_fail(ck, off, "uint128 too large");
        }
        break;

    case 14:    /* boolean: the value is the size, no payload */
        if (size > 1) {
            return persona_mmdb_fail(ck, off, "invalid boolean");
        }

        *next = p;
        return 0;

    case 2:     /* utf8 string */
    case 4:     /* bytes */
        break;

    default:    /* 12 data cache container, 13 end marker */
        return persona_mmdb_fail(ck, off, "type not allowed in data");
    }

    end = p + size;

    if (end < p || end > ck->size) {
        return persona_mmdb_fail(ck, off, "value past the data section");
    }

    *next = end;

    return 0;
}


static uint32_t
persona_mmdb_pointer(const unsigned char *data, uint32_t p, unsigned char c,
    unsigned n)
{
    switch (n) {
    case 1:
        return ((c & 7) << 8) | data[p];
    case 2:
        return (((c & 7) << 16) | (data[p] << 8) | data[p + 1]) + 2048;
    case 3:
        return (((uint32_t) (c & 7) << 24) | (data[p] << 16)
                | (data[p + 1] << 8) | data[p + 2]) + 526336;
    default:
        return ((uint32_t) data[p] << 24) | (data[p + 1] << 16)
               | (data[p + 2] << 8) | data[p + 3];
    }
}


/* a value already checked, through the one pointer allowed */

static uint32_t
persona_mmdb_resolve(persona_mmdb_check_t *ck, uint32_t off)
{
    unsigned char  c;

    c = ck->data[off];

    if ((c >> 5) != 1) {
        return off;
    }

    return persona_mmdb_pointer(ck->data, off + 1, c, ((c >> 3) & 3) + 1);
}


/*
 * A latitude beyond 90 degrees or a longitude beyond 180 (or NaN) is no
 * place on Earth: a database that has one is damaged or hostile, and
 * every number in it is suspect.  Key and value are already checked.
 */

static int
persona_mmdb_coordinate(persona_mmdb_check_t *ck, uint32_t key,
    uint32_t value)
{
    float           f;
    double          d, max;
    uint32_t        p, u32;
    uint64_t        u64;
    unsigned        i;
    unsigned char   c;
    const char     *name;

    /* a string this short has one encoding: its size in the control byte */

    key = persona_mmdb_resolve(ck, key);
    c = ck->data[key];

    if (c == (2 << 5 | 8) && memcmp(&ck->data[key + 1], "latitude", 8) == 0) {
        name = "latitude";
        max = 90;

    } else if (c == (2 << 5 | 9)
               && memcmp(&ck->data[key + 1], "longitude", 9) == 0)
    {
        name = "longitude";
        max = 180;

    } else {
        return 0;
    }

    /* big-endian IEEE 754, a double or a float (an extended type) */

    value = persona_mmdb_resolve(ck, value);
    c = ck->data[value];
    p = value + 1;

    if (c == (3 << 5 | 8)) {
        u64 = 0;

        for (i = 0; i < 8; i++) {
            u64 = (u64 << 8) | ck->data[p + i];
        }

        memcpy(&d, &u64, 8);

    } else if (c == 4 && ck->data[p] == 15 - 7) {
        u32 = 0;

        for (i = 0; i < 4; i++) {
            u32 = (u32 << 8) | ck->data[p + 1 + i];
        }

        memcpy(&f, &u32, 4);
        d = f;

    } else {
        return 0;
    }

    if (d >= -max && d <= max) {
        return 0;
    }

    snprintf(ck->err, ck->errlen, "%s %.6g out of range at data offset %u",
             name, d, (unsigned) value);

    return -1;
}


int
persona_mmdb_format_double(char *buf, size_t size, double d)
{
    int  n;

    if (isnan(d) || isinf(d) || size < PERSONA_MMDB_DOUBLE_LEN + 1) {
        return -1;
    }

    /*
     * Coordinates and other everyday numbers as "%.4f" does (48.8566);
     * beyond 1e15 a fixed point would print up to 309 digits, so large
     * numbers take an exponent (9.224000e+18).
     */

    if (fabs(d) < 1e15) {
        n = snprintf(buf, size, "%.4f", d);

    } else {
        n = snprintf(buf, size, "%.6e", d);
    }

    return (n > 0 && (size_t) n < size) ? n : -1;
}


int
persona_mmdb_check_record(persona_mmdb_check_t *ck, uint32_t offset)
{
    uint32_t       next, target;
    unsigned char  c;

    if (offset < ck->size && (ck->seen[offset / 8] & (1 << (offset % 8)))) {
        return 0;
    }

    /* what the search tree points to is a map (maybe through a pointer) */

    if (offset < ck->size) {
        c = ck->data[offset];
        target = offset;

        if ((c >> 5) == 1 && ((c >> 3) & 3) == 0 && offset + 1 < ck->size) {
            target = ((c & 7) << 8) | ck->data[offset + 1];
        }

        if ((c >> 5) != 1 && (c >> 5) != 7) {
            return persona_mmdb_fail(ck, offset, "record is not a map");
        }

        if (target < ck->size && target != offset
            && (ck->data[target] >> 5) != 7)
        {
            return persona_mmdb_fail(ck, offset, "record is not a map");
        }
    }

    if (persona_mmdb_value(ck, offset, 0, 0, &next) != 0) {
        return -1;
    }

    ck->seen[offset / 8] |= 1 << (offset % 8);

    return 0;
}
