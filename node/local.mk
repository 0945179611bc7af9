# node/: files of this directory (included by the top Makefile.am)
libandna_a_SOURCES += node/round.c node/round.h node/maps.c node/maps.h \
	node/engine.c node/engine.h node/engine_int.h node/swim.c \
	node/hook.c node/gossip.c node/route.c
