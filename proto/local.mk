# proto/: error codes, node-to-node messages and records, DNS wire format
libandna_a_SOURCES += proto/err.c proto/err.h proto/types.h
