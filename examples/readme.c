/* readme.c — the README's example: upload a file and download it again. */
#include <stdio.h>
#include <stdlib.h>
#include <cos/cos.h>

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: readme FILE COPY\n"); return 2; }
    cos_config cfg = COS_CONFIG_INIT;
    cfg.region = "ap-guangzhou";
    cfg.secret_id = getenv("COS_SECRET_ID");
    cfg.secret_key = getenv("COS_SECRET_KEY");
    cfg.connect_to = getenv("COS_ENDPOINT");          /* e.g. a local cos-server */
    if (cfg.connect_to) cfg.protocol = "http:";
    cos_client *c;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err)) { fprintf(stderr, "%s\n", cos_error_message(err)); return 1; }

    cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
    up.bucket = "examplebucket-1250000000";
    up.key = "docs/readme.bin";
    up.file_path = argv[1];
    int rc = cos_upload_file(c, &up, NULL, &err);           /* simple or multipart by size */
    cos_transfer_params down = up;
    down.file_path = argv[2];
    if (!rc) rc = cos_download_file(c, &down, NULL, &err);  /* parallel ranged GETs, CRC-checked */
    if (rc) fprintf(stderr, "%s (%s, request id %s)\n", cos_error_message(err),
                    err->code ? err->code : "-", err->request_id ? err->request_id : "-");
    cos_error_free(err);
    cos_client_free(c);
    return rc ? 1 : 0;
}
