
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Content: fragments of variants and personalization rules, and the
 * persona_content rule sets.  Files are read once, when the configuration
 * is read, and split into literal parts and {{$variable}} parts, so that
 * rendering a fragment costs no parsing; a fragment without variables is
 * sent straight from configuration memory.
 *
 * A rule set chooses its rule once per request, the first whose
 * condition holds, and remembers the experiments whose variants its
 * conditions read, so that showing the set exposes them too.  Holdouts
 * (persona_holdout for every set and experiment, "holdout" in a set for
 * that set alone) keep a deterministic share of visitors on the default
 * content: the rule they would have seen is still chosen, for the
 * holdout exposure, but not shown.
 */


#include "ngx_http_persona.h"

#include "persona_hash.h"
#include "persona_json.h"


#define NGX_HTTP_PERSONA_FRAGMENT_MAX  (1024 * 1024)


typedef struct {
    ngx_str_t                   text;
    ngx_int_t                   index;      /* NGX_ERROR: literal */
} ngx_http_persona_tpl_part_t;


typedef struct {
    ngx_http_persona_content_t     *content;
    ngx_str_t                       text;
} ngx_http_persona_rendered_t;


static ngx_int_t ngx_http_persona_read_fragment(ngx_conf_t *cf,
    ngx_str_t *name, ngx_str_t *text);
static ngx_int_t ngx_http_persona_compile_template(ngx_conf_t *cf,
    ngx_http_persona_content_t *content, ngx_str_t *text);
static char *ngx_http_persona_content_cmd(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_persona_content_done(ngx_conf_t *cf,
    ngx_http_persona_content_set_t *set);
static char *ngx_http_persona_holdout_args(ngx_conf_t *cf, ngx_str_t *value,
    ngx_uint_t n, ngx_uint_t *share, ngx_str_t *seed);
static ngx_int_t ngx_http_persona_held(ngx_http_persona_ctx_t *ctx,
    ngx_uint_t share, ngx_str_t *seed);
static ngx_int_t ngx_http_persona_holdout_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


ngx_http_variable_t  ngx_http_persona_content_vars[] = {

    { ngx_string("persona_holdout"), NULL,
      ngx_http_persona_holdout_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/*
 * "fragment=PATH", "text=..." or "text='several words'": nginx splits an
 * unquoted argument at spaces even after a quote inside it, so a quoted
 * text that nginx split is joined back here.
 */

ngx_http_persona_content_t *
ngx_http_persona_content_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_uint_t *i)
{
    u_char                      *p, q;
    size_t                       len;
    ngx_str_t                    text, name, *arg;
    ngx_uint_t                   j;
    ngx_http_persona_content_t  *content;

    arg = &args[*i];

    content = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_content_t));
    if (content == NULL) {
        return NULL;
    }

    if (arg->len > 9 && ngx_strncmp(arg->data, "fragment=", 9) == 0) {
        name.len = arg->len - 9;
        name.data = arg->data + 9;

        if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
            return NULL;
        }

        if (ngx_http_persona_read_fragment(cf, &name, &text) != NGX_OK) {
            return NULL;
        }

        content->source = name;

    } else {
        text.len = arg->len - 5;
        text.data = arg->data + 5;

        q = text.len ? text.data[0] : '\0';

        if (q == '\'' || q == '"') {
            j = *i;

            while (text.len < 2 || text.data[text.len - 1] != q) {
                if (++j == nargs) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "unterminated text \"%V\"", arg);
                    return NULL;
                }

                len = text.len + 1 + args[j].len;

                p = ngx_pnalloc(cf->pool, len);
                if (p == NULL) {
                    return NULL;
                }

                ngx_memcpy(p, text.data, text.len);
                p[text.len] = ' ';
                ngx_memcpy(p + text.len + 1, args[j].data, args[j].len);

                text.len += 1 + args[j].len;
                text.data = p;
            }

            *i = j;

            text.data++;
            text.len -= 2;
        }

        ngx_str_set(&content->source, "text");
    }

    if (ngx_http_persona_compile_template(cf, content, &text) != NGX_OK) {
        return NULL;
    }

    return content;
}


