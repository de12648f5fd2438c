/* fuzz_sts_answer.c — what libcos takes from JSON it reads: an STS service's
 * answer (cos_sts_url_provider: credentials.tmpSecretId / tmpSecretKey /
 * sessionToken, startTime, expiredTime, numbers or numeric strings) and then
 * whether the key is usable now; and a resume checkpoint's fields (upload_id,
 * ck, file_dev / file_ino, parts[].n and .crc) read the way transfer.c reads
 * them. In-process. Properties: a key taken has an id and a secret. */
#define _GNU_SOURCE
/* cred.c's static answer reader: this TU replaces the library's cred.o */
#include "../src/cred.c"
#include "checksum.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    cos_credentials_sink sink;
    memset(&sink, 0, sizeof sink);
    cos_error *err = NULL;
    if (sts_answer_take((const char *)data, size, &sink, &err) == 0) {
        if (!sink.set || cos_str_empty(sink.cred.secret_id) || cos_str_empty(sink.cred.secret_key)) abort();
        (void)usable(&sink.cred, cos_now_ms() / 1000);
        (void)usable(&sink.cred, INT64_MAX - 30);
    }
    cred_clear(&sink.cred);
    cos_error_free(err);

    /* a checkpoint (transfer.c: checkpoint_read, then its fields) */
    cos_json *cp = cos_json_parse((const char *)data, size, NULL);
    const char *id = cos_json_get_str(cp, "upload_id");
    (void)id;
    (void)cos_cksum_from_name(cos_json_get_str(cp, "ck"));
    const char *dev = cos_json_get_str(cp, "file_dev"), *ino = cos_json_get_str(cp, "file_ino");
    if (dev && ino) (void)(strtoull(dev, NULL, 10) + strtoull(ino, NULL, 10));
    const cos_json *parts = cos_json_get(cp, "parts");
    for (size_t i = 0; parts && i < parts->count; i++) {
        int64_t n = 0;
        uint64_t crc = 0;
        cos_json_get_i64(&parts->items[i], "n", &n);
        const char *cs = cos_json_get_str(&parts->items[i], "crc");
        if (n < 1 || !cs || cos_parse_u64(cs, &crc)) continue;
    }
    cos_json_free(cp);
    return 0;
}
