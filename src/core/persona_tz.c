
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * TZif and POSIX TZ rules.  The file is untrusted: every count is checked
 * against the length before it is used.  Dates are computed with integer
 * civil-calendar arithmetic.
 */


#include <stdio.h>
#include <string.h>

#include "persona_tz.h"


typedef struct {
    int         type;       /* 'M', 'J' (1-365, no Feb 29), 'D' (0-365) */
    int         m, w, d;    /* month, week, weekday; or day */
    int32_t     time;       /* seconds after local midnight */
} persona_tz_date_t;


typedef struct {
    int32_t             std;        /* UTC offset, seconds east */
    int32_t             dst;
    int                 has_dst;
    persona_tz_date_t   start;
    persona_tz_date_t   end;
} persona_tz_rule_t;


struct persona_tz_s {
    size_t              n;
    int64_t            *times;
    int32_t            *offsets;    /* after each transition */
    int32_t             initial;    /* before the first */
    int                 has_rule;
    persona_tz_rule_t   rule;
};


static int64_t
persona_tz_days(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;

    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}


static void
persona_tz_civil(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t  era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}


static int64_t
persona_tz_floordiv(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}


void
persona_tz_local(int64_t t, int32_t offset, int *hour, int *wday)
{
    int64_t  l, days, secs;

    l = t + offset;
    days = persona_tz_floordiv(l, 86400);
    secs = l - days * 86400;

    *hour = (int) (secs / 3600);
    *wday = (int) (((days % 7) + 11) % 7);      /* 1970-01-01: Thursday */
}


static int
persona_tz_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


/* local seconds since the epoch, at which the rule date falls in year y */

static int64_t
persona_tz_when(const persona_tz_date_t *r, int64_t y)
{
    int      wd, mdays;
    int64_t  day;

    static const int  dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                30, 31 };

    if (r->type == 'J') {
        day = persona_tz_days(y, 1, 1) + r->d - 1;

        if (persona_tz_leap(y) && r->d >= 60) {
            day++;
        }

    } else if (r->type == 'D') {
        day = persona_tz_days(y, 1, 1) + r->d;

    } else {
        day = persona_tz_days(y, r->m, 1);
        wd = (int) (((day % 7) + 11) % 7);
        day += (r->d - wd + 7) % 7;

        mdays = dim[r->m - 1] + (r->m == 2 && persona_tz_leap(y));

        day += 7 * (r->w - 1);

        if (r->w == 5) {
            while (day >= persona_tz_days(y, r->m, 1) + mdays) {
                day -= 7;
            }
        }
    }

    return day * 86400 + r->time;
}


static int32_t
persona_tz_rule_offset(const persona_tz_rule_t *r, int64_t t)
{
    int      m, d;
    int64_t  y, start, end;

    if (!r->has_dst) {
        return r->std;
    }

    persona_tz_civil(persona_tz_floordiv(t + r->std, 86400), &y, &m, &d);

    /* transitions are in local time: start in standard, end in DST */

    start = persona_tz_when(&r->start, y) - r->std;
    end = persona_tz_when(&r->end, y) - r->dst;

    if (start < end) {
        return (t >= start && t < end) ? r->dst : r->std;
    }

    /* southern hemisphere: DST spans the new year */

    return (t >= end && t < start) ? r->std : r->dst;
}


int32_t
persona_tz_offset(const persona_tz_t *tz, int64_t t)
{
    size_t  lo, hi, mid;

    if (tz->n == 0 || t < tz->times[0]) {
        if (tz->n == 0 && tz->has_rule) {
            return persona_tz_rule_offset(&tz->rule, t);
        }

        return tz->initial;
    }

    if (t >= tz->times[tz->n - 1] && tz->has_rule) {
        return persona_tz_rule_offset(&tz->rule, t);
    }

    lo = 0;
    hi = tz->n;

    /* the last transition at or before t */

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (tz->times[mid] <= t) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return tz->offsets[lo];
}


/* POSIX TZ: std offset [dst [offset] [,start[/time],end[/time]]] */

static const unsigned char *
persona_tz_name(const unsigned char *p, const unsigned char *end)
{
    const unsigned char  *s;

    s = p;

    if (p < end && *p == '<') {
        while (p < end && *p != '>') {
            p++;
        }

        return (p < end && p - s >= 4) ? p + 1 : NULL;
    }

    while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
    {
        p++;
    }

    return (p - s >= 3) ? p : NULL;
}


