/* test_policy.c — cos-server's policy grammar (qcloud-cos-sts): actions, resources,
 * wildcards, deny beating allow, principals, and hostile patterns found by fuzzing. */
#define _GNU_SOURCE
#include "testlib.h"
#include "sts.h"
/* policy.c belongs to cos-server, not libcos: compiled into this test directly. */
#include "../server/policy.c"
#include "../server/s3policy.c"

static sts_decision eval(const char *json, const char *action, const char *key, const char *principal)
{
    sts_policy *p = sts_policy_parse(json, strlen(json), NULL);
    CHECK(p != NULL);
    char res[512];
    snprintf(res, sizeof res, "qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/%s", key);
    sts_access a = { action, res };
    sts_decision d = p ? sts_policy_eval(p, &a, principal) : STS_NO_MATCH;
    sts_policy_free(p);
    return d;
}

static void test_grammar(void)
{
    const char *pol = "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:PutObject\",\"name/cos:Get*\"],"
                      "\"resource\":[\"qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/dir/*\"]},"
                      "{\"effect\":\"deny\",\"action\":[\"*\"],\"resource\":[\"qcs::cos::uid/1250000000:b-1250000000/dir/secret*\"]}]}";
    CHECK_INT(eval(pol, "name/cos:PutObject", "dir/a.txt", "x"), STS_ALLOW);
    CHECK_INT(eval(pol, "name/cos:GetObject", "dir/x/y", "x"), STS_ALLOW);
    CHECK_INT(eval(pol, "name/cos:DeleteObject", "dir/a.txt", "x"), STS_NO_MATCH);
    CHECK_INT(eval(pol, "name/cos:PutObject", "other/a.txt", "x"), STS_NO_MATCH);
    CHECK_INT(eval(pol, "name/cos:GetObject", "dir/secret.txt", "x"), STS_DENY);
    const char *anon = "{\"statement\":[{\"principal\":{\"qcs\":[\"*\"]},\"effect\":\"allow\",\"action\":[\"cos:GetObject\"],\"resource\":[\"*\"]}]}";
    CHECK_INT(eval(anon, "name/cos:GetObject", "k", NULL), STS_ALLOW);
    char *msg = NULL;
    CHECK(sts_policy_parse("{\"statement\":[{\"effect\":\"allow\"}]}", 36, &msg) == NULL);
    CHECK(msg != NULL);
    free(msg);
    msg = NULL;
    CHECK(sts_policy_parse("not json", 8, &msg) == NULL);
    free(msg);
}

static void test_hostile_patterns(void)
{
    /* found by fuzz_policy: exponential backtracking in the wildcard matcher */
    const char *slow = "{\"statement\":[{\"effect\":\"allow\",\"action\":[\"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\"],\"resource\":[\"*\"]}]}";
    CHECK_INT(eval(slow, "name/cos:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", "k", "x"), STS_NO_MATCH);
    CHECK(glob_match("a*b*c", "axxbyyc", false));
    CHECK(!glob_match("a*b*c", "axxbyy", false));
    CHECK(glob_match("*", "", false));
    CHECK(glob_match("**", "abc", false));
    CHECK(!glob_match("", "a", false));
    /* policies compare exactly; CORS origins and header names ignore case */
    CHECK(!glob_match("name/cos:Get*", "name/cos:getObject", false));
    CHECK(glob_match("http://127.0.0.1:*", "HTTP://127.0.0.1:8080", true));
}

static int no_keys(void *ctx, const char *key, const char **value)
{
    (void)ctx;
    if (!strcmp(key, "s3:max-keys")) {
        *value = "10";
        return 1;
    }
    if (!strcmp(key, "s3:prefix")) return 0;
    (void)value;
    return -1;
}

static sts_decision eval_cond(const char *json, const char *action, const char *key)
{
    sts_policy *p = sts_policy_parse(json, strlen(json), NULL);
    CHECK(p != NULL);
    char res[512];
    snprintf(res, sizeof res, "qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/%s", key);
    sts_access a = { action, res, no_keys, NULL };
    sts_decision d = p ? sts_policy_eval(p, &a, NULL) : STS_NO_MATCH;
    sts_policy_free(p);
    return d;
}

/* S3's language (#19): s3: actions, arn:aws:s3::: resources, {"AWS": ...}
 * principals, and conditions that never widen an Allow. */
