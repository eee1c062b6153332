
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The chi-square survival function is the regularized upper incomplete
 * gamma function Q(df / 2, x / 2), computed as the usual pair: the
 * series of P below a + 1, the continued fraction of Q (modified Lentz)
 * above, both to double precision (Numerical Recipes, 6.2).
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "persona_stats.h"


#define PERSONA_STATS_EPS    1e-16
#define PERSONA_STATS_TINY   1e-300
#define PERSONA_STATS_ITER   1000


static double persona_stats_gamma_p_series(double a, double x);
static double persona_stats_gamma_q_fraction(double a, double x);


double
persona_stats_chi2_sf(double x, double df)
{
    double  a;

    if (!(df > 0)) {
        return NAN;
    }

    if (!(x > 0)) {
        return 1.0;
    }

    if (isinf(x)) {
        return 0.0;
    }

    a = df / 2;
    x = x / 2;

    if (x < a + 1) {
        return 1.0 - persona_stats_gamma_p_series(a, x);
    }

    return persona_stats_gamma_q_fraction(a, x);
}


static double
persona_stats_gamma_p_series(double a, double x)
{
    int     n;
    double  ap, sum, del;

    ap = a;
    sum = 1.0 / a;
    del = sum;

    for (n = 0; n < PERSONA_STATS_ITER; n++) {
        ap += 1;
        del *= x / ap;
        sum += del;

        if (fabs(del) < fabs(sum) * PERSONA_STATS_EPS) {
            break;
        }
    }

    return sum * exp(-x + a * log(x) - lgamma(a));
}


static double
persona_stats_gamma_q_fraction(double a, double x)
{
    int     i;
    double  b, c, d, h, an, del;

    b = x + 1 - a;
    c = 1 / PERSONA_STATS_TINY;
    d = 1 / b;
    h = d;

    for (i = 1; i < PERSONA_STATS_ITER; i++) {
        an = -i * (i - a);
        b += 2;

        d = an * d + b;
        if (fabs(d) < PERSONA_STATS_TINY) {
            d = PERSONA_STATS_TINY;
        }

        c = b + an / c;
        if (fabs(c) < PERSONA_STATS_TINY) {
            c = PERSONA_STATS_TINY;
        }

        d = 1 / d;
        del = d * c;
        h *= del;

        if (fabs(del - 1) < PERSONA_STATS_EPS) {
            break;
        }
    }

    return exp(-x + a * log(x) - lgamma(a)) * h;
}


double
persona_stats_srm_p(const double *observed, const double *weights, size_t n)
{
    size_t  i, k;
    double  total, wsum, e, chi2;

    total = 0;
    wsum = 0;
    k = 0;

    for (i = 0; i < n; i++) {
        total += observed[i];

        if (weights[i] > 0) {
            wsum += weights[i];
            k++;
        }
    }

    if (total <= 0 || k < 2) {
        return -1;
    }

    chi2 = 0;

    for (i = 0; i < n; i++) {
        if (weights[i] > 0) {
            e = total * weights[i] / wsum;
            chi2 += (observed[i] - e) * (observed[i] - e) / e;

        } else if (observed[i] > 0) {
            return 0;
        }
    }

    return persona_stats_chi2_sf(chi2, (double) (k - 1));
}


size_t
persona_stats_double(char *buf, size_t size, double v)
{
    int   prec, n;
    char  tmp[32];

    if (!isfinite(v)) {
        return 0;
    }

    if (v == 0) {
        v = 0;                              /* no "-0" */
    }

    for (prec = 1; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);

        if (n > 0 && (size_t) n < sizeof(tmp) && strtod(tmp, NULL) == v) {
            break;
        }
    }

    if (n <= 0 || (size_t) n >= size) {
        return 0;
    }

    for (prec = 0; prec <= n; prec++) {
        buf[prec] = tmp[prec];
    }

    return (size_t) n;
}
