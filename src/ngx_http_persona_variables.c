
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * $persona_id, $persona_assignments and one $persona_variant_NAME per
 * experiment.  Values come from the request context, so reading them any
 * number of times, before or after an internal redirect, computes the
 * identity and each assignment once.
 */


#include "ngx_http_persona_module.h"


static ngx_int_t ngx_http_persona_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_assignments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_persona_vars[] = {

    { ngx_string("persona_id"), NULL,
      ngx_http_persona_id_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("persona_assignments"), NULL,
      ngx_http_persona_assignments_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* registers a table of variables ending with ngx_http_null_variable */

ngx_int_t
ngx_http_persona_register_variables(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_persona_add_variables(ngx_conf_t *cf)
{
    if (ngx_http_persona_register_variables(cf, ngx_http_persona_vars)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_persona_add_event_variables(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_persona_add_context_variables(cf);
}


ngx_int_t
ngx_http_persona_add_experiment_variable(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp)
{
    ngx_str_t             name;
    ngx_http_variable_t  *var;

    name.len = sizeof("persona_variant_") - 1 + exp->name.len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(name.data, "persona_variant_%V", &exp->name);

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_persona_variant_variable;
    var->data = exp->index;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_persona_ctx_t  *ctx;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->id.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ctx->id.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = ctx->id.data;

    return NGX_OK;
}


/*
 * Reading the variable while the response is still being prepared (for
 * proxy_set_header, rewrite, proxy_pass, add_header...) means the variant
 * changed what the visitor gets: that is an exposure.  Reads once the
 * header is sent (log_format) are not.
 */

static ngx_int_t
ngx_http_persona_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t                       i;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;
    exp = &exp[data];

    i = ngx_http_persona_assign(r, ctx, exp);

    if (i == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (i < 0) {
        v->len = 0;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    if (!r->main->header_sent && r->main->method != NGX_HTTP_HEAD) {
        ctx->exposed[data] |= NGX_HTTP_PERSONA_EXPOSED_VAR;
    }

    var = exp->variants.elts;

    v->len = var[i].name.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = var[i].name.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_assignments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    size_t                          len;
    ngx_int_t                       k;
    ngx_uint_t                      i;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    len = 0;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ngx_http_persona_assign(r, ctx, &exp[i]);

        if (k == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (k >= 0) {
            var = exp[i].variants.elts;
            len += exp[i].name.len + 1 + var[k].name.len + 1;
        }
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    if (len == 0) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ctx->assign[i];

        if (k < 0) {
            continue;
        }

        if (p != v->data) {
            *p++ = ',';
        }

        var = exp[i].variants.elts;
        p = ngx_sprintf(p, "%V=%V", &exp[i].name, &var[k].name);
    }

    v->len = p - v->data;

    return NGX_OK;
}
