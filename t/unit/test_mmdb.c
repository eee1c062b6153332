/*
 * The MaxMind DB record check on data sections written byte by byte:
 * coordinates in range pass, impossible ones (and NaN) are refused with a
 * message naming them, whether the key, the value or the whole map is
 * reached through a pointer; and the text of a double is bounded and
 * faithful for every magnitude.
 */

#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "persona_mmdb.h"


typedef struct {
    unsigned char   d[256];
    size_t          n;
} section_t;


static void
put(section_t *s, const void *p, size_t len)
{
    assert_true(s->n + len <= sizeof(s->d));
    memcpy(s->d + s->n, p, len);
    s->n += len;
}


static void
put_byte(section_t *s, unsigned c)
{
    unsigned char  b = (unsigned char) c;

    put(s, &b, 1);
}


static void
put_str(section_t *s, const char *str)
{
    size_t  len = strlen(str);

    assert_true(len < 29);
    put_byte(s, 2 << 5 | len);
    put(s, str, len);
}


static void
put_double(section_t *s, double d)
{
    int            i;
    uint64_t       u;

    memcpy(&u, &d, 8);
    put_byte(s, 3 << 5 | 8);

    for (i = 7; i >= 0; i--) {
        put_byte(s, (unsigned) (u >> (i * 8)) & 0xff);
    }
}


static void
put_float(section_t *s, float f)
{
    int            i;
    uint32_t       u;

    memcpy(&u, &f, 4);
    put_byte(s, 4);           /* extended type, size 4 */
    put_byte(s, 15 - 7);      /* float */

    for (i = 3; i >= 0; i--) {
        put_byte(s, (u >> (i * 8)) & 0xff);
    }
}


/* a 1-byte-offset pointer (offsets below 2048) */
static void
put_pointer(section_t *s, unsigned off)
{
    assert_true(off < 2048);
    put_byte(s, 1 << 5 | (off >> 8));
    put_byte(s, off & 0xff);
}


static int
check(section_t *s, uint32_t record, char *err, size_t errlen)
{
    int                    rc;
    unsigned char         *copy;
    persona_mmdb_check_t   ck;

    /* an exact-size copy: the sanitizer sees any read past the end */
    copy = malloc(s->n);
    assert_non_null(copy);
    memcpy(copy, s->d, s->n);

    memset(&ck, 0, sizeof(ck));
    ck.data = copy;
    ck.size = s->n;
    ck.seen = calloc(s->n / 8 + 1, 1);
    assert_non_null(ck.seen);
    ck.budget = 10000;
    ck.err = err;
    ck.errlen = errlen;

    err[0] = '\0';
    rc = persona_mmdb_check_record(&ck, record);

    free(ck.seen);
    free(copy);

    return rc;
}


/* {"location": {"latitude": lat, "longitude": lon}} */
static int
location(double lat, double lon, char *err, size_t errlen)
{
    section_t  s = { .n = 0 };

    put_byte(&s, 7 << 5 | 1);
    put_str(&s, "location");
    put_byte(&s, 7 << 5 | 2);
    put_str(&s, "latitude");
    put_double(&s, lat);
    put_str(&s, "longitude");
    put_double(&s, lon);

    return check(&s, 0, err, errlen);
}


static void
test_coordinates_in_range(void **state)
{
    char  err[128];

    assert_int_equal(location(48.8566, 2.3522, err, sizeof(err)), 0);
    assert_int_equal(location(90, 180, err, sizeof(err)), 0);
    assert_int_equal(location(-90, -180, err, sizeof(err)), 0);
    assert_int_equal(location(0, 0, err, sizeof(err)), 0);
}


