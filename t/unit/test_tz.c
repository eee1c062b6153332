/*
 * Time zones: offsets on both sides of daylight-saving changes, both
 * hemispheres, half-hour zones, the footer rule far in the future,
 * agreement with the C library over 1970-2040, broken files.
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "unit.h"

#include "persona_tz.h"


static void  *allocs[4096];
static int    nallocs;


static void *
t_alloc(void *ctx, size_t size)
{
    return allocs[nallocs++] = malloc(size);
}


static size_t
load(const char *zone, unsigned char *buf, size_t size)
{
    char    path[256];
    FILE   *f;
    size_t  n;

    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(buf, 1, size, f);
    fclose(f);

    return n;
}


static persona_tz_t *
zone(const char *name)
{
    char            err[128];
    size_t          n;
    persona_tz_t   *tz;
    unsigned char   buf[65536];

    n = load(name, buf, sizeof(buf));
    tz = persona_tz_parse(buf, n, t_alloc, NULL, err, sizeof(err));

    if (tz == NULL) {
        fail_msg("%s: %s", name, err);
    }

    return tz;
}


static void
test_dst(void **state)
{
    persona_tz_t  *tz;
    int            hour, wday;

    /* Paris: 2026-03-29 01:00Z to CEST, 2026-10-25 01:00Z back to CET */
    tz = zone("Europe/Paris");
    assert_int_equal(persona_tz_offset(tz, 1774745999), 3600);
    assert_int_equal(persona_tz_offset(tz, 1774746000), 7200);
    assert_int_equal(persona_tz_offset(tz, 1792889999), 7200);
    assert_int_equal(persona_tz_offset(tz, 1792890000), 3600);

    persona_tz_local(1774745999, 3600, &hour, &wday);
    assert_int_equal(hour, 1);
    assert_int_equal(wday, 0);                  /* Sunday */
    persona_tz_local(1774746000, 7200, &hour, &wday);
    assert_int_equal(hour, 3);

    /* New York: 2026-03-08 07:00Z, 2026-11-01 06:00Z */
    tz = zone("America/New_York");
    assert_int_equal(persona_tz_offset(tz, 1772953199), -18000);
    assert_int_equal(persona_tz_offset(tz, 1772953200), -14400);
    assert_int_equal(persona_tz_offset(tz, 1793512799), -14400);
    assert_int_equal(persona_tz_offset(tz, 1793512800), -18000);

    /* Sydney: DST over the new year */
    tz = zone("Australia/Sydney");
    assert_int_equal(persona_tz_offset(tz, 1767225600), 39600);  /* Jan */
    assert_int_equal(persona_tz_offset(tz, 1782864000), 36000);  /* Jul */

    tz = zone("Asia/Kolkata");
    assert_int_equal(persona_tz_offset(tz, 1767225600), 19800);

    /* 2100: after the table, from the footer */
    tz = zone("Europe/Paris");
    assert_int_equal(persona_tz_offset(tz, 4102444800LL), 3600);  /* Jan */
    assert_int_equal(persona_tz_offset(tz, 4118054400LL), 7200);  /* Jun */
}


static void
test_against_libc(void **state)
{
    const char    *zones[] = { "Europe/Paris", "America/New_York",
                               "Australia/Sydney", "Asia/Kolkata",
                               "Australia/Lord_Howe", "America/Sao_Paulo",
                               "Pacific/Chatham", "Europe/London", "UTC",
                               "America/Santiago", NULL };
    int            i, bad;
    time_t         t;
    struct tm      tm;
    persona_tz_t  *tz;

    bad = 0;

    for (i = 0; zones[i]; i++) {
        tz = zone(zones[i]);
        setenv("TZ", zones[i], 1);
        tzset();

        for (t = 0; t < 2208988800LL; t += 6 * 3600 + 7) {
            localtime_r(&t, &tm);

            if (tm.tm_gmtoff != persona_tz_offset(tz, t)) {
                bad++;
            }
        }
    }

    assert_int_equal(bad, 0);
}


