#include "proto/err.h"

const char *
andna_strerror(int err)
{
	switch (err) {
	case ANDNA_OK:
		return "success";
#define ANDNA_ERR_CASE(name, text) \
	case ANDNA_##name:         \
		return text;
		ANDNA_ERRORS(ANDNA_ERR_CASE)
#undef ANDNA_ERR_CASE
	default:
		return "unknown error";
	}
}