static void
test_coordinates_out_of_range(void **state)
{
    char  err[128];

    assert_int_equal(location(9.224e18, 2.35, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "latitude 9.224e+18 out of range"));

    assert_int_equal(location(91.5, 2.35, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "latitude 91.5 out of range"));

    assert_int_equal(location(48.85, -181, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longitude -181 out of range"));

    assert_int_equal(location(48.85, -1.5e300, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longitude"));

    assert_int_equal(location(NAN, 2.35, err, sizeof(err)), -1);
    assert_int_equal(location(48.85, INFINITY, err, sizeof(err)), -1);
}


static void
test_float_coordinate(void **state)
{
    char       err[128];
    section_t  s = { .n = 0 };

    put_byte(&s, 7 << 5 | 2);
    put_str(&s, "latitude");
    put_float(&s, 45.5f);
    put_str(&s, "longitude");
    put_float(&s, 200.0f);

    assert_int_equal(check(&s, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longitude 200 out of range"));
}


/* the map, its key and its value each behind a pointer */
static void
test_coordinate_through_pointers(void **state)
{
    char       err[128];
    unsigned   key, value, map;
    section_t  s = { .n = 0 };

    /* record at 0: {"location": -> map}; the map: {-> key: -> value} */
    put_byte(&s, 7 << 5 | 1);
    put_str(&s, "location");
    map = s.n + 2;
    put_pointer(&s, map);

    put_byte(&s, 7 << 5 | 1);
    key = s.n + 4;
    value = key + 9;
    put_pointer(&s, key);
    put_pointer(&s, value);
    put_str(&s, "latitude");
    put_double(&s, -95);

    assert_int_equal(s.n, value + 9);
    assert_int_equal(check(&s, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "latitude -95 out of range"));

    /* the same with a possible latitude passes */
    s.n = value;
    put_double(&s, -33.86);
    assert_int_equal(check(&s, 0, err, sizeof(err)), 0);
}


/* other keys and other types are not coordinates */
static void
test_not_coordinates(void **state)
{
    char       err[128];
    section_t  s = { .n = 0 };

    put_byte(&s, 7 << 5 | 3);
    put_str(&s, "score");
    put_double(&s, 1.7976931348623157e308);
    put_str(&s, "latitudes");
    put_double(&s, 1000);
    put_str(&s, "latitude");
    put_str(&s, "far north");

    assert_int_equal(check(&s, 0, err, sizeof(err)), 0);
}


static void
format(double d, const char *want)
{
    int   n;
    char  buf[PERSONA_MMDB_DOUBLE_LEN + 1];

    n = persona_mmdb_format_double(buf, sizeof(buf), d);
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}


static void
test_format_double(void **state)
{
    int     n;
    char    buf[PERSONA_MMDB_DOUBLE_LEN + 1], small[8];
    double  d;

    format(48.8566, "48.8566");
    format(-2.3522, "-2.3522");
    format(1234.5, "1234.5000");
    format(0, "0.0000");
    format(1e-300, "0.0000");
    format(-999999999999999.9, "-999999999999999.8750");
    format(1e15, "1.000000e+15");
    format(9.224e18, "9.224000e+18");
    format(-1.5e300, "-1.500000e+300");
    format(1.7976931348623157e308, "1.797693e+308");
    format(-1.7976931348623157e308, "-1.797693e+308");

    assert_int_equal(persona_mmdb_format_double(buf, sizeof(buf), NAN), -1);
    assert_int_equal(persona_mmdb_format_double(buf, sizeof(buf),
                                                -INFINITY), -1);
    assert_int_equal(persona_mmdb_format_double(small, sizeof(small), 1),
                     -1);

    /* every magnitude fits, and reads back close to the value */
    for (d = 1e-10; d < 1e308; d *= 7.3) {
        n = persona_mmdb_format_double(buf, sizeof(buf), -d);
        assert_true(n > 0 && n <= PERSONA_MMDB_DOUBLE_LEN);
        assert_true(fabs(strtod(buf, NULL) + d) <= d * 1e-6 + 1e-4);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_coordinates_in_range),
        cmocka_unit_test(test_coordinates_out_of_range),
        cmocka_unit_test(test_float_coordinate),
        cmocka_unit_test(test_coordinate_through_pointers),
        cmocka_unit_test(test_not_coordinates),
        cmocka_unit_test(test_format_double),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
