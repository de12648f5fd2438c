/* model.h — placeholder; the XML document structs are being written. */
#ifndef COS_MODEL_H
#define COS_MODEL_H
#include "cos/common.h"
#endif
