
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The functions src/lua/resty/persona.lua calls through LuaJIT's FFI, in
 * the style of lua-resty-core: the request pointer of the Lua code that
 * runs, plain C types, a return code, and strings that point into the
 * request pool or the configuration (the library copies them at once).
 * Each function does what the variable or the beacon of the same job
 * does, from the same request context, so Lua and configuration agree:
 * one id, one assignment and one exposure per experiment, one segment
 * list.  The library needs no lua module at build time: the symbols are
 * found when Lua first calls them, whichever module nginx loaded first.
 */


#include "ngx_http_persona.h"


static ngx_http_persona_ctx_t *ngx_http_persona_lua_ctx(
    ngx_http_request_t *r);
static int ngx_http_persona_lua_segment(ngx_http_request_t *r,
    const unsigned char *name, size_t len, ngx_str_t *s,
    ngx_http_persona_ctx_t **ctx);


static ngx_str_t  ngx_http_persona_lua_hour = ngx_string("persona_hour");


char *
ngx_http_persona_lua_init(ngx_conf_t *cf, ngx_http_persona_main_conf_t *pmcf)
{
    pmcf->hour_index = ngx_http_get_variable_index(cf,
                                                   &ngx_http_persona_lua_hour);

    return (pmcf->hour_index == NGX_ERROR) ? NGX_CONF_ERROR : NGX_CONF_OK;
}


/* the context of the main request, which subrequests share */

static ngx_http_persona_ctx_t *
ngx_http_persona_lua_ctx(ngx_http_request_t *r)
{
    if (r == NULL || r->connection == NULL) {
        return NULL;
    }

    return ngx_http_persona_get_ctx(r);
}


