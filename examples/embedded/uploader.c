/*
 * uploader.c — the smallest useful libcos program, for embedded size
 * budgets (docs/platforms.md): upload one file, resumable and CRC-64
 * checked, with the key from the environment.
 *
 *   COS_SECRET_ID=... COS_SECRET_KEY=... uploader BUCKET-APPID REGION KEY FILE
 *   (COS_ENDPOINT=127.0.0.1:PORT for a local cos-server)
 *
 * Built against libcos.a (libcos inside the binary; libcurl, libcrypto and
 * libexpat shared, as a device's system provides them):
 *   cc -Os uploader.c -o uploader -Wl,--gc-sections \
 *      -Wl,-Bstatic -lcos -Wl,-Bdynamic $(pkg-config --libs --static cos)
 */
#include <stdio.h>
#include <stdlib.h>
#include <cos/cos.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s BUCKET-APPID REGION KEY FILE\n", argv[0]);
        return 2;
    }
    cos_config cfg = COS_CONFIG_INIT;
    cfg.secret_id = getenv("COS_SECRET_ID");
    cfg.secret_key = getenv("COS_SECRET_KEY");
    cfg.region = argv[2];
    cfg.connect_to = getenv("COS_ENDPOINT");
    if (cfg.connect_to) cfg.protocol = "http:";
    cos_client *c = NULL;
    cos_error *err = NULL;
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = argv[1];
    p.key = argv[3];
    p.file_path = argv[4];
    cos_transfer_result *res = NULL;
    if (cos_client_new(&c, &cfg, &err) != 0 || cos_upload_file(c, &p, &res, &err) != 0) {
        fprintf(stderr, "upload failed: %s\n", cos_error_message(err));
        cos_error_free(err);
        cos_client_free(c);
        return 1;
    }
    printf("%llu bytes, CRC-64 %llu\n", (unsigned long long)res->size, (unsigned long long)res->crc64);
    cos_transfer_result_free(res);
    cos_client_free(c);
    return 0;
}
