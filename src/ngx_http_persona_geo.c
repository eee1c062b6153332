
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Geolocation with libmaxminddb.
 *
 * A database file is untrusted until checked: it is copied into an
 * anonymous memory file and opened from there, so that a file overwritten
 * in place (cp, truncate) can never pull pages from under a worker
 * (SIGBUS), and every node of its search tree and every data record the
 * tree points to is checked once, when it is loaded.
 *
 * Each loaded file is a generation with a reference count: a request
 * holds the generation it looked up in until it ends, so a reload never
 * frees data a request still reads, and a request that starts after the
 * switch only ever sees the new file.  Nothing is cached across requests.
 */


#include "ngx_http_persona.h"

#include <maxminddb.h>
#include <sys/mman.h>

#include "persona_mmdb.h"


#define NGX_HTTP_PERSONA_GEO_MAX  ((off_t) 2 * 1024 * 1024 * 1024)


typedef struct {
    MMDB_s                      mmdb;
    ngx_uint_t                  refs;
} ngx_http_persona_geo_gen_t;


struct ngx_http_persona_geo_s {
    ngx_str_t                   name;       /* "" for the main database */
    ngx_str_t                   path;
    ngx_uint_t                  index;
    ngx_http_persona_watch_t   *watch;      /* its current generation */
};


struct ngx_http_persona_geo_result_s {
    ngx_http_persona_geo_gen_t *gen;
    MMDB_entry_s                entry;
    unsigned                    done:1;
    unsigned                    found:1;
};


typedef struct {
    ngx_uint_t                  db;
    const char                 *path[8];
} ngx_http_persona_geo_field_t;


static void *ngx_http_persona_geo_open(void *conf, ngx_str_t *path,
    ngx_log_t *log, ngx_uint_t level);
static ngx_int_t ngx_http_persona_geo_verify(MMDB_s *mmdb, ngx_log_t *log,
    ngx_uint_t level, ngx_str_t *path);
static void ngx_http_persona_geo_release(void *data);
static ngx_int_t ngx_http_persona_geo_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_persona_geo_field_t  ngx_http_persona_geo_fields[] = {
    { 0, { "country", "iso_code", NULL } },
    { 0, { "subdivisions", "0", "iso_code", NULL } },
    { 0, { "city", "names", "en", NULL } },
    { 0, { "continent", "code", NULL } },
    { 0, { "location", "time_zone", NULL } },
    { 0, { "location", "latitude", NULL } },
    { 0, { "location", "longitude", NULL } },
};


ngx_http_variable_t  ngx_http_persona_geo_vars[] = {

    { ngx_string("persona_country"), NULL, ngx_http_persona_geo_variable,
      (uintptr_t) &ngx_http_persona_geo_fields[0], 0, 0 },

    { ngx_string("persona_region"), NULL, ngx_http_persona_geo_variable,
      (uintptr_t) &ngx_http_persona_geo_fields[1], 0, 0 },

    { ngx_string("persona_city"), NULL, ngx_http_persona_geo_variable,
      (uintptr_t) &ngx_http_persona_geo_fields[2], 0, 0 },

    { ngx_string("persona_continent"), NULL, ngx_http_persona_geo_variable,
      (uintptr_t) &ngx_http_persona_geo_fields[3], 0, 0 },

    { ngx_string("persona_timezone"), NULL, ngx_http_persona_geo_variable,
      (uintptr_t) &ngx_http_persona_geo_fields[4], 0, 0 },

    { ngx_string("persona_latitude"), NULL, ngx_http_persona_geo_variable,
      (uintptr_t) &ngx_http_persona_geo_fields[5], 0, 0 },

    { ngx_string("persona_longitude"), NULL, ngx_http_persona_geo_variable,
      (uintptr_t) &ngx_http_persona_geo_fields[6], 0, 0 },

      ngx_http_null_variable
};


/* persona_geoip2 PATH [reload=INTERVAL] [name=NAME] */

