# Snowball stemmers (Debian libstemmer-dev, no pkg-config file): search terms in the portal's
# language. Creates Snowball::stemmer.
find_path(STEMMER_INCLUDE_DIR NAMES libstemmer.h)
find_library(STEMMER_LIBRARY NAMES stemmer)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Stemmer REQUIRED_VARS STEMMER_LIBRARY STEMMER_INCLUDE_DIR
                                  FAIL_MESSAGE "libstemmer not found: install libstemmer-dev (scripts/bootstrap)")
if(Stemmer_FOUND AND NOT TARGET Snowball::stemmer)
  add_library(Snowball::stemmer UNKNOWN IMPORTED)
  set_target_properties(Snowball::stemmer PROPERTIES IMPORTED_LOCATION "${STEMMER_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${STEMMER_INCLUDE_DIR}")
endif()
mark_as_advanced(STEMMER_INCLUDE_DIR STEMMER_LIBRARY)
