
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Time: persona_time (the clock of schedules and local time, to preview
 * them; a preview link can set it too), and the visitor's local hour and
 * weekday, $persona_hour and
 * $persona_weekday, from the geolocated time zone.
 *
 * Local time needs the rules of the visitor's time zone; all zones are
 * read from the tz database when the configuration is read, so that a
 * request costs a binary search and no file access or tzset().
 */


#include "ngx_http_persona.h"

#include <dirent.h>

#include "persona_tz.h"


#define NGX_HTTP_PERSONA_TZ_FILE_MAX  (256 * 1024)


typedef struct {
    ngx_str_t                   name;
    persona_tz_t               *tz;
} ngx_http_persona_zone_t;


/* one read buffer for every file of the tree, the size of the largest */

typedef struct {
    u_char                     *data;
    size_t                      size;
} ngx_http_persona_tz_buf_t;


static ngx_int_t ngx_http_persona_time_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_load_zones(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf, ngx_str_t *dir, ngx_str_t *prefix,
    ngx_uint_t depth, ngx_http_persona_tz_buf_t *buf);
static void *ngx_http_persona_tz_alloc(void *data, size_t size);
static int ngx_libc_cdecl ngx_http_persona_zone_cmp(const void *one,
    const void *two);


static ngx_str_t  ngx_http_persona_weekdays[] = {
    ngx_string("sun"), ngx_string("mon"), ngx_string("tue"),
    ngx_string("wed"), ngx_string("thu"), ngx_string("fri"),
    ngx_string("sat")
};


ngx_http_variable_t  ngx_http_persona_time_vars[] = {

    { ngx_string("persona_hour"), NULL,
      ngx_http_persona_time_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("persona_weekday"), NULL,
      ngx_http_persona_time_variable, 1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


char *
ngx_http_persona_time_init(ngx_conf_t *cf, ngx_http_persona_main_conf_t *pmcf)
{
    ngx_int_t                  rc;
    ngx_str_t                  dir, prefix;
    ngx_http_persona_tz_buf_t  buf;

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

    /* relative to the directory of nginx.conf, as every path of the module */

    if (ngx_conf_full_name(cf->cycle, &pmcf->zones_dir, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    dir = pmcf->zones_dir;
    ngx_str_null(&prefix);

    /*
     * The zones are read again at every reload, by the master: a buffer
     * per file or per directory in a pool would leave holes in the
     * master's heap that the new cycle's blocks pin (megabytes after a
     * few reloads); one small heap buffer, freed now, leaves none.
     */

    buf.data = NULL;
    buf.size = 0;

    rc = ngx_http_persona_load_zones(cf, pmcf, &dir, &prefix, 0, &buf);

    if (buf.data != NULL) {
        ngx_free(buf.data);
    }

    if (rc != NGX_OK) {
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


static ngx_int_t
ngx_http_persona_load_zones(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf, ngx_str_t *dir, ngx_str_t *prefix,
    ngx_uint_t depth, ngx_http_persona_tz_buf_t *buf)
{
    DIR                      *d;
    char                      err[128];
    size_t                    nlen, size;
    u_char                   *path;
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

            if (ngx_http_persona_load_zones(cf, pmcf, &sub, &name, depth + 1,
                                            buf)
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

        /* one byte more than the file: one that grew since is skipped */

        size = (size_t) ngx_file_size(&fi) + 1;

        if (size > buf->size) {
            if (buf->data != NULL) {
                ngx_free(buf->data);
            }

            buf->size = 0;
            buf->data = ngx_alloc(size, cf->log);

            if (buf->data == NULL) {
                (void) ngx_close_file(fd);
                goto failed;
            }

            buf->size = size;
        }

        n = read(fd, buf->data, size);

        (void) ngx_close_file(fd);

        if (n < 4 || (size_t) n == size
            || ngx_strncmp(buf->data, "TZif", 4) != 0)
        {
            continue;
        }

        zone = ngx_array_push(&pmcf->zones);
        if (zone == NULL) {
            goto failed;
        }

        zone->name = name;
        zone->tz = persona_tz_parse(buf->data, n, ngx_http_persona_tz_alloc,
                                    cf, err, sizeof(err));

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


time_t
ngx_http_persona_now(ngx_http_request_t *r)
{
    time_t                         t;
    ngx_str_t                      v;
    ngx_http_persona_loc_conf_t   *plcf;

    /* a preview's clock wins over the server's persona_time */

    t = ngx_http_persona_preview_time(r);

    if (t) {
        return t;
    }

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
