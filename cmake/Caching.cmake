# ccache for every compile. Precompiled headers change their defines and mtimes between
# builds, so ccache must be told to tolerate that or it never hits.
if(FW_USE_CCACHE)
  find_program(FW_CCACHE ccache)
  if(FW_CCACHE)
    set(FW_LAUNCHER env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
        CCACHE_COMPRESS=1 ${FW_CCACHE})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${FW_LAUNCHER})
    message(STATUS "ccache: ${FW_CCACHE}")
  endif()
endif()
