# store/: files of this directory (included by the top Makefile.am)
