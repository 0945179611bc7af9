# store/: the store interface and typed layer, its LMDB and in-memory back ends
libandna_a_SOURCES += store/store.h store/store.c store/store_lmdb.c store/store_mem.c