char *
ngx_http_persona_geoip2(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    ngx_str_t                   *value;
    ngx_msec_t                   interval;
    ngx_uint_t                   i;
    ngx_pool_cleanup_t          *cln;
    ngx_http_persona_geo_t      *geo, **pgeo;
    ngx_http_persona_geo_gen_t  *gen;

    value = cf->args->elts;

    geo = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_geo_t));
    if (geo == NULL) {
        return NGX_CONF_ERROR;
    }

    geo->path = value[1];
    interval = 60000;

    if (ngx_conf_full_name(cf->cycle, &geo->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "reload=", 7) == 0) {
            if (ngx_http_persona_watch_interval(cf, &value[i], &interval)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "name=", 5) == 0) {
            geo->name.len = value[i].len - 5;
            geo->name.data = value[i].data + 5;

            if (geo->name.len == 0) {
                goto invalid;
            }

            continue;
        }

    invalid:

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    pgeo = pmcf->geo.elts;

    for (i = 0; i < pmcf->geo.nelts; i++) {
        if (pgeo[i]->name.len == geo->name.len
            && ngx_strncmp(pgeo[i]->name.data, geo->name.data,
                           geo->name.len) == 0)
        {
            if (geo->name.len == 0) {
                return "is duplicate, give other databases a name=";
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate database name \"%V\"",
                               &geo->name);
            return NGX_CONF_ERROR;
        }
    }

    gen = ngx_http_persona_geo_open(geo, &geo->path, cf->log,
                                    NGX_LOG_EMERG);
    if (gen == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot use geoip2 database \"%V\"", &geo->path);
        return NGX_CONF_ERROR;
    }

    /* the master's copy is shared by the workers it forks, and goes
     * with the configuration */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_http_persona_geo_release(gen);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_persona_geo_release;
    cln->data = gen;

    if (ngx_http_persona_watch_add(cf, "geoip2 database", &geo->path,
                                   interval, ngx_http_persona_geo_open,
                                   ngx_http_persona_geo_release, geo, gen,
                                   &geo->watch)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    pgeo = ngx_array_push(&pmcf->geo);
    if (pgeo == NULL) {
        return NGX_CONF_ERROR;
    }

    *pgeo = geo;
    geo->index = pmcf->geo.nelts - 1;

    return NGX_CONF_OK;
}


/* persona_geoip2_variable NAME [DB:]path.to.field */

char *
ngx_http_persona_geoip2_variable(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    u_char                        *p, *last, *dot, *colon;
    ngx_str_t                     *value, name, db;
    ngx_uint_t                     i, n;
    ngx_http_variable_t           *var;
    ngx_http_persona_geo_t       **geo;
    ngx_http_persona_geo_field_t  *field;

    value = cf->args->elts;

    name = value[1];

    if (name.len < 2 || name.data[0] != '$') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid variable name \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    name.len--;
    name.data++;

    field = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_geo_field_t));
    if (field == NULL) {
        return NGX_CONF_ERROR;
    }

    p = value[2].data;
    last = p + value[2].len;

    colon = ngx_strlchr(p, last, ':');
    ngx_str_null(&db);

    if (colon != NULL) {
        db.len = colon - p;
        db.data = p;
        p = colon + 1;
    }

    geo = pmcf->geo.elts;

    for (i = 0; i < pmcf->geo.nelts; i++) {
        if (geo[i]->name.len == db.len
            && ngx_strncmp(geo[i]->name.data, db.data, db.len) == 0)
        {
            break;
        }
    }

    if (i == pmcf->geo.nelts) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no persona_geoip2 database%s%V defined before "
                           "\"%V\"", db.len ? " named " : "", &db,
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    field->db = i;

    for (n = 0; p < last; n++) {
        if (n == 7) {
            return "has a field path deeper than 7";
        }

        dot = ngx_strlchr(p, last, '.');
        if (dot == NULL) {
            dot = last;
        }

        if (dot == p) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid field path \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        /* libmaxminddb wants NUL-terminated path components */

        field->path[n] = (const char *) ngx_pnalloc(cf->pool, dot - p + 1);
        if (field->path[n] == NULL) {
            return NGX_CONF_ERROR;
        }

        *ngx_cpymem((u_char *) field->path[n], p, dot - p) = '\0';

        p = dot + 1;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid field path \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_CHANGEABLE);
    if (var == NULL) {
        return NGX_CONF_ERROR;
    }

    var->get_handler = ngx_http_persona_geo_variable;
    var->data = (uintptr_t) field;

    return NGX_CONF_OK;
}


