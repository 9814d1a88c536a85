# sbc_add_subdirectories(a b c): add each subfolder that has a CMakeLists.txt.
# Modules land one at a time; a checkout without one still configures.
function(sbc_add_subdirectories)
  foreach(sub ${ARGN})
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${sub}/CMakeLists.txt)
      add_subdirectory(${sub})
    endif()
  endforeach()
endfunction()
