#include "work.h"

const char *dyvm_stage_name(dyvm_stage s)
{
    static const char *names[STAGE_COUNT] = {"embed", "norm", "in_proj", "block_head", "conv", "x_proj",
                                             "dt_proj", "scan", "out_proj", "predictor", "gather", "head"};
    return (unsigned)s < STAGE_COUNT ? names[s] : "?";
}
