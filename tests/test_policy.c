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

int main(void)
{
    RUN(test_grammar);
    RUN(test_hostile_patterns);
    return test_report();
}
