
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Segments: persona_segment NAME [CONDITION], the lists of the CRM
 * (persona_segments_db), and $persona_segments.  A visitor is in a
 * segment when the CRM lists it for their id, its condition holds, or
 * Lua put the visitor in it for the request (segment_add()).
 * Membership is decided once per request, when first needed, and only
 * once the visitor is known: identification comes first, so the CRM list
 * looked up is always the one of the id the request has.
 */


#include "ngx_http_persona.h"

#include "persona_list.h"


#define NGX_HTTP_PERSONA_SEG_UNKNOWN  0
#define NGX_HTTP_PERSONA_SEG_BUSY     1
#define NGX_HTTP_PERSONA_SEG_OUT      2
#define NGX_HTTP_PERSONA_SEG_IN       3


static ngx_int_t ngx_http_persona_segment_deps(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf, ngx_http_persona_cond_t *cond,
    ngx_int_t self, u_char *seen, ngx_array_t *deps);
static ngx_int_t ngx_http_persona_segment_eval(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t i);
static ngx_int_t ngx_http_persona_crm_list(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *list);
static ngx_int_t ngx_http_persona_segments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


ngx_http_variable_t  ngx_http_persona_segment_vars[] = {

    { ngx_string("persona_segments"), NULL,
      ngx_http_persona_segments_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


char *
ngx_http_persona_segment(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    ngx_int_t                   i;
    ngx_str_t                  *value;
    ngx_http_persona_segment_t *seg;

    value = cf->args->elts;

    if (!ngx_http_persona_valid_name(&value[1], "-")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid segment name \"%V\", must be 1 to 64 "
                           "letters, digits, \"_\" or \"-\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    i = ngx_http_persona_segment_index(cf, &value[1], 1);
    if (i == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    seg = pmcf->segments.elts;

    if (seg[i].cond != NULL || seg[i].defined) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate segment \"%V\", first defined in "
                           "%V:%ui", &value[1], &seg[i].file, seg[i].line);
        return NGX_CONF_ERROR;
    }

    seg[i].defined = 1;
    seg[i].file = cf->conf_file->file.name;
    seg[i].line = cf->conf_file->line;

    /* no condition: only the CRM list or Lua put visitors in it */

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    /* the condition may add segments: the array may move */

    seg[i].cond = ngx_http_persona_cond_compile(cf, &value[2]);

    seg = pmcf->segments.elts;

    if (seg[i].cond == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Once the http block is read: every referenced segment is defined (by
 * persona_segment, or else by the CRM list), no segment depends on
 * itself, and persona_consent refers to no segment that only the CRM list
 * defines: consent is decided before the visitor's id is known, so such a
 * segment could never be true there.
 */

char *
ngx_http_persona_segments_check(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    int                         *d;
    u_char                      *seen;
    ngx_uint_t                   i, j, n;
    ngx_array_t                  deps;
    ngx_http_persona_segment_t  *seg;
    ngx_http_persona_consent_t  *c;

    seg = pmcf->segments.elts;
    n = pmcf->segments.nelts;

    for (i = 0; i < n; i++) {
        if (seg[i].defined) {
            continue;
        }

        if (pmcf->crm == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown segment \"%V\" in %V:%ui",
                          &seg[i].name, &seg[i].file, seg[i].line);
            return NGX_CONF_ERROR;
        }

        /*
         * a warning: the list is rebuilt from each export, and a segment
         * empty today must not stop the next reload
         */

        if (ngx_http_persona_crm_knows(pmcf->crm, &seg[i].name) == 0) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "segment \"%V\" is not defined by persona_segment "
                          "and the persona_segments_db list does not know "
                          "it in %V:%ui", &seg[i].name, &seg[i].file,
                          seg[i].line);
        }
    }

    if (n == 0) {
        return NGX_CONF_OK;
    }

    seen = ngx_palloc(cf->temp_pool, n);

    if (seen == NULL
        || ngx_array_init(&deps, cf->temp_pool, 8, sizeof(int)) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (seg[i].cond == NULL) {
            continue;
        }

        if (ngx_http_persona_segment_deps(cf, pmcf, seg[i].cond, i, seen,
                                          &deps)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "segment \"%V\" depends on itself in %V:%ui",
                          &seg[i].name, &seg[i].file, seg[i].line);
            return NGX_CONF_ERROR;
        }
    }

    c = pmcf->consents.elts;

    for (i = 0; i < pmcf->consents.nelts; i++) {
        (void) ngx_http_persona_segment_deps(cf, pmcf, c[i].cond, -1, seen,
                                             &deps);

        d = deps.elts;

        for (j = 0; j < deps.nelts; j++) {
            if (!seg[d[j]].defined) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "segment \"%V\" is only defined by the "
                              "persona_segments_db list and cannot be used "
                              "in persona_consent, which is decided before "
                              "the visitor's id is known, in %V:%ui",
                              &seg[d[j]].name, &c[i].file, c[i].line);
                return NGX_CONF_ERROR;
            }

            if (seg[d[j]].cond == NULL) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "segment \"%V\" has no condition and cannot "
                              "be used in persona_consent, which is decided "
                              "before the visitor's id is known, in %V:%ui",
                              &seg[d[j]].name, &c[i].file, c[i].line);
                return NGX_CONF_ERROR;
            }
        }
    }

    return NGX_CONF_OK;
}


/*
 * The segments a condition depends on, directly or through other
 * segments, into deps; NGX_DECLINED if segment "self" is among them.
 */

