# systemd/: the unit of andnad, installed where configure found systemd
# (--with-systemdsystemunitdir)
EXTRA_DIST += systemd/andnad.service.in
CLEANFILES += systemd/andnad.service
if HAVE_SYSTEMD
systemdsystemunit_DATA = systemd/andnad.service
endif

systemd/andnad.service: systemd/andnad.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/systemd/andnad.service.in >$@.tmp && \
	mv $@.tmp $@
