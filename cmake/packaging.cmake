# Install rules and the Debian package (CPack DEB): `scripts/package` builds it.
#   /usr/bin/switchboard, /usr/bin/switchboard-sim
#   /etc/switchboard/switchboard.toml    production-shaped default config (conffile)
#   /etc/switchboard/switchboard.env     secrets, all commented out (conffile, mode 0600)
#   /lib/systemd/system/switchboard.service
#   /usr/share/doc/switchboard/          README, example config, nginx example, copyright
# Migrations and the default prompts are compiled into the binary: nothing to install for them.
include(GNUInstallDirs)
# Packaging needs only the two executables (scripts/package builds them first), not the tests.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS switchboard switchboard-sim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES deploy/switchboard.toml DESTINATION /etc/switchboard)
install(
  FILES deploy/switchboard.env
  DESTINATION /etc/switchboard
  PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES deploy/switchboard.service DESTINATION /lib/systemd/system)
set(SB_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/switchboard)
install(FILES README.md DESTINATION ${SB_DOC_DIR})
install(FILES deploy/README.md DESTINATION ${SB_DOC_DIR} RENAME DEPLOYING.md)
install(FILES config/switchboard.example.toml deploy/nginx/switchboard.conf DESTINATION ${SB_DOC_DIR})
install(FILES LICENSE DESTINATION ${SB_DOC_DIR} RENAME copyright)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME switchboard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Switchboard")
set(CPACK_PACKAGE_CONTACT "Switchboard maintainers <switchboard@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "omnichannel notification and support-bot server")
set(CPACK_PACKAGE_DESCRIPTION
    "Switchboard sends notifications over WhatsApp, SMS (MTN, Twilio), Telegram and email,
takes their webhooks, and runs an LLM support bot that hands conversations to Chatwoot agents.
It keeps its state in PostgreSQL. The package ships the server, the provider simulator
(switchboard-sim), a default configuration in /etc/switchboard and a hardened systemd unit.")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from dpkg-shlibdeps over the binaries: libcaf, libpq5, libcurl4, libssl3, libcmark0.30.2,
# libstemmer0d... (scripts/package-test checks them).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, nginx")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/debian/conffiles;${PROJECT_SOURCE_DIR}/deploy/debian/postinst;${PROJECT_SOURCE_DIR}/deploy/debian/prerm;${PROJECT_SOURCE_DIR}/deploy/debian/postrm"
)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
