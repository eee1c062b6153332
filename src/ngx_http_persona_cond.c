
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Conditions (persona_consent, persona_segment, experiment targets,
 * persona_content rules) and segments.  The language itself lives in
 * src/core/persona_rule.c; this file connects it to nginx: variables by
 * index, segments by number, regular expressions through nginx's PCRE
 * interface (without captures, so that $1... of the request stay as the
 * configuration set them).
 */


#include "ngx_http_persona_module.h"

#include "persona_rule.h"


#define NGX_HTTP_PERSONA_SEG_UNKNOWN  0
#define NGX_HTTP_PERSONA_SEG_BUSY     1
#define NGX_HTTP_PERSONA_SEG_OUT      2
#define NGX_HTTP_PERSONA_SEG_IN       3


struct ngx_http_persona_cond_s {
    persona_rule_t             *rule;
};


typedef struct {
    ngx_http_request_t         *request;
    ngx_http_persona_ctx_t     *ctx;
} ngx_http_persona_cond_rt_t;


static void *ngx_http_persona_cond_alloc(void *data, size_t size);
static int ngx_http_persona_cond_variable(void *data, const unsigned char *name,
    size_t len);
static int ngx_http_persona_cond_segment(void *data, const unsigned char *name,
    size_t len);
static void *ngx_http_persona_cond_regex(void *data, const unsigned char *re,
    size_t len, int caseless, char *err, size_t errlen);
static int ngx_http_persona_cond_get_variable(void *data, int id,
    const unsigned char **p, size_t *len);
static int ngx_http_persona_cond_get_segment(void *data, int id);
static int ngx_http_persona_cond_match(void *data, void *re,
    const unsigned char *s, size_t len);


ngx_http_persona_cond_t *
ngx_http_persona_cond_compile(ngx_conf_t *cf, ngx_str_t *src)
{
    char                      err[NGX_MAX_CONF_ERRSTR];
    persona_rule_env_t        env;
    ngx_http_persona_cond_t  *cond;

    cond = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_cond_t));
    if (cond == NULL) {
        return NULL;
    }

    env.alloc = ngx_http_persona_cond_alloc;
    env.variable = ngx_http_persona_cond_variable;
    env.segment = ngx_http_persona_cond_segment;
    env.regex = ngx_http_persona_cond_regex;
    env.ctx = cf;

    err[0] = '\0';

    cond->rule = persona_rule_compile(src->data, src->len, &env, err,
                                      sizeof(err));
    if (cond->rule == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid condition \"%V\": %s", src, err);
        return NULL;
    }

    return cond;
}


static void *
ngx_http_persona_cond_alloc(void *data, size_t size)
{
    ngx_conf_t *cf = data;

    return ngx_palloc(cf->pool, size);
}


static int
ngx_http_persona_cond_variable(void *data, const unsigned char *name,
    size_t len)
{
    ngx_conf_t *cf = data;

    ngx_int_t  index;
    ngx_str_t  s;

    s.len = len;
    s.data = (u_char *) name;

    /* unknown names are reported by nginx when variables are set up */

    index = ngx_http_get_variable_index(cf, &s);

    return index == NGX_ERROR ? -1 : (int) index;
}


/*
 * Segments may be referred to before they are defined (an experiments
 * file included before the segments file); a reference creates the entry
 * and init_main_conf checks that every entry got a condition.
 */

static int
ngx_http_persona_cond_segment(void *data, const unsigned char *name,
    size_t len)
{
    ngx_conf_t *cf = data;

    ngx_str_t                       s;
    ngx_int_t                       i;

    s.len = len;
    s.data = (u_char *) name;

    i = ngx_http_persona_segment_index(cf, &s, 1);

    return i == NGX_ERROR ? -1 : (int) i;
}


static void *
ngx_http_persona_cond_regex(void *data, const unsigned char *re, size_t len,
    int caseless, char *err, size_t errlen)
{
    ngx_conf_t *cf = data;

    u_char               errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_compile_t  rc;

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern.len = len;
    rc.pattern.data = ngx_pnalloc(cf->pool, len);
    if (rc.pattern.data == NULL) {
        return NULL;
    }

    ngx_memcpy(rc.pattern.data, re, len);

    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;
    rc.options = caseless ? NGX_REGEX_CASELESS : 0;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_snprintf((u_char *) err, errlen - 1, "%V%Z", &rc.err);
        err[errlen - 1] = '\0';
        return NULL;
    }

    return rc.regex;
}


ngx_int_t
ngx_http_persona_cond_eval(ngx_http_request_t *r,
    ngx_http_persona_cond_t *cond)
{
    int                          rc;
    persona_rule_rt_t            rt;
    ngx_http_persona_cond_rt_t   data;

    data.request = r;
    data.ctx = ngx_http_persona_get_ctx(r);

    if (data.ctx == NULL) {
        return NGX_ERROR;
    }

    rt.variable = ngx_http_persona_cond_get_variable;
    rt.segment = ngx_http_persona_cond_get_segment;
    rt.regex = ngx_http_persona_cond_match;
    rt.ctx = &data;

    rc = persona_rule_eval(cond->rule, &rt);

    return rc < 0 ? NGX_ERROR : rc;
}