int
ngx_http_persona_ffi_id(ngx_http_request_t *r, const unsigned char **data,
    size_t *len)
{
    ngx_http_persona_ctx_t  *ctx;

    ctx = ngx_http_persona_lua_ctx(r);

    if (ctx == NULL || ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    if (ctx->id.len == 0) {
        return NGX_HTTP_PERSONA_FFI_DECLINED;
    }

    *data = ctx->id.data;
    *len = ctx->id.len;

    return NGX_HTTP_PERSONA_FFI_OK;
}


/*
 * expose: LOOK does not count, READ counts as reading the variable does
 * (while the response is being prepared), EXPOSE counts whenever it is
 * called: the caller says the variant was used.
 */

int
ngx_http_persona_ffi_variant(ngx_http_request_t *r, const unsigned char *name,
    size_t name_len, int expose, const unsigned char **data, size_t *len)
{
    ngx_int_t                       i;
    ngx_str_t                       s, variant;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    ctx = ngx_http_persona_lua_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    s.len = name_len;
    s.data = (u_char *) name;

    exp = ngx_http_persona_find_experiment(pmcf, &s);
    if (exp == NULL) {
        return NGX_HTTP_PERSONA_FFI_UNKNOWN;
    }

    i = ngx_http_persona_variant_get(r, ctx, exp,
                                     expose != NGX_HTTP_PERSONA_FFI_LOOK,
                                     &variant);

    if (i == NGX_ERROR) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    if (i < 0) {
        return NGX_HTTP_PERSONA_FFI_DECLINED;
    }

    if (expose == NGX_HTTP_PERSONA_FFI_EXPOSE) {
        ctx->exposed[exp->index] |= NGX_HTTP_PERSONA_EXPOSED_VAR;
    }

    *data = variant.data;
    *len = variant.len;

    return NGX_HTTP_PERSONA_FFI_OK;
}


/* $persona_segments: "a,b", "" when the visitor is in none */

int
ngx_http_persona_ffi_segments(ngx_http_request_t *r,
    const unsigned char **data, size_t *len)
{
    ngx_http_variable_value_t     *vv;
    ngx_http_persona_main_conf_t  *pmcf;

    if (ngx_http_persona_lua_ctx(r) == NULL) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    vv = ngx_http_get_flushed_variable(r, pmcf->segments_index);

    if (vv == NULL) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    *data = vv->data;
    *len = vv->not_found ? 0 : vv->len;

    return NGX_HTTP_PERSONA_FFI_OK;
}


/* a segment name from Lua, checked, and the request's context */

static int
ngx_http_persona_lua_segment(ngx_http_request_t *r,
    const unsigned char *name, size_t len, ngx_str_t *s,
    ngx_http_persona_ctx_t **ctx)
{
    s->len = len;
    s->data = (u_char *) name;

    if (!ngx_http_persona_valid_name(s, "-")) {
        return NGX_HTTP_PERSONA_FFI_INVALID;
    }

    *ctx = ngx_http_persona_lua_ctx(r);

    return (*ctx == NULL) ? NGX_HTTP_PERSONA_FFI_ERROR
                          : NGX_HTTP_PERSONA_FFI_OK;
}


/* 1 or 0, or a negative code */

int
ngx_http_persona_ffi_in_segment(ngx_http_request_t *r,
    const unsigned char *name, size_t len)
{
    int                      rc;
    ngx_str_t                s;
    ngx_http_persona_ctx_t  *ctx;

    rc = ngx_http_persona_lua_segment(r, name, len, &s, &ctx);
    if (rc != NGX_HTTP_PERSONA_FFI_OK) {
        return rc;
    }

    rc = ngx_http_persona_segment_has(r, ctx, &s);

    return (rc == NGX_ERROR) ? NGX_HTTP_PERSONA_FFI_ERROR : rc;
}


/*
 * Any name a CRM list could carry is accepted: names the configuration
 * knows become true for conditions, the others are listed in
 * $persona_segments and the events, as CRM segments are.
 */

int
ngx_http_persona_ffi_add_segment(ngx_http_request_t *r,
    const unsigned char *name, size_t len)
{
    int                      rc;
    u_char                  *p;
    ngx_str_t                s;
    ngx_http_persona_ctx_t  *ctx;

    rc = ngx_http_persona_lua_segment(r, name, len, &s, &ctx);
    if (rc != NGX_HTTP_PERSONA_FFI_OK) {
        return rc;
    }

    /* the name is Lua's string, which Lua may free */

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    s.data = ngx_cpymem(p, name, len) - len;

    if (ngx_http_persona_segment_add(r, ctx, &s) != NGX_OK) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    return NGX_HTTP_PERSONA_FFI_OK;
}


int
ngx_http_persona_ffi_context(ngx_http_request_t *r, int field,
    const unsigned char **data, size_t *len)
{
    ngx_int_t                      index;
    ngx_http_variable_value_t     *vv;
    ngx_http_persona_main_conf_t  *pmcf;

    if (ngx_http_persona_lua_ctx(r) == NULL) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    switch (field) {

    case NGX_HTTP_PERSONA_FFI_COUNTRY:
        index = pmcf->country_index;
        break;

    case NGX_HTTP_PERSONA_FFI_DEVICE:
        index = pmcf->device_index;
        break;

    case NGX_HTTP_PERSONA_FFI_CHANNEL:
        index = pmcf->channel_index;
        break;

    case NGX_HTTP_PERSONA_FFI_HOUR:
        index = pmcf->hour_index;
        break;

    default:
        return NGX_HTTP_PERSONA_FFI_INVALID;
    }

    vv = ngx_http_get_indexed_variable(r, index);

    if (vv == NULL) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    if (vv->not_found || vv->len == 0) {
        return NGX_HTTP_PERSONA_FFI_DECLINED;
    }

    *data = vv->data;
    *len = vv->len;

    return NGX_HTTP_PERSONA_FFI_OK;
}


/*
 * The conversion event, as the beacon makes it, into $persona_conversion;
 * value NULL: none.  A conversion never creates a visitor: DECLINED when
 * the request has no id.
 */

int
ngx_http_persona_ffi_convert(ngx_http_request_t *r,
    const unsigned char *goal, size_t goal_len, const unsigned char *value,
    size_t value_len)
{
    u_char     *p;
    ngx_int_t   rc;
    ngx_str_t   g, v;

    if (ngx_http_persona_lua_ctx(r) == NULL) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    /* the event points to the goal and the value: copies outlive Lua's */

    p = ngx_pnalloc(r->pool, goal_len + value_len + 1);
    if (p == NULL) {
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }

    g.len = goal_len;
    g.data = p;
    p = ngx_cpymem(p, goal, goal_len);

    v.len = value_len;
    v.data = NULL;

    if (value != NULL) {
        v.data = p;
        ngx_memcpy(p, value, value_len);
    }

    rc = ngx_http_persona_conversion_record(r, &g, &v);

    switch (rc) {

    case NGX_OK:
        return NGX_HTTP_PERSONA_FFI_OK;

    case NGX_DECLINED:
        return NGX_HTTP_PERSONA_FFI_DECLINED;

    case NGX_HTTP_BAD_REQUEST:
        return NGX_HTTP_PERSONA_FFI_INVALID;

    default:
        return NGX_HTTP_PERSONA_FFI_ERROR;
    }
}
