/*
 * init_authorization.c — "Initialise with an Authorization computed by your
 * backend": the app never holds any key; for each request it sends the
 * method, pathname, query and headers to the backend, which signs them.
 * Here the "backend" is a function that calls cos_sign() with the permanent
 * key, as a server-side signing endpoint would.
 */
#include "example.h"

/* What your signing endpoint does. */
static int backend_sign(const cos_auth_request *req, char **authorization, cos_error **err)
{
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = getenv("COS_SECRET_ID");
    p.secret_key = getenv("COS_SECRET_KEY");
    p.method = req->method;
    p.pathname = req->pathname;
    p.query = req->query;
    p.query_count = req->query_count;
    p.headers = req->headers;
    p.header_count = req->header_count;
    return cos_sign(&p, authorization, NULL, err);
}

/* The app's side: ask the backend, hand the answer to libcos. Called for every request. */
static int get_authorization(void *user_data, const cos_auth_request *req, cos_credentials_sink *sink,
                             cos_error **err)
{
    (void)user_data;
    char *auth = NULL;
    int rc = backend_sign(req, &auth, err);
    if (rc == 0) rc = cos_authorization_set(sink, auth, NULL /* SecurityToken, if the key was temporary */);
    free(auth);
    return rc;
}

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cfg.get_authorization = get_authorization;
    example_where(&cfg);

    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err)) return example_fail("cos_client_new", err);
    int rc = example_put(c, "auth/hello.txt", "signed by the backend\n");
    if (rc == 0) printf("uploaded with a backend-computed Authorization\n");
    cos_client_free(c);
    return rc;
}
