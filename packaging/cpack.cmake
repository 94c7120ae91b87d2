# cpack.cmake - the posture-agent and posture-collector packages (.deb and
# .rpm; posturectl ships in posture-collector) from one build: `cpack -G DEB` / `cpack -G RPM` in the build tree.
# Included once at the end of the top CMakeLists.txt; every packaging
# install() rule is here, so the top file only tags its own rules with
# COMPONENT agent | collector.
#
# Build them with the distribution's hardening flags, e.g.
#   cmake -S . -B build/pkg -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
#     -DCMAKE_C_FLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
#     -DCMAKE_EXE_LINKER_FLAGS="$(dpkg-buildflags --get LDFLAGS)"
#   cmake --build build/pkg && (cd build/pkg && cpack -G DEB)
# (tests/e2e/test_packages.sh does exactly this).

set(POSTURE_PKG_DIR ${CMAKE_CURRENT_LIST_DIR})
set(POSTURE_PKG_BUILD ${CMAKE_CURRENT_BINARY_DIR}/packaging)
set(POSTURE_UNIT_DIR lib/systemd/system)
if(NOT DEFINED POSTURE_PKG_UNIT_PREFIX)
  # Debian bookworm's lintian wants units in /lib; RPM-based systems in /usr/lib.
  set(POSTURE_PKG_UNIT_PREFIX /)
endif()

# --- files every package carries ------------------------------------------------
file(MAKE_DIRECTORY ${POSTURE_PKG_BUILD})
foreach(pkg posture-agent posture-collector)
  set(PKG ${pkg})
  set(VERSION ${PROJECT_VERSION})
  configure_file(${POSTURE_PKG_DIR}/changelog.in ${POSTURE_PKG_BUILD}/${pkg}.changelog @ONLY)
  # gzip -n: no name or time stamp inside, so the package is reproducible.
  execute_process(COMMAND gzip -9nc ${POSTURE_PKG_BUILD}/${pkg}.changelog
                  OUTPUT_FILE ${POSTURE_PKG_BUILD}/${pkg}.changelog.gz)
endforeach()
foreach(man posture-agent.8 posture-collector.8 posturectl.1)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/packaging/man/${man})
    execute_process(COMMAND gzip -9nc ${CMAKE_CURRENT_SOURCE_DIR}/packaging/man/${man}
                    OUTPUT_FILE ${POSTURE_PKG_BUILD}/${man}.gz)
  endif()
endforeach()

# --- posture-agent ---------------------------------------------------------------
install(FILES ${POSTURE_PKG_DIR}/etc/agent.json DESTINATION /etc/posture
        COMPONENT agent)
install(FILES ${POSTURE_PKG_DIR}/systemd/posture-agent.service
        DESTINATION ${POSTURE_PKG_UNIT_PREFIX}${POSTURE_UNIT_DIR} COMPONENT agent)
install(FILES ${POSTURE_PKG_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/posture-agent
        COMPONENT agent)
install(FILES ${POSTURE_PKG_BUILD}/posture-agent.changelog.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/posture-agent RENAME changelog.gz COMPONENT agent)
install(FILES ${POSTURE_PKG_DIR}/lintian/posture-agent
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT agent)

# --- posture-collector -------------------------------------------------------------
install(FILES ${POSTURE_PKG_DIR}/etc/collector.json DESTINATION /etc/posture
        COMPONENT collector)
install(FILES ${POSTURE_PKG_DIR}/systemd/posture-collector.service
        DESTINATION ${POSTURE_PKG_UNIT_PREFIX}${POSTURE_UNIT_DIR} COMPONENT collector)
install(FILES ${POSTURE_PKG_DIR}/copyright
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/posture-collector COMPONENT collector)
install(FILES ${POSTURE_PKG_BUILD}/posture-collector.changelog.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/posture-collector RENAME changelog.gz
        COMPONENT collector)
install(FILES ${POSTURE_PKG_DIR}/lintian/posture-collector
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT collector)
# The dashboard and posturectl join the collector package when they exist.
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/dashboard)
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/dashboard/ DESTINATION ${CMAKE_INSTALL_DATADIR}/posture/dashboard
          COMPONENT collector)
endif()

