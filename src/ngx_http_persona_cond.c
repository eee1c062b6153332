
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Conditions (persona_consent, persona_segment, experiment targets,
 * persona_content rules).  The language itself lives in
 * src/core/persona_rule.c; this file connects it to nginx: variables by
 * index, segments by number, regular expressions through nginx's PCRE
 * interface (without captures, so that $1... of the request stay as the
 * configuration set them).
 *
 * What segment(NAME) means is the caller's: segment.c evaluates it in
 * full, CRM list included, once the visitor is known.  Before that (in
 * persona_consent, which decides whether there is an id at all) a segment
 * is its condition alone, evaluated afresh and never cached.
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
    ngx_http_request_t           *request;
    ngx_http_persona_ctx_t       *ctx;
    ngx_http_persona_segment_pt   segment;
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
static void ngx_http_persona_cond_segment_ref(void *data, int id);


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
 * and the segment check verifies that every entry got a definition.
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


/* segment: NULL for a segment's condition alone */

ngx_int_t
ngx_http_persona_cond_eval(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx,
    ngx_http_persona_cond_t *cond, ngx_http_persona_segment_pt segment)
{
    int                          rc;
    persona_rule_rt_t            rt;
    ngx_http_persona_cond_rt_t   data;

    data.request = r;
    data.ctx = ctx;
    data.segment = segment;

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

    ngx_int_t                      rc;
    ngx_http_persona_segment_t    *seg;
    ngx_http_persona_main_conf_t  *pmcf;

    if (rt->segment != NULL) {
        rc = rt->segment(rt->request, rt->ctx, id);
        return rc == NGX_ERROR ? -1 : (int) rc;
    }

    /* cycles are refused at configuration time: this ends */

    pmcf = ngx_http_get_module_main_conf(rt->request,
                                         ngx_http_persona_module);
    seg = pmcf->segments.elts;

    if (seg[id].cond == NULL) {
        return 0;
    }

    rc = ngx_http_persona_cond_eval(rt->request, rt->ctx, seg[id].cond, NULL);

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


/* the segments a condition refers to, as ints in ids */

static void
ngx_http_persona_cond_segment_ref(void *data, int id)
{
    ngx_array_t *ids = data;

    int  *d;

    d = ngx_array_push(ids);
    if (d != NULL) {
        *d = id;
    }
}


void
ngx_http_persona_cond_segments(ngx_http_persona_cond_t *cond,
    ngx_array_t *ids)
{
    persona_rule_segments(cond->rule, ngx_http_persona_cond_segment_ref, ids);
}


/* the number of a segment name; add: a name not seen yet gets one */

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


