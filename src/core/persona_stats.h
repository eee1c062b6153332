
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Numbers for live metrics: the sample-ratio test of an experiment
 * (chi-square goodness of fit of the visitors per variant against the
 * configured weights) and the shortest text of a double that reads back
 * as the same double (for JSON events and the Prometheus text format).
 */


#ifndef PERSONA_STATS_H
#define PERSONA_STATS_H


#include <stddef.h>


/* P(X > x) for X chi-square with df degrees of freedom (df > 0) */
double persona_stats_chi2_sf(double x, double df);

/*
 * The p-value of the chi-square goodness-of-fit test of the counts
 * observed[i] against shares proportional to weights[i], with one degree
 * of freedom less than the number of variants of positive weight.
 * Variants of weight 0 are left out, unless one was observed: then the
 * split cannot be the configured one and the p-value is 0.  Returns -1
 * when there is nothing to test: no count, or fewer than two variants of
 * positive weight.
 */
double persona_stats_srm_p(const double *observed, const double *weights,
    size_t n);

/*
 * Writes the shortest decimal text (at most 17 significant digits, as
 * printf's %g spells it) that reads back as v; returns its length, or 0
 * when v is not finite or size is too small.  No terminating zero is
 * counted; buf gets one when there is room.
 */
size_t persona_stats_double(char *buf, size_t size, double v);


#endif /* PERSONA_STATS_H */
