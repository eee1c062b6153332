/*
 * Live-metric statistics: the chi-square survival function and the
 * sample-ratio p-value agree with scipy (stats.chi2.sf, stats.chisquare,
 * values computed with scipy 1.10), and doubles are written in their
 * shortest text that reads back exactly.
 */

#include "unit.h"

#include <math.h>
#include <stdlib.h>

#include "persona_stats.h"


static void
close_to(double got, double want)
{
    if (want == 0) {
        assert_true(got == 0);
        return;
    }

    if (fabs(got - want) > fabs(want) * 1e-9) {
        fail_msg("got %.17g, want %.17g", got, want);
    }
}


static void
test_chi2_sf(void **state)
{
    static const struct { double x, df, p; } v[] = {
        { 0.5,   1,  0.47950012218695337 },
        { 3.84,  1,  0.05004352124870519 },
        { 10,    1,  0.001565402258002549 },
        { 50,    1,  1.537459794428033e-12 },
        { 1,     3,  0.8012519569012009 },
        { 7.81,  3,  0.05010605635000589 },
        { 100,   3,  1.5541594313896026e-21 },
        { 0.001, 2,  0.9995001249791693 },
        { 20,    10, 0.029252688076961124 },
        { 300,   5,  1.0015302305957817e-62 },
        { 2,     7,  0.9598403687301016 },
    };

    size_t  i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        close_to(persona_stats_chi2_sf(v[i].x, v[i].df), v[i].p);
    }

    assert_true(persona_stats_chi2_sf(0, 1) == 1);
    assert_true(persona_stats_chi2_sf(-1, 1) == 1);
    assert_true(persona_stats_chi2_sf(INFINITY, 1) == 0);
    assert_true(isnan(persona_stats_chi2_sf(1, 0)));
}


static void
test_srm(void **state)
{
    double  o2[] = { 510, 490 }, w2[] = { 0.5, 0.5 };
    double  o2b[] = { 600, 400 };
    double  o3[] = { 30, 30, 40 }, w3[] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };
    double  o4[] = { 252, 260, 488 }, w4[] = { 0.25, 0.25, 0.5 };
    double  oz[] = { 10, 12, 0 }, wz[] = { 0.5, 0.5, 0 };
    double  oz1[] = { 10, 12, 1 };
    double  none[] = { 0, 0 };
    double  one[] = { 5, 0 }, w1[] = { 1, 0 };

    close_to(persona_stats_srm_p(o2, w2, 2), 0.5270892568655381);
    close_to(persona_stats_srm_p(o2b, w2, 2), 2.5396285894708634e-10);
    close_to(persona_stats_srm_p(o3, w3, 3), 0.36787944117144245);
    close_to(persona_stats_srm_p(o4, w4, 3), 0.7032801219763409);

    /* weights in basis points give the same as shares */
    w4[0] = 2500; w4[1] = 2500; w4[2] = 5000;
    close_to(persona_stats_srm_p(o4, w4, 3), 0.7032801219763409);

    /* a variant of weight 0 is left out, unless it was seen */
    close_to(persona_stats_srm_p(oz, wz, 3),
             persona_stats_srm_p(oz, wz, 2));
    assert_true(persona_stats_srm_p(oz1, wz, 3) == 0);

    assert_true(persona_stats_srm_p(none, w2, 2) == -1);
    assert_true(persona_stats_srm_p(one, w1, 2) == -1);
}


static void
expect(double v, const char *want)
{
    char    buf[32];
    size_t  n;

    n = persona_stats_double(buf, sizeof(buf), v);

    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
    assert_true(strtod(buf, NULL) == v);
}


static void
test_double(void **state)
{
    char  small[4];

    expect(0.5, "0.5");
    expect(1, "1");
    expect(0, "0");
    expect(-0.0, "0");
    expect(0.125, "0.125");
    expect(0.3333, "0.3333");
    expect(1.0 / 3, "0.3333333333333333");
    expect(0.1 + 0.2, "0.30000000000000004");
    expect(29.9, "29.9");
    expect(-3, "-3");
    expect(1e-05, "1e-05");
    expect(1.5541594313896026e-21, "1.5541594313896026e-21");
    expect(123456789012, "123456789012");

    assert_int_equal(persona_stats_double(small, sizeof(small), 0.125), 0);
    assert_int_equal(persona_stats_double(small, sizeof(small), 0.5), 3);
    assert_int_equal(persona_stats_double(small, sizeof(small), NAN), 0);
    assert_int_equal(persona_stats_double(small, sizeof(small), INFINITY),
                     0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_chi2_sf),
        cmocka_unit_test(test_srm),
        cmocka_unit_test(test_double),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
