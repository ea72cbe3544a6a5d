/* Report writers: the rows of a suite as CSV, JSON (schema dyvm-bench/1, README.md) and a Markdown table. */
#ifndef DYVM_REPORT_H
#define DYVM_REPORT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "env.h"
#include "timing.h"

cJSON *dyvm_row_json(const dyvm_row *r);
void dyvm_rows_csv(FILE *f, const dyvm_row *rows, size_t n);
/* The whole suite document: {"schema", "suite", "environment", "results": [rows]} */
cJSON *dyvm_suite_json(const char *suite, const dyvm_env *env, const dyvm_row *rows, size_t n);
/* A Markdown table of the rows' main columns (speed-ups with their intervals when any row has one). */
void dyvm_rows_markdown(FILE *f, const dyvm_row *rows, size_t n);
/* One paragraph per row whose rounds disagree or that beat its floor (sol > 1). */
void dyvm_rows_warnings(FILE *f, const dyvm_row *rows, size_t n);
/* Writes cJSON to a file (pretty); returns 0 or -1 with err. */
int dyvm_write_json(const char *path, const cJSON *j, char *err, size_t errlen);
const char *dyvm_token_policy_name(const dyvm_row *r);

#endif