static void test_s3_grammar(void)
{
    const char *pol = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},"
                      "\"Action\":[\"s3:ListBucket\",\"s3:Get*\"],\"Resource\":[\"arn:aws:s3:::b-1250000000\","
                      "\"arn:aws:s3:::b-1250000000/pub/*\"]},{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\","
                      "\"Resource\":\"arn:aws:s3:::b-1250000000/pub/secret*\"}]}";
    CHECK_INT(eval(pol, "name/cos:GetBucket", "some/prefix", NULL), STS_ALLOW); /* a listing names the bucket */
    CHECK_INT(eval(pol, "name/cos:GetObject", "pub/a", NULL), STS_ALLOW);
    CHECK_INT(eval(pol, "name/cos:HeadObject", "pub/a", NULL), STS_ALLOW);
    CHECK_INT(eval(pol, "name/cos:GetObject", "priv/a", NULL), STS_NO_MATCH);
    CHECK_INT(eval(pol, "name/cos:PutObject", "pub/a", NULL), STS_NO_MATCH);
    CHECK_INT(eval(pol, "name/cos:DeleteObject", "pub/secret.txt", NULL), STS_DENY);
    CHECK_INT(eval(pol, "name/cos:GetObject", "pub/secret.txt", NULL), STS_DENY);
    /* another bucket's ARN names nothing here */
    const char *other = "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\","
                        "\"Resource\":\"arn:aws:s3:::other/*\"}]}";
    CHECK_INT(eval(other, "name/cos:GetObject", "k", NULL), STS_NO_MATCH);
    /* a named user is not everyone */
    const char *user = "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::123:user/x\"},"
                       "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b-1250000000/*\"}]}";
    CHECK_INT(eval(user, "name/cos:GetObject", "k", NULL), STS_NO_MATCH);
    /* conditions: held, not held, absent, unknown (an Allow grants nothing, a Deny applies) */
    CHECK_INT(eval_cond("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:ListBucket\",\"Resource\":"
                        "\"arn:aws:s3:::b-1250000000\",\"Condition\":{\"NumericLessThanEquals\":{\"s3:max-keys\":10}}}]}",
                        "name/cos:GetBucket", ""), STS_ALLOW);
    CHECK_INT(eval_cond("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:ListBucket\",\"Resource\":"
                        "\"arn:aws:s3:::b-1250000000\",\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":\"10\"}}}]}",
                        "name/cos:GetBucket", ""), STS_NO_MATCH);
    CHECK_INT(eval_cond("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:ListBucket\",\"Resource\":"
                        "\"arn:aws:s3:::b-1250000000\",\"Condition\":{\"StringEquals\":{\"s3:prefix\":\"a\"}}}]}",
                        "name/cos:GetBucket", ""), STS_NO_MATCH);
    CHECK_INT(eval_cond("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:ListBucket\",\"Resource\":"
                        "\"arn:aws:s3:::b-1250000000\",\"Condition\":{\"StringEqualsIfExists\":{\"s3:prefix\":\"a\"}}}]}",
                        "name/cos:GetBucket", ""), STS_ALLOW);
    CHECK_INT(eval_cond("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
                        "\"*\",\"Condition\":{\"StringEquals\":{\"s3:ExistingObjectTag/k\":\"v\"}}}]}",
                        "name/cos:GetObject", "k"), STS_NO_MATCH);
    CHECK_INT(eval_cond("{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
                        "\"*\",\"Condition\":{\"StringEquals\":{\"s3:ExistingObjectTag/k\":\"v\"}}}]}",
                        "name/cos:GetObject", "k"), STS_DENY);
    CHECK(cidr_matches("10.0.0.0/8", "10.1.2.3") && !cidr_matches("10.0.0.0/8", "11.0.0.1"));
    CHECK(cidr_matches("127.0.0.1/32", "127.0.0.1") && !cidr_matches("10.0.0.0/32", "127.0.0.1"));
    CHECK(cidr_matches("::1/128", "::1") && !cidr_matches("10.0.0.0/x", "10.0.0.1") && !cidr_matches("10.0.0.0/33", "10.0.0.1"));
    /* Null: "true" holds when the key is absent */
    CHECK_INT(eval_cond("{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:ListBucket\",\"Resource\":"
                        "\"*\",\"Condition\":{\"Null\":{\"s3:prefix\":\"true\"}}}]}", "name/cos:GetBucket", ""), STS_DENY);
    CHECK_INT(eval_cond("{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:ListBucket\",\"Resource\":"
                        "\"*\",\"Condition\":{\"Null\":{\"s3:max-keys\":\"true\"}}}]}", "name/cos:GetBucket", ""), STS_NO_MATCH);
    /* what is not evaluated is refused, never ignored */
    static const char *const refused[] = {
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Condition\":{\"ArnLike\":{\"aws:SourceArn\":\"arn:*\"}}}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"NotPrincipal\":{\"AWS\":\"x\"},\"Principal\":\"*\",\"Action\":\"s3:*\","
        "\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"NotResource\":\"arn:aws:s3:::b/secret\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"CanonicalUser\":\"x\"},\"Action\":\"s3:*\",\"Resource\":\"*\"}]}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *msg = NULL;
        sts_policy *p = sts_policy_parse(refused[i], strlen(refused[i]), &msg);
        CHECK(p == NULL);
        CHECK(msg != NULL);
        free(msg);
        sts_policy_free(p);
    }
    /* public: an unconditional Allow to everyone */
    sts_policy *p = sts_policy_parse(pol, strlen(pol), NULL);
    CHECK(p && sts_policy_is_public(p));
    sts_policy_free(p);
    p = sts_policy_parse(user, strlen(user), NULL);
    CHECK(p && !sts_policy_is_public(p));
    sts_policy_free(p);
}

int main(void)
{
    RUN(test_grammar);
    RUN(test_hostile_patterns);
    RUN(test_s3_grammar);
    return test_report();
}