# Man pages: the top file installs them plain; lintian wants them compressed,
# so each package carries the .gz made above in their place.
foreach(pair "agent;posture-agent;8" "collector;posture-collector;8" "collector;posturectl;1")
  list(GET pair 0 comp)
  list(GET pair 1 man)
  list(GET pair 2 sec)
  if(EXISTS ${POSTURE_PKG_BUILD}/${man}.${sec}.gz)
    install(CODE "file(REMOVE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_MANDIR}/man${sec}/${man}.${sec}\")"
            COMPONENT ${comp})
    install(FILES ${POSTURE_PKG_BUILD}/${man}.${sec}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${sec}
            COMPONENT ${comp})
  endif()
endforeach()

# --- CPack -----------------------------------------------------------------------
set(CPACK_PACKAGE_NAME posture)
set(CPACK_PACKAGE_VENDOR "The posture authors")
set(CPACK_PACKAGE_CONTACT "posture maintainers <maintainers@posture.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL agent collector)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_COMPONENT_AGENT_DESCRIPTION "security posture agent
The posture agent evaluates security policies (access control, patch level,
backups) against this host, mapped to ISO 27001 and CIS controls, and
reports the results to a posture collector over mutual TLS.  It runs as its
own user with CAP_DAC_READ_SEARCH only, and spools reports while the
collector is away.")
set(CPACK_COMPONENT_COLLECTOR_DESCRIPTION "security posture collector
The posture collector receives the reports of posture agents over mutual
TLS, keeps them in SQLite, tracks violations and trends, sends alerts to
webhooks, enrolls agents, and serves an HTTPS API and /metrics.  posturectl,
its command line for security officers and auditors, reads the API and
takes and verifies signed evidence snapshots.")

# Debian
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME posture-agent)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME posture-collector)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS "adduser")
foreach(pair "AGENT;posture-agent" "COLLECTOR;posture-collector")
  list(GET pair 0 C)
  list(GET pair 1 P)
  set(CPACK_DEBIAN_${C}_PACKAGE_CONTROL_EXTRA
      ${POSTURE_PKG_DIR}/deb/${P}/conffiles ${POSTURE_PKG_DIR}/deb/${P}/postinst
      ${POSTURE_PKG_DIR}/deb/${P}/prerm ${POSTURE_PKG_DIR}/deb/${P}/postrm)
endforeach()

# RPM
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Apache-2.0")
set(CPACK_RPM_SPEC_MORE_DEFINE "%define packager ${CPACK_PACKAGE_CONTACT}")
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_AUTOPROV OFF)
set(CPACK_RPM_AGENT_PACKAGE_NAME posture-agent)
set(CPACK_RPM_COLLECTOR_PACKAGE_NAME posture-collector)
set(CPACK_RPM_AGENT_PACKAGE_SUMMARY "Security posture agent")
set(CPACK_RPM_COLLECTOR_PACKAGE_SUMMARY "Security posture collector")
set(CPACK_RPM_AGENT_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_COLLECTOR_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /etc /etc/posture /lib /lib/systemd
    /lib/systemd/system /usr/lib/systemd /usr/lib/systemd/system /usr/share/lintian
    /usr/share/lintian/overrides /usr/share/man /usr/share/man/man1 /usr/share/man/man8
    /usr/share/doc)
set(CPACK_RPM_AGENT_USER_FILELIST "%config(noreplace) /etc/posture/agent.json"
    "%doc /usr/share/doc/posture-agent/copyright")
set(CPACK_RPM_COLLECTOR_USER_FILELIST "%config(noreplace) /etc/posture/collector.json"
    "%doc /usr/share/doc/posture-collector/copyright")
foreach(pair "AGENT;posture-agent" "COLLECTOR;posture-collector")
  list(GET pair 0 C)
  list(GET pair 1 P)
  set(CPACK_RPM_${C}_PRE_INSTALL_SCRIPT_FILE ${POSTURE_PKG_DIR}/rpm/${P}.pre)
  set(CPACK_RPM_${C}_POST_INSTALL_SCRIPT_FILE ${POSTURE_PKG_DIR}/rpm/${P}.post)
  set(CPACK_RPM_${C}_PRE_UNINSTALL_SCRIPT_FILE ${POSTURE_PKG_DIR}/rpm/${P}.preun)
  set(CPACK_RPM_${C}_POST_UNINSTALL_SCRIPT_FILE ${POSTURE_PKG_DIR}/rpm/${P}.postun)
endforeach()

include(CPack)
