# proto/: error codes, node-to-node messages and records, DNS wire format
libandna_a_SOURCES += proto/err.c proto/err.h proto/types.h
libandna_a_SOURCES += proto/dns.c proto/dns.h
libandna_a_SOURCES += proto/wire.c proto/wire.h proto/record.c proto/record.h
libandna_a_SOURCES += proto/msg.c proto/msg.h