static const unsigned char *
persona_tz_time(const unsigned char *p, const unsigned char *end,
    int32_t *v, int max_hours)
{
    int      i, neg, part, parts[3];

    neg = 0;

    if (p < end && (*p == '+' || *p == '-')) {
        neg = (*p == '-');
        p++;
    }

    parts[0] = parts[1] = parts[2] = 0;

    for (i = 0; i < 3; i++) {
        if (i > 0) {
            if (p == end || *p != ':') {
                break;
            }

            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        part = 0;

        while (p < end && *p >= '0' && *p <= '9' && part < 1000) {
            part = part * 10 + (*p++ - '0');
        }

        parts[i] = part;
    }

    if (parts[0] > max_hours || parts[1] > 59 || parts[2] > 59) {
        return NULL;
    }

    *v = parts[0] * 3600 + parts[1] * 60 + parts[2];

    if (neg) {
        *v = -*v;
    }

    return p;
}


static const unsigned char *
persona_tz_num(const unsigned char *p, const unsigned char *end, int *v,
    int min, int max)
{
    int  n, digits;

    n = 0;
    digits = 0;

    while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
        n = n * 10 + (*p++ - '0');
        digits++;
    }

    if (digits == 0 || n < min || n > max) {
        return NULL;
    }

    *v = n;

    return p;
}


static const unsigned char *
persona_tz_date(const unsigned char *p, const unsigned char *end,
    persona_tz_date_t *r)
{
    r->time = 7200;

    if (p < end && *p == 'M') {
        r->type = 'M';
        p = persona_tz_num(p + 1, end, &r->m, 1, 12);

        if (p == NULL || p == end || *p != '.') {
            return NULL;
        }

        p = persona_tz_num(p + 1, end, &r->w, 1, 5);

        if (p == NULL || p == end || *p != '.') {
            return NULL;
        }

        p = persona_tz_num(p + 1, end, &r->d, 0, 6);

    } else if (p < end && *p == 'J') {
        r->type = 'J';
        p = persona_tz_num(p + 1, end, &r->d, 1, 365);

    } else {
        r->type = 'D';
        p = persona_tz_num(p, end, &r->d, 0, 365);
    }

    if (p != NULL && p < end && *p == '/') {
        p = persona_tz_time(p + 1, end, &r->time, 167);
    }

    return p;
}


static int
persona_tz_posix(const unsigned char *p, size_t len, persona_tz_rule_t *r)
{
    int32_t               off;
    const unsigned char  *end;

    end = p + len;

    memset(r, 0, sizeof(persona_tz_rule_t));

    p = persona_tz_name(p, end);
    if (p == NULL) {
        return -1;
    }

    p = persona_tz_time(p, end, &off, 24);
    if (p == NULL) {
        return -1;
    }

    /* POSIX offsets are west of UTC */

    r->std = -off;

    if (p == end) {
        return 0;
    }

    p = persona_tz_name(p, end);
    if (p == NULL) {
        return -1;
    }

    r->has_dst = 1;
    r->dst = r->std + 3600;

    if (p < end && *p != ',') {
        p = persona_tz_time(p, end, &off, 24);
        if (p == NULL) {
            return -1;
        }

        r->dst = -off;
    }

    if (p == end || *p != ',') {
        /* DST without rules: the old US default */
        r->start.type = 'M'; r->start.m = 3; r->start.w = 2; r->start.d = 0;
        r->start.time = 7200;
        r->end.type = 'M'; r->end.m = 11; r->end.w = 1; r->end.d = 0;
        r->end.time = 7200;
        return p == end ? 0 : -1;
    }

    p = persona_tz_date(p + 1, end, &r->start);

    if (p == NULL || p == end || *p != ',') {
        return -1;
    }

    p = persona_tz_date(p + 1, end, &r->end);

    return (p == end) ? 0 : -1;
}


