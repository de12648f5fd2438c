/*
 * config.c — defaults of cos_config (the official SDK's constructor table).
 */
#include "cos/config.h"

void cos_config_init(cos_config *cfg)
{
    cos_config d = COS_CONFIG_INIT;
    *cfg = d;
}