static void *
ngx_http_persona_geo_open(void *conf, ngx_str_t *path, ngx_log_t *log,
    ngx_uint_t level)
{
    u_char                       proc[64], *buf;
    ssize_t                      n;
    ngx_int_t                    rc;
    off_t                        w, size;
    ngx_fd_t                     fd, mfd;
    ngx_file_info_t              fi;
    ngx_http_persona_geo_gen_t  *gen;

    gen = NULL;
    buf = NULL;
    mfd = NGX_INVALID_FILE;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(level, log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", path);
        return NULL;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(level, log, ngx_errno,
                      ngx_fd_info_n " \"%V\" failed", path);
        goto failed;
    }

    size = ngx_file_size(&fi);

    if (size < 64 || size > NGX_HTTP_PERSONA_GEO_MAX) {
        ngx_log_error(level, log, 0,
                      "persona: geoip2 database \"%V\": %O bytes, not a "
                      "MaxMind DB", path, size);
        goto failed;
    }

    /*
     * A private copy in a memory file: a database replaced or rewritten
     * in place on disk never changes under the workers.  It is read
     * whole, straight into that file, so that the metadata marker can be
     * checked before libmaxminddb looks for it (older releases read past
     * the end).
     */

    mfd = memfd_create("persona-geoip2", MFD_CLOEXEC);

    if (mfd == -1) {
        ngx_log_error(level, log, ngx_errno, "memfd_create() failed");
        goto failed;
    }

    if (ftruncate(mfd, size) == -1) {
        ngx_log_error(level, log, ngx_errno, "ftruncate() of memory file "
                      "failed");
        goto failed;
    }

    buf = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_SHARED, mfd, 0);

    if (buf == MAP_FAILED) {
        ngx_log_error(level, log, ngx_errno, "mmap() of memory file failed");
        buf = NULL;
        goto failed;
    }

    for (w = 0; w < size; w += n) {
        n = read(fd, buf + w, size - w);

        if (n == -1) {
            ngx_log_error(level, log, ngx_errno,
                          "read() \"%V\" failed", path);
            goto failed;
        }

        if (n == 0) {
            ngx_log_error(level, log, 0,
                          "persona: geoip2 database \"%V\" changed while "
                          "read", path);
            goto failed;
        }
    }

    if (persona_mmdb_metadata(buf, size) < 0) {
        ngx_log_error(level, log, 0,
                      "persona: geoip2 database \"%V\": no metadata, "
                      "not a MaxMind DB", path);
        goto failed;
    }

    gen = ngx_calloc(sizeof(ngx_http_persona_geo_gen_t), log);
    if (gen == NULL) {
        goto failed;
    }

    ngx_sprintf(proc, "/proc/self/fd/%d%Z", mfd);

    rc = MMDB_open((char *) proc, MMDB_MODE_MMAP, &gen->mmdb);

    if (rc != MMDB_SUCCESS) {
        ngx_log_error(level, log, 0, "persona: geoip2 database \"%V\": %s",
                      path, MMDB_strerror(rc));
        ngx_free(gen);
        gen = NULL;
        goto failed;
    }

    if (ngx_http_persona_geo_verify(&gen->mmdb, log, level, path)
        != NGX_OK)
    {
        MMDB_close(&gen->mmdb);
        ngx_free(gen);
        gen = NULL;
        goto failed;
    }

    gen->refs = 1;

failed:

    if (buf != NULL) {
        (void) munmap(buf, size);
    }

    if (mfd != NGX_INVALID_FILE) {
        (void) close(mfd);
    }

    (void) ngx_close_file(fd);

    return gen;
}


/*
 * libmaxminddb trusts the file; Debian's 1.7.1 predates several fixes for
 * corrupt files.  Every search node must point to a node or into the data
 * section, and every data record pointed to must decode.  A bitmap over
 * the data section checks each record once.
 */

