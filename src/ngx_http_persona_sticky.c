
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Sticky assignments, as GrowthBook's sticky bucketing: the variant a
 * visitor was given in an experiment with "sticky on" is kept in the
 * NAME_sticky cookie (NAME the visitor cookie's), signed, and given again
 * whatever the id (a login) or the experiment's weights, traffic, layer
 * and target become, until its bucket_version changes.  An entry is
 * EXPERIMENT:VERSION:VARIANT; the cookie holds at most
 * NGX_HTTP_PERSONA_STICKY_MAX bytes of entries, the least recently
 * assigned are dropped first.  An entry of another bucket version or of
 * a variant the experiment no longer has does not count: the visitor is
 * assigned afresh and the entry replaced.  Entries of experiments this
 * configuration does not have are kept as they are (another server may
 * have them), until room is needed.  Without consent the cookie is
 * expired.  The cookie is written once, by the header filter.
 */


#include "ngx_http_persona.h"

#include "persona_sign.h"
#include "persona_token.h"


#define NGX_HTTP_PERSONA_STICKY_MAX  1024


typedef struct {
    ngx_str_t                   experiment;
    ngx_uint_t                  version;
    ngx_str_t                   variant;
} ngx_http_persona_sticky_entry_t;


struct ngx_http_persona_sticky_s {
    ngx_array_t                 entries;    /* oldest first */
    unsigned                    present:1;  /* the request had a cookie */
    unsigned                    changed:1;
};


static ngx_http_persona_sticky_t *ngx_http_persona_sticky_load(
    ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx);
static ngx_int_t ngx_http_persona_sticky_parse(ngx_http_persona_sticky_t *st,
    ngx_str_t *data);
static ngx_http_persona_sticky_entry_t *ngx_http_persona_sticky_find(
    ngx_http_persona_sticky_t *st, ngx_str_t *name);
static ngx_int_t ngx_http_persona_sticky_write(ngx_http_request_t *r,
    ngx_http_persona_sticky_t *st, ngx_http_persona_cookie_t *cookie);


/* the visitor's entries, read once; NULL without a visitor cookie */

static ngx_http_persona_sticky_t *
ngx_http_persona_sticky_load(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx)
{
    ngx_str_t                     value, data;
    ngx_http_variable_value_t    *vv;
    ngx_http_persona_sticky_t    *st;
    ngx_http_persona_loc_conf_t  *plcf;

    if (ctx->sticky != NULL) {
        return ctx->sticky;
    }

    r = r->main;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);

    if (plcf->cookie == NULL) {
        return NULL;
    }

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_persona_sticky_t));
    if (st == NULL) {
        return NULL;
    }

    if (ngx_array_init(&st->entries, r->pool, 4,
                       sizeof(ngx_http_persona_sticky_entry_t))
        != NGX_OK)
    {
        return NULL;
    }

    ctx->sticky = st;

    vv = ngx_http_get_indexed_variable(r, plcf->cookie->sticky_index);

    if (vv == NULL || vv->not_found || vv->len == 0) {
        return st;
    }

    st->present = 1;

    value.data = vv->data;
    value.len = vv->len;

    if (value.len > NGX_HTTP_PERSONA_STICKY_MAX + 1 + PERSONA_SIGN_LEN
        || ngx_http_persona_unsign(r, "sticky", &value, &data) != NGX_OK)
    {
        /* replaced by the entries of this response, or expired */

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: invalid sticky cookie ignored");
        st->changed = 1;
        return st;
    }

    switch (ngx_http_persona_sticky_parse(st, &data)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: malformed sticky cookie ignored");
        st->entries.nelts = 0;
        st->changed = 1;
        break;

    default:
        return NULL;
    }

    return st;
}


static ngx_int_t
ngx_http_persona_sticky_parse(ngx_http_persona_sticky_t *st,
    ngx_str_t *data)
{
    ngx_int_t                         rc;
    const u_char                     *p, *last;
    persona_sticky_entry_t            e;
    ngx_http_persona_sticky_entry_t  *se;

    p = data->data;
    last = p + data->len;

    while ((rc = persona_sticky_next(&p, last, &e)) == 1) {

        se = ngx_array_push(&st->entries);
        if (se == NULL) {
            return NGX_ERROR;
        }

        se->experiment.data = (u_char *) e.experiment;
        se->experiment.len = e.experiment_len;
        se->version = e.version;
        se->variant.data = (u_char *) e.variant;
        se->variant.len = e.variant_len;
    }

    return (rc == 0) ? NGX_OK : NGX_DECLINED;
}


static ngx_http_persona_sticky_entry_t *
ngx_http_persona_sticky_find(ngx_http_persona_sticky_t *st, ngx_str_t *name)
{
    ngx_uint_t                        i;
    ngx_http_persona_sticky_entry_t  *se;

    se = st->entries.elts;

    for (i = 0; i < st->entries.nelts; i++) {
        if (se[i].experiment.len == name->len
            && ngx_strncmp(se[i].experiment.data, name->data, name->len)
               == 0)
        {
            return &se[i];
        }
    }

    return NULL;
}


