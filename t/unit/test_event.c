/*
 * Event lines from a field table: the length is exact for every field
 * type, skipped fields leave no trace, strings are escaped, lists become
 * arrays, and a line is the same as the one the module wrote before the
 * table existed.
 */

#include "unit.h"

#include <stdlib.h>

#include "persona_event.h"


#define F(k, t, v)  { k, sizeof(k) - 1, t, (const unsigned char *) (v),     \
                      slen(v) }


static size_t
slen(const char *s)
{
    return s ? strlen(s) : 0;
}


static void
line(const persona_event_field_t *f, size_t n, const char *want)
{
    size_t          len;
    unsigned char  *buf, *end;

    len = persona_event_len(f, n);

    /* exactly the length: ASan catches one byte more */
    buf = malloc(len);
    assert_non_null(buf);

    end = persona_event_write(buf, f, n);

    assert_int_equal(end - buf, len);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);

    free(buf);
}


static void
test_types(void **state)
{
    persona_event_field_t  none[] = {
        F("a", PERSONA_EVENT_SKIP, "x"),
    };

    persona_event_field_t  one[] = {
        F("event", PERSONA_EVENT_NAME, "exposure"),
    };

    persona_event_field_t  all[] = {
        F("s", PERSONA_EVENT_STR, "a\"b\\c\n"),
        F("skip", PERSONA_EVENT_SKIP, "gone"),
        F("n", PERSONA_EVENT_NAME, "hero"),
        F("v", PERSONA_EVENT_RAW, "12.5"),
        F("o", PERSONA_EVENT_RAW, "{\"hero\":\"winter\"}"),
        F("l", PERSONA_EVENT_LIST, "vip,\"q\",,x"),
        F("e", PERSONA_EVENT_LIST, ""),
        F("z", PERSONA_EVENT_STR, ""),
    };

    line(none, 1, "{}");
    line(one, 1, "{\"event\":\"exposure\"}");
    line(all, sizeof(all) / sizeof(all[0]),
         "{\"s\":\"a\\\"b\\\\c\\n\",\"n\":\"hero\",\"v\":12.5,"
         "\"o\":{\"hero\":\"winter\"},\"l\":[\"vip\",\"\\\"q\\\"\",\"x\"],"
         "\"e\":[],\"z\":\"\"}");
}


static void
test_null_data(void **state)
{
    /* absent values: no data pointer at all */
    persona_event_field_t  f[] = {
        { "country", 7, PERSONA_EVENT_STR, NULL, 0 },
        { "segments", 8, PERSONA_EVENT_LIST, NULL, 0 },
        { "value", 5, PERSONA_EVENT_RAW, NULL, 0 },
        { "id", 2, PERSONA_EVENT_NAME, NULL, 0 },
    };

    line(f, 4, "{\"country\":\"\",\"segments\":[],\"value\":,\"id\":\"\"}");
}


/* the exposure line as the module wrote it by hand before */

static void
test_exposure(void **state)
{
    persona_event_field_t  f[] = {
        F("ts", PERSONA_EVENT_NAME, "2026-12-03T09:15:02.123Z"),
        F("event", PERSONA_EVENT_NAME, "exposure"),
        F("id", PERSONA_EVENT_STR, "6f1c"),
        F("experiment", PERSONA_EVENT_NAME, "hero"),
        F("variant", PERSONA_EVENT_NAME, "winter"),
        { "goal", 4, PERSONA_EVENT_SKIP, NULL, 0 },
        { "value", 5, PERSONA_EVENT_SKIP, NULL, 0 },
        { "assignments", 11, PERSONA_EVENT_SKIP, NULL, 0 },
        F("segments", PERSONA_EVENT_LIST, "mobile"),
        F("country", PERSONA_EVENT_STR, "FR"),
        F("device", PERSONA_EVENT_STR, "mobile"),
        F("channel", PERSONA_EVENT_STR, "email"),
        F("uri", PERSONA_EVENT_STR, "/"),
        F("request_id", PERSONA_EVENT_STR, "r1"),
    };

    line(f, sizeof(f) / sizeof(f[0]),
         "{\"ts\":\"2026-12-03T09:15:02.123Z\",\"event\":\"exposure\","
         "\"id\":\"6f1c\",\"experiment\":\"hero\",\"variant\":\"winter\","
         "\"segments\":[\"mobile\"],\"country\":\"FR\","
         "\"device\":\"mobile\",\"channel\":\"email\",\"uri\":\"/\","
         "\"request_id\":\"r1\"}");
}


static void
test_invalid_utf8(void **state)
{
    persona_event_field_t  f[] = {
        F("uri", PERSONA_EVENT_STR, "/\xff\xc3"),
        F("segments", PERSONA_EVENT_LIST, "a\xe2\x80\xa8"),
    };

    line(f, 2, "{\"uri\":\"/\\ufffd\\ufffd\",\"segments\":[\"a\\u2028\"]}");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_null_data),
        cmocka_unit_test(test_exposure),
        cmocka_unit_test(test_invalid_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
