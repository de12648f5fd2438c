/**
 * @file cos.h
 * @brief everything of libcos, the C SDK for Tencent Cloud Object Storage.
 *
 * Start with client.h (the client and every API), then transfer.h (uploadFile,
 * downloadFile, the task queue) and model.h (the XML documents as structs).
 */
#ifndef COS_COS_H
#define COS_COS_H

#include "cos/common.h"
#include "cos/error.h"
#include "cos/config.h"
#include "cos/client.h"
#include "cos/model.h"
#include "cos/sign.h"
#include "cos/hash.h"
#include "cos/transfer.h"
#include "cos/sts.h"

#endif
