/**
 * @file sts.h
 * @brief a ready-made credential provider for the temporary-key flow: it
 * fetches a key from your backend (or cos-server's development /sts) that
 * answers in the JSON shape of npm qcloud-cos-sts.
 */
#ifndef COS_STS_H
#define COS_STS_H

#include "cos/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A cos_credentials_fn that GETs the URL given as user_data (a const char *)
 * and reads {credentials: {tmpSecretId, tmpSecretKey, sessionToken},
 * startTime, expiredTime}. Use as cfg.get_authorization with
 * cfg.credentials_user_data = (void *)"http://127.0.0.1:PORT/sts".
 */
COS_API int cos_sts_url_provider(void *url, const cos_auth_request *req, cos_credentials_sink *sink,
                                 cos_error **err);

#ifdef __cplusplus
}
#endif
#endif
