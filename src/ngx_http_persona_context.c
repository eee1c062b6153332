
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Request context beyond geolocation: device class, traffic channel,
 * the visitor's local hour and weekday, and the segments the visitor is
 * in.  Each is computed on first use and kept in the request context.
 *
 * Local time needs the rules of the visitor's time zone; all zones are
 * read from the tz database when the configuration is read, so that a
 * request costs a binary search and no file access or tzset().
 */


#include "ngx_http_persona_module.h"

#include <dirent.h>

#include "persona_channel.h"
#include "persona_device.h"
#include "persona_tz.h"


#define NGX_HTTP_PERSONA_TZ_FILE_MAX  (256 * 1024)


typedef struct {
    ngx_str_t                   name;
    persona_tz_t               *tz;
} ngx_http_persona_zone_t;


static ngx_int_t ngx_http_persona_device_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_channel_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_time_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_segments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_load_zones(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf, ngx_str_t *dir, ngx_str_t *prefix,
    ngx_uint_t depth);
static void *ngx_http_persona_tz_alloc(void *data, size_t size);
static int ngx_libc_cdecl ngx_http_persona_zone_cmp(const void *one,
    const void *two);


static ngx_str_t  ngx_http_persona_ch_mobile =
    ngx_string("http_sec_ch_ua_mobile");

static ngx_str_t  ngx_http_persona_weekdays[] = {
    ngx_string("sun"), ngx_string("mon"), ngx_string("tue"),
    ngx_string("wed"), ngx_string("thu"), ngx_string("fri"),
    ngx_string("sat")
};


