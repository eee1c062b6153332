
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Slots and personalization rules: persona_slot binds a slot name in the
 * HTML to an experiment or to a persona_content rule set; this file
 * parses both and answers, for a request, which content a slot gets.
 */


#include "ngx_http_persona_module.h"


static char *ngx_http_persona_content_cmd(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);


char *
ngx_http_persona_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t                *value;
    ngx_uint_t                i;
    ngx_http_persona_slot_t  *slot;

    value = cf->args->elts;

    if (!ngx_http_persona_valid_name(&value[1], "-")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid slot name \"%V\", must be 1 to 64 "
                           "letters, digits, \"_\" or \"-\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (plcf->slots == NGX_CONF_UNSET_PTR) {
        plcf->slots = ngx_array_create(cf->pool, 2,
                                       sizeof(ngx_http_persona_slot_t));
        if (plcf->slots == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    slot = plcf->slots->elts;

    for (i = 0; i < plcf->slots->nelts; i++) {
        if (slot[i].name.len == value[1].len
            && ngx_strncmp(slot[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate slot \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    slot = ngx_array_push(plcf->slots);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(slot, sizeof(ngx_http_persona_slot_t));

    slot->name = value[1];
    slot->target = value[2];
    slot->file = cf->conf_file->file.name;
    slot->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


/*
 * Experiments and rule sets may be defined after the servers that use
 * them (e.g. an included experiments file at the end of http), so slot
 * targets are resolved when locations are merged.
 */

char *
ngx_http_persona_resolve_slots(ngx_conf_t *cf, ngx_array_t *slots)
{
    ngx_uint_t                       i, j;
    ngx_http_persona_slot_t         *slot;
    ngx_http_persona_experiment_t   *exp;
    ngx_http_persona_content_set_t  *set;
    ngx_http_persona_main_conf_t    *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    slot = slots->elts;

    for (i = 0; i < slots->nelts; i++) {

        if (slot[i].experiment != NULL || slot[i].set != NULL) {
            continue;
        }

        exp = pmcf->experiments.elts;

        for (j = 0; j < pmcf->experiments.nelts; j++) {
            if (exp[j].name.len == slot[i].target.len
                && ngx_strncmp(exp[j].name.data, slot[i].target.data,
                               slot[i].target.len) == 0)
            {
                slot[i].experiment = &exp[j];
                break;
            }
        }

        set = pmcf->sets.elts;

        for (j = 0; slot[i].experiment == NULL && j < pmcf->sets.nelts; j++)
        {
            if (set[j].name.len == slot[i].target.len
                && ngx_strncmp(set[j].name.data, slot[i].target.data,
                               slot[i].target.len) == 0)
            {
                slot[i].set = &set[j];
                break;
            }
        }

        if (slot[i].experiment == NULL && slot[i].set == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown experiment or content \"%V\" in slot "
                          "\"%V\" in %V:%ui", &slot[i].target,
                          &slot[i].name, &slot[i].file, slot[i].line);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


char *
ngx_http_persona_content_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    char                            *rv;
    ngx_str_t                       *value;
    ngx_uint_t                       i, line;
    ngx_conf_t                       save;
    ngx_http_persona_experiment_t   *exp;
    ngx_http_persona_content_set_t  *set;

    value = cf->args->elts;

    if (!ngx_http_persona_valid_name(&value[1], "-")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid content name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    set = pmcf->sets.elts;

    for (i = 0; i < pmcf->sets.nelts; i++) {
        if (set[i].name.len == value[1].len
            && ngx_strncmp(set[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate content \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    exp = pmcf->experiments.elts;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        if (exp[i].name.len == value[1].len
            && ngx_strncmp(exp[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "content \"%V\" has the name of an "
                               "experiment", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    set = ngx_array_push(&pmcf->sets);
    if (set == NULL) {
        return NGX_CONF_ERROR;
    }

    set->name = value[1];

    if (ngx_array_init(&set->rules, cf->pool, 4,
                       sizeof(ngx_http_persona_rule_t))
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

    return NGX_CONF_OK;
}


static char *
ngx_http_persona_content_cmd(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    ngx_http_persona_content_set_t *set = (ngx_http_persona_content_set_t *)
                                          conf;

    ngx_str_t                *value;
    ngx_uint_t                i, n;
    ngx_http_persona_rule_t  *rule;

    value = cf->args->elts;
    n = cf->args->nelts;

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

    if (!((value[i].len > 9
           && ngx_strncmp(value[i].data, "fragment=", 9) == 0)
          || (value[i].len >= 5
              && ngx_strncmp(value[i].data, "text=", 5) == 0)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\", must be "
                           "\"fragment=PATH\" or \"text=TEXT\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    rule = ngx_array_push(&set->rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    rule->cond = NULL;

    if (i == 2) {
        rule->cond = ngx_http_persona_cond_compile(cf, &value[1]);
        if (rule->cond == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rule->content = ngx_http_persona_content_parse(cf, value, n, &i);
    if (rule->content == NULL) {
        return NGX_CONF_ERROR;
    }

    if (i + 1 != n) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i + 1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Returns the variant index for an experiment slot (content NULL when the
 * variant keeps the page's default), NGX_HTTP_PERSONA_NONE when the slot
 * keeps its default content, or NGX_ERROR.
 */

ngx_int_t
ngx_http_persona_slot_content(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_slot_t *slot,
    ngx_http_persona_content_t **content)
{
    ngx_int_t                    i;
    ngx_uint_t                   k;
    ngx_http_persona_rule_t     *rule;
    ngx_http_persona_variant_t  *v;

    *content = NULL;

    if (slot->experiment != NULL) {
        i = ngx_http_persona_assign(r, ctx, slot->experiment);

        if (i >= 0) {
            v = slot->experiment->variants.elts;
            *content = v[i].content;
        }

        return i;
    }

    rule = slot->set->rules.elts;

    for (k = 0; k < slot->set->rules.nelts; k++) {

        if (rule[k].cond != NULL) {
            switch (ngx_http_persona_cond_eval(r, rule[k].cond)) {

            case 0:
                continue;

            case 1:
                break;

            default:
                return NGX_ERROR;
            }
        }

        *content = rule[k].content;
        break;
    }

    return NGX_HTTP_PERSONA_NONE;
}
