
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Exposure and conversion events as JSON lines, handed to nginx's own
 * logging through variables: $persona_exposures (one line per experiment
 * whose variant this response showed), $persona_exposed ("1" if any) and
 * $persona_conversion at a persona_conversion location.  Logging through
 * access_log keeps buffering, syslog, reopen and graceful shutdown as
 * nginx does them.  Every string is escaped so a line is always valid
 * JSON and valid UTF-8; the client address is never written.
 */


#include "ngx_http_persona_module.h"

#include "persona_json.h"


#define NGX_HTTP_PERSONA_GOAL_MAX   64
#define NGX_HTTP_PERSONA_VALUE_MAX  32


typedef struct {
    ngx_str_t                   ts;
    ngx_str_t                   id;
    ngx_str_t                   segments;
    ngx_str_t                   country;
    ngx_str_t                   device;
    ngx_str_t                   channel;
    ngx_str_t                   uri;
    ngx_str_t                   request_id;
} ngx_http_persona_event_t;


static ngx_int_t ngx_http_persona_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_exposed_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_conversion_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_event_common(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_event_t *ev);
static size_t ngx_http_persona_event_len(ngx_http_persona_event_t *ev);
static u_char *ngx_http_persona_event_write(u_char *p,
    ngx_http_persona_event_t *ev);
static u_char *ngx_http_persona_json_str(u_char *p, const char *key,
    ngx_str_t *s);
static ngx_int_t ngx_http_persona_var(ngx_http_request_t *r,
    ngx_int_t index, ngx_str_t *s);
static ngx_int_t ngx_http_persona_request_id(ngx_http_request_t *r,
    ngx_uint_t index, ngx_str_t *s);
static ngx_int_t ngx_http_persona_conversion_handler(ngx_http_request_t *r);
static void ngx_http_persona_conversion_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_persona_arg(ngx_str_t *args, const char *name,
    size_t len, ngx_str_t *value);
static ngx_int_t ngx_http_persona_conversion_event(ngx_http_request_t *r,
    ngx_str_t *args);