persona_tz_t *
persona_tz_parse_posix(const unsigned char *s, size_t len,
    void *(*alloc)(void *ctx, size_t size), void *actx, char *err,
    size_t errlen)
{
    persona_tz_t  *tz;

    tz = alloc(actx, sizeof(persona_tz_t));
    if (tz == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    memset(tz, 0, sizeof(persona_tz_t));

    if (persona_tz_posix(s, len, &tz->rule) != 0) {
        snprintf(err, errlen, "invalid TZ string \"%.*s\"",
                 (int) (len > 60 ? 60 : len), (const char *) s);
        return NULL;
    }

    tz->has_rule = 1;
    tz->initial = tz->rule.std;

    return tz;
}


static uint32_t
persona_tz_be32(const unsigned char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


persona_tz_t *
persona_tz_parse(const unsigned char *data, size_t len,
    void *(*alloc)(void *ctx, size_t size), void *actx, char *err,
    size_t errlen)
{
    int                   v2;
    size_t                i, tsize, need, isutc, isstd, leap, timecnt,
                          typecnt, charcnt;
    uint32_t              idx;
    persona_tz_t         *tz;
    const unsigned char  *p, *end, *times, *idxs, *types, *footer, *nl;

    end = data + len;
    p = data;

    if (len < 44 || memcmp(p, "TZif", 4) != 0) {
        snprintf(err, errlen, "not a TZif file");
        return NULL;
    }

    v2 = (p[4] >= '2');
    tsize = 4;

    for ( ;; ) {
        if ((size_t) (end - p) < 44) {
            snprintf(err, errlen, "truncated file");
            return NULL;
        }

        isutc = persona_tz_be32(p + 20);
        isstd = persona_tz_be32(p + 24);
        leap = persona_tz_be32(p + 28);
        timecnt = persona_tz_be32(p + 32);
        typecnt = persona_tz_be32(p + 36);
        charcnt = persona_tz_be32(p + 40);

        if (timecnt > 100000 || typecnt == 0 || typecnt > 256
            || charcnt > 100000 || leap > 100000
            || (isutc != 0 && isutc != typecnt)
            || (isstd != 0 && isstd != typecnt))
        {
            snprintf(err, errlen, "invalid header");
            return NULL;
        }

        need = 44 + timecnt * tsize + timecnt + typecnt * 6 + charcnt
               + leap * (tsize + 4) + isstd + isutc;

        if ((size_t) (end - p) < need) {
            snprintf(err, errlen, "truncated file");
            return NULL;
        }

        if (tsize == 8 || !v2) {
            break;
        }

        /* skip the 32-bit data to the 64-bit version */

        p += need;
        tsize = 8;

        if ((size_t) (end - p) < 44 || memcmp(p, "TZif", 4) != 0) {
            snprintf(err, errlen, "truncated file");
            return NULL;
        }
    }

    times = p + 44;
    idxs = times + timecnt * tsize;
    types = idxs + timecnt;
    footer = p + need;

    tz = alloc(actx, sizeof(persona_tz_t));
    if (tz == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    memset(tz, 0, sizeof(persona_tz_t));

    tz->n = timecnt;

    if (timecnt) {
        tz->times = alloc(actx, timecnt * sizeof(int64_t));
        tz->offsets = alloc(actx, timecnt * sizeof(int32_t));

        if (tz->times == NULL || tz->offsets == NULL) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    }

    for (i = 0; i < timecnt; i++) {
        if (tsize == 8) {
            tz->times[i] = (int64_t) (((uint64_t) persona_tz_be32(times
                                                                 + 8 * i)
                                       << 32)
                                      | persona_tz_be32(times + 8 * i + 4));
        } else {
            tz->times[i] = (int32_t) persona_tz_be32(times + 4 * i);
        }

        if (i > 0 && tz->times[i] <= tz->times[i - 1]) {
            snprintf(err, errlen, "transitions out of order");
            return NULL;
        }

        idx = idxs[i];

        if (idx >= typecnt) {
            snprintf(err, errlen, "invalid local time type");
            return NULL;
        }

        tz->offsets[i] = (int32_t) persona_tz_be32(types + 6 * idx);
    }

    /* before the first transition: the first type (RFC 8536, 3.2) */

    tz->initial = (int32_t) persona_tz_be32(types);

    for (i = 0; i < typecnt; i++) {
        int32_t  o = (int32_t) persona_tz_be32(types + 6 * i);

        if (o < -26 * 3600 || o > 26 * 3600) {
            snprintf(err, errlen, "invalid UTC offset");
            return NULL;
        }
    }

    if (v2 && footer < end && *footer == '\n') {
        footer++;
        nl = memchr(footer, '\n', end - footer);

        if (nl == NULL) {
            snprintf(err, errlen, "invalid footer");
            return NULL;
        }

        if (nl > footer) {
            if (persona_tz_posix(footer, nl - footer, &tz->rule) != 0) {
                snprintf(err, errlen, "invalid footer \"%.*s\"",
                         (int) (nl - footer > 60 ? 60 : nl - footer),
                         (const char *) footer);
                return NULL;
            }

            tz->has_rule = 1;
        }
    }

    return tz;
}


int
persona_tz_parse_utc(const unsigned char *p, size_t len, int64_t *t)
{
    int                   f[6], n, i;
    const unsigned char  *last;

    static const int   width[] = { 4, 2, 2, 2, 2, 2 };
    static const char  sep[] = "--T::";

    last = p + len;
    f[3] = f[4] = f[5] = 0;

    for (n = 0; n < 6; n++) {
        if (n > 0) {
            if (p == last || *p != (unsigned char) sep[n - 1]) {
                break;
            }

            p++;
        }

        if (last - p < width[n]) {
            return -1;
        }

        f[n] = 0;

        for (i = 0; i < width[n]; i++, p++) {
            if (*p < '0' || *p > '9') {
                return -1;
            }

            f[n] = f[n] * 10 + (*p - '0');
        }
    }

    /* a date alone, or a date and time ending with "Z" */

    if (n == 3) {
        if (p != last) {
            return -1;
        }

    } else if (n < 5 || p + 1 != last || *p != 'Z') {
        return -1;
    }

    if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31
        || f[3] > 23 || f[4] > 59 || f[5] > 60)
    {
        return -1;
    }

    *t = persona_tz_days(f[0], f[1], f[2]) * 86400
         + f[3] * 3600 + f[4] * 60 + f[5];

    return 0;
}