static ngx_int_t
ngx_http_persona_read_fragment(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *text)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_int_t        rc;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    rc = NGX_ERROR;

    fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " fragment \"%V\" failed", name);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " fragment \"%V\" failed", name);
        goto done;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "fragment \"%V\" is not a file", name);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_PERSONA_FRAGMENT_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "fragment \"%V\" is larger than %d bytes",
                           name, NGX_HTTP_PERSONA_FRAGMENT_MAX);
        goto done;
    }

    text->len = ngx_file_size(&fi);
    text->data = ngx_pnalloc(cf->pool, text->len + 1);
    if (text->data == NULL) {
        goto done;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *name;
    file.log = cf->log;

    n = ngx_read_file(&file, text->data, text->len, 0);

    if (n == NGX_ERROR) {
        goto done;
    }

    if ((size_t) n != text->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           ngx_read_file_n " fragment \"%V\" returned only "
                           "%z bytes instead of %uz", name, n, text->len);
        goto done;
    }

    rc = NGX_OK;

done:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", name);
    }

    return rc;
}


static ngx_int_t
ngx_http_persona_compile_template(ngx_conf_t *cf,
    ngx_http_persona_content_t *content, ngx_str_t *text)
{
    u_char                       *p, *last, *open, *s, *e;
    ngx_str_t                     var;
    ngx_http_persona_tpl_part_t  *part;

    content->parts = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_http_persona_tpl_part_t));
    if (content->parts == NULL) {
        return NGX_ERROR;
    }

    content->len = 0;
    content->vars = 0;

    p = text->data;
    last = p + text->len;

    while (p < last) {
        open = ngx_strlcasestrn(p, last, (u_char *) "{{", 1);

        s = NULL;
        e = NULL;

        if (open != NULL) {
            /* "{{$name}}" or "{{ $name }}" */

            s = open + 2;

            while (s < last && *s == ' ') {
                s++;
            }

            if (s < last && *s == '$') {
                e = ++s;

                while (e < last
                       && ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z')
                           || (*e >= '0' && *e <= '9') || *e == '_'))
                {
                    e++;
                }

                var.data = s;
                var.len = e - s;

                while (e < last && *e == ' ') {
                    e++;
                }

                if (var.len == 0 || last - e < 2 || e[0] != '}'
                    || e[1] != '}')
                {
                    e = NULL;
                }
            }
        }

        part = ngx_array_push(content->parts);
        if (part == NULL) {
            return NGX_ERROR;
        }

        part->index = NGX_ERROR;
        part->text.data = p;

        if (e == NULL) {
            /* no placeholder: literal up to and including a lone "{{" */

            s = (open == NULL) ? last : open + 2;
            part->text.len = s - p;
            content->len += part->text.len;
            p = s;
            continue;
        }

        part->text.len = open - p;
        content->len += part->text.len;

        if (part->text.len == 0) {
            content->parts->nelts--;
        }

        part = ngx_array_push(content->parts);
        if (part == NULL) {
            return NGX_ERROR;
        }

        part->text = var;
        /* "text" is inline text: the message then names the line only */

        part->index = ngx_http_persona_variable_index(cf, &var,
                          ngx_strcmp(content->source.data, "text") == 0
                          ? NULL : &content->source);
        if (part->index == NGX_ERROR) {
            return NGX_ERROR;
        }

        content->vars = 1;
        p = e + 2;
    }

    if (!content->vars) {
        content->text = *text;
    }

    return NGX_OK;
}