static ngx_int_t
ngx_http_persona_geo_verify(MMDB_s *mmdb, ngx_log_t *log, ngx_uint_t level,
    ngx_str_t *path)
{
    int                    rc, k;
    char                   err[128];
    uint8_t                type;
    uint32_t               i;
    uint64_t               tree;
    ngx_int_t              ret;
    const uint8_t         *sep;
    MMDB_entry_s           entry;
    MMDB_search_node_s     node;
    persona_mmdb_check_t   ck;

    tree = (uint64_t) mmdb->metadata.node_count
           * mmdb->metadata.record_size / 4;

    if (mmdb->metadata.binary_format_major_version != 2
        || mmdb->metadata.node_count == 0
        || (mmdb->metadata.ip_version != 4 && mmdb->metadata.ip_version != 6)
        || (mmdb->metadata.record_size != 24
            && mmdb->metadata.record_size != 28
            && mmdb->metadata.record_size != 32)
        || tree + 16 > (uint64_t) mmdb->file_size
        || mmdb->data_section_size == 0)
    {
        ngx_log_error(level, log, 0,
                      "persona: geoip2 database \"%V\": invalid metadata",
                      path);
        return NGX_ERROR;
    }

    /* the 16 zero bytes between the search tree and the data */

    sep = mmdb->file_content + tree;

    for (k = 0; k < 16; k++) {
        if (sep[k] != 0) {
            ngx_log_error(level, log, 0,
                          "persona: geoip2 database \"%V\": the search "
                          "tree does not end where the metadata says",
                          path);
            return NGX_ERROR;
        }
    }

    ngx_memzero(&ck, sizeof(persona_mmdb_check_t));

    ck.data = mmdb->data_section;
    ck.size = mmdb->data_section_size;
    ck.budget = 16 * (uint64_t) ck.size + 1000000;
    ck.err = err;
    ck.errlen = sizeof(err);

    ck.seen = ngx_calloc(ck.size / 8 + 1, log);
    if (ck.seen == NULL) {
        return NGX_ERROR;
    }

    ret = NGX_ERROR;

    for (i = 0; i < mmdb->metadata.node_count; i++) {

        rc = MMDB_read_node(mmdb, i, &node);

        if (rc != MMDB_SUCCESS) {
            ngx_log_error(level, log, 0,
                          "persona: geoip2 database \"%V\": node %uD: %s",
                          path, i, MMDB_strerror(rc));
            goto done;
        }

        for (k = 0; k < 2; k++) {
            type = k ? node.right_record_type : node.left_record_type;
            entry = k ? node.right_record_entry : node.left_record_entry;

            if (type == MMDB_RECORD_TYPE_INVALID) {
                ngx_log_error(level, log, 0,
                              "persona: geoip2 database \"%V\": node %uD "
                              "points outside the file", path, i);
                goto done;
            }

            if (type != MMDB_RECORD_TYPE_DATA) {
                continue;
            }

            if (persona_mmdb_check_record(&ck, entry.offset) != 0) {
                ngx_log_error(level, log, 0,
                              "persona: geoip2 database \"%V\": node %uD: "
                              "%s", path, i, err);
                goto done;
            }
        }
    }

    ret = NGX_OK;

done:

    ngx_free(ck.seen);

    return ret;
}


/* a generation is freed when the last request that uses it ends */

static void
ngx_http_persona_geo_release(void *data)
{
    ngx_http_persona_geo_gen_t *gen = data;

    if (--gen->refs == 0) {
        MMDB_close(&gen->mmdb);
        ngx_free(gen);
    }
}


