#include "internal.h"

/* One table, indexed by code, so a message cannot drift from its code. */
static const char *const status_text[SOMA_STATUS_COUNT] = {
    [SOMA_OK] = "success",
    [SOMA_EINVAL] = "invalid argument",
    [SOMA_EDIM] = "dimension mismatch",
    [SOMA_ENOMEM] = "out of memory",
    [SOMA_EOVERFLOW] = "size overflow",
    [SOMA_EIO] = "I/O error",
    [SOMA_EFORMAT] = "bad format",
    [SOMA_EVERSION] = "unsupported format version",
    [SOMA_ECHECKSUM] = "checksum mismatch",
    [SOMA_ENONFINITE] = "non-finite value",
    [SOMA_ENOTSUP] = "not supported",
    [SOMA_ESTATE] = "bad state",
    [SOMA_EALIAS] = "output aliases an input",
    [SOMA_EMPI] = "MPI error",
};

const char *soma_status_string(soma_status status)
{
    if ((unsigned)status >= SOMA_STATUS_COUNT || status_text[status] == NULL)
        return "unknown status";
    return status_text[status];
}

const char *soma_version_string(void)
{
    return SOMA_VERSION_STRING;
}

bool soma__name_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca - 'A' + 'a');
        if (ca != cb)
            return false;
        if (ca == '\0')
            return true;
    }
}
