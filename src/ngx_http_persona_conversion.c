
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The conversion beacon: a persona_conversion location answers 204 to
 * GET ?goal=..&value=.. or to a POST form body (navigator.sendBeacon),
 * and its $persona_conversion holds the conversion event for the access
 * log.  A beacon never creates a visitor: without a known id nothing is
 * logged.  The body may come in any number of pieces (chunked, HTTP/2
 * frames, after the header buffer filled): it is read whole, up to
 * NGX_HTTP_PERSONA_BODY_MAX bytes, and a larger body gets 413.
 *
 * The event names the channel of entry (entry.c) besides the beacon's
 * own, and whether the visitor is in the global holdout, whose
 * visitors are in no experiment.
 *
 * conversion_record() makes the event; the Lua library calls it too, and
 * each conversion a request records is one more line of the variable.
 */


#include "ngx_http_persona.h"

#include "persona_list.h"


#define NGX_HTTP_PERSONA_VALUE_MAX  32
#define NGX_HTTP_PERSONA_BODY_MAX   4096


static ngx_int_t ngx_http_persona_conversion_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_conversion_handler(ngx_http_request_t *r);
static void ngx_http_persona_conversion_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_persona_body_args(ngx_http_request_t *r,
    ngx_str_t *args);
static ngx_int_t ngx_http_persona_arg(ngx_str_t *args, const char *name,
    size_t len, ngx_str_t *value);
static ngx_int_t ngx_http_persona_valid_value(ngx_str_t *value);
static ngx_int_t ngx_http_persona_conversion_event(ngx_http_request_t *r,
    ngx_str_t *args);