char *
ngx_http_persona_content_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    char                            *rv;
    ngx_str_t                       *value;
    ngx_uint_t                       line;
    ngx_conf_t                       save;
    ngx_http_persona_content_set_t  *set;

    value = cf->args->elts;

    if (!ngx_http_persona_valid_name(&value[1], "-")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid content name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_persona_find_content(pmcf, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate content \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    set = ngx_array_push(&pmcf->sets);
    if (set == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(set, sizeof(ngx_http_persona_content_set_t));

    set->name = value[1];
    set->index = pmcf->sets.nelts - 1;
    set->holdout = NGX_CONF_UNSET_UINT;

    if (ngx_array_init(&set->rules, cf->pool, 4,
                       sizeof(ngx_http_persona_content_rule_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    line = cf->conf_file->line;

    save = *cf;
    cf->handler = ngx_http_persona_content_cmd;
    cf->handler_conf = (char *) set;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (set->rules.nelts == 0) {
        cf->conf_file->line = line;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "content \"%V\" has no rules", &set->name);
        return NGX_CONF_ERROR;
    }

    return ngx_http_persona_content_done(cf, set);
}


/* rules without name= are named by their position, "1", "2", ... */

static char *
ngx_http_persona_content_done(ngx_conf_t *cf,
    ngx_http_persona_content_set_t *set)
{
    ngx_uint_t                        i, k;
    ngx_http_persona_content_rule_t  *rule;

    rule = set->rules.elts;

    for (i = 0; i < set->rules.nelts; i++) {
        if (rule[i].cond == NULL) {
            ngx_str_set(&rule[i].name, "default");
            continue;
        }

        if (rule[i].name.len == 0) {
            rule[i].name.data = ngx_pnalloc(cf->pool, NGX_INT_T_LEN);
            if (rule[i].name.data == NULL) {
                return NGX_CONF_ERROR;
            }

            rule[i].name.len = ngx_sprintf(rule[i].name.data, "%ui", i + 1)
                               - rule[i].name.data;
        }
    }

    for (i = 0; i < set->rules.nelts; i++) {
        for (k = 0; k < i; k++) {
            if (rule[k].name.len == rule[i].name.len
                && ngx_strncmp(rule[k].name.data, rule[i].name.data,
                               rule[i].name.len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate rule name \"%V\" in content "
                                   "\"%V\"", &rule[i].name, &set->name);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (set->holdout == NGX_CONF_UNSET_UINT) {
        set->holdout = 0;
    }

    if (set->holdout_seed.len == 0) {
        set->holdout_seed.len = sizeof("persona:holdout:") - 1
                                + set->name.len;
        set->holdout_seed.data = ngx_pnalloc(cf->pool,
                                             set->holdout_seed.len);
        if (set->holdout_seed.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(set->holdout_seed.data, "persona:holdout:%V",
                    &set->name);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_persona_content_cmd(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    ngx_http_persona_content_set_t *set = (ngx_http_persona_content_set_t *)
                                          conf;

    ngx_str_t                        *value, name;
    ngx_uint_t                        i, n;
    ngx_http_persona_content_rule_t  *rule;

    value = cf->args->elts;
    n = cf->args->nelts;

    if (value[0].len == 7 && ngx_strncmp(value[0].data, "holdout", 7) == 0) {
        if (set->holdout != NGX_CONF_UNSET_UINT) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate \"holdout\" in content \"%V\"",
                               &set->name);
            return NGX_CONF_ERROR;
        }

        return ngx_http_persona_holdout_args(cf, value, n, &set->holdout,
                                             &set->holdout_seed);
    }

    rule = set->rules.elts;

    if (set->rules.nelts && rule[set->rules.nelts - 1].cond == NULL) {
        return "rules after \"default\" are never used";
    }

    if (value[0].len == 4 && ngx_strncmp(value[0].data, "when", 4) == 0) {
        if (n < 3) {
            return "invalid number of arguments in \"when\", "
                   "must be \"when CONDITION fragment=PATH|text=TEXT\"";
        }

        i = 2;

    } else if (value[0].len == 7
               && ngx_strncmp(value[0].data, "default", 7) == 0)
    {
        if (n < 2) {
            return "invalid number of arguments in \"default\"";
        }

        i = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown directive \"%V\" in content \"%V\"",
                           &value[0], &set->name);
        return NGX_CONF_ERROR;
    }

    rule = ngx_array_push(&set->rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(rule, sizeof(ngx_http_persona_content_rule_t));

    if (i == 2) {
        rule->cond = ngx_http_persona_cond_compile(cf, &value[1]);
        if (rule->cond == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /* the content, and a name= of a "when" rule before or after it */

    for ( /* void */ ; i < n; i++) {

        if (rule->cond != NULL && rule->name.len == 0
            && value[i].len >= 5
            && ngx_strncmp(value[i].data, "name=", 5) == 0)
        {
            name.len = value[i].len - 5;
            name.data = value[i].data + 5;

            if (!ngx_http_persona_valid_name(&name, "-.")
                || (name.len == 7
                    && ngx_strncmp(name.data, "default", 7) == 0))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid rule name \"%V\", only letters, "
                                   "digits, \"_\", \"-\" and \".\" are "
                                   "allowed, and not \"default\"", &name);
                return NGX_CONF_ERROR;
            }

            rule->name = name;
            continue;
        }

        if (rule->content == NULL
            && ((value[i].len > 9
                 && ngx_strncmp(value[i].data, "fragment=", 9) == 0)
                || (value[i].len >= 5
                    && ngx_strncmp(value[i].data, "text=", 5) == 0)))
        {
            rule->content = ngx_http_persona_content_parse(cf, value, n, &i);
            if (rule->content == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (rule->content == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", must be "
                               "\"fragment=PATH\" or \"text=TEXT\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (rule->content == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "rule \"%V\" of content \"%V\" has no "
                           "\"fragment=PATH\" or \"text=TEXT\"",
                           &rule->name, &set->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* persona_holdout SHARE [seed=SEED] */

char *
ngx_http_persona_holdout_cmd(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    if (pmcf->holdout != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    return ngx_http_persona_holdout_args(cf, cf->args->elts,
                                         cf->args->nelts, &pmcf->holdout,
                                         &pmcf->holdout_seed);
}


static char *
ngx_http_persona_holdout_args(ngx_conf_t *cf, ngx_str_t *value, ngx_uint_t n,
    ngx_uint_t *share, ngx_str_t *seed)
{
    int  bp;

    if (n < 2 || n > 3) {
        return "invalid number of arguments in \"holdout\", must be "
               "\"holdout SHARE% [seed=SEED]\"";
    }

    bp = persona_hash_parse_percent(value[1].data, value[1].len);

    if (bp < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid holdout \"%V\", must be a percentage "
                           "from 0%% to 100%% with at most two decimals",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    *share = bp;

    if (n == 3) {
        if (value[2].len <= 5 || value[2].len > 5 + NGX_HTTP_PERSONA_ID_MAX
            || ngx_strncmp(value[2].data, "seed=", 5) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", must be "
                               "\"seed=SEED\" (1 to 256 bytes)", &value[2]);
            return NGX_CONF_ERROR;
        }

        seed->len = value[2].len - 5;
        seed->data = value[2].data + 5;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_persona_content_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    if (pmcf->holdout == NGX_CONF_UNSET_UINT) {
        pmcf->holdout = 0;
    }

    if (pmcf->holdout_seed.len == 0) {
        ngx_str_set(&pmcf->holdout_seed, "persona:holdout");
    }

    return NGX_CONF_OK;
}


ngx_http_persona_content_set_t *
ngx_http_persona_find_content(ngx_http_persona_main_conf_t *pmcf,
    ngx_str_t *name)
{
    ngx_uint_t                       i;
    ngx_http_persona_content_set_t  *set;

    set = pmcf->sets.elts;

    for (i = 0; i < pmcf->sets.nelts; i++) {
        if (set[i].name.len == name->len
            && ngx_strncmp(set[i].name.data, name->data, name->len) == 0)
        {
            return &set[i];
        }
    }

    return NULL;
}


/*
 * The fragment as it is sent: variables substituted and HTML-escaped.
 * A template is rendered once per request and its text reused by every
 * slot that shows it, so that a page repeating a slot costs the memory of
 * one rendering.
 */

ngx_int_t
ngx_http_persona_content_render(ngx_http_request_t *r,
    ngx_http_persona_content_t *content, ngx_str_t *out)
{
    u_char                       *p;
    size_t                        len;
    ngx_uint_t                    i;
    ngx_http_persona_ctx_t       *ctx;
    ngx_http_variable_value_t    *vv, **vals;
    ngx_http_persona_rendered_t  *rd;
    ngx_http_persona_tpl_part_t  *part;

    if (!content->vars) {
        *out = content->text;
        return NGX_OK;
    }

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ctx->rendered == NULL) {
        ctx->rendered = ngx_array_create(r->pool, 2,
                                         sizeof(ngx_http_persona_rendered_t));
        if (ctx->rendered == NULL) {
            return NGX_ERROR;
        }
    }

    rd = ctx->rendered->elts;

    for (i = 0; i < ctx->rendered->nelts; i++) {
        if (rd[i].content == content) {
            *out = rd[i].text;
            return NGX_OK;
        }
    }

    rd = ngx_array_push(ctx->rendered);
    if (rd == NULL) {
        return NGX_ERROR;
    }

    rd->content = content;
    ngx_str_null(&rd->text);

    part = content->parts->elts;

    vals = ngx_palloc(r->pool, content->parts->nelts * sizeof(void *));
    if (vals == NULL) {
        return NGX_ERROR;
    }

    len = content->len;

    for (i = 0; i < content->parts->nelts; i++) {
        vals[i] = NULL;

        if (part[i].index == NGX_ERROR) {
            continue;
        }

        vv = ngx_http_get_indexed_variable(r, part[i].index);

        if (vv == NULL || vv->not_found) {
            continue;
        }

        vals[i] = vv;
        len += persona_html_escape_len(vv->data, vv->len);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    for (i = 0; i < content->parts->nelts; i++) {
        if (part[i].index == NGX_ERROR) {
            p = ngx_cpymem(p, part[i].text.data, part[i].text.len);

        } else if (vals[i] != NULL) {
            p = persona_html_escape(p, vals[i]->data, vals[i]->len);
        }
    }

    out->len = p - out->data;

    rd->text = *out;

    return NGX_OK;
}


/* the global holdout: 1 if the visitor is in it, 0, or NGX_ERROR */

ngx_int_t
ngx_http_persona_holdout(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx)
{
    ngx_http_persona_main_conf_t  *pmcf;

    if (ctx->holdout_done) {
        return ctx->holdout;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    if (pmcf->holdout && ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->holdout_done = 1;
    ctx->holdout = ngx_http_persona_held(ctx, pmcf->holdout,
                                         &pmcf->holdout_seed);

    return ctx->holdout;
}


/*
 * In a holdout of "share" basis points iff the GrowthBook v2 hash of the
 * seed and the id is below the share: an app computes the same with its
 * SDK.  Without an id (no consent) nobody is held out: rules that need
 * no id still apply.
 */

static ngx_int_t
ngx_http_persona_held(ngx_http_persona_ctx_t *ctx, ngx_uint_t share,
    ngx_str_t *seed)
{
    if (share == 0 || ctx->id.len == 0) {
        return 0;
    }

    return persona_hash_v2(seed->data, seed->len, ctx->id.data, ctx->id.len)
           < share / 10000.0;
}


/*
 * The rule of a set for this request, chosen once: its index (the rule
 * the visitor would see, even in a holdout) or NGX_HTTP_PERSONA_NONE;
 * *content is what the slot shows (NULL: the slot's own default).
 */

ngx_int_t
ngx_http_persona_content_choose(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_content_set_t *set,
    ngx_http_persona_content_t **content)
{
    u_char                           *state;
    ngx_int_t                         held, k;
    ngx_uint_t                        i, n;
    ngx_http_persona_content_rule_t  *rule;
    ngx_http_persona_main_conf_t     *pmcf;

    state = &ctx->set_state[set->index];
    rule = set->rules.elts;
    n = set->rules.nelts;

    if (!(*state & NGX_HTTP_PERSONA_SET_CHOSEN)) {
        k = ngx_http_persona_preview_rule(r, ctx, set);

        if (k != NGX_HTTP_PERSONA_UNKNOWN) {
            ctx->rule[set->index] = k;
            *state = NGX_HTTP_PERSONA_SET_CHOSEN;
        }
    }

    if (!(*state & NGX_HTTP_PERSONA_SET_CHOSEN)) {
        held = ngx_http_persona_holdout(r, ctx);

        /*
         * a visitor of the global holdout is logged with the rule they
         * would have seen: its conditions read the variants they would
         * have had
         */

        ctx->would_see = (held == 1);

        if (held == 0 && set->holdout) {
            if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
                return NGX_ERROR;
            }

            held = ngx_http_persona_held(ctx, set->holdout,
                                         &set->holdout_seed);
        }

        if (held == NGX_ERROR) {
            ctx->would_see = 0;
            return NGX_ERROR;
        }

        /* variants read by the conditions shape what the set shows,
         * unless the visitor sees the default whatever they say */

        pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

        ctx->reading = held ? NULL
                            : ctx->reads + set->index
                                           * pmcf->experiments.nelts;

        k = NGX_HTTP_PERSONA_NONE;

        for (i = 0; i < n; i++) {

            if (rule[i].cond != NULL) {
                switch (ngx_http_persona_test(r, ctx, rule[i].cond)) {

                case 0:
                    continue;

                case 1:
                    break;

                default:
                    ctx->reading = NULL;
                    ctx->would_see = 0;
                    return NGX_ERROR;
                }
            }

            k = i;
            break;
        }

        ctx->reading = NULL;
        ctx->would_see = 0;
        ctx->rule[set->index] = k;
        *state = NGX_HTTP_PERSONA_SET_CHOSEN
                 | (held ? NGX_HTTP_PERSONA_SET_HELD : 0);
    }

    k = ctx->rule[set->index];

    *content = NULL;

    if (k == NGX_HTTP_PERSONA_NONE) {
        return k;
    }

    if ((*state & NGX_HTTP_PERSONA_SET_HELD) && rule[k].cond != NULL) {
        /* held out: what a visitor no rule applies to sees */

        if (rule[n - 1].cond == NULL) {
            *content = rule[n - 1].content;
        }

        return k;
    }

    *content = rule[k].content;

    return k;
}


static ngx_int_t
ngx_http_persona_holdout_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t                rc;
    ngx_http_persona_ctx_t  *ctx;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->varies = 1;

    rc = ngx_http_persona_holdout(r, ctx);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    ngx_http_persona_variable_str(v, (u_char *) "1", rc ? 1 : 0);

    return NGX_OK;
}
