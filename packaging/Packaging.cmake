# SPDX-License-Identifier: Apache-2.0
# `cmake --build BUILD --target package`: nestbox_<version>_<arch>.deb holding
# what `cmake --install BUILD --prefix /usr` lays out (units generated for /usr,
# the bus policy in /usr/share/dbus-1/system.d, the PAM module in libpam's
# directory), with the libraries' packages found by dpkg-shlibdeps and
# maintainer scripts that enable the units and upgrade nestbox-fs in place.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nestbox)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR nestbox)
set(CPACK_PACKAGE_CONTACT "nestbox maintainers <maintainers@nestbox.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "containers that see their own limits (cgroup manager, /proc view, launcher)")
set(CPACK_PACKAGE_DESCRIPTION
    "nestbox-cgmgr delegates cgroup subtrees to users over D-Bus; nestbox-fs serves container-virtualized /proc and /sys files; nestbox-run starts unprivileged containers that use both.")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
# Install as a package manager does: DESTDIR staging, prefix /usr. The units
# and the bus files are generated at install time for CMAKE_INSTALL_PREFIX, so
# the prefix must be the real one, not the staging directory.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What the programs run rather than link: fusermount3 and /dev/fuse, the system
# bus, newuidmap/newgidmap for the launcher's user namespaces.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3, dbus, uidmap, init-system-helpers")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "lxc, podman")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_LIST_DIR}/deb/postinst;${CMAKE_CURRENT_LIST_DIR}/deb/prerm;${CMAKE_CURRENT_LIST_DIR}/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