ngx_http_variable_t  ngx_http_persona_conversion_vars[] = {

    { ngx_string("persona_conversion"), NULL,
      ngx_http_persona_conversion_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


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
    ngx_int_t  rc;
    ngx_str_t  args;

    rc = ngx_http_persona_body_args(r, &args);

    if (rc == NGX_OK) {
        rc = ngx_http_persona_conversion_event(r, args.len ? &args
                                                           : &r->args);
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->header_only = 1;

    ngx_http_finalize_request(r, ngx_http_send_header(r));
}


/*
 * The body as one string, whatever the buffers nginx read it into: parts
 * of the header buffer, body buffers, or a temporary file when it was
 * larger than client_body_buffer_size (then it is over the limit anyway).
 */

static ngx_int_t
ngx_http_persona_body_args(ngx_http_request_t *r, ngx_str_t *args)
{
    u_char       *p;
    size_t        len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(args);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        if (ngx_buf_in_memory(b)) {
            len += b->last - b->pos;
        }

        if (len > NGX_HTTP_PERSONA_BODY_MAX) {
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL || len == 0) {
        args->data = cl->buf->pos;
        args->len = len;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    args->data = p;
    args->len = len;

    for ( /* void */ ; cl; cl = cl->next) {
        if (ngx_buf_in_memory(cl->buf)) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    return NGX_OK;
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


/* an optional decimal number such as 12.5 or -3, as JSON writes it */

static ngx_int_t
ngx_http_persona_valid_value(ngx_str_t *value)
{
    u_char  *p, *last, *dot;

    if (value->len == 0 || value->len > NGX_HTTP_PERSONA_VALUE_MAX) {
        return NGX_ERROR;
    }

    p = value->data;
    last = p + value->len;
    dot = NULL;

    if (*p == '-') {
        p++;
    }

    if (p == last || *p < '0' || *p > '9') {
        return NGX_ERROR;
    }

    for ( /* void */ ; p < last; p++) {
        if (*p == '.' && dot == NULL && p + 1 < last) {
            dot = p;
            continue;
        }

        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }
    }

    /* JSON forbids leading zeros: "007" is not a number there */

    p = value->data + (value->data[0] == '-');

    if (p[0] == '0' && p + 1 < last && p[1] != '.') {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_conversion_event(ngx_http_request_t *r, ngx_str_t *args)
{
    ngx_int_t  rc;
    ngx_str_t  goal, value;

    if (ngx_http_persona_arg(args, "goal", 4, &goal) != NGX_OK) {
        return NGX_HTTP_BAD_REQUEST;
    }

    ngx_str_null(&value);

    (void) ngx_http_persona_arg(args, "value", 5, &value);

    rc = ngx_http_persona_conversion_record(r, &goal, &value);

    return rc == NGX_DECLINED ? NGX_OK : rc;
}


/*
 * The conversion event of goal and value (value.data NULL: none):
 * NGX_OK, NGX_DECLINED when the visitor is not known (nothing to join
 * the event to), NGX_HTTP_BAD_REQUEST for a goal or value the location
 * refuses, NGX_HTTP_INTERNAL_SERVER_ERROR.
 */

ngx_int_t
ngx_http_persona_conversion_record(ngx_http_request_t *r, ngx_str_t *goal,
    ngx_str_t *value)
{
    u_char                         *p, *s;
    size_t                          len;
    ngx_int_t                       k, held;
    ngx_str_t                       entry;
    ngx_uint_t                      i;
    ngx_str_t                       line;
    ngx_keyval_t                   *kv;
    persona_event_field_t           f[NGX_HTTP_PERSONA_EV_N];
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_loc_conf_t    *plcf;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);

    if (!ngx_http_persona_valid_name(goal, "-.")
        || (plcf->goals != NULL
            && !persona_list_has(plcf->goals->data, plcf->goals->len,
                                 goal->data, goal->len)))
    {
        return NGX_HTTP_BAD_REQUEST;
    }

    if (value->data != NULL && ngx_http_persona_valid_value(value) != NGX_OK)
    {
        return NGX_HTTP_BAD_REQUEST;
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
        return NGX_DECLINED;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    /* the visitor's assignments, {"hero":"winter",...} */

    len = sizeof("{}") - 1;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ngx_http_persona_variant_shown(r, ctx, &exp[i]);

        if (k == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (k >= 0) {
            var = exp[i].variants.elts;
            len += sizeof(",\"\":\"\"") - 1 + exp[i].name.len
                   + var[k].name.len;
        }
    }

    s = ngx_pnalloc(r->pool, len);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = s;
    *p++ = '{';

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ngx_http_persona_variant_shown(r, ctx, &exp[i]);

        if (k < 0) {
            continue;
        }

        var = exp[i].variants.elts;

        p = ngx_sprintf(p, "%s\"%V\":\"%V\"", p == s + 1 ? "" : ",",
                        &exp[i].name, &var[k].name);
    }

    *p++ = '}';

    held = ngx_http_persona_holdout(r, ctx);

    if (held == NGX_ERROR
        || ngx_http_persona_entry_channel(r, &entry) != NGX_OK
        || ngx_http_persona_event_common(r, ctx, f) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_EVENT,
                               PERSONA_EVENT_NAME, (u_char *) "conversion",
                               sizeof("conversion") - 1);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_GOAL,
                               PERSONA_EVENT_NAME, goal->data, goal->len);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_VALUE,
                               value->len ? PERSONA_EVENT_RAW
                                          : PERSONA_EVENT_SKIP,
                               value->data, value->len);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_ASSIGNMENTS,
                               PERSONA_EVENT_RAW, s, p - s);
    ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_ENTRY_CHANNEL,
                               PERSONA_EVENT_STR, entry.data, entry.len);

    if (held) {
        ngx_http_persona_event_set(f, NGX_HTTP_PERSONA_EV_HOLDOUT,
                                   PERSONA_EVENT_RAW, (u_char *) "true",
                                   sizeof("true") - 1);
    }

    /* for the metrics, counted when the request is logged */

    if (ctx->goals == NULL) {
        ctx->goals = ngx_array_create(r->pool, 1, sizeof(ngx_keyval_t));
        if (ctx->goals == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    kv = ngx_array_push(ctx->goals);
    if (kv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kv->key = *goal;
    kv->value = *value;
    ctx->entry = entry;

    /* after the lines recorded before, if any */

    len = ctx->conversion.len + 1
          + persona_event_len(f, NGX_HTTP_PERSONA_EV_N);

    line.data = ngx_pnalloc(r->pool, len);
    if (line.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = line.data;

    if (ctx->conversion.len) {
        p = ngx_cpymem(p, ctx->conversion.data, ctx->conversion.len);
        *p++ = '\n';
    }

    p = persona_event_write(p, f, NGX_HTTP_PERSONA_EV_N);

    line.len = p - line.data;
    ctx->conversion = line;

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