static ngx_http_variable_t  ngx_http_persona_event_vars[] = {

    { ngx_string("persona_exposures"), NULL,
      ngx_http_persona_exposures_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("persona_exposed"), NULL,
      ngx_http_persona_exposed_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("persona_conversion"), NULL,
      ngx_http_persona_conversion_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_persona_event_var_names[] = {
    ngx_string("persona_segments"),
    ngx_string("persona_country"),
    ngx_string("persona_device"),
    ngx_string("persona_channel"),
    ngx_string("request_id"),
};


ngx_int_t
ngx_http_persona_add_event_variables(ngx_conf_t *cf)
{
    return ngx_http_persona_register_variables(cf, ngx_http_persona_event_vars);
}


char *
ngx_http_persona_event_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    ngx_uint_t  i;

    for (i = 0; i < 5; i++) {
        pmcf->event_index[i] = ngx_http_get_variable_index(cf,
                                        &ngx_http_persona_event_var_names[i]);
        if (pmcf->event_index[i] == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_persona_var(ngx_http_request_t *r, ngx_int_t index, ngx_str_t *s)
{
    ngx_http_variable_value_t  *vv;

    vv = ngx_http_get_indexed_variable(r, index);

    if (vv == NULL) {
        return NGX_ERROR;
    }

    if (vv->not_found) {
        ngx_str_null(s);
        return NGX_OK;
    }

    s->len = vv->len;
    s->data = vv->data;

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
    ngx_str_t *s)
{
    ngx_http_variable_value_t  *vv;

    vv = &r->variables[index];

    if (vv->valid && !vv->not_found) {
        s->len = vv->len;
        s->data = vv->data;
        return NGX_OK;
    }

    if (ngx_http_persona_random_id(r, s) != NGX_OK) {
        return NGX_ERROR;
    }

    vv->len = s->len;
    vv->data = s->data;
    vv->valid = 1;
    vv->no_cacheable = 0;
    vv->not_found = 0;

    return NGX_OK;
}


/* the fields every event carries, escaped for JSON */

static ngx_int_t
ngx_http_persona_event_common(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_event_t *ev)
{
    u_char                        *p, *q, *comma;
    size_t                         len;
    ngx_tm_t                       tm;
    ngx_str_t                      raw[5], *dst[5];
    ngx_uint_t                     i, n;
    ngx_http_request_t            *mr;
    ngx_http_persona_main_conf_t  *pmcf;

    mr = r->main;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    /* the time the request started: a conversion fired by a page comes
     * after the request that showed the page */

    ev->ts.data = ngx_pnalloc(r->pool, sizeof("2026-12-03T09:15:02.123Z"));
    if (ev->ts.data == NULL) {
        return NGX_ERROR;
    }

    ngx_gmtime(mr->start_sec, &tm);

    ev->ts.len = ngx_sprintf(ev->ts.data,
                             "%4d-%02d-%02dT%02d:%02d:%02d.%03MZ",
                             tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                             tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                             mr->start_msec)
                 - ev->ts.data;

    dst[0] = &ev->segments;
    dst[1] = &ev->country;
    dst[2] = &ev->device;
    dst[3] = &ev->channel;
    dst[4] = &ev->request_id;

    for (i = 0; i < 4; i++) {
        if (ngx_http_persona_var(r, pmcf->event_index[i], &raw[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_persona_request_id(mr, pmcf->event_index[4], &raw[4])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the path as requested, without the query string that may carry
     * tokens, and before internal redirects */

    ev->uri = mr->unparsed_uri;

    if (mr->args_start != NULL && mr->args_start > mr->unparsed_uri.data) {
        ev->uri.len = mr->args_start - 1 - mr->unparsed_uri.data;
    }

    for (i = 0; i < 5; i++) {
        len = persona_json_escape_len(raw[i].data, raw[i].len);

        if (i == 0) {
            /* "a,b" becomes ["a","b"] */

            n = 0;

            for (p = raw[0].data; p < raw[0].data + raw[0].len; p++) {
                n += (*p == ',');
            }

            len += 2 + (raw[0].len ? 2 + 2 * n : 0);
        }

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        dst[i]->data = p;

        if (i != 0) {
            dst[i]->len = persona_json_escape(p, raw[i].data, raw[i].len)
                          - p;
            continue;
        }

        *p++ = '[';

        if (raw[0].len) {
            *p++ = '"';

            q = raw[0].data;

            while (q < raw[0].data + raw[0].len) {
                comma = ngx_strlchr(q, raw[0].data + raw[0].len, ',');

                if (comma == NULL) {
                    p = persona_json_escape(p, q,
                                            raw[0].data + raw[0].len - q);
                    break;
                }

                p = persona_json_escape(p, q, comma - q);
                p = ngx_cpymem(p, "\",\"", 3);
                q = comma + 1;
            }

            *p++ = '"';
        }

        *p++ = ']';

        dst[0]->len = p - dst[0]->data;
    }

    len = persona_json_escape_len(ctx->id.data, ctx->id.len);
    ev->id.data = ngx_pnalloc(r->pool, len);
    if (ev->id.data == NULL) {
        return NGX_ERROR;
    }

    ev->id.len = persona_json_escape(ev->id.data, ctx->id.data, ctx->id.len)
                 - ev->id.data;

    len = persona_json_escape_len(ev->uri.data, ev->uri.len);
    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ev->uri.len = persona_json_escape(p, ev->uri.data, ev->uri.len) - p;
    ev->uri.data = p;

    return NGX_OK;
}


static size_t
ngx_http_persona_event_len(ngx_http_persona_event_t *ev)
{
    return sizeof("{\"ts\":\"\",\"event\":\"conversion\",\"id\":\"\","
                  "\"segments\":,\"country\":\"\",\"device\":\"\","
                  "\"channel\":\"\",\"uri\":\"\",\"request_id\":\"\"}")
           + ev->ts.len + ev->id.len + ev->segments.len + ev->country.len
           + ev->device.len + ev->channel.len + ev->uri.len
           + ev->request_id.len;
}


/* ,"key":"value" with the value already escaped */

static u_char *
ngx_http_persona_json_str(u_char *p, const char *key, ngx_str_t *s)
{
    *p++ = ',';
    *p++ = '"';
    p = ngx_cpymem(p, key, ngx_strlen(key));
    *p++ = '"';
    *p++ = ':';
    *p++ = '"';
    p = ngx_cpymem(p, s->data, s->len);
    *p++ = '"';

    return p;
}


/* the fields after "event", "experiment"... : segments to request_id */

static u_char *
ngx_http_persona_event_write(u_char *p, ngx_http_persona_event_t *ev)
{
    p = ngx_cpymem(p, ",\"segments\":", sizeof(",\"segments\":") - 1);
    p = ngx_cpymem(p, ev->segments.data, ev->segments.len);
    p = ngx_http_persona_json_str(p, "country", &ev->country);
    p = ngx_http_persona_json_str(p, "device", &ev->device);
    p = ngx_http_persona_json_str(p, "channel", &ev->channel);
    p = ngx_http_persona_json_str(p, "uri", &ev->uri);
    p = ngx_http_persona_json_str(p, "request_id", &ev->request_id);

    *p++ = '}';

    return p;
}


static ngx_int_t
ngx_http_persona_exposures_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    size_t                          len, common;
    ngx_int_t                       k;
    ngx_uint_t                      i, n;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_event_t        ev;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    ctx = ngx_http_persona_find_ctx(r);

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    n = 0;
    len = 0;

    for (i = 0; ctx != NULL && ctx->id.len && i < pmcf->experiments.nelts;
         i++)
    {
        k = ctx->assign[i];

        if (ctx->exposed[i] && k >= 0) {
            var = exp[i].variants.elts;
            len += sizeof(",\"experiment\":\"\",\"variant\":\"\"\n")
                   + exp[i].name.len + var[k].name.len;
            n++;
        }
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    if (n == 0) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    /* log formats read a variable twice (length, then value) */

    if (ctx->exposures_n == n) {
        v->len = ctx->exposures.len;
        v->data = ctx->exposures.data;
        return NGX_OK;
    }

    if (ngx_http_persona_event_common(r, ctx, &ev) != NGX_OK) {
        return NGX_ERROR;
    }

    common = ngx_http_persona_event_len(&ev);

    p = ngx_pnalloc(r->pool, len + n * common);
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

        /* names are restricted at configuration: no escaping needed */

        p = ngx_cpymem(p, "{\"ts\":\"", sizeof("{\"ts\":\"") - 1);
        p = ngx_cpymem(p, ev.ts.data, ev.ts.len);
        p = ngx_cpymem(p, "\",\"event\":\"exposure\",\"id\":\"",
                       sizeof("\",\"event\":\"exposure\",\"id\":\"") - 1);
        p = ngx_cpymem(p, ev.id.data, ev.id.len);
        *p++ = '"';
        p = ngx_http_persona_json_str(p, "experiment", &exp[i].name);
        p = ngx_http_persona_json_str(p, "variant", &var[k].name);
        p = ngx_http_persona_event_write(p, &ev);
    }

    v->len = p - v->data;

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

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->len = 0;
    v->data = (u_char *) "";

    for (i = 0; ctx != NULL && ctx->id.len && i < pmcf->experiments.nelts;
         i++)
    {
        if (ctx->exposed[i] && ctx->assign[i] >= 0) {
            v->len = 1;
            v->data = (u_char *) "1";
            break;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_conversion_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_persona_ctx_t  *ctx;

    ctx = ngx_http_persona_find_ctx(r);

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    if (ctx == NULL || ctx->conversion.len == 0) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    v->len = ctx->conversion.len;
    v->data = ctx->conversion.data;

    return NGX_OK;
}


/* persona_conversion [goals=a,b,c]; */

char *
ngx_http_persona_conversion(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (plcf->goals != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    plcf->goals = NULL;

    if (cf->args->nelts == 2) {
        if (ngx_strncmp(value[1].data, "goals=", 6) != 0
            || value[1].len == 6)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        plcf->goals = ngx_palloc(cf->pool, sizeof(ngx_str_t));
        if (plcf->goals == NULL) {
            return NGX_CONF_ERROR;
        }

        plcf->goals->len = value[1].len - 6;
        plcf->goals->data = value[1].data + 6;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_persona_conversion_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_persona_conversion_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r->method == NGX_HTTP_POST) {
        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r,
                                         ngx_http_persona_conversion_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    if (!(r->method & NGX_HTTP_GET)) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_persona_conversion_event(r, &r->args);

    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* a form body (goal=...&value=...), else the query string */

static void
ngx_http_persona_conversion_body(ngx_http_request_t *r)
{
    ngx_int_t     rc;
    ngx_str_t     args;
    ngx_buf_t    *b;

    args = r->args;

    if (r->request_body != NULL && r->request_body->bufs != NULL) {
        b = r->request_body->bufs->buf;

        if (r->request_body->bufs->next == NULL && !b->in_file
            && b->last > b->pos)
        {
            args.data = b->pos;
            args.len = b->last - b->pos;
        }
    }

    rc = ngx_http_persona_conversion_event(r, &args);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->header_only = 1;

    ngx_http_finalize_request(r, ngx_http_send_header(r));
}


static ngx_int_t
ngx_http_persona_arg(ngx_str_t *args, const char *name, size_t len,
    ngx_str_t *value)
{
    u_char  *p, *last, *amp;

    p = args->data;
    last = p + args->len;

    while (p < last) {
        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        if ((size_t) (amp - p) > len && p[len] == '='
            && ngx_strncmp(p, name, len) == 0)
        {
            value->data = p + len + 1;
            value->len = amp - value->data;
            return NGX_OK;
        }

        if ((size_t) (amp - p) == len && ngx_strncmp(p, name, len) == 0) {
            value->data = p + len;
            value->len = 0;
            return NGX_OK;
        }

        p = amp + 1;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_persona_conversion_event(ngx_http_request_t *r, ngx_str_t *args)
{
    u_char                         *p, *s, *last, *dot;
    size_t                          len;
    ngx_int_t                       k;
    ngx_str_t                       goal, value;
    ngx_uint_t                      i, ok;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_event_t        ev;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_loc_conf_t    *plcf;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);

    if (ngx_http_persona_arg(args, "goal", 4, &goal) != NGX_OK
        || goal.len == 0 || goal.len > NGX_HTTP_PERSONA_GOAL_MAX)
    {
        return NGX_HTTP_BAD_REQUEST;
    }

    for (i = 0; i < goal.len; i++) {
        if (!((goal.data[i] >= 'a' && goal.data[i] <= 'z')
              || (goal.data[i] >= 'A' && goal.data[i] <= 'Z')
              || (goal.data[i] >= '0' && goal.data[i] <= '9')
              || goal.data[i] == '_' || goal.data[i] == '-'
              || goal.data[i] == '.'))
        {
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    if (plcf->goals != NULL) {
        ok = 0;
        s = plcf->goals->data;
        last = s + plcf->goals->len;

        while (s < last && !ok) {
            p = ngx_strlchr(s, last, ',');
            if (p == NULL) {
                p = last;
            }

            ok = ((size_t) (p - s) == goal.len
                  && ngx_strncmp(s, goal.data, goal.len) == 0);
            s = p + 1;
        }

        if (!ok) {
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    /* value: an optional decimal number such as 12.5 or -3 */

    ngx_str_null(&value);

    if (ngx_http_persona_arg(args, "value", 5, &value) == NGX_OK) {
        if (value.len == 0 || value.len > NGX_HTTP_PERSONA_VALUE_MAX) {
            return NGX_HTTP_BAD_REQUEST;
        }

        p = value.data;
        last = p + value.len;
        dot = NULL;

        if (*p == '-') {
            p++;
        }

        if (p == last || *p < '0' || *p > '9') {
            return NGX_HTTP_BAD_REQUEST;
        }

        for ( /* void */ ; p < last; p++) {
            if (*p == '.' && dot == NULL && p + 1 < last) {
                dot = p;
                continue;
            }

            if (*p < '0' || *p > '9') {
                return NGX_HTTP_BAD_REQUEST;
            }
        }

        /* JSON forbids leading zeros: "007" is not a number there */

        p = value.data + (value.data[0] == '-');

        if (p[0] == '0' && p + 1 < last && p[1] != '.') {
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a beacon never creates a visitor: there is nothing to join it to */

    ctx->no_new_id = 1;

    if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->id.len == 0) {
        return NGX_OK;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    len = sizeof(",\"goal\":\"\",\"value\":,\"assignments\":{}")
          + goal.len + value.len;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ngx_http_persona_assign(r, ctx, &exp[i]);

        if (k == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (k >= 0) {
            var = exp[i].variants.elts;
            len += sizeof(",\"\":\"\"") + exp[i].name.len + var[k].name.len;
        }
    }

    if (ngx_http_persona_event_common(r, ctx, &ev) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, len + ngx_http_persona_event_len(&ev));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->conversion.data = p;

    p = ngx_sprintf(p, "{\"ts\":\"%V\",\"event\":\"conversion\","
                    "\"id\":\"%V\",\"goal\":\"%V\"",
                    &ev.ts, &ev.id, &goal);

    if (value.len) {
        p = ngx_sprintf(p, ",\"value\":%V", &value);
    }

    p = ngx_cpymem(p, ",\"assignments\":{", 16);
    s = p;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ctx->assign[i];

        if (k < 0) {
            continue;
        }

        var = exp[i].variants.elts;

        p = ngx_sprintf(p, "%s\"%V\":\"%V\"", p == s ? "" : ",",
                        &exp[i].name, &var[k].name);
    }

    *p++ = '}';

    p = ngx_http_persona_event_write(p, &ev);

    ctx->conversion.len = p - ctx->conversion.data;

    return NGX_OK;
}
