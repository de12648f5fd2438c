/* transfer.h — placeholder; uploadFile, downloadFile and the task queue are being written. */
#ifndef COS_TRANSFER_H
#define COS_TRANSFER_H
#include "cos/client.h"
#endif
