
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Exposure events as JSON lines, handed to nginx's own logging through
 * variables: $persona_exposures (one line per experiment whose variant
 * this response showed, one per content set whose rule it showed or
 * would have shown but for a holdout) and $persona_exposed ("1" if
 * any).  Logging through access_log keeps buffering, syslog, reopen and
 * graceful shutdown as nginx does them.  Every string is escaped so a
 * line is always valid JSON and valid UTF-8; the client address is never
 * written.
 *
 * A line is a table of fields (see the NGX_HTTP_PERSONA_EV_ names) that
 * src/core/persona_event.c measures and writes; event_common() fills the
 * fields every event shares, conversion.c uses it too.  Lines are of
 * schema 2 ("v":2): exposures carry what analysis needs without the
 * configuration (variant index and weight, traffic, holdout, factors).
 */


#include "ngx_http_persona.h"


static ngx_int_t ngx_http_persona_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_exposed_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_var(ngx_http_request_t *r,
    ngx_int_t index, persona_event_field_t *f);
static ngx_int_t ngx_http_persona_request_id(ngx_http_request_t *r,
    ngx_uint_t index, persona_event_field_t *f);
static ngx_uint_t ngx_http_persona_exposures_count(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t enough);
static ngx_uint_t ngx_http_persona_exposure_fields(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t e, persona_event_field_t *f);


