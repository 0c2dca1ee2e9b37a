# CommonMark parser (Debian libcmark-dev): the Markdown of Help Center articles. Creates Cmark::cmark.
find_path(CMARK_INCLUDE_DIR NAMES cmark.h)
find_library(CMARK_LIBRARY NAMES cmark)
if(CMARK_INCLUDE_DIR AND EXISTS "${CMARK_INCLUDE_DIR}/cmark_version.h")
  file(STRINGS "${CMARK_INCLUDE_DIR}/cmark_version.h" _cmark_ver REGEX "#define CMARK_VERSION_STRING \"")
  string(REGEX MATCH "[0-9.]+" CMARK_VERSION "${_cmark_ver}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Cmark REQUIRED_VARS CMARK_LIBRARY CMARK_INCLUDE_DIR VERSION_VAR
                                  CMARK_VERSION FAIL_MESSAGE "cmark not found: install libcmark-dev (scripts/bootstrap)")
if(Cmark_FOUND AND NOT TARGET Cmark::cmark)
  add_library(Cmark::cmark UNKNOWN IMPORTED)
  set_target_properties(Cmark::cmark PROPERTIES IMPORTED_LOCATION "${CMARK_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${CMARK_INCLUDE_DIR}")
endif()
mark_as_advanced(CMARK_INCLUDE_DIR CMARK_LIBRARY)
