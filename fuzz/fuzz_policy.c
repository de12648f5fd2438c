/* fuzz_policy.c — cos-server's policy parser and evaluator (STS and bucket policies). */
#define _GNU_SOURCE
#include <stdlib.h>
#include "sts.h"
/* One translation unit with the server's policy code: it is not part of libcos. */
#include "../server/policy.c"
#include "../server/s3policy.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *msg = NULL;
    sts_policy *p = sts_policy_parse((const char *)data, size, &msg);
    if (p) {
        sts_access a = { "name/cos:GetObject", "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/dir/a.txt" };
        (void)sts_policy_eval(p, &a, NULL);
        (void)sts_policy_eval(p, &a, "qcs::cam::uin/1250000000:uin/1250000000");
        sts_policy_free(p);
    }
    free(msg);
    return 0;
}
