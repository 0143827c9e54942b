# Installation and the Debian package (included from CMakeLists.txt).
#
# Every file that names a path (the unit, tmpfiles.d, the Grafana dashboard
# provider, the package's maintainer scripts) is generated here from the
# install paths, so what `cmake --install` writes agrees with itself for any
# prefix: the default /usr/local gives a unit that runs
# /usr/local/bin/indicatord on /usr/local/etc/indicatord/indicatord.yaml;
# -DCMAKE_INSTALL_PREFIX=/usr gives Debian's layout (/usr/bin, /etc).

include(GNUInstallDirs)

# Where systemd looks for units, sysusers.d and tmpfiles.d of this prefix:
# what pkg-config's systemd.pc says for /usr (Debian 12: /lib/systemd/system),
# PREFIX/lib/... otherwise (systemd also searches /usr/local/lib/...); -DVAR=
# overrides. Not cached: a change of prefix must move them too.
function(indicatord_systemd_dir var pcvar subdir)
  set(dir ${CMAKE_INSTALL_PREFIX}/lib/${subdir})
  if(DEFINED CACHE{${var}})
    set(dir $CACHE{${var}})
  elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    pkg_get_variable(pc systemd ${pcvar})
    if(pc)
      set(dir ${pc})
    endif()
  endif()
  set(${var} ${dir} PARENT_SCOPE)
endfunction()
indicatord_systemd_dir(INDICATORD_UNIT_DIR systemdsystemunitdir systemd/system)
indicatord_systemd_dir(INDICATORD_SYSUSERS_DIR sysusersdir sysusers.d)
indicatord_systemd_dir(INDICATORD_TMPFILES_DIR tmpfilesdir tmpfiles.d)

set(INDICATORD_BIN ${CMAKE_INSTALL_FULL_BINDIR}/indicatord)
set(INDICATORD_CONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/indicatord)
set(INDICATORD_CONFIG ${INDICATORD_CONF_DIR}/indicatord.yaml)
set(INDICATORD_DOC_DIR ${CMAKE_INSTALL_FULL_DOCDIR})
set(INDICATORD_GRAFANA_DIR ${CMAKE_INSTALL_FULL_DATADIR}/indicatord/grafana)
# ConfigurationDirectory= names a directory under /etc only.
if(INDICATORD_CONF_DIR STREQUAL "/etc/indicatord")
  set(INDICATORD_UNIT_CONFIGURATION_DIRECTORY "ConfigurationDirectory=indicatord")
else()
  set(INDICATORD_UNIT_CONFIGURATION_DIRECTORY
      "# The configuration is in ${INDICATORD_CONF_DIR} (tmpfiles.d creates it).")
endif()

set(gen ${CMAKE_BINARY_DIR}/install)
configure_file(systemd/indicatord.service.in ${gen}/indicatord.service @ONLY)
configure_file(systemd/indicatord.tmpfiles.in ${gen}/tmpfiles.conf @ONLY)
configure_file(conf/grafana/provisioning/dashboards/indicatord.yaml.in
               ${gen}/grafana-dashboards.yaml @ONLY)
foreach(script postinst prerm postrm)
  configure_file(packaging/deb/${script}.in ${gen}/deb/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
                 GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
file(WRITE ${gen}/deb/conffiles "${INDICATORD_CONFIG}\n")

# The generated files carry the configure-time prefix: installing elsewhere
# (cmake --install --prefix) would write a unit that cannot start.
install(CODE "
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL \"${CMAKE_INSTALL_PREFIX}\")
    message(FATAL_ERROR \"indicatord is configured for the prefix \"
      \"${CMAKE_INSTALL_PREFIX}, and its unit names paths there; configure \"
      \"with -DCMAKE_INSTALL_PREFIX=\${CMAKE_INSTALL_PREFIX} instead of \"
      \"installing with --prefix (use DESTDIR to stage an install)\")
  endif()")

install(TARGETS indicatord RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${gen}/indicatord.service DESTINATION ${INDICATORD_UNIT_DIR})
install(FILES systemd/indicatord.sysusers DESTINATION ${INDICATORD_SYSUSERS_DIR}
        RENAME indicatord.conf)
install(FILES ${gen}/tmpfiles.conf DESTINATION ${INDICATORD_TMPFILES_DIR}
        RENAME indicatord.conf)
install(FILES conf/indicatord.yaml DESTINATION ${INDICATORD_CONF_DIR})
install(FILES conf/liaoning-2026.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY conf/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/sources)
install(FILES conf/grafana/provisioning/datasources/indicatord.yaml
        DESTINATION ${INDICATORD_GRAFANA_DIR}/provisioning/datasources)
install(FILES ${gen}/grafana-dashboards.yaml
        DESTINATION ${INDICATORD_GRAFANA_DIR}/provisioning/dashboards
        RENAME indicatord.yaml)
install(DIRECTORY conf/grafana/dashboards DESTINATION ${INDICATORD_GRAFANA_DIR})
install(FILES README.md docs/configuration.md docs/architecture.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The Debian package: (cd build && cpack -G DEB), from a tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr.
set(CPACK_PACKAGE_NAME indicatord)
set(CPACK_PACKAGE_VENDOR indicatord)
set(CPACK_PACKAGE_CONTACT "indicatord maintainers <indicatord@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "watches yearly targets through the data feeds that measure them")
set(CPACK_PACKAGE_DESCRIPTION
    "indicatord polls indicator feeds over HTTP, stores every observation in
Redis as time series that Grafana graphs directly, judges each yearly target
against its pace and projection to the deadline, and posts to chat webhooks
when a target slips off track. It runs as a hardened systemd service.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Libraries through dpkg-shlibdeps (dpkg-dev); systemd-sysusers and
# systemd-tmpfiles for the postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | systemd-standalone-sysusers")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-server (>= 5:7.0)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "grafana")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${gen}/deb/conffiles ${gen}/deb/postinst ${gen}/deb/prerm ${gen}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_GENERATOR DEB)
include(CPack)
