
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The signing keys: persona_key names one or two key files, read when
 * the configuration is read.  The first key signs what the module writes
 * (id cookies, sticky assignments); a value is accepted when either key
 * signed it, so a new key can be rolled out before the old one is
 * dropped.  Every directive that trusts signed values says so with
 * key_need(), and nginx -t refuses the configuration without a key.
 */


#include "ngx_http_persona.h"

#include "persona_sign.h"


#define NGX_HTTP_PERSONA_KEY_FILE_MAX  4096


static ngx_int_t ngx_http_persona_read_key(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *key);


char *
ngx_http_persona_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (pmcf->nkeys) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_http_persona_read_key(cf, &value[i], &pmcf->keys[i - 1])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    pmcf->nkeys = cf->args->nelts - 1;

    return NGX_CONF_OK;
}


/* the file's bytes are the key, without one final line break */

static ngx_int_t
ngx_http_persona_read_key(ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *key)
{
    u_char           *buf;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         path;
    ngx_file_info_t   fi;

    path = *name;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_ERROR;
    }

    buf = NULL;
    n = 0;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_HTTP_PERSONA_KEY_FILE_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "key file \"%V\" is not a file of at most %d "
                           "bytes", &path, NGX_HTTP_PERSONA_KEY_FILE_MAX);
        n = NGX_ERROR;

    } else {
        buf = ngx_pnalloc(cf->pool, NGX_HTTP_PERSONA_KEY_FILE_MAX);

        n = (buf == NULL) ? NGX_ERROR
                          : ngx_read_fd(fd, buf,
                                        NGX_HTTP_PERSONA_KEY_FILE_MAX);
        if (n == NGX_ERROR && buf != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               ngx_read_fd_n " \"%V\" failed", &path);
        }
    }

    (void) ngx_close_file(fd);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (n && buf[n - 1] == '\n') {
        n--;

        if (n && buf[n - 1] == '\r') {
            n--;
        }
    }

    if (n < PERSONA_SIGN_KEY_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "key file \"%V\" holds %z bytes, a key needs at "
                           "least %d", &path, n, PERSONA_SIGN_KEY_MIN);
        return NGX_ERROR;
    }

    key->data = buf;
    key->len = n;

    return NGX_OK;
}


/* a directive that needs a key; the first one is named if there is none */

void
ngx_http_persona_key_need(ngx_conf_t *cf, const char *what)
{
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    if (pmcf->key_need == NULL) {
        pmcf->key_need = what;
        pmcf->key_need_file = cf->conf_file->file.name;
        pmcf->key_need_line = cf->conf_file->line;
    }
}


char *
ngx_http_persona_key_check(ngx_conf_t *cf, ngx_http_persona_main_conf_t *pmcf)
{
    if (pmcf->key_need != NULL && pmcf->nkeys == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "%s needs signed values but there is no persona_key, "
                      "in %V:%ui", pmcf->key_need, &pmcf->key_need_file,
                      pmcf->key_need_line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* DATA "." signature with the first key, in the request pool */

ngx_int_t
ngx_http_persona_sign(ngx_http_request_t *r, const char *kind,
    ngx_str_t *data, ngx_str_t *out)
{
    u_char                        *p;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    p = ngx_pnalloc(r->pool, data->len + 1 + PERSONA_SIGN_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    p = ngx_cpymem(p, data->data, data->len);
    *p++ = '.';

    persona_sign(p, pmcf->keys[0].data, pmcf->keys[0].len, kind, data->data,
                 data->len);

    out->len = data->len + 1 + PERSONA_SIGN_LEN;

    return NGX_OK;
}


/*
 * NGX_OK with the signed data of a value either key signed for kind,
 * NGX_DECLINED for anything else: unsigned, tampered, signed by another
 * key or for another kind.
 */

ngx_int_t
ngx_http_persona_unsign(ngx_http_request_t *r, const char *kind,
    ngx_str_t *value, ngx_str_t *data)
{
    size_t                         len;
    ngx_uint_t                     i;
    const u_char                  *p, *sig;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    if (persona_sign_split(value->data, value->len, &p, &len, &sig) != 0) {
        return NGX_DECLINED;
    }

    for (i = 0; i < pmcf->nkeys; i++) {
        if (persona_sign_check(pmcf->keys[i].data, pmcf->keys[i].len, kind,
                               p, len, sig, PERSONA_SIGN_LEN))
        {
            data->data = (u_char *) p;
            data->len = len;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}