static ngx_http_variable_t  ngx_http_persona_context_vars[] = {

    { ngx_string("persona_device"), NULL,
      ngx_http_persona_device_variable, 0, 0, 0 },

    { ngx_string("persona_channel"), NULL,
      ngx_http_persona_channel_variable, 0, 0, 0 },

    { ngx_string("persona_hour"), NULL,
      ngx_http_persona_time_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("persona_weekday"), NULL,
      ngx_http_persona_time_variable, 1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("persona_segments"), NULL,
      ngx_http_persona_segments_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_persona_add_context_variables(ngx_conf_t *cf)
{
    if (ngx_http_persona_register_variables(cf, ngx_http_persona_context_vars)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_persona_geo_add_variables(cf);
}


char *
ngx_http_persona_context_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    ngx_str_t  dir, prefix;

    pmcf->ch_mobile_index = ngx_http_get_variable_index(cf,
                                                &ngx_http_persona_ch_mobile);
    if (pmcf->ch_mobile_index == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if (pmcf->zones_dir.len == 0) {
        ngx_str_set(&pmcf->zones_dir, "/usr/share/zoneinfo");

        if (pmcf->geo.nelts == 0) {
            /* without geolocation only the server's zone is known */
            return NGX_CONF_OK;
        }
    }

    if (pmcf->zones_dir.len == 3
        && ngx_strncmp(pmcf->zones_dir.data, "off", 3) == 0)
    {
        return NGX_CONF_OK;
    }

    if (ngx_array_init(&pmcf->zones, cf->pool, 512,
                       sizeof(ngx_http_persona_zone_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    dir = pmcf->zones_dir;
    ngx_str_null(&prefix);

    if (ngx_http_persona_load_zones(cf, pmcf, &dir, &prefix, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (pmcf->zones.nelts == 0) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "persona: no time zones found in \"%V\", "
                      "$persona_hour uses the server's time zone",
                      &pmcf->zones_dir);
    }

    ngx_qsort(pmcf->zones.elts, pmcf->zones.nelts,
              sizeof(ngx_http_persona_zone_t), ngx_http_persona_zone_cmp);

    return NGX_CONF_OK;
}


/* TZif files under dir, named by their path ("Europe/Paris") */

static ngx_int_t
ngx_http_persona_load_zones(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf, ngx_str_t *dir, ngx_str_t *prefix,
    ngx_uint_t depth)
{
    DIR                      *d;
    char                      err[128];
    size_t                    nlen;
    u_char                   *path, *buf;
    ssize_t                   n;
    ngx_fd_t                  fd;
    ngx_str_t                 sub, name;
    struct dirent            *de;
    ngx_file_info_t           fi;
    ngx_http_persona_zone_t  *zone;

    if (depth > 3) {
        return NGX_OK;
    }

    d = opendir((char *) dir->data);
    if (d == NULL) {
        if (depth == 0) {
            ngx_log_error(NGX_LOG_WARN, cf->log, ngx_errno,
                          "persona: opendir() \"%V\" failed, $persona_hour "
                          "uses the server's time zone", dir);
        }

        return NGX_OK;
    }

    buf = NULL;

    while ((de = readdir(d)) != NULL) {

        nlen = ngx_strlen(de->d_name);

        /* "posix" and "right" duplicate the zones; "." files are noise */

        if (de->d_name[0] == '.' || de->d_name[0] < 'A' || de->d_name[0] > 'Z'
            || (depth == 0 && (ngx_strcmp(de->d_name, "posix") == 0
                               || ngx_strcmp(de->d_name, "right") == 0)))
        {
            continue;
        }

        path = ngx_pnalloc(cf->temp_pool, dir->len + 1 + nlen + 1);
        name.data = ngx_pnalloc(cf->pool, prefix->len + 1 + nlen);

        if (path == NULL || name.data == NULL) {
            goto failed;
        }

        ngx_sprintf(path, "%V/%s%Z", dir, de->d_name);

        name.len = ngx_sprintf(name.data, "%V%s%s", prefix,
                               prefix->len ? "/" : "", de->d_name)
                   - name.data;

        if (ngx_file_info(path, &fi) == NGX_FILE_ERROR) {
            continue;
        }

        if (ngx_is_dir(&fi)) {
            sub.data = path;
            sub.len = ngx_strlen(path);

            if (ngx_http_persona_load_zones(cf, pmcf, &sub, &name, depth + 1)
                != NGX_OK)
            {
                goto failed;
            }

            continue;
        }

        if (!ngx_is_file(&fi) || ngx_file_size(&fi) < 44
            || ngx_file_size(&fi) > NGX_HTTP_PERSONA_TZ_FILE_MAX)
        {
            continue;
        }

        fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            continue;
        }

        if (buf == NULL) {
            buf = ngx_pnalloc(cf->temp_pool, NGX_HTTP_PERSONA_TZ_FILE_MAX);
            if (buf == NULL) {
                (void) ngx_close_file(fd);
                goto failed;
            }
        }

        n = read(fd, buf, NGX_HTTP_PERSONA_TZ_FILE_MAX);

        (void) ngx_close_file(fd);

        if (n < 4 || ngx_strncmp(buf, "TZif", 4) != 0) {
            continue;
        }

        zone = ngx_array_push(&pmcf->zones);
        if (zone == NULL) {
            goto failed;
        }

        zone->name = name;
        zone->tz = persona_tz_parse(buf, n, ngx_http_persona_tz_alloc, cf,
                                    err, sizeof(err));

        if (zone->tz == NULL) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "persona: time zone \"%s\" skipped: %s",
                          path, err);
            pmcf->zones.nelts--;
        }
    }

    closedir(d);

    return NGX_OK;

failed:

    closedir(d);

    return NGX_ERROR;
}


static void *
ngx_http_persona_tz_alloc(void *data, size_t size)
{
    ngx_conf_t *cf = data;

    return ngx_palloc(cf->pool, size);
}


static int ngx_libc_cdecl
ngx_http_persona_zone_cmp(const void *one, const void *two)
{
    const ngx_http_persona_zone_t *a = one, *b = two;

    ngx_int_t  rc;

    rc = ngx_memn2cmp(a->name.data, b->name.data, a->name.len, b->name.len);

    return rc < 0 ? -1 : (rc > 0);
}


static ngx_int_t
ngx_http_persona_device_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    int                            ch;
    const char                    *name;
    ngx_table_elt_t               *ua;
    persona_device_e               dev;
    ngx_http_variable_value_t     *vv;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    ch = -1;

    vv = ngx_http_get_indexed_variable(r, pmcf->ch_mobile_index);

    if (vv != NULL && !vv->not_found && vv->len == 2 && vv->data[0] == '?') {
        ch = (vv->data[1] == '1') ? 1 : 0;
    }

    ua = r->headers_in.user_agent;

    dev = persona_device_classify(ua ? ua->value.data : NULL,
                                  ua ? ua->value.len : 0, ch);

    name = persona_device_name(dev);

    v->data = (u_char *) name;
    v->len = ngx_strlen(name);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_channel_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                    *name;
    ngx_str_t                      medium, source, arg;
    persona_channel_e              ch;
    persona_channel_input_t        in;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    ngx_memzero(&in, sizeof(persona_channel_input_t));

    if (ngx_http_arg(r, (u_char *) "utm_medium", 10, &medium) == NGX_OK) {
        in.medium = medium.data;
        in.medium_len = medium.len;
    }

    if (ngx_http_arg(r, (u_char *) "utm_source", 10, &source) == NGX_OK) {
        in.source = source.data;
        in.source_len = source.len;
    }

    if (ngx_http_arg(r, (u_char *) "gclid", 5, &arg) == NGX_OK
        || ngx_http_arg(r, (u_char *) "msclkid", 7, &arg) == NGX_OK)
    {
        in.click_id = 1;
        in.paid_click = 1;

    } else if (ngx_http_arg(r, (u_char *) "fbclid", 6, &arg) == NGX_OK) {
        in.click_id = 1;
    }

    if (r->headers_in.referer != NULL) {
        in.referer = r->headers_in.referer->value.data;
        in.referer_len = r->headers_in.referer->value.len;
    }

    in.host = r->headers_in.server.data;
    in.host_len = r->headers_in.server.len;

    ch = persona_channel_classify(&in, pmcf->channel_rules.elts,
                                  pmcf->channel_rules.nelts);

    name = persona_channel_name(ch);

    v->data = (u_char *) name;
    v->len = ngx_strlen(name);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* persona_channel_rule medium|source|referrer VALUE CHANNEL */

char *
ngx_http_persona_channel_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    int                      ch;
    ngx_str_t               *value;
    persona_channel_rule_t  *rule;

    value = cf->args->elts;

    rule = ngx_array_push(&pmcf->channel_rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[1].data, "medium") == 0) {
        rule->match = PERSONA_CHANNEL_MATCH_MEDIUM;

    } else if (ngx_strcmp(value[1].data, "source") == 0) {
        rule->match = PERSONA_CHANNEL_MATCH_SOURCE;

    } else if (ngx_strcmp(value[1].data, "referrer") == 0) {
        rule->match = PERSONA_CHANNEL_MATCH_REFERRER;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid match \"%V\", must be \"medium\", "
                           "\"source\" or \"referrer\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    ch = persona_channel_parse(value[3].data, value[3].len);

    if (ch < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown channel \"%V\", must be email, social, "
                           "search, paid, referral or direct", &value[3]);
        return NGX_CONF_ERROR;
    }

    if (value[2].len == 0) {
        return "has an empty value";
    }

    rule->value = value[2].data;
    rule->len = value[2].len;
    rule->channel = ch;

    return NGX_CONF_OK;
}


/*
 * The time personalization works with: now, or the value of the
 * persona_time variable (seconds since the epoch) to preview a schedule.
 */

time_t
ngx_http_persona_now(ngx_http_request_t *r)
{
    time_t                         t;
    ngx_str_t                      v;
    ngx_http_persona_loc_conf_t   *plcf;

    plcf = ngx_http_get_module_loc_conf(r->main, ngx_http_persona_module);

    if (plcf->time != NULL
        && ngx_http_complex_value(r, plcf->time, &v) == NGX_OK
        && v.len)
    {
        t = ngx_atotm(v.data, v.len);

        if (t != NGX_ERROR) {
            return t;
        }
    }

    return ngx_time();
}


static ngx_int_t
ngx_http_persona_time_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    int                            hour, wday;
    u_char                        *p;
    time_t                         now;
    int32_t                        off;
    ngx_str_t                      tz;
    ngx_uint_t                     lo, hi, mid;
    ngx_int_t                      rc;
    ngx_http_persona_zone_t       *zone;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    now = ngx_http_persona_now(r);

    /* the server's zone unless the visitor's is known */

    off = ngx_cached_time->gmtoff * 60;

    if (pmcf->zones.nelts) {
        if (ngx_http_persona_geo_timezone(r, &tz) != NGX_OK) {
            return NGX_ERROR;
        }

        zone = pmcf->zones.elts;
        lo = 0;
        hi = pmcf->zones.nelts;

        while (tz.len && lo < hi) {
            mid = lo + (hi - lo) / 2;
            rc = ngx_memn2cmp(zone[mid].name.data, tz.data,
                              zone[mid].name.len, tz.len);

            if (rc == 0) {
                off = persona_tz_offset(zone[mid].tz, now);
                break;
            }

            if (rc < 0) {
                lo = mid + 1;

            } else {
                hi = mid;
            }
        }
    }

    persona_tz_local(now, off, &hour, &wday);

    if (data == 1) {
        v->data = ngx_http_persona_weekdays[wday].data;
        v->len = ngx_http_persona_weekdays[wday].len;

    } else {
        p = ngx_pnalloc(r->pool, 2);
        if (p == NULL) {
            return NGX_ERROR;
        }

        p[0] = (u_char) ('0' + hour / 10);
        p[1] = (u_char) ('0' + hour % 10);

        v->data = p;
        v->len = 2;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* the segments the visitor is in: defined ones, then the CRM's others */

static ngx_int_t
ngx_http_persona_segments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                        *p;
    size_t                         len;
    ngx_int_t                      rc;
    ngx_str_t                      crm;
    ngx_uint_t                     i;
    ngx_http_persona_ctx_t        *ctx;
    ngx_http_persona_segment_t    *seg;
    ngx_http_persona_main_conf_t  *pmcf;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    seg = pmcf->segments.elts;

    ngx_str_null(&crm);

    if (pmcf->crm
        && ngx_http_persona_crm_segments(r, ctx, &crm) != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = crm.len + 1;

    for (i = 0; i < pmcf->segments.nelts; i++) {
        rc = ngx_http_persona_segment_eval(r, ctx, i);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc) {
            len += seg[i].name.len + 1;
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < pmcf->segments.nelts; i++) {
        if (ngx_http_persona_segment_eval(r, ctx, i) == 1) {
            if (p != v->data) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, seg[i].name.data, seg[i].name.len);
        }
    }

    /* CRM segments not already listed */

    p = ngx_http_persona_append_new(v->data, p, &crm);

    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* appends the items of a comma list that [start, p) does not hold yet */

u_char *
ngx_http_persona_append_new(u_char *start, u_char *p, ngx_str_t *list)
{
    u_char  *s, *last, *comma, *q, *qc;
    size_t   n;

    s = list->data;
    last = s + list->len;

    while (s < last) {
        comma = ngx_strlchr(s, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        n = comma - s;

        for (q = start; n && q < p; q = qc + 1) {
            qc = ngx_strlchr(q, p, ',');
            if (qc == NULL) {
                qc = p;
            }

            if ((size_t) (qc - q) == n && ngx_strncmp(q, s, n) == 0) {
                n = 0;
            }
        }

        if (n) {
            if (p != start) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, s, n);
        }

        s = comma + 1;
    }

    return p;
}
