# CPack: `cmake --build build --target package` makes a .deb of the applications.
# The desktop entry and icon go in when the GUI is built.
if(TARGET fourier-workbench)
  install(FILES ${CMAKE_SOURCE_DIR}/resources/fourier-workbench.desktop DESTINATION share/applications)
  install(FILES ${CMAKE_SOURCE_DIR}/resources/fourier-workbench.svg DESTINATION share/icons/hicolor/scalable/apps)
endif()

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "fourier-workbench")
set(CPACK_PACKAGE_VENDOR "Fourier Workbench developers")
set(CPACK_PACKAGE_CONTACT "Fourier Workbench developers <fourier-workbench@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
# Run-time libraries come from Debian; dpkg-shlibdeps finds them from the binaries.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "fourier-workbench")
include(CPack)