static void
test_posix(void **state)
{
    char           err[128];
    persona_tz_t  *tz;
    const char    *s = "EST5EDT,M3.2.0,M11.1.0";

    tz = persona_tz_parse_posix((const unsigned char *) s, strlen(s),
                                t_alloc, NULL, err, sizeof(err));
    assert_non_null(tz);
    assert_int_equal(persona_tz_offset(tz, 1772953199), -18000);
    assert_int_equal(persona_tz_offset(tz, 1772953200), -14400);

    s = "<+0530>-5:30";
    tz = persona_tz_parse_posix((const unsigned char *) s, strlen(s),
                                t_alloc, NULL, err, sizeof(err));
    assert_non_null(tz);
    assert_int_equal(persona_tz_offset(tz, 0), 19800);

    s = "XX";
    assert_null(persona_tz_parse_posix((const unsigned char *) s, strlen(s),
                                       t_alloc, NULL, err, sizeof(err)));
}


static void
test_broken(void **state)
{
    char            err[128];
    size_t          n, k;
    unsigned char   buf[65536];

    n = load("Europe/Paris", buf, sizeof(buf));

    for (k = 0; k < n; k += 7) {
        /* truncated at every 7th byte: refused or sane, never a crash */
        if (persona_tz_parse(buf, k, t_alloc, NULL, err, sizeof(err))
            == NULL)
        {
            continue;
        }
    }

    assert_null(persona_tz_parse(buf, 40, t_alloc, NULL, err, sizeof(err)));
    assert_string_equal(err, "not a TZif file");

    assert_null(persona_tz_parse((const unsigned char *) "hello", 5, t_alloc,
                                 NULL, err, sizeof(err)));
    assert_string_equal(err, "not a TZif file");

    assert_null(persona_tz_parse(buf, 60, t_alloc, NULL, err, sizeof(err)));
    assert_string_equal(err, "truncated file");
}


static int
teardown(void **state)
{
    while (nallocs) {
        free(allocs[--nallocs]);
    }

    return 0;
}



/* schedule instants: the dates configuration writes, against timegm() */

static void
utc(const char *s, int ok, int64_t want)
{
    int64_t  t;

    t = -1;
    assert_int_equal(persona_tz_parse_utc((const unsigned char *) s,
                                          strlen(s), &t), ok ? 0 : -1);
    if (ok) {
        assert_true(t == want);
    }
}


static void
test_parse_utc(void **state)
{
    struct tm  tm;

    utc("1970-01-01", 1, 0);
    utc("2026-12-01", 1, 1796083200);
    utc("2026-12-01T09:30Z", 1, 1796083200 + 9 * 3600 + 30 * 60);
    utc("2026-12-01T09:30:15Z", 1, 1796083200 + 9 * 3600 + 30 * 60 + 15);
    utc("2024-02-29T23:59:59Z", 1, 1709251199);
    utc("2000-03-01", 1, 951868800);

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 9999 - 1900;
    tm.tm_mon = 11;
    tm.tm_mday = 31;
    utc("9999-12-31", 1, (int64_t) timegm(&tm));

    utc("", 0, 0);
    utc("1969-12-31", 0, 0);
    utc("2026-13-01", 0, 0);
    utc("2026-00-01", 0, 0);
    utc("2026-12-32", 0, 0);
    utc("2026-12-01T24:00Z", 0, 0);
    utc("2026-12-01T09:60Z", 0, 0);
    utc("2026-12-01T09:30", 0, 0);
    utc("2026-12-01T09Z", 0, 0);
    utc("2026-12-01Z", 0, 0);
    utc("2026-12-01T09:30:15", 0, 0);
    utc("2026-12-01T09:30:15Zx", 0, 0);
    utc("2026-1-01", 0, 0);
    utc("20261201", 0, 0);
    utc("2026-12-01 09:30Z", 0, 0);
    utc("+026-12-01", 0, 0);
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_teardown(test_dst, teardown),
        cmocka_unit_test_teardown(test_against_libc, teardown),
        cmocka_unit_test_teardown(test_posix, teardown),
        cmocka_unit_test_teardown(test_broken, teardown),
        cmocka_unit_test(test_parse_utc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