static ngx_http_persona_geo_result_t *
ngx_http_persona_geo_lookup(ngx_http_request_t *r, ngx_uint_t db)
{
    int                             err;
    ngx_pool_cleanup_t             *cln;
    ngx_http_persona_ctx_t         *ctx;
    MMDB_lookup_result_s            res;
    ngx_http_persona_geo_t        **geo;
    ngx_http_persona_geo_gen_t     *gen;
    ngx_http_persona_main_conf_t   *pmcf;
    ngx_http_persona_geo_result_t  *gr;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    if (db >= pmcf->geo.nelts) {
        return NULL;
    }

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NULL;
    }

    if (ctx->geo == NULL) {
        ctx->geo = ngx_pcalloc(r->main->pool, pmcf->geo.nelts
                               * sizeof(ngx_http_persona_geo_result_t));
        if (ctx->geo == NULL) {
            return NULL;
        }
    }

    gr = &ctx->geo[db];

    if (gr->done) {
        return gr;
    }

    gr->done = 1;

    geo = pmcf->geo.elts;

    switch (r->connection->sockaddr->sa_family) {
    case AF_INET:
#if (NGX_HAVE_INET6)
    case AF_INET6:
#endif
        break;
    default:
        return gr;
    }

    gen = ngx_http_persona_watch_data(geo[db]->watch);
    if (gen == NULL) {
        return gr;
    }

    cln = ngx_pool_cleanup_add(r->main->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    gr->gen = gen;
    gen->refs++;

    cln->handler = ngx_http_persona_geo_release;
    cln->data = gen;

    res = MMDB_lookup_sockaddr(&gr->gen->mmdb, r->connection->sockaddr, &err);

    if (err != MMDB_SUCCESS) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "persona: geoip2 lookup failed: %s",
                      MMDB_strerror(err));
        return gr;
    }

    if (res.found_entry) {
        gr->entry = res.entry;
        gr->found = 1;
    }

    return gr;
}


static ngx_int_t
ngx_http_persona_geo_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_persona_geo_field_t *field = (ngx_http_persona_geo_field_t *)
                                          data;

    int                             n;
    u_char                         *p;
    double                          d;
    MMDB_entry_data_s               ed;
    ngx_http_persona_geo_result_t  *gr;

    gr = ngx_http_persona_geo_lookup(r, field->db);

    if (gr == NULL || !gr->found) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (MMDB_aget_value(&gr->entry, &ed, field->path) != MMDB_SUCCESS
        || !ed.has_data)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (ed.type) {

    case MMDB_DATA_TYPE_UTF8_STRING:
        /* the generation stays mapped until the request ends */
        v->data = (u_char *) ed.utf8_string;
        v->len = ed.data_size;
        break;

    case MMDB_DATA_TYPE_DOUBLE:
    case MMDB_DATA_TYPE_FLOAT:
        d = (ed.type == MMDB_DATA_TYPE_DOUBLE) ? ed.double_value
                                               : (double) ed.float_value;

        /* bounded whatever the number; NaN and infinities are no value */

        p = ngx_pnalloc(r->pool, PERSONA_MMDB_DOUBLE_LEN + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        n = persona_mmdb_format_double((char *) p,
                                       PERSONA_MMDB_DOUBLE_LEN + 1, d);
        if (n < 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = p;
        v->len = n;
        break;

    case MMDB_DATA_TYPE_UINT16:
    case MMDB_DATA_TYPE_UINT32:
    case MMDB_DATA_TYPE_INT32:
    case MMDB_DATA_TYPE_UINT64:
    case MMDB_DATA_TYPE_BOOLEAN:
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;

        switch (ed.type) {
        case MMDB_DATA_TYPE_UINT16:
            v->len = ngx_sprintf(p, "%uD", (uint32_t) ed.uint16) - p;
            break;
        case MMDB_DATA_TYPE_UINT32:
            v->len = ngx_sprintf(p, "%uD", ed.uint32) - p;
            break;
        case MMDB_DATA_TYPE_INT32:
            v->len = ngx_sprintf(p, "%D", ed.int32) - p;
            break;
        case MMDB_DATA_TYPE_UINT64:
            v->len = ngx_sprintf(p, "%uL", ed.uint64) - p;
            break;
        default:
            v->len = ngx_sprintf(p, "%d", ed.boolean ? 1 : 0) - p;
        }

        break;

    default:
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* the visitor's time zone name, for local time */

ngx_int_t
ngx_http_persona_geo_timezone(ngx_http_request_t *r, ngx_str_t *tz)
{
    ngx_http_variable_value_t  v;

    ngx_memzero(&v, sizeof(ngx_http_variable_value_t));

    if (ngx_http_persona_geo_variable(r, &v, (uintptr_t)
                                      &ngx_http_persona_geo_fields[4])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    tz->len = v.not_found ? 0 : v.len;
    tz->data = v.data;

    return NGX_OK;
}