ngx_http_variable_t  ngx_http_persona_event_vars[] = {

    { ngx_string("persona_exposures"), NULL,
      ngx_http_persona_exposures_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("persona_exposed"), NULL,
      ngx_http_persona_exposed_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* the key of each field, in the order of NGX_HTTP_PERSONA_EV_ */

static ngx_str_t  ngx_http_persona_event_keys[] = {
    ngx_string("v"),
    ngx_string("ts"),
    ngx_string("event"),
    ngx_string("id"),
    ngx_string("experiment"),
    ngx_string("variant"),
    ngx_string("variant_index"),
    ngx_string("weight"),
    ngx_string("traffic"),
    ngx_string("factors"),
    ngx_string("content"),
    ngx_string("rule"),
    ngx_string("holdout"),
    ngx_string("goal"),
    ngx_string("value"),
    ngx_string("assignments"),
    ngx_string("entry_channel"),
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

    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_V, PERSONA_EVENT_RAW,
                               (u_char *) "2", 1);
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


/*
 * Experiment i was exposed: its slot or a read of its variant made the
 * response, or a rule set that was shown read its variant (a visitor in
 * the global holdout was exposed to the default).
 */

ngx_uint_t
ngx_http_persona_exposed(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx,
    ngx_uint_t i)
{
    ngx_uint_t                     j, n;
    ngx_http_persona_main_conf_t  *pmcf;

    if (ctx->id.len == 0 || ctx->assign[i] < 0) {
        return 0;
    }

    if (ctx->exposed[i]) {
        return 1;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    n = pmcf->experiments.nelts;

    for (j = 0; j < pmcf->sets.nelts; j++) {
        if (ctx->exposed[n + j] && ctx->reads[j * n + i]) {
            return 1;
        }
    }

    return 0;
}


/* content set j showed a rule, or its default to a held-out visitor */

ngx_uint_t
ngx_http_persona_content_exposed(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t j)
{
    ngx_int_t                         k;
    ngx_http_persona_content_set_t   *set;
    ngx_http_persona_content_rule_t  *rule;
    ngx_http_persona_main_conf_t     *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    if (ctx->id.len == 0
        || !ctx->exposed[pmcf->experiments.nelts + j]
        || !(ctx->set_state[j] & NGX_HTTP_PERSONA_SET_CHOSEN))
    {
        return 0;
    }

    k = ctx->rule[j];

    if (k < 0) {
        return 0;
    }

    set = pmcf->sets.elts;
    rule = set[j].rules.elts;

    return rule[k].cond != NULL;
}


/*
 * Exposures of the request, up to "enough".  A subrequest (an SSI include
 * logged with log_subrequest on) has none of its own: the page view is
 * the main request's, logged last with every exposure its subrequests
 * made.
 */

static ngx_uint_t
ngx_http_persona_exposures_count(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t enough)
{
    ngx_uint_t                     e, n, ne, count;
    ngx_http_persona_main_conf_t  *pmcf;

    if (ctx == NULL || ctx->id.len == 0 || r != r->main) {
        return 0;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    n = pmcf->experiments.nelts;
    ne = ngx_http_persona_exposures_n(r);

    count = 0;

    for (e = 0; e < ne && count < enough; e++) {
        count += (e < n) ? ngx_http_persona_exposed(r, ctx, e)
                         : ngx_http_persona_content_exposed(r, ctx, e - n);
    }

    return count;
}


/* the fields of exposure e (numbered as slot.c does), if it is one */

static ngx_uint_t
ngx_http_persona_exposure_fields(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t e, persona_event_field_t *f)
{
    ngx_int_t                         k;
    ngx_str_t                         held;
    ngx_uint_t                        j, n;
    ngx_http_persona_variant_t       *var;
    ngx_http_persona_experiment_t    *exp;
    ngx_http_persona_content_set_t   *set;
    ngx_http_persona_content_rule_t  *rule;
    ngx_http_persona_main_conf_t     *pmcf;

    static ngx_str_t  yes = ngx_string("true");
    static ngx_str_t  no = ngx_string("false");

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    n = pmcf->experiments.nelts;

    for (j = NGX_HTTP_PERSONA_EV_EXPERIMENT; j <= NGX_HTTP_PERSONA_EV_HOLDOUT;
         j++)
    {
        ngx_http_persona_event_set(f, j, PERSONA_EVENT_SKIP, NULL, 0);
    }

    /* names are restricted at configuration: no escaping needed */

    if (e < n) {
        if (!ngx_http_persona_exposed(r, ctx, e)) {
            return 0;
        }

        exp = pmcf->experiments.elts;
        exp = &exp[e];
        k = ctx->assign[e];
        var = exp->variants.elts;
        var = &var[k];

        held = ngx_http_persona_holdout(r, ctx) == 1 ? yes : no;

        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_EXPERIMENT,
                                   PERSONA_EVENT_NAME, exp->name.data,
                                   exp->name.len);
        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_VARIANT,
                                   PERSONA_EVENT_NAME, var->name.data,
                                   var->name.len);
        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_VARIANT_INDEX,
                                   PERSONA_EVENT_RAW, var->index_text.data,
                                   var->index_text.len);
        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_WEIGHT,
                                   PERSONA_EVENT_RAW, var->weight_text.data,
                                   var->weight_text.len);
        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_TRAFFIC,
                                   PERSONA_EVENT_RAW, exp->traffic_text.data,
                                   exp->traffic_text.len);
        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_HOLDOUT,
                                   PERSONA_EVENT_RAW, held.data, held.len);

        if (var->factors.len) {
            ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_FACTORS,
                                       PERSONA_EVENT_RAW, var->factors.data,
                                       var->factors.len);
        }

        return 1;
    }

    j = e - n;

    if (!ngx_http_persona_content_exposed(r, ctx, j)) {
        return 0;
    }

    set = pmcf->sets.elts;
    set = &set[j];
    rule = set->rules.elts;
    k = ctx->rule[j];

    held = (ctx->set_state[j] & NGX_HTTP_PERSONA_SET_HELD) ? yes : no;

    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_CONTENT,
                               PERSONA_EVENT_NAME, set->name.data,
                               set->name.len);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_RULE,
                               PERSONA_EVENT_NAME, rule[k].name.data,
                               rule[k].name.len);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_HOLDOUT,
                               PERSONA_EVENT_RAW, held.data, held.len);

    return 1;
}


static ngx_int_t
ngx_http_persona_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    size_t                   len;
    ngx_uint_t               i, n, ne;
    persona_event_field_t    f[NGX_HTTP_PERSONA_EV_N];
    ngx_http_persona_ctx_t  *ctx;

    ctx = ngx_http_persona_find_ctx(r);

    ne = ngx_http_persona_exposures_n(r);
    n = ngx_http_persona_exposures_count(r, ctx, ne);

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

    len = 0;

    for (i = 0; i < ne; i++) {
        if (ngx_http_persona_exposure_fields(r, ctx, i, f)) {
            len += persona_event_len(f, NGX_HTTP_PERSONA_EV_N) + 1;
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < ne; i++) {
        if (!ngx_http_persona_exposure_fields(r, ctx, i, f)) {
            continue;
        }

        if (p != v->data) {
            *p++ = '\n';
        }

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
    ngx_uint_t  n;

    n = ngx_http_persona_exposures_count(r, ngx_http_persona_find_ctx(r), 1);

    ngx_http_persona_variable_str(v, (u_char *) "1", n);

    return NGX_OK;
}
