# crypto/: files of this directory (included by the top Makefile.am)
libandna_a_SOURCES += crypto/crypto.h
libandna_a_SOURCES += crypto/crypto.c
