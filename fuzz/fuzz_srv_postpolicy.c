/* fuzz_srv_postpolicy.c — cos-server's POST Object policy: the base64 field
 * decoded, its JSON's expiration (COS: ISO 8601; S3: UTC only) and every
 * condition ({field: value}, ["eq" | "starts-with", "$field", value],
 * ["content-length-range", min, max]) checked against a form's fields,
 * leniently (COS) and strictly (S3), and whether a condition names a field.
 * In-process. Input: the policy JSON; its base64 is decoded too (the
 * decoder writes at most 3 bytes per 4 characters: ASan checks the buffer
 * sized as the server sizes it). */
#define _GNU_SOURCE
/* auth.c's static policy checks: this TU stands in for auth.c (CMake links
   the rest of the server, see fuzz/CMakeLists.txt) */
#include "../server/auth.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *text = cos_strndup((const char *)data, size);
    if (!text) return 0;
    /* as authenticate_*_form: strlen + 1 bytes for what the field decodes to */
    size_t blen = strlen(text);
    unsigned char *dec = malloc(blen + 1);
    if (dec) {
        int64_t n = cos_base64_decode(text, dec);
        if (n > (int64_t)blen) abort();
        free(dec);
    }
    req r;
    memset(&r, 0, sizeof r);
    r.bucket = "examplebucket-1250000000";
    r.w.size = size;
    cos_kvlist_add(&r.form, "key", "uploads/a.txt");
    cos_kvlist_add(&r.form, "Content-Type", "text/plain");
    cos_kvlist_add(&r.form, "success_action_status", "201");
    cos_kvlist_add(&r.form, "x-amz-meta-tag", "");
    cos_json *pol = cos_json_parse(text, size, NULL);
    const char *exp = pol ? cos_json_get_str(pol, "expiration") : NULL;
    (void)cos_iso8601_parse(exp);
    (void)s3_policy_expiration(exp);
    const cos_json *conds = pol ? cos_json_get(pol, "conditions") : NULL;
    if (conds && conds->type == COS_JSON_ARRAY) {
        char why[300];
        for (int strict = 0; strict < 2; strict++) {
            r.form_size_unknown = strict;
            for (size_t i = 0; i < conds->count; i++) {
                const char *fail = check_condition(&r, &conds->items[i], strict, why, sizeof why);
                if (fail && strlen(fail) >= sizeof why) abort();
            }
        }
        for (size_t i = 0; i < r.form.count; i++) (void)s3_policy_names(conds, r.form.items[i].name);
    }
    cos_json_free(pol);
    cos_kvlist_free(&r.form);
    free(text);
    return 0;
}