static int
ngx_http_persona_cond_get_variable(void *data, int id,
    const unsigned char **p, size_t *len)
{
    ngx_http_persona_cond_rt_t *rt = data;

    ngx_http_variable_value_t  *vv;

    vv = ngx_http_get_indexed_variable(rt->request, id);

    if (vv == NULL) {
        return -1;
    }

    if (vv->not_found) {
        *p = (const unsigned char *) "";
        *len = 0;
        return 0;
    }

    *p = vv->data;
    *len = vv->len;

    return 0;
}


static int
ngx_http_persona_cond_get_segment(void *data, int id)
{
    ngx_http_persona_cond_rt_t *rt = data;

    ngx_int_t  rc;

    rc = ngx_http_persona_segment_eval(rt->request, rt->ctx, id);

    return rc == NGX_ERROR ? -1 : (int) rc;
}


static int
ngx_http_persona_cond_match(void *data, void *re, const unsigned char *s,
    size_t len)
{
    ngx_http_persona_cond_rt_t *rt = data;

    ngx_int_t  rc;
    ngx_str_t  subject;

    subject.len = len;
    subject.data = (u_char *) s;

    rc = ngx_regex_exec((ngx_regex_t *) re, &subject, NULL, 0);

    if (rc >= 0) {
        return 1;
    }

    if (rc == NGX_REGEX_NO_MATCHED) {
        return 0;
    }

    ngx_log_error(NGX_LOG_ALERT, rt->request->connection->log, 0,
                  ngx_regex_exec_n " failed: %i on \"%*s\"", rc, len, s);

    return -1;
}


ngx_int_t
ngx_http_persona_segment_index(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t add)
{
    ngx_uint_t                     i;
    ngx_http_persona_segment_t    *seg;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    seg = pmcf->segments.elts;

    for (i = 0; i < pmcf->segments.nelts; i++) {
        if (seg[i].name.len == name->len
            && ngx_strncmp(seg[i].name.data, name->data, name->len) == 0)
        {
            return i;
        }
    }

    if (!add) {
        return NGX_DECLINED;
    }

    seg = ngx_array_push(&pmcf->segments);
    if (seg == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(seg, sizeof(ngx_http_persona_segment_t));

    seg->name.len = name->len;
    seg->name.data = ngx_pstrdup(cf->pool, name);
    if (seg->name.data == NULL) {
        return NGX_ERROR;
    }

    seg->file = cf->conf_file->file.name;
    seg->line = cf->conf_file->line;

    return pmcf->segments.nelts - 1;
}


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

    /* the condition may add segments: the array may move */

    seg[i].cond = ngx_http_persona_cond_compile(cf, &value[2]);

    seg = pmcf->segments.elts;

    if (seg[i].cond == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* every referenced segment is defined, and none depends on itself */

static void
ngx_http_persona_segment_dep(void *data, int id)
{
    ngx_array_t *deps = data;

    int  *d;

    d = ngx_array_push(deps);
    if (d != NULL) {
        *d = id;
    }
}


char *
ngx_http_persona_segments_check(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    int                         *d, *stack;
    u_char                      *state;
    ngx_uint_t                   i, j, k, n, top;
    ngx_array_t                  deps;
    ngx_http_persona_segment_t  *seg;

    seg = pmcf->segments.elts;
    n = pmcf->segments.nelts;

    for (i = 0; i < n; i++) {
        if (!seg[i].defined && !pmcf->crm) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown segment \"%V\" in %V:%ui",
                          &seg[i].name, &seg[i].file, seg[i].line);
            return NGX_CONF_ERROR;
        }
    }

    if (n == 0) {
        return NGX_CONF_OK;
    }

    /* a walk from each segment over its dependencies must not return */

    state = ngx_palloc(cf->temp_pool, n);
    stack = ngx_palloc(cf->temp_pool, n * sizeof(int));

    if (state == NULL || stack == NULL
        || ngx_array_init(&deps, cf->temp_pool, 8, sizeof(int)) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        ngx_memzero(state, n);

        top = 0;
        stack[top++] = i;

        while (top) {
            k = stack[--top];

            if (seg[k].cond == NULL) {
                continue;
            }

            deps.nelts = 0;
            persona_rule_segments(seg[k].cond->rule,
                                  ngx_http_persona_segment_dep, &deps);

            d = deps.elts;

            for (j = 0; j < deps.nelts; j++) {
                if ((ngx_uint_t) d[j] == i) {
                    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                                  "segment \"%V\" depends on itself "
                                  "in %V:%ui", &seg[i].name, &seg[i].file,
                                  seg[i].line);
                    return NGX_CONF_ERROR;
                }

                if (!state[d[j]]) {
                    state[d[j]] = 1;
                    stack[top++] = d[j];
                }
            }
        }
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_persona_segment_eval(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t i)
{
    ngx_int_t                      rc;
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

    ctx->segments[i] = NGX_HTTP_PERSONA_SEG_BUSY;

    rc = ngx_http_persona_crm_member(r, ctx, &seg[i].name);

    if (rc == 0 && seg[i].cond != NULL) {
        rc = ngx_http_persona_cond_eval(r, seg[i].cond);
    }

    if (rc == NGX_ERROR) {
        ctx->segments[i] = NGX_HTTP_PERSONA_SEG_UNKNOWN;
        return NGX_ERROR;
    }

    ctx->segments[i] = rc ? NGX_HTTP_PERSONA_SEG_IN
                          : NGX_HTTP_PERSONA_SEG_OUT;

    return rc;
}