static ngx_int_t
ngx_http_persona_segment_deps(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf, ngx_http_persona_cond_t *cond,
    ngx_int_t self, u_char *seen, ngx_array_t *deps)
{
    int                         *d;
    ngx_uint_t                   k;
    ngx_http_persona_segment_t  *seg;

    seg = pmcf->segments.elts;

    ngx_memzero(seen, pmcf->segments.nelts);
    deps->nelts = 0;

    ngx_http_persona_cond_segments(cond, deps);

    /* deps grows while it is walked: the walk reaches every dependency */

    for (k = 0; k < deps->nelts; k++) {
        d = deps->elts;

        if (d[k] == self) {
            return NGX_DECLINED;
        }

        if (seen[d[k]]) {
            continue;
        }

        seen[d[k]] = 1;

        if (seg[d[k]].cond != NULL) {
            ngx_http_persona_cond_segments(seg[d[k]].cond, deps);
        }
    }

    return NGX_OK;
}


/* 1 if the visitor is in segment i, 0 if not, or NGX_ERROR */

static ngx_int_t
ngx_http_persona_segment_eval(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t i)
{
    ngx_int_t                      rc;
    ngx_str_t                      list;
    ngx_http_persona_segment_t    *seg;
    ngx_http_persona_main_conf_t  *pmcf;

    switch (ctx->segments[i]) {

    case NGX_HTTP_PERSONA_SEG_IN:
        return 1;

    case NGX_HTTP_PERSONA_SEG_OUT:
        return 0;

    case NGX_HTTP_PERSONA_SEG_BUSY:
        /* cycles are refused at configuration time */
        return NGX_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    seg = pmcf->segments.elts;

    if (ngx_http_persona_crm_list(r, ctx, &list) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->segments[i] = NGX_HTTP_PERSONA_SEG_BUSY;

    rc = persona_list_has(list.data, list.len, seg[i].name.data,
                          seg[i].name.len);

    if (rc == 0 && seg[i].cond != NULL) {
        rc = ngx_http_persona_cond_eval(r, ctx, seg[i].cond,
                                        ngx_http_persona_segment_eval);
    }

    if (rc == NGX_ERROR) {
        ctx->segments[i] = NGX_HTTP_PERSONA_SEG_UNKNOWN;
        return NGX_ERROR;
    }

    ctx->segments[i] = rc ? NGX_HTTP_PERSONA_SEG_IN
                          : NGX_HTTP_PERSONA_SEG_OUT;

    return rc;
}


/* a condition of a target or a content rule, with segments in full */

ngx_int_t
ngx_http_persona_test(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx,
    ngx_http_persona_cond_t *cond)
{
    return ngx_http_persona_cond_eval(r, ctx, cond,
                                      ngx_http_persona_segment_eval);
}


/*
 * 1 if the visitor is in the segment of that name, 0 if not, or
 * NGX_ERROR; a name the configuration does not know can still be on the
 * visitor's list.
 */

ngx_int_t
ngx_http_persona_segment_has(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *name)
{
    ngx_int_t                      i;
    ngx_str_t                      list;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    i = ngx_http_persona_segment_find(pmcf, name);

    if (i != NGX_DECLINED) {
        return ngx_http_persona_segment_eval(r, ctx, i);
    }

    if (ngx_http_persona_crm_list(r, ctx, &list) != NGX_OK) {
        return NGX_ERROR;
    }

    return persona_list_has(list.data, list.len, name->data, name->len);
}


/*
 * Puts the visitor in a segment for this request, as a CRM list entry
 * would: a segment of the configuration is true from now on for every
 * condition that has not been decided yet, any other name joins the
 * visitor's list, which $persona_segments and the events show.
 */

ngx_int_t
ngx_http_persona_segment_add(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *name)
{
    u_char                        *p;
    ngx_int_t                      i;
    ngx_str_t                      list;
    ngx_http_persona_main_conf_t  *pmcf;

    /* the CRM list first: looked up later, it would replace the name */

    if (ngx_http_persona_crm_list(r, ctx, &list) != NGX_OK) {
        return NGX_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    i = ngx_http_persona_segment_find(pmcf, name);

    if (i != NGX_DECLINED) {
        ctx->segments[i] = NGX_HTTP_PERSONA_SEG_IN;
        return NGX_OK;
    }

    if (persona_list_has(list.data, list.len, name->data, name->len)) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, list.len + 1 + name->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->crm.data = p;

    if (list.len) {
        p = ngx_cpymem(p, list.data, list.len);
        *p++ = ',';
    }

    p = ngx_cpymem(p, name->data, name->len);

    ctx->crm.len = p - ctx->crm.data;

    return NGX_OK;
}


/* the CRM's list for the visitor, looked up once the visitor is known */

static ngx_int_t
ngx_http_persona_crm_list(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx,
    ngx_str_t *list)
{
    ngx_http_persona_main_conf_t  *pmcf;

    if (!ctx->crm_done) {
        pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

        if (pmcf->crm != NULL) {
            if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
                return NGX_ERROR;
            }

            if (ngx_http_persona_crm_lookup(r, pmcf->crm, &ctx->id,
                                            &ctx->crm)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        ctx->crm_done = 1;
    }

    *list = ctx->crm;

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

    ctx->varies = 1;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    seg = pmcf->segments.elts;

    if (ngx_http_persona_crm_list(r, ctx, &crm) != NGX_OK) {
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

    p = persona_list_merge(v->data, p, crm.data, crm.len);

    ngx_http_persona_variable_str(v, v->data, p - v->data);

    return NGX_OK;
}