/* the variant kept for exp, or NGX_HTTP_PERSONA_NONE */

ngx_int_t
ngx_http_persona_sticky_get(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp)
{
    ngx_http_persona_sticky_t        *st;
    ngx_http_persona_sticky_entry_t  *se;

    st = ngx_http_persona_sticky_load(r, ctx);

    if (st == NULL) {
        return NGX_ERROR;
    }

    se = ngx_http_persona_sticky_find(st, &exp->name);

    if (se == NULL || se->version != exp->bucket_version) {
        return NGX_HTTP_PERSONA_NONE;
    }

    return ngx_http_persona_find_variant(exp, se->variant.data,
                                         se->variant.len);
}


/* a preview changes nothing of what the visitor keeps */

ngx_int_t
ngx_http_persona_sticky_set(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp,
    ngx_uint_t variant)
{
    ngx_uint_t                        i;
    ngx_http_persona_variant_t       *var;
    ngx_http_persona_sticky_t        *st;
    ngx_http_persona_sticky_entry_t  *se;

    if (ngx_http_persona_get_preview(r, ctx) != NULL) {
        return NGX_OK;
    }

    st = ngx_http_persona_sticky_load(r, ctx);

    if (st == NULL) {
        return NGX_ERROR;
    }

    se = ngx_http_persona_sticky_find(st, &exp->name);

    /* the latest entry goes last, the last to be dropped */

    if (se != NULL) {
        i = se - (ngx_http_persona_sticky_entry_t *) st->entries.elts;

        ngx_memmove(se, se + 1, (st->entries.nelts - i - 1) * sizeof(*se));
        st->entries.nelts--;
    }

    se = ngx_array_push(&st->entries);
    if (se == NULL) {
        return NGX_ERROR;
    }

    var = exp->variants.elts;

    se->experiment = exp->name;
    se->version = exp->bucket_version;
    se->variant = var[variant].name;

    st->changed = 1;

    return NGX_OK;
}


/*
 * From the header filter: the cookie when the entries changed; expired
 * when the visitor withdrew consent or has no entries left.
 */

ngx_int_t
ngx_http_persona_sticky_header(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx)
{
    ngx_http_persona_sticky_t    *st;
    ngx_http_persona_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);

    if (plcf->cookie == NULL) {
        return NGX_OK;
    }

    st = ngx_http_persona_sticky_load(r, ctx);
    if (st == NULL) {
        return NGX_ERROR;
    }

    if (!st->present && !st->changed) {
        return NGX_OK;
    }

    /* consent is known once the id is: a cookie alone asks for it */

    if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!ctx->consent) {
        if (!st->present) {
            return NGX_OK;
        }

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: no consent, sticky cookie expired");

        st->entries.nelts = 0;
        st->changed = 1;
    }

    if (!st->changed) {
        return NGX_OK;
    }

    /* once per response */

    st->changed = 0;

    return ngx_http_persona_sticky_write(r, st, plcf->cookie);
}


static ngx_int_t
ngx_http_persona_sticky_write(ngx_http_request_t *r,
    ngx_http_persona_sticky_t *st, ngx_http_persona_cookie_t *cookie)
{
    u_char                           *p;
    size_t                            len, size;
    time_t                            max_age;
    ngx_str_t                         name, data, value;
    ngx_uint_t                        i, first;
    ngx_http_persona_sticky_entry_t  *se;

    se = st->entries.elts;

    /* the newest entries that fit */

    len = 0;
    first = st->entries.nelts;

    while (first > 0) {
        size = se[first - 1].experiment.len + 1 + NGX_INT_T_LEN + 1
               + se[first - 1].variant.len + 1;

        if (len + size > NGX_HTTP_PERSONA_STICKY_MAX) {
            break;
        }

        len += size;
        first--;
    }

    data.data = ngx_pnalloc(r->pool, len + 1);
    if (data.data == NULL) {
        return NGX_ERROR;
    }

    p = data.data;

    for (i = first; i < st->entries.nelts; i++) {
        p = ngx_sprintf(p, "%s%V:%ui:%V", p == data.data ? "" : "|",
                        &se[i].experiment, se[i].version, &se[i].variant);
    }

    data.len = p - data.data;

    name.len = cookie->name.len + sizeof("_sticky") - 1;
    name.data = ngx_pnalloc(r->pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(name.data, "%V_sticky", &cookie->name);

    if (data.len == 0) {
        value = data;
        max_age = 0;

    } else {
        if (ngx_http_persona_sign(r, "sticky", &data, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        max_age = cookie->max_age ? cookie->max_age : -1;
    }

    return ngx_http_persona_push_cookie(r, &name, &value, max_age,
                                        &cookie->attrs, cookie->secure)
           ? NGX_OK : NGX_ERROR;
}
