
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Exposure events as JSON lines, handed to nginx's own logging through
 * variables: $persona_exposures (one line per experiment whose variant
 * this response showed) and $persona_exposed ("1" if any).  Logging
 * through access_log keeps buffering, syslog, reopen and graceful
 * shutdown as nginx does them.  Every string is escaped so a line is
 * always valid JSON and valid UTF-8; the client address is never written.
 *
 * A line is a table of fields (see the NGX_HTTP_PERSONA_EV_ names) that
 * src/core/persona_event.c measures and writes; event_common() fills the
 * fields every event shares, conversion.c uses it too.
 */


#include "ngx_http_persona_module.h"


static ngx_int_t ngx_http_persona_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_exposed_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_var(ngx_http_request_t *r,
    ngx_int_t index, persona_event_field_t *f);
static ngx_int_t ngx_http_persona_request_id(ngx_http_request_t *r,
    ngx_uint_t index, persona_event_field_t *f);


ngx_http_variable_t  ngx_http_persona_event_vars[] = {

    { ngx_string("persona_exposures"), NULL,
      ngx_http_persona_exposures_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("persona_exposed"), NULL,
      ngx_http_persona_exposed_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* the key of each field, in the order of NGX_HTTP_PERSONA_EV_ */

static ngx_str_t  ngx_http_persona_event_keys[] = {
    ngx_string("ts"),
    ngx_string("event"),
    ngx_string("id"),
    ngx_string("experiment"),
    ngx_string("variant"),
    ngx_string("goal"),
    ngx_string("value"),
    ngx_string("assignments"),
    ngx_string("segments"),
    ngx_string("country"),
    ngx_string("device"),
    ngx_string("channel"),
    ngx_string("uri"),
    ngx_string("request_id"),
    ngx_string("anonymous_id"),
    ngx_string("preview"),
};


char *
ngx_http_persona_event_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    ngx_uint_t   i;
    ngx_int_t   *index[5];

    static ngx_str_t  names[] = {
        ngx_string("persona_segments"),
        ngx_string("persona_country"),
        ngx_string("persona_device"),
        ngx_string("persona_channel"),
        ngx_string("request_id"),
    };

    index[0] = &pmcf->segments_index;
    index[1] = &pmcf->country_index;
    index[2] = &pmcf->device_index;
    index[3] = &pmcf->channel_index;
    index[4] = &pmcf->request_id_index;

    for (i = 0; i < 5; i++) {
        *index[i] = ngx_http_get_variable_index(cf, &names[i]);
        if (*index[i] == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


void
ngx_http_persona_event_set(persona_event_field_t *f, ngx_uint_t i,
    persona_event_type_e type, u_char *data, size_t len)
{
    f[i].key = (const char *) ngx_http_persona_event_keys[i].data;
    f[i].key_len = ngx_http_persona_event_keys[i].len;
    f[i].type = type;
    f[i].data = data;
    f[i].len = len;
}


static ngx_int_t
ngx_http_persona_var(ngx_http_request_t *r, ngx_int_t index,
    persona_event_field_t *f)
{
    ngx_http_variable_value_t  *vv;

    vv = ngx_http_get_indexed_variable(r, index);

    if (vv == NULL) {
        return NGX_ERROR;
    }

    if (vv->not_found) {
        f->len = 0;
        return NGX_OK;
    }

    f->data = vv->data;
    f->len = vv->len;

    return NGX_OK;
}


/*
 * nginx's $request_id costs a call into OpenSSL's random generator, more
 * than the rest of an event.  Unless the request already has one, the id
 * is drawn from the module's random pool, in the same format, and becomes
 * the request's $request_id, so access logs show the same value.
 */

static ngx_int_t
ngx_http_persona_request_id(ngx_http_request_t *r, ngx_uint_t index,
    persona_event_field_t *f)
{
    ngx_str_t                   s;
    ngx_http_variable_value_t  *vv;

    vv = &r->variables[index];

    if (!(vv->valid && !vv->not_found)) {
        if (ngx_http_persona_random_id(r, &s) != NGX_OK) {
            return NGX_ERROR;
        }

        vv->len = s.len;
        vv->data = s.data;
        vv->valid = 1;
        vv->no_cacheable = 0;
        vv->not_found = 0;
    }

    f->data = vv->data;
    f->len = vv->len;

    return NGX_OK;
}


/* the fields every event carries; the others are skipped until set */

ngx_int_t
ngx_http_persona_event_common(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, persona_event_field_t *f)
{
    u_char                        *ts;
    size_t                         len;
    ngx_tm_t                       tm;
    ngx_uint_t                     i;
    ngx_http_request_t            *mr;
    ngx_http_persona_main_conf_t  *pmcf;

    mr = r->main;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    for (i = 0; i < NGX_HTTP_PERSONA_EV_N; i++) {
        ngx_http_persona_event_set(f, i, PERSONA_EVENT_SKIP, NULL, 0);
    }

    /* the time the request started: a conversion fired by a page comes
     * after the request that showed the page */

    ts = ngx_pnalloc(r->pool, sizeof("2026-12-03T09:15:02.123Z") - 1);
    if (ts == NULL) {
        return NGX_ERROR;
    }

    ngx_gmtime(mr->start_sec, &tm);

    len = ngx_sprintf(ts, "%4d-%02d-%02dT%02d:%02d:%02d.%03MZ",
                      tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                      tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                      mr->start_msec)
          - ts;

    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_TS, PERSONA_EVENT_NAME,
                               ts, len);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_ID, PERSONA_EVENT_STR,
                               ctx->id.data, ctx->id.len);

    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_SEGMENTS,
                               PERSONA_EVENT_LIST, NULL, 0);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_COUNTRY,
                               PERSONA_EVENT_STR, NULL, 0);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_DEVICE,
                               PERSONA_EVENT_STR, NULL, 0);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_CHANNEL,
                               PERSONA_EVENT_STR, NULL, 0);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_REQUEST_ID,
                               PERSONA_EVENT_STR, NULL, 0);

    if (ngx_http_persona_var(r, pmcf->segments_index,
                             &f[NGX_HTTP_PERSONA_EV_SEGMENTS])
        != NGX_OK
        || ngx_http_persona_var(r, pmcf->country_index,
                                &f[NGX_HTTP_PERSONA_EV_COUNTRY])
           != NGX_OK
        || ngx_http_persona_var(r, pmcf->device_index,
                                &f[NGX_HTTP_PERSONA_EV_DEVICE])
           != NGX_OK
        || ngx_http_persona_var(r, pmcf->channel_index,
                                &f[NGX_HTTP_PERSONA_EV_CHANNEL])
           != NGX_OK
        || ngx_http_persona_request_id(mr, pmcf->request_id_index,
                                       &f[NGX_HTTP_PERSONA_EV_REQUEST_ID])
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the path as requested, without the query string that may carry
     * tokens, and before internal redirects */

    len = mr->unparsed_uri.len;

    if (mr->args_start != NULL && mr->args_start > mr->unparsed_uri.data) {
        len = mr->args_start - 1 - mr->unparsed_uri.data;
    }

    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_URI, PERSONA_EVENT_STR,
                               mr->unparsed_uri.data, len);

    /* the id this one replaced (a login, a link), for stitching */

    if (ctx->previous_id.len) {
        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_ANONYMOUS_ID,
                                   PERSONA_EVENT_STR, ctx->previous_id.data,
                                   ctx->previous_id.len);
    }

    if (ngx_http_persona_get_preview(r, ctx) != NULL) {
        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_PREVIEW,
                                   PERSONA_EVENT_RAW, (u_char *) "true",
                                   sizeof("true") - 1);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    size_t                          len;
    ngx_int_t                       k;
    ngx_uint_t                      i, n;
    persona_event_field_t           f[NGX_HTTP_PERSONA_EV_N];
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    ctx = ngx_http_persona_find_ctx(r);

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    n = 0;

    for (i = 0; ctx != NULL && ctx->id.len && i < pmcf->experiments.nelts;
         i++)
    {
        n += (ctx->exposed[i] && ctx->assign[i] >= 0);
    }

    if (n == 0) {
        ngx_http_persona_variable_str(v, (u_char *) "", 0);
        return NGX_OK;
    }

    /* log formats read a variable twice (length, then value) */

    if (ctx->exposures_n == n) {
        ngx_http_persona_variable_str(v, ctx->exposures.data,
                                      ctx->exposures.len);
        return NGX_OK;
    }

    if (ngx_http_persona_event_common(r, ctx, f) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_EVENT,
                               PERSONA_EVENT_NAME, (u_char *) "exposure",
                               sizeof("exposure") - 1);

    /* names are restricted at configuration: no escaping needed */

    f[NGX_HTTP_PERSONA_EV_EXPERIMENT].type = PERSONA_EVENT_NAME;
    f[NGX_HTTP_PERSONA_EV_VARIANT].type = PERSONA_EVENT_NAME;

    len = 0;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ctx->assign[i];

        if (!ctx->exposed[i] || k < 0) {
            continue;
        }

        var = exp[i].variants.elts;

        f[NGX_HTTP_PERSONA_EV_EXPERIMENT].data = exp[i].name.data;
        f[NGX_HTTP_PERSONA_EV_EXPERIMENT].len = exp[i].name.len;
        f[NGX_HTTP_PERSONA_EV_VARIANT].data = var[k].name.data;
        f[NGX_HTTP_PERSONA_EV_VARIANT].len = var[k].name.len;

        len += persona_event_len(f, NGX_HTTP_PERSONA_EV_N) + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ctx->assign[i];

        if (!ctx->exposed[i] || k < 0) {
            continue;
        }

        if (p != v->data) {
            *p++ = '\n';
        }

        var = exp[i].variants.elts;

        f[NGX_HTTP_PERSONA_EV_EXPERIMENT].data = exp[i].name.data;
        f[NGX_HTTP_PERSONA_EV_EXPERIMENT].len = exp[i].name.len;
        f[NGX_HTTP_PERSONA_EV_VARIANT].data = var[k].name.data;
        f[NGX_HTTP_PERSONA_EV_VARIANT].len = var[k].name.len;

        p = persona_event_write(p, f, NGX_HTTP_PERSONA_EV_N);
    }

    ngx_http_persona_variable_str(v, v->data, p - v->data);

    ctx->exposures.len = v->len;
    ctx->exposures.data = v->data;
    ctx->exposures_n = n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_exposed_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_uint_t                     i;
    ngx_http_persona_ctx_t        *ctx;
    ngx_http_persona_main_conf_t  *pmcf;

    ctx = ngx_http_persona_find_ctx(r);

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    ngx_http_persona_variable_str(v, (u_char *) "", 0);

    for (i = 0; ctx != NULL && ctx->id.len && i < pmcf->experiments.nelts;
         i++)
    {
        if (ctx->exposed[i] && ctx->assign[i] >= 0) {
            ngx_http_persona_variable_str(v, (u_char *) "1", 1);
            break;
        }
    }

    return NGX_OK;
}
